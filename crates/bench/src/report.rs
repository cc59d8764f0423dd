//! The report: one JSON object (for scripts) and a table (for people).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::hls_viewer::Statuses;
use crate::stats::Summary;

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `--label`.
    pub label: String,
    /// The URL template, credentials masked.
    pub url: String,
    /// Number of channels.
    pub channels: usize,
    /// Clients asked for.
    pub clients: usize,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// `--stall-fraction`.
    pub stall_fraction: f64,
    /// `--ramp-ms`.
    pub ramp_ms: u64,
    /// Clients that were started before the deadline.
    pub clients_started: usize,
    /// Started clients that read normally (not stalled).
    pub clients_healthy: usize,
    /// Healthy clients fully served: 200, bytes until the deadline, contiguous stream.
    pub clients_served: usize,
    /// `clients_served` / `clients_healthy`, percent.
    pub served_pct: f64,
    /// Stalled clients started.
    pub clients_stalled: usize,
    /// Stalled clients that got a 200 head.
    pub stalled_got_200: usize,
    /// Why healthy clients were not served (a client may count in several).
    pub failures: Failures,
    /// Response statuses of all started clients (`"none"`: no head).
    pub statuses: BTreeMap<String, usize>,
    /// Up to 5 distinct error messages.
    pub errors_sample: Vec<String>,
    /// TCP connect time of healthy clients, ms.
    pub connect_ms: Summary,
    /// First body byte of the first client of each channel, ms after its request.
    pub first_byte_cold_ms: Summary,
    /// The same minus `--startup-delay-ms`, when given.
    pub first_byte_cold_minus_startup_ms: Option<Summary>,
    /// Channels that already had a live engine session before the run (their
    /// "cold" client was not cold), from `/sim/state`.
    pub cold_channels_already_live: Option<usize>,
    /// First body byte of healthy clients joining a running stream, ms.
    pub first_byte_join_ms: Summary,
    /// Per healthy client, its longest time without data after its first byte
    /// (silence up to the deadline included), ms.
    pub max_gap_ms: Summary,
    /// Per healthy client, its longest time without media (null-packet filler
    /// does not count): the viewer-visible gap of a failover, ms.
    pub max_media_gap_ms: Summary,
    /// Stream checker totals over healthy clients (`None` with --no-ts-check).
    pub ts: Option<TsReport>,
    /// Body bytes received by all clients.
    pub bytes_total: u64,
    /// Delivered throughput, Gbit/s, over the window.
    pub throughput_gbps: f64,
    /// The measured process (`--pid`).
    pub process: Option<ProcessReport>,
    /// CPU seconds the bench itself used (it shares the machine).
    pub bench_cpu_s: f64,
    /// Engine sessions (`--sim`).
    pub sim: Option<SimReport>,
}

/// Counts of the reasons healthy clients were not served.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Failures {
    /// Connect, I/O or protocol error.
    pub errors: usize,
    /// Status other than 200 (or no head).
    pub not_200: usize,
    /// 200 but not one body byte.
    pub no_first_byte: usize,
    /// The body or connection ended before the deadline.
    pub ended_early: usize,
    /// Gaps, duplicates or sync errors in the stream.
    pub not_contiguous: usize,
    /// No data during the last `--end-silence-ms` before the deadline.
    pub silent_at_end: usize,
}

/// Stream checker totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TsReport {
    /// Complete packets.
    pub packets: u64,
    /// Forward jumps in the sequence.
    pub gaps: u64,
    /// Packets missing in those jumps.
    pub gap_packets: u64,
    /// Repeated or out-of-order packets.
    pub duplicates_or_reorders: u64,
    /// Bytes out of packet sync.
    pub sync_errors: u64,
}

/// CPU and memory of the measured process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessReport {
    /// Its id.
    pub pid: u32,
    /// Clock ticks per second used to convert `/proc/<pid>/stat`.
    pub clk_tck: u64,
    /// Whether `clk_tck` came from `getconf CLK_TCK` (else assumed 100).
    pub clk_tck_measured: bool,
    /// User + system CPU seconds used during the window.
    pub cpu_s: f64,
    /// `cpu_s` per GiB delivered.
    pub cpu_s_per_gib: Option<f64>,
    /// Average CPU use during the window, percent of one core.
    pub cpu_pct: f64,
    /// VmRSS before the first client connected, KiB.
    pub rss_baseline_kib: u64,
    /// Highest VmRSS sampled every 100 ms during the window, KiB.
    pub rss_peak_kib: u64,
    /// (peak − baseline) / clients started, KiB.
    pub rss_per_client_kib: f64,
}

