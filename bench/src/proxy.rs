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

pub async fn serve(listen: &str, target: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
    let app = axum::Router::new().fallback(forward).with_state(Target { base: target.to_owned(), http });
    let listener = tokio::net::TcpListener::bind(listen).await?.tap_io(|tcp| {
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
