//! Fuzz target: see `acextream_mux::fuzzing::hls`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acextream_mux::fuzzing::hls(data));
