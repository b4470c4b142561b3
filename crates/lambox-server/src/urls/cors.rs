//! CORS as function URLs apply it: the service answers a preflight from the URL's `Cors`
//! configuration (the function is not invoked), and adds the configured headers to every answer
//! to an origin it allows. Pure logic.

use serde::{Deserialize, Serialize};

/// `Cors` of a function URL, as given and answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cors {
    /// `Access-Control-Allow-Credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// `Access-Control-Allow-Headers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    /// `Access-Control-Allow-Methods`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    /// The origins allowed (`*` for any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    /// `Access-Control-Expose-Headers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    /// `Access-Control-Max-Age`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
}

impl Cors {
    /// The `Access-Control-Allow-Origin` for a request from `origin`: `*` when any origin is
    /// allowed (the origin itself when credentials are), the origin when it is listed (exactly:
    /// scheme, host and port), else none.
    fn allowed_origin(&self, origin: &str) -> Option<String> {
        let origins = self.allow_origins.as_deref().unwrap_or_default();
        let credentials = self.allow_credentials == Some(true);
        if origins.iter().any(|o| o == "*") {
            return Some(if credentials { origin } else { "*" }.to_owned());
        }
        origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then(|| origin.to_owned())
    }

    /// The headers of the answer to a preflight from `origin` (the service's own 200).
    pub fn preflight(&self, origin: &str) -> Vec<(&'static str, String)> {
        let Some(allowed) = self.allowed_origin(origin) else {
            return Vec::new();
        };
        let mut h = vec![("access-control-allow-origin", allowed)];
        let joined =
            |v: &Option<Vec<String>>| v.as_ref().filter(|l| !l.is_empty()).map(|l| l.join(","));
        if let Some(m) = joined(&self.allow_methods) {
            h.push(("access-control-allow-methods", m));
        }
        if let Some(a) = joined(&self.allow_headers) {
            h.push(("access-control-allow-headers", a));
        }
        if let Some(age) = self.max_age.filter(|a| *a > 0) {
            h.push(("access-control-max-age", age.to_string()));
        }
        if self.allow_credentials == Some(true) {
            h.push(("access-control-allow-credentials", "true".to_owned()));
        }
        if h[0].1 != "*" {
            h.push(("vary", "Origin".to_owned()));
        }
        h
    }

    /// The headers added to the function's answer to a request from `origin` (they replace the
    /// function's own of the same names).
    pub fn on_response(&self, origin: &str) -> Vec<(&'static str, String)> {
        let Some(allowed) = self.allowed_origin(origin) else {
            return Vec::new();
        };
        let echoed = allowed != "*";
        let mut h = vec![("access-control-allow-origin", allowed)];
        if let Some(e) = self.expose_headers.as_ref().filter(|l| !l.is_empty()) {
            h.push(("access-control-expose-headers", e.join(",")));
        }
        if self.allow_credentials == Some(true) {
            h.push(("access-control-allow-credentials", "true".to_owned()));
        }
        if echoed {
            h.push(("vary", "Origin".to_owned()));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors {
            allow_origins: Some(origins.iter().map(|o| (*o).to_owned()).collect()),
            allow_methods: Some(vec!["GET".into(), "POST".into()]),
            allow_headers: Some(vec!["content-type".into()]),
            expose_headers: Some(vec!["x-trace".into()]),
            max_age: Some(300),
            allow_credentials: None,
        }
    }

    #[test]
    fn preflights_and_responses() {
        let c = cors(&["http://app.localhost:8000"]);
        let pre = c.preflight("http://app.localhost:8000");
        assert!(pre.contains(&(
            "access-control-allow-origin",
            "http://app.localhost:8000".into()
        )));
        assert!(pre.contains(&("access-control-allow-methods", "GET,POST".into())));
        assert!(pre.contains(&("access-control-max-age", "300".into())));
        assert!(
            c.preflight("http://evil.localhost").is_empty(),
            "not a listed origin"
        );
        let resp = c.on_response("http://app.localhost:8000");
        assert!(resp.contains(&("access-control-expose-headers", "x-trace".into())));
        let any = cors(&["*"]);
        assert_eq!(any.on_response("http://x")[0].1, "*");
        let with_credentials = Cors {
            allow_credentials: Some(true),
            ..any
        };
        assert_eq!(with_credentials.on_response("http://x")[0].1, "http://x");
    }
}
