//! One HLS run: measure the idle process, start the first viewer on the cold
//! channel, then, once its first media playlist came, the others evenly staggered
//! over the first segment's duration (so they do not poll in lockstep); collect,
//! measure again.

use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout_at};

use crate::cli::HlsArgs;
use crate::hls_viewer::{self, Statuses, ViewerOutcome, ViewerSpec};
use crate::measure::Window;
use crate::procfs::Proc;
use crate::report::{HlsFailures, HlsProblems, HlsReport};
use crate::run::sleep_until_before;
use crate::sim::live_sessions_for;
use crate::stats::{Summary, round3};
use crate::target::{mask_secrets, parse_loopback_url};

/// The stagger when the first viewer got no playlist within `--cold-wait`.
const FALLBACK_STAGGER: Duration = Duration::from_secs(1);
/// Longest stagger taken from a segment duration (a bogus `#EXTINF` must not
/// spread the joins over the whole run).
const MAX_STAGGER_S: f64 = 60.0;

/// Runs the HLS bench described by `args` and returns its report.
pub async fn run(args: &HlsArgs) -> anyhow::Result<HlsReport> {
    args.validate()?;
    let master_url = args.master_url();
    // Refused here, before the window starts, rather than by every viewer.
    parse_loopback_url(&master_url)?;
    let duration = Duration::from_secs_f64(args.duration);
    let window = Window::start(args.pid, args.sim.as_deref(), duration).await?;
    let t0 = window.t0();
    let deadline = t0 + duration;
    let spec = |cold: bool, first_playlist| ViewerSpec {
        master_url: master_url.clone(),
        media_only: args.media_playlist,
        cold,
        deadline,
        request_timeout: Duration::from_secs_f64(args.request_timeout),
        first_playlist,
    };
    let mut handles: Vec<JoinHandle<ViewerOutcome>> = Vec::with_capacity(args.viewers);

    // Phase 1: the first viewer, on a channel that is not running.
    let (tx, rx) = oneshot::channel();
    handles.push(tokio::spawn(hls_viewer::run(spec(true, Some(tx)))));
    let cold_limit = (t0 + Duration::from_secs_f64(args.cold_wait)).min(deadline);
    let first_segment = match timeout_at(cold_limit, rx).await {
        Ok(Ok(d)) if d.is_finite() && d > 0.0 => Some(d.min(MAX_STAGGER_S)),
        _ => None,
    };
    let stagger = first_segment.map_or(FALLBACK_STAGGER, Duration::from_secs_f64);

    // Phase 2: the others, evenly over one segment duration.
    let others = args.viewers - 1;
    let t1 = Instant::now();
    for k in 0..others {
        let at = t1 + stagger.mul_f64(k as f64 / others as f64);
        if sleep_until_before(at, deadline).await.is_none() {
            break;
        }
        handles.push(tokio::spawn(hls_viewer::run(spec(false, None))));
    }

    let mut outcomes = Vec::with_capacity(handles.len());
    for h in handles {
        outcomes.push(h.await.context("a viewer task panicked")?);
    }
    let measured = window.finish(args.settle).await?;

    let mut report = summarise(args, &outcomes, stagger, first_segment.is_some());
    report.bench_cpu_s = measured.bench_cpu_s;
    report.bench_rss_peak_kib = Proc::myself().peak_rss_kib().ok();
    report.process = measured.process(report.bytes_total, report.viewers_started);
    if let (Some(before), Some(id)) = (&measured.sim_before, &args.content_id) {
        report.cold_channel_already_live = Some(live_sessions_for(before, id) > 0);
    }
    report.sim = measured.sim();
    Ok(report)
}

/// Whether a viewer was fully served, and why not.
fn judge(o: &ViewerOutcome, f: &mut HlsFailures) -> bool {
    let checks = [
        (o.first_playlist_ms.is_none(), &mut f.no_playlist),
        (o.segments == 0, &mut f.no_segment),
        (o.not_2xx > 0, &mut f.not_2xx),
        (o.bad_first_byte + o.out_of_sync > 0, &mut f.bad_segment),
        (o.sequence_backwards > 0, &mut f.sequence_backwards),
        (o.segments_missed > 0, &mut f.segments_missed),
        (o.request_errors > 0, &mut f.request_errors),
        (
            o.max_stale_ms
                .zip(o.stale_limit_ms())
                .is_some_and(|(stale, limit)| stale > limit),
            &mut f.stale,
        ),
        (o.ended, &mut f.ended),
    ];
    let mut ok = true;
    for (failed, count) in checks {
        if failed {
            *count += 1;
            ok = false;
        }
    }
    ok
}

