//! Refusing JSON objects that name a member twice. The gateway reads a body with one parser and the
//! upstream with another; with `"tools":[…],"tools":[]` or `"background":true,"background":false`
//! the two could see different requests (serde keeps the last, other parsers the first), so what
//! was checked and priced would not be what ran. A body with a repeated key is refused instead.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Why a body cannot be checked for repeated names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This member name is given twice in one object.
    Repeated(String),
    /// The body is not readable here, e.g. nested deeper than serde_json's 128 levels. Every other
    /// reading of the body (the strict bound, the media checks) would fail the same way and see
    /// nothing, while the upstream's parser might read it all: such a body is refused too.
    Unreadable(String),
}

/// Checks that every object of `body`, anywhere in the tree, names its members once.
pub fn check(body: &[u8]) -> Result<(), Refusal> {
    match serde_json::from_slice::<Distinct>(body) {
        Ok(_) => Ok(()),
        Err(e) => {
            let msg = e.to_string();
            // serde_json appends " at line L column C" to the message.
            match msg.strip_prefix(MARK) {
                Some(rest) => {
                    Err(Refusal::Repeated(rest.rsplit_once(" at line ").map_or(rest, |(name, _)| name).to_owned()))
                }
                None => Err(Refusal::Unreadable(msg)),
            }
        }
    }
}

/// The first member name found twice in one object of `body`, anywhere in the tree; `None` when
/// every object's names are distinct or the body cannot be read ([`check`] tells which).
pub fn repeated_key(body: &[u8]) -> Option<String> {
    match check(body) {
        Err(Refusal::Repeated(name)) => Some(name),
        _ => None,
    }
}

const MARK: &str = "repeated key: ";

/// A JSON value whose objects have distinct member names (the value itself is not kept).
struct Distinct;

impl<'de> Deserialize<'de> for Distinct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DistinctVisitor)
    }
}

struct DistinctVisitor;

impl<'de> Visitor<'de> for DistinctVisitor {
    type Value = Distinct;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Distinct, E> {
        Ok(Distinct)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Distinct, E> {
        Ok(Distinct)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Distinct, E> {
        Ok(Distinct)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Distinct, E> {
        Ok(Distinct)
    }
    fn visit_str<E>(self, _: &str) -> Result<Distinct, E> {
        Ok(Distinct)
    }
    fn visit_unit<E>(self) -> Result<Distinct, E> {
        Ok(Distinct)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Distinct, A::Error> {
        while seq.next_element::<Distinct>()?.is_some() {}
        Ok(Distinct)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Distinct, A::Error> {
        // Objects are small: a linear scan beats hashing, and names borrow from the body.
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
            if seen.contains(&name) {
                return Err(de::Error::custom(format!("{MARK}{name}")));
            }
            map.next_value::<Distinct>()?;
            seen.push(name);
        }
        Ok(Distinct)
    }
}

/// A member name, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::repeated_key;

    #[test]
    fn finds_a_name_given_twice_at_any_depth() {
        assert_eq!(repeated_key(br#"{"model":"a","tools":[],"model":"b"}"#).as_deref(), Some("model"));
        assert_eq!(repeated_key(br#"{"a":{"n":1,"n":2}}"#).as_deref(), Some("n"));
        assert_eq!(repeated_key(br#"{"a":[{"x":1},{"y":1,"y":2}]}"#).as_deref(), Some("y"));
        // An escaped spelling of the same name is the same name.
        assert_eq!(repeated_key(br#"{"tools":1,"t\u006fols":2}"#).as_deref(), Some("tools"));
        assert_eq!(repeated_key(br#"{"a":1,"b":{"a":2},"c":[{"a":3}]}"#), None);
        assert_eq!(repeated_key(br#"[1,"x",null,{"k":true}]"#), None);
        assert_eq!(repeated_key(b"not json"), None);
    }

    #[test]
    fn a_body_nested_past_the_parser_limit_is_unreadable() {
        use super::{Refusal, check};
        let deep = format!(r#"{{"speed":"fast","x":{}1{},"speed":"standard"}}"#, "[".repeat(200), "]".repeat(200));
        assert!(matches!(check(deep.as_bytes()), Err(Refusal::Unreadable(m)) if m.contains("recursion")));
        let fine = format!(r#"{{"x":{}1{}}}"#, "[".repeat(100), "]".repeat(100));
        assert_eq!(check(fine.as_bytes()), Ok(()));
    }
}
