//! Environment variables as AWS keeps them: an ordered map, measured as compact JSON.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A function's environment variables in the order they were given (AWS echoes that order and
/// measures the 4 KB limit over it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvVars(Vec<(String, String)>);

impl EnvVars {
    /// Builds from pairs; a repeated key keeps its last value at its first position.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut vars = Self::default();
        for (k, v) in pairs {
            vars.insert(k, v);
        }
        vars
    }

    fn insert(&mut self, key: String, value: String) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// The variables in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether there are no variables.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The compact JSON text `{"K":"V",…}` over which AWS measures the 4 KB limit.
    pub fn measured_string(&self) -> String {
        serde_json::to_string(self).expect("string map serializes")
    }
}

impl Serialize for EnvVars {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for EnvVars {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor;
        impl<'de> Visitor<'de> for OrderedVisitor {
            type Value = EnvVars;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings to strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<EnvVars, A::Error> {
                let mut vars = EnvVars::default();
                while let Some((k, v)) = access.next_entry::<String, String>()? {
                    vars.insert(k, v);
                }
                Ok(vars)
            }
        }
        deserializer.deserialize_map(OrderedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_request_order_and_measures_compact_json() {
        let vars: EnvVars =
            serde_json::from_str(r#"{"SMALL_VAR": "ok", "LARGE_VAR": "x"}"#).unwrap();
        assert_eq!(
            vars.measured_string(),
            r#"{"SMALL_VAR":"ok","LARGE_VAR":"x"}"#
        );
        assert_eq!(vars.get("LARGE_VAR"), Some("x"));
    }
}
