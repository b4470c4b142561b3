//! Framework-level constraint checks, reported the way AWS's front end reports them:
//! `N validation error(s) detected: Value '…' at 'field' failed to satisfy constraint: …`.

use std::fmt;

/// The constraint violations found in one request, in the order AWS lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(Vec<String>);

impl ValidationErrors {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing was violated.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The individual violations.
    pub fn items(&self) -> &[String] {
        &self.0
    }

    /// Records `Value '<value>' at '<field>' failed to satisfy constraint: <constraint>`.
    pub fn violation(&mut self, field: &str, value: impl fmt::Display, constraint: &str) {
        self.0.push(format!(
            "Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// Records a violation whose value AWS prints bare (`Value null`, lists, maps).
    pub fn violation_raw(&mut self, field: &str, raw_value: &str, constraint: &str) {
        self.0.push(format!(
            "Value {raw_value} at '{field}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A string longer than `max` characters.
    pub fn max_length(&mut self, field: &str, value: &str, max: usize) {
        self.violation(
            field,
            value,
            &format!("Member must have length less than or equal to {max}"),
        );
    }

    /// A string that does not match `pattern` (printed without anchors, as AWS does).
    pub fn pattern(&mut self, field: &str, value: &str, pattern: &str) {
        self.violation(
            field,
            value,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        );
    }

    /// A number below `min`.
    pub fn min_value(&mut self, field: &str, value: i64, min: i64) {
        self.violation(
            field,
            value,
            &format!("Member must have value greater than or equal to {min}"),
        );
    }

    /// A number above `max`.
    pub fn max_value(&mut self, field: &str, value: i64, max: i64) {
        self.violation(
            field,
            value,
            &format!("Member must have value less than or equal to {max}"),
        );
    }

    /// Moves the violations of `other` behind these.
    pub fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }

    /// `Ok` when nothing was violated.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(
            f,
            "{n} validation error{plural} detected: {}",
            self.0.join("; ")
        )
    }
}

impl std::error::Error for ValidationErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_one_and_many_like_aws() {
        let mut e = ValidationErrors::new();
        e.pattern("role", "r1", "arn:x");
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: arn:x"
        );
        e.min_value("timeout", 0, 1);
        assert!(
            e.to_string()
                .starts_with("2 validation errors detected: Value 'r1'")
        );
        assert!(e.to_string().ends_with(
            "; Value '0' at 'timeout' failed to satisfy constraint: \
             Member must have value greater than or equal to 1"
        ));
    }

    #[test]
    fn empty_is_ok() {
        assert!(ValidationErrors::new().into_result().is_ok());
    }
}
