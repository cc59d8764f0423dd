//! One simulated HLS viewer: fetch the master playlist once, then poll the media
//! playlist as a live player does (RFC 8216 §6.3.4: a target duration after a
//! change, half of it after an unchanged reload) and fetch every new segment once,
//! checking that it is MPEG-TS, until the deadline. Requests go in turn over one
//! keep-alive connection, like a player's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::keepalive::KeepAlive;
use crate::playlist::{
    HOLD_BACK_TARGETS, MAX_PLAYLIST, MediaPlaylist, changed, parse_master, parse_media, plan,
    reload_delay, went_backwards,
};
use crate::target::{mask_secrets, parse_loopback_url, resolve};

/// Size of an MPEG-TS packet.
const TS_PACKET: usize = 188;
/// First byte of every MPEG-TS packet.
const TS_SYNC: u8 = 0x47;
/// Bytes of an error answer's body kept as its reason.
const REASON_BYTES: usize = 200;
/// Distinct error messages a viewer keeps.
const ERRORS_KEPT: usize = 5;
/// Wait before retrying a media playlist that failed before any target duration
/// was known.
const FIRST_RETRY: Duration = Duration::from_secs(1);

/// What one viewer is to do.
#[derive(Debug)]
pub struct ViewerSpec {
    /// The master playlist's URL.
    pub master_url: String,
    /// `master_url` is a media playlist: there is no master step.
    pub media_only: bool,
    /// The first viewer, on a channel that is not running yet.
    pub cold: bool,
    /// When to stop.
    pub deadline: Instant,
    /// Longest wait for one answer (a cold first playlist waits for a segment).
    pub request_timeout: Duration,
    /// Told the duration (s) of the first segment once the first media playlist
    /// listing one arrived (dropped unsent if it never does).
    pub first_playlist: Option<oneshot::Sender<f64>>,
}

/// Answers by status code, per kind of request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Statuses {
    /// Master playlist answers.
    pub master: BTreeMap<u16, u64>,
    /// Media playlist answers.
    pub playlist: BTreeMap<u16, u64>,
    /// Segment answers.
    pub segment: BTreeMap<u16, u64>,
}

impl Statuses {
    /// Adds another viewer's counts.
    pub fn add(&mut self, o: &Statuses) {
        for (mine, theirs) in [
            (&mut self.master, &o.master),
            (&mut self.playlist, &o.playlist),
            (&mut self.segment, &o.segment),
        ] {
            for (status, n) in theirs {
                *mine.entry(*status).or_insert(0) += n;
            }
        }
    }
}

/// What happened to one viewer.
#[derive(Debug, Clone, Default)]
pub struct ViewerOutcome {
    /// It was the cold (first) viewer.
    pub cold: bool,
    /// Master request sent → master playlist received, ms.
    pub master_ms: Option<f64>,
    /// Master request sent → the first media playlist listing a segment, ms.
    pub first_playlist_ms: Option<f64>,
    /// The last target duration seen, seconds.
    pub target_duration_s: Option<u64>,
    /// Media playlists loaded and parsed.
    pub playlists: u64,
    /// Of those, reloads that found the playlist unchanged.
    pub playlists_unchanged: u64,
    /// Segments fetched completely with a 2xx answer.
    pub segments: u64,
    /// Segment body bytes (a segment cut off by the deadline included).
    pub segment_bytes: u64,
    /// Master and media playlist body bytes.
    pub playlist_bytes: u64,
    /// Per complete segment: request sent → last byte, ms.
    pub segment_ms: Vec<f64>,
    /// TCP connections opened.
    pub connections: u64,
    /// Answers by status.
    pub statuses: Statuses,
    /// Answers that were not 2xx.
    pub not_2xx: u64,
    /// Segments that were empty or whose first byte is not 0x47.
    pub bad_first_byte: u64,
    /// Segments with a later packet out of sync or a partial last packet.
    pub out_of_sync: u64,
    /// Reloads whose media sequence was lower than the previous one's.
    pub sequence_backwards: u64,
    /// Segments that left the playlist before this viewer fetched them.
    pub segments_missed: u64,
    /// Connect, I/O, timeout or parse errors, and refused URLs.
    pub request_errors: u64,
    /// The playlist said `#EXT-X-ENDLIST` before the deadline.
    pub ended: bool,
    /// Longest time without a new segment appearing, from the first media
    /// playlist to the deadline, ms.
    pub max_stale_ms: Option<f64>,
    /// Up to 5 distinct error messages, credentials masked.
    pub errors: Vec<String>,
}

