//! Repositories behind the console: API keys, upstreams, prices, sessions, audit, identities, usage.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::pricing::{LongContextPrice, Price, ToolFees};
use tollgate_core::quota::WindowLimits;
use tollgate_store::testing::TestDb;
use tollgate_store::{
    NewApiKey, NewAuditEntry, NewSession, NewUpstream, NewUser, StoreError, UpstreamPatch, UpstreamProtocol, UserPatch,
    UserStatus,
};

use crate::util::{ts, usd, user};

pub async fn api_keys_lifecycle(db: &TestDb) {
    let s = db.open().await.unwrap();
    let (a, b) = (user(&*s, "a@example.com").await, user(&*s, "b@example.com").await);
    let now = ts("2026-01-02T03:04:05Z");
    let new = |user_id, hash: &str, platforms| NewApiKey {
        user_id,
        name: "laptop".into(),
        prefix: "tg-123456".into(),
        key_hash: hash.into(),
        platforms,
        limits: Vec::new(),
        lifetime_limit: None,
    };
    let k1 = s.create_api_key(&new(a, "h1", None), now).await.unwrap();
    let k2 = s.create_api_key(&new(a, "h2", Some(vec![Platform::Gemini, Platform::OpenAi])), now).await.unwrap();
    assert_eq!((k1.user_id, k1.platforms.clone(), k1.created_at, k1.last_used_at), (a, None, now, None));
    assert_eq!(k2.platforms, Some(vec![Platform::Gemini, Platform::OpenAi]));
    assert!(matches!(s.create_api_key(&new(b, "h1", None), now).await, Err(StoreError::Conflict(_))));
    assert_eq!(s.list_api_keys(a).await.unwrap(), [k1.clone(), k2.clone()]);
    assert!(s.list_api_keys(b).await.unwrap().is_empty());

    s.touch_api_key(k1.id, now + 5.seconds()).await.unwrap();
    let found = s.find_api_key_by_hash("h1").await.unwrap().unwrap();
    assert_eq!(found.last_used_at, Some(now + 5.seconds()));
    // Another user cannot revoke it; its owner can, once.
    assert!(matches!(s.revoke_api_key(b, k1.id, now).await, Err(StoreError::NotFound)));
    s.revoke_api_key(a, k1.id, now).await.unwrap();
    assert!(matches!(s.revoke_api_key(a, k1.id, now).await, Err(StoreError::NotFound)));
    assert_eq!(s.find_api_key_by_hash("h1").await.unwrap(), None);
    assert_eq!(s.list_api_keys(a).await.unwrap(), std::slice::from_ref(&k2));
    // Unknown platform names written by a newer build are ignored on read.
    db.exec(&format!("UPDATE api_keys SET platforms = '[\"openai\",\"bedrock\"]' WHERE id = {}", k2.id)).await.unwrap();
    assert_eq!(s.find_api_key_by_hash("h2").await.unwrap().unwrap().platforms, Some(vec![Platform::OpenAi]));
}

pub async fn upstreams_crud_and_order(db: &TestDb) {
    let s = db.open().await.unwrap();
    let now = Timestamp::now();
    let new = |platform, name: &str, priority| NewUpstream {
        platform,
        name: name.into(),
        base_url: "https://api.example.com".into(),
        api_key: "sk-secret-1234".into(),
        enabled: true,
        priority,
        protocol: UpstreamProtocol::Native,
    };
    let g = s.create_upstream(&new(Platform::Gemini, "g", 0), now).await.unwrap();
    let a2 = s.create_upstream(&new(Platform::Anthropic, "a2", 5), now).await.unwrap();
    let a1 = s.create_upstream(&new(Platform::Anthropic, "a1", 1), now).await.unwrap();
    let names: Vec<_> = s.list_upstreams().await.unwrap().into_iter().map(|u| u.name).collect();
    assert_eq!(names, ["a1", "a2", "g"]);
    assert!(!format!("{a1:?}").contains("sk-secret"), "Debug leaks the credential");
    let patch = UpstreamPatch {
        enabled: Some(false),
        priority: Some(0),
        protocol: Some(UpstreamProtocol::V1Internal),
        ..Default::default()
    };
    let changed = s.update_upstream(a2.id, &patch, now).await.unwrap();
    assert_eq!((changed.enabled, changed.priority, changed.protocol), (false, 0, UpstreamProtocol::V1Internal));
    assert_eq!(changed.api_key.expose(), "sk-secret-1234");
    assert!(!format!("{changed:?}").contains("sk-secret"), "Debug must not print the credential");
    assert_eq!(s.list_upstreams().await.unwrap()[0].id, a2.id);
    s.delete_upstream(g.id).await.unwrap();
    assert!(matches!(s.delete_upstream(g.id).await, Err(StoreError::NotFound)));
    assert!(matches!(s.update_upstream(g.id, &patch, now).await, Err(StoreError::NotFound)));
    assert_eq!(s.list_upstreams().await.unwrap().len(), 2);
}

