//! Aliases: their names, the versions they point at, and weighted routing between two versions.
//!
//! Pure logic: the checks AWS applies to CreateAlias and UpdateAlias input, with its messages,
//! and the choice of the version an invocation of an alias runs.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::arn::LATEST;
use crate::error::LambdaError;
use crate::validate::ValidationErrors;

/// AWS's pattern for an alias `Name`, as AWS prints it.
pub const ALIAS_NAME_PATTERN: &str = "(?!^[0-9]+$)([a-zA-Z0-9-_]+)";
/// AWS's pattern for a `FunctionVersion`, as AWS prints it.
pub const VERSION_PATTERN: &str = r"(\$LATEST|[0-9]+)";

static ALIAS_CHARS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-zA-Z0-9_-]+$").expect("alias pattern"));
static VERSION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\$LATEST|[0-9]+)$").expect("version pattern"));

/// Whether `qualifier` names a version (`$LATEST` or a number) rather than an alias.
pub fn is_version(qualifier: &str) -> bool {
    VERSION_RE.is_match(qualifier)
}

/// A string of 1 to `max` characters.
fn check_length(field: &str, value: &str, max: usize, errors: &mut ValidationErrors) {
    let len = value.chars().count();
    if len == 0 {
        errors.violation(
            field,
            value,
            "Member must have length greater than or equal to 1",
        );
    } else if len > max {
        errors.max_length(field, value, max);
    }
}

/// Checks an alias name (1–128 characters, not all digits).
pub fn check_alias_name(field: &str, name: &str, errors: &mut ValidationErrors) {
    check_length(field, name, 128, errors);
    let all_digits = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    if !ALIAS_CHARS_RE.is_match(name) || all_digits {
        errors.pattern(field, name, ALIAS_NAME_PATTERN);
    }
}

/// Checks a `FunctionVersion` (1–1024 characters, `$LATEST` or a number).
pub fn check_version(field: &str, version: &str, errors: &mut ValidationErrors) {
    check_length(field, version, 1024, errors);
    if !VERSION_RE.is_match(version) {
        errors.pattern(field, version, VERSION_PATTERN);
    }
}

/// An alias's one additional version and the share of invocations it receives.
#[derive(Debug, Clone, PartialEq)]
pub struct AdditionalVersion {
    /// The version (a number).
    pub version: String,
    /// Its share, 0.0–1.0.
    pub weight: f64,
}

/// `RoutingConfig.AdditionalVersionWeights` as a client sent it (a weight may be `null`).
pub type VersionWeights = BTreeMap<String, Option<f64>>;

