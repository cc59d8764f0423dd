//! The `acestream-sim` binary: a simulated AceStream engine for demos and manual
//! tests. Thin: parse flags, set up logging, start the library's server.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use acestream_sim::{SimConfig, Simulator, demo_catalogue, load_catalogue};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A simulated AceStream engine (HTTP API, MPEG-TS streams, faults).
#[derive(Parser, Debug)]
#[command(name = "acestream-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (6878 is the engine's).
    #[arg(long, default_value_t = 6878)]
    port: u16,
    /// Catalogue file (TOML, `[[content]]` tables); the demo catalogue if absent.
    #[arg(long)]
    catalogue: Option<PathBuf>,
    /// Send streams as fast as clients read (bench mode) instead of at the bitrate.
    #[arg(long)]
    unpaced: bool,
    /// Milliseconds of stream a new reader gets at once before pacing.
    #[arg(long, default_value_t = 1000)]
    burst_ms: u64,
    /// Start this many engines, on ports PORT..PORT+N-1, with the same catalogue:
    /// a pool to put behind `engine.urls` (each has its own sessions and state).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pool: u16,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let catalogue = match &args.catalogue {
        Some(path) => load_catalogue(path)?,
        None => demo_catalogue(),
    };
    let mut pool = Vec::new();
    for i in 0..args.pool {
        let port = if args.port == 0 {
            0
        } else {
            args.port
                .checked_add(i)
                .ok_or_else(|| anyhow::anyhow!("--port + --pool exceeds 65535"))?
        };
        let config = SimConfig {
            catalogue: catalogue.clone(),
            unpaced: args.unpaced,
            burst: Duration::from_millis(args.burst_ms),
            bind: SocketAddr::new(args.host, port),
            ..SimConfig::default()
        };
        let sim = Simulator::start(config).await?;
        println!("acestream-sim listening on {}", sim.url());
        pool.push(sim);
    }
    let sim = &pool[0];
    println!(
        "{:<20} {:<40} {:<40} {:>6} {:>7}  fault",
        "name", "content_id", "infohash", "kbit/s", "delay"
    );
    for c in &catalogue {
        println!(
            "{:<20} {:<40} {:<40} {:>6} {:>5}ms  {:?}",
            c.name,
            c.content_id,
            c.infohash,
            c.bitrate_bps / 1000,
            c.startup_delay.as_millis(),
            c.fault
        );
    }
    if let Some(c) = catalogue.first() {
        println!(
            "try: curl -s '{}/ace/getstream?id={}&format=json&pid=demo'",
            sim.url(),
            c.content_id
        );
    }
    if pool.len() > 1 {
        let urls: Vec<String> = pool.iter().map(Simulator::url).collect();
        println!("pool: ACEXTREAM_ENGINE__URLS={}", urls.join(","));
    }
    tokio::signal::ctrl_c().await?;
    for sim in pool {
        sim.shutdown().await;
    }
    Ok(())
}
