//! The platform and auth-source registries (SPEC 1.2).
//!
//! Each list is defined here once. Validation, the `/meta` API and the UI all read these lists, and no
//! database constraint repeats them, so adding a platform is one new variant plus its entry in `ALL`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An unknown name in a registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?}; expected one of: {expected}")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
    pub expected: String,
}

macro_rules! registry {
    ($(#[$meta:meta])* $ty:ident, $kind:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty { $($variant),+ }

        impl $ty {
            /// Every member, in display order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The wire and storage name.
            pub const fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            /// Every wire name, in display order.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|p| p.as_str()).collect()
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|p| p.as_str() == s).ok_or_else(|| UnknownName {
                    kind: $kind,
                    name: s.to_owned(),
                    expected: Self::names().join(", "),
                })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

registry!(
    /// A platform a user spends on; chosen by the entry route the client called.
    Platform, "platform", {
        Anthropic => "anthropic",
        OpenAi => "openai",
        Gemini => "gemini",
        Antigravity => "antigravity",
    }
);

registry!(
    /// Where a user's account came from; selects the auth-source layer of default quotas.
    AuthSource, "auth source", {
        Email => "email",
        LinuxDo => "linuxdo",
        Oidc => "oidc",
        WeChat => "wechat",
        GitHub => "github",
        Google => "google",
        DingTalk => "dingtalk",
    }
);

impl AuthSource {
    /// The settings key holding this source's default-quota overrides.
    pub fn defaults_key(self) -> String {
        format!("auth_source_default_{}_platform_quotas", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(*p));
        }
        for a in AuthSource::ALL {
            assert_eq!(a.as_str().parse::<AuthSource>(), Ok(*a));
        }
        let err = "bedrock".parse::<Platform>().unwrap_err();
        assert!(err.to_string().contains("anthropic, openai, gemini, antigravity"));
        assert_eq!(AuthSource::GitHub.defaults_key(), "auth_source_default_github_platform_quotas");
    }
}
