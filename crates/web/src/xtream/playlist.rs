//! `get.php`: the M3U playlist of the account's channels (see `m3u_writer` for the
//! format and its escaping).

use acextream_core::store::channels;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::base_url::BaseUrl;
use super::creds::{MAX_FORM_BYTES, XtreamParams};
use super::m3u_writer::{PlaylistKind, PlaylistLinks, write_playlist};
use crate::error::ApiError;
use crate::state::AppState;

/// `GET|POST /get.php?username&password&type=m3u|m3u_plus&output=ts|m3u8|hls`.
pub async fn get_php(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let params = XtreamParams::from_request(&req, &body[..body.len().min(MAX_FORM_BYTES)]);
    super::authorize(&state, &params).await?;
    let kind = playlist_kind(params.get("type"))?;
    let ext = output_ext(params.get("output"), state.settings.hls.enabled)?;
    let origin = BaseUrl::of(&req, &state.settings).origin();
    // Echo the credentials as the player sent them: it matches its own URLs to them.
    let username = params.get("username").unwrap_or_default().to_owned();
    let password = params.get("password").unwrap_or_default().to_owned();
    // Reading thousands of rows and formatting them is blocking work: both happen on
    // the store's blocking thread.
    let text = state
        .store
        .run(move |c| {
            let list = channels::playable_with_guide(c)?;
            let archived = acextream_core::store::archive::archived(c)?;
            let links = PlaylistLinks {
                origin: &origin,
                username: &username,
                password: &password,
                ext,
                archived: &archived,
            };
            Ok(write_playlist(kind, links, &list))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("audio/x-mpegurl")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"playlist.m3u\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}

/// `type`: `m3u_plus` when absent or empty.
fn playlist_kind(value: Option<&str>) -> Result<PlaylistKind, ApiError> {
    match value.map(str::trim).unwrap_or("") {
        "" => Ok(PlaylistKind::M3uPlus),
        t if t.eq_ignore_ascii_case("m3u_plus") => Ok(PlaylistKind::M3uPlus),
        t if t.eq_ignore_ascii_case("m3u") => Ok(PlaylistKind::M3u),
        other => Err(ApiError::BadRequest(format!(
            "unknown type {other:?}: use m3u or m3u_plus"
        ))),
    }
}

/// `output`: MPEG-TS (`ts`, or `mpegts` as some apps spell it) when absent or
/// empty; `m3u8` or `hls` lists the channels' `.m3u8` (HLS) URLs — a known format
/// that is a 404 when `hls.enabled` is off, hence not a 400.
fn output_ext(value: Option<&str>, hls: bool) -> Result<&'static str, ApiError> {
    match value
        .map(str::trim)
        .unwrap_or("")
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "ts" | "mpegts" => Ok("ts"),
        "m3u8" | "hls" if hls => Ok("m3u8"),
        "m3u8" | "hls" => Err(ApiError::NotFound(
            "HLS output is turned off on this server: use output=ts".into(),
        )),
        other => Err(ApiError::BadRequest(format!(
            "unknown output {other:?}: use output=ts or output=m3u8"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_and_output_have_defaults_and_reasons() {
        assert_eq!(playlist_kind(None).unwrap(), PlaylistKind::M3uPlus);
        assert_eq!(playlist_kind(Some("")).unwrap(), PlaylistKind::M3uPlus);
        assert_eq!(playlist_kind(Some("M3U")).unwrap(), PlaylistKind::M3u);
        assert!(matches!(
            playlist_kind(Some("xspf")),
            Err(ApiError::BadRequest(_))
        ));
        assert_eq!(output_ext(None, true).unwrap(), "ts");
        assert_eq!(output_ext(Some("TS"), true).unwrap(), "ts");
        assert_eq!(output_ext(Some("mpegts"), true).unwrap(), "ts");
        assert_eq!(output_ext(Some("hls"), true).unwrap(), "m3u8");
        assert_eq!(output_ext(Some("m3u8"), true).unwrap(), "m3u8");
        assert!(matches!(
            output_ext(Some("m3u8"), false),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            output_ext(Some("rtmp"), true),
            Err(ApiError::BadRequest(_))
        ));
    }
}
