//! Replays every saved input of the `ts` and `hls` fuzz targets (fuzz/seeds/<t>/
//! and fuzz/regressions/<t>/) through the same harness `cargo fuzz` runs, so a
//! crash once found stays fixed on stable `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(fuzz.join(kind).join(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            inputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    inputs.sort();
    assert!(!inputs.is_empty(), "no saved inputs for {target}");
    inputs
}

#[test]
fn hls_inputs() {
    for (name, data) in inputs("hls") {
        let outcome = std::panic::catch_unwind(|| acextream_mux::fuzzing::hls(&data));
        assert!(outcome.is_ok(), "{name} breaks the hls harness");
    }
}

#[test]
fn ts_inputs() {
    for (name, data) in inputs("ts") {
        let outcome = std::panic::catch_unwind(|| acextream_mux::fuzzing::ts(&data));
        assert!(outcome.is_ok(), "{name} breaks the ts harness");
    }
}
