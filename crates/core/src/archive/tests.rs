//! Archive behaviour on real files in temporary directories.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;

use super::*;

const T0: i64 = 1_700_000_000_000;

fn unlimited() -> Limits {
    Limits {
        max_bytes_per_channel: u64::MAX,
        max_total_bytes: u64::MAX,
    }
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn meta(start_ms: i64, duration_ms: u64, discontinuity: bool) -> SegmentMeta {
    SegmentMeta {
        start: at(start_ms),
        duration: Duration::from_millis(duration_ms),
        discontinuity,
    }
}

/// Appends a segment of `len` bytes (split in two parts to check concatenation).
fn put(archive: &Archive, channel: i64, start_ms: i64, duration_ms: u64, len: usize) {
    let byte = (start_ms % 251) as u8;
    let data = vec![byte; len];
    let (a, b) = data.split_at(len / 2);
    archive
        .append(
            channel,
            &meta(start_ms, duration_ms, false),
            &[Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)],
        )
        .unwrap();
}

fn starts(archive: &Archive, channel: i64) -> Vec<i64> {
    archive
        .span(channel, Timestamp::MIN, Timestamp::MAX)
        .map(|s| {
            s.segments
                .iter()
                .map(|seg| seg.start.as_millisecond())
                .collect()
        })
        .unwrap_or_default()
}

/// Every file under `root`, relative, sorted.
fn files(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn reopen_finds_every_segment_and_cleans_leftovers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("archive");
    let archive = Archive::open(&root, unlimited()).unwrap();
    put(&archive, 7, T0, 6000, 1000);
    put(&archive, 7, T0 + 6000, 5990, 1500);
    archive
        .append(
            7,
            &meta(T0 + 20_000, 6010, true),
            &[Bytes::from_static(b"abc"), Bytes::from_static(b"def")],
        )
        .unwrap();
    put(&archive, -3, T0, 6000, 10);
    let before = archive.span(7, Timestamp::MIN, Timestamp::MAX).unwrap();
    let channels_before = archive.channels();
    drop(archive);

    // What a kill -9 mid-write and a stray file leave behind.
    let ch7 = root.join("7");
    fs::write(ch7.join(format!("{}-6000.ts.part", T0 + 30_000)), b"half").unwrap();
    fs::write(ch7.join("notes.txt"), b"junk").unwrap();
    fs::write(ch7.join("+5-100.ts"), b"alias").unwrap();
    fs::write(ch7.join(format!("{}-6000.ts", T0 + 40_000)), b"").unwrap();
    fs::create_dir(ch7.join("subdir")).unwrap();
    // Root entries that are not channel directories are not ours to delete.
    fs::write(root.join("README"), b"keep").unwrap();
    fs::create_dir(root.join("07")).unwrap();

    let reopened = Archive::open(&root, unlimited()).unwrap();
    let after = reopened.span(7, Timestamp::MIN, Timestamp::MAX).unwrap();
    assert_eq!(after, before);
    assert_eq!(after.segments.len(), 3);
    assert_eq!(after.segments[1].duration, Duration::from_millis(5990));
    assert!(after.segments[2].discontinuity);
    assert_eq!(fs::read(&after.segments[2].path).unwrap(), b"abcdef");
    assert_eq!(reopened.channels(), channels_before);
    assert_eq!(reopened.channel_bytes(-3), 10);
    assert_eq!(reopened.total_bytes(), 1000 + 1500 + 6 + 10);

    assert_eq!(
        files(&root),
        vec![
            "-3/1700000000000-6000.ts".to_string(),
            "7/1700000000000-6000.ts".to_string(),
            "7/1700000006000-5990.ts".to_string(),
            "7/1700000020000-6010-d.ts".to_string(),
            "README".to_string(),
        ]
    );
    assert!(ch7.join("subdir").is_dir());
    assert!(root.join("07").is_dir());
}

fn gappy_archive(root: &Path) -> Archive {
    // [T0, T0+6000) [T0+6000, T0+12000)  gap  [T0+20000, T0+26000)
    let archive = Archive::open(root, unlimited()).unwrap();
    put(&archive, 1, T0, 6000, 100);
    put(&archive, 1, T0 + 6000, 6000, 200);
    put(&archive, 1, T0 + 20_000, 6000, 300);
    archive
}