impl ViewerOutcome {
    /// The longest staleness a player holding [`HOLD_BACK_TARGETS`] target
    /// durations of buffer survives, ms (`None` before a playlist was read).
    pub fn stale_limit_ms(&self) -> Option<f64> {
        self.target_duration_s
            .map(|t| f64::from(HOLD_BACK_TARGETS) * t as f64 * 1000.0)
    }
}

/// Checks one segment's bytes as they arrive: every 188-byte MPEG-TS packet starts
/// with 0x47, and a segment holds whole packets.
#[derive(Debug, Clone, Default)]
pub struct SegmentCheck {
    bytes: u64,
    first: Option<u8>,
    sync_errors: u64,
}

/// What [`SegmentCheck`] concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentVerdict {
    /// Whole packets, all in sync.
    Ts,
    /// No byte, or a first byte that is not 0x47 (not MPEG-TS at all).
    BadFirstByte(Option<u8>),
    /// Starts as MPEG-TS, but later packets are out of sync or the last is partial.
    OutOfSync {
        /// Packet starts that were not 0x47.
        sync_errors: u64,
        /// Bytes of a partial last packet.
        partial: u64,
    },
}

impl SegmentCheck {
    /// Feeds the next body bytes.
    pub fn feed(&mut self, data: &[u8]) {
        if self.first.is_none() {
            self.first = data.first().copied();
        }
        let into_packet = (self.bytes % TS_PACKET as u64) as usize;
        let skip = (TS_PACKET - into_packet) % TS_PACKET;
        self.sync_errors += data
            .iter()
            .skip(skip)
            .step_by(TS_PACKET)
            .filter(|&&b| b != TS_SYNC)
            .count() as u64;
        self.bytes += data.len() as u64;
    }

    /// Body bytes fed.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The verdict on the bytes fed so far (the whole segment).
    pub fn verdict(&self) -> SegmentVerdict {
        if self.first != Some(TS_SYNC) {
            return SegmentVerdict::BadFirstByte(self.first);
        }
        let partial = self.bytes % TS_PACKET as u64;
        if self.sync_errors > 0 || partial > 0 {
            return SegmentVerdict::OutOfSync {
                sync_errors: self.sync_errors,
                partial,
            };
        }
        SegmentVerdict::Ts
    }
}

/// Which kind of request.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Master,
    Playlist,
    Segment,
}

/// How a request ended.
enum Got {
    /// A 2xx answer, and its time from request to last byte, ms.
    Answer(crate::keepalive::Answer, f64),
    /// A non-2xx answer (recorded).
    Refused,
    /// An error (recorded).
    Failed,
    /// The deadline came first: not an error.
    Deadline,
}

/// What a viewer polling a media playlist remembers between loads.
struct PollState {
    /// The playlist of the previous successful load.
    previous: Option<MediaPlaylist>,
    /// Sequence number of the last segment fetched (or tried).
    last_fetched: Option<u64>,
    /// When new segments last appeared.
    last_new: Option<Instant>,
    /// Longest time between two appearances of new segments so far.
    max_stale: Duration,
    /// Wait before retrying after a failed load: half the last target duration.
    retry: Duration,
}

