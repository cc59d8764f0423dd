//! Command-line options of `acextream-bench`.

use clap::Parser;

/// Load generator for acextream and other MPEG-TS proxies: N clients over real
/// sockets on one or more channels, for a fixed time, on loopback only.
#[derive(Parser, Debug, Clone)]
#[command(name = "acextream-bench", version)]
pub struct Args {
    /// Stream URL template; `{id}` is replaced by a channel id. Only loopback hosts
    /// (127.0.0.0/8, localhost, [::1]) are accepted.
    #[arg(long)]
    pub url: String,
    /// Channel ids, comma-separated; clients are spread over them round-robin.
    #[arg(long, value_delimiter = ',', required = true)]
    pub ids: Vec<String>,
    /// Number of clients (1..=10000).
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Length of the measured window in seconds; every client stops at its end.
    #[arg(long, default_value_t = 15.0)]
    pub duration: f64,
    /// Process whose CPU time and RSS are measured (the daemon under test).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Base URL of acestream-sim, for engine-session counts from `/sim/state`.
    #[arg(long)]
    pub sim: Option<String>,
    /// Fraction of clients (0..1) that read the response head, then never read
    /// again for the whole run. The first client of each channel never stalls.
    #[arg(long, default_value_t = 0.0)]
    pub stall_fraction: f64,
    /// Milliseconds between two client starts.
    #[arg(long, default_value_t = 2)]
    pub ramp_ms: u64,
    /// The simulator's start-up delay, subtracted from cold first-byte times.
    #[arg(long)]
    pub startup_delay_ms: Option<u64>,
    /// Longest wait (seconds) for the first client of each channel to get its
    /// first byte before the other clients start joining the running streams.
    #[arg(long, default_value_t = 30.0)]
    pub cold_wait: f64,
    /// After the clients closed, wait this many seconds and read `/sim/state`
    /// again, to count engine stops after the idle grace (needs --sim).
    #[arg(long, default_value_t = 0.0)]
    pub settle: f64,
    /// Do not check the MPEG-TS sequence numbers (for streams that are not the
    /// simulator's); "served" then ignores contiguity.
    #[arg(long)]
    pub no_ts_check: bool,
    /// A clients' silence longer than this (ms) at the end of the run means it was
    /// not served for the whole duration.
    #[arg(long, default_value_t = 1000)]
    pub end_silence_ms: u64,
    /// Free text copied into the report.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Print only the JSON object (no table on stderr).
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// Rejects values that would make the run unbounded or meaningless.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=10_000).contains(&self.clients),
            "--clients must be between 1 and 10000"
        );
        anyhow::ensure!(
            self.duration > 0.0 && self.duration <= 3600.0,
            "--duration must be in (0, 3600] seconds"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.stall_fraction),
            "--stall-fraction must be in [0, 1)"
        );
        anyhow::ensure!(self.ramp_ms <= 10_000, "--ramp-ms must be at most 10000");
        anyhow::ensure!(
            (0.0..=600.0).contains(&self.cold_wait),
            "--cold-wait must be in [0, 600]"
        );
        anyhow::ensure!(
            (0.0..=600.0).contains(&self.settle),
            "--settle must be in [0, 600]"
        );
        anyhow::ensure!(
            self.ids.iter().all(|id| !id.is_empty()),
            "--ids must not contain empty ids"
        );
        Ok(())
    }
}

/// Whether client `i` is one of the stalled ones: `fraction` of all clients, spread
/// evenly over the start order (client 0 never stalls for a fraction below 1).
pub fn is_stalled(i: usize, fraction: f64) -> bool {
    ((i + 1) as f64 * fraction).floor() > (i as f64 * fraction).floor()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_clients_are_the_fraction_spread_evenly() {
        let stalled: Vec<usize> = (0..100).filter(|&i| is_stalled(i, 0.1)).collect();
        assert_eq!(stalled.len(), 10);
        assert_eq!(stalled[0], 9);
        assert_eq!(stalled[9], 99);
        assert!((0..1000).all(|i| !is_stalled(i, 0.0)));
        assert!(!is_stalled(0, 0.5));
    }

    #[test]
    fn bounds_are_checked() {
        let base = Args::try_parse_from([
            "b",
            "--url",
            "http://127.0.0.1/{id}",
            "--ids",
            "a,b",
            "--clients",
            "3",
        ])
        .unwrap();
        assert_eq!(base.ids, vec!["a", "b"]);
        base.validate().unwrap();
        let mut bad = base.clone();
        bad.clients = 0;
        assert!(bad.validate().is_err());
        let mut bad = base.clone();
        bad.stall_fraction = 1.0;
        assert!(bad.validate().is_err());
        let mut bad = base;
        bad.duration = 0.0;
        assert!(bad.validate().is_err());
    }
}