/// Engine-session deltas from the simulator.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    /// Live sessions before the run.
    pub live_sessions_before: usize,
    /// Sessions created during the run.
    pub sessions_opened: usize,
    /// Stop commands received during the run.
    pub stop_calls: u64,
    /// Playback opens during the run.
    pub playback_opens: u64,
    /// Live sessions right after the clients closed.
    pub live_sessions_at_end: usize,
    /// Seconds waited after the run (`--settle`).
    pub settle_s: f64,
    /// Stop commands received from the end of the run to the end of the settle.
    pub stop_calls_after_settle: Option<u64>,
    /// Sessions created during the settle (should be 0).
    pub sessions_opened_after_settle: Option<usize>,
    /// Live sessions after the settle.
    pub live_sessions_after_settle: Option<usize>,
}

fn opt(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.3}"))
}

fn summary_row(out: &mut String, name: &str, s: &Summary) {
    let _ = writeln!(
        out,
        "  {name:<34} n={:<5} p50={:>10} p99={:>10} max={:>10}",
        s.count,
        opt(s.p50),
        opt(s.p99),
        opt(s.max)
    );
}

/// The human-readable table.
pub fn table(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "== acextream-bench {} ==", r.label);
    let _ = writeln!(o, "  url                                {}", r.url);
    let _ = writeln!(
        o,
        "  channels × clients                 {} × {} for {:.1} s (stall {:.0} %, ramp {} ms)",
        r.channels,
        r.clients,
        r.duration_s,
        r.stall_fraction * 100.0,
        r.ramp_ms
    );
    let _ = writeln!(
        o,
        "  started / healthy / served         {} / {} / {} ({:.1} %)",
        r.clients_started, r.clients_healthy, r.clients_served, r.served_pct
    );
    let _ = writeln!(
        o,
        "  stalled (got 200)                  {} ({})",
        r.clients_stalled, r.stalled_got_200
    );
    let f = &r.failures;
    let _ = writeln!(
        o,
        "  failures                           errors {} · not 200 {} · no byte {} · ended early {} · not contiguous {} · silent at end {}",
        f.errors, f.not_200, f.no_first_byte, f.ended_early, f.not_contiguous, f.silent_at_end
    );
    let _ = writeln!(o, "  statuses                           {:?}", r.statuses);
    for e in &r.errors_sample {
        let _ = writeln!(o, "  error                              {e}");
    }
    let _ = writeln!(o, "  latencies (ms)");
    summary_row(&mut o, "connect", &r.connect_ms);
    summary_row(&mut o, "first byte, cold", &r.first_byte_cold_ms);
    if let Some(s) = &r.first_byte_cold_minus_startup_ms {
        summary_row(&mut o, "first byte, cold − startup delay", s);
    }
    summary_row(&mut o, "first byte, joining", &r.first_byte_join_ms);
    summary_row(&mut o, "max gap per healthy client", &r.max_gap_ms);
    summary_row(
        &mut o,
        "max media gap per healthy client",
        &r.max_media_gap_ms,
    );
    if let Some(ts) = &r.ts {
        let _ = writeln!(
            o,
            "  ts                                 packets {} · gaps {} ({} pkts) · dups {} · sync errors {}",
            ts.packets, ts.gaps, ts.gap_packets, ts.duplicates_or_reorders, ts.sync_errors
        );
    }
    let _ = writeln!(
        o,
        "  delivered                          {:.3} GiB · {:.3} Gbit/s",
        r.bytes_total as f64 / GIB,
        r.throughput_gbps
    );
    if let Some(p) = &r.process {
        let _ = writeln!(
            o,
            "  process {:<26} cpu {:.2} s ({:.0} %) · {} CPU-s/GiB",
            p.pid,
            p.cpu_s,
            p.cpu_pct,
            opt(p.cpu_s_per_gib)
        );
        let _ = writeln!(
            o,
            "  rss                                baseline {} KiB · peak {} KiB · {:.1} KiB/client",
            p.rss_baseline_kib, p.rss_peak_kib, p.rss_per_client_kib
        );
    }
    let _ = writeln!(
        o,
        "  bench cpu                          {:.2} s",
        r.bench_cpu_s
    );
    if let Some(s) = &r.sim {
        sim_rows(&mut o, s);
    }
    o
}

