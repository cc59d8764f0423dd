//! The AceStream engine's HTTP API, as acextream uses it: the health check,
//! starting a session (`getstream&format=json` with a fresh player id), reading its
//! statistics and stopping it. See shared docs ACESTREAM_ENGINE.md.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::settings::EngineSettings;

pub mod pool;

/// What a channel is to the engine: a content id and a swarm infohash are different
/// things and must be sent as the matching parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ContentKey {
    /// `id=` — a content id (40 hex).
    ContentId(String),
    /// `infohash=` — a BitTorrent swarm infohash (40 hex).
    Infohash(String),
}

impl ContentKey {
    /// The query parameter the engine expects for this key.
    pub fn param(&self) -> &'static str {
        match self {
            ContentKey::ContentId(_) => "id",
            ContentKey::Infohash(_) => "infohash",
        }
    }
    /// The identifier itself.
    pub fn value(&self) -> &str {
        match self {
            ContentKey::ContentId(v) | ContentKey::Infohash(v) => v,
        }
    }
}

/// Why an engine call failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum EngineError {
    /// The engine could not be reached at all.
    #[error("engine unreachable: {0}")]
    Unreachable(String),
    /// The engine did not answer in time.
    #[error("engine did not answer in time")]
    Timeout,
    /// The engine answered with its error envelope (`failed to load content`…).
    #[error("engine error: {0}")]
    Engine(String),
    /// The engine answered with an HTTP error status.
    #[error("engine answered HTTP {0}: {1}")]
    Status(u16, String),
    /// The engine's answer could not be understood.
    #[error("unexpected engine answer: {0}")]
    BadResponse(String),
}

impl From<reqwest::Error> for EngineError {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            EngineError::Timeout
        } else if e.is_connect() {
            EngineError::Unreachable(without_url(&e))
        } else {
            EngineError::BadResponse(without_url(&e))
        }
    }
}

/// reqwest errors quote the URL; engine URLs carry no secrets, but keep lines short.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(i) = s.find(" for url (") {
        s.truncate(i);
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// The engine's version (`/webui/api/service?method=get_version`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineVersion {
    /// Human version, `3.2.15`.
    pub version: String,
    /// Numeric version code.
    #[serde(default)]
    pub code: i64,
    /// Operating system of the engine.
    #[serde(default)]
    pub platform: String,
}

/// A playback session the engine opened for us.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EngineSession {
    /// The endless MPEG-TS body.
    pub playback_url: String,
    /// Session statistics.
    pub stat_url: String,
    /// `?method=stop` ends the session.
    pub command_url: String,
    /// The swarm's infohash (differs from a content id).
    #[serde(default)]
    pub infohash: String,
    /// The engine's id of this playback.
    #[serde(default)]
    pub playback_session_id: String,
    /// Whether the content is live.
    #[serde(default, deserialize_with = "lenient_bool")]
    pub is_live: bool,
}

/// A session's statistics, parsed leniently (spellings differ between versions).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct EngineStat {
    /// `prebuf`, `dl`, …
    pub status: String,
    /// Connected peers.
    pub peers: u64,
    /// Download speed, KB/s.
    pub speed_down: u64,
    /// Upload speed, KB/s.
    pub speed_up: u64,
    /// Bytes downloaded so far.
    pub downloaded: u64,
    /// Bytes uploaded so far.
    pub uploaded: u64,
}

fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
        Value::String(s) => matches!(s.as_str(), "1" | "true"),
        _ => false,
    })
}

/// One result of the engine's content search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchItem {
    /// Channel name.
    pub name: String,
    /// Swarm infohash (played with `infohash=`).
    pub infohash: String,
    /// Categories the engine gives it.
    pub categories: Vec<String>,
}

/// Client of one engine.
#[derive(Clone, Debug)]
pub struct EngineClient {
    base: Url,
    /// For short calls: every request has `request_timeout`.
    http: reqwest::Client,
    /// For getstream and playback: connect timeout only, since a playback body is
    /// endless and getstream may pre-buffer for many seconds; callers bound the wait.
    stream_http: reqwest::Client,
    request_timeout: Duration,
}

