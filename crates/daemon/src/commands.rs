//! What each CLI command does. Commands use the same settings and database as
//! `serve`, and are safe while the daemon runs (SQLite WAL and a busy timeout).

use std::io::BufRead;
use std::process::ExitCode;

use acextream_core::Settings;
use acextream_core::accounts::{AccountSpec, Accounts};
use acextream_core::catalogue::guide::GuideOutcome;
use acextream_core::catalogue::{Catalogue, RefreshOutcome};
use acextream_core::engine::pool::EnginePool;
use acextream_core::store::Store;
use acextream_core::store::sources::SourceInput;
use anyhow::{Context, bail};

use crate::cli::{
    ChannelCommand, Cli, Command, EpgCommand, Migrate, SourceCommand, UserAdd, UserCommand,
};
use crate::{logging, startup};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Config => {
            print!("{}", settings.to_masked_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::User(cmd) => {
            let (runtime, accounts) = accounts(&settings)?;
            runtime.block_on(user(&accounts, &settings, cmd))
        }
        Command::Channel(ChannelCommand::Import { source })
        | Command::Source(SourceCommand::Add { url: source }) => {
            let (runtime, catalogue) = catalogue(&settings)?;
            runtime.block_on(import_channels(&catalogue, &source))
        }
        Command::Epg(EpgCommand::Import { source } | EpgCommand::Add { url: source }) => {
            let (runtime, catalogue) = catalogue(&settings)?;
            runtime.block_on(import_guide(&catalogue, &source))
        }
        Command::Migrate(m) => migrate(&settings, m),
    }
}

/// `acextream migrate PATH`: one transaction, then the summary on standard output.
fn migrate(settings: &Settings, m: Migrate) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let engine = if m.ask_engine {
        Some(EnginePool::new(&settings.engine)?.first().clone())
    } else {
        None
    };
    let opts = acextream_core::migrate::Options {
        dry_run: m.dry_run,
        time_zone: settings.time_zone(),
        engine,
    };
    let summary = runtime
        .block_on(acextream_core::migrate::migrate(
            &m.path,
            &settings.database.path,
            opts,
        ))
        .with_context(|| format!("migrating {}", m.path.display()))?;
    if m.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{summary}");
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let logs = logging::init(&settings.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("acextream")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let signal = startup::shutdown_signal().context("installing signal handlers")?;
        let app = startup::Application::build_with_logs(settings, logs).await?;
        app.run_until(signal).await
    })?;
    // Stream tasks of the runtime may still be parked on sockets: do not wait.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    Ok(ExitCode::SUCCESS)
}

/// A small runtime and the catalogue service for one CLI command.
fn catalogue(settings: &Settings) -> anyhow::Result<(tokio::runtime::Runtime, Catalogue)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = Store::open(&settings.database.path)?;
    let engines = EnginePool::new(&settings.engine)?;
    let catalogue = Catalogue::new(store, engines, std::sync::Arc::new(settings.clone()))?;
    Ok((runtime, catalogue))
}

/// A local path is stored absolute, so the daemon finds it from any directory.
fn location(source: &str) -> String {
    if source.contains(':') && !std::path::Path::new(source).exists() {
        return source.to_owned();
    }
    std::fs::canonicalize(source)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| source.to_owned())
}