fn sim_rows(o: &mut String, s: &SimReport) {
    let _ = writeln!(
        o,
        "  engine                             opened {} · stops {} · playback opens {} · live before {} · at end {}",
        s.sessions_opened,
        s.stop_calls,
        s.playback_opens,
        s.live_sessions_before,
        s.live_sessions_at_end
    );
    if let Some(stops) = s.stop_calls_after_settle {
        let _ = writeln!(
            o,
            "  after {:.1} s settle                 stops {} · opened {} · live {}",
            s.settle_s,
            stops,
            s.sessions_opened_after_settle.unwrap_or(0),
            s.live_sessions_after_settle.unwrap_or(0)
        );
    }
}

/// Everything one HLS run measured.
#[derive(Debug, Clone, Serialize)]
pub struct HlsReport {
    /// Always `"hls"`: tells this report from the MPEG-TS one.
    pub mode: &'static str,
    /// `--label`.
    pub label: String,
    /// The master playlist's URL, credentials masked.
    pub url: String,
    /// `--media-playlist`: the URL was a media playlist, there was no master step.
    pub media_playlist: bool,
    /// Viewers asked for.
    pub viewers: usize,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// The viewers after the first joined evenly spread over this many seconds,
    /// from the first viewer's first media playlist on, so they do not poll in
    /// lockstep: the duration of the first segment listed.
    pub stagger_s: f64,
    /// Whether `stagger_s` is that segment's duration (false: the first viewer got
    /// no playlist within `--cold-wait`, and a 1 s fallback was used).
    pub stagger_from_segment: bool,
    /// Viewers started before the deadline.
    pub viewers_started: usize,
    /// Viewers fully served: a media playlist, at least one segment, every answer
    /// 2xx, every segment MPEG-TS, no media sequence going backwards, no segment
    /// missed, no request error, and never longer without a new segment than 3
    /// target durations (the buffer a player starting 3 targets from the end has).
    pub viewers_served: usize,
    /// `viewers_served` / `viewers_started`, percent.
    pub served_pct: f64,
    /// Why viewers were not served (a viewer may count in several).
    pub failures: HlsFailures,
    /// Totals of what went wrong, over all viewers.
    pub problems: HlsProblems,
    /// Answers by status, per kind of request.
    pub statuses: Statuses,
    /// Up to 5 distinct error messages.
    pub errors_sample: Vec<String>,
    /// The largest target duration seen, seconds.
    pub target_duration_s: Option<u64>,
    /// Whether the channel already had a live engine session before the run (the
    /// "cold" viewer then was not cold); needs `--sim` and `--content-id`.
    pub cold_channel_already_live: Option<bool>,
    /// Master request → master playlist, all viewers, ms.
    pub master_ms: Summary,
    /// First request (the master's, or the media playlist's with
    /// `--media-playlist`) → first media playlist listing a segment, of the first
    /// viewer (the channel not running), ms.
    pub first_playlist_cold_ms: Summary,
    /// The same for the other viewers, the channel running, ms.
    pub first_playlist_warm_ms: Summary,
    /// Segment request → its last byte, every complete segment, ms.
    pub segment_ms: Summary,
    /// Per viewer, its longest time without a new segment, ms.
    pub max_stale_ms: Summary,
    /// Media playlists loaded.
    pub playlists: u64,
    /// Of those, reloads that found the playlist unchanged.
    pub playlists_unchanged: u64,
    /// Segments fetched completely with a 2xx answer.
    pub segments: u64,
    /// TCP connections opened (viewers keep theirs alive between requests).
    pub connections: u64,
    /// Segment body bytes.
    pub segment_bytes: u64,
    /// Playlist body bytes.
    pub playlist_bytes: u64,
    /// All body bytes: the "delivered" of CPU-s per GiB.
    pub bytes_total: u64,
    /// Delivered throughput, Gbit/s, over the window.
    pub throughput_gbps: f64,
    /// The measured process (`--pid`); per-client figures are per viewer.
    pub process: Option<ProcessReport>,
    /// CPU seconds the bench itself used (it shares the machine).
    pub bench_cpu_s: f64,
    /// The bench's own peak RSS (VmHWM), KiB.
    pub bench_rss_peak_kib: Option<u64>,
    /// Engine sessions (`--sim`).
    pub sim: Option<SimReport>,
}