/// The viewer-side figures of the report.
fn summarise(
    args: &HlsArgs,
    outcomes: &[ViewerOutcome],
    stagger: Duration,
    stagger_from_segment: bool,
) -> HlsReport {
    let mut failures = HlsFailures::default();
    let served = outcomes.iter().filter(|o| judge(o, &mut failures)).count();
    let mut problems = HlsProblems::default();
    let mut statuses = Statuses::default();
    let mut errors_sample: Vec<String> = Vec::new();
    let mut segment_ms: Vec<f64> = Vec::new();
    for o in outcomes {
        problems.not_2xx += o.not_2xx;
        problems.bad_first_byte += o.bad_first_byte;
        problems.out_of_sync += o.out_of_sync;
        problems.sequence_backwards += o.sequence_backwards;
        problems.segments_missed += o.segments_missed;
        problems.request_errors += o.request_errors;
        statuses.add(&o.statuses);
        segment_ms.extend_from_slice(&o.segment_ms);
        for e in &o.errors {
            if errors_sample.len() < 5 && !errors_sample.contains(e) {
                errors_sample.push(e.clone());
            }
        }
    }
    let values = |pick: &dyn Fn(&ViewerOutcome) -> Option<f64>, cold: Option<bool>| -> Vec<f64> {
        outcomes
            .iter()
            .filter(|o| cold.is_none_or(|c| o.cold == c))
            .filter_map(pick)
            .collect()
    };
    let sum = |pick: &dyn Fn(&ViewerOutcome) -> u64| -> u64 { outcomes.iter().map(pick).sum() };
    let segment_bytes = sum(&|o| o.segment_bytes);
    let playlist_bytes = sum(&|o| o.playlist_bytes);
    let bytes_total = segment_bytes + playlist_bytes;
    HlsReport {
        mode: "hls",
        label: args.label.clone(),
        url: mask_secrets(&args.url),
        media_playlist: args.media_playlist,
        viewers: args.viewers,
        duration_s: args.duration,
        stagger_s: round3(stagger.as_secs_f64()),
        stagger_from_segment,
        viewers_started: outcomes.len(),
        viewers_served: served,
        served_pct: round3(if outcomes.is_empty() {
            0.0
        } else {
            served as f64 * 100.0 / outcomes.len() as f64
        }),
        failures,
        problems,
        statuses,
        errors_sample,
        target_duration_s: outcomes.iter().filter_map(|o| o.target_duration_s).max(),
        cold_channel_already_live: None,
        master_ms: Summary::of(&values(&|o| o.master_ms, None)),
        first_playlist_cold_ms: Summary::of(&values(&|o| o.first_playlist_ms, Some(true))),
        first_playlist_warm_ms: Summary::of(&values(&|o| o.first_playlist_ms, Some(false))),
        segment_ms: Summary::of(&segment_ms),
        max_stale_ms: Summary::of(&values(&|o| o.max_stale_ms, None)),
        playlists: sum(&|o| o.playlists),
        playlists_unchanged: sum(&|o| o.playlists_unchanged),
        segments: sum(&|o| o.segments),
        connections: sum(&|o| o.connections),
        segment_bytes,
        playlist_bytes,
        bytes_total,
        throughput_gbps: round3(bytes_total as f64 * 8.0 / args.duration / 1e9),
        process: None,
        bench_cpu_s: 0.0,
        bench_rss_peak_kib: None,
        sim: None,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Mode};

    fn args() -> HlsArgs {
        let cli = Cli::try_parse_from([
            "b",
            "hls",
            "--url",
            "http://127.0.0.1:9/live/u/secret/{id}.m3u8",
            "--id",
            "3",
            "--viewers",
            "4",
        ])
        .unwrap();
        match cli.mode {
            Some(Mode::Hls(a)) => a,
            None => panic!("no hls mode"),
        }
    }

    #[tokio::test]
    async fn viewers_join_staggered_and_are_served_by_a_live_server() {
        let server = crate::fake_hls::start(
            Duration::from_millis(250),
            crate::fake_hls::Faults::default(),
        )
        .await;
        let url = server.master_url();
        let cli = Cli::try_parse_from([
            "b",
            "hls",
            "--url",
            url.as_str(),
            "--viewers",
            "5",
            "--duration",
            "2.5",
        ])
        .unwrap();
        let Some(Mode::Hls(args)) = cli.mode else {
            panic!("no hls mode")
        };
        let r = run(&args).await.unwrap();
        assert_eq!(r.viewers_started, 5);
        assert_eq!(
            r.viewers_served, 5,
            "{:?} {:?}",
            r.failures, r.errors_sample
        );
        assert!(r.stagger_from_segment);
        assert_eq!(r.stagger_s, 0.25);
        assert_eq!(r.first_playlist_cold_ms.count, 1);
        assert_eq!(r.first_playlist_warm_ms.count, 4);
        assert_eq!(r.connections, 5);
        assert!(r.bench_rss_peak_kib.is_some());
        assert_eq!(r.bytes_total, r.segment_bytes + r.playlist_bytes);
    }

    fn served() -> ViewerOutcome {
        let mut o = ViewerOutcome {
            master_ms: Some(1.0),
            first_playlist_ms: Some(3.0),
            target_duration_s: Some(2),
            playlists: 10,
            segments: 5,
            segment_bytes: 188 * 1000,
            playlist_bytes: 300,
            segment_ms: vec![4.0; 5],
            connections: 1,
            max_stale_ms: Some(2500.0),
            ..ViewerOutcome::default()
        };
        o.statuses.segment.insert(200, 5);
        o
    }

    #[test]
    fn served_viewers_and_failures_are_counted() {
        let mut cold = served();
        cold.cold = true;
        cold.first_playlist_ms = Some(2500.0);
        let mut refused = served();
        refused.not_2xx = 1;
        refused.statuses.segment.insert(404, 1);
        refused.errors = vec!["GET /hls/***/7.ts answered 404: gone".into()];
        let mut not_ts = served();
        not_ts.bad_first_byte = 1;
        let mut backwards = served();
        backwards.sequence_backwards = 1;
        // 3 targets of 2 s is the limit.
        let mut stale = served();
        stale.max_stale_ms = Some(6001.0);
        let mut just_in_time = served();
        just_in_time.max_stale_ms = Some(6000.0);
        let nothing = ViewerOutcome {
            request_errors: 1,
            ..ViewerOutcome::default()
        };
        let r = summarise(
            &args(),
            &[
                cold,
                refused,
                not_ts,
                backwards,
                stale,
                just_in_time,
                nothing,
            ],
            Duration::from_millis(2000),
            true,
        );
        assert_eq!(r.mode, "hls");
        assert_eq!(r.url, "http://127.0.0.1:9/live/u/***/{id}.m3u8");
        assert_eq!(r.viewers_started, 7);
        assert_eq!(r.viewers_served, 2);
        assert_eq!(r.failures.not_2xx, 1);
        assert_eq!(r.failures.bad_segment, 1);
        assert_eq!(r.failures.sequence_backwards, 1);
        assert_eq!(r.failures.stale, 1);
        assert_eq!(r.failures.no_playlist, 1);
        assert_eq!(r.failures.no_segment, 1);
        assert_eq!(r.failures.request_errors, 1);
        assert_eq!(r.problems.not_2xx, 1);
        assert_eq!(r.statuses.segment.get(&200), Some(&30));
        assert_eq!(r.statuses.segment.get(&404), Some(&1));
        assert_eq!(r.errors_sample.len(), 1);
        assert_eq!(r.first_playlist_cold_ms.count, 1);
        assert_eq!(r.first_playlist_cold_ms.max, Some(2500.0));
        assert_eq!(r.first_playlist_warm_ms.count, 5);
        assert_eq!(r.first_playlist_warm_ms.p50, Some(3.0));
        assert_eq!(r.segment_ms.count, 30);
        assert_eq!(r.segments, 30);
        assert_eq!(r.bytes_total, 6 * (188 * 1000 + 300));
        assert_eq!(r.stagger_s, 2.0);
        assert_eq!(r.target_duration_s, Some(2));
    }
}
