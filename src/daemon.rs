//! Wires the daemon together: data directory, pepper, store, engine, the
//! gRPC server (`api::Server`, with health and reflection), background
//! tasks, and an orderly shutdown: stop accepting, drain in-flight calls
//! within the grace period, stop tasks, flush usage, flush the database.
//! Submodules: the bootstrap admin key, the audit log's JSON-lines mirror,
//! the background tasks behind one handle (`tasks`, with the sweep's
//! schedule in `sweeper`), and what systemd is told (`systemd`).

mod audit_mirror;
mod backup_schedule;
mod bootstrap;
pub mod check;
#[cfg(feature = "etcd")]
mod cluster;
mod fence;
#[cfg(feature = "etcd")]
pub mod migrate;
pub mod restore;
mod sweeper;
mod systemd;
mod tasks;

pub use crate::api::TlsError;
pub use bootstrap::issue_to_file;

use std::future::Future;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::api::{Health, Server, ServerError};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::engine::Engine;
use crate::http::HttpServer;
use crate::notify::{Mailer, Transport, TransportError};
use crate::secret::{Pepper, PepperError};
use crate::store::{self, Store};
use tasks::Tasks;

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The pepper file is unusable.
    #[error(transparent)]
    Pepper(#[from] PepperError),
    /// The database could not be opened or flushed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `[leaks] github_public_keys` cannot be used.
    #[error("leaks.github_public_keys: {0}")]
    LeakKeys(String),
    /// The gRPC server failed.
    #[error("grpc server: {0}")]
    Server(String),
    /// The database met an error after which it cannot write until it is
    /// opened again; the daemon stopped so that a restart recovers.
    #[error("the database cannot write ({0}); stopped so that a restart recovers")]
    StoreFault(String),
    /// The metrics endpoint could not be started.
    #[error("metrics endpoint on {addr}: {message}")]
    Metrics {
        /// `[metrics] listen`.
        addr: String,
        /// The exporter's explanation.
        message: String,
    },
    /// The mail transport could not be set up.
    #[error(transparent)]
    Mail(#[from] TransportError),
    /// The webhook client could not be set up.
    #[error("webhooks: {0}")]
    Webhooks(String),
    /// A `[store]` file (etcd's CA, certificate, key or password) could not
    /// be read, or the build lacks the backend.
    #[error("[store]: {0}")]
    StoreConfig(String),
    /// The sweep scheduler could not be set up.
    #[error("sweep scheduler: {0}")]
    Scheduler(String),
    /// A restore was refused or failed.
    #[error("restore: {0}")]
    Restore(String),
    /// The engine could not load its state.
    #[error("cannot load the engine's state: {0}")]
    Engine(String),
    /// The bootstrap admin key could not be issued.
    #[error("cannot issue an admin key: {0}")]
    AdminKey(String),
    /// The admin key file could not be written.
    #[error("cannot write the admin key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TLS files are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The reflection service could not be built.
    #[error("grpc reflection: {0}")]
    Reflection(String),
}

impl From<ServerError> for DaemonError {
    fn from(err: ServerError) -> Self {
        match err {
            ServerError::TlsConfig(message) => DaemonError::Server(format!("tls: {message}")),
            ServerError::Reflection(message) => DaemonError::Reflection(message),
        }
    }
}

/// Opens everything the daemon needs, binds its listener and serves until
/// `shutdown` resolves; then drains and flushes. Uses the system clock.
///
/// # Errors
/// [`DaemonError`] for anything that stops the daemon from starting or from
/// shutting down cleanly.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
    run_with_clock(config, Arc::new(SystemClock), shutdown).await
}

