//! One bench run: measure the idle process, start the clients (the first of each
//! channel cold, then the others joining running streams), collect, measure again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use acestream_sim::Introspection;
use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::cli::{Args, is_stalled};
use crate::client::{self, ClientOutcome, ClientSpec, TsTotals};
use crate::procfs::{Proc, clock_ticks};
use crate::report::{Failures, GIB, ProcessReport, Report, SimReport, TsReport};
use crate::sim::{SimProbe, live_sessions_for};
use crate::stats::{Summary, round3};
use crate::target::{Target, expand, mask_secrets, parse_loopback_url};

/// How often RSS is sampled: often enough to catch a peak, rare enough to cost
/// nothing.
const RSS_INTERVAL: Duration = Duration::from_millis(100);

/// Runs the bench described by `args` and returns its report.
pub async fn run(args: &Args) -> anyhow::Result<Report> {
    args.validate()?;
    let targets: Vec<Target> = args
        .ids
        .iter()
        .map(|id| parse_loopback_url(&expand(&args.url, id)))
        .collect::<anyhow::Result<_>>()?;
    let probe = args.sim.as_deref().map(SimProbe::new).transpose()?;
    let process = args.pid.map(Proc::new).transpose()?;
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
    let duration = Duration::from_secs_f64(args.duration);

    let t0 = Instant::now();
    let deadline = t0 + duration;
    let cpu0 = process.as_ref().map(Proc::cpu_ticks).transpose()?;
    let me_cpu0 = me.cpu_ticks().unwrap_or(0);
    let sampler = process
        .clone()
        .map(|p| tokio::spawn(sample_rss(p, rss_peak.clone(), deadline)));

    let spec = |index: usize, first_byte| {
        let channel = index % targets.len();
        ClientSpec {
            target: targets[channel].clone(),
            stalled: is_stalled(index, args.stall_fraction),
            cold: index < targets.len(),
            deadline,
            check_ts: !args.no_ts_check,
            first_byte,
        }
    };
    let ramp = Duration::from_millis(args.ramp_ms);
    let mut handles: Vec<JoinHandle<ClientOutcome>> = Vec::with_capacity(args.clients);

    // Phase 1: the first client of each channel, on a cold stream.
    let cold = args.clients.min(targets.len());
    let mut first_bytes = Vec::with_capacity(cold);
    for i in 0..cold {
        if i > 0
            && sleep_until_before(t0 + ramp * i as u32, deadline)
                .await
                .is_none()
        {
            break;
        }
        let (tx, rx) = oneshot::channel();
        first_bytes.push(rx);
        handles.push(tokio::spawn(client::run(spec(i, Some(tx)))));
    }
    // Wait until every channel runs (or failed), so the others really join
    // running streams.
    let cold_limit = (t0 + Duration::from_secs_f64(args.cold_wait)).min(deadline);
    for rx in first_bytes {
        let _ = tokio::time::timeout_at(cold_limit, rx).await;
    }

    // Phase 2: everybody else, spaced by the ramp.
    let t1 = Instant::now();
    for (k, i) in (cold..args.clients).enumerate() {
        if k > 0
            && sleep_until_before(t1 + ramp * k as u32, deadline)
                .await
                .is_none()
        {
            break;
        }
        handles.push(tokio::spawn(client::run(spec(i, None))));
    }

    let mut outcomes = Vec::with_capacity(handles.len());
    for h in handles {
        outcomes.push(h.await.context("a client task panicked")?);
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = process.as_ref().map(Proc::cpu_ticks).transpose();
    let me_cpu1 = me.cpu_ticks().unwrap_or(me_cpu0);
    if let Some(s) = sampler {
        s.abort();
    }

    let sim_after = match &probe {
        Some(p) => Some(
            p.state()
                .await
                .context("reading the simulator after the run")?,
        ),
        None => None,
    };
    let sim_settled = match &probe {
        Some(p) if args.settle > 0.0 => {
            tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
            Some(
                p.state()
                    .await
                    .context("reading the simulator after the settle")?,
            )
        }
        _ => None,
    };

    let mut report = summarise(args, &outcomes);
    report.bench_cpu_s = round3(me_cpu1.saturating_sub(me_cpu0) as f64 / clk_tck as f64);
    if let (Some(p), Some(base), Some(c0)) = (args.pid, rss_baseline, cpu0) {
        // The process may have exited during the run: report what was measured.
        let c1 = cpu1.ok().flatten().unwrap_or(c0);
        let cpu_s = c1.saturating_sub(c0) as f64 / clk_tck as f64;
        let peak = rss_peak.load(Ordering::Relaxed);
        let gib = report.bytes_total as f64 / GIB;
        report.process = Some(ProcessReport {
            pid: p,
            clk_tck,
            clk_tck_measured: clk_measured,
            cpu_s: round3(cpu_s),
            cpu_s_per_gib: (gib > 0.0).then(|| round3(cpu_s / gib)),
            cpu_pct: round3(cpu_s / elapsed * 100.0),
            rss_baseline_kib: base,
            rss_peak_kib: peak,
            rss_per_client_kib: round3(
                peak.saturating_sub(base) as f64 / report.clients_started.max(1) as f64,
            ),
        });
    }
    if let (Some(before), Some(after)) = (&sim_before, &sim_after) {
        report.cold_channels_already_live = Some(
            args.ids
                .iter()
                .filter(|id| live_sessions_for(before, id) > 0)
                .count(),
        );
        report.sim = Some(sim_report(before, after, sim_settled.as_ref(), args.settle));
    }
    Ok(report)
}

/// Sleeps until `at` unless that is past `deadline`; `None` when it is.
async fn sleep_until_before(at: Instant, deadline: Instant) -> Option<()> {
    if at >= deadline {
        return None;
    }
    sleep_until(at).await;
    Some(())
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

fn sim_report(
    before: &Introspection,
    after: &Introspection,
    settled: Option<&Introspection>,
    settle_s: f64,
) -> SimReport {
    SimReport {
        live_sessions_before: before.live_sessions().len(),
        sessions_opened: after.sessions.len().saturating_sub(before.sessions.len()),
        stop_calls: after.stop_calls.saturating_sub(before.stop_calls),
        playback_opens: after.playback_opens.saturating_sub(before.playback_opens),
        live_sessions_at_end: after.live_sessions().len(),
        settle_s,
        stop_calls_after_settle: settled.map(|s| s.stop_calls.saturating_sub(after.stop_calls)),
        sessions_opened_after_settle: settled
            .map(|s| s.sessions.len().saturating_sub(after.sessions.len())),
        live_sessions_after_settle: settled.map(|s| s.live_sessions().len()),
    }
}

/// Whether a healthy client was fully served, and why not.
fn judge(o: &ClientOutcome, args: &Args, f: &mut Failures) -> bool {
    let mut ok = true;
    if o.error.is_some() && !o.ended_early {
        f.errors += 1;
        ok = false;
    }
    if o.status != Some(200) {
        f.not_200 += 1;
        return false;
    }
    if o.first_byte_ms.is_none() {
        f.no_first_byte += 1;
        ok = false;
    }
    if o.ended_early {
        f.ended_early += 1;
        ok = false;
    }
    if let Some(ts) = &o.ts
        && !ts.contiguous()
    {
        f.not_contiguous += 1;
        ok = false;
    }
    if o.end_silence_ms
        .is_some_and(|s| s > args.end_silence_ms as f64)
    {
        f.silent_at_end += 1;
        ok = false;
    }
    ok
}

/// The client-side figures of the report.
fn summarise(args: &Args, outcomes: &[ClientOutcome]) -> Report {
    let healthy: Vec<&ClientOutcome> = outcomes.iter().filter(|o| !o.stalled).collect();
    let stalled: Vec<&ClientOutcome> = outcomes.iter().filter(|o| o.stalled).collect();
    let mut failures = Failures::default();
    let served = healthy
        .iter()
        .filter(|o| judge(o, args, &mut failures))
        .count();

    let mut statuses = BTreeMap::new();
    let mut errors_sample: Vec<String> = Vec::new();
    for o in outcomes {
        let key = o.status.map_or("none".to_string(), |s| s.to_string());
        *statuses.entry(key).or_insert(0) += 1;
        if let Some(e) = &o.error
            && errors_sample.len() < 5
            && !errors_sample.contains(e)
        {
            errors_sample.push(e.clone());
        }
    }

    let values = |pick: &dyn Fn(&ClientOutcome) -> Option<f64>, cold: Option<bool>| -> Vec<f64> {
        healthy
            .iter()
            .filter(|o| cold.is_none_or(|c| o.cold == c))
            .filter_map(|o| pick(o))
            .collect()
    };
    let cold = values(&|o| o.first_byte_ms, Some(true));
    let cold_minus = args.startup_delay_ms.map(|d| {
        let v: Vec<f64> = cold.iter().map(|x| x - d as f64).collect();
        Summary::of(&v)
    });
    let ts = (!args.no_ts_check).then(|| {
        let mut t = TsTotals::default();
        for o in &healthy {
            if let Some(x) = &o.ts {
                t.add(x);
            }
        }
        TsReport {
            packets: t.packets,
            gaps: t.gaps,
            gap_packets: t.gap_packets,
            duplicates_or_reorders: t.duplicates_or_reorders,
            sync_errors: t.sync_errors,
        }
    });
    let bytes_total: u64 = outcomes.iter().map(|o| o.bytes).sum();
    Report {
        label: args.label.clone(),
        url: mask_secrets(&args.url),
        channels: args.ids.len(),
        clients: args.clients,
        duration_s: args.duration,
        stall_fraction: args.stall_fraction,
        ramp_ms: args.ramp_ms,
        clients_started: outcomes.len(),
        clients_healthy: healthy.len(),
        clients_served: served,
        served_pct: round3(if healthy.is_empty() {
            0.0
        } else {
            served as f64 * 100.0 / healthy.len() as f64
        }),
        clients_stalled: stalled.len(),
        stalled_got_200: stalled.iter().filter(|o| o.status == Some(200)).count(),
        failures,
        statuses,
        errors_sample,
        connect_ms: Summary::of(&values(&|o| o.connect_ms, None)),
        first_byte_cold_ms: Summary::of(&cold),
        first_byte_cold_minus_startup_ms: cold_minus,
        cold_channels_already_live: None,
        first_byte_join_ms: Summary::of(&values(&|o| o.first_byte_ms, Some(false))),
        max_gap_ms: Summary::of(&values(&|o| o.max_gap_ms, None)),
        max_media_gap_ms: Summary::of(&values(&|o| o.max_media_gap_ms, None)),
        ts,
        bytes_total,
        throughput_gbps: round3(bytes_total as f64 * 8.0 / args.duration / 1e9),
        process: None,
        bench_cpu_s: 0.0,
        sim: None,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn args() -> Args {
        Args::try_parse_from(["b", "--url", "http://127.0.0.1/{id}", "--ids", "a"]).unwrap()
    }

    fn served() -> ClientOutcome {
        ClientOutcome {
            status: Some(200),
            first_byte_ms: Some(1.0),
            bytes: 1000,
            max_gap_ms: Some(20.0),
            end_silence_ms: Some(5.0),
            ts: Some(TsTotals {
                packets: 5,
                ..TsTotals::default()
            }),
            ..ClientOutcome::default()
        }
    }

    #[test]
    fn served_clients_and_failures_are_counted() {
        let mut gap = served();
        gap.ts = Some(TsTotals {
            packets: 5,
            gaps: 1,
            gap_packets: 38,
            ..TsTotals::default()
        });
        let mut refused = served();
        refused.status = Some(502);
        let mut stalled = served();
        stalled.stalled = true;
        let mut cold = served();
        cold.cold = true;
        cold.first_byte_ms = Some(520.0);
        let mut quiet = served();
        quiet.end_silence_ms = Some(3000.0);
        let r = summarise(&args(), &[cold, gap, refused, stalled, quiet]);
        assert_eq!(r.clients_started, 5);
        assert_eq!(r.clients_healthy, 4);
        assert_eq!(r.clients_stalled, 1);
        assert_eq!(r.stalled_got_200, 1);
        assert_eq!(r.clients_served, 1);
        assert_eq!(r.failures.not_contiguous, 1);
        assert_eq!(r.failures.not_200, 1);
        assert_eq!(r.failures.silent_at_end, 1);
        assert_eq!(r.first_byte_cold_ms.max, Some(520.0));
        assert_eq!(r.first_byte_join_ms.count, 3);
        assert_eq!(r.statuses.get("502"), Some(&1));
        assert_eq!(r.bytes_total, 5000);
    }
}
