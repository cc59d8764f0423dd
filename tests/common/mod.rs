//! Helpers shared by the end-to-end tests: the real `acextream` binary started on
//! port 0 with a private database, and in-process applications for finer control.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::zombie_processes
)]

pub mod fixture;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The admin every test daemon is created with.
pub const ADMIN: (&str, &str) = ("admin", "admin-pass-123");

/// A `Command` for the real binary with a private database and no settings file.
pub fn acextream(dir: &Path) -> Command {
    with_test_env(Command::new(env!("CARGO_BIN_EXE_acextream")), dir)
}

/// `cmd` with the environment every test daemon gets (see [`acextream`]).
fn with_test_env(mut cmd: Command, dir: &Path) -> Command {
    cmd.current_dir(dir)
        .env_remove("ACEXTREAM_CONFIG")
        .env_remove("RUST_LOG")
        .env("ACEXTREAM_DATABASE__PATH", dir.join("test.db"))
        .env("ACEXTREAM_ADMIN__PASSWORD", ADMIN.1)
        .env("ACEXTREAM_SERVER__BIND", "127.0.0.1:0")
        .env("ACEXTREAM_MUX__BIND", "127.0.0.1:0")
        // Nothing listens here: tests that need an engine point this at the simulator.
        .env("ACEXTREAM_ENGINE__URL", "http://127.0.0.1:9");
    cmd
}

/// A running `acextream serve`, killed when dropped.
pub struct Daemon {
    pub child: Child,
    pub public: SocketAddr,
    pub mux: SocketAddr,
    pub dir: PathBuf,
    /// Lines the daemon logged after start-up.
    pub log: mpsc::Receiver<String>,
}

