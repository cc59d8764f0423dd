//! `/api/users*`: accounts for admins — list, create, edit (password reset
//! included), delete, the player links of an account and its open streams.
//!
//! The replaced system's field names are accepted too (`is_active` for `enabled`,
//! `expiry_date` for `expires`; `email` is accepted and ignored), so its admin
//! scripts keep working.
//!
//! Every change drops the account from the login cache at once
//! ([`acextream_core::accounts::Accounts::forget`]), so a reset password or a
//! disabled account stops working on the very next request, not after the cache's TTL.

mod links;
mod streams;

use acextream_core::accounts::{AccountSpec, MAX_EXPIRES_AT, validate_password, validate_username};
use acextream_core::store::users::{self, User, UserEdit};
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::fields::{Fields, invalid};
use crate::error::ApiError;
use crate::state::AppState;

/// Largest `max_connections` accepted (0 is unlimited).
const MAX_CONNECTIONS: u32 = 10_000;
/// Fields of a create or edit body.
const FIELDS: &[&str] = &[
    "username",
    "password",
    "max_connections",
    "expires",
    "is_admin",
    "is_trial",
    "notes",
    "enabled",
    // The replaced system's names.
    "is_active",
    "expiry_date",
    "email",
];

/// Registers the user routes.
pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/users/{id}")
            .route(web::get().to(get))
            .route(web::put().to(edit))
            .route(web::delete().to(delete)),
    )
    .service(
        web::resource("/users/{id}/links")
            .route(web::get().to(links::get))
            .route(web::post().to(links::post)),
    )
    .service(web::resource("/users/{id}/streams").route(web::get().to(streams::list)));
}

/// An account as admins see it: never the hash (the `User` serialisation skips
/// it), plus its open streams now and its expiry as a date.
fn view(state: &AppState, u: &User) -> Value {
    let mut v = json!(u);
    let tz = state.settings.time_zone();
    // The last day the account works: expiry is the start of the next day.
    let date = u
        .expires_at
        .and_then(|t| jiff::Timestamp::from_second(t - 1).ok())
        .map(|t| t.to_zoned(tz).date().to_string());
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "active_cons".into(),
            json!(state.connections.active(&u.username)),
        );
        obj.insert("expires".into(), json!(date));
        obj.insert(
            "expired".into(),
            json!(u.is_expired(acextream_core::store::now_epoch())),
        );
    }
    v
}

/// `expires`: null or "" (never), epoch seconds (number or digits), `YYYY-MM-DD`
/// (the account works through that day, in `server.timezone`), or an RFC 3339 instant.
fn parse_expires(v: &Value, tz: &jiff::tz::TimeZone) -> Result<Option<i64>, ApiError> {
    let bad = || {
        invalid(
            "expires",
            "must be YYYY-MM-DD, epoch seconds, an RFC 3339 time or null",
        )
    };
    let text = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => return n.as_i64().ok_or_else(bad).and_then(in_range).map(Some),
        Value::String(s) => s.trim(),
        _ => return Err(bad()),
    };
    if text.is_empty() {
        return Ok(None);
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .map_err(|_| out_of_range())
            .and_then(in_range)
            .map(Some);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        let next = date.tomorrow().map_err(|_| out_of_range())?;
        let start = next.to_zoned(tz.clone()).map_err(|_| bad())?;
        return in_range(start.timestamp().as_second()).map(Some);
    }
    text.parse::<jiff::Timestamp>()
        .map_err(|_| bad())
        .and_then(|t| in_range(t.as_second()))
        .map(Some)
}

fn out_of_range() -> ApiError {
    invalid("expires", "must be between 1970-01-01 and 9999-12-31")
}

/// An expiry far outside any real date would read as "never expires" in the view
/// (and i64::MAX cannot be shown as a date at all): refuse it.
fn in_range(t: i64) -> Result<i64, ApiError> {
    if (1..=MAX_EXPIRES_AT).contains(&t) {
        Ok(t)
    } else {
        Err(out_of_range())
    }
}

