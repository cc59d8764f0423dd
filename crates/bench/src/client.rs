//! One simulated viewer: connect, GET, then read and check the stream until the
//! deadline (or, for a stalled client, read the head and never read again).

use std::time::Duration;

use acestream_sim::ts::TsChecker;
use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::http::{Framing, get_request, head_end, parse_head};
use crate::target::Target;

/// Read buffer per client. 64 KiB lets an unpaced stream move in large reads;
/// 1000 clients cost 64 MiB of the bench's memory, not the daemon's.
const READ_BUF: usize = 64 * 1024;

/// What one client is to do.
#[derive(Debug)]
pub struct ClientSpec {
    /// Where to GET.
    pub target: Target,
    /// Reads the head, then stops reading.
    pub stalled: bool,
    /// First client of its channel.
    pub cold: bool,
    /// When to stop.
    pub deadline: Instant,
    /// Check the simulator's sequence numbers.
    pub check_ts: bool,
    /// Told when the first body byte arrived (dropped unsent if it never does).
    pub first_byte: Option<oneshot::Sender<()>>,
}

/// Totals of the stream checker.
#[derive(Debug, Clone, Copy, Default)]
pub struct TsTotals {
    /// Complete packets.
    pub packets: u64,
    /// Forward jumps in the sequence.
    pub gaps: u64,
    /// Packets missing in those jumps.
    pub gap_packets: u64,
    /// Repeated or out-of-order packets.
    pub duplicates_or_reorders: u64,
    /// Bytes that were not a sync byte at a packet boundary.
    pub sync_errors: u64,
}

impl TsTotals {
    fn of(c: &TsChecker) -> Self {
        Self {
            packets: c.packets,
            gaps: c.gaps,
            gap_packets: c.gap_packets,
            duplicates_or_reorders: c.duplicates_or_reorders,
            sync_errors: c.sync_errors,
        }
    }

    /// Adds another client's totals.
    pub fn add(&mut self, o: &TsTotals) {
        self.packets += o.packets;
        self.gaps += o.gaps;
        self.gap_packets += o.gap_packets;
        self.duplicates_or_reorders += o.duplicates_or_reorders;
        self.sync_errors += o.sync_errors;
    }

    /// No gaps, duplicates or sync errors, and at least one packet.
    pub fn contiguous(&self) -> bool {
        self.packets > 0
            && self.gaps == 0
            && self.duplicates_or_reorders == 0
            && self.sync_errors == 0
    }
}