#[test]
fn span_from_inside_a_segment_through_those_starting_before_to() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    let span = archive.span(1, at(T0 + 3000), at(T0 + 20_001)).unwrap();
    let got: Vec<i64> = span
        .segments
        .iter()
        .map(|s| s.start.as_millisecond())
        .collect();
    assert_eq!(got, vec![T0, T0 + 6000, T0 + 20_000]);
    assert_eq!(span.len, 600);
    // `to` exactly at a start excludes that segment.
    let span = archive.span(1, at(T0 + 3000), at(T0 + 20_000)).unwrap();
    assert_eq!(span.segments.len(), 2);
    assert_eq!(span.len, 300);
    // A sub-millisecond `to` after a start includes it.
    let to = at(T0 + 20_000)
        .checked_add(Duration::from_nanos(1))
        .unwrap();
    assert_eq!(archive.span(1, at(T0), to).unwrap().segments.len(), 3);
    // `from` exactly at a segment's end starts at the next one.
    let span = archive.span(1, at(T0 + 6000), at(T0 + 7000)).unwrap();
    assert_eq!(span.segments[0].start, at(T0 + 6000));
    assert_eq!(span.segments.len(), 1);
}

#[test]
fn span_from_a_gap_or_before_the_oldest_starts_at_the_next_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    let span = archive.span(1, at(T0 + 15_000), at(T0 + 30_000)).unwrap();
    assert_eq!(span.segments.len(), 1);
    assert_eq!(span.segments[0].start, at(T0 + 20_000));
    assert_eq!(span.len, 300);
    // The gap reaches past `to`: nothing overlaps.
    assert_eq!(archive.span(1, at(T0 + 13_000), at(T0 + 19_000)), None);
    assert_eq!(archive.span(1, at(T0 + 13_000), at(T0 + 20_000)), None);

    let span = archive.span(1, at(T0 - 60_000), at(T0 + 1)).unwrap();
    assert_eq!(span.segments.len(), 1);
    assert_eq!(span.segments[0].start, at(T0));
    assert_eq!(archive.span(1, at(T0 - 60_000), at(T0)), None);
}

#[test]
fn span_after_the_newest_or_of_another_channel_is_none() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    assert_eq!(archive.span(1, at(T0 + 26_000), at(T0 + 99_000)), None);
    assert_eq!(archive.span(2, at(T0), at(T0 + 99_000)), None);
    assert_eq!(archive.span(1, at(T0 + 3000), at(T0 + 3000)), None);
    assert_eq!(archive.span(1, at(T0 + 3000), at(T0)), None);
}

#[test]
fn locate_walks_across_segment_boundaries() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    let span = archive.span(1, at(T0), at(T0 + 30_000)).unwrap();
    assert_eq!(span.len, 600);
    assert_eq!(span.locate(0), Some((0, 0)));
    assert_eq!(span.locate(99), Some((0, 99)));
    assert_eq!(span.locate(100), Some((1, 0)));
    assert_eq!(span.locate(299), Some((1, 199)));
    assert_eq!(span.locate(300), Some((2, 0)));
    assert_eq!(span.locate(599), Some((2, 299)));
    assert_eq!(span.locate(600), None);
    assert_eq!(span.locate(u64::MAX), None);
    // The located byte is the byte in the file.
    let (i, off) = span.locate(150).unwrap();
    let file = fs::read(&span.segments[i].path).unwrap();
    assert_eq!(file.len() as u64, span.segments[i].len);
    assert_eq!(file[off as usize], ((T0 + 6000) % 251) as u8);
}

#[test]
fn window_covers_and_channels() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    put(&archive, 2, T0 + 1000, 500, 7);
    assert_eq!(archive.window(1), Some((at(T0), at(T0 + 26_000))));
    assert_eq!(archive.window(3), None);
    assert!(archive.covers(1, at(T0)));
    assert!(archive.covers(1, at(T0 + 11_999)));
    assert!(!archive.covers(1, at(T0 + 12_000)));
    assert!(!archive.covers(1, at(T0 - 1)));
    assert!(archive.covers(1, at(T0 + 25_999)));
    assert!(!archive.covers(1, at(T0 + 26_000)));
    assert!(!archive.covers(2, at(T0)));
    assert_eq!(
        archive.channels(),
        vec![
            ChannelSummary {
                id: 1,
                segments: 3,
                bytes: 600,
                oldest: at(T0),
                newest: at(T0 + 26_000),
            },
            ChannelSummary {
                id: 2,
                segments: 1,
                bytes: 7,
                oldest: at(T0 + 1000),
                newest: at(T0 + 1500),
            },
        ]
    );
}

