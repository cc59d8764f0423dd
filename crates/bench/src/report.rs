//! The report: one JSON object (for scripts) and a table (for people).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

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
    o
}

/// Bytes in a GiB.
pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