/// What happened to one client.
#[derive(Debug, Clone, Default)]
pub struct ClientOutcome {
    /// It was a stalled client.
    pub stalled: bool,
    /// It was the first client of its channel.
    pub cold: bool,
    /// TCP connect time, ms.
    pub connect_ms: Option<f64>,
    /// Response status.
    pub status: Option<u16>,
    /// Request sent → first body byte, ms.
    pub first_byte_ms: Option<f64>,
    /// Body bytes received.
    pub bytes: u64,
    /// Longest time between two reads with body bytes after the first one,
    /// including the silence from the last read to the deadline, ms.
    pub max_gap_ms: Option<f64>,
    /// Longest time between two reads that brought media (the simulator's data
    /// packets, not null-packet filler): what a viewer sees as a frozen picture,
    /// e.g. at a failover. Needs the stream check; ms.
    pub max_media_gap_ms: Option<f64>,
    /// Silence from the last body byte to the deadline, ms.
    pub end_silence_ms: Option<f64>,
    /// The body or the connection ended before the deadline.
    pub ended_early: bool,
    /// Checker totals (`None` without checking).
    pub ts: Option<TsTotals>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs one client to its deadline.
pub async fn run(mut spec: ClientSpec) -> ClientOutcome {
    let mut out = ClientOutcome {
        stalled: spec.stalled,
        cold: spec.cold,
        ..ClientOutcome::default()
    };
    if let Err(e) = drive(&mut spec, &mut out).await {
        out.error = Some(format!("{e:#}"));
    }
    out
}

async fn drive(spec: &mut ClientSpec, out: &mut ClientOutcome) -> anyhow::Result<()> {
    let deadline = spec.deadline;
    let t_connect = Instant::now();
    let mut stream = timeout_at(deadline, TcpStream::connect(spec.target.addr))
        .await
        .context("connect did not finish before the deadline")?
        .with_context(|| format!("connecting to {}", spec.target.addr))?;
    out.connect_ms = Some(ms(t_connect.elapsed()));
    stream.set_nodelay(true).ok();
    stream
        .write_all(get_request(&spec.target).as_bytes())
        .await
        .context("sending the request")?;
    let sent = Instant::now();

    let mut buf = vec![0u8; READ_BUF];
    let mut filled = 0;
    let head_len = loop {
        if let Some(end) = head_end(&buf[..filled]) {
            break end;
        }
        anyhow::ensure!(filled < crate::http::MAX_HEAD, "response head too large");
        let n = match timeout_at(deadline, stream.read(&mut buf[filled..])).await {
            Err(_) => anyhow::bail!("no response head before the deadline"),
            Ok(r) => r.context("reading the response head")?,
        };
        anyhow::ensure!(n > 0, "connection closed before the response head");
        filled += n;
    };
    let t_head = Instant::now();
    let head = parse_head(&buf[..head_len])?;
    out.status = Some(head.status);

    if spec.stalled {
        // Hold the connection open and never read: the daemon must cope.
        sleep_until(deadline).await;
        drop(stream);
        return Ok(());
    }
    if head.status != 200 {
        return Ok(());
    }

    let mut framing = Framing::of(&head);
    let mut checker = spec.check_ts.then(TsChecker::new);
    let mut meter = Meter::new(sent);
    let leftover = buf[head_len..filled].to_vec();
    let got = feed(&mut framing, &mut checker, &leftover)?;
    meter.note(t_head, got, spec);
    meter.media(t_head, checker.as_ref());

    let mut end_reason = None;
    if !framing.is_done() {
        loop {
            match timeout_at(deadline, stream.read(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(0)) => {
                    end_reason = Some("connection closed by the server before the deadline");
                    break;
                }
                Ok(Ok(n)) => {
                    let now = Instant::now();
                    let got = feed(&mut framing, &mut checker, &buf[..n])?;
                    meter.note(now, got, spec);
                    meter.media(now, checker.as_ref());
                    if framing.is_done() {
                        end_reason = Some("body ended before the deadline");
                        break;
                    }
                }
                Ok(Err(e)) => {
                    out.ended_early = true;
                    meter.finish(out, None, checker.as_ref());
                    return Err(e).context("reading the body");
                }
            }
        }
    } else {
        end_reason = Some("body ended before the deadline");
    }
    let ended_early = end_reason.is_some();
    out.ended_early = ended_early;
    meter.finish(out, (!ended_early).then_some(deadline), checker.as_ref());
    if let Some(reason) = end_reason {
        anyhow::bail!(reason);
    }
    Ok(())
}

fn feed(
    framing: &mut Framing,
    checker: &mut Option<TsChecker>,
    input: &[u8],
) -> anyhow::Result<usize> {
    match checker {
        Some(c) => framing.feed(input, |s| c.feed(s)),
        None => framing.feed(input, |_| {}),
    }
}

/// Timing of the body reads of one client.
struct Meter {
    sent: Instant,
    first: Option<Instant>,
    last: Option<Instant>,
    max_gap: Duration,
    bytes: u64,
    /// Media packets seen so far, and when the last ones came.
    media_packets: u64,
    last_media: Option<Instant>,
    max_media_gap: Duration,
}

impl Meter {
    fn new(sent: Instant) -> Self {
        Self {
            sent,
            first: None,
            last: None,
            max_gap: Duration::ZERO,
            bytes: 0,
            media_packets: 0,
            last_media: None,
            max_media_gap: Duration::ZERO,
        }
    }

    /// Notes media progress after a read (the checker counts data packets).
    fn media(&mut self, now: Instant, checker: Option<&TsChecker>) {
        let Some(c) = checker else { return };
        if c.data_packets > self.media_packets {
            if let Some(last) = self.last_media {
                self.max_media_gap = self.max_media_gap.max(now - last);
            }
            self.media_packets = c.data_packets;
            self.last_media = Some(now);
        }
    }

    fn note(&mut self, now: Instant, body_bytes: usize, spec: &mut ClientSpec) {
        if body_bytes == 0 {
            return;
        }
        match self.last {
            None => {
                self.first = Some(now);
                if let Some(tx) = spec.first_byte.take() {
                    let _ = tx.send(());
                }
            }
            Some(last) => self.max_gap = self.max_gap.max(now - last),
        }
        self.last = Some(now);
        self.bytes += body_bytes as u64;
    }

    /// Writes the figures into `out`; `reached` is the deadline when the client
    /// read until it (its final silence then counts as a gap).
    fn finish(
        &self,
        out: &mut ClientOutcome,
        reached: Option<Instant>,
        checker: Option<&TsChecker>,
    ) {
        out.bytes = self.bytes;
        out.ts = checker.map(TsTotals::of);
        let (Some(first), Some(last)) = (self.first, self.last) else {
            return;
        };
        out.first_byte_ms = Some(ms(first - self.sent));
        let mut gap = self.max_gap;
        if let Some(deadline) = reached {
            let silence = deadline.saturating_duration_since(last);
            out.end_silence_ms = Some(ms(silence));
            gap = gap.max(silence);
        }
        out.max_gap_ms = Some(ms(gap));
        if self.last_media.is_some() {
            out.max_media_gap_ms = Some(ms(self.max_media_gap));
        }
    }
}
