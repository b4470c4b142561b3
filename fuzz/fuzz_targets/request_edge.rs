//! What lambox reads from a request before anything else: the route, the query string and the
//! SigV4 `Authorization` header with its date. None of it may panic on any input, and what the
//! parsers accept must be self-consistent.
//!
//! The input is lines: method, raw path, raw query, `Authorization`, `X-Amz-Date`.
#![no_main]

use lambox_server::auth::sigv4;
use lambox_server::routing::{Query, route};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let method = lines.next().unwrap_or_default();
    let path = lines.next().unwrap_or_default();
    let query = lines.next().unwrap_or_default();
    let authorization = lines.next().unwrap_or_default();
    let amz_date = lines.next().unwrap_or_default();

    if let Some(op) = route(method, path) {
        // An operation's name is one of AWS's (or lambox's own), never empty.
        assert!(!op.name().is_empty());
    }
    let q = Query::parse(Some(query));
    for (k, _) in q.pairs() {
        assert_eq!(q.get(k).is_some(), true);
    }
    let _ = sigv4::credential_scope(authorization);
    if let Ok(auth) = sigv4::parse_authorization(authorization) {
        assert!(auth.scope().ends_with("/aws4_request"));
        let headers = [("host".to_owned(), "x".to_owned())];
        let request = sigv4::SignedRequest {
            method,
            raw_path: path,
            query: q.pairs(),
            headers: &headers,
            payload_sha256: "UNSIGNED-PAYLOAD",
        };
        let canonical = sigv4::canonical_request(&request, &auth.signed_headers);
        let signature = sigv4::signature("secret", &auth, amz_date, &canonical);
        assert_eq!(signature.len(), 64);
    }
    if let Some(seconds) = sigv4::parse_amz_date(amz_date) {
        // Years 0000–9999.
        assert!((-62_167_219_200..=253_402_300_800).contains(&seconds));
    }
});
