//! Connection timeouts (`tollgate_server::serve`): a client that never finishes its headers, a body
//! that never arrives, and an idle keep-alive connection are each dropped within their timeout; a
//! shutdown does not wait for a connection that sends nothing. (One server at a time with the
//! serving tests, which count the process's serving threads.)

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tollgate_server::config::GatewayConfig;
use tollgate_store::testing::TestDb;

use super::serving::ONE_SERVER;
use crate::util::test_app::{TestApp, journal_dir};

async fn served(
    header: u64,
    body: u64,
    idle: u64,
) -> (TestApp, std::net::SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>) {
    let config = GatewayConfig {
        journal_dir: Some(journal_dir()),
        serve_threads: 1,
        header_read_timeout_secs: header,
        body_read_timeout_secs: body,
        idle_timeout_secs: idle,
        ..GatewayConfig::default()
    };
    let app = TestApp::with_config(TestDb::sqlite(), config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    #[allow(clippy::disallowed_methods)] // the server under test, awaited below
    let server = tokio::spawn(tollgate_server::serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));
    (app, addr, stop, server)
}

/// Reads until the server closes the connection; returns what it sent and how long that took.
async fn until_closed(tcp: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, tcp.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the connection was still open after {limit:?}");
    (String::from_utf8_lossy(&got).into_owned(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_a_header_is_dropped_within_the_header_timeout() {
    let _one = ONE_SERVER.lock().await;
    let (_app, addr, stop, server) = served(1, 60, 75).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let (_, took) = until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");
    // A connection that sends nothing at all, too.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (_, took) = until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_refused_within_the_body_timeout() {
    let _one = ONE_SERVER.lock().await;
    let (app, addr, stop, server) = served(10, 1, 75).await;
    // The gateway's body read (after the key is checked).
    let c = app.caller("slow-body@example.com", &[]).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{{",
        c.secret
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let (answer, took) = until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("body-read-timeout"), "{answer}");
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The console login reads its body (a gateway route checks the key first).
    let login = "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{";
    tcp.write_all(login.as_bytes()).await.unwrap();
    let (answer, took) = until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_is_closed_and_shutdown_does_not_wait_for_silent_clients() {
    let _one = ONE_SERVER.lock().await;
    let (_app, addr, stop, server) = served(30, 60, 1).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answer, took) = until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"), "{answer}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(3), "{took:?}");

    // Silent connections (header timeout 30 s) do not hold the shutdown.
    let _silent = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown waited {:?}", started.elapsed());
}
