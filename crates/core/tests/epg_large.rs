//! A guide of 200,000 programmes, generated on the fly by a `Read` (never held as
//! one string), imports and is read back out in bounded memory. Its own test binary,
//! so the process's peak memory measures this test alone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a failed test

// In a module so that `cargo test epg` selects it.
mod epg {
    use std::io::{BufReader, Read};

    use acextream_core::Store;
    use acextream_core::epg::{
        Window, for_each_programme_of_mapped_channels, import_source, remap,
    };

    const CHANNELS: usize = 100;
    const PROGRAMMES: usize = 200_000;
    /// 2026-11-24 00:00 UTC.
    const BASE: i64 = 1_795_478_400;

    /// Writes an XMLTV feed piece by piece as it is read.
    struct Feed {
        /// Next item: 0 the header, then the channels, then the programmes, then
        /// the footer.
        next: usize,
        chunk: Vec<u8>,
        at: usize,
    }

    impl Feed {
        fn new() -> Feed {
            Feed {
                next: 0,
                chunk: Vec::new(),
                at: 0,
            }
        }

        /// Fills `chunk` with the next item; false at the end.
        fn refill(&mut self) -> bool {
            self.chunk.clear();
            self.at = 0;
            let n = self.next;
            self.next += 1;
            let text = if n == 0 {
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tv>\n".to_string()
            } else if n <= CHANNELS {
                let c = n - 1;
                format!(
                    "<channel id=\"ch{c}.example\"><display-name>Channel {c}</display-name>\
                     <icon src=\"http://logos.example/{c}.png\"/></channel>\n"
                )
            } else if n <= CHANNELS + PROGRAMMES {
                let k = n - 1 - CHANNELS;
                // Interleaved like a real feed: one slot of every channel in turn.
                let (c, slot) = (k % CHANNELS, (k / CHANNELS) as i64);
                let start = time(BASE + slot * 1800);
                let stop = time(BASE + slot * 1800 + 1800);
                format!(
                    "<programme start=\"{start}\" stop=\"{stop}\" channel=\"ch{c}.example\">\
                     <title lang=\"en\">Show {slot} &amp; friends</title>\
                     <desc lang=\"en\">Episode {slot} of channel {c}: a description long \
                     enough to look like the real thing, with an entity &#233; and more \
                     words to fill the line up to a realistic size.</desc>\
                     <category>Series</category></programme>\n"
                )
            } else if n == CHANNELS + PROGRAMMES + 1 {
                "</tv>\n".to_string()
            } else {
                return false;
            };
            self.chunk.extend_from_slice(text.as_bytes());
            true
        }
    }

    impl Read for Feed {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.chunk.len() && !self.refill() {
                return Ok(0);
            }
            let n = (self.chunk.len() - self.at).min(out.len());
            out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn time(epoch: i64) -> String {
        jiff::Timestamp::from_second(epoch)
            .unwrap()
            .strftime("%Y%m%d%H%M%S +0000")
            .to_string()
    }

    /// The process's peak resident memory, in KiB (Linux only).
    fn peak_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Far below the size of the feed (about 70 MB), so holding it would fail.
    const MAX_GROWTH_KIB: u64 = 40 * 1024;

    #[test]
    fn a_200k_programme_feed_imports_and_reads_back_in_bounded_memory() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("big.db")).unwrap();
        let before = peak_kib();

        let source = store
            .run_blocking(|c| {
                c.execute(
                    "INSERT INTO epg_sources (name, url, created_at) VALUES ('big', 'http://big', 0)",
                    [],
                )?;
                Ok(c.last_insert_rowid())
            })
            .unwrap();
        let window = Window {
            from: BASE - 86_400,
            to: BASE + 60 * 86_400,
        };
        let report = store
            .run_blocking(|c| {
                Ok(import_source(
                    c,
                    source,
                    BufReader::new(Feed::new()),
                    window,
                ))
            })
            .unwrap()
            .unwrap();
        assert_eq!(report.channels, CHANNELS as u64);
        assert_eq!(report.programmes, PROGRAMMES as u64);
        assert_eq!((report.skipped, report.duplicates), (0, 0));

        // Map every channel and stream the whole guide back out.
        store
            .run_blocking(|c| {
                for i in 0..CHANNELS {
                    c.execute(
                        "INSERT INTO channels (name, tvg_id, added_at, updated_at)
                         VALUES (?1, ?2, 0, 0)",
                        (format!("Channel {i}"), format!("ch{i}.example")),
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let mapping = store
            .run_blocking(|c| Ok(remap(c, false)))
            .unwrap()
            .unwrap();
        assert_eq!(mapping.mapped, CHANNELS as u64);
        let (mut rows, mut last) = (0usize, (0i64, i64::MIN));
        store
            .run_blocking(|c| {
                Ok(for_each_programme_of_mapped_channels(
                    c,
                    window.from,
                    window.to,
                    |ch, p| {
                        assert!((ch, p.start) > last, "rows come by channel, then start");
                        last = (ch, p.start);
                        rows += 1;
                        Ok(())
                    },
                ))
            })
            .unwrap()
            .unwrap();
        assert_eq!(rows, PROGRAMMES);

        if let (Some(before), Some(after)) = (before, peak_kib()) {
            let growth = after.saturating_sub(before);
            eprintln!("peak memory grew by {growth} KiB");
            assert!(growth < MAX_GROWTH_KIB, "peak memory grew by {growth} KiB");
        }
    }
}
