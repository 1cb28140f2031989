//! The `tollgate` binary.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tollgate_server::config::{DbArgs, ServeArgs};
use tollgate_server::state::AppState;

// Measured in docs/benchmarks.md: glibc malloc was ~7 % of the gateway's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "tollgate", version, about = "AI API gateway with per-user, per-platform USD quotas")]
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
        Command::Admin { command: AdminCommand::Create { email, password, promote, db } } => {
            use tollgate_server::console::accounts::{AdminCreated, create_or_promote_admin};
            let store = tollgate_store::connect(&db.url()).await?;
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