/// Java's `Map.toString` of the weights, as AWS prints them in its messages: `{2=0.5}`.
fn java_map(weights: &VersionWeights) -> String {
    let items: Vec<String> = weights
        .iter()
        .map(|(k, v)| match v {
            Some(w) => format!("{k}={w:?}"),
            None => format!("{k}=null"),
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// The framework checks of `AdditionalVersionWeights` (key pattern and length, weight range).
pub fn check_weights(weights: &VersionWeights, errors: &mut ValidationErrors) {
    let field = "routingConfig.additionalVersionWeights";
    let bad_key = weights
        .keys()
        .any(|k| k.is_empty() || k.len() > 1024 || !k.bytes().all(|b| b.is_ascii_digit()));
    if bad_key {
        errors.violation_raw(
            field,
            &format!("'{}'", java_map(weights)),
            "Map keys must satisfy constraint: [Member must have length less than or equal to \
             1024, Member must have length greater than or equal to 1, Member must satisfy \
             regular expression pattern: [0-9]+]",
        );
    }
    let bad_value = weights
        .values()
        .any(|w| !w.is_some_and(|w| (0.0..=1.0).contains(&w)));
    if bad_value {
        errors.violation_raw(
            field,
            &format!("'{}'", java_map(weights)),
            "Map value must satisfy constraint: [Member must have value less than or equal to \
             1.0, Member must have value greater than or equal to 0.0, Member must not be null]",
        );
    }
}

/// The rules an alias's routing must follow once its fields are well-formed: at most one
/// additional version, not the primary one, and no weights on an alias of `$LATEST`.
pub fn check_routing(
    primary: &str,
    weights: &VersionWeights,
) -> Result<Option<AdditionalVersion>, LambdaError> {
    if weights.len() > 1 {
        return Err(LambdaError::InvalidParameterValue(
            "Number of items in AdditionalVersionWeights cannot be greater than 1".to_owned(),
        ));
    }
    let Some((version, weight)) = weights.iter().next() else {
        return Ok(None);
    };
    if primary == LATEST {
        // Without `Type`, as AWS sends it (recorded).
        return Err(LambdaError::InvalidParameterValueUntyped(
            "$LATEST is not supported for an alias pointing to more than 1 version".to_owned(),
        ));
    }
    if version == primary {
        return Err(LambdaError::InvalidParameterValue(format!(
            "Invalid function version {version}. Function version {version} is already included \
             in routing configuration."
        )));
    }
    Ok(Some(AdditionalVersion {
        version: version.clone(),
        weight: weight.unwrap_or(0.0),
    }))
}

/// Whether an invocation goes to the additional version, given `draw`, a uniform random number
/// in `[0, 1)`.
pub fn routes_to_additional(additional: &AdditionalVersion, draw: f64) -> bool {
    draw < additional.weight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(items: &[(&str, Option<f64>)]) -> VersionWeights {
        items.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn alias_names() {
        let mut e = ValidationErrors::new();
        check_alias_name("name", "live", &mut e);
        check_alias_name("name", "2024-01-02", &mut e);
        assert!(e.is_empty());
        check_alias_name("name", "2024", &mut e);
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value '2024' at 'name' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        );
        let mut e = ValidationErrors::new();
        check_alias_name("name", &"a".repeat(129), &mut e);
        check_alias_name("name", "a b", &mut e);
        assert_eq!(e.items().len(), 2);
    }

    #[test]
    fn versions() {
        assert!(is_version("$LATEST") && is_version("12"));
        assert!(!is_version("live") && !is_version("$LATEST.PUBLISHED"));
        let mut e = ValidationErrors::new();
        check_version("functionVersion", "x", &mut e);
        assert!(e.items()[0].contains(r"pattern: (\$LATEST|[0-9]+)"));
    }

    #[test]
    fn weight_messages_are_aws() {
        let mut e = ValidationErrors::new();
        check_weights(&weights(&[("2", Some(2.0))]), &mut e);
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value '{2=2.0}' at \
             'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value \
             must satisfy constraint: [Member must have value less than or equal to 1.0, Member \
             must have value greater than or equal to 0.0, Member must not be null]"
        );
        let mut e = ValidationErrors::new();
        check_weights(&weights(&[("$LATEST", Some(0.5))]), &mut e);
        assert!(e.items()[0].starts_with(
            "Value '{$LATEST=0.5}' at 'routingConfig.additionalVersionWeights' failed to \
             satisfy constraint: Map keys must satisfy constraint"
        ));
        let mut e = ValidationErrors::new();
        check_weights(&weights(&[("2", Some(-1.0)), ("3", None)]), &mut e);
        assert!(e.items()[0].starts_with("Value '{2=-1.0, 3=null}'"));
        let mut e = ValidationErrors::new();
        check_weights(&weights(&[("2", Some(0.0)), ("3", Some(1.0))]), &mut e);
        assert!(e.is_empty());
    }

    #[test]
    fn routing_rules() {
        let two = weights(&[("2", Some(0.1)), ("3", Some(0.1))]);
        assert!(
            check_routing("1", &two)
                .unwrap_err()
                .to_string()
                .contains("greater than 1")
        );
        let w = weights(&[("2", Some(0.1))]);
        assert!(
            check_routing("$LATEST", &w)
                .unwrap_err()
                .to_string()
                .starts_with("$LATEST")
        );
        assert_eq!(
            check_routing("2", &w).unwrap_err().to_string(),
            "Invalid function version 2. Function version 2 is already included in routing \
             configuration."
        );
        assert_eq!(
            check_routing("1", &w).unwrap(),
            Some(AdditionalVersion {
                version: "2".into(),
                weight: 0.1
            })
        );
        assert_eq!(
            check_routing("$LATEST", &VersionWeights::new()).unwrap(),
            None
        );
    }

    #[test]
    fn draws_route_by_weight() {
        let a = AdditionalVersion {
            version: "2".into(),
            weight: 0.25,
        };
        assert!(routes_to_additional(&a, 0.0));
        assert!(routes_to_additional(&a, 0.2499));
        assert!(!routes_to_additional(&a, 0.25));
        let none = AdditionalVersion {
            weight: 0.0,
            ..a.clone()
        };
        assert!(!routes_to_additional(&none, 0.0));
        let all = AdditionalVersion { weight: 1.0, ..a };
        assert!(routes_to_additional(&all, 0.999_999));
    }
}
