//! Spawning a simulator on port 0 and talking to it like a proxy would.

use std::time::{Duration, Instant};

use acestream_sim::ts::{PACKET_SIZE, TsChecker};
use acestream_sim::{Content, Policies, SimConfig, Simulator};
use serde_json::Value;

pub struct TestSim {
    pub sim: Simulator,
    pub http: reqwest::Client,
}

/// A well-behaved 4 Mbit/s channel named `name`.
pub fn channel(name: &str) -> Content {
    Content::new(name)
}

pub async fn spawn_sim(catalogue: Vec<Content>) -> TestSim {
    spawn_sim_with(catalogue, Policies::default()).await
}

pub async fn spawn_sim_with(catalogue: Vec<Content>, policies: Policies) -> TestSim {
    let config = SimConfig {
        catalogue,
        policies,
        ..SimConfig::default()
    };
    let sim = Simulator::start(config).await.unwrap();
    TestSim {
        sim,
        http: client(),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A session as getstream answered it.
#[derive(Debug, Clone)]
pub struct Started {
    pub playback_url: String,
    pub stat_url: String,
    pub command_url: String,
    pub session_id: String,
}

impl TestSim {
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.sim.url(), path_and_query)
    }

    pub async fn get_json(&self, url: &str) -> Value {
        let resp = self.http.get(url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "GET {url}");
        resp.json().await.unwrap()
    }

    /// The raw getstream envelope for `param=value` with `pid`.
    pub async fn getstream_raw(&self, param: &str, value: &str, pid: Option<&str>) -> Value {
        let mut url = format!(
            "{}/ace/getstream?{param}={value}&format=json",
            self.sim.url()
        );
        if let Some(pid) = pid {
            url.push_str(&format!("&pid={pid}"));
        }
        self.get_json(&url).await
    }

    /// Starts a session by content id with `pid`; panics on an engine error.
    pub async fn start(&self, content: &Content, pid: &str) -> Started {
        let json = self
            .getstream_raw("id", &content.content_id, Some(pid))
            .await;
        assert!(json["error"].is_null(), "getstream failed: {json}");
        let r = &json["response"];
        Started {
            playback_url: r["playback_url"].as_str().unwrap().to_owned(),
            stat_url: r["stat_url"].as_str().unwrap().to_owned(),
            command_url: r["command_url"].as_str().unwrap().to_owned(),
            session_id: r["playback_session_id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn stop(&self, s: &Started) -> Value {
        self.get_json(&format!("{}?method=stop", s.command_url))
            .await
    }

    pub async fn open(&self, s: &Started) -> reqwest::Response {
        let resp = self.http.get(&s.playback_url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp
    }
}

/// What a client saw of a playback body.
#[derive(Debug, Default)]
pub struct Seen {
    pub checker: TsChecker,
    pub chunk_sizes: Vec<usize>,
    pub bytes: usize,
    /// The body ended (cleanly or not) before the read stopped.
    pub ended: bool,
    /// Longest wait between two chunks.
    pub longest_pause: Duration,
}

impl Seen {
    pub fn any_unaligned_chunk(&self) -> bool {
        self.chunk_sizes.iter().any(|n| n % PACKET_SIZE != 0)
    }
}

/// Reads the body for `dur` (or until it ends).
pub async fn read_for(resp: &mut reqwest::Response, dur: Duration) -> Seen {
    read_until(resp, dur, usize::MAX).await
}

/// Reads until `dur` passed, `max_bytes` arrived, or the body ended.
pub async fn read_until(resp: &mut reqwest::Response, dur: Duration, max_bytes: usize) -> Seen {
    let mut seen = Seen::default();
    let deadline = Instant::now() + dur;
    let mut last = Instant::now();
    while seen.bytes < max_bytes {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match tokio::time::timeout(left, resp.chunk()).await {
            Err(_) => break,
            Ok(Ok(Some(chunk))) => {
                seen.longest_pause = seen.longest_pause.max(last.elapsed());
                last = Instant::now();
                seen.checker.feed(&chunk);
                seen.chunk_sizes.push(chunk.len());
                seen.bytes += chunk.len();
            }
            Ok(Ok(None)) | Ok(Err(_)) => {
                seen.ended = true;
                break;
            }
        }
    }
    seen
}

/// Polls `cond` every 50 ms until it holds or `within` passes.
pub async fn eventually(within: Duration, mut cond: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond().await
}