/// Viewers not served, per reason.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HlsFailures {
    /// No media playlist listing a segment before the deadline.
    pub no_playlist: usize,
    /// Not one segment fetched.
    pub no_segment: usize,
    /// At least one answer that was not 2xx.
    pub not_2xx: usize,
    /// At least one segment that is not MPEG-TS or out of packet sync.
    pub bad_segment: usize,
    /// The media sequence went backwards at least once.
    pub sequence_backwards: usize,
    /// Segments left the playlist before the viewer fetched them.
    pub segments_missed: usize,
    /// Connect, I/O, timeout or parse errors.
    pub request_errors: usize,
    /// Longer than 3 target durations without a new segment.
    pub stale: usize,
    /// The playlist ended (`#EXT-X-ENDLIST`) before the deadline.
    pub ended: usize,
}

/// Totals over all viewers.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HlsProblems {
    /// Answers that were not 2xx.
    pub not_2xx: u64,
    /// Segments that were empty or whose first byte is not 0x47.
    pub bad_first_byte: u64,
    /// Segments with later packets out of sync or a partial last packet.
    pub out_of_sync: u64,
    /// Reloads whose media sequence went backwards.
    pub sequence_backwards: u64,
    /// Segments missed.
    pub segments_missed: u64,
    /// Request errors.
    pub request_errors: u64,
}

/// The human-readable table of an HLS run.
pub fn hls_table(r: &HlsReport) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "== acextream-bench hls {} ==", r.label);
    let _ = writeln!(
        o,
        "  url                                {}{}",
        r.url,
        if r.media_playlist {
            " (a media playlist, no master)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        o,
        "  viewers                            {} for {:.1} s, joining over {:.3} s{}",
        r.viewers,
        r.duration_s,
        r.stagger_s,
        if r.stagger_from_segment {
            " (the first segment's duration)"
        } else {
            " (fallback: no first playlist in time)"
        }
    );
    let _ = writeln!(
        o,
        "  started / served                   {} / {} ({:.1} %)",
        r.viewers_started, r.viewers_served, r.served_pct
    );
    let f = &r.failures;
    let _ = writeln!(
        o,
        "  failures                           no playlist {} · no segment {} · not 2xx {} · bad segment {} · backwards {} · missed {} · errors {} · stale {} · ended {}",
        f.no_playlist,
        f.no_segment,
        f.not_2xx,
        f.bad_segment,
        f.sequence_backwards,
        f.segments_missed,
        f.request_errors,
        f.stale,
        f.ended
    );
    let _ = writeln!(
        o,
        "  statuses                           master {:?} · playlist {:?} · segment {:?}",
        r.statuses.master, r.statuses.playlist, r.statuses.segment
    );
    for e in &r.errors_sample {
        let _ = writeln!(o, "  error                              {e}");
    }
    if let Some(live) = r.cold_channel_already_live {
        let _ = writeln!(
            o,
            "  channel live before the run        {}",
            if live { "yes (not a cold start)" } else { "no" }
        );
    }
    let _ = writeln!(o, "  latencies (ms)");
    summary_row(&mut o, "master playlist", &r.master_ms);
    summary_row(&mut o, "first playlist, cold", &r.first_playlist_cold_ms);
    summary_row(&mut o, "first playlist, warm", &r.first_playlist_warm_ms);
    summary_row(&mut o, "segment", &r.segment_ms);
    summary_row(&mut o, "max stale per viewer", &r.max_stale_ms);
    let _ = writeln!(
        o,
        "  requests                           target {} s · playlists {} ({} unchanged) · segments {} · connections {}",
        r.target_duration_s.map_or("-".into(), |t| t.to_string()),
        r.playlists,
        r.playlists_unchanged,
        r.segments,
        r.connections
    );
    let _ = writeln!(
        o,
        "  delivered                          {:.3} GiB ({} playlist bytes) · {:.3} Gbit/s",
        r.bytes_total as f64 / GIB,
        r.playlist_bytes,
        r.throughput_gbps
    );
    if let Some(p) = &r.process {
        let _ = writeln!(
            o,
            "  process {:<26} cpu {:.2} s ({:.0} %) · {} CPU-s/GiB",
            p.pid,
            p.cpu_s,
            p.cpu_pct,
            opt(p.cpu_s_per_gib)
        );
        let _ = writeln!(
            o,
            "  rss                                baseline {} KiB · peak {} KiB · {:.1} KiB/viewer",
            p.rss_baseline_kib, p.rss_peak_kib, p.rss_per_client_kib
        );
    }
    let _ = writeln!(
        o,
        "  bench                              cpu {:.2} s · peak rss {} KiB",
        r.bench_cpu_s,
        r.bench_rss_peak_kib.map_or("-".into(), |k| k.to_string())
    );
    if let Some(s) = &r.sim {
        sim_rows(&mut o, s);
    }
    o
}

/// Bytes in a GiB.
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
