//! Replays every saved input of the web crate's fuzz targets (fuzz/seeds/<target>/
//! and fuzz/regressions/<target>/) through the same harness `cargo fuzz` runs, so
//! a crash once found stays fixed on stable `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

fn replay(target: &str, harness: fn(&[u8])) {
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
    for (name, data) in inputs {
        let outcome = std::panic::catch_unwind(|| harness(&data));
        assert!(outcome.is_ok(), "{name} breaks the {target} harness");
    }
}

#[test]
fn xtream_inputs() {
    replay("xtream", acextream_web::fuzzing::xtream);
}

#[test]
fn hdhr_inputs() {
    replay("hdhr", acextream_web::fuzzing::hdhr);
}

#[test]
fn timeshift_inputs() {
    replay("timeshift", acextream_web::fuzzing::timeshift);
}
