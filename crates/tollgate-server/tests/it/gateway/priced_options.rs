//! Options a provider bills above a model's standard text rate, as a client who wants them for
//! the price of text would send them: faster or priority tiers are refused, media priced above
//! text pass only where the model's price covers them, and a 0 output cap is no cap.

use tollgate_core::platform::Platform;

use crate::util::gateway::{MODEL, daily};
use crate::util::test_app::TestApp;

async fn priced_options_are_refused_unless_priced(app: TestApp) {
    let app = app.with_mocks(false).await;
    let c = app.caller("tiers@example.com", &[]).await;
    let anthropic = [("x-api-key", c.secret.as_str())];
    let openai = [("authorization", &*format!("Bearer {}", c.secret))];
    let gemini = [("x-goog-api-key", c.secret.as_str())];
    let msg = |extra: &str| format!(r#"{{"model":"{MODEL}","max_tokens":8,{extra}"messages":[]}}"#);
    let chat = |extra: &str| format!(r#"{{"model":"{MODEL}",{extra}"messages":[]}}"#);
    let gem_uri = format!("/v1beta/models/{MODEL}:generateContent");
    for (uri, headers, body, needle) in [
        ("/v1/messages", &anthropic[..], msg(r#""speed":"fast","#), "speed"),
        ("/v1/messages", &anthropic[..], msg(r#""inference_geo":"us","#), "inference_geo"),
        ("/v1/chat/completions", &openai[..], chat(r#""service_tier":"priority","#), "service_tier"),
        (
            "/v1/responses",
            &openai[..],
            format!(r#"{{"model":"{MODEL}","service_tier":"fast","input":"x"}}"#),
            "service_tier",
        ),
        (gem_uri.as_str(), &gemini[..], r#"{"service_tier":"priority","contents":[]}"#.to_owned(), "service_tier"),
        // Media above text on a model whose price is its text rate.
        (
            "/v1/chat/completions",
            &openai[..],
            chat(r#""modalities":["text","audio"],"audio":{"voice":"alloy","format":"wav"},"#),
            "audio_output",
        ),
        (
            "/v1/chat/completions",
            &openai[..],
            format!(
                r#"{{"model":"{MODEL}","messages":[{{"role":"user","content":[{{"type":"input_audio","input_audio":{{"data":"AAAA","format":"wav"}}}}]}}]}}"#
            ),
            "audio_input",
        ),
        (
            gem_uri.as_str(),
            &gemini[..],
            r#"{"generationConfig":{"responseModalities":["TEXT","IMAGE"]},"contents":[]}"#.to_owned(),
            "image_output",
        ),
        (
            gem_uri.as_str(),
            &gemini[..],
            r#"{"contents":[{"parts":[{"inline_data":{"mime_type":"\u0061udio/wav","data":"AAAA"}}]}]}"#.to_owned(),
            "audio_input",
        ),
        (
            "/v1/responses",
            &openai[..],
            format!(r#"{{"model":"{MODEL}","tools":[{{"type":"image_generation"}}],"input":"x"}}"#),
            "image_generation",
        ),
    ] {
        let r = app.post_json(uri, headers, &body).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text());
        assert!(r.text().contains(needle), "{body}: {}", r.text());
    }
    for p in [Platform::Anthropic, Platform::OpenAi, Platform::Gemini] {
        assert_eq!(app.spent(c.user_id, p).await, 0, "{p}");
    }
    // Standard values pass, and so does an image model whose price is its image rate.
    assert_eq!(app.post_json("/v1/messages", &anthropic, &msg(r#""speed":"standard","#)).await.status, 200);
    assert_eq!(app.post_json("/v1/chat/completions", &openai, &chat(r#""service_tier":"flex","#)).await.status, 200);
    let image = r#"{"generationConfig":{"responseModalities":["TEXT","IMAGE"]},"contents":[]}"#;
    let r = app.post_json("/v1beta/models/gemini-2.5-flash-image:generateContent", &gemini, image).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // An advisor tool runs another model inside the request, at that model's rates: one dearer
    // than the request's model is refused, a cheaper one passes.
    let advised = |advisor: &str| {
        format!(
            r#"{{"model":"{MODEL}","max_tokens":8,"tools":[{{"type":"advisor_20260301","name":"advisor","model":"{advisor}","max_uses":2}}],"messages":[]}}"#
        )
    };
    let r = app.post_json("/v1/messages", &anthropic, &advised("claude-opus-4-6")).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("advisor model claude-opus-4-6"), "{}", r.text());
    assert_eq!(app.post_json("/v1/messages", &anthropic, &advised("claude-haiku-4-5")).await.status, 200);

    // An admin who prices the model's audio (its rates at least the audio rates) lets audio pass;
    // the price is stored with what it covers.
    let admin = app.admin().await;
    let price =
        r#"{"platform":"openai","input_per_mtok":40,"output_per_mtok":80,"covers":["audio_input","audio_output"]}"#;
    let r = app.call("PUT", &format!("/api/v1/admin/pricing/{MODEL}"), Some(&admin.token), Some(price)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["covers"], serde_json::json!(["audio_input", "audio_output"]));
    let audio = chat(r#""modalities":["text","audio"],"audio":{"voice":"alloy","format":"wav"},"#);
    assert_eq!(app.post_json("/v1/chat/completions", &openai, &audio).await.status, 200);
    let listed = app.get_as("/api/v1/admin/pricing", &admin.token).await.json();
    let ours = listed["models"].as_array().unwrap().iter().find(|m| m["model"] == MODEL).unwrap().clone();
    assert_eq!(ours["covers"], serde_json::json!(["audio_input", "audio_output"]));
    let bad = r#"{"platform":"openai","input_per_mtok":1,"output_per_mtok":1,"covers":["video_output"]}"#;
    let r = app.call("PUT", &format!("/api/v1/admin/pricing/{MODEL}"), Some(&admin.token), Some(bad)).await;
    assert_eq!((r.status.as_u16(), r.json()["error"]["field"].as_str()), (400, Some("covers")), "{}", r.text());
}
crate::both_backends!(priced_options, super::priced_options_are_refused_unless_priced);

/// Gemini serves its default output limit for `maxOutputTokens: 0`: strict mode must bound such a
/// request as uncapped, not as one that can write nothing.
async fn a_zero_output_cap_is_bounded_as_no_cap(app: TestApp) {
    use tollgate_core::settings::validate_changes;
    let app = app.with_mocks(false).await;
    let changes = validate_changes(r#"{"quota_enforcement":"strict"}"#).unwrap();
    app.state.store.save_settings(&changes, jiff::Timestamp::now()).await.unwrap();
    app.state.settings.refresh().await.unwrap();
    // $1 a day; 128,000 output tokens at $15 per million is $1.92.
    let c = app.caller("zero-cap@example.com", &daily(Platform::Gemini, "1")).await;
    let uri = format!("/v1beta/models/{MODEL}:generateContent");
    let send = |config: &'static str| {
        let (app, uri, secret) = (&app, uri.clone(), c.secret.clone());
        async move {
            let body = format!(r#"{{"generationConfig":{config},"contents":[{{"parts":[{{"text":"hi"}}]}}]}}"#);
            app.post_json(&uri, &[("x-goog-api-key", &secret)], &body).await.status.as_u16()
        }
    };
    assert_eq!(send(r#"{"maxOutputTokens":0}"#).await, 429);
    assert_eq!(send(r#"{"maxOutputTokens":64,"max_output_tokens":0}"#).await, 429);
    assert_eq!(send(r#"{"maxOutputTokens":64}"#).await, 200);

    // Anthropic server-side compaction reads the context again and writes a summary: bounded by a
    // context window more; together with server-side tools it may run per tool iteration, and
    // nothing bounds it: refused in strict mode.
    let a = app.caller("compaction@example.com", &daily(Platform::Anthropic, "100")).await;
    let compact = |tools: &str| {
        format!(
            r#"{{"model":"{MODEL}","max_tokens":10,"context_management":{{"edits":[{{"type":"compact_20260112"}}]}},"tools":[{tools}],"messages":[]}}"#
        )
    };
    let r = app.post_json("/v1/messages", &[("x-api-key", &a.secret)], &compact("")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let search = r#"{"type":"web_search_20250305","name":"web_search","max_uses":1}"#;
    let r = app.post_json("/v1/messages", &[("x-api-key", &a.secret)], &compact(search)).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("compaction"), "{}", r.text());
    // An advisor without max_uses can be called any number of times: no bound either.
    let advisor = r#"{"type":"advisor_20260301","name":"advisor","model":"claude-haiku-4-5"}"#;
    let body = format!(r#"{{"model":"{MODEL}","max_tokens":10,"tools":[{advisor}],"messages":[]}}"#);
    let r = app.post_json("/v1/messages", &[("x-api-key", &a.secret)], &body).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("max_uses"), "{}", r.text());
}
crate::both_backends!(zero_output_cap, super::a_zero_output_cap_is_bounded_as_no_cap);
