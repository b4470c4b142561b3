//! The `LAMBOX_*` environment variables: which name a setting (as the `a.b` path of a key of the
//! configuration, `LAMBOX_A__B`), and which do not. Those that do not are left out with a warning
//! rather than stopping lambox: the environment is shared with other tools (a test harness's
//! `LAMBOX_BIN`, a typo in a shell profile), while a key of `lambox.toml` that names nothing is
//! still an error.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Config;

/// Variables lambox reads itself, outside the configuration.
const OWN: [&str; 2] = ["config", "bin"];

/// The settings' paths, from the defaults' shape.
#[derive(Debug, Clone)]
pub(super) struct SettingPaths {
    /// Paths of values (`listen`, `auth.strict`).
    leaves: BTreeSet<String>,
    /// Paths of maps that take keys of their own (`docker.images`).
    open: BTreeSet<String>,
}

impl SettingPaths {
    pub(super) fn of(defaults: &Config) -> Self {
        let mut paths = Self {
            leaves: BTreeSet::new(),
            open: BTreeSet::new(),
        };
        let value = serde_json::to_value(defaults).expect("the configuration serializes");
        paths.walk("", &value);
        paths
    }

    fn walk(&mut self, at: &str, value: &Value) {
        match value {
            Value::Object(map) if map.is_empty() && !at.is_empty() => {
                self.open.insert(at.to_owned());
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if at.is_empty() {
                        k.to_ascii_lowercase()
                    } else {
                        format!("{at}.{}", k.to_ascii_lowercase())
                    };
                    self.walk(&path, v);
                }
            }
            _ => {
                self.leaves.insert(at.to_owned());
            }
        }
    }

    /// Whether the lower-cased path names a setting.
    pub(super) fn names_a_setting(&self, path: &str) -> bool {
        self.leaves.contains(path)
            || self.open.iter().any(|m| {
                path.strip_prefix(m.as_str())
                    .is_some_and(|r| r.starts_with('.'))
            })
    }
}

/// The path a variable's name stands for (`LAMBOX_AUTH__STRICT` → `auth.strict`), for the
/// variables of lambox's prefix.
fn path_of(name: &str) -> Option<String> {
    let rest = name.strip_prefix("LAMBOX_")?;
    Some(rest.to_ascii_lowercase().replace("__", "."))
}

/// The `LAMBOX_*` variables among `vars` that name no setting (and are none of lambox's own).
pub fn unknown_variables(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    let paths = SettingPaths::of(&Config::default());
    vars.into_iter()
        .filter_map(|(name, _)| {
            let path = path_of(&name)?;
            (!OWN.contains(&path.as_str()) && !paths.names_a_setting(&path)).then_some(name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_settings_from_other_variables() {
        let paths = SettingPaths::of(&Config::default());
        for known in [
            "listen",
            "auth.strict",
            "process.namespaces",
            "docker.images.python",
            "limits.max_layers",
        ] {
            assert!(paths.names_a_setting(known), "{known}");
        }
        for unknown in [
            "bogus",
            "auth",
            "auth.nope",
            "docker.images",
            "process.namespaces.x",
        ] {
            assert!(!paths.names_a_setting(unknown), "{unknown}");
        }
        let vars = [
            ("LAMBOX_BOGUS", "1"),
            ("LAMBOX_BIN", "/x"),
            ("LAMBOX_AUTH__STRICT", "true"),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(unknown_variables(vars), ["LAMBOX_BOGUS"]);
    }
}