/// What follows a media playlist load.
enum Next {
    /// Reload after this long from the start of the load.
    Reload(Duration),
    /// The deadline cut a segment off: stop.
    Deadline,
    /// The playlist ended: stop before the deadline.
    Ended,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A playlist body as text, refusing one too large to be a playlist.
fn playlist_text(body: &[u8]) -> anyhow::Result<&str> {
    anyhow::ensure!(
        body.len() <= MAX_PLAYLIST,
        "playlist larger than {MAX_PLAYLIST} bytes"
    );
    std::str::from_utf8(body).map_err(|_| anyhow::anyhow!("playlist is not UTF-8"))
}

/// The start of an error answer's body, on one line: the server's reason.
fn reason(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        "(no reason given)".into()
    } else {
        one_line
    }
}

/// Runs one viewer to its deadline.
pub async fn run(spec: ViewerSpec) -> ViewerOutcome {
    let mut v = Viewer {
        conn: KeepAlive::new(),
        deadline: spec.deadline,
        request_timeout: spec.request_timeout,
        out: ViewerOutcome {
            cold: spec.cold,
            ..ViewerOutcome::default()
        },
    };
    let mut first = spec.first_playlist;
    v.drive(&spec.master_url, spec.media_only, &mut first).await;
    if v.out.first_playlist_ms.is_none() && v.out.errors.is_empty() {
        v.note("no media playlist listing a segment before the deadline".into());
    }
    v.out
}

struct Viewer {
    conn: KeepAlive,
    deadline: Instant,
    request_timeout: Duration,
    out: ViewerOutcome,
}

impl Viewer {
    fn note(&mut self, message: String) {
        if self.out.errors.len() < ERRORS_KEPT && !self.out.errors.contains(&message) {
            self.out.errors.push(message);
        }
    }

    fn request_error(&mut self, message: String) {
        self.out.request_errors += 1;
        self.note(message);
    }

    /// One GET, bounded by the request timeout and the deadline; records statuses
    /// and errors.
    async fn get<F: FnMut(&[u8])>(
        &mut self,
        kind: Kind,
        url: &str,
        keep: usize,
        sink: &mut F,
    ) -> Got {
        let masked = mask_secrets(url);
        let target = match parse_loopback_url(url) {
            Ok(t) => t,
            Err(e) => {
                self.request_error(format!("{kind:?} URL {masked}: {e:#}"));
                return Got::Failed;
            }
        };
        let sent = Instant::now();
        let limit = (sent + self.request_timeout).min(self.deadline);
        let answer = match timeout_at(limit, self.conn.get(&target, keep, sink)).await {
            Err(_) if limit == self.deadline => return Got::Deadline,
            Err(_) => {
                self.request_error(format!(
                    "GET {masked}: no answer within {:.0} s",
                    self.request_timeout.as_secs_f64()
                ));
                return Got::Failed;
            }
            Ok(Err(e)) => {
                self.request_error(format!("GET {masked}: {e:#}"));
                return Got::Failed;
            }
            Ok(Ok(a)) => a,
        };
        let took = ms(sent.elapsed());
        if answer.connect_ms.is_some() {
            self.out.connections += 1;
        }
        let statuses = match kind {
            Kind::Master => &mut self.out.statuses.master,
            Kind::Playlist => &mut self.out.statuses.playlist,
            Kind::Segment => &mut self.out.statuses.segment,
        };
        *statuses.entry(answer.status).or_insert(0) += 1;
        if !(200..300).contains(&answer.status) {
            self.out.not_2xx += 1;
            let why = reason(&answer.body);
            self.note(format!("GET {masked} answered {}: {why}", answer.status));
            return Got::Refused;
        }
        Got::Answer(answer, took)
    }

    async fn drive(
        &mut self,
        master_url: &str,
        media_only: bool,
        first: &mut Option<oneshot::Sender<f64>>,
    ) {
        let sent = Instant::now();
        let media_url = if media_only {
            master_url.to_string()
        } else {
            match self.media_url(master_url).await {
                Some(url) => url,
                None => return,
            }
        };
        self.poll(&media_url, sent, first).await;
    }

