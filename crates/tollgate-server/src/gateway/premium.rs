//! Request options the providers bill above a model's standard text rates (docs/pricing.md,
//! "Options priced above the standard rate").
//!
//! - **Service tiers and speeds** that multiply the price (Anthropic `speed: "fast"` and a regional
//!   `inference_geo`, OpenAI `service_tier` "priority"/"fast"/"scale", Gemini `service_tier`
//!   "priority") are refused: the price table has one standard rate per model, and nothing in the
//!   answer's usage says a multiplier applied. Only the values known to cost the standard rate or
//!   less pass, so a tier added by a provider later is refused until it is priced.
//! - **Tools billed outside the usage** the table has no fee for (the Responses `image_generation`
//!   tool, Gemini grounding with Google Maps) are refused.
//! - **Media priced above text** (audio in, images or audio out) are returned to admission, which
//!   lets them pass only where the model's price `covers` them (tollgate_core::pricing::Medium).
//! - **Advisor models** (Anthropic's advisor tool runs another model inside the request, at that
//!   model's rates) are returned to admission, which lets them pass only when no rate of theirs is
//!   above the request model's.

use serde_json::Value;
use tollgate_core::pricing::Medium;
use tollgate_core::usage::ApiFamily;

use super::error::GatewayError;
use super::family::{Fields, GeminiConfigs};

/// Refuses a service tier or speed billed above the standard rate. `configs`: a Gemini body's
/// generation configs (empty for the other families).
pub fn check_tier(family: ApiFamily, f: &Fields, configs: &GeminiConfigs) -> Result<(), GatewayError> {
    match family {
        ApiFamily::Anthropic => {
            allow(f, "speed", "", &["standard"])?;
            allow(f, "inference_geo", "", &["global"])?;
            // Priority Tier capacity is bought ahead by the account; "auto" uses it when there is.
            allow(f, "service_tier", "", &["auto", "standard_only"])
        }
        ApiFamily::OpenAiChat | ApiFamily::OpenAiResponses => {
            // "auto" follows the upstream project's tier, which the operator sets (docs/pricing.md).
            allow(f, "service_tier", "", &["auto", "default", "flex"])
        }
        ApiFamily::Gemini => {
            const STANDARD: &[&str] = &["standard", "flex", "service_tier_standard", "service_tier_flex"];
            for name in ["service_tier", "serviceTier"] {
                allow(f, name, "", STANDARD)?;
            }
            for (config, cfg) in configs {
                for name in ["service_tier", "serviceTier"] {
                    allow(cfg, name, config, STANDARD)?;
                }
            }
            Ok(())
        }
    }
}

