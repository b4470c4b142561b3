//! Serving a request to a function URL: the URL's lookup, its authorization (`AuthType` and the
//! resource policy, as AWS decides them), CORS preflights, the invocation and its answer.

use std::sync::Arc;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use lambox_core::LambdaError;
use lambox_core::policy::allows_url;
use lambox_store::UrlTarget;

use super::Addressed;
use super::cors::Cors;
use super::event::{self, IamCaller, UrlAnswer, UrlRequest};
use crate::api::AppState;
use crate::auth::sigv4;
use crate::error::ApiError;
use crate::invoke::{Answer, InvokeError, InvokeRequest};
use crate::routing::Query;

/// Largest request body a URL takes (AWS's synchronous payload limit).
const MAX_REQUEST_BODY: u64 = 6_291_456;

/// AWS's body for a request its policy does not allow.
const FORBIDDEN: &str = r#"{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}"#;

/// The client's address, set on each request by the HTTP front door.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// An error answer of a URL: JSON `body`, AWS's `x-amzn-ErrorType`.
fn refusal(status: StatusCode, error_type: &'static str, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("x-amzn-ErrorType", HeaderValue::from_static(error_type));
    r
}

fn forbidden() -> Response {
    refusal(
        StatusCode::FORBIDDEN,
        "AccessDeniedException",
        FORBIDDEN.to_owned(),
    )
}

fn message(m: &str) -> String {
    serde_json::json!({ "Message": m }).to_string()
}

/// Serves a request to the URL it addresses. `request_id` is the invocation's id.
pub(crate) async fn serve(
    state: &Arc<AppState>,
    parts: Parts,
    body: Body,
    addressed: Addressed,
    request_id: &str,
) -> Response {
    let target = match state.store.url_target(&addressed.url_id).await {
        Ok(Some(t)) => t,
        // The URL of a deleted alias is refused as AWS refuses it (recorded).
        Ok(None)
            if state
                .store
                .url_retired(&addressed.url_id)
                .await
                .unwrap_or(false) =>
        {
            return forbidden();
        }
        // An id no URL has: AWS's answer reveals nothing.
        Ok(None) => {
            return refusal(
                StatusCode::FORBIDDEN,
                "AccessDeniedException",
                r#"{"Message":null}"#.to_owned(),
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot look up a function URL");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                message("lambox could not read its state"),
            );
        }
    };
    let cors: Option<Cors> = target
        .url
        .cors
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok());
    let origin = parts
        .headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // A preflight of a URL with CORS is the service's to answer; the function never sees it.
    if parts.method == "OPTIONS"
        && let (Some(cors), Some(origin)) = (&cors, &origin)
        && parts.headers.contains_key("access-control-request-method")
    {
        let mut r = Response::new(Body::empty());
        add_headers(&mut r, cors.preflight(origin));
        return r;
    }
    let idle = std::time::Duration::from_secs(state.config.http.read_timeout_seconds.max(1));
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes =
        match crate::api::read_body(body, MAX_REQUEST_BODY, declared, "InvokeFunction", idle).await
        {
            Ok(b) => b,
            Err(ApiError::Lambda(LambdaError::RequestEntityTooLarge(m))) => {
                return refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLargeException",
                    message(&m),
                );
            }
            Err(e) => return axum::response::IntoResponse::into_response(e),
        };
    let iam = match authorize(state, &parts, &bytes, &target) {
        Ok(iam) => iam,
        Err(r) => return *r,
    };
    // The invocation runs to its end in a task of its own, even if the client goes away: the
    // sandbox must go back to the pool in a known state.
    let confined = addressed.clone();
    let (task_state, id) = (state.clone(), request_id.to_owned());
    let run = tokio::spawn(async move {
        invoke(&task_state, &parts, &bytes, &target, &addressed, iam, &id).await
    });
    let mut response = match run.await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "a function URL request failed");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                message("the request failed"),
            );
        }
    };
    if let (Some(cors), Some(origin)) = (&cors, &origin) {
        add_headers(&mut response, cors.on_response(origin));
    }
    super::confine::confine(&mut response, &confined);
    response
}

/// Whether the caller may invoke the URL (else the answer), and who it is for `AWS_IAM` URLs.
/// The policy is checked after the function is resolved, in [`invoke`].
fn authorize(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
    target: &UrlTarget,
) -> Result<Option<IamCaller>, Box<Response>> {
    if target.url.auth_type != "AWS_IAM" {
        return Ok(None);
    }
    let Some(authorization) = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    else {
        return Err(Box::new(forbidden()));
    };
    let Some((access_key, _)) = sigv4::credential_scope(authorization) else {
        return Err(Box::new(forbidden()));
    };
    let query = Query::parse(parts.uri.query());
    let caller = state
        .auth
        .caller(parts, &query, body, "lambda")
        .map_err(|e| {
            tracing::debug!(error = %e, "a function URL request's signature was refused");
            Box::new(forbidden())
        })?;
    Ok(Some(IamCaller {
        access_key: access_key.to_owned(),
        account_id: caller.account.clone(),
        caller_id: access_key.to_owned(),
        cognito_identity: None,
        principal_org_id: None,
        user_arn: format!("arn:aws:iam::{}:root", caller.account),
        user_id: access_key.to_owned(),
    }))
}

