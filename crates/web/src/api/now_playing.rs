//! `GET /api/guide/now`: what each channel shows now, from its mapped guide —
//! the channel list's "On now" column.
//!
//! `{"<channel_id>": {"title", "start", "stop"}}` (epoch seconds) for the channels
//! with a programme on the air; the others are left out. `?channel=1&channel=2`
//! narrows it to those channels (a page of the list); without it every channel
//! is answered, in one query.

use actix_web::{HttpRequest, HttpResponse, web};
use rusqlite::params;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// Channels one call may name: a page of the channel list is 50.
const MAX_CHANNELS: usize = 500;

/// Registers `/api/guide/now`.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/guide/now").route(web::get().to(now_playing)));
}

/// Programmes on the air at `?1` of mapped channels, by channel then start; `{}`
/// takes a further condition on the channel.
fn on_air_sql(channel: &str) -> String {
    format!(
        "SELECT g.channel_id, p.title, p.start, p.stop
         FROM channel_guide g
         JOIN epg_sources s ON s.id = g.source_id
         JOIN epg_programmes p ON p.source_id = g.source_id AND p.generation = s.generation
                              AND p.xmltv_id = g.xmltv_id
         WHERE p.start <= ?1 AND p.stop > ?1 {channel}
         ORDER BY g.channel_id, p.start"
    )
}

/// Adds every row of `rows` to `out`. Where guides overlap, the programme that
/// started last wins (rows come by start).
fn collect(mut rows: rusqlite::Rows<'_>, out: &mut Map<String, Value>) -> rusqlite::Result<()> {
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let (title, start, stop): (String, i64, i64) = (r.get(1)?, r.get(2)?, r.get(3)?);
        out.insert(
            id.to_string(),
            json!({ "title": title, "start": start, "stop": stop }),
        );
    }
    Ok(())
}

/// The programme on the air at `now` of every mapped channel (`ids` empty) or of
/// the channels `ids`.
pub fn on_air(
    c: &rusqlite::Connection,
    now: i64,
    ids: &[i64],
) -> rusqlite::Result<Map<String, Value>> {
    let mut out = Map::new();
    if ids.is_empty() {
        let mut stmt = c.prepare(&on_air_sql(""))?;
        collect(stmt.query(params![now])?, &mut out)?;
    } else {
        let mut stmt = c.prepare(&on_air_sql("AND g.channel_id = ?2"))?;
        for id in ids {
            collect(stmt.query(params![now, id])?, &mut out)?;
        }
    }
    Ok(out)
}

async fn now_playing(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let named: Vec<&str> = req
        .query_string()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("channel="))
        .collect();
    if named.len() > MAX_CHANNELS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_CHANNELS} channels per call"
        )));
    }
    let ids = named
        .iter()
        .map(|v| v.parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::BadRequest("channel must be a channel id".into()))?;
    let now = jiff::Timestamp::now().as_second();
    let answer = state.store.run(move |c| Ok(on_air(c, now, &ids)?)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two mapped channels and one without a guide; channel 1 has a programme on
    /// the air at 1000 (and a stale generation's one that must stay invisible).
    fn guide() -> (tempfile::TempDir, acextream_core::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = acextream_core::Store::open(&dir.path().join("t.db")).unwrap();
        store
            .run_blocking(|c| {
                c.execute_batch(
                    "INSERT INTO epg_sources (id, name, url, created_at, generation)
                         VALUES (1, 'g', 'http://127.0.0.1/g.xml', 0, 2);
                     INSERT INTO channels (id, name, added_at, updated_at)
                         VALUES (1, 'One', 0, 0), (2, 'Two', 0, 0), (3, 'Three', 0, 0);
                     INSERT INTO channel_guide (channel_id, source_id, xmltv_id, matched_by)
                         VALUES (1, 1, 'one', 'tvg_id'), (2, 1, 'two', 'tvg_id');
                     INSERT INTO epg_programmes (source_id, generation, xmltv_id, start, stop, title)
                         VALUES (1, 2, 'one', 400, 900, 'Earlier'),
                                (1, 2, 'one', 900, 1800, 'News'),
                                (1, 2, 'one', 1800, 2400, 'Later'),
                                (1, 1, 'one', 950, 1500, 'Old generation'),
                                (1, 2, 'two', 2000, 3000, 'Not yet');",
                )?;
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    #[test]
    fn only_programmes_on_the_air_are_answered() {
        let (_dir, store) = guide();
        let all = store.run_blocking(|c| Ok(on_air(c, 1000, &[])?)).unwrap();
        assert_eq!(
            Value::Object(all),
            json!({"1": {"title": "News", "start": 900, "stop": 1800}})
        );
        // A programme's stop is exclusive: at 1800 the next one is on.
        let named = store
            .run_blocking(|c| Ok(on_air(c, 1800, &[1, 3])?))
            .unwrap();
        assert_eq!(named["1"]["title"], "Later");
        assert!(!named.contains_key("3"));
        let other = store.run_blocking(|c| Ok(on_air(c, 2500, &[2])?)).unwrap();
        assert_eq!(other["2"]["title"], "Not yet");
        assert!(!other.contains_key("1"), "channel 1 was not asked for");
    }
}
