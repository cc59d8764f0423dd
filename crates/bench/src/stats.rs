//! Percentiles and summaries of latency samples.

use serde::Serialize;

/// Nearest-rank percentile (`p` in 0..=100) of `sorted` (ascending); `None` when empty.
/// Nearest rank never interpolates, so every reported figure is one that was measured.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (p.clamp(0.0, 100.0) / 100.0 * n as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, n) - 1])
}

/// Count, p50, p99 and max of a set of samples (milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    /// Median (nearest rank).
    pub p50: Option<f64>,
    /// 99th percentile (nearest rank).
    pub p99: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
}

impl Summary {
    /// Summarises the samples (in any order; NaNs are dropped).
    pub fn of(samples: &[f64]) -> Self {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        Self {
            count: v.len(),
            p50: percentile(&v, 50.0).map(round3),
            p99: percentile(&v, 99.0).map(round3),
            max: v.last().copied().map(round3),
        }
    }
}

/// Rounds to three decimals (microseconds when the unit is ms), for readable JSON.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        let small = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&small, 50.0), Some(2.0));
        assert_eq!(percentile(&small, 99.0), Some(4.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn summary_sorts_and_ignores_nan() {
        let s = Summary::of(&[5.0, f64::NAN, 1.0, 3.0]);
        assert_eq!(s.count, 3);
        assert_eq!(s.p50, Some(3.0));
        assert_eq!(s.p99, Some(5.0));
        assert_eq!(s.max, Some(5.0));
        assert_eq!(Summary::of(&[]), Summary::default());
    }

    #[test]
    fn rounding_keeps_three_decimals() {
        assert_eq!(round3(1.23456), 1.235);
        assert_eq!(round3(2.0), 2.0);
    }
}
