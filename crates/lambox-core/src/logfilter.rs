//! CloudWatch Logs filter patterns, as FilterLogEvents takes them, matched against one event's
//! message.
//!
//! Pure logic. What is understood: terms (every one must occur, case-sensitive), `"quoted
//! phrases"`, `?term` alternatives (any of them), `-term` exclusions, and JSON selectors
//! `{ $.a.b = "x" }` with `=`, `!=`, `<`, `<=`, `>`, `>=`, `*` wildcards in strings, `&&` and
//! `||`, and `EXISTS`/`NOT EXISTS`. An empty pattern matches everything.

/// A parsed filter pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterPattern {
    /// Matches every event.
    All,
    /// Every term occurs; no excluded term occurs.
    Terms {
        /// Must occur.
        all: Vec<String>,
        /// None may occur.
        none: Vec<String>,
    },
    /// One of the terms occurs.
    Any(Vec<String>),
    /// A JSON selector expression.
    Json(JsonExpr),
}

/// A JSON selector expression.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonExpr {
    /// Both hold.
    And(Box<JsonExpr>, Box<JsonExpr>),
    /// Either holds.
    Or(Box<JsonExpr>, Box<JsonExpr>),
    /// `$.path <op> value`.
    Compare {
        /// Field names after `$.`.
        path: Vec<String>,
        /// The comparison.
        op: CompareOp,
        /// The value compared with.
        value: Value,
    },
    /// `$.path EXISTS` (or `NOT EXISTS` when false).
    Exists(Vec<String>, bool),
}

/// A comparison of a JSON selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Number(f64),
    /// A string, possibly with `*` wildcards.
    Text(String),
    /// `true`/`false`.
    Bool(bool),
    /// `NULL`.
    Null,
}

/// Why a pattern does not parse (AWS: InvalidParameterException "Invalid filter pattern").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid character(s) in term '{0}'")]
pub struct PatternError(pub String);

impl FilterPattern {
    /// Parses a pattern.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let p = pattern.trim();
        if p.is_empty() || p == "\"\"" {
            return Ok(Self::All);
        }
        if let Some(inner) = p.strip_prefix('{') {
            let inner = inner
                .strip_suffix('}')
                .ok_or_else(|| PatternError(p.to_owned()))?;
            let tokens = tokenize_json(inner)?;
            let mut pos = 0;
            let expr = parse_or(&tokens, &mut pos)?;
            if pos != tokens.len() {
                return Err(PatternError(p.to_owned()));
            }
            return Ok(Self::Json(expr));
        }
        let words = split_terms(p)?;
        if words.iter().all(|w| w.starts_with('?')) {
            return Ok(Self::Any(
                words
                    .into_iter()
                    .map(|w| unquote(&w[1..]).to_owned())
                    .collect(),
            ));
        }
        let (mut all, mut none) = (Vec::new(), Vec::new());
        for w in words {
            if let Some(rest) = w.strip_prefix('-') {
                none.push(unquote(rest).to_owned());
            } else {
                all.push(unquote(w.trim_start_matches('?')).to_owned());
            }
        }
        Ok(Self::Terms { all, none })
    }

    /// Whether `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        match self {
            Self::All => true,
            Self::Terms { all, none } => {
                all.iter().all(|t| message.contains(t.as_str()))
                    && !none.iter().any(|t| message.contains(t.as_str()))
            }
            Self::Any(terms) => terms.iter().any(|t| message.contains(t.as_str())),
            Self::Json(expr) => serde_json::from_str::<serde_json::Value>(message.trim())
                .is_ok_and(|doc| doc.is_object() && expr.holds(&doc)),
        }
    }

    /// A term every match contains, for a store to narrow its search with (`None` when there
    /// is none, as for alternatives and JSON selectors).
    pub fn required_term(&self) -> Option<&str> {
        match self {
            Self::Terms { all, .. } => all.iter().max_by_key(|t| t.len()).map(String::as_str),
            _ => None,
        }
    }
}

fn unquote(w: &str) -> &str {
    w.strip_prefix('"')
        .and_then(|w| w.strip_suffix('"'))
        .unwrap_or(w)
}

