//! Keeps the catalogue true: refreshes channel sources (download, parse, apply in
//! one transaction) and, in [`guide`], the programme guide. Every step that blocks
//! (parsing, SQLite) runs on the blocking pool; nothing here runs on a request path.

pub mod check;
pub mod fetch;
pub mod guide;
pub mod refresh;
pub mod search;

use std::sync::Arc;

use serde::Serialize;

use crate::engine::pool::EnginePool;
use crate::settings::Settings;
use crate::sources::{self, ParsedList, SourceKind};
use crate::store::sources::{self as source_rows, Source, SourceInput, SourceTable};
use crate::store::{Store, StoreError, immediate, now_epoch};

pub use fetch::{Body, FetchError, Fetched, Fetcher};
pub use refresh::RefreshReport;

/// Why a refresh failed; recorded on the source as its `last_error`.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// The download failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The engine search failed.
    #[error("engine search failed: {0}")]
    Search(#[from] crate::engine::EngineError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The list held nothing usable.
    #[error("no channels found ({0} entries skipped)")]
    Empty(usize),
    /// The guide could not be read.
    #[error("{0}")]
    Guide(String),
}

/// What a refresh did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// The server said the list did not change.
    Unchanged,
    /// The list was applied.
    Applied(RefreshReport),
}

