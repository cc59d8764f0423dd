//! One bench run: measure the idle process, start the clients (the first of each
//! channel cold, then the others joining running streams), collect, measure again.

use std::collections::BTreeMap;
use std::time::Duration;

use acestream_sim::Introspection;
use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use crate::cli::{Args, is_stalled};
use crate::client::{self, ClientOutcome, ClientSpec, TsTotals};
use crate::measure::Window;
use crate::report::{Failures, Report, TsReport};
use crate::sim::live_sessions_for;
use crate::stats::{Summary, round3};
use crate::target::{Target, expand, mask_secrets, parse_loopback_url};

/// Runs the bench described by `args` and returns its report.
pub async fn run(args: &Args) -> anyhow::Result<Report> {
    args.validate()?;
    let targets: Vec<Target> = args
        .ids
        .iter()
        .map(|id| parse_loopback_url(&expand(&args.url, id)))
        .collect::<anyhow::Result<_>>()?;
    let duration = Duration::from_secs_f64(args.duration);
    let window = Window::start(args.pid, args.sim.as_deref(), duration).await?;
    let t0 = window.t0();
    let deadline = t0 + duration;

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
    let measured = window.finish(args.settle).await?;

    let mut report = summarise(args, &outcomes);
    report.bench_cpu_s = measured.bench_cpu_s;
    report.process = measured.process(report.bytes_total, report.clients_started);
    if let Some(before) = &measured.sim_before {
        report.cold_channels_already_live = Some(cold_already_live(before, &args.ids));
    }
    report.sim = measured.sim();
    Ok(report)
}

/// How many of the channels had a live engine session before the run.
fn cold_already_live(before: &Introspection, ids: &[String]) -> usize {
    ids.iter()
        .filter(|id| live_sessions_for(before, id) > 0)
        .count()
}

/// Sleeps until `at` unless that is past `deadline`; `None` when it is.
pub async fn sleep_until_before(at: Instant, deadline: Instant) -> Option<()> {
    if at >= deadline {
        return None;
    }
    sleep_until(at).await;
    Some(())
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