pub async fn price_overrides_round_trip(db: &TestDb) {
    let s = db.open().await.unwrap();
    let price = Price {
        platform: Platform::Anthropic,
        input_per_mtok: usd("3.1"),
        output_per_mtok: usd("15"),
        cache_read_per_mtok: Some(usd("0.000000001")),
        cache_write_5m_per_mtok: None,
        cache_write_1h_per_mtok: Some(usd("0")),
        long_context: Some(LongContextPrice {
            threshold_tokens: 200_000,
            input_per_mtok: usd("6"),
            output_per_mtok: usd("22.5"),
            cache_read_per_mtok: None,
            cache_write_5m_per_mtok: None,
            cache_write_1h_per_mtok: None,
        }),
        tool_fees: ToolFees { web_search_per_1k: Some(usd("10")), ..ToolFees::default() },
        covers: vec![tollgate_core::pricing::Medium::ImageOutput],
        source_url: Some("https://example.com/prices".into()),
        as_of: Some("2026-12-04".into()),
    };
    s.upsert_price_override("vendor/model-x", &price, Timestamp::now()).await.unwrap();
    assert_eq!(s.list_price_overrides().await.unwrap(), [("vendor/model-x".to_owned(), price.clone())]);
    let cheaper = Price { input_per_mtok: usd("1"), long_context: None, ..price };
    s.upsert_price_override("vendor/model-x", &cheaper, Timestamp::now()).await.unwrap();
    assert_eq!(s.list_price_overrides().await.unwrap(), [("vendor/model-x".to_owned(), cheaper)]);
    s.delete_price_override("vendor/model-x").await.unwrap();
    assert!(matches!(s.delete_price_override("vendor/model-x").await, Err(StoreError::NotFound)));
    assert!(s.list_price_overrides().await.unwrap().is_empty());
}

pub async fn sessions_expire_and_follow_the_user(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "s@example.com").await;
    let now = ts("2026-03-01T00:00:00Z");
    let new = |hash: &str, expires_at| NewSession {
        token_hash: hash.into(),
        user_id: uid,
        csrf_token: "csrf".into(),
        expires_at,
    };
    s.create_session(&new("t1", now + 1.hour()), now).await.unwrap();
    s.create_session(&new("t2", now + 1.hour()), now).await.unwrap();
    let found = s.find_session("t1", now).await.unwrap().unwrap();
    assert_eq!((found.user.id, found.csrf_token.as_str()), (uid, "csrf"));
    assert_eq!(s.find_session("t1", now + 2.hours()).await.unwrap(), None, "expired");
    assert_eq!(s.find_session("nope", now).await.unwrap(), None);
    s.delete_session("t1").await.unwrap();
    assert_eq!(s.find_session("t1", now).await.unwrap(), None);
    // A disabled user's sessions stop working.
    let disable = UserPatch { status: Some(UserStatus::Disabled), ..Default::default() };
    s.update_user(uid, &disable, now).await.unwrap();
    assert_eq!(s.find_session("t2", now).await.unwrap(), None);
    let enable = UserPatch { status: Some(UserStatus::Active), ..Default::default() };
    s.update_user(uid, &enable, now).await.unwrap();
    assert!(s.find_session("t2", now).await.unwrap().is_some());
    s.delete_user_sessions(uid).await.unwrap();
    assert_eq!(s.find_session("t2", now).await.unwrap(), None);
}

