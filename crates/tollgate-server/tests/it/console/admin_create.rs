//! Closed by default, and `tollgate admin create` over an address that already has an account.

use http::StatusCode;
use jiff::Timestamp;
use tollgate_core::platform::AuthSource;
use tollgate_server::console::accounts::{AdminCreated, create_or_promote_admin};
use tollgate_store::{NewApiKey, NewUser, Role};

use crate::util::test_app::{TestApp, assert_error};

const REGISTER: &str = r#"{"email":"first@example.com","password":"first-pass-1"}"#;

async fn signup_is_closed_until_an_admin_opens_it(app: TestApp) {
    assert_eq!(app.get("/api/v1/meta").await.json()["login"]["registration"], false);
    let r = app.call("POST", "/api/v1/auth/register", None, Some(REGISTER)).await;
    assert_error(&r, StatusCode::FORBIDDEN, "forbidden", None);
    assert!(app.state.store.find_user_by_email("first@example.com").await.unwrap().is_none());

    let admin = app.admin().await;
    app.put_settings(&admin, r#"{"registration_enabled":true,"default_platform_quotas":{"gemini":{"daily":3}}}"#).await;
    let r = app.call("POST", "/api/v1/auth/register", None, Some(REGISTER)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rows = app.state.store.list_by_user(r.json()["user"]["id"].as_i64().unwrap()).await.unwrap();
    assert_eq!(rows.len(), 1, "the new user got the defaults in force");
    assert_eq!(rows[0].limits.daily.map(|m| m.to_string()).as_deref(), Some("3"));
}
crate::both_backends!(fresh_install_refuses_signup, super::signup_is_closed_until_an_admin_opens_it);

async fn promotion_needs_the_flag_and_ends_the_old_holder(app: TestApp) {
    let store = &*app.state.store;
    // Someone registered the address first (here through OAuth, with a key and a session).
    let mut new = NewUser::new("boss@example.com", AuthSource::GitHub);
    new.password_hash = Some(tollgate_server::console::accounts::hash_password("squatter-1").await.unwrap());
    let squatter =
        store.create_user_with_identity(&new, AuthSource::GitHub, "gh-42", &[], Timestamp::now()).await.unwrap();
    let old = app.login("boss@example.com", "squatter-1").await;
    let key = NewApiKey {
        user_id: squatter.id,
        name: "k".into(),
        prefix: "tg-x".into(),
        key_hash: tollgate_server::keys::hash_secret("tg-squat"),
        platforms: None,
        limits: Vec::new(),
        lifetime_limit: None,
    };
    store.create_api_key(&key, Timestamp::now()).await.unwrap();

    let refused = create_or_promote_admin(store, "Boss@example.com", "operator-pass-1", false).await.unwrap_err();
    let msg = refused.to_string();
    assert!(msg.contains("--promote") && msg.contains("already exists"), "{msg}");
    assert_eq!(store.get_user(squatter.id).await.unwrap().unwrap().role, Role::User, "nothing changed");
    assert_eq!(app.get_as("/api/v1/me", &old.token).await.status, StatusCode::OK);

    let AdminCreated::Promoted(p) =
        create_or_promote_admin(store, "boss@example.com", "operator-pass-1", true).await.unwrap()
    else {
        panic!("expected a promotion");
    };
    assert_eq!((p.user.id, p.user.role), (squatter.id, Role::Admin));
    assert_eq!((p.sessions_ended, p.identities_unlinked, p.keys_revoked), (1, 1, 1));
    // The old holder's token is dead, their identity no longer signs in, their key is revoked.
    assert_error(&app.get_as("/api/v1/me", &old.token).await, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    assert!(store.find_user_by_identity(AuthSource::GitHub, "gh-42").await.unwrap().is_none());
    assert!(store.find_api_key_by_hash(&key.key_hash).await.unwrap().is_none());
    // The new password works and is an admin's.
    let admin = app.login("boss@example.com", "operator-pass-1").await;
    assert_eq!(app.get_as("/api/v1/admin/users", &admin.token).await.status, StatusCode::OK);
}
crate::both_backends!(admin_create_over_an_existing_address, super::promotion_needs_the_flag_and_ends_the_old_holder);
