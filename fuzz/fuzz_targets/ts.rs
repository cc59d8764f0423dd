//! Fuzz target: see `acextream_mux::fuzzing::ts`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acextream_mux::fuzzing::ts(data));