async fn invoke(
    state: &AppState,
    parts: &Parts,
    body: &[u8],
    target: &UrlTarget,
    addressed: &Addressed,
    iam: Option<IamCaller>,
    request_id: &str,
) -> Response {
    let url = &target.url;
    let qualifier = (!url.qualifier.is_empty()).then_some(url.qualifier.as_str());
    let resolved = match state
        .invoker
        .resolve(&target.scope, &url.function_name, qualifier)
        .await
    {
        Ok(Some(r)) => r,
        // The URL outlived what it named (it cannot, but a read may race a delete).
        Ok(None) => return forbidden(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot resolve a function URL's function");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                message("lambox could not read its state"),
            );
        }
    };
    // The owner's own signed requests need no resource policy (lambox has no identity
    // policies, which would grant them on AWS); everyone else needs a statement.
    let caller = iam.as_ref().map(|i| i.account_id.clone());
    let own = caller.as_deref() == Some(target.scope.account.as_str());
    if !own
        && !allows_url(
            &resolved.policy,
            caller.as_deref(),
            &target.scope.region,
            &url.auth_type,
        )
    {
        return forbidden();
    }
    let headers = request_headers(parts);
    let source_ip = parts
        .extensions
        .get::<PeerAddr>()
        .map_or_else(|| "127.0.0.1".to_owned(), |p| p.0.ip().to_string());
    let host = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let domain = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let mut headers = headers;
    headers.push(("x-forwarded-for".into(), source_ip.clone()));
    headers.push(("x-forwarded-proto".into(), "http".into()));
    if let Some((_, port)) = host.rsplit_once(':') {
        headers.push(("x-forwarded-port".into(), port.to_owned()));
    }
    headers.push(("x-amzn-trace-id".into(), trace_id()));
    let now_ms = lambox_core::time::now_millis();
    let payload = event::event(&UrlRequest {
        method: parts.method.as_str(),
        raw_path: &addressed.raw_path,
        raw_query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        body,
        source_ip: &source_ip,
        url_id: &url.url_id,
        domain,
        account_id: caller.as_deref().unwrap_or("anonymous"),
        request_id,
        now_ms,
        iam,
    });
    // The event is the invocation's payload, held to Invoke's limit (base64 and JSON escaping
    // make it larger than the body).
    if payload.len() as u64 > MAX_REQUEST_BODY {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            message(&format!(
                "Request must be smaller than {MAX_REQUEST_BODY} bytes for the InvokeFunction operation"
            )),
        );
    }
    let request = InvokeRequest {
        request_id: request_id.to_owned(),
        payload: payload.into(),
        client_context: None,
        tail: false,
        invoked_arn: lambox_core::arn::function_arn(
            &target.scope.region,
            &target.scope.account,
            &url.function_name,
            qualifier,
        ),
    };
    let streamed = url.invoke_mode.as_deref() == Some("RESPONSE_STREAM");
    let limit = streamed.then_some(state.config.limits.max_streamed_response_bytes);
    match state
        .invoker
        .invoke_answer(&resolved, &request, limit)
        .await
    {
        Ok(Answer::Whole(result)) if result.function_error => {
            answer_response(event::function_failed())
        }
        // A function that does not stream, behind a streaming URL: its result is the body, as
        // it is (AWS does not read it as an HTTP response there).
        Ok(Answer::Whole(result)) if streamed => answer_response(UrlAnswer {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            cookies: Vec::new(),
            body: result.body.to_vec(),
        }),
        Ok(Answer::Whole(result)) => answer_response(event::answer(&result.body)),
        Ok(Answer::Stream(stream)) => super::streamed::respond(stream).await,
        Err(
            InvokeError::ReservedConcurrency
            | InvokeError::Saturated
            | InvokeError::CapacityExhausted,
        ) => refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            message("Rate Exceeded."),
        ),
        Err(e) => {
            tracing::warn!(error = %e, url = %url.url_id, "a function URL's invocation did not run");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                message(&format!("lambox could not run the function: {e}")),
            )
        }
    }
}

/// The request's headers as the event carries them: lower-cased, in order, without the
/// connection's own.
fn request_headers(parts: &Parts) -> Vec<(String, String)> {
    parts
        .headers
        .iter()
        .filter(|(n, _)| {
            !matches!(
                n.as_str(),
                "connection" | "keep-alive" | "transfer-encoding" | "upgrade" | "te"
            )
        })
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// An X-Ray trace id, `Root=1-<epoch seconds, hex>-<96 random bits, hex>`.
fn trace_id() -> String {
    let seconds = lambox_core::time::now_millis() / 1000;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{seconds:08x}-{}", &random[..24])
}

fn add_headers(r: &mut Response, headers: Vec<(&'static str, String)>) {
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().insert(name, v);
        }
    }
}

/// The HTTP response of a mapped answer. Headers that are not valid HTTP, and those of the
/// connection (the length is the body's), are left out.
pub(super) fn answer_response(a: UrlAnswer) -> Response {
    let mut r = Response::new(Body::from(a.body));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let h = r.headers_mut();
    for (name, value) in a.headers {
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
    for cookie in a.cookies {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append("set-cookie", v);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_valid_headers_and_every_cookie() {
        let r = answer_response(UrlAnswer {
            status: 418,
            headers: vec![
                ("x-ok".into(), "1".into()),
                ("bad name".into(), "x".into()),
                ("content-length".into(), "999".into()),
            ],
            cookies: vec!["a=1".into(), "b=2; Path=/".into()],
            body: b"teapot".to_vec(),
        });
        assert_eq!(r.status(), 418);
        assert_eq!(r.headers()["x-ok"], "1");
        assert!(r.headers().get("content-length").is_none_or(|v| v == "6"));
        let cookies: Vec<_> = r.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2; Path=/"]);
    }

    #[test]
    fn trace_ids_have_xrays_shape() {
        let t = trace_id();
        let parts: Vec<_> = t.strip_prefix("Root=1-").unwrap().split('-').collect();
        assert_eq!(parts[0].len(), 8);
        assert_eq!(parts[1].len(), 24);
        assert!(
            parts
                .iter()
                .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }
}
