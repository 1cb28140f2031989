//! `tollgate demo`: a self-contained demo on SQLite with a seeded admin and a demo user.

use std::net::SocketAddr;
use std::path::PathBuf;

use jiff::Timestamp;
use tollgate_core::money::Money;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::quota::WindowLimits;
use tollgate_store::{NewUser, Store};

use crate::config::GatewayConfig;
use crate::console::accounts;
use crate::state::AppState;

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "tollgate-admin";
pub const USER_EMAIL: &str = "demo@example.com";
pub const USER_PASSWORD: &str = "tollgate-demo";

/// `tollgate demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, env = "TOLLGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Folder for the demo's SQLite database.
    #[arg(long, env = "TOLLGATE_DEMO_DIR", default_value = "data/demo")]
    pub dir: PathBuf,
}

/// Seeds the demo accounts (once) and serves until Ctrl-C.
pub async fn run(
    args: DemoArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", args.dir.join("tollgate.db").display());
    let store = tollgate_store::connect(&url).await?;
    seed(&*store).await?;
    let state = AppState::new(store, GatewayConfig::default()).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    println!(
        "\nTollgate demo is running at http://{addr}/\n\n  admin console: {ADMIN_EMAIL} / {ADMIN_PASSWORD}\n  demo user:     {USER_EMAIL} / {USER_PASSWORD}\n\nDatabase: {url}. Press Ctrl-C to stop.\n"
    );
    crate::serve(listener, state, shutdown).await?;
    Ok(())
}

async fn seed(store: &dyn Store) -> anyhow::Result<()> {
    if store.find_user_by_email(ADMIN_EMAIL).await?.is_none() {
        accounts::create_admin(store, ADMIN_EMAIL, ADMIN_PASSWORD).await?;
    }
    if store.find_user_by_email(USER_EMAIL).await?.is_none() {
        let mut new = NewUser::new(USER_EMAIL, AuthSource::Email);
        new.display_name = "Demo User".to_owned();
        new.password_hash = Some(accounts::hash_password(USER_PASSWORD)?);
        let usd = |units| Money::from_units(units).ok();
        let quotas: Vec<(Platform, WindowLimits)> = Platform::ALL
            .iter()
            .map(|p| (*p, WindowLimits { daily: usd(1), weekly: usd(5), monthly: usd(20) }))
            .collect();
        store.create_user(&new, &quotas, Timestamp::now()).await?;
    }
    Ok(())
}