#[test]
fn per_channel_limit_evicts_that_channels_oldest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes_per_channel: 250,
        max_total_bytes: u64::MAX,
    };
    let archive = Archive::open(tmp.path(), limits).unwrap();
    put(&archive, 2, T0 - 100_000, 6000, 200); // older, other channel: untouched
    for i in 0..3 {
        put(&archive, 1, T0 + i * 6000, 6000, 100);
    }
    assert_eq!(starts(&archive, 1), vec![T0 + 6000, T0 + 12_000]);
    assert_eq!(archive.channel_bytes(1), 200);
    assert_eq!(starts(&archive, 2), vec![T0 - 100_000]);
    assert!(!tmp.path().join(format!("1/{T0}-6000.ts")).exists());
    // A segment bigger than the limit alone still keeps the newest.
    put(&archive, 1, T0 + 18_000, 6000, 1000);
    assert_eq!(starts(&archive, 1), vec![T0 + 18_000]);
    assert_eq!(files(tmp.path()).len(), 2);
}

#[test]
fn total_limit_evicts_the_globally_oldest() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes_per_channel: u64::MAX,
        max_total_bytes: 300,
    };
    let archive = Archive::open(tmp.path(), limits).unwrap();
    put(&archive, 1, T0, 6000, 100);
    put(&archive, 2, T0 + 1000, 6000, 100);
    put(&archive, 1, T0 + 6000, 6000, 100);
    // Over by 100: channel 1's first segment is the oldest anywhere.
    put(&archive, 2, T0 + 7000, 6000, 100);
    assert_eq!(starts(&archive, 1), vec![T0 + 6000]);
    assert_eq!(starts(&archive, 2), vec![T0 + 1000, T0 + 7000]);
    // Next oldest is channel 2's.
    put(&archive, 3, T0 + 12_000, 6000, 100);
    assert_eq!(starts(&archive, 2), vec![T0 + 7000]);
    assert_eq!(archive.total_bytes(), 300);
    assert_eq!(files(tmp.path()).len(), 3);
}

#[test]
fn open_evicts_down_to_shrunk_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    drop(archive);
    let limits = Limits {
        max_bytes_per_channel: 500,
        max_total_bytes: u64::MAX,
    };
    let archive = Archive::open(tmp.path(), limits).unwrap();
    assert_eq!(starts(&archive, 1), vec![T0 + 6000, T0 + 20_000]);
    assert_eq!(files(tmp.path()).len(), 2);
}

#[test]
fn expire_drops_segments_ending_before_the_cutoff() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    put(&archive, 2, T0, 6000, 5);
    // Cuts through the second segment: only the first has ended.
    archive.expire(1, at(T0 + 6500));
    assert_eq!(starts(&archive, 1), vec![T0 + 6000, T0 + 20_000]);
    // A segment ending exactly at the cutoff goes.
    archive.expire(1, at(T0 + 12_000));
    assert_eq!(starts(&archive, 1), vec![T0 + 20_000]);
    assert_eq!(archive.channel_bytes(1), 300);
    assert_eq!(archive.total_bytes(), 305);
    assert_eq!(starts(&archive, 2), vec![T0]);
    archive.expire(1, at(T0 + 99_000));
    assert_eq!(archive.window(1), None);
    assert_eq!(archive.channels().len(), 1);
    assert_eq!(files(tmp.path()), vec![format!("2/{T0}-6000.ts")]);
    archive.expire(42, at(T0)); // unknown channel: nothing happens
}

#[test]
fn a_channel_dir_that_is_a_file_fails_the_write_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    put(&archive, 5, T0, 6000, 10);
    fs::remove_dir_all(tmp.path().join("5")).unwrap();
    fs::write(tmp.path().join("5"), b"not a directory").unwrap();
    let err = archive
        .append(
            5,
            &meta(T0 + 6000, 6000, false),
            &[Bytes::from_static(b"x")],
        )
        .unwrap_err();
    assert!(matches!(err, ArchiveError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&tmp.path().display().to_string()),
        "{err}"
    );
    assert_eq!(starts(&archive, 5), vec![T0]);
    assert_eq!(archive.channel_bytes(5), 10);
    assert_eq!(archive.total_bytes(), 610);
    assert!(files(tmp.path()).iter().all(|f| !f.ends_with(".part")));
}

