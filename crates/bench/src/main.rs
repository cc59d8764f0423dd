//! `acextream-bench`: a load generator over real sockets for acextream or any other
//! MPEG-TS proxy on this machine. Thin: parse the options, run, print the report.
#![forbid(unsafe_code)]

mod chunked;
mod cli;
mod client;
mod http;
mod procfs;
mod report;
mod run;
mod sim;
mod stats;
mod target;

use clap::Parser as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    let report = run::run(&args).await?;
    if !args.json {
        eprint!("{}", report::table(&report));
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
