//! The `tollgate` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tollgate_server::config::{DbArgs, ServeArgs};
use tollgate_server::state::AppState;

// Measured in docs/benchmarks.md: glibc malloc was ~7 % of the gateway's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "tollgate",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("TOLLGATE_GIT_REV"), ")"),
    about = "AI API gateway with per-user, per-platform USD quotas"
)]
struct Cli {
    /// Log lines as text or as one JSON object each.
    #[arg(long, global = true, env = "TOLLGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway and console.
    Serve(Box<ServeArgs>),
    /// Create or upgrade the database, then exit.
    Migrate(DbArgs),
    /// A self-contained demo on SQLite (seeded admin and demo user).
    Demo(tollgate_server::demo::DemoArgs),
    /// Manage console accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Manage model prices.
    Prices {
        #[command(subcommand)]
        command: PricesCommand,
    },
    /// Inspect or repair a settlement journal (a damaged line stops the gateway's start).
    Journal {
        #[command(subcommand)]
        command: JournalCommand,
    },
    /// Apply or export a configuration file (settings, upstreams, price overrides).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The key that encrypts upstream API keys and OAuth client secrets at rest.
    SecretKey {
        #[command(subcommand)]
        command: SecretKeyCommand,
    },
}

#[derive(Subcommand)]
enum PricesCommand {
    /// Import a price file (Tollgate's table format or LiteLLM's model_prices_and_context_window.json):
    /// validates the whole file, prints the changes, and applies them as overrides with --apply.
    Import {
        /// The price file.
        file: std::path::PathBuf,
        /// Write the changes (without it, only the diff is printed).
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the whole file, then write what differs from the database (nothing if any value is
    /// invalid). Running gateways pick the changes up within --settings-refresh-secs.
    Apply {
        /// The TOML file.
        file: std::path::PathBuf,
        /// Print the changes without writing them.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: ConfigStoreArgs,
    },
    /// Print the current settings, upstreams and price overrides as a file `config apply` takes.
    Export {
        #[command(flatten)]
        store: ConfigStoreArgs,
    },
}

#[derive(clap::Args)]
struct ConfigStoreArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The secret key file the gateway uses (see `serve --secret-key-file`), to encrypt upstream keys.
    #[arg(long, env = "TOLLGATE_SECRET_KEY_FILE")]
    secret_key_file: Option<std::path::PathBuf>,
}

impl ConfigStoreArgs {
    /// The gateway's state over the database, settling directly (no journal of its own).
    async fn state(&self) -> anyhow::Result<AppState> {
        let store = tollgate_server::files::connect_store(&self.db.url()).await?;
        let config = tollgate_server::config::GatewayConfig {
            settlement: tollgate_server::config::SettlementMode::Direct,
            secret_key_file: self.secret_key_file.clone(),
            ..Default::default()
        }
        .with_default_secret_key(&self.db);
        Ok(AppState::new(store, config).await?)
    }
}

/// Stops the background tasks of a state a command made.
async fn close(state: AppState) {
    state.shutdown.cancel();
    state.tasks.close();
    state.tasks.wait().await;
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Print every damaged line (exit status 1 if there is one).
    Check(JournalArgs),
    /// Print every damaged line and move it to `SEGMENT.rejected`, so the journal replays. Stop the
    /// gateway first.
    Repair(JournalArgs),
}

#[derive(clap::Args)]
struct JournalArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The journal folder, when not the default one of the database (see `serve --journal-dir`).
    #[arg(long, env = "TOLLGATE_JOURNAL_DIR")]
    journal_dir: Option<std::path::PathBuf>,
}

impl JournalArgs {
    fn dir(&self) -> anyhow::Result<std::path::PathBuf> {
        let config =
            tollgate_server::config::GatewayConfig { journal_dir: self.journal_dir.clone(), ..Default::default() };
        config.with_default_journal(&self.db).journal_dir.ok_or_else(|| anyhow::anyhow!("no journal folder"))
    }
}

