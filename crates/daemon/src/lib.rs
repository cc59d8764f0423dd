//! The acextream daemon: the command line, logging, and the start-up that runs the
//! public listener and the internal multiplexer in one process.

pub mod cli;
pub mod commands;
pub mod link_health;
pub mod logging;
pub mod startup;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line and runs the command; the binary's whole `main`.
pub fn run() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            // One line with the whole cause chain; the details went to the log.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
