//! The credd daemon: parse flags, load the configuration, set up logging,
//! turn signals into a shutdown, and run. Everything else is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use credd::config::{self, Config, LogFormat, Overrides};

/// Credential lifecycle manager: issues, verifies, rotates and retires API keys
/// and passcodes over gRPC.
#[derive(Debug, Parser)]
#[command(name = "credd", version)]
struct Args {
    /// TOML configuration file; without one, built-in defaults apply.
    #[arg(long, env = "CREDD_CONFIG")]
    config: Option<PathBuf>,
    /// gRPC listen address (overrides `listen`).
    #[arg(long)]
    listen: Option<String>,
    /// Data directory (overrides `data_dir`).
    #[arg(long)]
    data_dir: Option<String>,
    /// Log format: plain or json (overrides `log_format`).
    #[arg(long)]
    log_format: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve (the default).
    Run,
    /// Recovery while the daemon is stopped: issue a new admin key holding
    /// every scope and write it to a file (mode 0600). For a lost or expired
    /// key; needs the data directory and pepper, like the daemon.
    IssueAdminKey {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
    /// With the daemons stopped: copy a store between sled and etcd (either
    /// way), then count every tree on both sides. Refuses a target that
    /// holds data unless `--force` (which empties it first). Needs a build
    /// with `--features etcd`.
    Migrate {
        /// `sled:DIR` (a data or database directory) or `etcd:URL[,URL...]`.
        #[arg(long)]
        from: String,
        /// The other kind of side.
        #[arg(long)]
        to: String,
        /// etcd key prefix (default `[store] prefix`, else `/credd/`).
        #[arg(long)]
        prefix: Option<String>,
        /// Empty a target that holds data instead of refusing.
        #[arg(long)]
        force: bool,
    },
    /// Offline: check that every credential has its index entries and every
    /// entry its credential, and that deadlines follow the rules; exits 1 on
    /// any fault.
    Check {
        /// The data directory (default `data_dir`).
        data_dir: Option<String>,
        /// Rebuild the indexes and deadlines from the records, then check
        /// again.
        #[arg(long)]
        repair: bool,
    },
    /// Offline: rebuild the data directory (`--data-dir` or `data_dir`, which
    /// must be empty or absent) from a backup, re-applying the revocation
    /// journal's later lines. Checks the whole file first.
    Restore {
        /// The backup file (`credctl backup` or `[backup] schedule`).
        #[arg(long)]
        from: PathBuf,
        /// The pepper file of the store the backup was taken from (default
        /// `pepper_file`).
        #[arg(long)]
        pepper: Option<PathBuf>,
        /// The revocation journal (default `[backup] journal`).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Restore although no journal can re-apply what changed after the
        /// backup (revocations after it are lost).
        #[arg(long)]
        without_journal: bool,
    },
}

/// glibc gives every thread that allocates its own malloc arena, up to
/// eight per core, and memory freed into one arena is not reused by another.
/// credd's allocations come from tokio's workers, sled's I/O threads (which
/// come and go) and the flush thread, so with the default the heap grew well
/// past sled's cache. Two arenas cut RSS after verifying 100K distinct keys
/// of a 1M store by about a tenth (see README, Performance). Must run before
/// any thread is started. `MALLOC_ARENA_MAX` in the environment overrides it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // An operator's own setting (glibc read it at startup) wins.
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: mallopt only sets an allocator parameter; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let args = Args::parse();
    let data_dir = match &args.command {
        Some(Command::Check {
            data_dir: Some(dir),
            ..
        }) => Some(dir.clone()),
        _ => args.data_dir,
    };
    let overrides = Overrides {
        listen: args.listen,
        data_dir,
        log_format: args.log_format,
    };
    let config = match config::load(args.config.as_deref(), std::env::vars(), &overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("credd: {err}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("credd: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let code = match args.command {
        Some(Command::Migrate {
            from,
            to,
            prefix,
            force,
        }) => one_shot(
            &runtime,
            "migrate: ",
            migrate(&config, &from, &to, prefix, force),
        ),
        Some(Command::Restore {
            from,
            pepper,
            journal,
            without_journal,
        }) => {
            let request = credd::daemon::restore::RestoreRequest {
                from,
                pepper,
                journal,
                without_journal,
            };
            one_shot(
                &runtime,
                "",
                credd::daemon::restore::restore(&config, request),
            )
        }
        Some(Command::Check { repair, .. }) => check(&runtime, &config, repair),
        Some(Command::IssueAdminKey { out }) => one_shot(&runtime, "", async {
            let id = issue_admin_key(&config, &out).await?;
            Ok::<_, credd::daemon::DaemonError>(format!(
                "wrote admin key {id} to {}",
                out.display()
            ))
        }),
        None | Some(Command::Run) => match runtime.block_on(run(config)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                tracing::error!(error = %err, "credd stopped with an error");
                eprintln!("credd: {err}");
                ExitCode::from(1)
            }
        },
    };
    // What the runtime's tasks and threads log while they are torn down is
    // not written (see `credd::logging`).
    credd::logging::close();
    drop(runtime);
    code
}

/// A subcommand that runs once: prints its line and exits 0, or prints its
/// error (after `label`) and exits 1.
fn one_shot<E: std::fmt::Display>(
    runtime: &tokio::runtime::Runtime,
    label: &str,
    work: impl std::future::Future<Output = Result<String, E>>,
) -> ExitCode {
    match runtime.block_on(work) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("credd: {label}{err}");
            ExitCode::from(1)
        }
    }
}

