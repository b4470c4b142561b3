//! Strict mode: only requests signed with a configured secret, over their actual body and for
//! the `lambda` service, get through.

use axum::body::Body;
use axum::http::Request;
use lambox_core::code::lower_hex;
use lambox_server::auth::sigv4;
use sha2::{Digest, Sha256};

use crate::support::TestApp;

const DATE: &str = "20261201T120000Z";

async fn strict() -> TestApp {
    TestApp::with(|c| {
        c.auth.strict = true;
        // The signatures below are made for a fixed date.
        c.auth.max_clock_skew_seconds = u32::MAX;
        c.auth.credentials = vec![lambox_server::config::Credential {
            access_key_id: "AKIDTEST".into(),
            secret_access_key: "right".into(),
            account: Some("333333333333".into()),
        }];
    })
    .await
}

/// A request signed as AKIDTEST with `secret` for `service`, over `signed_body`, carrying
/// `sent_body`.
fn signed(
    method: &str,
    path: &str,
    secret: &str,
    service: &str,
    signed_body: &[u8],
    sent_body: &[u8],
) -> Request<Body> {
    let headers = vec![
        ("host".to_owned(), "lambox".to_owned()),
        ("x-amz-date".to_owned(), DATE.to_owned()),
    ];
    let auth = sigv4::Authorization {
        access_key_id: "AKIDTEST".into(),
        date: DATE[..8].into(),
        region: "us-east-1".into(),
        service: service.into(),
        signed_headers: vec!["host".into(), "x-amz-date".into()],
        signature: String::new(),
    };
    let hash = lower_hex(&Sha256::digest(signed_body));
    let request = sigv4::SignedRequest {
        method,
        raw_path: path,
        query: &[],
        headers: &headers,
        payload_sha256: &hash,
    };
    let canonical = sigv4::canonical_request(&request, &auth.signed_headers);
    let signature = sigv4::signature(secret, &auth, DATE, &canonical);
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "lambox")
        .header("x-amz-date", DATE)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDTEST/{}, SignedHeaders=host;x-amz-date, \
                 Signature={signature}",
                auth.scope()
            ),
        )
        .body(Body::from(sent_body.to_vec()))
        .unwrap()
}

#[tokio::test]
async fn a_valid_signature_acts_for_the_configured_account() {
    let t = strict().await;
    let a = t
        .send(signed(
            "GET",
            "/2015-03-31/functions",
            "right",
            "lambda",
            b"",
            b"",
        ))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.json());
    let zip = crate::support::zip_of(&[("h.py", b"")]);
    let body = serde_json::json!({
        "FunctionName": "signed", "Runtime": "python3.12", "Handler": "h.h",
        "Role": "arn:aws:iam::333333333333:role/r",
        "Code": {"ZipFile": crate::support::base64(&zip)},
    })
    .to_string();
    let created = t
        .send(signed(
            "POST",
            "/2015-03-31/functions",
            "right",
            "lambda",
            body.as_bytes(),
            body.as_bytes(),
        ))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.json());
    assert_eq!(
        created.json()["FunctionArn"],
        "arn:aws:lambda:us-east-1:333333333333:function:signed",
        "AKIDTEST acts for the account it is configured with"
    );
}

#[tokio::test]
async fn a_wrong_secret_another_body_or_another_service_is_refused() {
    let t = strict().await;
    let wrong = t
        .send(signed(
            "GET",
            "/2015-03-31/functions",
            "wrong",
            "lambda",
            b"",
            b"",
        ))
        .await;
    assert_eq!(
        (wrong.status, wrong.error_type()),
        (403, "InvalidSignatureException")
    );
    let body = br#"{"Description": "x"}"#;
    let swapped = t
        .send(signed(
            "PUT",
            "/2015-03-31/functions/f/configuration",
            "right",
            "lambda",
            body,
            br#"{"Timeout": 900}"#,
        ))
        .await;
    assert_eq!(
        (swapped.status, swapped.error_type()),
        (403, "InvalidSignatureException")
    );
    let logs = t
        .send(signed(
            "GET",
            "/2015-03-31/functions",
            "right",
            "logs",
            b"",
            b"",
        ))
        .await;
    assert_eq!(
        (logs.status, logs.error_type()),
        (403, "InvalidSignatureException")
    );
    let unsigned = t
        .send(
            Request::get("/2015-03-31/functions")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (unsigned.status, unsigned.error_type()),
        (403, "MissingAuthenticationTokenException")
    );
}
