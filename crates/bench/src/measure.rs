//! What every run measures around its clients, the same way for MPEG-TS and HLS:
//! the daemon's CPU time (`/proc/<pid>/stat`) and RSS (sampled), the bench's own
//! CPU, and the simulator's engine sessions before, after and after a settle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use acestream_sim::Introspection;
use anyhow::Context as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::procfs::{Proc, clock_ticks};
use crate::report::{GIB, ProcessReport, SimReport};
use crate::sim::SimProbe;
use crate::stats::round3;

/// How often RSS is sampled: often enough to catch a peak, rare enough to cost
/// nothing.
const RSS_INTERVAL: Duration = Duration::from_millis(100);

/// The measurements of a window that has started.
pub struct Window {
    pid: Option<u32>,
    process: Option<Proc>,
    me: Proc,
    clk_tck: u64,
    clk_measured: bool,
    probe: Option<SimProbe>,
    sim_before: Option<Introspection>,
    rss_baseline: Option<u64>,
    rss_peak: Arc<AtomicU64>,
    t0: Instant,
    cpu0: Option<u64>,
    me_cpu0: u64,
    sampler: Option<JoinHandle<()>>,
}

/// What a finished window measured.
pub struct Measured {
    /// Seconds from the start of the window to the end of the clients.
    pub elapsed_s: f64,
    /// CPU seconds the bench used.
    pub bench_cpu_s: f64,
    pid: Option<u32>,
    clk_tck: u64,
    clk_measured: bool,
    cpu_s: Option<f64>,
    rss_baseline: Option<u64>,
    rss_peak: u64,
    /// `/sim/state` before the clients started.
    pub sim_before: Option<Introspection>,
    sim_after: Option<Introspection>,
    sim_settled: Option<Introspection>,
    settle_s: f64,
}

impl Window {
    /// Checks the process and the simulator, reads the idle figures and starts the
    /// RSS sampler; the window lasts `duration` from now.
    pub async fn start(
        pid: Option<u32>,
        sim: Option<&str>,
        duration: Duration,
    ) -> anyhow::Result<Self> {
        let probe = sim.map(SimProbe::new).transpose()?;
        let process = pid.map(Proc::new).transpose()?;
        let me = Proc::myself();
        let (clk_tck, clk_measured) = clock_ticks();
        let sim_before = match &probe {
            Some(p) => Some(
                p.state()
                    .await
                    .context("reading the simulator before the run")?,
            ),
            None => None,
        };
        let rss_baseline = process.as_ref().map(Proc::rss_kib).transpose()?;
        let rss_peak = Arc::new(AtomicU64::new(rss_baseline.unwrap_or(0)));
        let t0 = Instant::now();
        let deadline = t0 + duration;
        let cpu0 = process.as_ref().map(Proc::cpu_ticks).transpose()?;
        let me_cpu0 = me.cpu_ticks().unwrap_or(0);
        let sampler = process
            .clone()
            .map(|p| tokio::spawn(sample_rss(p, rss_peak.clone(), deadline)));
        Ok(Self {
            pid,
            process,
            me,
            clk_tck,
            clk_measured,
            probe,
            sim_before,
            rss_baseline,
            rss_peak,
            t0,
            cpu0,
            me_cpu0,
            sampler,
        })
    }

    /// When the window started.
    pub fn t0(&self) -> Instant {
        self.t0
    }

    /// Call when the clients are done: reads the CPU times at once, then the
    /// simulator, and after `settle_s` (if > 0) the simulator again.
    pub async fn finish(self, settle_s: f64) -> anyhow::Result<Measured> {
        let elapsed_s = self.t0.elapsed().as_secs_f64();
        let cpu1 = self.process.as_ref().map(Proc::cpu_ticks).transpose();
        let me_cpu1 = self.me.cpu_ticks().unwrap_or(self.me_cpu0);
        if let Some(s) = &self.sampler {
            s.abort();
        }
        let cpu_s = self.cpu0.map(|c0| {
            // The process may have exited during the run: report what was measured.
            let c1 = cpu1.ok().flatten().unwrap_or(c0);
            c1.saturating_sub(c0) as f64 / self.clk_tck as f64
        });
        let sim_after = match &self.probe {
            Some(p) => Some(
                p.state()
                    .await
                    .context("reading the simulator after the run")?,
            ),
            None => None,
        };
        let sim_settled = match &self.probe {
            Some(p) if settle_s > 0.0 => {
                tokio::time::sleep(Duration::from_secs_f64(settle_s)).await;
                Some(
                    p.state()
                        .await
                        .context("reading the simulator after the settle")?,
                )
            }
            _ => None,
        };
        Ok(Measured {
            elapsed_s,
            bench_cpu_s: round3(me_cpu1.saturating_sub(self.me_cpu0) as f64 / self.clk_tck as f64),
            pid: self.pid,
            clk_tck: self.clk_tck,
            clk_measured: self.clk_measured,
            cpu_s,
            rss_baseline: self.rss_baseline,
            rss_peak: self.rss_peak.load(Ordering::Relaxed),
            sim_before: self.sim_before,
            sim_after,
            sim_settled,
            settle_s,
        })
    }
}

impl Measured {
    /// The daemon's figures (`None` without `--pid`), per GiB of `bytes_total` and
    /// per one of `clients` started.
    pub fn process(&self, bytes_total: u64, clients: usize) -> Option<ProcessReport> {
        let (Some(pid), Some(base), Some(cpu_s)) = (self.pid, self.rss_baseline, self.cpu_s) else {
            return None;
        };
        let gib = bytes_total as f64 / GIB;
        let peak = self.rss_peak;
        Some(ProcessReport {
            pid,
            clk_tck: self.clk_tck,
            clk_tck_measured: self.clk_measured,
            cpu_s: round3(cpu_s),
            cpu_s_per_gib: (gib > 0.0).then(|| round3(cpu_s / gib)),
            cpu_pct: round3(cpu_s / self.elapsed_s * 100.0),
            rss_baseline_kib: base,
            rss_peak_kib: peak,
            rss_per_client_kib: round3(peak.saturating_sub(base) as f64 / clients.max(1) as f64),
        })
    }

    /// The engine-session deltas (`None` without `--sim`).
    pub fn sim(&self) -> Option<SimReport> {
        let (Some(before), Some(after)) = (&self.sim_before, &self.sim_after) else {
            return None;
        };
        let settled = self.sim_settled.as_ref();
        Some(SimReport {
            live_sessions_before: before.live_sessions().len(),
            sessions_opened: after.sessions.len().saturating_sub(before.sessions.len()),
            stop_calls: after.stop_calls.saturating_sub(before.stop_calls),
            playback_opens: after.playback_opens.saturating_sub(before.playback_opens),
            live_sessions_at_end: after.live_sessions().len(),
            settle_s: self.settle_s,
            stop_calls_after_settle: settled.map(|s| s.stop_calls.saturating_sub(after.stop_calls)),
            sessions_opened_after_settle: settled
                .map(|s| s.sessions.len().saturating_sub(after.sessions.len())),
            live_sessions_after_settle: settled.map(|s| s.live_sessions().len()),
        })
    }
}

/// Samples the process's RSS into `peak` until `deadline`.
async fn sample_rss(p: Proc, peak: Arc<AtomicU64>, deadline: Instant) {
    let mut tick = tokio::time::interval(RSS_INTERVAL);
    while Instant::now() < deadline {
        tick.tick().await;
        match p.rss_kib() {
            Ok(kib) => {
                peak.fetch_max(kib, Ordering::Relaxed);
            }
            Err(_) => return,
        }
    }
}