/// [`run`] with an injected clock.
///
/// # Errors
/// As [`run`].
pub async fn run_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    install_metrics(&config)?;
    let tls = config.tls.as_ref().map(crate::api::load_tls).transpose()?;
    let engine = Arc::new(open_engine(&config, clock)?);
    if !engine.store().is_cluster() {
        // A cluster node's is open already (see `open_store`).
        open_journal(&config, engine.store())?;
    }
    bootstrap::ensure_admin_key(&engine, &config.auth.bootstrap_admin_key_file).await?;
    let transport = Transport::from_config(&config.email, &config.mail_dir())?;
    let mailer = Arc::new(
        Mailer::new(engine.clone(), &config.email, transport)?
            .with_console_url(config.console.public_url.clone()),
    );
    let (listener, local_addr) = bind(&config).await?;

    let mut tasks = Tasks::start(&engine, &config, mailer).await?;

    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let http_tls = tls.as_ref().map(crate::api::Tls::http_config);
    let ext_authz = bind_ext_authz(&config).await?;
    let (mut server, health) =
        Server::start(&engine, &config, tls, listener, ext_authz, server_stopped).await?;
    let http = start_http(&engine, &config, http_tls).await?;
    if let Some(fence) = fence::spawn(&engine, &health, tasks.stop_signal()) {
        tasks.add("fence", fence);
        #[cfg(feature = "etcd")]
        tasks.add(
            "replica-mirror",
            tokio::spawn(engine.clone().follow_replica(tasks.stop_signal())),
        );
    }
    info!(
        addr = %local_addr,
        data_dir = %config.data_dir.display(),
        tls = config.tls.is_some(),
        mtls = config.tls.as_ref().is_some_and(|t| t.client_ca_file.is_some()),
        verifier = if config.auth.verifier_token { "token" } else { "open" },
        "credd listening"
    );
    // The store is open and the listener bound: tell systemd (a no-op
    // without NOTIFY_SOCKET).
    systemd::ready(local_addr);
    if let Some(period) = systemd::watchdog_period() {
        tasks.add(
            "watchdog",
            systemd::spawn_watchdog(period, tasks.stop_signal()),
        );
    }

    tokio::pin!(shutdown);
    let store_fault = serve_until_stop(&mut shutdown, &engine, &health, &mut server).await?;
    systemd::stopping();
    let stopping = Stopping {
        config: &config,
        engine: &engine,
        health: &health,
        server,
        stop_server,
        http,
        tasks,
    };
    match store_fault {
        None => stopping.run().await,
        Some(fault) => {
            // The shutdown signal has not fired: a signal during this drain
            // ends it at once (the store cannot write anything anyway).
            tokio::select! {
                result = stopping.run_after_fault() => result?,
                () = &mut shutdown => warn!("signal received while draining after a store fault; exiting now"),
            }
            Err(DaemonError::StoreFault(fault))
        }
    }
}

/// Installs the Prometheus exporter when `[metrics] listen` is set.
fn install_metrics(config: &Config) -> Result<(), DaemonError> {
    if let Some(listen) = config.metrics_listen {
        crate::telemetry::install(listen).map_err(|message| DaemonError::Metrics {
            addr: listen.to_string(),
            message,
        })?;
        info!(addr = %listen, "metrics served at /metrics");
    }
    Ok(())
}

