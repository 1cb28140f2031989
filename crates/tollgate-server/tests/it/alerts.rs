//! Threshold alerts (docs/alerts.md): a local webhook receiver that checks the HMAC signature and a
//! local SMTP sink, both started by the test; one alert per (user, platform, window, threshold,
//! window start), delivered once, retried with backoff when the receiver is down, shown as a notice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::Mac as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tollgate_core::platform::Platform;
use tollgate_server::alerts::delivery::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use tollgate_server::config::GatewayConfig;
use tollgate_store::testing::TestDb;

use crate::util::gateway::{anthropic_prompt, daily};
use crate::util::test_app::{Login, TestApp, journal_dir};

const SECRET: &str = "whsec-test-0123456789";

/// A webhook receiver: verifies each request's signature, answers 500 to the first `fail_first`.
#[derive(Clone, Default)]
pub struct Hook {
    pub received: Arc<Mutex<Vec<serde_json::Value>>>,
    pub bad_signatures: Arc<AtomicUsize>,
    pub fail_first: Arc<AtomicUsize>,
    pub attempts: Arc<AtomicUsize>,
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = hook.attempts.fetch_add(1, Ordering::SeqCst);
    if n < hook.fail_first.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let text = String::from_utf8(body.to_vec()).unwrap();
    let ts: i64 = headers.get(TIMESTAMP_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    // Computed here, independently of the server's code: HMAC-SHA256 of "<timestamp>.<body>".
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{ts}.{text}").as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    if sig != expected || (jiff::Timestamp::now().as_second() - ts).abs() > 300 {
        hook.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    hook.received.lock().unwrap().push(serde_json::from_str(&text).unwrap());
    StatusCode::NO_CONTENT
}

impl Hook {
    /// Serves the receiver on `listener`, on `app`'s task tracker.
    pub fn serve(&self, app: &TestApp, listener: tokio::net::TcpListener) {
        let router = Router::new().route("/hook", axum::routing::post(receive)).with_state(self.clone());
        app.state.tasks.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// One message an SMTP client handed over.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The decoded Subject header (RFC 2047 encoded words of UTF-8 text).
    pub fn subject(&self) -> String {
        let line = self.data.lines().find(|l| l.starts_with("Subject: ")).unwrap_or("").trim_start_matches("Subject: ");
        let mut out = String::new();
        // Continuation lines of a folded header.
        let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let mut lines = self.data.lines().skip_while(|l| !l.starts_with("Subject: ")).skip(1);
        while let Some(l) = lines.next().filter(|l| l.starts_with(' ') || l.starts_with('\t')) {
            words.extend(l.split_whitespace().map(str::to_owned));
        }
        for w in words {
            let lower = w.to_lowercase();
            if let Some(inner) = lower.strip_prefix("=?utf-8?b?").and_then(|s| s.strip_suffix("?=")) {
                let start = w.len() - inner.len() - 2;
                let raw = &w[start..w.len() - 2];
                out.push_str(
                    &String::from_utf8(base64::engine::general_purpose::STANDARD.decode(raw).unwrap()).unwrap(),
                );
            } else {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&w);
            }
        }
        out
    }
}

/// A plain-text SMTP sink (no TLS, no auth): enough of RFC 5321 for lettre to hand over messages.
#[derive(Clone, Default)]
pub struct Sink {
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl Sink {
    pub async fn start(app: &TestApp) -> (Self, u16) {
        let sink = Sink::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = sink.mails.clone();
        let tasks = app.state.tasks.clone();
        app.state.tasks.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let mails = mails.clone();
                tasks.spawn(async move {
                    let _ = session(stream, mails).await;
                });
            }
        });
        (sink, port)
    }

    pub fn all(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn session(stream: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut to = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_uppercase();
        if upper.starts_with("EHLO") {
            write.write_all(b"250-sink\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("HELO") || upper.starts_with("MAIL FROM") || upper.starts_with("RSET") {
            write.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO") {
            to.push(line[8..].trim().trim_matches(|c| c == '<' || c == '>' || c == ':').to_owned());
            write.write_all(b"250 ok\r\n").await?;
        } else if upper == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                data.push_str(&l);
                data.push('\n');
            }
            mails.lock().unwrap().push(Mail { to: std::mem::take(&mut to), data });
            write.write_all(b"250 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
    Ok(())
}

/// Waits (up to 20 s) until `f` holds.
pub async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A signed-in user with an API key and a daily Anthropic cap of `cap` USD, in `language`.
async fn user(app: &TestApp, admin: &Login, email: &str, cap: &str, language: &str) -> (Login, String) {
    let login = app.user(admin, email).await;
    let r = app
        .call("PUT", "/api/v1/user/language", Some(&login.token), Some(&format!(r#"{{"language":"{language}"}}"#)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.state.store.upsert_for_user(login.id, &daily(Platform::Anthropic, cap)).await.unwrap();
    app.state.ledger.invalidate_user(login.id);
    let r = app.call("POST", "/api/v1/user/api-keys", Some(&login.token), Some(r#"{"name":"k"}"#)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (login, r.json()["secret"].as_str().unwrap().to_owned())
}

async fn charge(app: &TestApp, secret: &str) -> StatusCode {
    app.post_json("/v1/messages", &[("x-api-key", secret)], &anthropic_prompt(false, 50)).await.status
}

async fn configure(app: &TestApp, admin: &Login, hook_port: u16, smtp_port: u16) {
    configure_with(app, admin, hook_port, smtp_port, false).await;
}

async fn configure_with(app: &TestApp, admin: &Login, hook_port: u16, smtp_port: u16, notify_admins: bool) {
    let body = serde_json::json!({
        "alert_thresholds": [80, 100],
        "alert_webhook": {"url": format!("http://127.0.0.1:{hook_port}/hook"), "secret": SECRET},
        "alert_email": {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "tls": "none", "from": "alerts@tollgate.test", "notify_admins": notify_admins},
    });
    app.put_settings(admin, &body.to_string()).await;
}

/// A quiet moment, then `f` must still hold (nothing more is sent).
async fn stays(what: &str, f: impl Fn() -> bool) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(f(), "{what}");
}

// Each mock answer costs 0.001152 USD; a 0.007 cap is reached at 80 % by the 5th answer (82.3 %),
// not newly by the 6th (98.7 %), and at 100 % by the 7th (115 %).
async fn crossing_sends_one_signed_webhook_and_one_email(app: TestApp) {
    let app = app.with_mocks(false).await;
    let admin = app.admin().await;
    let hook = Hook::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_port = listener.local_addr().unwrap().port();
    hook.serve(&app, listener);
    let (sink, smtp_port) = Sink::start(&app).await;
    configure(&app, &admin, hook_port, smtp_port).await;
    let (zh, zh_key) = user(&app, &admin, "zh@example.com", "0.007", "zh").await;
    let (_en, en_key) = user(&app, &admin, "en@example.com", "0.007", "en").await;

    for _ in 0..4 {
        assert_eq!(charge(&app, &zh_key).await, StatusCode::OK);
    }
    stays("no alert below 80 %", || hook.count() == 0 && sink.all().is_empty()).await;
    assert_eq!(charge(&app, &zh_key).await, StatusCode::OK);
    until("the 80 % webhook and email", || hook.count() == 1 && sink.all().len() == 1).await;
    let j = hook.received.lock().unwrap()[0].clone();
    assert_eq!(
        (j["platform"].as_str(), j["window"].as_str(), j["threshold"].as_i64()),
        (Some("anthropic"), Some("daily"), Some(80))
    );
    assert_eq!((j["usage_usd"].as_str(), j["limit_usd"].as_str()), (Some("0.00576"), Some("0.007")));
    assert_eq!(j["user_email"], "zh@example.com");
    assert!(j["alert_id"].as_i64().is_some() && j["resets_at"].is_string() && j["window_start"].is_string());
    let mail = sink.all()[0].clone();
    assert_eq!(mail.to, vec!["zh@example.com".to_owned()]);
    assert!(mail.subject().contains("每日额度已用 80%"), "{}", mail.subject());

    assert_eq!(charge(&app, &zh_key).await, StatusCode::OK);
    stays("the 6th charge (98.7 %) sends nothing", || hook.count() == 1 && sink.all().len() == 1).await;
    assert_eq!(charge(&app, &zh_key).await, StatusCode::OK);
    until("the 100 % webhook and email", || hook.count() == 2 && sink.all().len() == 2).await;
    assert_eq!(hook.received.lock().unwrap()[1]["threshold"], 100);
    assert_eq!(charge(&app, &zh_key).await, StatusCode::TOO_MANY_REQUESTS);
    // Detection looked at again by another process on the same database (which remembers
    // nothing of this one's alerts): nothing more is recorded.
    let other_process = TestApp::on(app.db.clone()).await;
    other_process.state.ledger.alerts().charged(zh.id, Platform::Anthropic);
    stays("nothing repeats in the window", || hook.count() == 2 && sink.all().len() == 2).await;
    assert_eq!(hook.bad_signatures.load(Ordering::SeqCst), 0);

    // The English user gets English text.
    for _ in 0..5 {
        assert_eq!(charge(&app, &en_key).await, StatusCode::OK);
    }
    until("the English email", || sink.all().len() == 3).await;
    let mail = sink.all()[2].clone();
    assert_eq!(mail.to, vec!["en@example.com".to_owned()]);
    assert!(mail.subject().contains("80% of your daily anthropic quota used"), "{}", mail.subject());

    // The dashboard notices, newest first; read one, then all.
    let r = app.call("GET", "/api/v1/user/notices", Some(&zh.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["unread"], 2);
    let notices = j["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 2);
    assert_eq!(
        (notices[0]["kind"].as_str(), notices[0]["payload"]["threshold"].as_i64()),
        (Some("quota_alert"), Some(100))
    );
    assert_eq!(notices[1]["payload"]["threshold"], 80);
    assert!(notices[0]["payload"].get("user_email").is_none());
    let id = notices[1]["id"].as_i64().unwrap();
    let r = app.call("POST", &format!("/api/v1/user/notices/{id}/read"), Some(&zh.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(app.call("GET", "/api/v1/user/notices", Some(&zh.token), None).await.json()["unread"], 1);
    // Another user's notice is not theirs to read.
    let (other, _) = user(&app, &admin, "other@example.com", "1", "en").await;
    let r = app.call("POST", &format!("/api/v1/user/notices/{id}/read"), Some(&other.token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.call("POST", "/api/v1/user/notices/read-all", Some(&zh.token), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.call("GET", "/api/v1/user/notices", Some(&zh.token), None).await.json()["unread"], 0);

    // Admins see each alert with its deliveries.
    let r = app.call("GET", "/api/v1/admin/alerts", Some(&admin.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let alerts = r.json()["alerts"].as_array().unwrap().clone();
    assert_eq!(alerts.len(), 3);
    for a in &alerts {
        let states: Vec<_> =
            a["deliveries"].as_array().unwrap().iter().map(|d| d["state"].as_str().unwrap().to_owned()).collect();
        assert_eq!(states, vec!["delivered", "delivered"], "{a}");
    }
    // The secret and the password never come back.
    let r = app.call("GET", "/api/v1/admin/settings", Some(&admin.token), None).await;
    assert!(!r.text().contains(SECRET));
    assert_eq!(r.json()["settings"]["alert_webhook"]["secret_set"], true);
}
crate::both_backends!(
    crossing_sends_one_signed_webhook_and_one_email,
    super::crossing_sends_one_signed_webhook_and_one_email
);

/// A receiver that is down at first (not listening, then answering 500) gets the alert later.
async fn a_receiver_down_at_first_gets_it_later(db: TestDb) {
    let config =
        GatewayConfig { journal_dir: Some(journal_dir()), alert_retry_base_ms: 100, ..GatewayConfig::default() };
    let app = TestApp::with_config(db, config).await.with_mocks(false).await;
    let admin = app.admin().await;
    // Reserve a port, then close it: the first attempts find nobody listening.
    let hook_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (sink, smtp_port) = Sink::start(&app).await;
    configure_with(&app, &admin, hook_port, smtp_port, true).await;
    let (login, key) = user(&app, &admin, "late@example.com", "0.002", "en").await;
    assert_eq!(charge(&app, &key).await, StatusCode::OK);
    assert_eq!(charge(&app, &key).await, StatusCode::OK); // 115 %: 80 and 100 at once
    // With notify_admins, the admin gets a copy naming the user.
    until("the emails (user and admin)", || sink.all().len() == 4).await;
    let to_admin: Vec<Mail> = sink.all().into_iter().filter(|m| m.to == ["admin@example.com"]).collect();
    assert_eq!(to_admin.len(), 2);
    assert!(to_admin.iter().all(|m| m.subject().contains("late@example.com")), "{:?}", to_admin[0].subject());
    let failed = || async {
        let r = app.call("GET", "/api/v1/admin/alerts", Some(&admin.token), None).await;
        r.json()["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["deliveries"].as_array().unwrap().clone())
            .filter(|d| d["channel"] == "webhook" && d["attempts"].as_i64().unwrap() >= 2 && d["state"] == "pending")
            .count()
    };
    for _ in 0..400 {
        if failed().await == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(failed().await, 2, "both webhooks failed at least twice and are pending");
    let r = app.call("GET", "/api/v1/admin/alerts", Some(&admin.token), None).await;
    assert!(r.text().contains("webhook request failed"), "{}", r.text());
    // The receiver comes up, answering 500 once more before it works.
    let hook = Hook::default();
    hook.fail_first.store(1, Ordering::SeqCst);
    hook.serve(&app, tokio::net::TcpListener::bind(("127.0.0.1", hook_port)).await.unwrap());
    until("both webhooks, late", || hook.count() == 2).await;
    stays("each once", || hook.count() == 2).await;
    let mut thresholds: Vec<i64> =
        hook.received.lock().unwrap().iter().map(|j| j["threshold"].as_i64().unwrap()).collect();
    thresholds.sort_unstable();
    assert_eq!(thresholds, vec![80, 100]);
    let r = app.call("GET", "/api/v1/user/notices", Some(&login.token), None).await;
    assert_eq!(r.json()["notices"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_at_first_gets_it_later_sqlite() {
    a_receiver_down_at_first_gets_it_later(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_at_first_gets_it_later_postgres() {
    match TestDb::postgres("it_alert_backoff").await {
        Some(db) => a_receiver_down_at_first_gets_it_later(db).await,
        None => eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set"),
    }
}

/// The unique key: recording the same alert twice creates it once, with its deliveries once.
async fn recording_and_claiming_are_exclusive(app: TestApp) {
    let store = &app.state.store;
    let c = app.caller("idem@example.com", &daily(Platform::Anthropic, "1")).await;
    let now = jiff::Timestamp::now();
    let alert = tollgate_store::NewAlert {
        user_id: c.user_id,
        platform: Platform::Anthropic,
        window: tollgate_core::window::QuotaWindow::Daily,
        threshold: 80,
        window_start: jiff::Timestamp::from_millisecond(now.as_millisecond()).unwrap(),
        usage: tollgate_core::money::Money::parse("0.8").unwrap(),
        limit: tollgate_core::money::Money::parse("1").unwrap(),
        resets_at: None,
        created_at: now,
    };
    let build = |_id: i64| {
        let d = tollgate_store::NewDelivery {
            channel: "webhook".into(),
            recipient: "http://x".into(),
            payload: "{}".into(),
            next_attempt_at: now,
        };
        (vec![d], None)
    };
    let first = store.record_alert(&alert, &build).await.unwrap();
    assert!(first.is_some());
    assert_eq!(store.record_alert(&alert, &build).await.unwrap(), None);
    let later = jiff::Timestamp::from_millisecond(now.as_millisecond() + 1).unwrap();
    let next_window = tollgate_store::NewAlert { window_start: later, ..alert.clone() };
    assert!(store.record_alert(&next_window, &build).await.unwrap().is_some(), "a new window alerts again");
    let claimed =
        store.claim_deliveries(now, now.checked_add(jiff::SignedDuration::from_secs(60)).unwrap(), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    // Leased: a second claim (another process) gets nothing.
    assert!(store.claim_deliveries(now, now, 10).await.unwrap().is_empty());

    // Many deliveries claimed a few at a time by two workers on their own pools, at once: each
    // row is claimed exactly once.
    let many = |_id: i64| {
        let d = |i: usize| tollgate_store::NewDelivery {
            channel: "email".into(),
            recipient: format!("u{i}@x"),
            payload: "{}".into(),
            next_attempt_at: now,
        };
        ((0..30).map(d).collect(), None)
    };
    let weekly = tollgate_store::NewAlert { window: tollgate_core::window::QuotaWindow::Weekly, ..alert.clone() };
    store.record_alert(&weekly, &many).await.unwrap().unwrap();
    let lease = now.checked_add(jiff::SignedDuration::from_secs(60)).unwrap();
    let worker = |store: std::sync::Arc<dyn tollgate_store::Store>| async move {
        let mut ids = Vec::new();
        loop {
            let batch = store.claim_deliveries(now, lease, 3).await.unwrap();
            if batch.is_empty() {
                return ids;
            }
            ids.extend(batch.iter().map(|d| d.id));
        }
    };
    let (a, b) = tokio::join!(worker(app.db.open().await.unwrap()), worker(app.db.open().await.unwrap()));
    let mut all: Vec<i64> = a.into_iter().chain(b).collect();
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!((n, all.len()), (30, 30), "every delivery claimed once");
}
crate::both_backends!(recording_and_claiming_are_exclusive, super::recording_and_claiming_are_exclusive);

/// Bad alert settings are refused naming the field; a webhook needs its secret.
async fn settings_are_validated(app: TestApp) {
    let admin = app.admin().await;
    let put = |body: &'static str| {
        let token = admin.token.clone();
        let app = &app;
        async move { app.call("PUT", "/api/v1/admin/settings", Some(&token), Some(body)).await }
    };
    for (body, field) in [
        (r#"{"alert_thresholds":[80,101]}"#, "alert_thresholds[1]"),
        (r#"{"alert_webhook":{"url":"ftp://x","secret":"s"}}"#, "alert_webhook.url"),
        (r#"{"alert_webhook":{"url":"http://127.0.0.1:9/h"}}"#, "alert_webhook.secret"),
        (r#"{"alert_email":{"smtp_host":"h","smtp_port":25,"tls":"ssl","from":"a@b"}}"#, "alert_email.tls"),
    ] {
        crate::util::test_app::assert_error(&put(body).await, StatusCode::BAD_REQUEST, "invalid_input", Some(field));
    }
    let r = put(r#"{"alert_webhook":{"url":"http://127.0.0.1:9/h","secret":"hook-secret-one"},"alert_email":{"smtp_host":"h","smtp_port":25,"tls":"starttls","from":"a@b","username":"u","password":"smtp-password-one"}}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Stored encrypted.
    let stored = app.state.store.load_settings().await.unwrap();
    assert!(stored["alert_webhook"].contains("enc:v1:") && !stored["alert_webhook"].contains("hook-secret-one"));
    assert!(stored["alert_email"].contains("enc:v1:") && !stored["alert_email"].contains("smtp-password-one"));
    // A write without the secret keeps it.
    let r = put(r#"{"alert_webhook":{"url":"http://127.0.0.1:10/h"},"alert_email":{"smtp_host":"h2","smtp_port":25,"tls":"tls","from":"a@b","username":"u"}}"#).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let s = app.state.settings.get();
    assert_eq!(s.alert_webhook.as_ref().unwrap().secret.as_deref(), Some("hook-secret-one"));
    assert_eq!(s.alert_email.as_ref().unwrap().password.as_deref(), Some("smtp-password-one"));
    assert!(!r.text().contains("hook-secret-one") && !r.text().contains("smtp-password-one"));
    let u = app.user(&admin, "lang@example.com").await;
    let r = app
        .call(
            "PUT",
            &format!("/api/v1/admin/users/{}/language", u.id),
            Some(&admin.token),
            Some(r#"{"language":"zh"}"#),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(app.call("GET", "/api/v1/user/language", Some(&u.token), None).await.json()["language"], "zh");
    let r =
        app.call("PUT", "/api/v1/admin/users/999999/language", Some(&admin.token), Some(r#"{"language":"zh"}"#)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.call("PUT", "/api/v1/user/language", Some(&admin.token), Some(r#"{"language":"fr"}"#)).await;
    crate::util::test_app::assert_error(&r, StatusCode::BAD_REQUEST, "invalid_input", Some("language"));
}
crate::both_backends!(settings_are_validated, super::settings_are_validated);

/// A `tollgate serve` process on `db` that retries alert deliveries quickly.
async fn serve(db: &TestDb) -> (crate::gateway::multiprocess::Server, String) {
    let env =
        [("TOLLGATE_SECRET_KEY", crate::util::test_app::TEST_SECRET_KEY), ("TOLLGATE_ALERT_RETRY_BASE_MS", "100")];
    crate::gateway::multiprocess::start(db, &journal_dir(), &env).await
}

/// Two `tollgate serve` processes on one PostgreSQL, both charging across the thresholds at once:
/// one alert, one webhook and one email per threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_crossing_at_once_alert_once() {
    let Some(db) = TestDb::postgres("it_alert_two_processes").await else {
        eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set");
        return;
    };
    let app = crate::gateway::multiprocess::seeded(&db).await;
    let admin = app.admin().await;
    let hook = Hook::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_port = listener.local_addr().unwrap().port();
    hook.serve(&app, listener);
    let (sink, smtp_port) = Sink::start(&app).await;
    configure(&app, &admin, hook_port, smtp_port).await;
    let (login, key) = user(&app, &admin, "two@example.com", "0.005", "en").await;
    let (_a, a) = serve(&db).await;
    let (_b, b) = serve(&db).await;

    let http = reqwest::Client::new();
    let body = anthropic_prompt(false, 50);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..12 {
        let url = format!("{}/v1/messages", if i % 2 == 0 { &a } else { &b });
        let (http, body, key) = (http.clone(), body.clone(), key.clone());
        set.spawn(async move {
            http.post(url)
                .header("x-api-key", key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let mut ok = 0;
    while let Some(s) = set.join_next().await {
        match s.unwrap() {
            200 => ok += 1,
            429 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(ok >= 5, "the cap (0.005) is crossed: {ok} answers");
    until("one webhook and one email per threshold", || hook.count() == 2 && sink.all().len() == 2).await;
    stays("nothing twice", || hook.count() == 2 && sink.all().len() == 2).await;
    let mut thresholds: Vec<i64> =
        hook.received.lock().unwrap().iter().map(|j| j["threshold"].as_i64().unwrap()).collect();
    thresholds.sort_unstable();
    assert_eq!(thresholds, vec![80, 100]);
    let r = app.call("GET", "/api/v1/user/notices", Some(&login.token), None).await;
    assert_eq!(r.json()["notices"].as_array().unwrap().len(), 2);
    let r = app.call("GET", "/api/v1/admin/alerts", Some(&admin.token), None).await;
    assert_eq!(r.json()["alerts"].as_array().unwrap().len(), 2);
}

/// A delivery whose channel was removed from the settings is given up (dead, shown to admins with
/// its error), not retried forever.
async fn a_removed_channel_leaves_its_deliveries_dead(db: TestDb) {
    let config =
        GatewayConfig { journal_dir: Some(journal_dir()), alert_retry_base_ms: 100, ..GatewayConfig::default() };
    let app = TestApp::with_config(db, config).await.with_mocks(false).await;
    let admin = app.admin().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_sink, smtp_port) = Sink::start(&app).await;
    configure(&app, &admin, closed, smtp_port).await;
    let (_login, key) = user(&app, &admin, "gone@example.com", "0.001", "en").await;
    assert_eq!(charge(&app, &key).await, StatusCode::OK);
    let webhook_states = || async {
        let r = app.call("GET", "/api/v1/admin/alerts", Some(&admin.token), None).await;
        let alerts = r.json()["alerts"].as_array().unwrap().clone();
        alerts
            .iter()
            .flat_map(|a| a["deliveries"].as_array().unwrap().clone())
            .filter(|d| d["channel"] == "webhook")
            .map(|d| (d["state"].as_str().unwrap().to_owned(), d["last_error"].as_str().unwrap_or("").to_owned()))
            .collect::<Vec<_>>()
    };
    for _ in 0..400 {
        if webhook_states().await.len() == 2 && webhook_states().await.iter().all(|(_, e)| !e.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.put_settings(&admin, r#"{"alert_webhook":{}}"#).await;
    for _ in 0..400 {
        if webhook_states().await.iter().all(|(s, _)| s == "dead") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let states = webhook_states().await;
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(states.iter().all(|(s, e)| s == "dead" && e.contains("no longer configured")), "{states:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_channel_leaves_its_deliveries_dead_sqlite() {
    a_removed_channel_leaves_its_deliveries_dead(TestDb::sqlite()).await;
}