impl Daemon {
    /// Starts the binary in `dir` with `env` and waits until both listeners are up.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = acextream(dir);
        cmd.arg("serve");
        Self::spawn(cmd, dir, env)
    }

    /// [`Daemon::start`] through `sh -c '<shell>; exec acextream serve'`, for
    /// limits set with the shell's `ulimit`.
    pub fn start_in_shell(dir: &Path, env: &[(&str, &str)], shell: &str) -> Daemon {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{shell}; exec \"$0\" serve"))
            .arg(env!("CARGO_BIN_EXE_acextream"));
        Self::spawn(with_test_env(cmd, dir), dir, env)
    }

    fn spawn(mut cmd: Command, dir: &Path, env: &[(&str, &str)]) -> Daemon {
        cmd.env("ACEXTREAM_LOG__FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start acextream");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(30))
                .expect("acextream did not start within 30 s");
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["fields"]["message"] == "acextream listening" {
                let public = v["fields"]["public"].as_str().unwrap().parse().unwrap();
                let mux = v["fields"]["mux"].as_str().unwrap().parse().unwrap();
                return Daemon {
                    child,
                    public,
                    mux,
                    dir: dir.to_path_buf(),
                    log: rx,
                };
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.public, path)
    }

    pub fn mux_url(&self, path: &str) -> String {
        format!("http://{}{}", self.mux, path)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `bound`; `None` if it is still running.
    pub fn wait_exit(&mut self, bound: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + bound;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// An admin REST call (HTTP Basic as [`ADMIN`]) with a JSON body; the status and
    /// the JSON answer (`Null` when it is not JSON).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = http()
            .request(method, self.url(path))
            .basic_auth(ADMIN.0, Some(ADMIN.1))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Adds a source (`kind`: "scraper" for channels, "epg" for guides) and
    /// refreshes it; its id.
    pub async fn add_source(&self, kind: &str, url: &str) -> i64 {
        let (status, source) = self
            .admin(
                reqwest::Method::POST,
                &format!("/api/{kind}/sources"),
                serde_json::json!({ "url": url }),
            )
            .await;
        assert_eq!(status, 201, "{source}");
        let id = source["id"].as_i64().unwrap();
        self.refresh(kind, id).await;
        id
    }

    /// Refreshes source `id` of `kind` and waits for it.
    pub async fn refresh(&self, kind: &str, id: i64) {
        let path = match kind {
            "scraper" => "/api/scraper/trigger?wait=true",
            _ => "/api/epg/update?wait=true",
        };
        let (status, body) = self
            .admin(
                reqwest::Method::POST,
                path,
                serde_json::json!({ "source_id": id }),
            )
            .await;
        assert!(status < 300, "{path}: {status} {body}");
    }

    /// Creates a player account.
    pub async fn add_user(&self, name: &str, password: &str, max_connections: u32) {
        let (status, body) = self
            .admin(
                reqwest::Method::POST,
                "/api/users",
                serde_json::json!({
                    "username": name, "password": password, "max_connections": max_connections
                }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    /// Every log line received so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reqwest client that never uses a system proxy.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A client that shows bodies and `Content-Encoding` as sent (no gzip decoding).
pub fn raw_http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .no_gzip()
        .build()
        .unwrap()
}

/// An in-process acextream (both listeners) on port 0, stopped when dropped.
pub struct TestApp {
    /// The app's database file (tests may open it alongside the app).
    pub db: PathBuf,
    pub public: SocketAddr,
    pub mux: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    /// Starts acextream against `engine_url`, letting `tweak` adjust the settings.
    pub async fn start(
        engine_url: &str,
        tweak: impl FnOnce(&mut acextream_core::Settings),
    ) -> TestApp {
        Self::start_with(engine_url, None, Default::default(), tweak).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.public, path)
    }

    pub fn mux_url(&self, path: &str) -> String {
        format!("http://{}{}", self.mux, path)
    }

    /// The account service over the app's own database (to create test accounts).
    pub fn accounts(&self) -> acextream_core::accounts::Accounts {
        acextream_core::accounts::Accounts::new(acextream_core::Store::open(&self.db).unwrap())
    }

    /// Creates a player account.
    pub async fn add_user(&self, name: &str, password: &str, max_connections: u32) {
        self.accounts()
            .create(acextream_core::accounts::AccountSpec {
                username: name.into(),
                password: password.into(),
                max_connections,
                ..Default::default()
            })
            .await
            .unwrap();
    }

    /// Public stream URL of a content id, with the admin's credentials.
    pub fn stream_url(&self, param: &str, id: &str) -> String {
        self.url(&format!(
            "/ace/getstream?{param}={id}&username={}&password={}",
            ADMIN.0, ADMIN.1
        ))
    }

    /// Triggers the shutdown and waits for it to finish.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap(),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Polls `f` until it returns true or `bound` passes; returns the last answer.
pub async fn eventually(bound: Duration, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        if f().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Admin REST calls against a [`TestApp`].
pub struct Api<'a>(pub &'a TestApp);

impl Api<'_> {
    /// The admin's request to `path`, with a JSON body when given.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = http()
            .request(method, self.0.url(path))
            .basic_auth(ADMIN.0, Some(ADMIN.1));
        if let Some(body) = &body {
            req = req.json(body);
        }
        req.send().await.unwrap()
    }

    async fn status_and_json(r: reqwest::Response) -> (u16, serde_json::Value) {
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        Self::status_and_json(self.call(reqwest::Method::GET, path, None).await).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        Self::status_and_json(self.call(method, path, Some(body)).await).await
    }

    /// A text answer (e.g. `/metrics`) as the admin.
    pub async fn get_text(&self, path: &str) -> String {
        let r = self.call(reqwest::Method::GET, path, None).await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::PUT, path, body).await
    }
}

impl TestApp {
    /// The app's SQLite database, for tests that set up rows no API creates yet
    /// (disabled or expired accounts).
    pub fn db_path(&self) -> PathBuf {
        self._dir.path().join("app.db")
    }
}

impl TestApp {
    /// Like [`TestApp::start`], on the database file `db` when given (a second
    /// start on the same data: a restart) and with `logs` as the log buffer the
    /// app shows (tests push lines into it).
    pub async fn start_with(
        engine_url: &str,
        db: Option<PathBuf>,
        logs: std::sync::Arc<acextream_core::logbuf::LogBuffer>,
        tweak: impl FnOnce(&mut acextream_core::Settings),
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut s = acextream_core::Settings::default();
        s.server.bind = "127.0.0.1:0".parse().unwrap();
        s.server.workers = 2;
        s.mux.bind = "127.0.0.1:0".parse().unwrap();
        s.database.path = db.unwrap_or_else(|| dir.path().join("app.db"));
        s.archive.dir = dir.path().join("archive");
        let db = s.database.path.clone();
        s.admin.password = Some(acextream_core::settings::Secret::new(ADMIN.1));
        s.engine.url = engine_url.parse().unwrap();
        s.mux.idle_grace = Duration::from_secs(1);
        s.mux.stall_timeout = Duration::from_secs(2);
        s.mux.response_timeout = Duration::from_secs(5);
        s.mux.stop_timeout = Duration::from_secs(1);
        tweak(&mut s);
        let app = acextream_daemon::startup::Application::build_with_logs(s, logs)
            .await
            .unwrap();
        let (public, mux) = (app.public_addr(), app.mux_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TestApp {
            db,
            public,
            mux,
            stop: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }
}

/// GET `url` (no credentials) and parse its JSON body, whatever the status.
/// A catalogue channel with these simulator contents as its links, in order, made
/// through the REST API; its id.
pub async fn channel_with_links(
    app: &TestApp,
    name: &str,
    links: &[&acestream_sim::Content],
) -> i64 {
    let links: Vec<String> = links.iter().map(|c| c.content_id.clone()).collect();
    let (status, body) = Api(app)
        .post(
            "/api/channels",
            serde_json::json!({"name": name, "links": links}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

pub async fn get_json(url: impl reqwest::IntoUrl) -> serde_json::Value {
    http().get(url).send().await.unwrap().json().await.unwrap()
}