/// Binds and starts the HTTP listener when `[http] listen` is set; returns
/// it with the sender that stops it.
async fn start_http(
    engine: &Arc<Engine>,
    config: &Config,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<Option<(HttpServer, tokio::sync::oneshot::Sender<()>)>, DaemonError> {
    let Some(addr) = config.gateway.http_listen else {
        return Ok(None);
    };
    let bind_error = |source| DaemonError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let gateway = Arc::new(config.gateway.clone());
    let tls_on = tls.is_some();
    let leaks = crate::http::leaks::load(&config.leaks).map_err(DaemonError::LeakKeys)?;
    let extras = crate::http::Extras {
        leaks,
        console: config.console.clone(),
    };
    let http = HttpServer::start(engine.clone(), gateway, extras, listener, tls, stopped)
        .map_err(bind_error)?;
    info!(http_addr = %http.local_addr(), tls = tls_on, console = config.console.enabled, "http listening: forward auth at /v1/check");
    Ok(Some((http, stop)))
}

/// Binds the ext_authz port when `[gateway] ext_authz_listen` is set.
async fn bind_ext_authz(config: &Config) -> Result<Option<TcpListener>, DaemonError> {
    let Some(addr) = config.gateway.ext_authz_listen else {
        return Ok(None);
    };
    let bind_error = |source| DaemonError::Bind {
        addr: addr.to_string(),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    info!(ext_authz_addr = %local, "ext_authz listening: envoy.service.auth.v3.Authorization/Check");
    Ok(Some(listener))
}

/// Binds the gRPC listener; returns it with the address it got.
async fn bind(config: &Config) -> Result<(TcpListener, std::net::SocketAddr), DaemonError> {
    let bind_error = |source| DaemonError::Bind {
        addr: config.listen.to_string(),
        source,
    };
    let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
    let local_addr = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local_addr))
}

/// Serves until the shutdown signal (`Ok(None)`) or a store fault
/// (`Ok(Some(fault))`, after turning health NOT_SERVING); a failed server is
/// an error.
async fn serve_until_stop(
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    engine: &Engine,
    health: &Health,
    server: &mut Server,
) -> Result<Option<String>, DaemonError> {
    tokio::select! {
        () = shutdown => {
            info!("shutdown requested; draining in-flight calls");
            Ok(None)
        }
        fault = engine.store().faulted() => {
            error!(
                error = %fault,
                "the database cannot write any more (disk full or an I/O error); \
                 answering NOT_SERVING, draining in-flight calls and exiting non-zero so that \
                 a restart recovers; nothing acknowledged is lost"
            );
            health.nothing_serving().await;
            Ok(Some(fault))
        }
        result = server.stopped() => {
            let message = match result {
                Ok(()) => "server stopped unexpectedly".to_string(),
                Err(e) => e,
            };
            error!(error = %message, "grpc server failed");
            Err(DaemonError::Server(message))
        }
    }
}

/// What an orderly stop takes down, in order.
struct Stopping<'a> {
    config: &'a Config,
    engine: &'a Arc<Engine>,
    health: &'a Health,
    server: Server,
    stop_server: tokio::sync::oneshot::Sender<()>,
    http: Option<(HttpServer, tokio::sync::oneshot::Sender<()>)>,
    tasks: Tasks,
}

impl Stopping<'_> {
    /// Drains, stops the tasks, writes pending uses and flushes.
    async fn run(self) -> Result<(), DaemonError> {
        let engine = self.engine.clone();
        self.drain().await;
        match engine.flush_usage().await {
            Ok(n_written) => info!(n_written, "usage flushed"),
            Err(e) => error!(error = %e, "could not flush usage at shutdown"),
        }
        let returning = engine.clone();
        let _ = tokio::task::spawn_blocking(move || returning.return_claimed_credits()).await;
        engine.store().flush().await?;
        info!("database flushed; credd stopped");
        Ok(())
    }

    /// Drains and stops the tasks; writes nothing (the store cannot).
    async fn run_after_fault(self) -> Result<(), DaemonError> {
        let engine = self.engine.clone();
        self.drain().await;
        warn!(
            n_pending = engine.pending_usage(),
            "last-used times not written: the database cannot write"
        );
        Ok(())
    }

    /// Stops accepting, lets in-flight calls finish within the grace
    /// period, then stops the background tasks.
    async fn drain(self) {
        let grace = self.config.shutdown_grace;
        self.health.verifier_not_serving().await;
        let _ = self.stop_server.send(());
        let http = self.http.map(|(http, stop)| {
            let _ = stop.send(());
            http
        });
        match self.server.drain(grace).await {
            Some(Ok(())) => info!("in-flight calls finished"),
            Some(Err(e)) => warn!(error = %e, "grpc server ended with an error"),
            None => warn!(grace = ?grace, "grace period over; abandoning in-flight calls"),
        }
        if let Some(http) = http {
            match http.drain(grace).await {
                Some(Ok(())) => info!("http requests finished"),
                Some(Err(e)) => warn!(error = %e, "http listener ended with an error"),
                None => warn!(grace = ?grace, "grace period over; abandoning http requests"),
            }
        }
        self.tasks.shutdown(grace).await;
    }
}