#[derive(Subcommand)]
enum SecretKeyCommand {
    /// Print a new random key (base64 of 32 bytes), for TOLLGATE_SECRET_KEY or a key file.
    Generate,
    /// Re-encrypt every stored secret from the old key to the new one, in one transaction. Stop the
    /// gateway first, and start it again with the new key.
    Rotate {
        /// File holding the key the secrets are encrypted with now.
        #[arg(long)]
        old_key_file: std::path::PathBuf,
        /// File holding the new key (`tollgate secret-key generate > FILE`).
        #[arg(long)]
        new_key_file: std::path::PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account. An address that already has an account is refused unless
    /// `--promote` is given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// Make an existing account an admin with this password: its sessions are ended, its OAuth
        /// identities unlinked and its API keys revoked.
        #[arg(long)]
        promote: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match cli.log_format {
        // One JSON object per line (timestamp, level, target, fields), for log collectors.
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs.init(),
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let store = tollgate_server::files::connect_store(&args.db.url()).await?;
            let config = args.gateway.clone().with_default_journal(&args.db).with_default_secret_key(&args.db);
            let state = AppState::new(store, config).await?;
            if let Some(path) = &args.config {
                let report = tollgate_server::config_file::apply_file(&state, path, false).await?;
                for change in &report.changes {
                    tracing::info!(file = %path.display(), "config: {change}");
                }
            }
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            tracing::info!(addr = %listener.local_addr()?, backend = state.store.backend(), "tollgate listening");
            tollgate_server::serve(listener, state, shutdown_signal()).await?;
            Ok(())
        }
        Command::Demo(args) => tollgate_server::demo::run(args, shutdown_signal()).await,
        Command::Migrate(db) => {
            let store = tollgate_server::files::connect_store(&db.url()).await?;
            println!("database at {} is up to date ({})", tollgate_store::redact_url(&db.url()), store.backend());
            Ok(())
        }
        Command::Prices { command: PricesCommand::Import { file, apply, db } } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let store = tollgate_store::connect(&db.url()).await?;
            let report = tollgate_server::ledger::prices::import_file(&*store, &text, apply)
                .await
                .map_err(anyhow::Error::msg)?;
            print!("{report}");
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { email, password, promote, db } } => {
            use tollgate_server::console::accounts::{AdminCreated, create_or_promote_admin};
            let store = tollgate_server::files::connect_store(&db.url()).await?;
            match create_or_promote_admin(&*store, &email, &password, promote).await? {
                AdminCreated::Created(user) => println!("created admin {} (id {})", user.email, user.id),
                AdminCreated::Promoted(p) => println!(
                    "promoted existing account {} (id {}) to admin with the new password; ended {} session(s), \
                     unlinked {} OAuth identit(ies), revoked {} API key(s)",
                    p.user.email, p.user.id, p.sessions_ended, p.identities_unlinked, p.keys_revoked
                ),
            }
            Ok(())
        }
        Command::Journal { command } => {
            use tollgate_server::ledger::journal_tool;
            let (args, repair) = match &command {
                JournalCommand::Check(a) => (a, false),
                JournalCommand::Repair(a) => (a, true),
            };
            let dir = args.dir()?;
            let mut out = std::io::stdout();
            let report =
                if repair { journal_tool::repair(&dir, &mut out)? } else { journal_tool::check(&dir, &mut out)? };
            println!(
                "{}: {} segment(s), {} good line(s), {} damaged",
                dir.display(),
                report.segments,
                report.good_lines,
                report.damaged.len()
            );
            if !repair && !report.damaged.is_empty() {
                anyhow::bail!("the journal has damaged lines; `tollgate journal repair` moves them to .rejected files");
            }
            Ok(())
        }
        Command::Config { command: ConfigCommand::Apply { file, dry_run, store } } => {
            let state = store.state().await?;
            let result = tollgate_server::config_file::apply_file(&state, &file, dry_run).await;
            close(state).await;
            let report = result?;
            print!("{report}");
            if dry_run && !report.changes.is_empty() {
                println!("not applied (--dry-run)");
            }
            Ok(())
        }
        Command::Config { command: ConfigCommand::Export { store } } => {
            let state = store.state().await?;
            let result = tollgate_server::config_file::export(&state).await;
            close(state).await;
            print!("{}", result?);
            Ok(())
        }
        Command::SecretKey { command: SecretKeyCommand::Generate } => {
            println!("{}", tollgate_server::secrets::key::generate());
            Ok(())
        }
        Command::SecretKey { command: SecretKeyCommand::Rotate { old_key_file, new_key_file, db } } => {
            use tollgate_server::secrets::{SecretBox, key, stored};
            let old = SecretBox::new(&key::read_file(&old_key_file)?);
            let new = SecretBox::new(&key::read_file(&new_key_file)?);
            let store = tollgate_server::files::connect_store(&db.url()).await?;
            let (upstreams, settings) = stored::rotate(&*store, &old, &new).await?;
            println!(
                "re-encrypted {upstreams} upstream API key(s) and {settings} OAuth client secret(s) with the key in {}; \
                 start tollgate with that key from now on",
                new_key_file.display()
            );
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
