//! Start-up: open the store, create the bootstrap admin, bind both listeners and
//! run them until a shutdown signal — then stop both within a bounded time.
//!
//! [`Application::build`] binds the sockets itself and reports the real addresses,
//! so tests start it on port 0; [`Application::run_until`] takes the shutdown
//! future as a parameter, so tests stop it themselves.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use acextream_core::accounts::{Accounts, Bootstrap};
use acextream_core::catalogue::Catalogue;
use acextream_core::catalogue::check::Checker;
use acextream_core::engine::pool::EnginePool;
use acextream_core::jobs::Jobs;
use acextream_core::runtime_settings;
use acextream_core::{Settings, Store};
use acextream_mux::Mux;
use acextream_web::AppState;
use anyhow::Context;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// Upper bound of a whole shutdown, whatever the drains are doing.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(5);

/// Both listeners, bound and ready to run.
pub struct Application {
    public_addr: SocketAddr,
    mux_addr: SocketAddr,
    web: actix_web::dev::Server,
    /// The `hdhr.bind` listener, when configured.
    tuner: Option<(SocketAddr, actix_web::dev::Server)>,
    /// What UDP discovery and SSDP announce, when `hdhr.discovery_user` is set.
    announce: Option<(AppState, String, acextream_web::hdhr::announce::Served)>,
    mux: Arc<Mux>,
    mux_listener: tokio::net::TcpListener,
    jobs: Jobs,
    /// What the catch-up recorders use (they are viewers of the multiplexer).
    recorders: AppState,
    /// Stops the engine pool's health checks at shutdown.
    health_checks: CancellationToken,
    drain: Duration,
}