/// The media priced above text that the request asks for, each with the field that asks.
pub fn media_asked(
    family: ApiFamily,
    f: &Fields,
    configs: &GeminiConfigs,
    body: &[u8],
) -> Result<Vec<(Medium, &'static str)>, GatewayError> {
    let mut asked = Vec::new();
    match family {
        ApiFamily::Anthropic => return Ok(asked),
        ApiFamily::OpenAiChat => {
            if let Some(raw) = present(f, "modalities") {
                let list: Vec<String> = serde_json::from_str(raw)
                    .map_err(|_| GatewayError::bad_request("modalities: must be a list of strings"))?;
                for m in list {
                    match m.as_str() {
                        "text" => {}
                        "audio" => asked.push((Medium::AudioOutput, "modalities")),
                        "image" => asked.push((Medium::ImageOutput, "modalities")),
                        other => {
                            return Err(GatewayError::bad_request(format!(
                                "modalities: unknown output modality {other:?}"
                            )));
                        }
                    }
                }
            }
            if present(f, "audio").is_some() {
                asked.push((Medium::AudioOutput, "audio"));
            }
        }
        ApiFamily::OpenAiResponses => {
            // Images made by the hosted tool are billed at the image model's rates and are not
            // in the answer's usage at all, so no price of the text model can cover them.
            if let Some(raw) = present(f, "tools")
                && may_spell(raw, b"image_generation")
                && tool_types(raw).iter().any(|t| t == "image_generation")
            {
                return Err(GatewayError::bad_request(
                    "tools: the image_generation tool is billed outside the answer's token usage and is not supported by this gateway",
                ));
            }
        }
        ApiFamily::Gemini => {
            // Grounding with Google Maps is billed per grounded prompt, a fee the table has no kind for.
            if let Some(raw) = present(f, "tools")
                && may_spell(raw, b"aps")
                && gemini_tool_keys(raw).iter().any(|k| k == "googleMaps" || k == "google_maps")
            {
                return Err(GatewayError::bad_request(
                    "tools: grounding with Google Maps is billed per grounded prompt, which this gateway does not price",
                ));
            }
            for (config, cfg) in configs {
                for name in ["responseModalities", "response_modalities"] {
                    let Some(raw) = present(cfg, name) else { continue };
                    let list: Vec<String> = serde_json::from_str(raw).map_err(|_| {
                        GatewayError::bad_request(format!("{config}.{name}: must be a list of strings"))
                    })?;
                    for m in list {
                        match m.to_ascii_uppercase().as_str() {
                            "TEXT" | "MODALITY_UNSPECIFIED" => {}
                            "IMAGE" => asked.push((Medium::ImageOutput, "generationConfig.responseModalities")),
                            "AUDIO" => asked.push((Medium::AudioOutput, "generationConfig.responseModalities")),
                            other => {
                                return Err(GatewayError::bad_request(format!(
                                    "{config}.{name}: unknown output modality {other:?}"
                                )));
                            }
                        }
                    }
                }
                if ["speechConfig", "speech_config"].iter().any(|n| present(cfg, n).is_some()) {
                    asked.push((Medium::AudioOutput, "generationConfig.speechConfig"));
                }
            }
        }
    }
    if audio_input(body) {
        asked.push((Medium::AudioInput, "audio input"));
    }
    Ok(asked)
}

/// The models Anthropic advisor tools (`advisor_*`) name: each call runs that model inside the
/// request, billed at its own rates, while the request is priced at its own model's (admission
/// lets an advisor pass only when its rates are no higher).
pub fn advisor_models(family: ApiFamily, f: &Fields) -> Result<Vec<String>, GatewayError> {
    let Some(raw) = present(f, "tools").filter(|_| family == ApiFamily::Anthropic) else { return Ok(Vec::new()) };
    if !may_spell(raw, b"advisor") {
        return Ok(Vec::new());
    }
    let Ok(Value::Array(tools)) = serde_json::from_str::<Value>(raw) else { return Ok(Vec::new()) };
    let mut models = Vec::new();
    for tool in &tools {
        if !tool.get("type").and_then(Value::as_str).is_some_and(|t| t.starts_with("advisor_")) {
            continue;
        }
        match tool.get("model").and_then(Value::as_str) {
            Some(m) if !m.trim().is_empty() => models.push(m.trim().to_owned()),
            _ => return Err(GatewayError::bad_request("tools: an advisor tool must name its model")),
        }
    }
    Ok(models)
}

/// Whether the body carries or names audio (tollgate_core::audio_scan). A byte scan skips that
/// pass for bodies that cannot mention audio in any letter case; a `\\u` escape could spell it, so
/// such bodies are read too.
fn audio_input(body: &[u8]) -> bool {
    (mentions_audio(body) || mentions(body, b"\\u")) && tollgate_core::audio_scan::carries_audio(body)
}

