//! `GET /api/stats/history`: viewers and egress over the last hour, for the
//! overview's chart.
//!
//! A sampler asks the multiplexer for its streams every [`INTERVAL`] and keeps the
//! last [`CAPACITY`] samples in memory (an hour; nothing is stored: a restart
//! starts a new hour). It is started lazily, by the first overview page or call
//! of this endpoint, so the daemon needs no wiring for it: the chart fills from
//! the first visit on. One process serves one gateway, so there is one history.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// Time between two samples.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// Samples kept: an hour of them.
pub const CAPACITY: usize = 360;

/// Registers `/api/stats/history`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stats/history").route(web::get().to(history)));
}

/// One point of the chart. `None` where the multiplexer did not answer (a gap in
/// the chart, not a drop to zero).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// When it was taken, epoch seconds.
    pub t: i64,
    /// Players watching (TS and HLS).
    pub viewers: Option<u64>,
    /// Of them, HLS players (0 before the multiplexer reports them apart).
    pub hls_viewers: Option<u64>,
    /// Bits per second sent to players since the previous sample.
    pub egress_bps: Option<f64>,
}

/// What one answer of `/ace/streams` says, for a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The sum of the streams' `clients`.
    pub viewers: u64,
    /// The sum of the streams' `hls_viewers`.
    pub hls_viewers: u64,
    /// The multiplexer's `metrics.bytes_out` counter.
    pub bytes_out: u64,
}

impl Reading {
    /// Reads `{streams: [...], metrics: {bytes_out}}`; `None` without a counter.
    pub fn of(all: &Value) -> Option<Reading> {
        let streams = all["streams"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let sum = |key: &str| streams.iter().filter_map(|s| s[key].as_u64()).sum();
        Some(Reading {
            viewers: sum("clients"),
            hls_viewers: sum("hls_viewers"),
            bytes_out: all["metrics"]["bytes_out"].as_u64()?,
        })
    }
}

/// The ring of samples and the counter the next rate is measured from.
#[derive(Debug, Default)]
pub struct Ring {
    samples: VecDeque<Sample>,
    /// `bytes_out` and when it was read, at the last answered sample.
    last: Option<(u64, Instant)>,
}

impl Ring {
    /// Adds the sample taken at `t` (`at` on the monotonic clock) from `reading`
    /// (`None`: the multiplexer did not answer), dropping the oldest past
    /// [`CAPACITY`].
    pub fn push(&mut self, t: i64, at: Instant, reading: Option<Reading>) {
        let sample = match reading {
            Some(r) => {
                let egress_bps = match self.last {
                    // A counter that went back (a new multiplexer) gives no rate.
                    Some((before, then)) if r.bytes_out >= before && at > then => {
                        let secs = at.duration_since(then).as_secs_f64();
                        Some((r.bytes_out - before) as f64 * 8.0 / secs)
                    }
                    _ => None,
                };
                self.last = Some((r.bytes_out, at));
                Sample {
                    t,
                    viewers: Some(r.viewers),
                    hls_viewers: Some(r.hls_viewers),
                    egress_bps,
                }
            }
            None => {
                // The next answer measures from scratch: a rate across the gap
                // would average over time the chart shows as unknown.
                self.last = None;
                Sample {
                    t,
                    viewers: None,
                    hls_viewers: None,
                    egress_bps: None,
                }
            }
        };
        if self.samples.len() == CAPACITY {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// The samples, oldest first.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.iter().copied().collect()
    }
}

/// The process's history, created (and its sampler spawned) on first use.
static HISTORY: OnceLock<Mutex<Ring>> = OnceLock::new();

/// Starts the sampler unless it runs already; returns the ring.
pub fn ensure_started(state: &AppState) -> &'static Mutex<Ring> {
    let mut started = false;
    let ring = HISTORY.get_or_init(|| {
        started = true;
        Mutex::new(Ring::default())
    });
    if started {
        tokio::spawn(sample_forever(state.clone(), ring));
    }
    ring
}

/// Takes a sample every [`INTERVAL`], for as long as the process runs.
async fn sample_forever(state: AppState, ring: &'static Mutex<Ring>) {
    let mut ticks = tokio::time::interval(INTERVAL);
    // A slow answer delays the next sample rather than bunching two together.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let reading = match crate::mux_api::all_streams(&state).await {
            Ok(all) => Reading::of(&all),
            Err(_) => None, // logged by mux_api
        };
        let t = jiff::Timestamp::now().as_second();
        let at = Instant::now();
        // A poisoned lock only means a panic mid-push: the ring is still whole.
        let mut ring = ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.push(t, at, reading);
    }
}

/// `{interval_secs, capacity, samples: [{t, viewers, hls_viewers, egress_bps}]}`,
/// oldest first.
async fn history(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let samples = ensure_started(&state)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .samples();
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(json!({
            "interval_secs": INTERVAL.as_secs(),
            "capacity": CAPACITY,
            "samples": samples,
        })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(viewers: u64, bytes_out: u64) -> Option<Reading> {
        Some(Reading {
            viewers,
            hls_viewers: 0,
            bytes_out,
        })
    }

    #[test]
    fn a_reading_sums_every_streams_viewers() {
        let all = json!({
            "streams": [
                {"clients": 3, "hls_viewers": 1},
                {"clients": 2},
                {"clients": "bad"},
            ],
            "metrics": {"bytes_out": 1000},
        });
        assert_eq!(
            Reading::of(&all),
            Some(Reading {
                viewers: 5,
                hls_viewers: 1,
                bytes_out: 1000
            })
        );
        assert_eq!(Reading::of(&json!({"streams": []})), None);
    }

    #[test]
    fn egress_is_the_counters_growth_in_bits_per_second() {
        let mut ring = Ring::default();
        let t0 = Instant::now();
        ring.push(100, t0, reading(1, 1_000));
        ring.push(110, t0 + Duration::from_secs(10), reading(2, 126_000));
        let s = ring.samples();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].egress_bps, None, "no rate without a previous counter");
        assert_eq!(s[1].viewers, Some(2));
        assert_eq!(s[1].egress_bps, Some(100_000.0));
    }

    #[test]
    fn a_silent_multiplexer_leaves_a_gap_and_the_next_rate_starts_afresh() {
        let mut ring = Ring::default();
        let t0 = Instant::now();
        ring.push(0, t0, reading(1, 1_000));
        ring.push(10, t0 + Duration::from_secs(10), None);
        ring.push(20, t0 + Duration::from_secs(20), reading(1, 500_000));
        ring.push(30, t0 + Duration::from_secs(30), reading(1, 400));
        let s = ring.samples();
        assert_eq!(s[1].viewers, None);
        assert_eq!(s[1].egress_bps, None);
        assert_eq!(s[2].egress_bps, None, "no rate across the gap");
        assert_eq!(s[3].egress_bps, None, "a counter that went back gives none");
    }

    #[test]
    fn the_ring_keeps_the_last_hour() {
        let mut ring = Ring::default();
        let t0 = Instant::now();
        for i in 0..(CAPACITY as u64 + 5) {
            ring.push(i as i64, t0 + Duration::from_secs(i), reading(i, i));
        }
        let s = ring.samples();
        assert_eq!(s.len(), CAPACITY);
        assert_eq!(s.first().map(|s| s.t), Some(5));
        assert_eq!(s.last().map(|s| s.t), Some(CAPACITY as i64 + 4));
    }
}