/// Channel sources and the guide, over the store.
#[derive(Clone)]
pub struct Catalogue {
    pub(crate) store: Store,
    pub(crate) fetcher: Fetcher,
    /// The engines (engine searches go to a healthy one).
    pub(crate) engines: Arc<EnginePool>,
    pub(crate) settings: Arc<Settings>,
    /// One channel refresh at a time (the scheduler and `?wait=true` calls alike):
    /// two imports writing the same rows would only fight over SQLite's write lock.
    pub(crate) sources_lock: Arc<tokio::sync::Mutex<()>>,
    /// One guide import at a time, for the same reason (each is many batches; two
    /// of one source would only make the earlier fail at its swap).
    pub(crate) guides_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Catalogue {
    /// A catalogue service.
    pub fn new(
        store: Store,
        engines: Arc<EnginePool>,
        settings: Arc<Settings>,
    ) -> Result<Self, FetchError> {
        let fetcher = Fetcher::new(
            settings.sources.download_timeout,
            settings.sources.max_download_bytes,
        )?;
        Ok(Self {
            store,
            fetcher,
            engines,
            settings,
            sources_lock: Arc::default(),
            guides_lock: Arc::default(),
        })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Adds the sources of `sources.urls` and `epg.urls` the first time acextream
    /// starts on this database (a source the admin deleted stays deleted).
    pub async fn seed_from_settings(&self) -> Result<(), StoreError> {
        let channel_urls = self.settings.sources.urls.clone();
        let epg_urls = self.settings.epg.urls.clone();
        self.store
            .run(move |c| {
                let tx = immediate(c)?;
                let seeded: bool = tx
                    .query_row(
                        "SELECT count(*) FROM settings WHERE key = 'seeded'",
                        [],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(|n| n > 0)?;
                if !seeded {
                    for (table, urls) in [
                        (SourceTable::Channels, &channel_urls),
                        (SourceTable::Epg, &epg_urls),
                    ] {
                        for url in urls {
                            if source_rows::by_url(&tx, table, url)?.is_none() {
                                let input = SourceInput {
                                    url: Some(url.clone()),
                                    ..SourceInput::default()
                                };
                                source_rows::insert(&tx, table, &input)?;
                            }
                        }
                    }
                    tx.execute(
                        "INSERT INTO settings (key, value, updated_at) VALUES ('seeded', '1', ?1)",
                        [now_epoch()],
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// Adds a channel source (or returns the existing one with that URL).
    pub async fn add_source(&self, input: SourceInput) -> Result<Source, StoreError> {
        validate_source_input(&input, SourceTable::Channels)?;
        self.store
            .run(move |c| {
                let url = input.url.clone().unwrap_or_default();
                match source_rows::by_url(c, SourceTable::Channels, &url)? {
                    Some(existing) => Ok(existing),
                    None => source_rows::insert(c, SourceTable::Channels, &input),
                }
            })
            .await
    }

    /// Refreshes one channel source now, recording the result on it.
    pub async fn refresh_source(&self, id: i64) -> Result<RefreshOutcome, CatalogueError> {
        let _one_at_a_time = self.sources_lock.lock().await;
        let source = self.begin_refresh(SourceTable::Channels, id).await?;
        let result = self.refresh_inner(&source).await;
        match &result {
            Ok(RefreshOutcome::Applied(r)) => tracing::info!(
                source = source.id,
                found = r.found,
                new = r.new,
                updated = r.updated,
                gone = r.gone,
                skipped = r.skipped,
                "channel source refreshed"
            ),
            Ok(RefreshOutcome::Unchanged) => {
                tracing::info!(source = source.id, "channel source unchanged")
            }
            Err(e) => self.record_failure(SourceTable::Channels, id, e).await?,
        }
        result
    }

    /// Marks the attempt and reads the source to refresh.
    pub(crate) async fn begin_refresh(
        &self,
        table: SourceTable,
        id: i64,
    ) -> Result<Source, StoreError> {
        self.store
            .run(move |c| {
                source_rows::mark_attempt(c, table, id)?;
                source_rows::get(c, table, id)
            })
            .await
    }

    /// Logs a failed refresh and records it on the source (its data stays as it was).
    pub(crate) async fn record_failure(
        &self,
        table: SourceTable,
        id: i64,
        error: &CatalogueError,
    ) -> Result<(), StoreError> {
        tracing::warn!(source = id, ?table, error = %error, "source refresh failed");
        let msg = error.to_string();
        self.store
            .run(move |c| source_rows::mark_failure(c, table, id, &msg))
            .await
    }

    /// Records a download the server said had not changed (304).
    pub(crate) async fn record_unchanged(
        &self,
        table: SourceTable,
        id: i64,
    ) -> Result<(), StoreError> {
        self.store
            .run(move |c| source_rows::mark_unchanged(c, table, id))
            .await
    }

    async fn refresh_inner(&self, source: &Source) -> Result<RefreshOutcome, CatalogueError> {
        let id = source.id;
        let (list, validators) =
            if let Some((query, category)) = search::parse_location(&source.url) {
                (
                    search::run(&self.engines.for_calls(), &query, category.as_deref()).await?,
                    None,
                )
            } else {
                let fetched = self
                    .fetcher
                    .fetch(
                        &source.url,
                        source.etag.as_deref(),
                        source.last_modified.as_deref(),
                    )
                    .await?;
                let (body, etag, last_modified) = match fetched {
                    Fetched::NotModified => {
                        self.record_unchanged(SourceTable::Channels, id).await?;
                        return Ok(RefreshOutcome::Unchanged);
                    }
                    Fetched::Fresh {
                        body,
                        etag,
                        last_modified,
                    } => (body, etag, last_modified),
                };
                let bytes = match body {
                    Body::Bytes(b) => b,
                    Body::File(path, _guard) => tokio::fs::read(&path)
                        .await
                        .map_err(|e| FetchError::Io(e.to_string()))?,
                };
                let kind = SourceKind::parse(&source.kind);
                let list = tokio::task::spawn_blocking(move || sources::parse(&bytes, kind))
                    .await
                    .map_err(|e| StoreError::Task(e.to_string()))?;
                (list, Some((etag, last_modified)))
            };
        let ParsedList { entries, skipped } = list;
        let by_name = self.settings.epg.match_display_names;
        if entries.is_empty() {
            // An empty list is far more likely a broken download than a source that
            // really dropped every channel: keep the catalogue as it is.
            return Err(CatalogueError::Empty(skipped));
        }
        let report = self
            .store
            .run(move |c| {
                let report = refresh::apply(c, id, &entries, skipped)?;
                // New channels may match the guide: keep the mapping current.
                if let Err(e) = crate::epg::remap(c, by_name) {
                    tracing::warn!(error = %e, "guide mapping failed after a channel refresh");
                }
                if let Some((etag, lm)) = &validators {
                    source_rows::set_validators(
                        c,
                        SourceTable::Channels,
                        id,
                        etag.as_deref(),
                        lm.as_deref(),
                    )?;
                }
                Ok(report)
            })
            .await?;
        Ok(RefreshOutcome::Applied(report))
    }

    /// Ids of the enabled sources of `table` to refresh: all of them, or only those
    /// whose interval (`default_secs` unless their own) has passed.
    pub(crate) async fn refresh_targets(
        &self,
        table: SourceTable,
        only_due: bool,
        default_secs: i64,
    ) -> Vec<i64> {
        let listed = self
            .store
            .run(move |c| match only_due {
                true => source_rows::due(c, table, now_epoch(), default_secs),
                false => source_rows::list(c, table),
            })
            .await;
        match listed {
            Ok(sources) => sources
                .into_iter()
                .filter(|s| s.enabled)
                .map(|s| s.id)
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, ?table, "cannot list sources to refresh");
                Vec::new()
            }
        }
    }

    /// Refreshes every enabled channel source whose interval has passed.
    pub async fn refresh_due_sources(&self) {
        let default = self.settings.sources.refresh_interval.as_secs() as i64;
        for id in self
            .refresh_targets(SourceTable::Channels, true, default)
            .await
        {
            let _ = self.refresh_source(id).await;
        }
    }

    /// Refreshes every enabled channel source now.
    pub async fn refresh_all_sources(&self) {
        for id in self.refresh_targets(SourceTable::Channels, false, 0).await {
            let _ = self.refresh_source(id).await;
        }
    }
}

/// Checks a source's URL before it is stored.
pub fn validate_source_input(input: &SourceInput, table: SourceTable) -> Result<(), StoreError> {
    let Some(url) = input.url.as_deref().map(str::trim) else {
        return Err(StoreError::Invalid("url is required".into()));
    };
    if url.is_empty() || url.len() > 2000 || url.chars().any(char::is_control) {
        return Err(StoreError::Invalid(
            "url must be 1 to 2000 printable characters".into(),
        ));
    }
    let is_search = url.starts_with("search:");
    if is_search && (table == SourceTable::Epg || search::parse_location(url).is_none()) {
        return Err(StoreError::Invalid(
            "url: a search source is `search:<query>`, for channels only".into(),
        ));
    }
    let has_scheme = url.contains("://");
    if has_scheme && fetch::http_url(url).is_none() && !url.starts_with("file://") {
        return Err(StoreError::Invalid(
            "url must be http(s)://, file:// or a local path".into(),
        ));
    }
    if let Some(kind) = &input.kind
        && !matches!(
            kind.as_str(),
            "auto" | "m3u" | "json" | "html" | "search" | "xmltv"
        )
    {
        return Err(StoreError::Invalid(
            "kind must be auto, m3u, json, html or search".into(),
        ));
    }
    if let Some(name) = &input.name
        && (name.chars().count() > 200 || name.chars().any(char::is_control))
    {
        return Err(StoreError::Invalid(
            "name must be at most 200 printable characters".into(),
        ));
    }
    Ok(())
}
