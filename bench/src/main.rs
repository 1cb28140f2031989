//! Tollgate's benchmark: added latency at a fixed rate, and maximum throughput as a ratio of a bare
//! pass-through proxy's, for non-streaming and streaming requests, on SQLite and PostgreSQL.
//!
//! Everything runs on this machine, each server in its own process: the mock upstream, a bare
//! proxy (the physical floor of one extra HTTP hop), and `tollgate serve` with quotas enforced and
//! settled. The load generator is this process. Run with `scripts/bench`.

mod load;
mod proxy;
mod setup;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the mock upstream.
    Mock {
        #[arg(long)]
        listen: String,
    },
    /// Serve a bare pass-through proxy to `target`.
    Proxy {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        target: String,
        /// Tollgate's threading (a runtime per core) instead of tokio's default.
        #[arg(long)]
        per_core: bool,
    },
}

#[derive(clap::Args, Clone)]
pub struct RunArgs {
    /// The tollgate binary (a release build).
    #[arg(long, default_value = "target/release/tollgate")]
    tollgate: PathBuf,
    /// Requests per second for the latency runs.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections for the throughput runs.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Measurements to run: `latency`, `throughput` (both by default; one alone is for profiling).
    #[arg(long, value_delimiter = ',', default_value = "latency,throughput")]
    measure: Vec<String>,
    /// Request kinds: `non-streaming`, `streaming`.
    #[arg(long, value_delimiter = ',', default_value = "non-streaming,streaming")]
    kinds: Vec<String>,
    /// Settlement modes to measure (`journal`, the default; `direct`: each answer waits for the
    /// database's commit).
    #[arg(long, value_delimiter = ',', default_value = "journal")]
    settlement: Vec<String>,
    /// The bare proxy's threading: `shared` (tokio's default thread pool, as a few lines of axum
    /// would be) or `per-core` (Tollgate's own: a single-threaded runtime per core).
    #[arg(long, default_value = "shared", value_parser = ["shared", "per-core"])]
    bare_proxy: String,
    /// PostgreSQL for the postgres backend.
    #[arg(long, env = "TOLLGATE_BENCH_PG_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pg_url: String,
}

/// A child process killed on drop.
pub struct Proc(Child);

