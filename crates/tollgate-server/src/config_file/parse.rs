//! Reading the file: TOML to the JSON objects the console validators take. Numbers are carried
//! over as written (an amount of `12.000000001` stays exactly that), and a table of one key,
//! `{ env = "NAME" }`, stands for the value of that environment variable (secrets stay out of
//! the file).

use std::fmt::Write as _;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{ConfigError, key_in_path};

/// The sections of a configuration file, each value as JSON text.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ConfigFile {
    /// `[settings]`: keys and values as in `PUT /admin/settings`.
    pub settings: Option<String>,
    /// `[[upstreams]]`: each as the body of `POST /admin/upstreams`, matched to stored ones by name.
    pub upstreams: Vec<String>,
    /// `[prices."MODEL"]`: each as the body of `PUT /admin/pricing/{model}`.
    pub prices: Vec<(String, String)>,
}

const SECTIONS: &str = "expected settings, upstreams or prices";

/// Parses the text of a file; `env` looks up the variables it names.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<ConfigFile, ConfigError> {
    let root = DeTable::parse(text).map_err(|e| ConfigError::new("", e.to_string().trim_end()))?;
    let mut file = ConfigFile::default();
    for (key, value) in root.get_ref() {
        let name = key.get_ref().as_ref();
        let json = Json { env };
        match (name, value.get_ref()) {
            ("settings", DeValue::Table(_)) => file.settings = Some(json.value("settings", value)?),
            ("upstreams", DeValue::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("upstreams[{i}]");
                    if !matches!(item.get_ref(), DeValue::Table(_)) {
                        return Err(ConfigError::new(path, "must be a table ([[upstreams]])"));
                    }
                    file.upstreams.push(json.value(&path, item)?);
                }
            }
            ("prices", DeValue::Table(models)) => {
                for (model, price) in models {
                    let path = format!("prices.{}", key_in_path(model.get_ref()));
                    if !matches!(price.get_ref(), DeValue::Table(_)) {
                        return Err(ConfigError::new(path, "must be a table of price fields"));
                    }
                    file.prices.push((model.get_ref().to_string(), json.value(&path, price)?));
                }
            }
            ("settings" | "prices", _) => return Err(ConfigError::new(name, "must be a table")),
            ("upstreams", _) => return Err(ConfigError::new(name, "must be an array of tables ([[upstreams]])")),
            _ => return Err(ConfigError::new(key_in_path(name), format!("unknown section; {SECTIONS}"))),
        }
    }
    Ok(file)
}

struct Json<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Json<'_> {
    fn value(&self, path: &str, value: &Spanned<DeValue<'_>>) -> Result<String, ConfigError> {
        let mut out = String::new();
        self.write(path, value.get_ref(), &mut out)?;
        Ok(out)
    }

    fn write(&self, path: &str, value: &DeValue<'_>, out: &mut String) -> Result<(), ConfigError> {
        match value {
            DeValue::String(s) => out.push_str(&quote(s)),
            DeValue::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
            DeValue::Integer(i) => {
                let n = i64::from_str_radix(i.as_str(), i.radix())
                    .map_err(|_| ConfigError::new(path, "integer out of range"))?;
                let _ = write!(out, "{n}");
            }
            DeValue::Float(f) => out.push_str(&json_number(path, f.as_str())?),
            DeValue::Datetime(_) => return Err(ConfigError::new(path, "dates and times are not values here")),
            DeValue::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write(&format!("{path}[{i}]"), item.get_ref(), out)?;
                }
                out.push(']');
            }
            DeValue::Table(table) => {
                if let Some(secret) = self.env_reference(path, table)? {
                    out.push_str(&quote(&secret));
                    return Ok(());
                }
                out.push('{');
                for (i, (key, item)) in table.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let key = key.get_ref();
                    out.push_str(&quote(key));
                    out.push(':');
                    self.write(&format!("{path}.{}", key_in_path(key)), item.get_ref(), out)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    /// `{ env = "NAME" }`: the value of that variable (unset or empty is an error: a file that
    /// names a secret means to set it).
    fn env_reference(&self, path: &str, table: &DeTable<'_>) -> Result<Option<String>, ConfigError> {
        let mut keys = table.iter();
        let (Some((key, value)), None) = (keys.next(), keys.next()) else { return Ok(None) };
        if key.get_ref().as_ref() != "env" {
            return Ok(None);
        }
        let DeValue::String(name) = value.get_ref() else {
            return Err(ConfigError::new(format!("{path}.env"), "must be the name of an environment variable"));
        };
        match (self.env)(name) {
            Some(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(ConfigError::new(path, format!("environment variable {name} is not set"))),
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// A TOML float as a JSON number with the same digits (`+1.5` → `1.5`); `inf` and `nan` have no
/// JSON form.
fn json_number(path: &str, text: &str) -> Result<String, ConfigError> {
    let text = text.strip_prefix('+').unwrap_or(text);
    if serde_json::from_str::<serde_json::Number>(text).is_err() {
        return Err(ConfigError::new(path, format!("{text} is not a finite number")));
    }
    Ok(text.to_owned())
}