/// Splits a term pattern on spaces, keeping quoted phrases whole.
fn split_terms(p: &str) -> Result<Vec<String>, PatternError> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in p.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(PatternError(p.to_owned()));
    }
    if !current.is_empty() {
        words.push(current);
    }
    Ok(words)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Path(Vec<String>),
    Op(CompareOp),
    And,
    Or,
    Open,
    Close,
    Value(Value),
    Not,
    Exists,
}

fn tokenize_json(s: &str) -> Result<Vec<Token>, PatternError> {
    let bad = || PatternError(s.trim().to_owned());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                out.push(Token::And);
                i += 2;
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                out.push(Token::Or);
                i += 2;
            }
            '=' => {
                out.push(Token::Op(CompareOp::Eq));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Op(CompareOp::Ne));
                i += 2;
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                out.push(Token::Op(match (c, eq) {
                    ('<', false) => CompareOp::Lt,
                    ('<', true) => CompareOp::Le,
                    ('>', false) => CompareOp::Gt,
                    _ => CompareOp::Ge,
                }));
                i += if eq { 2 } else { 1 };
            }
            '"' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '"' {
                    j += 1;
                }
                if j == chars.len() {
                    return Err(bad());
                }
                out.push(Token::Value(Value::Text(chars[start..j].iter().collect())));
                i = j + 1;
            }
            '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric()
                        || matches!(chars[i], '$' | '.' | '_' | '-' | '[' | ']'))
                {
                    i += 1;
                }
                let raw: String = chars[start..i].iter().collect();
                let path = raw
                    .strip_prefix("$.")
                    .ok_or_else(bad)?
                    .split('.')
                    .map(str::to_owned)
                    .collect();
                out.push(Token::Path(path));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '&' | '|' | '=' | '!' | '<' | '>')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(match word.as_str() {
                    "NOT" => Token::Not,
                    "EXISTS" => Token::Exists,
                    "true" => Token::Value(Value::Bool(true)),
                    "false" => Token::Value(Value::Bool(false)),
                    "NULL" => Token::Value(Value::Null),
                    w => match w.parse::<f64>() {
                        Ok(n) => Token::Value(Value::Number(n)),
                        Err(_) => Token::Value(Value::Text(w.to_owned())),
                    },
                });
            }
        }
    }
    Ok(out)
}

fn parse_or(t: &[Token], pos: &mut usize) -> Result<JsonExpr, PatternError> {
    let mut left = parse_and(t, pos)?;
    while t.get(*pos) == Some(&Token::Or) {
        *pos += 1;
        left = JsonExpr::Or(Box::new(left), Box::new(parse_and(t, pos)?));
    }
    Ok(left)
}

fn parse_and(t: &[Token], pos: &mut usize) -> Result<JsonExpr, PatternError> {
    let mut left = parse_atom(t, pos)?;
    while t.get(*pos) == Some(&Token::And) {
        *pos += 1;
        left = JsonExpr::And(Box::new(left), Box::new(parse_atom(t, pos)?));
    }
    Ok(left)
}

fn parse_atom(t: &[Token], pos: &mut usize) -> Result<JsonExpr, PatternError> {
    let bad = |at: usize| PatternError(format!("unexpected {:?}", t.get(at)));
    match t.get(*pos) {
        Some(Token::Open) => {
            *pos += 1;
            let e = parse_or(t, pos)?;
            if t.get(*pos) != Some(&Token::Close) {
                return Err(bad(*pos));
            }
            *pos += 1;
            Ok(e)
        }
        Some(Token::Path(path)) => {
            let path = path.clone();
            *pos += 1;
            match (t.get(*pos), t.get(*pos + 1)) {
                (Some(Token::Exists), _) => {
                    *pos += 1;
                    Ok(JsonExpr::Exists(path, true))
                }
                (Some(Token::Not), Some(Token::Exists)) => {
                    *pos += 2;
                    Ok(JsonExpr::Exists(path, false))
                }
                (Some(Token::Op(op)), Some(Token::Value(v))) => {
                    let (op, value) = (*op, v.clone());
                    *pos += 2;
                    Ok(JsonExpr::Compare { path, op, value })
                }
                _ => Err(bad(*pos)),
            }
        }
        _ => Err(bad(*pos)),
    }
}

