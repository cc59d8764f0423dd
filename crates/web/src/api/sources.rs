//! `/api/scraper/*` and `/api/epg/*`: channel and guide sources, and refreshing them.

use acextream_core::catalogue::{CatalogueError, refresh};
use acextream_core::jobs::Target;
use acextream_core::store::now_epoch;
use acextream_core::store::sources::{self as rows, SourceInput, SourceTable};
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Registers the source routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/scraper/sources")
            .route(web::get().to(list_channel_sources))
            .route(web::post().to(add_channel_source)),
    )
    .service(
        web::resource("/scraper/sources/{id}")
            .route(web::get().to(get_channel_source))
            .route(web::put().to(update_channel_source))
            .route(web::delete().to(delete_channel_source)),
    )
    .service(web::resource("/scraper/trigger").route(web::post().to(trigger_channel_sources)))
    .service(
        web::resource("/epg/sources")
            .route(web::get().to(list_guide_sources))
            .route(web::post().to(add_guide_source)),
    )
    .service(
        web::resource("/epg/sources/{id}")
            .route(web::get().to(get_guide_source))
            .route(web::put().to(update_guide_source))
            .route(web::delete().to(delete_guide_source)),
    )
    .service(web::resource("/epg/update").route(web::post().to(trigger_guides)))
    .service(web::resource("/epg/report").route(web::get().to(guide_report)));
}

/// `?wait=true` runs a refresh before answering (scripts, tests); otherwise it is
/// queued and the answer is immediate.
#[derive(Debug, Default, Deserialize)]
struct WaitQuery {
    #[serde(default)]
    wait: bool,
}

/// Which source to refresh (all when absent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerBody {
    source_id: Option<i64>,
}

fn catalogue_error(e: CatalogueError) -> ApiError {
    match e {
        CatalogueError::Store(s) => s.into(),
        other => ApiError::BadGateway(other.to_string()),
    }
}

async fn list(state: &AppState, table: SourceTable) -> Result<HttpResponse, ApiError> {
    let sources = state.store.run(move |c| rows::list(c, table)).await?;
    Ok(HttpResponse::Ok().json(json!({ "sources": sources })))
}

async fn get(state: &AppState, table: SourceTable, id: i64) -> Result<HttpResponse, ApiError> {
    let source = state.store.run(move |c| rows::get(c, table, id)).await?;
    Ok(HttpResponse::Ok().json(source))
}

async fn list_channel_sources(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    list(&state, SourceTable::Channels).await
}

async fn list_guide_sources(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    list(&state, SourceTable::Epg).await
}

async fn get_channel_source(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    get(&state, SourceTable::Channels, id.into_inner()).await
}

async fn get_guide_source(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    get(&state, SourceTable::Epg, id.into_inner()).await
}

async fn add_channel_source(
    state: web::Data<AppState>,
    body: web::Json<SourceInput>,
) -> Result<HttpResponse, ApiError> {
    let source = state.catalogue.add_source(body.into_inner()).await?;
    state.jobs.refresh_sources(Target::One(source.id));
    Ok(HttpResponse::Created().json(source))
}

async fn add_guide_source(
    state: web::Data<AppState>,
    body: web::Json<SourceInput>,
) -> Result<HttpResponse, ApiError> {
    let source = state.catalogue.add_guide_source(body.into_inner()).await?;
    state.jobs.refresh_guides(Target::One(source.id));
    Ok(HttpResponse::Created().json(source))
}

async fn update(
    state: &AppState,
    table: SourceTable,
    id: i64,
    input: SourceInput,
) -> Result<HttpResponse, ApiError> {
    if input.url.is_some() {
        acextream_core::catalogue::validate_source_input(&input, table)?;
    }
    let source = state
        .store
        .run(move |c| rows::update(c, table, id, &input))
        .await?;
    Ok(HttpResponse::Ok().json(source))
}

async fn update_channel_source(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<SourceInput>,
) -> Result<HttpResponse, ApiError> {
    update(
        &state,
        SourceTable::Channels,
        id.into_inner(),
        body.into_inner(),
    )
    .await
}

async fn update_guide_source(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<SourceInput>,
) -> Result<HttpResponse, ApiError> {
    update(&state, SourceTable::Epg, id.into_inner(), body.into_inner()).await
}

async fn delete_channel_source(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .store
        .run(move |c| {
            let tx = acextream_core::store::immediate(c)?;
            rows::delete(&tx, SourceTable::Channels, id)?;
            // Channels only this source listed become inactive (kept for their ids).
            refresh::deactivate_orphans(&tx, now_epoch())?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn delete_guide_source(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .store
        .run(move |c| rows::delete(c, SourceTable::Epg, id))
        .await?;
    state
        .catalogue
        .remap_guide()
        .await
        .map_err(catalogue_error)?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which sources a trigger names: every one for an empty body, else the JSON
/// body's `source_id` (`{}` and `{"source_id": null}` also mean all). Any other
/// body is refused: read as "no body" it would refresh every source when the
/// caller meant one.
/// The content type is not checked, so `curl -d '{"source_id":1}'` works.
fn target(body: &[u8]) -> Result<Target, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Target::All);
    }
    let body: TriggerBody = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    Ok(match body.source_id {
        Some(id) => Target::One(id),
        None => Target::All,
    })
}

/// Queues a refresh, or with `?wait=true` runs it and answers its outcome.
async fn trigger(
    state: &AppState,
    table: SourceTable,
    wait: bool,
    target: Target,
) -> Result<HttpResponse, ApiError> {
    if let Target::One(id) = target {
        // An unknown id is a 404 now, not a queued job that silently does nothing.
        state.store.run(move |c| rows::get(c, table, id)).await?;
    }
    if !wait {
        match table {
            SourceTable::Channels => state.jobs.refresh_sources(target),
            SourceTable::Epg => state.jobs.refresh_guides(target),
        }
        return Ok(HttpResponse::Accepted().json(json!({ "queued": true })));
    }
    let outcome = match (table, target) {
        (SourceTable::Channels, Target::One(id)) => serde_json::to_value(
            state
                .catalogue
                .refresh_source(id)
                .await
                .map_err(catalogue_error)?,
        ),
        (SourceTable::Epg, Target::One(id)) => serde_json::to_value(
            state
                .catalogue
                .refresh_guide(id)
                .await
                .map_err(catalogue_error)?,
        ),
        (SourceTable::Channels, Target::All) => {
            state.catalogue.refresh_all_sources().await;
            return list(state, table).await;
        }
        (SourceTable::Epg, Target::All) => {
            state.catalogue.refresh_all_guides().await;
            return list(state, table).await;
        }
    };
    Ok(HttpResponse::Ok().json(outcome.map_err(|e| ApiError::Internal(e.into()))?))
}

async fn trigger_channel_sources(
    state: web::Data<AppState>,
    query: web::Query<WaitQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    trigger(&state, SourceTable::Channels, query.wait, target(&body)?).await
}

async fn trigger_guides(
    state: web::Data<AppState>,
    query: web::Query<WaitQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    trigger(&state, SourceTable::Epg, query.wait, target(&body)?).await
}

async fn guide_report(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let without = state
        .store
        .run(|c| Ok(acextream_core::epg::channels_without_guide(c)))
        .await?
        .map_err(|e| ApiError::Internal(anyhow::anyhow!(e.to_string())))?;
    let channels: Vec<_> = without
        .into_iter()
        .map(|(id, name)| json!({"id": id, "name": name}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "without_guide": channels.len(), "channels": channels })))
}
