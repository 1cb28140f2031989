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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway and console.
    Serve(ServeArgs),
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
enum AdminCommand {
    /// Create an admin account (or make an existing account an admin with this password).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    match run(Cli::parse()).await {
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
            let store = tollgate_store::connect(&args.db.url()).await?;
            let state = AppState::new(store, args.gateway.clone().with_default_journal(&args.db)).await?;
            let listener = tokio::net::TcpListener::bind(args.listen).await?;
            tracing::info!(addr = %listener.local_addr()?, backend = state.store.backend(), "tollgate listening");
            tollgate_server::serve(listener, state, shutdown_signal()).await?;
            Ok(())
        }
        Command::Demo(args) => tollgate_server::demo::run(args, shutdown_signal()).await,
        Command::Migrate(db) => {
            let store = tollgate_store::connect(&db.url()).await?;
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
        Command::Admin { command: AdminCommand::Create { email, password, db } } => {
            let store = tollgate_store::connect(&db.url()).await?;
            let user = tollgate_server::console::accounts::create_admin(&*store, &email, &password).await?;
            println!("admin {} (id {}) is ready", user.email, user.id);
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
