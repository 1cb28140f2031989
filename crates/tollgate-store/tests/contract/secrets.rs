//! Rewriting stored secrets (encryption at rest, rotation): all or nothing, and conditional on the
//! values read.

use jiff::Timestamp;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_store::testing::TestDb;
use tollgate_store::{NewUpstream, NewUser, SecretRewrite, StoreError, UpstreamProtocol};

pub async fn secret_rewrites_are_all_or_nothing(db: &TestDb) {
    let s = db.open().await.unwrap();
    let new = |name: &str| NewUpstream {
        platform: Platform::OpenAi,
        name: name.into(),
        base_url: "http://127.0.0.1:9".into(),
        api_key: format!("plain-{name}").into(),
        enabled: true,
        priority: 0,
        protocol: UpstreamProtocol::Native,
    };
    let a = s.create_upstream(&new("a"), Timestamp::now()).await.unwrap();
    let b = s.create_upstream(&new("b"), Timestamp::now()).await.unwrap();
    s.save_settings(&[("oauth_github".into(), r#"{"client_id":"i","client_secret":"x"}"#.into())], Timestamp::now())
        .await
        .unwrap();
    // One stale old value: nothing is written.
    let stale = SecretRewrite {
        upstream_keys: vec![
            (a.id, "plain-a".into(), "enc:a".into()),
            (b.id, "not-what-is-stored".into(), "enc:b".into()),
        ],
        settings: vec![],
    };
    assert!(matches!(s.rewrite_secrets(&stale, Timestamp::now()).await, Err(StoreError::Conflict(_))));
    let keys: Vec<String> = s.list_upstreams().await.unwrap().iter().map(|u| u.api_key.expose().to_owned()).collect();
    assert_eq!(keys, ["plain-a", "plain-b"]);
    let good = SecretRewrite {
        upstream_keys: vec![(a.id, "plain-a".into(), "enc:a".into()), (b.id, "plain-b".into(), "enc:b".into())],
        settings: vec![(
            "oauth_github".into(),
            r#"{"client_id":"i","client_secret":"x"}"#.into(),
            r#"{"client_id":"i","client_secret":"enc:x"}"#.into(),
        )],
    };
    s.rewrite_secrets(&good, Timestamp::now()).await.unwrap();
    let keys: Vec<String> = s.list_upstreams().await.unwrap().iter().map(|u| u.api_key.expose().to_owned()).collect();
    assert_eq!(keys, ["enc:a", "enc:b"]);
    assert!(s.load_settings().await.unwrap()["oauth_github"].contains("enc:x"));
}

pub async fn promotion_ends_every_way_into_the_account(db: &TestDb) {
    let s = db.open().await.unwrap();
    let user = s
        .create_user_with_identity(
            &NewUser::new("p@example.com", AuthSource::GitHub),
            AuthSource::GitHub,
            "42",
            &[],
            Timestamp::now(),
        )
        .await
        .unwrap();
    let session = tollgate_store::NewSession {
        token_hash: "h".into(),
        user_id: user.id,
        csrf_token: "c".into(),
        expires_at: Timestamp::now() + jiff::SignedDuration::from_hours(1),
    };
    s.create_session(&session, Timestamp::now()).await.unwrap();
    let p = s.promote_to_admin(user.id, "new-hash", Timestamp::now()).await.unwrap();
    assert_eq!((p.sessions_ended, p.identities_unlinked, p.keys_revoked), (1, 1, 0));
    assert_eq!(p.user.role, tollgate_store::Role::Admin);
    assert_eq!(p.user.password_hash.as_deref(), Some("new-hash"));
    assert!(s.find_session("h", Timestamp::now()).await.unwrap().is_none());
    assert!(s.find_user_by_identity(AuthSource::GitHub, "42").await.unwrap().is_none());
    assert!(matches!(s.promote_to_admin(user.id + 1000, "x", Timestamp::now()).await, Err(StoreError::NotFound)));
}
