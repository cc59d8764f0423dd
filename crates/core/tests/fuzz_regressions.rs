//! Replays every saved fuzz input of the core parsers (fuzz/seeds/<target>/,
//! fuzz/regressions/<target>/ and the test fixtures scripts/fuzz.sh seeds the
//! corpora with) through the same harness `cargo fuzz` runs, so a crash once found
//! stays fixed on stable `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use acextream_core::fuzzing;

/// Every target with saved inputs, and the crate whose tests replay it.
const TARGETS: [(&str, &str); 10] = [
    ("m3u", "core"),
    ("json_list", "core"),
    ("html", "core"),
    ("xmltv", "core"),
    ("settings", "core"),
    ("ts", "mux"),
    ("hls", "mux"),
    ("xtream", "web"),
    ("hdhr", "web"),
    ("timeshift", "web"),
];

/// Fixtures that seed each target's corpus (keep in step with scripts/fuzz.sh).
const FIXTURES: [(&str, &str, &str); 5] = [
    ("m3u", "crates/core/tests/fixtures/sources", "m3u"),
    ("json_list", "crates/core/tests/fixtures/sources", "json"),
    ("html", "crates/core/tests/fixtures/sources", "html"),
    ("xmltv", "crates/core/tests/fixtures/epg", "xml"),
    ("settings", "config", "toml"),
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fuzz_dir() -> PathBuf {
    repo().join("fuzz")
}

/// The saved inputs of `target`, by file name.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            continue;
        };
        for entry in dir {
            let path = entry.unwrap().path();
            if path.is_file() {
                let name = format!(
                    "{kind}/{target}/{}",
                    path.file_name().unwrap().to_string_lossy()
                );
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    for (t, dir, ext) in FIXTURES {
        if t != target {
            continue;
        }
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == ext) {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn replay(target: &str, harness: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no saved inputs for {target}");
    for (name, data) in inputs {
        let outcome = std::panic::catch_unwind(|| harness(&data));
        assert!(outcome.is_ok(), "{name} breaks the {target} harness");
    }
}

#[test]
fn m3u_inputs() {
    replay("m3u", fuzzing::m3u);
}

#[test]
fn json_list_inputs() {
    replay("json_list", fuzzing::json_list);
}

#[test]
fn html_inputs() {
    replay("html", fuzzing::html);
}

#[test]
fn xmltv_inputs() {
    replay("xmltv", fuzzing::xmltv);
}

#[test]
fn settings_inputs() {
    replay("settings", fuzzing::settings);
}

/// A new target's inputs must not sit in a directory no test replays.
#[test]
fn every_saved_input_directory_is_replayed() {
    let fuzz_targets = std::fs::read_dir(fuzz_dir().join("fuzz_targets")).unwrap();
    let mut targets: Vec<String> = fuzz_targets
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    targets.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|(t, _)| t.to_string()).collect();
    known.sort();
    assert_eq!(targets, known, "fuzz/fuzz_targets and this table differ");
    for kind in ["seeds", "regressions"] {
        let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in dir {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                known.contains(&name),
                "fuzz/{kind}/{name} is replayed by no test"
            );
        }
    }
}