fn mentions(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// Whether raw JSON text may spell `needle` in a string or name: it holds it as is, or holds a `\\u`
/// escape that could spell it (read whole then).
fn may_spell(raw: &str, needle: &[u8]) -> bool {
    mentions(raw.as_bytes(), needle) || mentions(raw.as_bytes(), b"\\u")
}

/// `udio` in any letter case (`audio`, `AUDIO`, `input_audio`), found from its `d`s.
fn mentions_audio(body: &[u8]) -> bool {
    memchr::memchr2_iter(b'd', b'D', body)
        .any(|i| i >= 1 && body.get(i - 1..i + 3).is_some_and(|w| w.eq_ignore_ascii_case(b"udio")))
}

/// The `type` of each tool in a `tools` list (unreadable entries are left to the upstream).
fn tool_types(raw: &str) -> Vec<String> {
    let Ok(Value::Array(tools)) = serde_json::from_str::<Value>(raw) else { return Vec::new() };
    tools.iter().filter_map(|t| t.get("type").and_then(Value::as_str).map(str::to_owned)).collect()
}

/// The member names of each Gemini tool (tools are named by key: `googleSearch`, `googleMaps`, …).
fn gemini_tool_keys(raw: &str) -> Vec<String> {
    let Ok(Value::Array(tools)) = serde_json::from_str::<Value>(raw) else { return Vec::new() };
    tools.iter().filter_map(Value::as_object).flat_map(|t| t.keys().cloned()).collect()
}

/// The member's raw JSON text unless it is absent or `null`.
fn present<'a>(f: &'a Fields, name: &str) -> Option<&'a str> {
    f.get(name).map(|v| v.get().trim()).filter(|raw| *raw != "null")
}

/// Refuses `name` (a member of the object at `parent`, "" for the body) unless it is absent,
/// `null`, or one of `allowed` (ASCII case ignored).
fn allow(f: &Fields, name: &str, parent: &str, allowed: &[&str]) -> Result<(), GatewayError> {
    let Some(raw) = present(f, name) else { return Ok(()) };
    let name = if parent.is_empty() { name.to_owned() } else { format!("{parent}.{name}") };
    let value: String =
        serde_json::from_str(raw).map_err(|_| GatewayError::bad_request(format!("{name}: must be a string")))?;
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(value.trim())) {
        return Ok(());
    }
    Err(GatewayError::bad_request(format!(
        "{name}: {value:?} is billed above the model's standard rate, which this gateway does not price; send {} or leave it out",
        allowed.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(" or ")
    )))
}

#[cfg(test)]
mod tests {
    use super::super::family::gemini_configs;
    use super::*;

    fn fields(body: &str) -> Fields {
        serde_json::from_str(body).unwrap()
    }

    fn tier(family: ApiFamily, body: &str) -> Result<(), String> {
        let f = fields(body);
        let configs = gemini_configs(&f).unwrap();
        check_tier(family, &f, &configs).map_err(|e| e.to_string())
    }

