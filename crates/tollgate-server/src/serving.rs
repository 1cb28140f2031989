//! Serving connections: one thread per core, each with its own single-threaded event loop and its
//! own upstream client, so a request is accepted, forwarded, metered and answered on one thread,
//! with no hand-over between threads on its path (measured in docs/benchmarks.md). Background work
//! (the settlement worker, the refresher) stays on the caller's runtime.

use std::io;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;
use crate::{metrics_export, router, spawn_refresher};

struct ServingThread {
    /// How its accept loop ended.
    served: oneshot::Receiver<io::Result<()>>,
    thread: JoinHandle<()>,
}

/// Serves `state` on `listener` until `shutdown` resolves, then waits for background work.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let count = match state.config.serve_threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    };
    let listener = listener.into_std()?;
    // Everything that can fail is done before the first thread starts.
    let mut shares = Vec::with_capacity(count);
    for _ in 0..count {
        shares.push((listener.try_clone()?, state.with_own_upstream_client().map_err(io::Error::other)?));
    }
    metrics_export::install();
    if let Some(addr) = state.config.metrics_listen {
        let metrics = TcpListener::bind(addr).await?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics listening");
        let app = metrics_export::separate_app(state.clone());
        let stop = state.shutdown.clone();
        state.tasks.spawn(async move {
            if let Err(e) = axum::serve(metrics, app).with_graceful_shutdown(stop.cancelled_owned()).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    spawn_refresher(&state, Duration::from_secs(state.config.settings_refresh_secs.max(1)));
    let stop_accepting = CancellationToken::new();
    let release = CancellationToken::new();
    let mut threads = Vec::with_capacity(count);
    for (i, (listener, thread_state)) in shares.into_iter().enumerate() {
        match start(i, listener, thread_state, stop_accepting.clone(), release.clone()) {
            Ok(t) => threads.push(t),
            Err(e) => {
                // The threads already started, and the background loops, end at once.
                stop_accepting.cancel();
                release.cancel();
                state.shutdown.cancel();
                return Err(e);
            }
        }
    }
    // A thread that stops accepting on its own (it could not listen, or failed) stops them all.
    tokio::select! {
        () = shutdown => stop_accepting.cancel(),
        () = stop_accepting.cancelled() => {}
    }
    let mut result = Ok(());
    let mut handles = Vec::with_capacity(threads.len());
    for t in threads {
        let served = t.served.await.unwrap_or_else(|_| Err(io::Error::other("a serving thread failed")));
        result = result.and(served);
        handles.push(t.thread);
    }
    state.shutdown.cancel();
    state.tasks.close();
    state.tasks.wait().await;
    release.cancel();
    let joined = tokio::task::spawn_blocking(move || handles.into_iter().all(|h| h.join().is_ok())).await;
    if !matches!(joined, Ok(true)) {
        result = result.and(Err(io::Error::other("a serving thread failed while stopping")));
    }
    result
}

/// Starts serving thread `i`: it accepts on its copy of the listening socket until `stop`, then
/// keeps its runtime until `release`, because tasks it spawned (the settlement of a stream whose
/// client left) run there and shutdown waits for them.
fn start(
    i: usize,
    listener: std::net::TcpListener,
    state: AppState,
    stop: CancellationToken,
    release: CancellationToken,
) -> io::Result<ServingThread> {
    let (served_tx, served) = oneshot::channel();
    let thread = std::thread::Builder::new().name(format!("tollgate-serve-{i}")).spawn(move || {
        // Cancels `stop` however this thread's serving ends, a panic included.
        let stop_all = stop.clone().drop_guard();
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                let _ = served_tx.send(Err(e));
                return;
            }
        };
        let result = runtime.block_on(accept_until(listener, state, stop.cancelled_owned()));
        drop(stop_all);
        let _ = served_tx.send(result);
        runtime.block_on(release.cancelled_owned());
    })?;
    Ok(ServingThread { served, thread })
}

async fn accept_until(
    listener: std::net::TcpListener,
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let timeouts = state.config.timeouts();
    let app = router::app(state);
    let connections = tokio_util::task::TaskTracker::new();
    let stopping = CancellationToken::new();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning (as axum::serve).
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        // Nagle + delayed ACK add ~40 ms to back-to-back requests on one connection (SPEC 4).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        // Connect info gives login throttling the client's address.
        connections.spawn(crate::connection::serve(tcp, peer, app.clone(), timeouts, stopping.clone()));
    }
    drop(listener);
    stopping.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}
