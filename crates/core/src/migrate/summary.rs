//! What a migration did (or, with `--dry-run`, would do): counts per kind, every
//! row skipped with its reason, and notes the operator must read.

use std::fmt;

use serde::Serialize;

/// The kinds of rows moved over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `users` → accounts.
    Users,
    /// `categories` → categories.
    Categories,
    /// `channels` → hand-added channels.
    Channels,
    /// `scraper_urls` → channel sources.
    ChannelSources,
    /// `epg_sources` → guide sources.
    GuideSources,
    /// `settings` → runtime settings.
    Settings,
}

impl Kind {
    /// Every kind, in the order they are reported.
    pub const ALL: [Kind; 6] = [
        Kind::Users,
        Kind::Categories,
        Kind::Channels,
        Kind::ChannelSources,
        Kind::GuideSources,
        Kind::Settings,
    ];

    /// The old table it comes from.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Categories => "categories",
            Kind::Channels => "channels",
            Kind::ChannelSources => "scraper_urls",
            Kind::GuideSources => "epg_sources",
            Kind::Settings => "settings",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Categories => "categories",
            Kind::Channels => "channels",
            Kind::ChannelSources => "channel sources",
            Kind::GuideSources => "guide sources",
            Kind::Settings => "settings",
        }
    }
}

/// The counts of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows in the old file.
    pub found: usize,
    /// Rows imported now.
    pub imported: usize,
    /// Rows already here (an earlier run, or the same thing added meanwhile).
    pub already_present: usize,
    /// Rows not imported, each listed with its reason.
    pub skipped: usize,
}

/// One row left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Its kind.
    pub kind: Kind,
    /// Its `id` in the old file.
    pub id: Option<i64>,
    /// Its name, username, URL or key, as far as it can be read.
    pub name: String,
    /// Why it was left behind.
    pub reason: String,
}

/// The whole report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Nothing was written.
    pub dry_run: bool,
    /// The old file.
    pub from: String,
    /// The acextream database.
    pub into: String,
    /// Counts per kind, in [`Kind::ALL`] order (a JSON object by kind).
    #[serde(serialize_with = "by_kind")]
    pub counts: Vec<(Kind, Counts)>,
    /// Every row left behind.
    pub skipped: Vec<Skipped>,
    /// Rows imported with a field dropped, and why.
    pub adjusted: Vec<Skipped>,
    /// What the operator should know (bootstrap admin, unsure ids, …).
    pub notes: Vec<String>,
}

impl Summary {
    /// An empty summary with every kind at zero.
    pub fn new(from: String, into: String, dry_run: bool) -> Self {
        Self {
            dry_run,
            from,
            into,
            counts: Kind::ALL.iter().map(|k| (*k, Counts::default())).collect(),
            ..Self::default()
        }
    }

    /// The counts of `kind`.
    pub fn counts(&self, kind: Kind) -> Counts {
        self.counts
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }

    pub(super) fn count(&mut self, kind: Kind) -> &mut Counts {
        let i = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        &mut self.counts[i].1
    }

    pub(super) fn skip(&mut self, kind: Kind, id: Option<i64>, name: &str, reason: String) {
        self.count(kind).skipped += 1;
        self.skipped.push(Skipped {
            kind,
            id,
            name: super::mapping::short(name),
            reason,
        });
    }

    pub(super) fn adjust(&mut self, kind: Kind, id: Option<i64>, name: &str, reason: String) {
        self.adjusted.push(Skipped {
            kind,
            id,
            name: super::mapping::short(name),
            reason,
        });
    }

    /// Rows imported, all kinds together.
    pub fn imported(&self) -> usize {
        self.counts.iter().map(|(_, c)| c.imported).sum()
    }
}

fn by_kind<S: serde::Serializer>(v: &[(Kind, Counts)], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(v.len()))?;
    for (k, c) in v {
        map.serialize_entry(k, c)?;
    }
    map.end()
}

fn row(f: &mut fmt::Formatter<'_>, s: &Skipped) -> fmt::Result {
    let id = s.id.map(|i| format!(" #{i}")).unwrap_or_default();
    writeln!(f, "  {}{id} {:?}: {}", s.kind.table(), s.name, s.reason)
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            writeln!(
                f,
                "dry run: {} into {} (nothing was written)",
                self.from, self.into
            )?;
        } else {
            writeln!(f, "migrated {} into {}", self.from, self.into)?;
        }
        let what = if self.dry_run {
            "to import"
        } else {
            "imported"
        };
        for (kind, c) in &self.counts {
            writeln!(
                f,
                "{:<16} {:>5} found, {:>5} {what}, {:>5} already here, {:>5} skipped",
                format!("{}:", kind.label()),
                c.found,
                c.imported,
                c.already_present,
                c.skipped
            )?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "skipped:")?;
            for s in &self.skipped {
                row(f, s)?;
            }
        }
        if !self.adjusted.is_empty() {
            writeln!(f, "imported without a field:")?;
            for s in &self.adjusted {
                row(f, s)?;
            }
        }
        if !self.notes.is_empty() {
            writeln!(f, "notes:")?;
            for n in &self.notes {
                writeln!(f, "  - {n}")?;
            }
        }
        Ok(())
    }
}
