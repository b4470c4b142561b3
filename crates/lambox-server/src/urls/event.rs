//! The event a function URL hands its function (payload format 2.0), built from the HTTP
//! request as AWS builds it, and the mapping of a buffered function's result back to an HTTP
//! answer. Pure logic.

use base64::Engine;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::Value;

/// The caller of an `AWS_IAM` URL, as the event's `requestContext.authorizer.iam` names it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IamCaller {
    /// The access key the request was signed with.
    pub access_key: String,
    /// Its account.
    pub account_id: String,
    /// The caller's id (the access key, as lambox has no IAM users).
    pub caller_id: String,
    /// Always `null`.
    pub cognito_identity: Option<String>,
    /// Always `null`.
    pub principal_org_id: Option<String>,
    /// `arn:aws:iam::<account>:root`.
    pub user_arn: String,
    /// The caller's id.
    pub user_id: String,
}

/// An HTTP request to a function URL.
#[derive(Debug, Clone)]
pub struct UrlRequest<'a> {
    /// `GET`, `POST`, ….
    pub method: &'a str,
    /// The path as sent (percent-encoded), below the URL.
    pub raw_path: &'a str,
    /// The query as sent, without `?`.
    pub raw_query: &'a str,
    /// The headers, in order, names lower-cased (a name may repeat).
    pub headers: &'a [(String, String)],
    /// The body.
    pub body: &'a [u8],
    /// The caller's address.
    pub source_ip: &'a str,
    /// The URL's id.
    pub url_id: &'a str,
    /// The host the request named.
    pub domain: &'a str,
    /// `anonymous` for `NONE` URLs, the caller's account for `AWS_IAM` ones.
    pub account_id: &'a str,
    /// The invocation's request id.
    pub request_id: &'a str,
    /// Now, in epoch milliseconds.
    pub now_ms: i64,
    /// The caller of an `AWS_IAM` URL.
    pub iam: Option<IamCaller>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Http<'a> {
    method: &'a str,
    path: String,
    protocol: &'static str,
    source_ip: &'a str,
    user_agent: String,
}

#[derive(Serialize)]
struct Authorizer {
    iam: IamCaller,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext<'a> {
    account_id: &'a str,
    api_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorizer: Option<Authorizer>,
    domain_name: &'a str,
    domain_prefix: &'a str,
    http: Http<'a>,
    request_id: &'a str,
    route_key: &'static str,
    stage: &'static str,
    time: String,
    time_epoch: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    version: &'static str,
    route_key: &'static str,
    raw_path: &'a str,
    raw_query_string: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<Vec<String>>,
    headers: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_string_parameters: Option<serde_json::Map<String, Value>>,
    request_context: RequestContext<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    is_base64_encoded: bool,
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Whether a body of this content type reaches the function as text (else base64).
fn is_text(content_type: Option<&str>) -> bool {
    let Some(t) = content_type else {
        return false;
    };
    let t = t
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    t.starts_with("text/") || t == "application/json" || t.ends_with("+json")
}

/// `12/Mar/2020:19:03:58 +0000`.
fn clf_time(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // `2020-03-12T19:03:58.000+0000`
    let t = lambox_core::time::format_timestamp(ms);
    let month = t[5..7].parse::<usize>().unwrap_or(1).clamp(1, 12);
    format!(
        "{}/{}/{}:{} +0000",
        &t[8..10],
        MONTHS[month - 1],
        &t[0..4],
        &t[11..19]
    )
}

/// The payload 2.0 event of a request.
pub fn event(r: &UrlRequest<'_>) -> Vec<u8> {
    let mut headers = serde_json::Map::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in r.headers {
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        }
        match headers.get_mut(name) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(value);
            }
            _ => {
                headers.insert(name.clone(), Value::String(value.clone()));
            }
        }
    }
    let mut query = serde_json::Map::new();
    for pair in r.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match query.get_mut(&k) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }
    let header = |n: &str| headers.get(n).and_then(Value::as_str).map(str::to_owned);
    let (body, is_base64_encoded) = if r.body.is_empty() {
        (None, false)
    } else if is_text(header("content-type").as_deref()) {
        (Some(String::from_utf8_lossy(r.body).into_owned()), false)
    } else {
        (
            Some(base64::engine::general_purpose::STANDARD.encode(r.body)),
            true,
        )
    };
    let user_agent = header("user-agent").unwrap_or_default();
    let e = Event {
        version: "2.0",
        route_key: "$default",
        raw_path: r.raw_path,
        raw_query_string: r.raw_query,
        cookies: (!cookies.is_empty()).then_some(cookies),
        query_string_parameters: (!query.is_empty()).then_some(query),
        request_context: RequestContext {
            account_id: r.account_id,
            api_id: r.url_id,
            authorizer: r.iam.clone().map(|iam| Authorizer { iam }),
            domain_name: r.domain,
            domain_prefix: r.url_id,
            http: Http {
                method: r.method,
                path: decode(r.raw_path),
                protocol: "HTTP/1.1",
                source_ip: r.source_ip,
                user_agent,
            },
            request_id: r.request_id,
            route_key: "$default",
            stage: "$default",
            time: clf_time(r.now_ms),
            time_epoch: r.now_ms,
        },
        headers,
        body,
        is_base64_encoded,
    };
    serde_json::to_vec(&e).expect("an event serializes")
}

/// An HTTP answer of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlAnswer {
    /// The status.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// `Set-Cookie` values.
    pub cookies: Vec<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// AWS's answer when the function failed (an error, a timeout): 502, `Internal Server Error`.