#[test]
fn a_failed_rename_removes_its_part_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    // The segment's final name is taken by a non-empty directory: the data is written
    // to the .part, then the rename fails.
    let blocker = tmp.path().join(format!("1/{}-6000.ts", T0 + 30_000));
    fs::create_dir(&blocker).unwrap();
    fs::write(blocker.join("x"), b"x").unwrap();
    let err = archive
        .append(
            1,
            &meta(T0 + 30_000, 6000, false),
            &[Bytes::from_static(b"data")],
        )
        .unwrap_err();
    assert!(matches!(err, ArchiveError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("1700000030000-6000.ts"), "{err}");
    assert_eq!(starts(&archive, 1), vec![T0, T0 + 6000, T0 + 20_000]);
    assert_eq!(archive.total_bytes(), 600);
    assert!(files(tmp.path()).iter().all(|f| !f.ends_with(".part")));
}

#[test]
fn disk_full_errors_are_classified() {
    for code in [28, 27, 122] {
        let err = ArchiveError::from_io(Path::new("/a/b"), io::Error::from_raw_os_error(code));
        assert!(
            matches!(err, ArchiveError::DiskFull { .. }),
            "{code}: {err:?}"
        );
        assert!(err.to_string().contains("/a/b"), "{err}");
        assert_eq!(err.io_error().raw_os_error(), Some(code));
    }
    for code in [2, 13, 20, 21, 30] {
        let err = ArchiveError::from_io(Path::new("/a/b"), io::Error::from_raw_os_error(code));
        assert!(matches!(err, ArchiveError::Io { .. }), "{code}: {err:?}");
    }
}

#[test]
fn negative_and_extreme_channel_ids_are_plain_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("a");
    let archive = Archive::open(&root, unlimited()).unwrap();
    for channel in [-1, i64::MIN, i64::MAX, 0] {
        put(&archive, channel, T0, 6000, 3);
    }
    drop(archive);
    let archive = Archive::open(&root, unlimited()).unwrap();
    let ids: Vec<i64> = archive.channels().iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![i64::MIN, -1, 0, i64::MAX]);
    let span = archive.span(-1, at(T0), at(T0 + 1)).unwrap();
    assert_eq!(
        span.segments[0].path,
        root.join("-1").join(format!("{T0}-6000.ts"))
    );
    // Every file is exactly one level below a channel directory inside the root.
    for f in files(&root) {
        assert_eq!(PathBuf::from(&f).components().count(), 2, "{f}");
    }
}

#[test]
fn segment_before_1970_and_sub_millisecond_start() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = Archive::open(tmp.path(), unlimited()).unwrap();
    put(&archive, 1, -10_000, 6000, 4);
    let start = at(T0).checked_add(Duration::from_micros(700)).unwrap();
    let m = SegmentMeta {
        start,
        duration: Duration::from_micros(6_000_900),
        discontinuity: false,
    };
    archive.append(1, &m, &[Bytes::from_static(b"ab")]).unwrap();
    drop(archive);
    let archive = Archive::open(tmp.path(), unlimited()).unwrap();
    assert_eq!(starts(&archive, 1), vec![-10_000, T0]);
    assert!(tmp.path().join("1/-10000-6000.ts").is_file());
    assert!(tmp.path().join(format!("1/{T0}-6000.ts")).is_file());
}

#[test]
fn unrepresentable_or_empty_segments_are_not_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = Archive::open(tmp.path(), unlimited()).unwrap();
    let m = SegmentMeta {
        start: Timestamp::MAX,
        duration: Duration::from_secs(10),
        discontinuity: false,
    };
    let err = archive
        .append(1, &m, &[Bytes::from_static(b"x")])
        .unwrap_err();
    assert_eq!(err.io_error().kind(), io::ErrorKind::InvalidInput);
    archive.append(1, &meta(T0, 6000, false), &[]).unwrap();
    archive
        .append(1, &meta(T0, 6000, false), &[Bytes::new()])
        .unwrap();
    assert_eq!(archive.window(1), None);
    assert!(files(tmp.path()).is_empty());
}

