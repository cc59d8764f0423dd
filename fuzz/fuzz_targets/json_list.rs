//! Fuzz target: see `acextream_core::fuzzing::json_list`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acextream_core::fuzzing::json_list(data));
