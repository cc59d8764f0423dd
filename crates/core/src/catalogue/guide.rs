//! Guide sources: download an XMLTV feed to a file, import it (in short batches,
//! swapped in at the end, replacing only that source's programmes), then recompute which guide channel
//! each channel shows.

use std::io::BufReader;

use serde::Serialize;

use super::{Body, Catalogue, CatalogueError, Fetched, validate_source_input};
use crate::epg::{self, ImportReport, MappingReport, Window};
use crate::store::sources::{self as source_rows, Source, SourceInput, SourceTable};
use crate::store::{StoreError, now_epoch};

/// What a guide refresh did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum GuideOutcome {
    /// The server said the feed did not change.
    Unchanged,
    /// The feed was imported and the mapping recomputed.
    Imported {
        /// The import.
        import: ImportReport,
        /// The mapping afterwards.
        mapping: MappingReport,
    },
}

impl Catalogue {
    /// Adds a guide source (or returns the existing one with that URL).
    pub async fn add_guide_source(&self, input: SourceInput) -> Result<Source, StoreError> {
        validate_source_input(&input, SourceTable::Epg)?;
        self.store
            .run(move |c| {
                let url = input.url.clone().unwrap_or_default();
                match source_rows::by_url(c, SourceTable::Epg, &url)? {
                    Some(existing) => Ok(existing),
                    None => source_rows::insert(c, SourceTable::Epg, &input),
                }
            })
            .await
    }

    /// Recomputes the channel → guide mapping.
    pub async fn remap_guide(&self) -> Result<MappingReport, CatalogueError> {
        let by_name = self.settings.epg.match_display_names;
        self.store
            .run(move |c| Ok(epg::remap(c, by_name)))
            .await?
            .map_err(|e| CatalogueError::Guide(e.to_string()))
    }

    /// Refreshes one guide source now, recording the result on it.
    pub async fn refresh_guide(&self, id: i64) -> Result<GuideOutcome, CatalogueError> {
        let _one_at_a_time = self.guides_lock.lock().await;
        let source = self.begin_refresh(SourceTable::Epg, id).await?;
        let result = self.refresh_guide_inner(&source).await;
        match &result {
            Ok(GuideOutcome::Imported { import, mapping }) => tracing::info!(
                source = id,
                channels = import.channels,
                programmes = import.programmes,
                mapped = mapping.mapped,
                unmapped = mapping.unmapped.len(),
                "guide source imported"
            ),
            Ok(GuideOutcome::Unchanged) => tracing::info!(source = id, "guide source unchanged"),
            Err(e) => self.record_failure(SourceTable::Epg, id, e).await?,
        }
        result
    }

    async fn refresh_guide_inner(&self, source: &Source) -> Result<GuideOutcome, CatalogueError> {
        let id = source.id;
        let fetched = self
            .fetcher
            .fetch_to_file(
                &source.url,
                source.etag.as_deref(),
                source.last_modified.as_deref(),
            )
            .await?;
        let (body, etag, last_modified) = match fetched {
            Fetched::NotModified => {
                self.record_unchanged(SourceTable::Epg, id).await?;
                return Ok(GuideOutcome::Unchanged);
            }
            Fetched::Fresh {
                body,
                etag,
                last_modified,
            } => (body, etag, last_modified),
        };
        let epg = &self.settings.epg;
        let window = Window::around(now_epoch(), epg.days_back, epg.days_ahead);
        let import = self
            .store
            .run(move |c| {
                // A temporary download's guard lives until the import is done.
                let (source, _guard): (Result<Box<dyn std::io::Read + Send>, String>, _) =
                    match body {
                        Body::File(path, guard) => (
                            std::fs::File::open(&path)
                                .map(|f| {
                                    Box::new(BufReader::new(f)) as Box<dyn std::io::Read + Send>
                                })
                                .map_err(|e| format!("cannot open the downloaded feed: {e}")),
                            guard,
                        ),
                        Body::Bytes(bytes) => {
                            (Ok(Box::new(std::io::Cursor::new(bytes)) as _), None)
                        }
                    };
                let outcome = source
                    .and_then(|r| epg::decoded(r).map_err(|e| e.to_string()))
                    .and_then(|reader| {
                        epg::import_source(c, id, reader, window).map_err(|e| e.to_string())
                    });
                if outcome.is_ok() {
                    source_rows::set_validators(
                        c,
                        SourceTable::Epg,
                        id,
                        etag.as_deref(),
                        last_modified.as_deref(),
                    )?;
                }
                Ok(outcome)
            })
            .await?
            .map_err(CatalogueError::Guide)?;
        let mapping = self.remap_guide().await?;
        Ok(GuideOutcome::Imported { import, mapping })
    }

    /// Refreshes every enabled guide source whose interval has passed.
    pub async fn refresh_due_guides(&self) {
        let default = self.settings.epg.refresh_interval.as_secs() as i64;
        for id in self.refresh_targets(SourceTable::Epg, true, default).await {
            let _ = self.refresh_guide(id).await;
        }
    }

    /// Refreshes every enabled guide source now.
    pub async fn refresh_all_guides(&self) {
        for id in self.refresh_targets(SourceTable::Epg, false, 0).await {
            let _ = self.refresh_guide(id).await;
        }
    }
}