pub fn function_failed() -> UrlAnswer {
    UrlAnswer {
        status: 502,
        headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
        cookies: Vec::new(),
        body: b"Internal Server Error".to_vec(),
    }
}

/// The answer of a buffered function's result, as AWS maps it: an object with `statusCode` is
/// an HTTP response (`headers`, `cookies`, `body`, `isBase64Encoded`); anything else is a 200
/// with the result as compact JSON (a string as itself).
pub fn answer(result: &[u8]) -> UrlAnswer {
    let json_type = || vec![("content-type".to_owned(), "application/json".to_owned())];
    let Ok(value) = serde_json::from_slice::<Value>(result) else {
        return UrlAnswer {
            status: 200,
            headers: json_type(),
            cookies: Vec::new(),
            body: result.to_vec(),
        };
    };
    let status = value.get("statusCode").and_then(|s| match s {
        Value::Number(n) => n.as_u64(),
        Value::String(t) => t.parse().ok(),
        _ => None,
    });
    let Some(status) = status.filter(|s| (100..=599).contains(s)) else {
        let body = match &value {
            Value::String(s) => s.clone().into_bytes(),
            other => serde_json::to_vec(other).expect("json serializes"),
        };
        return UrlAnswer {
            status: 200,
            headers: json_type(),
            cookies: Vec::new(),
            body,
        };
    };
    let mut headers: Vec<(String, String)> = value
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.to_ascii_lowercase(), v)
                })
                .collect()
        })
        .unwrap_or_default();
    if !headers.iter().any(|(k, _)| k == "content-type") {
        headers.extend(json_type());
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
    let base64 = value.get("isBase64Encoded") == Some(&Value::Bool(true));
    let body = match value.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if base64 => base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .unwrap_or_else(|_| s.clone().into_bytes()),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => serde_json::to_vec(other).expect("json serializes"),
    };
    UrlAnswer {
        status: u16::try_from(status).unwrap_or(200),
        headers,
        cookies,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(headers: &'a [(String, String)], body: &'a [u8]) -> UrlRequest<'a> {
        UrlRequest {
            method: "POST",
            raw_path: "/items/a%20b",
            raw_query: "x=1&x=%2Fy&flag",
            headers,
            body,
            source_ip: "127.0.0.1",
            url_id: "abc",
            domain: "abc.lambda-url.us-east-1.localhost",
            account_id: "anonymous",
            request_id: "r-1",
            now_ms: 1_583_348_638_390,
            iam: None,
        }
    }

    #[test]
    fn builds_payload_2_0() {
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-multi".to_owned(), "a".to_owned()),
            ("x-multi".to_owned(), "b".to_owned()),
            ("cookie".to_owned(), "c1=v1; c2=v2".to_owned()),
            ("user-agent".to_owned(), "curl/8".to_owned()),
        ];
        let e: Value = serde_json::from_slice(&event(&request(&headers, br#"{"a":1}"#))).unwrap();
        assert_eq!(e["version"], "2.0");
        assert_eq!(e["rawPath"], "/items/a%20b");
        assert_eq!(e["requestContext"]["http"]["path"], "/items/a b");
        assert_eq!(e["rawQueryString"], "x=1&x=%2Fy&flag");
        assert_eq!(e["queryStringParameters"]["x"], "1,/y");
        assert_eq!(e["queryStringParameters"]["flag"], "");
        assert_eq!(e["headers"]["x-multi"], "a,b");
        assert_eq!(e["cookies"], serde_json::json!(["c1=v1", "c2=v2"]));
        assert_eq!(e["body"], r#"{"a":1}"#);
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["requestContext"]["time"], "04/Mar/2020:19:03:58 +0000");
        assert_eq!(e["requestContext"]["timeEpoch"], 1_583_348_638_390_i64);
        assert_eq!(e["requestContext"]["http"]["userAgent"], "curl/8");
        assert!(e["requestContext"].get("authorizer").is_none());
        let binary: Value = serde_json::from_slice(&event(&request(&[], b"\x00\x01"))).unwrap();
        assert_eq!(binary["isBase64Encoded"], true);
        assert_eq!(binary["body"], "AAE=");
        let empty: Value = serde_json::from_slice(&event(&request(&[], b""))).unwrap();
        assert!(empty.get("body").is_none() && empty["isBase64Encoded"] == false);
    }

    #[test]
    fn maps_results_as_aws_does() {
        let bare = answer(br#"{"hello": "world"}"#);
        assert_eq!(
            (bare.status, bare.body.as_slice()),
            (200, &br#"{"hello":"world"}"#[..])
        );
        assert_eq!(answer(br#""hello""#).body, b"hello");
        assert_eq!(answer(b"3").body, b"3");
        let http = answer(
            br#"{"statusCode": "418", "headers": {"My-Header": "v"}, "cookies": ["a=1", "b=2"], "body": "teapot"}"#,
        );
        assert_eq!(http.status, 418);
        assert!(
            http.headers
                .contains(&("my-header".to_owned(), "v".to_owned()))
        );
        assert!(
            http.headers
                .contains(&("content-type".to_owned(), "application/json".to_owned()))
        );
        assert_eq!(http.cookies, ["a=1", "b=2"]);
        assert_eq!(http.body, b"teapot");
        let binary = answer(br#"{"statusCode": 200, "body": "AAE=", "isBase64Encoded": true, "headers": {"content-type": "image/png"}}"#);
        assert_eq!(binary.body, b"\x00\x01");
        assert_eq!(
            binary.headers,
            [("content-type".to_owned(), "image/png".to_owned())]
        );
        assert_eq!(function_failed().status, 502);
    }
}
