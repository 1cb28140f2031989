use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "UPSTREAM_KEY" => Some("sk-from-env-0123456789".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn parsed(text: &str) -> Result<ConfigFile, ConfigError> {
    parse(text, &env)
}

fn error(text: &str) -> (String, String) {
    let e = parsed(text).expect_err("must be refused");
    (e.path, e.message)
}

#[test]
fn sections_become_the_console_bodies_with_numbers_as_written() {
    let file = parsed(
        r#"
        [settings]
        quota_enforcement = "strict"
        alert_thresholds = [50, 80, 100]
        [settings.default_platform_quotas.anthropic]
        daily = 12.000000001
        weekly = 1_000

        [[upstreams]]
        name = "main"
        api_key = { env = "UPSTREAM_KEY" }
        priority = -1

        [prices."vendor/model-1.5"]
        platform = "openai"
        input_per_mtok = 0.123456789
        output_per_mtok = +1e2
        "#,
    )
    .unwrap();
    assert_eq!(
        file.settings.as_deref(),
        Some(
            r#"{"alert_thresholds":[50,80,100],"default_platform_quotas":{"anthropic":{"daily":12.000000001,"weekly":1000}},"quota_enforcement":"strict"}"#
        )
    );
    assert_eq!(file.upstreams, vec![r#"{"api_key":"sk-from-env-0123456789","name":"main","priority":-1}"#]);
    assert_eq!(
        file.prices,
        vec![(
            "vendor/model-1.5".to_owned(),
            r#"{"input_per_mtok":0.123456789,"output_per_mtok":1e2,"platform":"openai"}"#.to_owned()
        )]
    );
}

#[test]
fn an_empty_file_changes_nothing() {
    assert_eq!(parsed("# nothing\n").unwrap(), ConfigFile::default());
}

#[test]
fn errors_name_the_path_in_the_file() {
    assert_eq!(error("[upstream]\nname = 'x'\n").0, "upstream");
    assert_eq!(error("settings = 1\n").0, "settings");
    assert_eq!(error("upstreams = { name = 'x' }\n").0, "upstreams");
    assert_eq!(error("upstreams = [1]\n").0, "upstreams[0]");
    assert_eq!(error("[prices]\nm = 1\n").0, "prices.m");
    let (path, message) = error("[[upstreams]]\nname = 'a'\n[[upstreams]]\napi_key = { env = 'MISSING' }\n");
    assert_eq!((path.as_str(), message.as_str()), ("upstreams[1].api_key", "environment variable MISSING is not set"));
    assert_eq!(error("[[upstreams]]\napi_key = { env = 'EMPTY' }\n").0, "upstreams[0].api_key");
    assert_eq!(error("[[upstreams]]\napi_key = { env = 3 }\n").0, "upstreams[0].api_key.env");
    assert_eq!(error("[settings]\nx = inf\n").0, "settings.x");
    assert_eq!(error("[settings]\nx = nan\n").0, "settings.x");
    assert_eq!(error("[settings]\nx = 1979-05-27\n").0, "settings.x");
    assert_eq!(error("[settings]\nx = [1, 2, 1979-05-27]\n").0, "settings.x[2]");
    assert_eq!(error("[prices.\"a.b\"]\nx = 1979-05-27\n").0, "prices.\"a.b\".x");
}

#[test]
fn toml_syntax_errors_say_where() {
    let (path, message) = error("[settings]\nquota_enforcement = strict\n");
    assert_eq!(path, "");
    assert!(message.contains("line 2"), "{message}");
    let (_, message) = error("[settings]\na = 1\na = 2\n");
    assert!(message.contains("duplicate"), "{message}");
}

#[test]
fn a_table_with_more_than_an_env_key_is_a_table() {
    let file = parsed("[settings.x]\nenv = 'UPSTREAM_KEY'\nother = 1\n").unwrap();
    assert_eq!(file.settings.as_deref(), Some(r#"{"x":{"env":"UPSTREAM_KEY","other":1}}"#));
}

#[test]
fn errors_display_path_then_message() {
    assert_eq!(ConfigError::new("a.b", "is bad").to_string(), "a.b: is bad");
    assert_eq!(ConfigError::new("", "is bad").to_string(), "is bad");
    assert_eq!(join("settings", "x.y"), "settings.x.y");
    assert_eq!(join("", "upstreams[0].name"), "upstreams[0].name");
    assert_eq!(join("prices", ""), "prices");
}
