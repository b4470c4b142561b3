//! Function URLs: the HTTP endpoints of functions and aliases (`CreateFunctionUrlConfig`).
//!
//! A URL is addressed either by its host (`<url-id>.lambda-url.<region>.<anything>`, as on AWS,
//! which browsers and curl resolve to loopback below `localhost`) or by a path prefix on
//! lambox's own port (`/lambda-url/<url-id>/…`, which needs no name resolution at all, for
//! clients whose resolver does not know `*.localhost`, such as glibc's). A configuration's
//! `FunctionUrl` is the host form unless `urls.template` says otherwise; both always work.
//!
//! `cors` and `event` are pure logic (CORS answers; the payload 2.0 event and the mapping of a
//! result to an HTTP answer); `serve` is the I/O: lookup, authorization, invocation.

pub mod confine;
pub mod cors;
pub mod event;
mod serve;
pub mod streamed;

use axum::http::header;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

pub use serve::PeerAddr;
pub(crate) use serve::serve;

use crate::config::Config;

/// The path prefix of path-style URLs.
pub const PATH_PREFIX: &str = "/lambda-url/";

/// How function URLs are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UrlsConfig {
    /// The `FunctionUrl` of a configuration, with `{id}` (the URL's id), `{region}`, `{port}`
    /// (the port of lambox's own URL) and `{lambox}` (lambox's own URL, `public_url`) filled
    /// in; empty: [`DEFAULT_TEMPLATE`]. `{lambox}/lambda-url/{id}/` gives path-style URLs.
    pub template: String,
}

/// The `FunctionUrl` shown when `urls.template` is empty: AWS's host form below `localhost`.
pub const DEFAULT_TEMPLATE: &str = "http://{id}.lambda-url.{region}.localhost:{port}/";

/// The URL of the function URL `url_id` in `region`.
pub fn url_of(config: &Config, url_id: &str, region: &str) -> String {
    let template = if config.urls.template.is_empty() {
        DEFAULT_TEMPLATE
    } else {
        config.urls.template.as_str()
    };
    let lambox = config.lambox_url();
    let port = lambox
        .rsplit_once(':')
        .map(|(_, p)| p.trim_end_matches('/'))
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("80");
    let mut url = template
        .replace("{id}", url_id)
        .replace("{region}", region)
        .replace("{port}", port)
        .replace("{lambox}", &lambox);
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

/// Whether `s` has the shape of a URL id (32 lower-case letters and digits).
fn is_url_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A request to a function URL: which, and the path below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressed {
    /// The URL's id.
    pub url_id: String,
    /// The path below the URL, as sent (`/` at least).
    pub raw_path: String,
    /// Addressed by the `/lambda-url/<id>` path on lambox's own origin, not by host.
    pub by_path: bool,
}

/// The URL a request is for, if it is for one: by its `Host` (`<id>.lambda-url.…`) or by its
/// path (`/lambda-url/<id>/…`). Pure.
pub fn addressed(host: Option<&str>, path: &str) -> Option<Addressed> {
    if let Some(host) = host {
        let mut labels = host.split('.');
        if let (Some(id), Some("lambda-url")) = (labels.next(), labels.next())
            && is_url_id(id)
        {
            return Some(Addressed {
                url_id: id.to_owned(),
                raw_path: if path.is_empty() { "/" } else { path }.to_owned(),
                by_path: false,
            });
        }
    }
    let rest = path.strip_prefix(PATH_PREFIX)?;
    let (id, below) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !is_url_id(id) {
        return None;
    }
    Some(Addressed {
        url_id: id.to_owned(),
        raw_path: if below.is_empty() { "/" } else { below }.to_owned(),
        by_path: true,
    })
}

/// The URL a request is for, if it is for one.
pub(crate) fn addressed_by(parts: &Parts) -> Option<Addressed> {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.host());
    addressed(host, parts.uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdefghijklmnopqrstuv";

    #[test]
    fn urls_are_found_by_host_or_by_path() {
        let host = format!("{ID}.lambda-url.us-east-1.localhost:9001");
        assert_eq!(
            addressed(Some(&host), "/a/b"),
            Some(Addressed {
                url_id: ID.into(),
                raw_path: "/a/b".into(),
                by_path: false,
            })
        );
        assert_eq!(
            addressed(Some("127.0.0.1:9001"), &format!("/lambda-url/{ID}/x%20y")),
            Some(Addressed {
                url_id: ID.into(),
                raw_path: "/x%20y".into(),
                by_path: true,
            })
        );
        assert_eq!(
            addressed(None, &format!("/lambda-url/{ID}")).map(|a| a.raw_path),
            Some("/".to_owned())
        );
    }

    #[test]
    fn other_requests_are_not_urls() {
        assert_eq!(
            addressed(Some("127.0.0.1:9001"), "/2015-03-31/functions/"),
            None
        );
        // Not an id: wrong length, upper case, or glued to the next segment.
        assert_eq!(addressed(None, "/lambda-url/abc/"), None);
        assert_eq!(
            addressed(None, &format!("/lambda-url/{}/", ID.to_uppercase())),
            None
        );
        assert_eq!(addressed(None, &format!("/lambda-url/{ID}x/")), None);
        assert_eq!(addressed(Some("lambda-url.localhost"), "/"), None);
        assert_eq!(addressed(Some(&format!("{ID}.other.localhost")), "/"), None);
    }

    #[test]
    fn the_template_names_the_url() {
        let mut config = Config {
            listen: "127.0.0.1:9001".parse().unwrap(),
            ..Config::default()
        };
        assert_eq!(
            url_of(&config, ID, "eu-west-1"),
            format!("http://{ID}.lambda-url.eu-west-1.localhost:9001/")
        );
        config.urls.template = "{lambox}/lambda-url/{id}".into();
        assert_eq!(
            url_of(&config, ID, "eu-west-1"),
            format!("http://127.0.0.1:9001/lambda-url/{ID}/")
        );
    }
}
