//! Writers never fail each other: admin edits made while a 200,000-programme guide
//! imports all succeed, players see the old guide until the new one is complete,
//! and a `kill -9` in the middle of an import leaves the previous guide intact.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use acextream_core::Store;
use common::{ADMIN, Daemon, acextream, eventually, http};
use serde_json::json;

const CHANNELS: usize = 100;
const PROGRAMMES: usize = 200_000;
/// Minutes per programme: 2,000 programmes a channel cover about a week.
const SLOT: i64 = 5 * 60;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `YYYYmmddHHMMSS +0000` (civil-from-days, so this test needs no date crate).
fn xmltv_time(epoch: i64) -> String {
    let (days, secs) = (epoch.div_euclid(86_400), epoch.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02} +0000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Writes a guide of `programmes` programmes over `CHANNELS` channels, titled
/// `"{title} {slot}"`, starting an hour ago; replaces `path` in one rename, so an
/// import never reads half a file.
fn write_guide(path: &Path, programmes: usize, title: &str) {
    let tmp = path.with_extension("tmp");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tv>").unwrap();
    for c in 0..CHANNELS {
        writeln!(
            out,
            "<channel id=\"ch{c}.example\"><display-name>Channel {c}</display-name></channel>"
        )
        .unwrap();
    }
    let base = now() - 3600;
    for k in 0..programmes {
        let (c, slot) = (k % CHANNELS, (k / CHANNELS) as i64);
        let start = base + slot * SLOT;
        writeln!(
            out,
            "<programme start=\"{}\" stop=\"{}\" channel=\"ch{c}.example\">\
             <title>{title} {slot}</title><desc>Episode {slot} of channel {c}, with a few \
             words of description.</desc></programme>",
            xmltv_time(start),
            xmltv_time(start + SLOT)
        )
        .unwrap();
    }
    writeln!(out, "</tv>").unwrap();
    out.into_inner().unwrap().sync_all().unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Where an import of guide source `source` stands, read beside the process
/// writing it: the live generation, its programmes, and the rows staged under
/// other generations (an import under way, or the leftovers of a killed one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    generation: i64,
    live: i64,
    staged: i64,
}

fn progress(store: &Store, source: i64) -> Progress {
    store
        .run_blocking(|c| {
            let generation: i64 = c.query_row(
                "SELECT generation FROM epg_sources WHERE id = ?1",
                [source],
                |r| r.get(0),
            )?;
            let count = |sql: &str| c.query_row(sql, (source, generation), |r| r.get::<_, i64>(0));
            Ok(Progress {
                generation,
                live: count(
                    "SELECT count(*) FROM epg_programmes WHERE source_id = ?1 AND generation = ?2",
                )?,
                staged: count(
                    "SELECT count(*) FROM epg_programmes WHERE source_id = ?1 AND generation != ?2",
                )?,
            })
        })
        .unwrap()
}

/// The guide players get, as `xmltv.php` streams it.
async fn xmltv(d: &Daemon) -> String {
    let r = http()
        .get(d.url(&format!(
            "/xmltv.php?username={}&password={}",
            ADMIN.0, ADMIN.1
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// Waits until guide source `id` reports `programmes` programmes stored.
async fn imported(d: &Daemon, id: i64, programmes: usize) {
    let done = eventually(Duration::from_secs(300), async || {
        let (_, s) = d
            .admin(
                reqwest::Method::GET,
                &format!("/api/epg/sources/{id}"),
                json!(null),
            )
            .await;
        assert!(s["last_error"].is_null(), "import failed: {s}");
        s["new"] == programmes
    })
    .await;
    assert!(
        done,
        "the guide of {programmes} programmes was not imported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_edits_during_a_200k_programme_guide_import_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let guide = dir.path().join("guide.xml");
    write_guide(&guide, CHANNELS * 3, "Old show");
    let daemon = Daemon::start(dir.path(), &[("ACEXTREAM_EPG__DAYS_AHEAD", "30")]);
    let post = reqwest::Method::POST;

    // A channel showing guide channel ch0, and the old guide imported.
    let (status, channel) = daemon
        .admin(
            post.clone(),
            "/api/channels",
            json!({"name": "Zero", "stream": "a".repeat(40), "tvg_id": "ch0.example"}),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    let channel = channel["id"].as_i64().unwrap();
    let (status, source) = daemon
        .admin(
            post.clone(),
            "/api/epg/sources",
            json!({"name": "big", "url": guide.display().to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{source}");
    let source = source["id"].as_i64().unwrap();
    imported(&daemon, source, CHANNELS * 3).await;
    assert_eq!(xmltv(&daemon).await.matches("<programme ").count(), 3);

    // The big guide replaces it; edits start as soon as its first batch is staged.
    write_guide(&guide, PROGRAMMES, "Show");
    let store = Store::open(&daemon.dir.join("test.db")).unwrap();
    let before = progress(&store, source);
    let (status, _) = daemon
        .admin(post, "/api/epg/update", json!({"source_id": source}))
        .await;
    assert_eq!(status, 202);
    let started = eventually(Duration::from_secs(120), async || {
        progress(&store, source).staged > 0
    })
    .await;
    assert!(started, "the import never started");

    let put = reqwest::Method::PUT;
    let mut during_import = 0;
    for i in 0..50 {
        let (status, body) = daemon.admin(put.clone(),
            &format!("/api/channels/{channel}"),
            json!({"name": format!("Edited {i}"), "logo": format!("http://logos.example/{i}.png")}),
        )
        .await;
        assert_eq!(status, 200, "edit {i} failed: {body}");
        assert_eq!(body["name"], format!("Edited {i}"));
        let now = progress(&store, source);
        if now.generation == before.generation {
            during_import += 1;
            if during_import == 1 {
                // Players still get the whole old guide, not a half-written new one.
                let old = xmltv(&daemon).await;
                let still_old = progress(&store, source).generation == before.generation;
                if still_old {
                    assert_eq!(old.matches("<programme ").count(), 3, "{old}");
                    assert!(old.contains("Old show 0") && !old.contains(">Show "));
                }
            }
        }
    }
    eprintln!("{during_import} of 50 edits were made while the guide imported");
    // Edits did not just wait for the import to end: some went in between batches.
    assert!(
        during_import > 0,
        "no edit was made while the guide imported"
    );

    imported(&daemon, source, PROGRAMMES).await;
    let after = progress(&store, source);
    assert_eq!(
        (after.live, after.staged),
        (PROGRAMMES as i64, 0),
        "{after:?}"
    );
    let guide = xmltv(&daemon).await;
    assert_eq!(guide.matches("<programme ").count(), PROGRAMMES / CHANNELS);
    assert!(!guide.contains("Old show"));
    let (_, edited) = daemon
        .admin(
            reqwest::Method::GET,
            &format!("/api/channels/{channel}"),
            json!(null),
        )
        .await;
    assert_eq!(edited["name"], "Edited 49");
    assert_eq!(edited["logo"], "http://logos.example/49.png");
}

/// Runs `acextream epg import FILE` to the end; its stdout.
fn cli_import(dir: &Path, file: &Path) -> String {
    let out = acextream(dir)
        .args(["epg", "import"])
        .arg(file)
        .env("ACEXTREAM_EPG__DAYS_AHEAD", "30")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The titles a channel mapped to `ch0.example` shows, read as players read them.
fn titles_of_ch0(store: &Store) -> Vec<String> {
    store
        .run_blocking(|c| {
            c.execute(
                "INSERT OR IGNORE INTO channels (id, name, tvg_id, added_at, updated_at)
                 VALUES (1, 'Zero', 'ch0.example', 0, 0)",
                [],
            )?;
            acextream_core::epg::remap(c, false).unwrap();
            let programmes =
                acextream_core::epg::programmes_for_channel(c, 1, 0, i64::MAX, None).unwrap();
            Ok(programmes.into_iter().map(|p| p.title).collect())
        })
        .unwrap()
}

fn source_of(store: &Store) -> i64 {
    store
        .run_blocking(|c| Ok(c.query_row("SELECT id FROM epg_sources", [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn a_kill_9_in_the_middle_of_an_import_leaves_the_previous_guide_intact() {
    use std::os::unix::process::ExitStatusExt;

    let dir = tempfile::tempdir().unwrap();
    let guide: PathBuf = dir.path().join("guide.xml");
    write_guide(&guide, CHANNELS * 3, "Old show");
    let out = cli_import(dir.path(), &guide);
    assert!(out.contains("300 programmes"), "{out}");
    let store = Store::open(&dir.path().join("test.db")).unwrap();
    let source = source_of(&store);
    let old_titles = titles_of_ch0(&store);
    assert_eq!(old_titles, ["Old show 0", "Old show 1", "Old show 2"]);
    let before = progress(&store, source);

    write_guide(&guide, PROGRAMMES, "Show");
    let mut child = acextream(dir.path())
        .args(["epg", "import"])
        .arg(&guide)
        .env("ACEXTREAM_EPG__DAYS_AHEAD", "30")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Mid-way: a good part of the new guide is staged, not all of it.
    loop {
        let now = progress(&store, source);
        if now.staged >= (PROGRAMMES / 10) as i64 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed: {now:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "the import was not killed: {status}"
    );

    // The previous guide is what players get, whole; the staged rows are left over.
    let killed = progress(&store, source);
    assert_eq!(
        (killed.generation, killed.live),
        (before.generation, before.live)
    );
    assert!(killed.staged > 0, "{killed:?}");
    assert_eq!(titles_of_ch0(&store), old_titles);
    let found: i64 = store
        .run_blocking(|c| {
            Ok(c.query_row(
                "SELECT programmes_found FROM epg_sources WHERE id = ?1",
                [source],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(found, 300);

    // The next import cleans the leftovers up and brings the whole new guide in.
    let out = cli_import(dir.path(), &guide);
    assert!(out.contains(&format!("{PROGRAMMES} programmes")), "{out}");
    let after = progress(&store, source);
    assert_eq!(
        (after.live, after.staged),
        (PROGRAMMES as i64, 0),
        "{after:?}"
    );
    let titles = titles_of_ch0(&store);
    assert_eq!(titles.len(), PROGRAMMES / CHANNELS);
    assert_eq!(titles[0], "Show 0");
}
