//! Fuzz target: see `acextream_web::fuzzing::timeshift`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acextream_web::fuzzing::timeshift(data));