    fn media(family: ApiFamily, body: &str) -> Result<Vec<Medium>, String> {
        let f = fields(body);
        media_asked(family, &f, &gemini_configs(&f).unwrap(), body.as_bytes())
            .map(|v| v.into_iter().map(|(m, _)| m).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn tiers_above_the_standard_rate_are_refused() {
        use ApiFamily::*;
        for (family, body) in [
            (Anthropic, r#"{"speed":"fast"}"#),
            (Anthropic, r#"{"inference_geo":"us"}"#),
            (OpenAiChat, r#"{"service_tier":"priority"}"#),
            (OpenAiResponses, r#"{"service_tier":"fast"}"#),
            (OpenAiResponses, r#"{"service_tier":"scale"}"#),
            (Gemini, r#"{"service_tier":"priority"}"#),
            (Gemini, r#"{"generationConfig":{"serviceTier":"PRIORITY"}}"#),
            (OpenAiChat, r#"{"service_tier":7}"#),
        ] {
            let e = tier(family, body).expect_err(body);
            assert!(e.contains("speed") || e.contains("inference_geo") || e.contains("service_tier"), "{e}");
        }
        for (family, body) in [
            (Anthropic, r#"{"speed":"standard","inference_geo":"global","service_tier":"auto"}"#),
            (Anthropic, r#"{"speed":null}"#),
            (OpenAiChat, r#"{"service_tier":"flex"}"#),
            (OpenAiResponses, r#"{"service_tier":"default"}"#),
            (Gemini, r#"{"serviceTier":"FLEX","generation_config":{"service_tier":"standard"}}"#),
        ] {
            assert_eq!(tier(family, body), Ok(()), "{body}");
        }
    }

    #[test]
    fn media_priced_above_text_are_found_in_every_spelling() {
        use ApiFamily::*;
        use Medium::*;
        assert_eq!(
            media(OpenAiChat, r#"{"modalities":["text","audio"],"audio":{"voice":"x"}}"#),
            Ok(vec![AudioOutput, AudioOutput])
        );
        assert_eq!(
            media(OpenAiChat, r#"{"messages":[{"content":[{"type":"input_audio","input_audio":{"data":"AA=="}}]}]}"#),
            Ok(vec![AudioInput])
        );
        assert_eq!(
            media(Gemini, r#"{"generation_config":{"response_modalities":["Text","Image"]}}"#),
            Ok(vec![ImageOutput])
        );
        assert_eq!(media(Gemini, r#"{"generationConfig":{"speechConfig":{}}}"#), Ok(vec![AudioOutput]));
        // A media type spelled with an escape is still audio.
        assert_eq!(
            media(Gemini, r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"\u0061udio/wav","data":"AA=="}}]}]}"#),
            Ok(vec![AudioInput])
        );
        assert_eq!(
            media(Gemini, r#"{"contents":[{"parts":[{"fileData":{"mime_type":"AUDIO/MP3","fileUri":"f"}}]}]}"#),
            Ok(vec![AudioInput])
        );
        // Text about audio, and function schemas naming it, are not audio.
        assert_eq!(
            media(
                OpenAiChat,
                r#"{"messages":[{"content":"audio/wav input_audio"}],"tools":[{"type":"function","function":{"parameters":{"properties":{"input_audio":{}}}}}]}"#
            ),
            Ok(vec![])
        );
        assert_eq!(media(Anthropic, r#"{"speed":"fast"}"#), Ok(vec![]));
        assert!(media(OpenAiChat, r#"{"modalities":["video"]}"#).unwrap_err().contains("modalities"));
        assert!(media(OpenAiChat, r#"{"modalities":"audio"}"#).unwrap_err().contains("modalities"));
        for maps in [r#"{"tools":[{"googleMaps":{}}]}"#, r#"{"tools":[{"google_m\u0061ps":{}}]}"#] {
            assert!(media(Gemini, maps).unwrap_err().contains("Google Maps"), "{maps}");
        }
        assert_eq!(
            media(Gemini, r#"{"tools":[{"googleSearch":{}},{"functionDeclarations":[{"name":"maps"}]}]}"#),
            Ok(vec![])
        );
        let advisors = |body: &str| advisor_models(Anthropic, &fields(body)).map_err(|e| e.to_string());
        assert_eq!(
            advisors(
                r#"{"tools":[{"type":"advisor_20260301","name":"advisor","model":"claude-opus-4-6"},{"name":"f"}]}"#
            ),
            Ok(vec!["claude-opus-4-6".to_owned()])
        );
        assert_eq!(advisors(r#"{"tools":[{"type":"\u0061dvisor_20260301","model":"m"}]}"#), Ok(vec!["m".to_owned()]));
        assert!(advisors(r#"{"tools":[{"type":"advisor_20260301"}]}"#).unwrap_err().contains("model"));
        let e = media(OpenAiResponses, r#"{"tools":[{"type":"image_generation"}]}"#).unwrap_err();
        assert!(e.contains("image_generation"), "{e}");
        assert_eq!(media(OpenAiResponses, r#"{"tools":[{"type":"function","name":"image_generation"}]}"#), Ok(vec![]));
        assert!(media(OpenAiResponses, r#"{"tools":[{"type":"\u0069mage_generation"}]}"#).is_err());
        assert_eq!(
            media(Gemini, r#"{"contents":[{"parts":[{"fileData":{"mimeType":"aUdIo/ogg","fileUri":"f"}}]}]}"#),
            Ok(vec![AudioInput])
        );
        assert!(mentions_audio(b"xAUDIO") && mentions_audio(b"input_audio") && !mentions_audio(b"dud udi"));
    }
}