impl EngineClient {
    /// A client for the engine in `settings`.
    pub fn new(settings: &EngineSettings) -> Result<Self, EngineError> {
        let build = |timeout: Option<Duration>| {
            let mut b = reqwest::Client::builder()
                // The engine runs next to acextream: a system proxy must not intercept.
                .no_proxy()
                .connect_timeout(Duration::from_secs(3))
                .tcp_nodelay(true)
                .user_agent(concat!("acextream/", env!("CARGO_PKG_VERSION")));
            if let Some(t) = timeout {
                b = b.timeout(t);
            }
            b.build()
                .map_err(|e| EngineError::Unreachable(e.to_string()))
        };
        Ok(Self {
            base: settings.url.clone(),
            http: build(Some(settings.request_timeout))?,
            stream_http: build(None)?,
            request_timeout: settings.request_timeout,
        })
    }

    /// The engine's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, EngineError> {
        self.base
            .join(path)
            .map_err(|e| EngineError::BadResponse(format!("bad engine URL: {e}")))
    }

    /// The engine's version: the health check.
    pub async fn version(&self) -> Result<EngineVersion, EngineError> {
        let url = self.url("/webui/api/service?method=get_version")?;
        let body = self.get_json(&self.http, url).await?;
        let result = envelope(body, "result")?;
        serde_json::from_value(result).map_err(|e| EngineError::BadResponse(e.to_string()))
    }

    /// Starts a playback session for `key` with a fresh random player id. `extra` are
    /// the player's engine parameters (`pid`/`sid`/`format`/`id`/`infohash` are
    /// dropped: the player id is always ours).
    pub async fn start(
        &self,
        key: &ContentKey,
        extra: &[(String, String)],
    ) -> Result<EngineSession, EngineError> {
        let mut url = self.url("/ace/getstream")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair(key.param(), key.value());
            q.append_pair("format", "json");
            q.append_pair("pid", &uuid::Uuid::new_v4().simple().to_string());
            for (k, v) in extra {
                if !is_reserved_param(k) {
                    q.append_pair(k, v);
                }
            }
        }
        let body = self.get_json(&self.stream_http, url).await?;
        let response = envelope(body, "response")?;
        serde_json::from_value(response).map_err(|e| EngineError::BadResponse(e.to_string()))
    }

    /// Opens a session's playback body. The caller bounds how long it waits for
    /// the headers (the engine holds them while it pre-buffers).
    pub async fn open_playback(
        &self,
        playback_url: &str,
    ) -> Result<reqwest::Response, EngineError> {
        let resp = self.stream_http.get(playback_url).send().await?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            return Err(EngineError::Status(status.as_u16(), one_line(&text)));
        }
        Ok(resp)
    }

    /// Stops a session; bounded by the request timeout, so a hanging engine costs
    /// at most that, and only to the task that calls it.
    pub async fn stop(&self, command_url: &str) -> Result<(), EngineError> {
        let mut url =
            Url::parse(command_url).map_err(|e| EngineError::BadResponse(e.to_string()))?;
        url.query_pairs_mut().append_pair("method", "stop");
        let body = self.get_json(&self.http, url).await?;
        envelope(body, "response").map(|_| ())
    }

    /// A session's statistics.
    pub async fn stat(&self, stat_url: &str) -> Result<EngineStat, EngineError> {
        let url = Url::parse(stat_url).map_err(|e| EngineError::BadResponse(e.to_string()))?;
        let body = self.get_json(&self.http, url).await?;
        let r = envelope(body, "response")?;
        let num = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| {
                    r.get(*n)
                        .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
                })
                .unwrap_or(0)
        };
        Ok(EngineStat {
            status: r
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            peers: num(&["peers"]),
            speed_down: num(&["speed_down", "speedDown"]),
            speed_up: num(&["speed_up", "speedUp"]),
            downloaded: num(&["downloaded"]),
            uploaded: num(&["uploaded"]),
        })
    }

    /// The API token some server-API methods need (`get_api_access_token`).
    async fn api_token(&self) -> Result<String, EngineError> {
        let url = self.url("/server/api?api_version=3&method=get_api_access_token")?;
        let body = self.get_json(&self.http, url).await?;
        let result = envelope(body, "result")?;
        Ok(result
            .get("token")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// Whether the engine can load `key` (`get_media_files`): starts no playback.
    /// `Ok(false)` means the engine answered that the content is unavailable; an
    /// unreachable engine is an error, never "offline".
    pub async fn media_files(&self, key: &ContentKey) -> Result<bool, EngineError> {
        let token = self.api_token().await.unwrap_or_default();
        let mut url = self.url("/server/api")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api_version", "3");
            q.append_pair("method", "get_media_files");
            let param = match key {
                ContentKey::ContentId(_) => "content_id",
                ContentKey::Infohash(_) => "infohash",
            };
            q.append_pair(param, key.value());
            if !token.is_empty() {
                q.append_pair("token", &token);
            }
        }
        match self.get_json(&self.http, url).await {
            Ok(body) => match envelope(body, "result") {
                Ok(result) => Ok(result
                    .get("files")
                    .and_then(Value::as_array)
                    .is_some_and(|f| !f.is_empty())),
                Err(EngineError::Engine(_)) | Err(EngineError::BadResponse(_)) => Ok(false),
                Err(e) => Err(e),
            },
            Err(EngineError::Engine(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// One page of the engine's content search: `(total, items)`.
    pub async fn search(
        &self,
        query: &str,
        category: Option<&str>,
        page: u32,
        page_size: u32,
    ) -> Result<(u64, Vec<SearchItem>), EngineError> {
        let token = self.api_token().await.unwrap_or_default();
        let mut url = self.url("/server/api")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api_version", "3");
            q.append_pair("method", "search");
            q.append_pair("query", query);
            q.append_pair("page", &page.to_string());
            q.append_pair("page_size", &page_size.to_string());
            if let Some(c) = category.filter(|c| !c.is_empty()) {
                q.append_pair("category", c);
            }
            if !token.is_empty() {
                q.append_pair("token", &token);
            }
        }
        let body = self.get_json(&self.http, url).await?;
        let result = envelope(body, "result")?;
        let total = result.get("total").and_then(Value::as_u64).unwrap_or(0);
        let mut items = Vec::new();
        // Results are groups (one per channel) of items (one per swarm).
        for group in result
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let group_name = group.get("name").and_then(Value::as_str).unwrap_or("");
            for item in group
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(infohash) = item.get("infohash").and_then(Value::as_str) else {
                    continue;
                };
                let name = item
                    .get("name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .unwrap_or(group_name);
                let categories = item
                    .get("categories")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                items.push(SearchItem {
                    name: name.to_owned(),
                    infohash: infohash.to_ascii_lowercase(),
                    categories,
                });
            }
        }
        Ok((total, items))
    }

    /// The short-call timeout (callers use it to bound their own waits).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    async fn get_json(&self, client: &reqwest::Client, url: Url) -> Result<Value, EngineError> {
        let resp = client.get(url).send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            // Some failures are plain text; some are the envelope with a 4xx/5xx.
            if let Ok(v) = serde_json::from_str::<Value>(&text)
                && let Some(msg) = v.get("error").and_then(Value::as_str)
            {
                return Err(EngineError::Engine(msg.to_owned()));
            }
            return Err(EngineError::Status(status.as_u16(), one_line(&text)));
        }
        serde_json::from_str(&text).map_err(|_| EngineError::BadResponse(one_line(&text)))
    }
}

/// Parameters the engine must only ever get from us.
pub fn is_reserved_param(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "pid" | "sid" | "format" | "id" | "infohash" | "username" | "password" | "token"
    )
}

/// `{"response"|"result": …, "error": null|"…"}` → the payload, or the error.
fn envelope(mut body: Value, field: &str) -> Result<Value, EngineError> {
    if let Some(err) = body.get("error").filter(|e| !e.is_null()) {
        let msg = err
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| err.to_string());
        return Err(EngineError::Engine(msg));
    }
    match body.get_mut(field).map(Value::take) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(EngineError::BadResponse(format!(
            "no {field} in the engine's answer"
        ))),
    }
}

fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    line.chars().take(200).collect()
}
