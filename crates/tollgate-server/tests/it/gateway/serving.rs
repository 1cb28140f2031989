//! `tollgate_server::serve` itself: connections spread over its serving threads, each with its own
//! event loop, and a shutdown that lets streams in flight finish and charges every one of them,
//! including the stream whose client left (its settlement runs on the serving thread's runtime).

use tokio::sync::oneshot;
use tollgate_core::platform::Platform;
use tollgate_server::config::GatewayConfig;
use tollgate_store::testing::TestDb;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, open_slow_stream, slow_stream_past_first_text};
use crate::util::test_app::{TestApp, journal_dir};

async fn charged(app: &TestApp, user_id: i64) -> i64 {
    let rows = app.state.store.list_by_user(user_id).await.unwrap();
    rows.iter().find(|r| r.platform == Platform::Anthropic).map_or(0, |r| r.usage[1].usage.nanos())
}

/// The tests here count the process's serving threads: one at a time.
pub(super) static ONE_SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Threads of this process named as serving threads (names are cut to 15 bytes by Linux).
fn serving_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("tollgate-serve"))
        .count()
}

/// A fresh app with mock upstreams, and `serve` for it with `threads` serving threads on a fresh
/// listener: its base URL, the sender that stops it, and the future to run it.
async fn served(
    threads: usize,
) -> (TestApp, String, oneshot::Sender<()>, impl std::future::Future<Output = std::io::Result<()>>) {
    let config = GatewayConfig { journal_dir: Some(journal_dir()), serve_threads: threads, ..GatewayConfig::default() };
    let app = TestApp::with_config(TestDb::sqlite(), config).await.with_mocks(false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tollgate_server::serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    });
    (app, base, stop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_threads_answer_and_shut_down_without_losing_a_charge() {
    let _one = ONE_SERVER.lock().await;
    let (app, base, stop, server) = served(3).await;
    let clients = async {
        // Whole answers over many connections: each a client of its own, so a new connection each.
        let whole = app.caller("whole@example.com", &[]).await;
        let body = format!(r#"{{"model":"{MODEL}","max_tokens":8,"messages":[]}}"#);
        let answers = futures_util::future::join_all((0..24).map(|_| {
            reqwest::Client::new()
                .post(format!("{base}/v1/messages"))
                .header("x-api-key", &whole.secret)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
        }))
        .await;
        for a in answers {
            assert_eq!(a.unwrap().status(), 200);
        }
        assert_eq!(serving_threads(), 3);

        // A stream in flight when shutdown begins is served to its end.
        let stays = app.caller("stays@example.com", &[]).await;
        let staying = open_slow_stream(&base, &stays.secret).await;
        stop.send(()).unwrap();
        let text = staying.text().await.unwrap();
        assert!(text.contains("message_stop"), "the stream in flight was cut by the shutdown: {text}");
        (whole, stays)
    };
    let (served, (whole, stays)) = tokio::join!(server, clients);
    served.unwrap();
    // Joined threads leave /proc a moment after the join returns.
    for _ in 0..100 {
        if serving_threads() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(serving_threads(), 0, "serving threads outlived serve");

    // serve returned: everything it answered is in the database.
    assert_eq!(charged(&app, whole.user_id).await, 24 * ANTHROPIC_COST_NANOS);
    assert_eq!(charged(&app, stays.user_id).await, ANTHROPIC_COST_NANOS);
}

/// The client leaves mid-stream after shutdown began: its settlement is spawned on the serving
/// thread's runtime after that thread stopped accepting, and `serve` returns only once it is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_left_at_shutdown_is_charged_before_serve_returns() {
    let _one = ONE_SERVER.lock().await;
    let (app, base, stop, server) = served(2).await;
    let leaves = app.caller("leaves@example.com", &[]).await;
    let client = async {
        let leaving = slow_stream_past_first_text(&base, &leaves.secret).await;
        stop.send(()).unwrap();
        // Let the serving threads stop accepting first.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(leaving);
    };
    let (served, ()) = tokio::join!(server, client);
    served.unwrap();
    let partial = charged(&app, leaves.user_id).await;
    // Shutdown cuts the background read short: the charge is the estimate of what was seen (or the
    // whole answer, had it arrived first), never nothing.
    assert!(partial > 0 && partial <= ANTHROPIC_COST_NANOS, "the client that left was charged {partial}");
}
