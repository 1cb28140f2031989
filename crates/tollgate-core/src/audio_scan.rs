//! Whether a request body carries or names audio (priced above text by OpenAI and Gemini): an
//! OpenAI `input_audio` part (`"type": "input_audio"` or an `input_audio` member), or a part whose
//! media type (`mimeType`, `mime_type`, `media_type`) is `audio/*` in any letter case. Function
//! schemas under the top-level `tools` do not count.
//!
//! One streaming pass of serde_json that keeps nothing: member names and strings are borrowed from
//! the body (or unescaped into serde_json's scratch buffer), so a body spelled with `\u` escapes,
//! which a byte scan cannot rule out, costs about one more parse rather than building a tree.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Whether `body` carries or names audio; `false` for a body that is not JSON (refused elsewhere).
pub fn carries_audio(body: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(body);
    Scan::Top.deserialize(&mut de).unwrap_or(false)
}

/// What the value being read is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// The body itself (its `tools` member is skipped).
    Top,
    /// Any other value.
    Any,
    /// The value of a `type` member: audio when it is `input_audio`.
    Type,
    /// The value of a media-type member: audio when it starts with `audio/`.
    MediaType,
}

impl<'de> DeserializeSeed<'de> for Scan {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scan {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<bool, E> {
        Ok(match self {
            Scan::Type => s == "input_audio",
            Scan::MediaType => s.trim_start().get(..6).is_some_and(|p| p.eq_ignore_ascii_case("audio/")),
            Scan::Top | Scan::Any => false,
        })
    }
    fn visit_bool<E>(self, _: bool) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut found = false;
        // Read to the end either way: serde_json wants every element consumed.
        while let Some(hit) = seq.next_element_seed(Scan::Any)? {
            found |= hit;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(name) = map.next_key_seed(Name)? {
            let hit = match name {
                Member::Tools if self == Scan::Top => {
                    map.next_value::<IgnoredAny>()?;
                    false
                }
                Member::InputAudio => {
                    map.next_value::<IgnoredAny>()?;
                    true
                }
                Member::Type => map.next_value_seed(Scan::Type)?,
                Member::MediaType => map.next_value_seed(Scan::MediaType)?,
                Member::Tools | Member::Other => map.next_value_seed(Scan::Any)?,
            };
            found |= hit;
        }
        Ok(found)
    }
}

/// The member names that matter, read without keeping the name.
enum Member {
    Tools,
    InputAudio,
    Type,
    MediaType,
    Other,
}

struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Member;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Member;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, s: &str) -> Result<Member, E> {
        Ok(match s {
            "tools" => Member::Tools,
            "input_audio" => Member::InputAudio,
            "type" => Member::Type,
            "mimeType" | "mime_type" | "media_type" => Member::MediaType,
            _ => Member::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::carries_audio;

    #[test]
    fn audio_is_found_in_every_spelling_and_only_there() {
        for body in [
            r#"{"messages":[{"content":[{"type":"input_audio","input_audio":{"data":"AA=="}}]}]}"#,
            r#"{"messages":[{"content":[{"input_audio":{"data":"AA=="}}]}]}"#,
            r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"\u0061udio/wav","data":"AA=="}}]}]}"#,
            r#"{"contents":[{"parts":[{"fileData":{"mime_type":" AUDIO/MP3","fileUri":"f"}}]}]}"#,
            r#"{"contents":[{"parts":[{"fileData":{"mim\u0065Type":"aUdIo/ogg"}}]}]}"#,
        ] {
            assert!(carries_audio(body.as_bytes()), "{body}");
        }
        for body in [
            r#"{"messages":[{"content":"audio/wav input_audio"}]}"#,
            r#"{"tools":[{"type":"function","function":{"parameters":{"properties":{"input_audio":{},"type":{"type":"input_audio"}}}}}]}"#,
            r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"image/png"}}]}]}"#,
            r#"{"type":7,"mimeType":null}"#,
            "not json",
        ] {
            assert!(!carries_audio(body.as_bytes()), "{body}");
        }
    }
}
