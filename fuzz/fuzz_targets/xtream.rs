//! Fuzz target: see `acextream_web::fuzzing::xtream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| acextream_web::fuzzing::xtream(data));