impl Application {
    /// Opens the database, ensures an admin exists, binds both listeners.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_logs(settings, Arc::default()).await
    }

    /// [`Application::build`], with the buffer the logger fills (the dashboard's
    /// log view reads it).
    pub async fn build_with_logs(
        settings: Settings,
        logs: Arc<acextream_core::logbuf::LogBuffer>,
    ) -> anyhow::Result<Self> {
        let db_path = settings.database.path.clone();
        let store = tokio::task::spawn_blocking(move || Store::open(&db_path))
            .await
            .context("opening the database")??;
        tracing::info!(path = %store.path().display(), "database ready");
        let (settings, provenance) = apply_persisted_settings(settings, &store).await?;
        let settings = Arc::new(settings);

        let accounts = Accounts::new(store.clone());
        match accounts.ensure_bootstrap_admin(&settings.admin).await? {
            Bootstrap::Created(admin) => announce_admin(&admin),
            Bootstrap::Existing { admins } => existing_admins(&settings.admin, &admins),
        }

        let engines = EnginePool::new(&settings.engine)?;
        // Bind the internal listener first: the public side needs its real address.
        let mux_listener = tokio::net::TcpListener::bind(settings.mux.bind)
            .await
            .with_context(|| format!("cannot listen on {} (mux.bind)", settings.mux.bind))?;
        let mux_addr = mux_listener.local_addr()?;
        if !mux_addr.ip().is_loopback() {
            tracing::warn!(%mux_addr, "the multiplexer listens beyond loopback; it has no authentication");
        }
        let public_listener = std::net::TcpListener::bind(settings.server.bind)
            .with_context(|| format!("cannot listen on {} (server.bind)", settings.server.bind))?;
        let public_addr = public_listener.local_addr()?;

        let catalogue = Catalogue::new(store.clone(), engines.clone(), settings.clone())?;
        catalogue.seed_from_settings().await?;
        let checker = Checker::new(
            store.clone(),
            engines.clone(),
            settings.sources.check_spacing,
        );
        // Refreshes run in the background from here on; serving never waits for them.
        let jobs = Jobs::start(catalogue.clone(), checker);

        let mux_url = url::Url::parse(&format!("http://{mux_addr}"))?;
        let mut state = AppState::new(
            settings.clone(),
            store.clone(),
            engines.clone(),
            mux_url,
            catalogue,
            jobs.clone(),
        )?;
        state.logs = logs;
        state.provenance = Arc::new(provenance);
        open_archive(&settings, &state);
        let tuner = match (&settings.hdhr.bind, &settings.hdhr.discovery_user) {
            (Some(bind), Some(user)) => {
                let listener = std::net::TcpListener::bind(bind).with_context(|| {
                    format!(
                        "cannot listen on {bind} (hdhr.bind; port 80 needs CAP_NET_BIND_SERVICE)"
                    )
                })?;
                let addr = listener.local_addr()?;
                let server = acextream_web::tuner_server(state.clone(), listener, user.clone())?;
                Some((addr, server))
            }
            _ => None,
        };
        let announce = settings.hdhr.discovery_user.clone().map(|user| {
            use acextream_web::hdhr::announce::Served;
            let served = match &tuner {
                Some((addr, _)) => Served::Root(addr.port()),
                None => Served::Public(public_addr.port()),
            };
            (state.clone(), user, served)
        });
        let recorders = state.clone();
        let web = acextream_web::server(state, public_listener)?;
        let mux = Mux::new(settings.mux.clone(), settings.hls.clone(), engines.clone());
        let health_checks = CancellationToken::new();
        tokio::spawn(engines.run_health_checks(health_checks.clone()));
        mux.on_link_events(crate::link_health::record(store));
        Ok(Self {
            public_addr,
            mux_addr,
            web,
            tuner,
            announce,
            mux,
            mux_listener,
            jobs,
            recorders,
            health_checks,
            drain: settings.server.shutdown_timeout,
        })
    }

    /// The public listener's address.
    pub fn public_addr(&self) -> SocketAddr {
        self.public_addr
    }

    /// The `hdhr.bind` listener's address, when there is one.
    pub fn tuner_addr(&self) -> Option<SocketAddr> {
        self.tuner.as_ref().map(|(addr, _)| *addr)
    }

    /// The multiplexer's address.
    pub fn mux_addr(&self) -> SocketAddr {
        self.mux_addr
    }

    /// Runs both listeners until `shutdown` resolves or one of them fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tracing::info!(public = %self.public_addr, mux = %self.mux_addr, "acextream listening");
        let handle = self.web.handle();
        let mut web = tokio::spawn(self.web);
        let announcing = CancellationToken::new();
        if let Some((state, user, served)) = self.announce {
            acextream_web::hdhr::announce::start(state, user, served, announcing.clone());
        }
        let (tuner_handle, mut tuner) = match self.tuner {
            Some((addr, server)) => {
                tracing::info!(%addr, "HDHomeRun tuner listening (hdhr.bind)");
                (Some(server.handle()), tokio::spawn(server))
            }
            None => (None, tokio::spawn(std::future::pending())),
        };
        let (stop_mux, mux_stopped) = oneshot::channel::<()>();
        let mut mux = tokio::spawn(acextream_mux::server::serve(
            self.mux_listener,
            self.mux,
            async move {
                let _ = mux_stopped.await;
            },
            self.drain,
        ));
        let recording = CancellationToken::new();
        let mut recorders = tokio::spawn(acextream_web::archive::supervisor::run(
            self.recorders,
            recording.clone(),
        ));
        let early = tokio::select! {
            _ = shutdown => None,
            r = &mut web => Some(format!("public listener stopped: {r:?}")),
            r = &mut mux => Some(format!("multiplexer stopped: {r:?}")),
            r = &mut tuner => Some(format!("tuner listener stopped: {r:?}")),
        };
        tracing::info!("shutting down");
        announcing.cancel();
        // Recorders first: each writes the segment it holds before the mux ends.
        recording.cancel();
        if tokio::time::timeout(Duration::from_secs(10), &mut recorders)
            .await
            .is_err()
        {
            tracing::warn!("recorders did not stop in time");
        }
        self.jobs.stop();
        self.health_checks.cancel();
        let _ = stop_mux.send(());
        let stopping = async {
            // The mux ends every channel (engine stops included) so the public side's
            // proxied bodies end too; then actix drains within its shutdown_timeout.
            let (_, _, _) = tokio::join!(
                async {
                    if !mux.is_finished() {
                        let _ = (&mut mux).await;
                    }
                },
                handle.stop(true),
                async {
                    if let Some(handle) = &tuner_handle {
                        handle.stop(true).await;
                    }
                }
            );
        };
        if tokio::time::timeout(SHUTDOWN_BOUND, stopping)
            .await
            .is_err()
        {
            tracing::warn!("shutdown bound reached; exiting anyway");
        }
        match early {
            Some(reason) => anyhow::bail!(reason),
            None => {
                tracing::info!("stopped");
                Ok(())
            }
        }
    }
}

