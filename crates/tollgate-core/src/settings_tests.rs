use super::*;
use crate::money::Money;
use crate::platform::Platform;

#[test]
fn validates_every_key_kind() {
    assert_eq!(validate("quota_timezone", r#""Asia/Shanghai""#).unwrap(), r#""Asia/Shanghai""#);
    assert_eq!(validate("quota_timezone", r#""Mars/Olympus""#).unwrap_err().field, "quota_timezone");
    assert_eq!(validate("quota_timezone", "5").unwrap_err().field, "quota_timezone");
    assert!(validate("monthly_window", r#""rolling_30d""#).is_ok());
    assert_eq!(validate("monthly_window", r#""weekly""#).unwrap_err().field, "monthly_window");
    assert!(validate("quota_enforcement", r#""strict""#).is_ok());
    assert!(validate("quota_enforcement", r#""hard""#).is_err());
    assert!(validate("unknown_model_pricing", r#""reject""#).is_ok());
    assert_eq!(validate("unknown_model_pricing", r#""free""#).unwrap_err().field, "unknown_model_pricing");
    assert_eq!(validate("registration_enabled", "false").unwrap(), "false");
    assert!(validate("registration_enabled", r#""false""#).is_err());
    assert_eq!(validate("nope", "1").unwrap_err().field, "nope");
    let e = validate("auth_source_default_wechat_platform_quotas", r#"{"gemini":{"weekly":-2}}"#).unwrap_err();
    assert_eq!(e.field, "auth_source_default_wechat_platform_quotas.gemini.weekly");
}

#[test]
fn changes_are_all_or_nothing() {
    let ok = validate_changes(r#"{"default_platform_quotas":{"openai":{"daily":1}},"quota_timezone":null}"#).unwrap();
    assert_eq!(ok.len(), 1);
    let err =
        validate_changes(r#"{"default_platform_quotas":{"openai":{"daily":1}},"monthly_window":"x"}"#).unwrap_err();
    assert_eq!(err.field, "monthly_window");
    assert!(validate_changes("[]").is_err());
}

#[test]
fn there_are_eight_quota_keys() {
    let n = keys().iter().filter(|k| k.ends_with("platform_quotas")).count();
    assert_eq!(n, 8);
}

#[test]
fn typed_view_and_round_trip() {
    let mut stored = BTreeMap::new();
    for (k, v) in validate_changes(
        r#"{"default_platform_quotas":{"anthropic":{"daily":10.1}},
            "auth_source_default_github_platform_quotas":{"anthropic":{"daily":0}},
            "quota_timezone":"America/New_York","monthly_window":"rolling_30d",
            "quota_enforcement":"strict","registration_enabled":false}"#,
    )
    .unwrap()
    {
        stored.insert(k, v);
    }
    let s = Settings::from_stored(&stored);
    assert_eq!(s.enforcement, Enforcement::Strict);
    assert!(!s.registration_enabled);
    assert_eq!(s.monthly_window, MonthlyMode::Rolling30d);
    assert_eq!(s.defaults_for(AuthSource::GitHub).get(Platform::Anthropic).daily, Some(Money::ZERO));
    assert_eq!(s.defaults_for(AuthSource::Email).get(Platform::Anthropic).daily, Some(Money::parse("10.1").unwrap()));
    let text = s.to_json("UTC");
    assert!(text.contains(
        r#""default_platform_quotas":{"anthropic":{"five_hour":null,"daily":10.1,"weekly":null,"monthly":null}}"#
    ));
    assert!(text.contains(r#""quota_timezone":"America/New_York""#));
    // What GET returns can be PUT back unchanged.
    let again = validate_changes(&text).unwrap();
    // Unconfigured OAuth clients and the default retention (forever) read as null, which a PUT skips.
    assert_eq!(again.len(), keys().len() - crate::oauth::sources().count() - 1);
    let mut stored2 = BTreeMap::new();
    stored2.extend(again);
    assert_eq!(Settings::from_stored(&stored2), s);
}

#[test]
fn registration_is_closed_unless_opened() {
    assert!(!Settings::default().registration_enabled);
    assert!(!Settings::from_stored(&BTreeMap::new()).registration_enabled);
    let opened = BTreeMap::from([("registration_enabled".to_owned(), "true".to_owned())]);
    assert!(Settings::from_stored(&opened).registration_enabled);
}

#[test]
fn rate_limit_defaults_layer_and_name_the_field() {
    assert_eq!(keys().iter().filter(|k| k.ends_with("rate_limits")).count(), 8);
    let e = validate("default_rate_limits", r#"{"anthropic":{"rpm":0}}"#).unwrap_err();
    assert_eq!(e.field, "default_rate_limits.anthropic.rpm");
    let e = validate("auth_source_default_github_rate_limits", r#"{"openai":{"tpm":2.5}}"#).unwrap_err();
    assert_eq!(e.field, "auth_source_default_github_rate_limits.openai.tpm");
    let mut stored = BTreeMap::new();
    stored.extend(
        validate_changes(
            r#"{"default_rate_limits":{"anthropic":{"rpm":60,"tpm":100000}},
                "auth_source_default_github_rate_limits":{"anthropic":{"rpm":5}}}"#,
        )
        .unwrap(),
    );
    let s = Settings::from_stored(&stored);
    let gh = s.rate_defaults_for(AuthSource::GitHub).get(Platform::Anthropic);
    assert_eq!((gh.rpm, gh.tpm, gh.concurrency), (Some(5), Some(100_000), None));
    assert_eq!(s.rate_defaults_for(AuthSource::Email).get(Platform::Anthropic).rpm, Some(60));
    // Stored JSON from before rate limits existed reads as no limits.
    assert!(!Settings::from_stored(&BTreeMap::new()).system_rate_limits.any());
}

#[test]
fn request_log_retention_is_forever_or_bounded_days() {
    let ok = |v: &str| validate(REQUEST_LOG_RETENTION_DAYS, v);
    assert_eq!(ok("30").unwrap(), "30");
    assert_eq!(ok("0").unwrap(), "null");
    assert_eq!(ok("null").unwrap(), "null");
    for bad in ["6", "3651", "-1", "7.5", "\"30\"", "true"] {
        let e = ok(bad).unwrap_err();
        assert_eq!(e.field, REQUEST_LOG_RETENTION_DAYS, "{bad}");
    }
    let stored = BTreeMap::from([(REQUEST_LOG_RETENTION_DAYS.to_owned(), "90".to_owned())]);
    assert_eq!(Settings::from_stored(&stored).request_log_retention_days, Some(90));
    assert_eq!(Settings::from_stored(&BTreeMap::new()).request_log_retention_days, None);
}
