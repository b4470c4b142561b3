//! What keeps one account's function URL from reaching into another's in a browser. On AWS each
//! URL is its own host below a public suffix (`lambda-url.<region>.on.aws`), so neither cookies
//! nor scripts cross between them; below `localhost`, and on lambox's own origin for path-style
//! URLs, lambox has to see to it: cookies are kept to the URL that set them (no `Domain`, and
//! for path-style URLs a `Path` inside the URL's prefix), and path-style answers are sandboxed
//! documents (an opaque origin, so their scripts reach other URLs only through CORS). Pure
//! logic, and the one place answers are confined.

use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::{Addressed, PATH_PREFIX};

/// The sandbox path-style answers are documents in: scripts, forms and popups work, but the
/// document's origin is its own, not lambox's.
const PATH_STYLE_CSP: &str = "sandbox allow-scripts allow-forms allow-popups allow-downloads";

/// A `Set-Cookie` value confined to its URL: without `Domain` attributes, and, when the URL is
/// addressed by path below `prefix` (`/lambda-url/<id>`), with its `Path` moved inside it.
pub fn confine_cookie(value: &str, prefix: Option<&str>) -> String {
    let mut parts = value.split(';').map(str::trim);
    let mut out = parts.next().unwrap_or_default().to_owned();
    let mut has_path = false;
    for attr in parts {
        let name = attr.split('=').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("domain") {
            continue;
        }
        out.push_str("; ");
        match (prefix, name.eq_ignore_ascii_case("path")) {
            (Some(prefix), true) => {
                has_path = true;
                let path = attr.split_once('=').map_or("/", |(_, p)| p.trim());
                let path = if path.starts_with('/') { path } else { "/" };
                out.push_str(&format!("Path={prefix}{path}"));
            }
            _ => out.push_str(attr),
        }
    }
    if let (Some(prefix), false) = (prefix, has_path) {
        out.push_str(&format!("; Path={prefix}/"));
    }
    out
}

/// Confines an answer of the URL `addressed` (see the module).
pub fn confine(response: &mut Response, addressed: &Addressed) {
    let prefix = addressed.by_path.then(|| {
        format!(
            "{}{}",
            PATH_PREFIX.trim_end_matches('/'),
            format_args!("/{}", addressed.url_id)
        )
    });
    let h = response.headers_mut();
    let cookies: Vec<String> = h
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| confine_cookie(&String::from_utf8_lossy(v.as_bytes()), prefix.as_deref()))
        .collect();
    h.remove(header::SET_COOKIE);
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    if addressed.by_path {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PATH_STYLE_CSP),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "/lambda-url/0123456789abcdefghijklmnopqrstuv";

    #[test]
    fn cookies_stay_with_their_url() {
        assert_eq!(
            confine_cookie(
                "a=1; Domain=lambda-url.us-east-1.localhost; Path=/; HttpOnly",
                None
            ),
            "a=1; Path=/; HttpOnly"
        );
        assert_eq!(
            confine_cookie("a=1; domain=.localhost; Secure", None),
            "a=1; Secure"
        );
        assert_eq!(
            confine_cookie("a=1; Path=/app; HttpOnly", Some(P)),
            format!("a=1; Path={P}/app; HttpOnly")
        );
        assert_eq!(confine_cookie("a=1", Some(P)), format!("a=1; Path={P}/"));
        assert_eq!(
            confine_cookie("a=1; Path=relative", Some(P)),
            format!("a=1; Path={P}/")
        );
    }

    #[test]
    fn path_style_answers_are_sandboxed_and_host_style_ones_are_not() {
        let addressed = |by_path| Addressed {
            url_id: "0123456789abcdefghijklmnopqrstuv".into(),
            raw_path: "/".into(),
            by_path,
        };
        let mut r = Response::new(axum::body::Body::empty());
        r.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_static("s=1; Path=/"));
        confine(&mut r, &addressed(true));
        assert_eq!(r.headers()[header::SET_COOKIE], format!("s=1; Path={P}/"));
        assert!(
            r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
        let mut r = Response::new(axum::body::Body::empty());
        confine(&mut r, &addressed(false));
        assert!(r.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
    }
}