/// Lays the settings admins saved (`/api/settings`) over the file, never over the
/// environment, and says in the log which keys came from the database.
async fn apply_persisted_settings(
    mut settings: Settings,
    store: &Store,
) -> anyhow::Result<(Settings, runtime_settings::Provenance)> {
    let provenance = runtime_settings::Provenance {
        base: settings.clone(),
        env_keys: runtime_settings::env_keys(std::env::vars()),
    };
    let persisted = store
        .run(|c| runtime_settings::load(c))
        .await
        .context("reading the saved settings")?;
    let applied = runtime_settings::apply(&mut settings, &persisted, &provenance.env_keys);
    if !applied.from_database.is_empty() {
        tracing::info!(keys = %applied.from_database.join(","), "settings from the database applied");
    }
    if !applied.overridden_by_env.is_empty() {
        tracing::info!(keys = %applied.overridden_by_env.join(","), "saved settings ignored: the environment sets them");
    }
    for (key, why) in &applied.rejected {
        tracing::warn!(key = %key, reason = %why, "saved setting ignored");
    }
    // `apply` checks each value against the whole tree; this is the final word.
    settings.validate()?;
    Ok((settings, provenance))
}

/// The generated admin password is shown once, on standard error, outside the log
/// pipeline (so it never lands in the dashboard's log view or a log download).
fn announce_admin(admin: &acextream_core::accounts::BootstrapAdmin) {
    match &admin.generated_password {
        Some(pw) => {
            eprintln!(
                "\n================================================================\n\
                 acextream: created the admin account '{}'\n\
                 password: {pw}\n\
                 It is shown only this once. Change it with:\n\
                 \x20 acextream user passwd {}\n\
                 ================================================================\n",
                admin.username, admin.username
            );
            tracing::warn!(user = %admin.username, "bootstrap admin created; its generated password was printed above, once");
        }
        None => {
            tracing::info!(user = %admin.username, "bootstrap admin created with the configured password")
        }
    }
}

/// Admins exist (a restart, or a database moved over with `acextream migrate`), so no
/// bootstrap admin was made. When the configured admin is not among them, its
/// password (`ACEXTREAM_ADMIN__PASSWORD`) opens nothing: say so, or the operator is
/// left wondering why that login fails.
fn existing_admins(admin: &acextream_core::settings::AdminSettings, admins: &[String]) {
    if admins.contains(&admin.username) {
        tracing::debug!(user = %admin.username, "bootstrap admin exists");
        return;
    }
    let names = admins.join(",");
    if admin.password.is_some() {
        tracing::warn!(
            admins = %names,
            bootstrap = %admin.username,
            "admins already exist, so no bootstrap admin was created and \
             ACEXTREAM_ADMIN__PASSWORD (admin.password) has no effect; log in as one of them \
             or add one with `acextream user add NAME --admin`"
        );
    } else {
        tracing::info!(admins = %names, "admins already exist: no bootstrap admin created");
    }
}

/// Opens an existing catch-up ring before anything is served, so its recordings
/// play from the first request (the supervisor opens a new one when a channel is
/// first archived, and keeps retrying one that cannot be opened).
fn open_archive(settings: &Settings, state: &AppState) {
    let a = &settings.archive;
    if !a.dir.is_dir() {
        return;
    }
    match acextream_core::archive::Archive::open(&a.dir, a.limits()) {
        Ok(archive) => {
            tracing::info!(
                dir = %a.dir.display(),
                bytes = archive.total_bytes(),
                channels = archive.channels().len(),
                "catch-up archive opened"
            );
            state.recording.set_archive(Arc::new(archive));
        }
        Err(e) => tracing::warn!(dir = %a.dir.display(), error = %e, "catch-up archive unusable"),
    }
}

/// Registers SIGINT and SIGTERM handlers (and swallows SIGXFSZ) now and returns a future that resolves on
/// either. Registering before the listeners announce themselves matters: a signal
/// that arrived before registration would kill the process without a drain.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        // A write past a file-size limit (`ulimit -f`, a quota) must fail with
        // EFBIG — the archive then stops recording with a warning — rather than
        // kill the process: with a handler installed, SIGXFSZ no longer does.
        let file_too_big = signal(SignalKind::from_raw(libc::SIGXFSZ))?;
        Ok(async move {
            let _file_too_big = file_too_big;
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