/// The replaced system's `expiry_date`: null or "" (never), or an ISO date or
/// date-time (naive means UTC) at which the account stops; stored as ours, the
/// first second after the last day it works in `server.timezone`.
fn parse_expiry_date(v: &Value, tz: &jiff::tz::TimeZone) -> Result<Option<i64>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => acextream_core::migrate::legacy_expiry(s, tz)
            .map(Some)
            .map_err(|e| invalid("expiry_date", &e)),
        _ => Err(invalid(
            "expiry_date",
            "must be an ISO date or date-time, or null",
        )),
    }
}

/// One of two spellings of a field, never both.
fn either<T>(
    f: &Fields,
    ours: &str,
    theirs: &str,
    read: impl Fn(&Fields, &str) -> Result<Option<T>, ApiError>,
) -> Result<Option<T>, ApiError> {
    match (read(f, ours)?, read(f, theirs)?) {
        (Some(_), Some(_)) => Err(invalid(ours, &format!("give {ours} or {theirs}, not both"))),
        (a, b) => Ok(a.or(b)),
    }
}

/// The account edits of a body (everything but the password).
fn edit_of(f: &Fields, tz: &jiff::tz::TimeZone) -> Result<UserEdit, ApiError> {
    let username = f.string("username")?;
    if let Some(name) = &username {
        validate_username(name)?;
    }
    // The replaced system sent an e-mail address; acextream has no use for it.
    if !matches!(f.raw("email"), None | Some(Value::Null | Value::String(_))) {
        return Err(invalid("email", "must be a string"));
    }
    let expires_at = either(f, "expires", "expiry_date", |f, name| {
        f.raw(name)
            .map(|v| match name {
                "expires" => parse_expires(v, tz),
                _ => parse_expiry_date(v, tz),
            })
            .transpose()
    })?;
    Ok(UserEdit {
        username,
        enabled: either(f, "enabled", "is_active", Fields::bool)?,
        is_admin: f.bool("is_admin")?,
        is_trial: f.bool("is_trial")?,
        max_connections: f.count("max_connections", MAX_CONNECTIONS)?,
        expires_at,
        notes: f.string("notes")?,
    })
}

pub(super) async fn user(state: &AppState, id: i64) -> Result<User, ApiError> {
    state
        .store
        .run(move |c| users::by_id(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))
}

async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = state.accounts.list().await?;
    let rows: Vec<Value> = all.iter().map(|u| view(&state, u)).collect();
    Ok(HttpResponse::Ok().json(json!({ "users": rows })))
}

async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let u = user(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view(&state, &u)))
}

async fn create(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let f = Fields::new(body.into_inner(), FIELDS)?;
    let tz = state.settings.time_zone();
    let edit = edit_of(&f, &tz)?;
    let username = edit
        .username
        .clone()
        .ok_or_else(|| invalid("username", "is required"))?;
    let password = f
        .string("password")?
        .ok_or_else(|| invalid("password", "is required"))?;
    let spec = AccountSpec {
        username,
        password,
        is_admin: edit.is_admin.unwrap_or(false),
        is_trial: edit.is_trial.unwrap_or(false),
        // One stream unless told otherwise, as the schema's default: an account
        // made in a hurry should not be unlimited.
        max_connections: edit.max_connections.unwrap_or(1),
        expires_at: edit.expires_at.flatten(),
        notes: edit.notes.clone().unwrap_or_default(),
    };
    let mut created = state.accounts.create(spec).await?;
    if edit.enabled == Some(false) {
        let id = created.id;
        let off = UserEdit {
            enabled: Some(false),
            ..UserEdit::default()
        };
        created = state.store.run(move |c| users::update(c, id, &off)).await?;
        state.accounts.forget(&created.username);
    }
    Ok(HttpResponse::Created().json(view(&state, &created)))
}

