//! Replays every saved input of the `xtream` fuzz target (fuzz/seeds/xtream/ and
//! fuzz/regressions/xtream/) through the same harness `cargo fuzz` runs, so a
//! crash once found stays fixed on stable `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn xtream_inputs() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(fuzz.join(kind).join("xtream")) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            inputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    inputs.sort();
    assert!(!inputs.is_empty(), "no saved inputs for xtream");
    for (name, data) in inputs {
        let outcome = std::panic::catch_unwind(|| acextream_web::fuzzing::xtream(&data));
        assert!(outcome.is_ok(), "{name} breaks the xtream harness");
    }
}
