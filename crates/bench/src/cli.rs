//! Command-line options of `acextream-bench`: the MPEG-TS run's flags at the top
//! level (as before subcommands existed), `hls` for HLS viewers.

use clap::{Parser, Subcommand};

/// Load generator for acextream and other MPEG-TS proxies: N clients over real
/// sockets on one or more channels, for a fixed time, on loopback only. Without a
/// subcommand, the clients read MPEG-TS streams; `hls` runs HLS viewers.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "acextream-bench",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// Another kind of run than MPEG-TS streams.
    #[command(subcommand)]
    pub mode: Option<Mode>,
    /// The MPEG-TS run (no subcommand).
    #[command(flatten)]
    pub ts: Option<Args>,
}

/// The runs that have a subcommand.
#[derive(Subcommand, Debug, Clone)]
pub enum Mode {
    /// N HLS viewers of one channel: each fetches the master playlist once, then
    /// polls the media playlist like a live player (RFC 8216 §6.3.4) and fetches
    /// every new segment once. The first viewer meets the channel cold; the others
    /// join staggered over the first segment's duration.
    Hls(HlsArgs),
}

/// Options of the MPEG-TS run.
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
    /// Base URL of acestream-sim, for engine-session counts from `/sim/state`;
    /// comma-separated for a pool of simulators (their counts are added up).
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

/// Options of `acextream-bench hls`.
#[derive(clap::Args, Debug, Clone)]
pub struct HlsArgs {
    /// Master playlist URL, e.g.
    /// `http://127.0.0.1:8000/live/USER/PASS/{id}.m3u8`; `{id}` is replaced by
    /// `--id`. Only loopback hosts are accepted, for the playlists' URLs too.
    #[arg(long)]
    pub url: String,
    /// The channel id every viewer watches (needed when the URL has `{id}`).
    #[arg(long)]
    pub id: Option<String>,
    /// The URL answers a media playlist itself, no master (e.g. an engine's own
    /// HLS, or another proxy's): viewers skip the master step.
    #[arg(long)]
    pub media_playlist: bool,
    /// Number of viewers (1..=10000).
    #[arg(long, default_value_t = 1)]
    pub viewers: usize,
    /// Length of the measured window in seconds; every viewer stops at its end.
    #[arg(long, default_value_t = 30.0)]
    pub duration: f64,
    /// Process whose CPU time and RSS are measured (the daemon under test).
    #[arg(long)]
    pub pid: Option<u32>,
    /// Base URL of acestream-sim, for engine-session counts from `/sim/state`.
    #[arg(long)]
    pub sim: Option<String>,
    /// The channel's content id (or infohash) in the simulator, to tell whether
    /// the first viewer really met a channel that was not running (needs --sim).
    #[arg(long)]
    pub content_id: Option<String>,
    /// Longest wait (seconds) for the first viewer's first media playlist before
    /// the others start anyway.
    #[arg(long, default_value_t = 30.0)]
    pub cold_wait: f64,
    /// Longest wait (seconds) for one answer; a cold channel's first playlist
    /// waits for its first segment.
    #[arg(long, default_value_t = 20.0)]
    pub request_timeout: f64,
    /// After the viewers stopped, wait this many seconds and read `/sim/state`
    /// again, to count engine stops after the idle grace (needs --sim).
    #[arg(long, default_value_t = 0.0)]
    pub settle: f64,
    /// Free text copied into the report.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Print only the JSON object (no table on stderr).
    #[arg(long)]
    pub json: bool,
}

impl HlsArgs {
    /// Rejects values that would make the run unbounded or meaningless.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=10_000).contains(&self.viewers),
            "--viewers must be between 1 and 10000"
        );
        anyhow::ensure!(
            self.duration > 0.0 && self.duration <= 3600.0,
            "--duration must be in (0, 3600] seconds"
        );
        anyhow::ensure!(
            (0.0..=600.0).contains(&self.cold_wait),
            "--cold-wait must be in [0, 600]"
        );
        anyhow::ensure!(
            self.request_timeout > 0.0 && self.request_timeout <= 600.0,
            "--request-timeout must be in (0, 600]"
        );
        anyhow::ensure!(
            (0.0..=600.0).contains(&self.settle),
            "--settle must be in [0, 600]"
        );
        match &self.id {
            Some(id) => anyhow::ensure!(
                !id.is_empty() && self.url.contains("{id}"),
                "--id needs a non-empty id and a URL with {{id}}"
            ),
            None => anyhow::ensure!(!self.url.contains("{id}"), "the URL has {{id}}: give --id"),
        }
        Ok(())
    }

    /// The master playlist's URL.
    pub fn master_url(&self) -> String {
        match &self.id {
            Some(id) => crate::target::expand(&self.url, id),
            None => self.url.clone(),
        }
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

    #[test]
    fn the_ts_run_keeps_its_top_level_flags() {
        let cli =
            Cli::try_parse_from(["b", "--url", "http://127.0.0.1/{id}", "--ids", "a"]).unwrap();
        assert!(cli.mode.is_none());
        assert_eq!(cli.ts.unwrap().ids, vec!["a"]);
        assert!(Cli::try_parse_from(["b"]).is_err());
    }

    #[test]
    fn the_hls_subcommand_parses_and_checks_its_bounds() {
        let cli = Cli::try_parse_from([
            "b",
            "hls",
            "--url",
            "http://127.0.0.1:8000/live/u/p/{id}.m3u8",
            "--id",
            "7",
            "--viewers",
            "200",
            "--duration",
            "60",
        ])
        .unwrap();
        let Some(Mode::Hls(h)) = cli.mode else {
            panic!("not the hls mode")
        };
        assert!(cli.ts.is_none());
        assert_eq!(h.viewers, 200);
        h.validate().unwrap();
        assert_eq!(h.master_url(), "http://127.0.0.1:8000/live/u/p/7.m3u8");
        let mut bad = h.clone();
        bad.viewers = 0;
        assert!(bad.validate().is_err());
        let mut bad = h.clone();
        bad.id = None;
        assert!(bad.validate().is_err());
        let mut fixed = h;
        fixed.url = "http://127.0.0.1:8000/live/u/p/7.m3u8".into();
        fixed.id = None;
        fixed.validate().unwrap();
        // The two kinds of run do not mix.
        assert!(
            Cli::try_parse_from(["b", "--url", "x", "--ids", "a", "hls", "--url", "y"]).is_err()
        );
        assert!(Cli::try_parse_from(["b", "hls"]).is_err());
    }
}