/// Opens the store `[store]` asks for: the data directory alone, or this
/// node's replica of a cluster on etcd.
fn open_store(config: &Config, pepper_fingerprint: [u8; 32]) -> Result<Store, DaemonError> {
    match &config.store {
        crate::config::StoreConfig::Sled => Ok(Store::open_with_verify_cache(
            &config.db_dir(),
            config.cache_capacity_bytes,
            pepper_fingerprint,
            config.verify_cache_entries,
        )?),
        #[cfg(feature = "etcd")]
        crate::config::StoreConfig::Etcd(etcd) => {
            let options = cluster::etcd_options(etcd)?;
            let store = Store::open_with_verify_cache(
                &config.db_dir(),
                config.cache_capacity_bytes,
                pepper_fingerprint,
                config.verify_cache_entries,
            )?;
            // Before joining: the replica journals every change it applies
            // (whichever command runs it), so the journal has no hole.
            open_journal(config, &store)?;
            info!(endpoints = ?etcd.endpoints, prefix = %etcd.prefix, "joining the cluster on etcd");
            Ok(store.join_etcd(options, pepper_fingerprint)?)
        }
        #[cfg(not(feature = "etcd"))]
        crate::config::StoreConfig::Etcd(_) => Err(DaemonError::StoreConfig(
            "[store] backend = \"etcd\" needs a build with --features etcd".into(),
        )),
    }
}

/// Opens the revocation journal `[backup] journal` names, if any.
fn open_journal(config: &Config, store: &Store) -> Result<(), DaemonError> {
    if let Some(journal) = &config.backup.journal {
        if let Some(dir) = journal.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        store.open_journal(journal)?;
        info!(path = %journal.display(), "revocation journal open");
    }
    Ok(())
}

/// Creates the data directory, loads the pepper and opens the store.
///
/// # Errors
/// [`DaemonError`] for an unusable directory, pepper or database.
pub fn open_engine(config: &Config, clock: Arc<dyn Clock>) -> Result<Engine, DaemonError> {
    create_private_dir(&config.data_dir)?;
    let (pepper, created) = Pepper::load_or_create(&config.pepper_file)?;
    if created {
        info!(path = %config.pepper_file.display(), "created a new pepper file; back it up with the database");
    }
    let store = open_store(config, pepper.fingerprint())?;
    info!(path = %config.db_dir().display(), "store open");
    let mut engine = Engine::new(
        store,
        pepper,
        clock,
        config.policy.clone(),
        config.key_prefix.clone(),
    )
    .map_err(|e| DaemonError::Engine(e.to_string()))?;
    let u = &config.users;
    engine.set_user_settings(crate::engine::UserSettings {
        argon2_memory_kib: u.argon2_memory_kib,
        argon2_iterations: u.argon2_iterations,
        argon2_parallelism: u.argon2_parallelism,
        sessions: crate::lifecycle::SessionPolicy {
            idle_timeout: u.session_idle_timeout,
            max_lifetime: u.session_max_lifetime,
        },
        login_free_attempts: u.login_free_attempts,
        login_backoff: u.login_backoff,
        login_backoff_max: u.login_backoff_max,
    });
    engine.set_consent_ttl(config.consent_ttl);
    engine.set_usage_retention_days(config.schedule.usage_retention_days);
    engine.set_audit_retention_days(config.audit_retention_days);
    Ok(engine)
}

fn create_private_dir(path: &Path) -> Result<(), DaemonError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| DaemonError::DataDir {
            path: path.display().to_string(),
            source,
        })
}
