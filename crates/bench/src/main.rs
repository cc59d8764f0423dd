//! `acextream-bench`: a load generator over real sockets for acextream or any other
//! MPEG-TS proxy on this machine: MPEG-TS clients, or HLS viewers (`hls`). Thin:
//! parse the options, run, print the report.
#![forbid(unsafe_code)]

mod chunked;
mod cli;
mod client;
#[cfg(test)]
mod fake_hls;
mod hls_run;
mod hls_viewer;
mod http;
mod keepalive;
mod measure;
mod playlist;
mod procfs;
mod report;
mod run;
mod sim;
mod stats;
mod target;

use clap::Parser as _;

use crate::cli::{Cli, Mode};

/// The table (for stderr, unless `--json`) and the JSON object of a report.
fn render<R: serde::Serialize>(
    json_only: bool,
    report: &R,
    table: fn(&R) -> String,
) -> anyhow::Result<String> {
    if !json_only {
        eprint!("{}", table(report));
    }
    Ok(serde_json::to_string(report)?)
}

async fn run(cli: Cli) -> anyhow::Result<String> {
    match (cli.mode, cli.ts) {
        (Some(Mode::Hls(args)), _) => {
            let report = hls_run::run(&args).await?;
            render(args.json, &report, report::hls_table)
        }
        (None, Some(args)) => {
            let report = run::run(&args).await?;
            render(args.json, &report, report::table)
        }
        // clap requires the MPEG-TS flags when there is no subcommand.
        (None, None) => anyhow::bail!("give --url and --ids, or a subcommand (see --help)"),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
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