    /// Fetches the master playlist: the URL of its first variant.
    async fn media_url(&mut self, master_url: &str) -> Option<String> {
        let body = match self
            .get(
                Kind::Master,
                master_url,
                MAX_PLAYLIST + 1,
                &mut |_: &[u8]| {},
            )
            .await
        {
            Got::Answer(a, took) => {
                self.out.master_ms = Some(took);
                self.out.playlist_bytes += a.bytes;
                a.body
            }
            Got::Refused | Got::Failed | Got::Deadline => return None,
        };
        match playlist_text(&body).and_then(parse_master) {
            Ok(uri) => Some(resolve(master_url, &uri)),
            Err(e) => {
                self.request_error(format!("master playlist: {e:#}"));
                None
            }
        }
    }

    /// Polls the media playlist until the deadline, fetching every new segment.
    /// `sent` is when the viewer's first request went out.
    async fn poll(
        &mut self,
        media_url: &str,
        sent: Instant,
        first: &mut Option<oneshot::Sender<f64>>,
    ) {
        let mut state = PollState {
            previous: None,
            last_fetched: None,
            last_new: None,
            max_stale: Duration::ZERO,
            retry: FIRST_RETRY,
        };
        let reached_deadline = loop {
            let load_start = Instant::now();
            let got = self
                .get(
                    Kind::Playlist,
                    media_url,
                    MAX_PLAYLIST + 1,
                    &mut |_: &[u8]| {},
                )
                .await;
            let wait = match got {
                Got::Deadline => break true,
                Got::Refused | Got::Failed => state.retry,
                Got::Answer(a, _) => {
                    self.out.playlist_bytes += a.bytes;
                    match playlist_text(&a.body).and_then(parse_media) {
                        Err(e) => {
                            self.request_error(format!("media playlist: {e:#}"));
                            state.retry
                        }
                        Ok(p) => match self.loaded(p, &mut state, media_url, sent, first).await {
                            Next::Reload(wait) => wait,
                            Next::Deadline => break true,
                            Next::Ended => break false,
                        },
                    }
                }
            };
            let next = load_start + wait;
            if next >= self.deadline {
                break true;
            }
            sleep_until(next).await;
        };
        if let Some(t) = state.last_new {
            let mut max_stale = state.max_stale;
            if reached_deadline {
                max_stale = max_stale.max(self.deadline.saturating_duration_since(t));
            }
            self.out.max_stale_ms = Some(ms(max_stale));
        }
    }

    /// Handles one loaded media playlist: checks it against the previous one,
    /// fetches its new segments, and says when to reload.
    async fn loaded(
        &mut self,
        p: MediaPlaylist,
        state: &mut PollState,
        media_url: &str,
        sent: Instant,
        first: &mut Option<oneshot::Sender<f64>>,
    ) -> Next {
        let now = Instant::now();
        let target = p.target();
        self.out.playlists += 1;
        self.out.target_duration_s = Some(p.target_duration);
        state.retry = reload_delay(target, false);
        if let Some(before) = state.previous.as_ref().map(|b| b.media_sequence)
            && went_backwards(state.previous.as_ref(), &p)
        {
            self.out.sequence_backwards += 1;
            self.note(format!(
                "media sequence went backwards: {} after {before}",
                p.media_sequence
            ));
        }
        let changed = changed(state.previous.as_ref(), &p);
        if !changed {
            self.out.playlists_unchanged += 1;
        }
        if self.out.first_playlist_ms.is_none()
            && let Some(s) = p.segments.first()
        {
            self.out.first_playlist_ms = Some(ms(now - sent));
            if let Some(tx) = first.take() {
                let _ = tx.send(s.duration);
            }
        }
        let todo = plan(&p, state.last_fetched);
        if todo.missed > 0 {
            self.out.segments_missed += todo.missed;
            self.note(format!(
                "{} segment(s) left the playlist before they were fetched",
                todo.missed
            ));
        }
        if !todo.fetch.is_empty() {
            if let Some(t) = state.last_new {
                state.max_stale = state.max_stale.max(now - t);
            }
            state.last_new = Some(now);
        }
        for seg in p.segments.get(todo.fetch).unwrap_or_default() {
            state.last_fetched = Some(seg.seq);
            if !self.segment(&resolve(media_url, &seg.uri)).await {
                return Next::Deadline;
            }
        }
        if p.ended {
            self.out.ended = true;
            self.note("the playlist ended (#EXT-X-ENDLIST) before the deadline".into());
            return Next::Ended;
        }
        state.previous = Some(p);
        Next::Reload(reload_delay(target, changed))
    }