impl Proc {
    /// Stops the process as an operator would (SIGTERM) and waits for it to exit: a gateway writes
    /// every journaled settlement before it exits.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let term = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status()?;
        anyhow::ensure!(term.success(), "could not signal the gateway");
        let status = self.0.wait()?;
        anyhow::ensure!(status.success(), "the gateway exited with {status}");
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `program args…` and waits until `ready_url` answers.
pub async fn spawn(program: &std::path::Path, args: &[&str], ready_url: &str) -> anyhow::Result<Proc> {
    let child = Command::new(program).args(args).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn()?;
    let proc = Proc(child);
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if client.get(ready_url).send().await.is_ok() {
            return Ok(proc);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("{} did not start", program.display())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Cmd::Mock { listen }) => {
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(listener, tollgate_server::mock_upstream::router_per_event()).await?;
            Ok(())
        }
        Some(Cmd::Proxy { listen, target, per_core: false }) => proxy::serve(&listen, &target).await,
        Some(Cmd::Proxy { listen, target, per_core: true }) => {
            tokio::task::spawn_blocking(move || proxy::serve_per_core(&listen, &target)).await?
        }
        None => run(cli.run).await,
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let mock_port = free_port()?;
    let mock_url = format!("http://127.0.0.1:{mock_port}");
    let _mock =
        spawn(&me, &["mock", "--listen", &format!("127.0.0.1:{mock_port}")], &format!("{mock_url}/v1/models")).await?;
    let proxy_port = free_port()?;
    let proxy_url = format!("http://127.0.0.1:{proxy_port}");
    let proxy_listen = format!("127.0.0.1:{proxy_port}");
    let mut proxy_args = vec!["proxy", "--listen", &proxy_listen, "--target", &mock_url];
    if args.bare_proxy == "per-core" {
        proxy_args.push("--per-core");
    }
    let _proxy = spawn(&me, &proxy_args, &format!("{proxy_url}/v1/models")).await?;

    println!(
        "Tollgate benchmark: {} s per measurement, {} req/s for latency, {} connections for throughput",
        args.seconds, args.rate, args.concurrency
    );
    println!(
        "machine: {} cores; every server in its own process on 127.0.0.1; bare proxy on {}\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if args.bare_proxy == "per-core" { "a runtime per core, as Tollgate" } else { "tokio's default thread pool" }
    );
    let duration = Duration::from_secs(args.seconds);
    let runs = args.backends.iter().flat_map(|b| args.settlement.iter().map(move |m| (b, m)));
    for (backend, settlement) in runs {
        let db_url = setup::database(backend, &args.pg_url).await?;
        let seeded = setup::seed(&db_url, &mock_url).await?;
        let port = free_port()?;
        let gateway_url = format!("http://127.0.0.1:{port}");
        let journal = std::env::temp_dir().join(format!("tollgate-bench-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&journal);
        let journal_arg = journal.to_string_lossy();
        let gateway = spawn(
            &args.tollgate,
            &[
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                &db_url,
                "--settlement",
                settlement,
                "--journal-dir",
                &journal_arg,
            ],
            &format!("{gateway_url}/readyz"),
        )
        .await?;
        println!(
            "== backend: {backend}, settlement: {settlement} (quotas enforced: 5-hour/daily/weekly/monthly limits on the user and on its key, plus a key lifetime budget, every request settled)"
        );
        // Every latency run comes before every throughput run: a throughput run leaves the
        // database tens of thousands of fresh rows to checkpoint or vacuum, which disturbed the
        // run measured after it (direct calls' p99 rose from ~0.4 to ~1.2 ms in that slice).
        let kinds: Vec<(&str, bool)> = [("non-streaming", false), ("streaming", true)]
            .into_iter()
            .filter(|(k, _)| args.kinds.iter().any(|a| a == k))
            .collect();
        let targets = |stream: bool| {
            (
                load::Target::new(&mock_url, tollgate_server::mock_upstream::MOCK_KEY, stream),
                load::Target::new(&proxy_url, tollgate_server::mock_upstream::MOCK_KEY, stream),
                load::Target::new(&gateway_url, &seeded.secret, stream),
            )
        };
        if args.measure.iter().any(|m| m == "latency") {
            println!("  latency at {} req/s:", args.rate);
            for &(kind, stream) in &kinds {
                let (direct, bare, gate) = targets(stream);
                load::warm_up(&[&direct, &bare, &gate]).await?;
                latency_run(kind, &args, &gateway_url, [&direct, &bare, &gate], duration).await?;
            }
        }
        if args.measure.iter().any(|m| m == "throughput") {
            println!("  max throughput, {} connections:", args.concurrency);
            for &(kind, stream) in &kinds {
                let (_, bare, gate) = targets(stream);
                load::warm_up(&[&bare, &gate]).await?;
                let t_bare = load::max_throughput(&bare, args.concurrency, duration).await?;
                let t_gate = load::max_throughput(&gate, args.concurrency, duration).await?;
                println!(
                    "    {kind:<14} bare proxy {:.0} req/s | tollgate {:.0} req/s | ratio {:.2}  (errors {})",
                    t_bare.rps,
                    t_gate.rps,
                    t_gate.rps / t_bare.rps.max(1.0),
                    t_bare.errors + t_gate.errors,
                );
            }
        }
        gateway.stop()?;
        let _ = std::fs::remove_dir_all(&journal);
        let charged = setup::charged_today(&db_url, seeded.user_id).await?;
        println!("  charged to the caller today on this backend: {charged} USD (every answered request settled)\n");
        setup::drop_database(backend, &db_url, &args.pg_url).await?;
    }
    Ok(())
}

/// One latency measurement of direct calls, the bare proxy and Tollgate, printed with Tollgate's
/// own account of the run (commit times, database writes) from two scrapes of its `/metrics`.
async fn latency_run(
    kind: &str,
    args: &RunArgs,
    gateway_url: &str,
    [direct, bare, gate]: [&load::Target; 3],
    duration: Duration,
) -> anyhow::Result<()> {
    let before = load::scrape(gateway_url).await.unwrap_or_default();
    let mut l = load::interleaved(&[direct, bare, gate], args.rate, duration).await?.into_iter();
    let after = load::scrape(gateway_url).await.unwrap_or_default();
    let (Some(l_direct), Some(l_bare), Some(l_gate)) = (l.next(), l.next(), l.next()) else {
        anyhow::bail!("a latency run returned no figures");
    };
    println!(
        "    {kind}: direct p50 {:.3} ms p99 {:.3} ms  (the load generator started requests up to {:.3} ms late at p99)",
        l_direct.p50_ms, l_direct.p99_ms, l_direct.start_p99_ms
    );
    for (name, l) in [("bare proxy", &l_bare), ("tollgate", &l_gate)] {
        println!(
            "      via {name:<10}  p50 {:.3} ms p99 {:.3} ms | added p50 {:.3} ms p99 {:.3} ms  (late starts p99 {:.3} ms, errors {})",
            l.p50_ms,
            l.p99_ms,
            l.p50_ms - l_direct.p50_ms,
            l.p99_ms - l_direct.p99_ms,
            l.start_p99_ms,
            l.errors + l_direct.errors,
        );
    }
    if let Some((p50, p99)) =
        load::settlement_quantiles(&load::settlement_histogram(&before), &load::settlement_histogram(&after))
    {
        println!(
            "      of which committing the charge (journal append, or queue + database commit in direct mode; tollgate's histogram, bucket bounds) p50 <= {p50:.3} ms p99 <= {p99:.3} ms"
        );
    }
    let delta = |name| load::counter(&after, name).saturating_sub(load::counter(&before, name));
    let (writes, written) = (delta("tollgate_settlement_writes_total"), delta("tollgate_settlements_written_total"));
    println!(
        "      database writes during the run: {writes} transactions for {written} settlements ({:.1} a transaction)",
        written as f64 / writes.max(1) as f64
    );
    Ok(())
}
