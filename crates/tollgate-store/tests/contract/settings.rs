use std::collections::BTreeMap;

use jiff::Timestamp;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::settings::{Settings, keys, validate_changes};
use tollgate_store::Store;
use tollgate_store::testing::TestDb;

use crate::util::usd;

/// What `PUT /admin/settings` does: validate every key, then save all in one transaction.
async fn put(s: &dyn Store, body: &str) -> Result<(), tollgate_core::error::FieldError> {
    let values = validate_changes(body)?;
    s.save_settings(&values, Timestamp::now()).await.unwrap();
    Ok(())
}

fn all_keys_body() -> String {
    let mut parts = vec![r#""default_platform_quotas":{"anthropic":{"daily":10,"weekly":50,"monthly":null},"openai":{"daily":0,"weekly":null,"monthly":null}}"#.to_owned()];
    for (i, src) in AuthSource::ALL.iter().enumerate() {
        parts.push(format!(
            r#""{}":{{"gemini":{{"daily":{i}.5,"weekly":null,"monthly":0.000000001}}}}"#,
            src.defaults_key()
        ));
    }
    parts.push(r#""default_rate_limits":{"anthropic":{"rpm":60,"tpm":null,"concurrency":2}}"#.to_owned());
    for src in AuthSource::ALL {
        parts.push(format!(r#""{}":{{"openai":{{"tpm":1000}}}}"#, tollgate_core::rate::source_key(*src)));
    }
    parts.push(r#""quota_timezone":"Asia/Shanghai","monthly_window":"rolling_30d","quota_enforcement":"strict","registration_enabled":false,"unknown_model_pricing":"reject""#.to_owned());
    parts.push(
        r#""alert_thresholds":[100,50],"alert_webhook":{"url":"http://127.0.0.1:9/h","secret":"s"},"alert_email":{},"request_log_retention_days":30"#
            .to_owned(),
    );
    format!("{{{}}}", parts.join(","))
}

pub async fn round_trip_of_every_key(db: &TestDb) {
    let s = db.open().await.unwrap();
    put(&*s, &all_keys_body()).await.unwrap();
    let stored = s.load_settings().await.unwrap();
    assert_eq!(stored.len(), keys().len() - tollgate_core::oauth::sources().count());
    let settings = Settings::from_stored(&stored);
    assert_eq!(settings.system_quotas.get(Platform::Anthropic).daily, Some(usd("10")));
    assert_eq!(settings.source_quotas[&AuthSource::DingTalk].get(Platform::Gemini).daily, Some(usd("6.5")));
    assert_eq!(settings.quota_timezone.as_deref(), Some("Asia/Shanghai"));
    assert_eq!(settings.alert_thresholds, vec![50, 100]);
    assert_eq!(settings.alert_webhook.as_ref().map(|w| w.url.as_str()), Some("http://127.0.0.1:9/h"));
    assert_eq!(settings.alert_email, None);
    assert_eq!(settings.request_log_retention_days, Some(30));
    assert_eq!(settings.system_rate_limits.get(Platform::Anthropic).concurrency, Some(2));
    assert_eq!(settings.rate_defaults_for(AuthSource::GitHub).get(Platform::OpenAi).tpm, Some(1000));
    assert_eq!(
        stored["auth_source_default_email_rate_limits"],
        r#"{"openai":{"rpm":null,"tpm":1000,"concurrency":null}}"#
    );
    assert_eq!(
        stored["auth_source_default_email_platform_quotas"],
        r#"{"gemini":{"five_hour":null,"daily":0.5,"weekly":null,"monthly":0.000000001}}"#
    );
    // A second PUT of one key replaces that whole value and leaves the rest.
    put(&*s, r#"{"default_platform_quotas":{"gemini":{"weekly":3}},"quota_timezone":null}"#).await.unwrap();
    let again = s.load_settings().await.unwrap();
    assert_eq!(
        again["default_platform_quotas"],
        r#"{"gemini":{"five_hour":null,"daily":null,"weekly":3,"monthly":null}}"#
    );
    assert_eq!(again["quota_timezone"], r#""Asia/Shanghai""#);
}

pub async fn invalid_changes_save_nothing(db: &TestDb) {
    let s = db.open().await.unwrap();
    put(&*s, &all_keys_body()).await.unwrap();
    let before: BTreeMap<String, String> = s.load_settings().await.unwrap();
    let cases = [
        (
            r#"{"default_platform_quotas":{"anthropic":{"daily":1}},"auth_source_default_oidc_platform_quotas":{"openai":{"daily":-1}}}"#,
            "auth_source_default_oidc_platform_quotas.openai.daily",
        ),
        (r#"{"default_platform_quotas":{"bedrock":{"daily":1}}}"#, "default_platform_quotas.bedrock"),
        (r#"{"default_platform_quotas":{"openai":{"hourly":1}}}"#, "default_platform_quotas.openai.hourly"),
        (r#"{"default_platform_quotas":{"openai":{"daily":"ten"}}}"#, "default_platform_quotas.openai.daily"),
        (r#"{"default_platform_quotas":{"openai":{"daily":1e999}}}"#, "default_platform_quotas.openai.daily"),
        (r#"{"default_platform_quotas":{"openai":{"daily":1.0000000001}}}"#, "default_platform_quotas.openai.daily"),
        (r#"{"default_platform_quotas":[]}"#, "default_platform_quotas"),
        (r#"{"quota_timezone":"Nowhere/City","monthly_window":"calendar"}"#, "quota_timezone"),
        (r#"{"monthly_window":"yearly"}"#, "monthly_window"),
        (r#"{"quota_enforcement":1}"#, "quota_enforcement"),
        (r#"{"registration_enabled":"yes"}"#, "registration_enabled"),
        (r#"{"no_such_key":1}"#, "no_such_key"),
    ];
    for (body, field) in cases {
        let err = put(&*s, body).await.unwrap_err();
        assert_eq!(err.field, field, "{body}");
        assert_eq!(s.load_settings().await.unwrap(), before, "{body} changed something");
    }
}
