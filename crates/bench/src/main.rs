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
async fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    match run::run(&args).await.and_then(|report| {
        if !args.json {
            eprint!("{}", report::table(&report));
        }
        Ok(serde_json::to_string(&report)?)
    }) {
        Ok(json) => {
            println!("{json}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            // One clear line with the cause chain, no backtrace.
            eprintln!("acextream-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
