//! Routing and the wire format of errors: unknown operations, request ids, message casing.

use crate::support::TestApp;

#[tokio::test]
async fn an_unknown_operation_is_aws_s_404() {
    let t = TestApp::new().await;
    let a = t
        .call("111111111111", "PATCH", "/2015-03-31/functions/f", b"")
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.error_type(), "UnknownOperationException");
    assert!(
        a.header("x-amzn-RequestId")
            .is_some_and(|id| id.len() == 36)
    );
}

#[tokio::test]
async fn every_answer_carries_a_fresh_request_id() {
    let t = TestApp::new().await;
    let one = t
        .call("111111111111", "GET", "/2015-03-31/functions", b"")
        .await;
    let two = t
        .call("111111111111", "GET", "/2015-03-31/functions", b"")
        .await;
    assert_eq!((one.status, two.status), (200, 200));
    assert_ne!(
        one.header("x-amzn-RequestId"),
        two.header("x-amzn-RequestId")
    );
}

#[tokio::test]
async fn message_keys_are_cased_per_shape() {
    let t = TestApp::new().await;
    // ResourceNotFoundException says `Message`, with `Type`.
    let missing = t
        .call("111111111111", "GET", "/2015-03-31/functions/nope", b"")
        .await;
    assert_eq!(
        (missing.status, missing.error_type()),
        (404, "ResourceNotFoundException")
    );
    let body = missing.json();
    assert_eq!(body["Type"], "User");
    assert_eq!(
        body["Message"],
        "Function not found: arn:aws:lambda:us-east-1:111111111111:function:nope"
    );
    // ValidationException says `message`, without `Type`.
    let invalid = t
        .call(
            "111111111111",
            "GET",
            "/2015-03-31/functions?MaxItems=0",
            b"",
        )
        .await;
    assert_eq!(
        (invalid.status, invalid.error_type()),
        (400, "ValidationException")
    );
    assert!(
        invalid.json()["message"]
            .as_str()
            .unwrap()
            .contains("maxItems")
    );
    assert!(invalid.json().get("Type").is_none());
}

#[tokio::test]
async fn labels_are_decoded_after_routing() {
    let t = TestApp::new().await;
    t.create("111111111111", "f").await;
    let by_arn = t
        .call(
            "111111111111",
            "GET",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A111111111111%3Afunction%3Af",
            b"",
        )
        .await;
    assert_eq!(by_arn.status, 200);
    assert_eq!(by_arn.json()["Configuration"]["FunctionName"], "f");
}

#[tokio::test]
async fn health_needs_no_signature() {
    let t = TestApp::with(|c| c.auth.strict = true).await;
    let a = t
        .send(
            axum::http::Request::get("/_lambox/health")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((a.status, &a.body[..]), (200, &b"ok"[..]));
}
