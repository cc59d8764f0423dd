//! The command line (clap). `serve` is the default command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// acextream: an IPTV service (Xtream Codes, M3U, XMLTV) in front of an AceStream engine.
#[derive(Debug, Parser)]
#[command(name = "acextream", version, about, propagate_version = true)]
pub struct Cli {
    /// Settings file (default: $ACEXTREAM_CONFIG, else config/acextream.toml if present).
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: the public listener and the internal multiplexer.
    Serve,
    /// Manage accounts (players and admins).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Manage channel sources.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Manage the programme guide.
    #[command(subcommand)]
    Epg(EpgCommand),
    /// Print the effective settings (secrets masked).
    Config,
    /// Import the replaced system's database (users, categories, channels, sources).
    Migrate(Migrate),
}

/// `acextream migrate`
#[derive(Debug, Args)]
pub struct Migrate {
    /// The replaced system's SQLite file (usually data/unified-iptv.db).
    pub path: PathBuf,
    /// Only report what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Ask the engine (engine.url) whether each bare 40-hex id is a content id or an
    /// infohash; without it they are kept as content ids.
    #[arg(long)]
    pub ask_engine: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `acextream user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account.
    Add(UserAdd),
    /// List accounts.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete an account.
    Remove {
        /// Account name.
        name: String,
    },
    /// Set an account's password.
    Passwd {
        /// Account name.
        name: String,
        /// New password; read from standard input when omitted (keeps it out of `ps`).
        #[arg(long)]
        password: Option<String>,
    },
}

/// `acextream user add`
#[derive(Debug, Args)]
pub struct UserAdd {
    /// Account name (no spaces, `/`, `?`, `#`, `%`, `&`, `:`).
    pub name: String,
    /// Password; read from standard input when omitted (keeps it out of `ps`).
    #[arg(long)]
    pub password: Option<String>,
    /// Streams the account may have open at once (0 = unlimited).
    #[arg(long, default_value_t = 1)]
    pub max_connections: u32,
    /// Last day the account works (YYYY-MM-DD, in server.timezone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub expires: Option<String>,
    /// Give the account admin rights (dashboard and /api).
    #[arg(long)]
    pub admin: bool,
    /// Mark the account as a trial.
    #[arg(long)]
    pub trial: bool,
    /// Free text for the admin.
    #[arg(long, default_value = "")]
    pub notes: String,
}

/// `acextream channel …`
#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Import channels from a playlist file or URL.
    Import {
        /// Path or http(s) URL.
        source: String,
    },
}

/// `acextream source …`
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a channel source by URL.
    Add {
        /// http(s) URL of a playlist.
        url: String,
    },
}

/// `acextream epg …`
#[derive(Debug, Subcommand)]
pub enum EpgCommand {
    /// Import a guide from an XMLTV file or URL.
    Import {
        /// Path or http(s) URL.
        source: String,
    },
    /// Add a guide source by URL.
    Add {
        /// http(s) URL of an XMLTV feed.
        url: String,
    },
}
