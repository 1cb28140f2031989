//! Streams on a real socket: a client that leaves mid-stream is charged for what was generated; a
//! stream cut before its usage is never free; a failing account is skipped before the first byte.

use std::time::Duration;

use tollgate_core::platform::Platform;
use tollgate_server::mock_upstream::MockUpstream;
use tollgate_store::UpstreamProtocol;

use crate::util::gateway::{ANTHROPIC_COST_NANOS, MODEL, open_stream, slow_stream_past_first_text};
use crate::util::test_app::TestApp;

async fn wait_for_charge(app: &TestApp, user_id: i64, platform: Platform) -> i64 {
    for _ in 0..100 {
        let spent = app.spent(user_id, platform).await;
        if spent > 0 {
            return spent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    0
}

/// A client that hangs up after the first text still pays the upstream's full usage: the gateway
/// reads the rest of the answer in the background for its final usage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_mid_stream_pays_the_full_usage() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let base = app.listen().await;
    let c = app.caller("leave@example.com", &[]).await;
    let stream = slow_stream_past_first_text(&base, &c.secret).await;
    drop(stream); // the client goes away
    let spent = wait_for_charge(&app, c.user_id, Platform::Anthropic).await;
    assert_eq!(spent, ANTHROPIC_COST_NANOS, "charged {spent}");
    let record = app.last_record(c.user_id).await;
    assert_eq!((record.status.as_str(), record.output_estimated), ("client_disconnected", false));
}

/// A Gemini stream of several candidates is not over when the first finishes: a client that hangs
/// up then still pays for the others. (It was settled at the first `finishReason`, and a hang-up
/// skipped the rest.) With one candidate asked, usage that grows after the final chunk is charged as
/// late usage, also after a hang-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_stream_is_charged_for_every_candidate_after_a_hang_up() {
    use futures_util::StreamExt;
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let base = app.listen().await;
    let c = app.caller("candidates@example.com", &[]).await;
    for (n, count) in [2, 1].into_iter().enumerate() {
        let body = format!(
            r#"{{"contents":[{{"parts":[{{"text":"hi"}}]}}],"generationConfig":{{"candidateCount":{count}}}}}"#
        );
        let path = format!("/v1beta/models/{MODEL}:streamGenerateContent?alt=sse");
        let resp = open_stream(&base, &path, ("x-goog-api-key", &c.secret), "two_candidates", body).await;
        let mut stream = resp.bytes_stream();
        let mut seen = String::new();
        while !seen.contains("STOP") {
            seen.push_str(&String::from_utf8_lossy(&stream.next().await.unwrap().unwrap()));
        }
        drop(stream); // the client leaves once the first candidate has finished
        let want = (n as i64 + 1) * crate::util::gateway::OTHER_COST_NANOS;
        let mut spent = 0;
        for _ in 0..100 {
            spent = app.spent(c.user_id, Platform::Gemini).await;
            if spent >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(spent, want, "candidateCount {count}: charged {spent}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_before_its_usage_is_never_free() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let base = app.listen().await;
    let c = app.caller("cut@example.com", &[]).await;
    let body = format!(r#"{{"model":"{MODEL}","stream":true,"messages":[]}}"#);
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(&c.secret)
        .header("user-agent", "test mock=cut")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(text.contains("Hello"), "{text}");
    // No usage came: input estimated from the request size, output from the streamed text.
    let spent = wait_for_charge(&app, c.user_id, Platform::OpenAi).await;
    assert!(spent > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_account_is_skipped_before_the_first_byte() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let broken = MockUpstream::start(&app.state.tasks, app.state.shutdown.clone(), true).await.unwrap();
    app.upstream(Platform::Anthropic, &broken.base_url(), 0, UpstreamProtocol::Native).await;
    // Nothing listens here: a connection error.
    app.upstream(Platform::Anthropic, "http://127.0.0.1:9", 1, UpstreamProtocol::Native).await;
    let c = app.caller("fail@example.com", &[]).await;
    for stream in ["false", "true"] {
        let body = format!(r#"{{"model":"{MODEL}","max_tokens":8,"stream":{stream},"messages":[]}}"#);
        let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(app.spent(c.user_id, Platform::Anthropic).await, 2 * ANTHROPIC_COST_NANOS);
}

/// A client that gives up on a non-streaming request is still charged: the handler runs to the end
/// (the upstream did the work), and no write is abandoned half-way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_gives_up_on_a_whole_answer_is_still_charged() {
    let app = TestApp::sqlite().await.with_mocks(false).await;
    let base = app.listen().await;
    let c = app.caller("impatient@example.com", &[]).await;
    let body = format!(r#"{{"model":"{MODEL}","max_tokens":64,"messages":[]}}"#);
    let sent = reqwest::Client::new()
        .post(format!("{base}/v1/messages"))
        .header("x-api-key", &c.secret)
        .header("user-agent", "test mock=slow")
        .header("content-type", "application/json")
        .timeout(Duration::from_millis(100))
        .body(body.clone())
        .send()
        .await;
    assert!(sent.is_err(), "the client should have timed out");
    assert_eq!(wait_for_charge(&app, c.user_id, Platform::Anthropic).await, ANTHROPIC_COST_NANOS);
    // The gateway keeps working for everyone.
    let r = app.post_json("/v1/messages", &[("x-api-key", &c.secret)], &body).await;
    assert_eq!(r.status, 200);
}
