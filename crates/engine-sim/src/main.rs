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
    let config = SimConfig {
        catalogue: catalogue.clone(),
        unpaced: args.unpaced,
        burst: Duration::from_millis(args.burst_ms),
        bind: SocketAddr::new(args.host, args.port),
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await?;
    println!("acestream-sim listening on {}", sim.url());
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
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