async fn import_channels(catalogue: &Catalogue, source: &str) -> anyhow::Result<ExitCode> {
    let input = SourceInput {
        url: Some(location(source)),
        ..SourceInput::default()
    };
    let src = catalogue.add_source(input).await?;
    match catalogue.refresh_source(src.id).await? {
        RefreshOutcome::Unchanged => println!("source {} unchanged since the last refresh", src.id),
        RefreshOutcome::Applied(r) => println!(
            "source {}: {} channels ({} new, {} updated, {} gone, {} skipped)",
            src.id, r.found, r.new, r.updated, r.gone, r.skipped
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn import_guide(catalogue: &Catalogue, source: &str) -> anyhow::Result<ExitCode> {
    let input = SourceInput {
        url: Some(location(source)),
        ..SourceInput::default()
    };
    let src = catalogue.add_guide_source(input).await?;
    match catalogue.refresh_guide(src.id).await? {
        GuideOutcome::Unchanged => {
            println!("guide source {} unchanged since the last refresh", src.id)
        }
        GuideOutcome::Imported { import, mapping } => println!(
            "guide source {}: {} channels, {} programmes; {} channels mapped, {} without guide",
            src.id,
            import.channels,
            import.programmes,
            mapping.mapped,
            mapping.unmapped.len()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// A small runtime and the account service for one CLI command.
fn accounts(settings: &Settings) -> anyhow::Result<(tokio::runtime::Runtime, Accounts)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = Store::open(&settings.database.path)?;
    Ok((runtime, Accounts::new(store)))
}

async fn user(acc: &Accounts, settings: &Settings, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::Add(add) => user_add(acc, settings, add).await,
        UserCommand::List { json } => {
            let users = acc.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                print_users(&users, settings);
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Remove { name } => {
            acc.remove(&name).await?;
            println!("removed user {name}");
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Passwd { name, password } => {
            let password = password_or_stdin(password)?;
            acc.set_password(&name, &password).await?;
            println!("password of {name} changed");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn user_add(acc: &Accounts, settings: &Settings, add: UserAdd) -> anyhow::Result<ExitCode> {
    let expires_at = add
        .expires
        .as_deref()
        .map(|d| end_of_day(d, settings))
        .transpose()?;
    let password = password_or_stdin(add.password)?;
    let user = acc
        .create(AccountSpec {
            username: add.name,
            password,
            is_admin: add.admin,
            is_trial: add.trial,
            max_connections: add.max_connections,
            expires_at,
            notes: add.notes,
        })
        .await?;
    println!(
        "created {} {}",
        if user.is_admin { "admin" } else { "user" },
        user.username
    );
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD` → the first second after that day in the server's time zone, so the
/// account works through the whole last day.
fn end_of_day(date: &str, settings: &Settings) -> anyhow::Result<i64> {
    let day: jiff::civil::Date = date
        .parse()
        .with_context(|| format!("--expires {date:?} is not a date like 2026-12-31"))?;
    let next = day.tomorrow().context("--expires is out of range")?;
    let zoned = next
        .to_zoned(settings.time_zone())
        .context("--expires is out of range")?;
    Ok(zoned.timestamp().as_second())
}

fn password_or_stdin(given: Option<String>) -> anyhow::Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        bail!("no password given (use --password or pipe it on standard input)");
    }
    Ok(p)
}

fn print_users(users: &[acextream_core::store::users::User], settings: &Settings) {
    println!(
        "{:<24} {:<6} {:<8} {:>5} {:<12} {:<8}",
        "USERNAME", "ROLE", "STATE", "CONNS", "EXPIRES", "TRIAL"
    );
    let tz = settings.time_zone();
    let now = jiff::Timestamp::now().as_second();
    for u in users {
        let expires = u
            .expires_at
            // Stored as the first second after the last day; show the last day.
            .and_then(|t| jiff::Timestamp::from_second(t - 1).ok())
            .map(|t| t.to_zoned(tz.clone()).date().to_string())
            .unwrap_or_else(|| "never".into());
        let state = if !u.enabled {
            "disabled"
        } else if u.is_expired(now) {
            "expired"
        } else {
            "active"
        };
        let conns = if u.max_connections == 0 {
            "∞".to_owned()
        } else {
            u.max_connections.to_string()
        };
        println!(
            "{:<24} {:<6} {:<8} {:>5} {:<12} {:<8}",
            u.username,
            if u.is_admin { "admin" } else { "user" },
            state,
            conns,
            expires,
            if u.is_trial { "yes" } else { "no" }
        );
    }
}
