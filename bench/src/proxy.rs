//! The baseline: a bare pass-through proxy in the same HTTP stack as Tollgate (axum + reqwest),
//! forwarding bytes both ways with nothing else. Tollgate's throughput is reported against it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::serve::ListenerExt;
use futures_util::TryStreamExt;

#[derive(Clone)]
struct Target {
    base: String,
    http: reqwest::Client,
}

/// Serves on tokio's default runtime (a thread pool sharing work), as a few lines of axum would.
pub async fn serve(listen: &str, target: &str) -> anyhow::Result<()> {
    accept(tokio::net::TcpListener::bind(listen).await?, target).await
}

/// Serves with Tollgate's own threading (`--bare-proxy per-core`): one thread per core, each with
/// its own single-threaded runtime and upstream client, all accepting on one socket.
pub fn serve_per_core(listen: &str, target: &str) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(listen)?;
    listener.set_nonblocking(true)?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut threads = Vec::new();
    for _ in 0..cores {
        let (listener, target) = (listener.try_clone()?, target.to_owned());
        threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async { accept(tokio::net::TcpListener::from_std(listener)?, &target).await })
        }));
    }
    for t in threads {
        t.join().map_err(|_| anyhow::anyhow!("a proxy thread panicked"))??;
    }
    Ok(())
}

async fn accept(listener: tokio::net::TcpListener, target: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let app = axum::Router::new().fallback(forward).with_state(Target { base: target.to_owned(), http });
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}

async fn forward(State(t): State<Target>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let url = format!("{}{}", t.base, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut headers = parts.headers;
    headers.remove("host");
    let body = reqwest::Body::wrap_stream(body.into_data_stream());
    match t.http.request(parts.method, url).headers(headers).body(body).send().await {
        Ok(up) => {
            let mut resp = Response::builder().status(up.status());
            if let Some(h) = resp.headers_mut() {
                *h = up.headers().clone();
                h.remove("content-length");
            }
            resp.body(Body::from_stream(up.bytes_stream().map_err(std::io::Error::other)))
                .unwrap_or_else(|_| Response::new(Body::empty()))
        }
        Err(_) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = axum::http::StatusCode::BAD_GATEWAY;
            r
        }
    }
}