#[test]
fn a_segment_with_the_same_start_replaces_the_old_one() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = Archive::open(tmp.path(), unlimited()).unwrap();
    put(&archive, 1, T0, 6000, 10);
    archive
        .append(1, &meta(T0, 5000, true), &[Bytes::from_static(b"new")])
        .unwrap();
    assert_eq!(archive.total_bytes(), 3);
    assert_eq!(files(tmp.path()), vec![format!("1/{T0}-5000-d.ts")]);
    put(&archive, 1, T0, 5000, 4); // same name: the rename replaces the file
    assert_eq!(files(tmp.path()), vec![format!("1/{T0}-5000.ts")]);
    put(&archive, 1, T0, 5000, 6);
    assert_eq!(files(tmp.path()), vec![format!("1/{T0}-5000.ts")]);
    assert_eq!(archive.total_bytes(), 6);
}

#[test]
fn remove_channel_deletes_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = gappy_archive(tmp.path());
    put(&archive, 2, T0, 6000, 5);
    archive.remove_channel(1).unwrap();
    assert_eq!(archive.window(1), None);
    assert_eq!(archive.total_bytes(), 5);
    assert!(!tmp.path().join("1").exists());
    archive.remove_channel(1).unwrap(); // already gone
    archive.remove_channel(99).unwrap();
    // Recording again after removal works.
    put(&archive, 1, T0 + 60_000, 6000, 8);
    assert_eq!(starts(&archive, 1), vec![T0 + 60_000]);
    // A trash directory left by a crash goes on the next open.
    fs::create_dir_all(tmp.path().join(".trash-2-1-0")).unwrap();
    fs::write(tmp.path().join(".trash-2-1-0/1-2.ts"), b"x").unwrap();
    drop(archive);
    let archive = Archive::open(tmp.path(), unlimited()).unwrap();
    assert!(!tmp.path().join(".trash-2-1-0").exists());
    assert_eq!(archive.total_bytes(), 13);
}

#[test]
fn concurrent_appends_keep_the_index_and_the_disk_in_step() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes_per_channel: 1000,
        max_total_bytes: 2500,
    };
    let archive = Arc::new(Archive::open(tmp.path(), limits).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|channel| {
            let archive = Arc::clone(&archive);
            std::thread::spawn(move || {
                for i in 0..40 {
                    put(&archive, channel, T0 + i * 6000, 6000, 100);
                    let _ = archive.span(channel, at(T0), at(T0 + 1_000_000));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let total = archive.total_bytes();
    assert!(total <= 2500, "{total}");
    let on_disk: u64 = files(tmp.path())
        .iter()
        .map(|f| fs::metadata(tmp.path().join(f)).unwrap().len())
        .sum();
    assert_eq!(on_disk, total);
    let summed: u64 = archive.channels().iter().map(|c| c.bytes).sum();
    assert_eq!(summed, total);
    drop(archive);
    let reopened = Archive::open(tmp.path(), limits).unwrap();
    assert_eq!(reopened.total_bytes(), total);
}

#[test]
fn archive_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Archive>();
}

#[test]
fn a_live_window_keeps_every_segments_number_as_the_oldest_go() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_bytes_per_channel: 3 * 100,
        max_total_bytes: u64::MAX,
    };
    let archive = Archive::open(dir.path(), limits).unwrap();
    let disc = |start: i64| {
        archive
            .append(1, &meta(start, 1000, true), &[Bytes::from(vec![0u8; 100])])
            .unwrap()
    };
    put(&archive, 1, T0, 1000, 100);
    disc(T0 + 1000);
    put(&archive, 1, T0 + 2000, 1000, 100);
    let w = archive.window_segments(1, at(T0 + 1500)).unwrap();
    assert_eq!((w.first_sequence, w.discontinuity_sequence), (1, 0));
    assert_eq!(w.segments.len(), 2);
    // Two more: the oldest two are evicted, and numbers go on from where they were.
    put(&archive, 1, T0 + 3000, 1000, 100);
    put(&archive, 1, T0 + 4000, 1000, 100);
    assert_eq!(starts(&archive, 1), vec![T0 + 2000, T0 + 3000, T0 + 4000]);
    let w = archive.window_segments(1, Timestamp::MIN).unwrap();
    assert_eq!(w.first_sequence, 2, "segment T0+2000 is still number 2");
    assert_eq!(
        w.discontinuity_sequence, 1,
        "the evicted discontinuity counts"
    );
    let w = archive.window_segments(1, at(T0 + 3500)).unwrap();
    assert_eq!(w.first_sequence, 3);
    assert!(archive.window_segments(1, at(T0 + 9000)).is_none());
    assert!(archive.window_segments(2, Timestamp::MIN).is_none());
}