async fn edit(
    state: web::Data<AppState>,
    id: web::Path<i64>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let f = Fields::new(body.into_inner(), FIELDS)?;
    let edit = edit_of(&f, &state.settings.time_zone())?;
    let password = f.string("password")?;
    // Checked before anything is written, so a bad password changes nothing.
    if let Some(p) = &password {
        validate_password(p)?;
    }
    let before = user(&state, id).await?;
    let after = state
        .store
        .run(move |c| users::update(c, id, &edit))
        .await?;
    if let Some(p) = &password {
        state.accounts.set_password(&after.username, p).await?;
    }
    state.accounts.forget(&before.username);
    state.accounts.forget(&after.username);
    // A disabled, expired, renamed or re-passworded account loses its open streams
    // now, not when the player next reconnects.
    let now = acextream_core::store::now_epoch();
    if password.is_some()
        || before.username != after.username
        || !after.enabled
        || after.is_expired(now)
    {
        state.connections.kick(&before.username);
    }
    Ok(HttpResponse::Ok().json(view(&state, &after)))
}

async fn delete(state: web::Data<AppState>, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let gone = state.store.run(move |c| users::delete_by_id(c, id)).await?;
    state.accounts.forget(&gone.username);
    state.connections.kick(&gone.username);
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_dates_epochs_instants_and_never() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(parse_expires(&json!(null), &utc).unwrap(), None);
        assert_eq!(parse_expires(&json!(""), &utc).unwrap(), None);
        assert_eq!(
            parse_expires(&json!(1_900_000_000), &utc).unwrap(),
            Some(1_900_000_000)
        );
        assert_eq!(
            parse_expires(&json!("1900000000"), &utc).unwrap(),
            Some(1_900_000_000)
        );
        // Through 2030-01-31: expires at the start of February 1st.
        assert_eq!(
            parse_expires(&json!("2030-01-31"), &utc).unwrap(),
            Some(1_896_134_400)
        );
        assert_eq!(
            parse_expires(&json!("2030-02-01T00:00:00Z"), &utc).unwrap(),
            Some(1_896_134_400)
        );
        for bad in [
            json!("tomorrow"),
            json!(-5),
            json!(true),
            json!("2030-13-01"),
        ] {
            let err = parse_expires(&bad, &utc).unwrap_err().to_string();
            assert!(err.starts_with("expires:"), "{err}");
        }
    }

    #[test]
    fn absurd_expiries_are_refused_instead_of_reading_as_never() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            parse_expires(&json!(MAX_EXPIRES_AT), &utc).unwrap(),
            Some(MAX_EXPIRES_AT)
        );
        for bad in [
            json!(i64::MAX),
            json!(u64::MAX),
            json!(0),
            json!(MAX_EXPIRES_AT + 1),
            json!(i64::MAX.to_string()),
            json!("99999999999999999999999"),
            json!("9999-12-31"),
            json!("-009999-01-01T00:00:00Z"),
            json!("1969-12-31T00:00:00Z"),
        ] {
            let err = parse_expires(&bad, &utc).unwrap_err().to_string();
            assert!(err.starts_with("expires:"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_replaced_systems_expiry_date_is_an_instant_the_account_stops_at() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(parse_expiry_date(&json!(null), &utc).unwrap(), None);
        assert_eq!(
            parse_expiry_date(&json!("2030-02-01"), &utc).unwrap(),
            Some(1_896_134_400)
        );
        assert_eq!(
            parse_expiry_date(&json!("2030-02-01T12:00:00"), &utc).unwrap(),
            Some(1_896_134_400 + 86_400)
        );
        for bad in [json!("soon"), json!(5), json!("9999-12-31T12:00:00")] {
            let err = parse_expiry_date(&bad, &utc).unwrap_err().to_string();
            assert!(err.starts_with("expiry_date:"), "{bad}: {err}");
        }
    }
}