    /// Fetches one segment and checks it; false when the deadline cut it off.
    async fn segment(&mut self, url: &str) -> bool {
        let mut check = SegmentCheck::default();
        let got = self
            .get(Kind::Segment, url, REASON_BYTES, &mut |d: &[u8]| {
                check.feed(d)
            })
            .await;
        match got {
            Got::Deadline => {
                self.out.segment_bytes += check.bytes();
                false
            }
            Got::Refused | Got::Failed => true,
            Got::Answer(_, took) => {
                self.out.segment_bytes += check.bytes();
                self.out.segments += 1;
                self.out.segment_ms.push(took);
                let masked = mask_secrets(url);
                match check.verdict() {
                    SegmentVerdict::Ts => {}
                    SegmentVerdict::BadFirstByte(b) => {
                        self.out.bad_first_byte += 1;
                        let first = b.map_or("no byte".into(), |b| format!("first byte {b:#04x}"));
                        self.note(format!("segment {masked} is not MPEG-TS: {first}"));
                    }
                    SegmentVerdict::OutOfSync {
                        sync_errors,
                        partial,
                    } => {
                        self.out.out_of_sync += 1;
                        self.note(format!(
                            "segment {masked}: {sync_errors} packet(s) out of sync, \
                             {partial} byte(s) of a partial last packet"
                        ));
                    }
                }
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_hls::{self, Faults};

    fn spec(master_url: String, secs: f64, first: Option<oneshot::Sender<f64>>) -> ViewerSpec {
        ViewerSpec {
            master_url,
            media_only: false,
            cold: true,
            deadline: Instant::now() + Duration::from_secs_f64(secs),
            request_timeout: Duration::from_secs(10),
            first_playlist: first,
        }
    }

    #[tokio::test]
    async fn a_viewer_fetches_every_new_segment_once_over_one_connection() {
        let server = fake_hls::start(Duration::from_millis(250), Faults::default()).await;
        let (tx, rx) = oneshot::channel();
        let out = run(spec(server.master_url(), 2.5, Some(tx))).await;
        assert_eq!(rx.await.unwrap(), 0.25);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert!(out.first_playlist_ms.is_some() && out.master_ms.is_some());
        assert_eq!(out.target_duration_s, Some(1));
        let gets = server.segment_gets.lock().unwrap().clone();
        assert!(gets.len() >= 2, "{gets:?}");
        assert!(
            gets.values().all(|&n| n == 1),
            "a segment fetched twice: {gets:?}"
        );
        let seqs: Vec<u64> = gets.keys().copied().collect();
        let first = seqs[0];
        assert_eq!(seqs, (first..first + seqs.len() as u64).collect::<Vec<_>>());
        // Every complete segment counted; the last may have been cut by the deadline.
        assert!(out.segments as usize == gets.len() || out.segments as usize + 1 == gets.len());
        assert!(out.segment_bytes >= out.segments * 188 * 20);
        assert_eq!(out.connections, 1, "requests reuse the connection");
        assert_eq!(out.statuses.master.get(&200), Some(&1));
        assert_eq!(out.not_2xx + out.request_errors + out.segments_missed, 0);
        assert!(out.max_stale_ms.is_some());
    }

    #[tokio::test]
    async fn a_refused_master_playlist_is_an_error_with_its_reason() {
        let faults = Faults {
            refuse_master: Some("account expired"),
            ..Faults::default()
        };
        let server = fake_hls::start(Duration::from_millis(250), faults).await;
        let out = run(spec(server.master_url(), 2.0, None)).await;
        assert_eq!(out.not_2xx, 1);
        assert_eq!(out.statuses.master.get(&403), Some(&1));
        assert!(out.first_playlist_ms.is_none());
        assert_eq!(out.segments, 0);
        assert!(
            out.errors[0].contains("answered 403: account expired"),
            "{:?}",
            out.errors
        );
        // The password in the URL's path never reaches a message.
        assert!(out.errors[0].contains("/live/u/***/"), "{:?}", out.errors);
    }

    #[tokio::test]
    async fn a_bad_segment_and_a_rewinding_sequence_are_counted() {
        let faults = Faults {
            bad_segment: Some(1),
            rewind_after: Some(4),
            ..Faults::default()
        };
        let server = fake_hls::start(Duration::from_millis(250), faults).await;
        let out = run(spec(server.master_url(), 5.0, None)).await;
        assert_eq!(out.bad_first_byte, 1, "{:?}", out.errors);
        assert_eq!(out.sequence_backwards, 1, "{:?}", out.errors);
        assert!(
            out.errors
                .iter()
                .any(|e| e.contains("not MPEG-TS: first byte 0x00"))
        );
        assert!(out.errors.iter().any(|e| e.contains("went backwards")));
    }

    fn packets(n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n * TS_PACKET];
        for p in v.chunks_mut(TS_PACKET) {
            p[0] = TS_SYNC;
        }
        v
    }

    fn check_in_slices(data: &[u8], slice: usize) -> SegmentVerdict {
        let mut c = SegmentCheck::default();
        for part in data.chunks(slice) {
            c.feed(part);
        }
        assert_eq!(c.bytes(), data.len() as u64);
        c.verdict()
    }

    #[test]
    fn whole_packets_in_sync_are_ts_whatever_the_slicing() {
        let data = packets(20);
        for slice in [1, 7, 187, 188, 189, 1000, 5000] {
            assert_eq!(check_in_slices(&data, slice), SegmentVerdict::Ts, "{slice}");
        }
    }

    #[test]
    fn a_segment_that_is_not_ts_is_seen() {
        assert_eq!(
            check_in_slices(b"<html>", 3),
            SegmentVerdict::BadFirstByte(Some(b'<'))
        );
        assert_eq!(
            SegmentCheck::default().verdict(),
            SegmentVerdict::BadFirstByte(None)
        );
        let mut data = packets(10);
        data[5 * TS_PACKET] = 0;
        assert_eq!(
            check_in_slices(&data, 100),
            SegmentVerdict::OutOfSync {
                sync_errors: 1,
                partial: 0
            }
        );
        let mut data = packets(3);
        data.extend_from_slice(&[TS_SYNC, 1, 2]);
        assert_eq!(
            check_in_slices(&data, 64),
            SegmentVerdict::OutOfSync {
                sync_errors: 0,
                partial: 3
            }
        );
    }

    #[test]
    fn error_reasons_are_one_line() {
        assert_eq!(reason(b"  channel\r\n is offline \n"), "channel is offline");
        assert_eq!(reason(b""), "(no reason given)");
    }

    #[test]
    fn statuses_add_up() {
        let mut a = Statuses::default();
        a.segment.insert(200, 3);
        let mut b = Statuses::default();
        b.segment.insert(200, 2);
        b.master.insert(404, 1);
        a.add(&b);
        assert_eq!(a.segment.get(&200), Some(&5));
        assert_eq!(a.master.get(&404), Some(&1));
    }
}
