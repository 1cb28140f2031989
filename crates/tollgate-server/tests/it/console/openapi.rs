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
