//! `/api/channels*`: the catalogue for admins, edits (recorded as overrides that
//! refreshes keep), hand-added channels and the availability check.

use acextream_core::sources::ids::parse_stream_ref;
use acextream_core::store::channels::{self, ChannelEdit, ChannelFilter, NewChannel};
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// Registers the channel routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/channels")
            .route(web::get().to(list))
            .route(web::post().to(add)),
    )
    .service(
        web::resource("/channels/check")
            .route(web::get().to(check_progress))
            .route(web::post().to(start_check)),
    )
    .service(web::resource("/categories").route(web::get().to(categories)))
    .service(web::resource("/categories/{id}").route(web::put().to(edit_category)))
    .service(web::resource("/categories/{id}/merge").route(web::post().to(merge_category)))
    .service(
        web::resource("/channels/{id}")
            .route(web::get().to(get))
            .route(web::put().to(edit))
            .route(web::delete().to(delete)),
    );
}

async fn list(
    state: web::Data<AppState>,
    filter: web::Query<ChannelFilter>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.into_inner();
    let page = state.store.run(move |c| channels::list(c, &filter)).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let channel = state.store.run(move |c| channels::get(c, id)).await?;
    Ok(HttpResponse::Ok().json(channel))
}

async fn edit(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<ChannelEdit>,
) -> Result<HttpResponse, ApiError> {
    let (id, edit) = (id.into_inner(), body.into_inner());
    let remap = edit.tvg_id.is_some() || edit.name.is_some() || edit.enabled.is_some();
    let channel = state
        .store
        .run(move |c| channels::edit(c, id, &edit))
        .await?;
    if remap {
        // The guide mapping depends on the guide id and the name.
        let _ = state.catalogue.remap_guide().await;
    }
    Ok(HttpResponse::Ok().json(channel))
}

async fn add(
    state: web::Data<AppState>,
    body: web::Json<NewChannel>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner();
    let Some(stream) = parse_stream_ref(&new.stream) else {
        return Err(ApiError::BadRequest(
            "stream must be an acestream:// link, a 40-hex content id, an engine URL or an http(s) URL"
                .into(),
        ));
    };
    let channel = state
        .store
        .run(move |c| channels::add_manual(c, &new, &stream))
        .await?;
    let _ = state.catalogue.remap_guide().await;
    Ok(HttpResponse::Created().json(channel))
}

async fn delete(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state.store.run(move |c| channels::delete(c, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn categories(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let cats = state.store.run(|c| channels::categories(c)).await?;
    Ok(HttpResponse::Ok().json(json!({ "categories": cats })))
}

async fn edit_category(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<channels::CategoryEdit>,
) -> Result<HttpResponse, ApiError> {
    let (id, edit) = (id.into_inner(), body.into_inner());
    state
        .store
        .run(move |c| channels::edit_category(c, id, &edit))
        .await?;
    categories(state).await
}

/// `{"into": <category id>}`
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: i64,
}

async fn merge_category(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<MergeBody>,
) -> Result<HttpResponse, ApiError> {
    let (from, into) = (id.into_inner(), body.into);
    state
        .store
        .run(move |c| channels::merge_categories(c, from, into))
        .await?;
    categories(state).await
}

async fn start_check(state: web::Data<AppState>) -> HttpResponse {
    let started = state.jobs.checker().start();
    let progress = state.jobs.checker().progress();
    if started {
        HttpResponse::Accepted().json(progress)
    } else {
        HttpResponse::Conflict().json(json!({
            "error": {"code": "conflict", "message": "a check is already running"},
            "progress": progress,
        }))
    }
}

async fn check_progress(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.jobs.checker().progress())
}
