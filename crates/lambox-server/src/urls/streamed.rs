//! A function URL in `RESPONSE_STREAM` mode: the function's stream passed on as chunked HTTP as
//! it is written. A stream in the http-integration format starts with its status, headers and
//! cookies as JSON and eight NUL bytes (the "prelude", which `awslambda.HttpResponseStream.from`
//! and `lambda_runtime`'s streaming responses write); anything else is a 200 of the stream's
//! content type. A failure once bytes have gone out cuts the connection, so that the client
//! sees an answer cut short rather than a whole one.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use serde_json::Value;
use tokio::sync::mpsc;

use super::event::{self, UrlAnswer};
use crate::http::ChannelBody;
use crate::invoke::stream::{ResponseStream, StreamEvent};

/// The content type of a stream that starts with a prelude.
pub const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";
/// The most bytes a prelude may take (API Gateway's bound, which Lambda's URLs share).
pub const MAX_PRELUDE: usize = 16 * 1024;
const DELIMITER: [u8; 8] = [0; 8];

/// Where the prelude's delimiter is in the bytes seen so far: (end of the JSON, start of the
/// body). Pure.
pub fn split_prelude(buf: &[u8]) -> Option<(usize, usize)> {
    buf.windows(DELIMITER.len())
        .position(|w| w == DELIMITER)
        .map(|at| (at, at + DELIMITER.len()))
}

/// The status, headers and cookies of a prelude: `{"statusCode", "headers", "cookies"}`, a
/// header's value a string or a list of them; what is missing or malformed is left at its
/// default (200, none). Pure.
pub fn parse_prelude(json: &[u8]) -> UrlAnswer {
    let value: Value = serde_json::from_slice(json).unwrap_or(Value::Null);
    let status = value
        .get("statusCode")
        .and_then(|s| match s {
            Value::Number(n) => n.as_u64(),
            Value::String(t) => t.parse().ok(),
            _ => None,
        })
        .filter(|s| (100..=599).contains(s))
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(200);
    let mut headers = Vec::new();
    if let Some(map) = value.get("headers").and_then(Value::as_object) {
        for (name, v) in map {
            let name = name.to_ascii_lowercase();
            match v {
                Value::Array(values) => headers.extend(
                    values
                        .iter()
                        .filter_map(Value::as_str)
                        .map(|s| (name.clone(), s.to_owned())),
                ),
                Value::String(s) => headers.push((name, s.clone())),
                other => headers.push((name, other.to_string())),
            }
        }
    }
    let cookies = value
        .get("cookies")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    UrlAnswer {
        status,
        headers,
        cookies,
        body: Vec::new(),
    }
}

/// The HTTP answer of a function's stream.
pub(crate) async fn respond(mut stream: ResponseStream) -> Response {
    let integration = stream.content_type().eq_ignore_ascii_case(HTTP_INTEGRATION);
    let mut seen = BytesMut::new();
    // Read up to the first bytes of the body (past the prelude, when there is one).
    let (head, first) = loop {
        match stream.next().await {
            Some(StreamEvent::Chunk(c)) => {
                seen.extend_from_slice(&c);
                if !integration {
                    let head = UrlAnswer {
                        status: 200,
                        headers: vec![("content-type".into(), stream.content_type().to_owned())],
                        cookies: Vec::new(),
                        body: Vec::new(),
                    };
                    break (head, seen.freeze());
                }
                if let Some((json_end, body_start)) = split_prelude(&seen) {
                    let head = parse_prelude(&seen[..json_end]);
                    break (head, seen.freeze().slice(body_start..));
                }
                if seen.len() > MAX_PRELUDE {
                    tracing::debug!("a streamed URL answer's prelude did not end in time");
                    return failed();
                }
            }
            // An end before any byte: a failure is the function's, a stream without its
            // prelude is its body.
            Some(StreamEvent::End(end)) => {
                if end.error.is_some() {
                    return failed();
                }
                let mut whole = UrlAnswer {
                    status: 200,
                    headers: Vec::new(),
                    cookies: Vec::new(),
                    body: seen.to_vec(),
                };
                if !integration {
                    whole
                        .headers
                        .push(("content-type".into(), stream.content_type().to_owned()));
                }
                return super::serve::answer_response(whole);
            }
            None => return failed(),
        }
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        // A client that stops reading does not hold the sandbox past the deadline: the
        // stream is dropped, and read to its end without it.
        let deadline = stream.deadline();
        let send = |item| tokio::time::timeout_at(deadline, tx.send(item));
        if !first.is_empty() && !matches!(send(Ok(first)).await, Ok(Ok(()))) {
            return;
        }
        while let Some(event) = stream.next().await {
            let item = match event {
                StreamEvent::Chunk(c) => Ok(c),
                StreamEvent::End(end) => match end.error {
                    None => return,
                    Some(e) => Err(std::io::Error::other(
                        String::from_utf8_lossy(&e).into_owned(),
                    )),
                },
            };
            if !matches!(send(item).await, Ok(Ok(()))) {
                return;
            }
        }
    });
    let mut r = Response::new(Body::new(ChannelBody(rx)));
    *r.status_mut() = StatusCode::from_u16(head.status).unwrap_or(StatusCode::OK);
    let h = r.headers_mut();
    for (name, value) in head.headers {
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection" | "keep-alive"
        ) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.append(n, v);
        }
    }
    for cookie in head.cookies {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append("set-cookie", v);
        }
    }
    r
}

fn failed() -> Response {
    super::serve::answer_response(event::function_failed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preludes_give_status_headers_and_cookies() {
        let mut wire = br#"{"statusCode":201,"headers":{"Content-Type":"text/html","x-multi":["a","b"]},"cookies":["c=1"]}"#.to_vec();
        let json_len = wire.len();
        wire.extend_from_slice(&[0; 8]);
        wire.extend_from_slice(b"<p>hi</p>");
        assert_eq!(split_prelude(&wire), Some((json_len, json_len + 8)));
        let head = parse_prelude(&wire[..json_len]);
        assert_eq!(head.status, 201);
        assert!(
            head.headers
                .contains(&("content-type".into(), "text/html".into()))
        );
        assert!(head.headers.contains(&("x-multi".into(), "a".into())));
        assert!(head.headers.contains(&("x-multi".into(), "b".into())));
        assert_eq!(head.cookies, ["c=1"]);
        // Not yet: seven NULs are not the delimiter.
        assert_eq!(split_prelude(b"{}\0\0\0\0\0\0\0"), None);
        // Node's fixture writes `status`, which Lambda ignores: 200.
        assert_eq!(parse_prelude(br#"{"status":404}"#).status, 200);
        assert_eq!(parse_prelude(b"not json").status, 200);
    }
}