pub async fn audit_pages_newest_first(db: &TestDb) {
    let s = db.open().await.unwrap();
    let admin = user(&*s, "admin@example.com").await;
    let target = user(&*s, "t@example.com").await;
    for i in 0..5 {
        let e = NewAuditEntry {
            at: ts("2026-01-01T00:00:00Z") + i.seconds(),
            actor_id: Some(admin),
            action: format!("act{i}"),
            target_user_id: if i % 2 == 0 { Some(target) } else { None },
            platform: Some("openai".into()),
            before_json: Some(r#"{"daily":10.1}"#.into()),
            after_json: None,
        };
        s.append_audit(&e).await.unwrap();
    }
    let all = s.list_audit(None, 1, 2).await.unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(all.entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["act4", "act3"]);
    assert_eq!(all.entries[0].actor_email.as_deref(), Some("admin@example.com"));
    assert_eq!(all.entries[0].before_json.as_deref(), Some(r#"{"daily":10.1}"#));
    let mine = s.list_audit(Some(target), 2, 2).await.unwrap();
    assert_eq!(mine.total, 3);
    assert_eq!(mine.entries.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["act0"]);
}

pub async fn identity_signup_is_one_transaction(db: &TestDb) {
    let s = db.open().await.unwrap();
    let limits = WindowLimits { five_hour: None, daily: Some(usd("0")), weekly: Some(usd("2.5")), monthly: None };
    let new = NewUser::new("gh@example.com", AuthSource::GitHub);
    let u = s
        .create_user_with_identity(
            &new,
            AuthSource::GitHub,
            "12345",
            &[(Platform::Anthropic, limits)],
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert_eq!(s.find_user_by_identity(AuthSource::GitHub, "12345").await.unwrap(), Some(u.clone()));
    assert_eq!(s.find_user_by_identity(AuthSource::Google, "12345").await.unwrap(), None);
    assert_eq!(s.list_by_user(u.id).await.unwrap()[0].limits, limits);
    // The same identity again: conflict, and no second user or quota row is left behind.
    let other = NewUser::new("other@example.com", AuthSource::GitHub);
    let err = s
        .create_user_with_identity(&other, AuthSource::GitHub, "12345", &[(Platform::Gemini, limits)], Timestamp::now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.count_users().await.unwrap(), 1);
    assert_eq!(s.find_user_by_email("other@example.com").await.unwrap(), None);
}

pub async fn daily_spend_groups_by_local_date(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "u@example.com").await;
    let other = user(&*s, "o@example.com").await;
    // Shanghai is UTC+8: 15:59Z is 23:59 local on the 1st, 16:00Z is 00:00 on the 2nd.
    let rows = [
        (uid, "anthropic", 1_500_000_000, "2026-01-01T15:59:00Z"),
        (uid, "anthropic", 1, "2026-01-01T16:00:00Z"),
        (uid, "anthropic", 2, "2026-01-01T17:00:00Z"),
        (uid, "openai", 7, "2026-01-01T10:00:00Z"),
        (uid, "bedrock", 7, "2026-01-01T10:00:00Z"),
        (uid, "openai", 9, "2025-12-01T10:00:00Z"),
        (other, "openai", 100, "2026-01-01T10:00:00Z"),
    ];
    let mut sql = String::new();
    for (i, (u, p, cost, at)) in rows.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO usage_records (request_id, user_id, platform, model, cost_nanos, status, created_at_ms) \
             VALUES ('r{i}', {u}, '{p}', 'm', {cost}, 'ok', {});",
            ts(at).as_millisecond()
        ));
    }
    db.exec(&sql).await.unwrap();
    let zone = TimeZone::get("Asia/Shanghai").unwrap();
    let got = s.daily_spend(uid, ts("2025-12-31T16:00:00Z"), &zone).await.unwrap();
    let got: Vec<_> = got.iter().map(|d| (d.date.to_string(), d.platform, d.cost.to_string(), d.requests)).collect();
    assert_eq!(
        got,
        [
            ("2026-01-01".to_owned(), Platform::Anthropic, "1.5".to_owned(), 1),
            ("2026-01-01".to_owned(), Platform::OpenAi, "0.000000007".to_owned(), 1),
            ("2026-01-02".to_owned(), Platform::Anthropic, "0.000000003".to_owned(), 2),
        ]
    );
}

/// A limit change, a reset and a settings save commit together with their audit entry.
pub async fn audited_changes_commit_with_their_entry(db: &TestDb) {
    let s = db.open().await.unwrap();
    let uid = user(&*s, "audited@example.com").await;
    let entry = |action: &str| tollgate_store::NewAuditEntry {
        at: Timestamp::now(),
        actor_id: None,
        action: action.to_owned(),
        target_user_id: Some(uid),
        platform: None,
        before_json: None,
        after_json: Some("{}".to_owned()),
    };
    let limits = WindowLimits { five_hour: None, daily: Some(usd("1")), ..Default::default() };
    s.upsert_for_user_audited(uid, &[(Platform::OpenAi, limits)], Some(&entry("user.quotas.update"))).await.unwrap();
    // A reset of a platform without a row fails and writes no entry.
    let missing = s
        .reset_window_audited(
            uid,
            Platform::Gemini,
            tollgate_core::window::QuotaWindow::Daily,
            Timestamp::now(),
            Some(&entry("user.quota.reset")),
        )
        .await;
    assert!(matches!(missing, Err(tollgate_store::StoreError::NotFound)));
    s.reset_window_audited(
        uid,
        Platform::OpenAi,
        tollgate_core::window::QuotaWindow::Daily,
        Timestamp::now(),
        Some(&entry("user.quota.reset")),
    )
    .await
    .unwrap();
    let values = tollgate_core::settings::validate_changes(r#"{"quota_enforcement":"strict"}"#).unwrap();
    s.save_settings_audited(&values, Timestamp::now(), Some(&entry("settings.update"))).await.unwrap();
    let page = s.list_audit(Some(uid), 1, 50).await.unwrap();
    let actions: Vec<&str> = page.entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["settings.update", "user.quota.reset", "user.quotas.update"]);
}