/// `credd check`: the report, and exit 1 when faults remain (2 when it
/// could not check).
fn check(runtime: &tokio::runtime::Runtime, config: &Config, repair: bool) -> ExitCode {
    match runtime.block_on(credd::daemon::check::check(config, repair)) {
        Ok((report, sound)) => {
            print!("{report}");
            if sound {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("credd: check: {err}");
            ExitCode::from(2)
        }
    }
}

async fn run(config: Config) -> Result<(), credd::daemon::DaemonError> {
    let mut sigterm = signal(SignalKind::terminate()).map_err(signal_error)?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut sighup = signal(SignalKind::hangup()).map_err(signal_error)?;
    let shutdown = async move {
        loop {
            tokio::select! {
                _ = sigterm.recv() => { info!(signal = "SIGTERM", "signal received"); break; }
                _ = sigint.recv() => { info!(signal = "SIGINT", "signal received"); break; }
                _ = sighup.recv() => { info!(signal = "SIGHUP", "ignored: configuration is read at start only"); }
            }
        }
        // A second SIGTERM or SIGINT during the drain exits at once.
        tokio::spawn(async move {
            tokio::select! {
                _ = sigterm.recv() => {}
                _ = sigint.recv() => {}
            }
            warn!("second signal received; exiting without waiting");
            std::process::exit(130);
        });
    };
    credd::daemon::run(config, shutdown).await
}

async fn issue_admin_key(
    config: &Config,
    out: &std::path::Path,
) -> Result<String, credd::daemon::DaemonError> {
    let engine =
        credd::daemon::open_engine(config, std::sync::Arc::new(credd::clock::SystemClock))?;
    let id = credd::daemon::issue_to_file(&engine, out, "recovery").await?;
    engine.store().flush().await?;
    Ok(id)
}

#[cfg(feature = "etcd")]
async fn migrate(
    config: &Config,
    from: &str,
    to: &str,
    prefix: Option<String>,
    force: bool,
) -> Result<String, String> {
    use credd::daemon::migrate::Side;
    let from: Side = from.parse().map_err(|e| format!("--from: {e}"))?;
    let to: Side = to.parse().map_err(|e| format!("--to: {e}"))?;
    credd::daemon::migrate::migrate(config, from, to, prefix, force)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "etcd"))]
async fn migrate(
    _config: &Config,
    _from: &str,
    _to: &str,
    _prefix: Option<String>,
    _force: bool,
) -> Result<String, String> {
    Err("this credd was built without cluster support; rebuild with --features etcd".into())
}

fn signal_error(source: std::io::Error) -> credd::daemon::DaemonError {
    credd::daemon::DaemonError::Server(format!("cannot install signal handlers: {source}"))
}

fn init_tracing(config: &Config) {
    let format = match config.log_format {
        LogFormat::Plain => credd::logging::Format::Plain,
        LogFormat::Json => credd::logging::Format::Json,
    };
    credd::logging::init(&config.log_filter, format);
}
