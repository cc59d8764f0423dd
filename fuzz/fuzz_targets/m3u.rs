//! Fuzz target: see `acextream_core::fuzzing::m3u`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acextream_core::fuzzing::m3u(data));