/// `*` matches any run of characters.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl JsonExpr {
    fn holds(&self, doc: &serde_json::Value) -> bool {
        match self {
            Self::And(a, b) => a.holds(doc) && b.holds(doc),
            Self::Or(a, b) => a.holds(doc) || b.holds(doc),
            Self::Exists(path, wanted) => lookup(doc, path).is_some() == *wanted,
            Self::Compare { path, op, value } => {
                let Some(found) = lookup(doc, path) else {
                    return false;
                };
                compare(found, *op, value)
            }
        }
    }
}

fn lookup<'a>(doc: &'a serde_json::Value, path: &[String]) -> Option<&'a serde_json::Value> {
    path.iter()
        .try_fold(doc, |v, key| match key.strip_suffix(']') {
            Some(indexed) => {
                let (name, index) = indexed.split_once('[')?;
                let v = if name.is_empty() { v } else { v.get(name)? };
                v.get(index.parse::<usize>().ok()?)
            }
            None => v.get(key),
        })
}

fn compare(found: &serde_json::Value, op: CompareOp, value: &Value) -> bool {
    use serde_json::Value as J;
    match (found, value) {
        (J::Number(n), Value::Number(v)) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            match op {
                CompareOp::Eq => n == *v,
                CompareOp::Ne => n != *v,
                CompareOp::Lt => n < *v,
                CompareOp::Le => n <= *v,
                CompareOp::Gt => n > *v,
                CompareOp::Ge => n >= *v,
            }
        }
        (J::String(s), Value::Text(p)) => match op {
            CompareOp::Eq => wildcard(p, s),
            CompareOp::Ne => !wildcard(p, s),
            _ => false,
        },
        (J::Bool(b), Value::Bool(v)) => match op {
            CompareOp::Eq => b == v,
            CompareOp::Ne => b != v,
            _ => false,
        },
        (J::Null, Value::Null) => op == CompareOp::Eq,
        (_, Value::Null) => op == CompareOp::Ne,
        _ => op == CompareOp::Ne,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, message: &str) -> bool {
        FilterPattern::parse(pattern).unwrap().matches(message)
    }

    #[test]
    fn terms_phrases_alternatives_exclusions() {
        assert!(m("", "anything"));
        assert!(m("ERROR", "an ERROR here"));
        assert!(!m("ERROR", "an error here"), "case-sensitive");
        assert!(m("ERROR timeout", "timeout: ERROR"));
        assert!(!m("ERROR timeout", "ERROR only"));
        assert!(m("\"disk full\"", "the disk full again"));
        assert!(!m("\"disk full\"", "full disk"));
        assert!(m("?ERROR ?WARN", "WARN: low"));
        assert!(!m("?ERROR ?WARN", "INFO"));
        assert!(m("ERROR -retry", "ERROR final"));
        assert!(!m("ERROR -retry", "ERROR will retry"));
        assert_eq!(
            FilterPattern::parse("ab longest x")
                .unwrap()
                .required_term(),
            Some("longest")
        );
        assert!(FilterPattern::parse("\"open").is_err());
    }

    #[test]
    fn json_selectors() {
        let line = r#"{"level": "ERROR", "latency": 250, "user": {"id": "u-7"}, "ok": false, "tags": ["a", "b"]}"#;
        assert!(m(r#"{ $.level = "ERROR" }"#, line));
        assert!(!m(r#"{ $.level = "INFO" }"#, line));
        assert!(m(r#"{ $.level != "INFO" }"#, line));
        assert!(m("{ $.latency > 200 }", line));
        assert!(!m("{ $.latency >= 251 }", line));
        assert!(m(r#"{ $.user.id = "u-*" }"#, line));
        assert!(m(
            r#"{ ($.level = "WARN" || $.latency = 250) && $.ok = false }"#,
            line
        ));
        assert!(m("{ $.user EXISTS }", line));
        assert!(m("{ $.missing NOT EXISTS }", line));
        assert!(m(r#"{ $.tags[1] = "b" }"#, line));
        assert!(!m(r#"{ $.level = "ERROR" }"#, "ERROR not json"));
        assert!(FilterPattern::parse("{ $.level = }").is_err());
        assert!(FilterPattern::parse("{ $.level = \"x\"").is_err());
    }
}
