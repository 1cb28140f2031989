//! `GET /api/v1/openapi.json` lists every console route.

use http::StatusCode;

use super::access::{ADMIN_ROUTES, USER_ROUTES};
use crate::util::test_app::TestApp;

#[tokio::test]
async fn every_route_is_documented() {
    let app = TestApp::sqlite().await;
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let public = [
        ("GET", "/api/v1/meta"),
        ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/register"),
        ("GET", "/api/v1/auth/oauth/github/start"),
        ("GET", "/api/v1/auth/oauth/github/callback"),
    ];
    let all = ADMIN_ROUTES.iter().chain(USER_ROUTES).map(|(m, p, _)| (*m, *p)).chain(public);
    let mut templates = 0;
    for (method, path) in all {
        let path = path.trim_start_matches("/api/v1");
        let found = paths.iter().find(|(template, _)| matches(template, path));
        let (template, item) = found.unwrap_or_else(|| panic!("{path} is not in openapi.json"));
        assert!(item.get(method.to_lowercase()).is_some(), "{method} {template} is not in openapi.json");
        templates += 1;
    }
    assert!(templates >= 41);
    // Nothing documented that the router does not serve.
    assert_eq!(paths.len(), 43, "{:?}", paths.keys().collect::<Vec<_>>());
}

/// Whether a concrete path matches an OpenAPI template like `/admin/users/{id}`.
fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
}

/// The contract check that runs on every console call of the suite (`util::contract`) catches each
/// kind of drift: a field the document does not name, a missing required one, a wrong type, an
/// undocumented status, and an accepted request body the document would not allow.
#[test]
fn the_contract_check_catches_drift() {
    use crate::util::contract::check;
    let json = Some("application/json");
    let user = r#"{"id":1,"email":"a@b.c","display_name":"A","role":"admin","status":"active","auth_source":"email","cost_multiplier":1,"created_at":"2026-12-05T00:00:00Z"}"#;
    assert!(check("GET", "/api/v1/me", b"", 200, json, user.as_bytes()).is_empty());

    let extra = user.replace(r#""id":1"#, r#""id":1,"password_hash":"x""#);
    let e = check("GET", "/api/v1/me", b"", 200, json, extra.as_bytes());
    assert!(e.iter().any(|e| e.contains("response.password_hash: not documented")), "{e:?}");

    let missing = user.replace(r#""email":"a@b.c","#, "");
    let e = check("GET", "/api/v1/me", b"", 200, json, missing.as_bytes());
    assert!(e.iter().any(|e| e.contains("required field email is missing")), "{e:?}");

    let wrong = user.replace(r#""role":"admin""#, r#""role":"root""#).replace(r#""id":1"#, r#""id":"1""#);
    let e = check("GET", "/api/v1/me", b"", 200, json, wrong.as_bytes());
    assert!(e.iter().any(|e| e.contains("response.role")) && e.iter().any(|e| e.contains("response.id")), "{e:?}");

    let e = check("GET", "/api/v1/me", b"", 418, json, b"{}");
    assert!(e.iter().any(|e| e.contains("status not documented")), "{e:?}");

    // Literal segments win: /admin/pricing/unpriced is its own route, not /admin/pricing/{model}.
    let e = check("GET", "/api/v1/admin/pricing/unpriced", b"", 200, json, b"[]");
    assert!(e.is_empty(), "{e:?}");

    let body = br#"{"email":"a@b.c","password":"12345678","nickname":"n"}"#;
    let e = check("POST", "/api/v1/admin/users", body, 201, json, user.as_bytes());
    assert!(e.iter().any(|e| e.contains("request.nickname: not documented")), "{e:?}");
}
