//! Invocations through the pool and the push protocol, against the in-memory echo backend.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::{TestApp, as_account};

#[tokio::test]
async fn a_warm_sandbox_serves_the_second_invoke() {
    let t = TestApp::new().await;
    t.create("111111111111", "echo").await;
    for i in 0..3 {
        let payload = format!("{{\"n\": {i}}}");
        let a = t
            .call(
                "111111111111",
                "POST",
                "/2015-03-31/functions/echo/invocations",
                payload.as_bytes(),
            )
            .await;
        assert_eq!(a.status, 200);
        assert_eq!(&a.body[..], payload.as_bytes());
        assert_eq!(a.header("x-amz-executed-version"), Some("$LATEST"));
        assert!(a.header("x-amz-function-error").is_none());
    }
    assert_eq!(t.backend.launched.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_function_error_is_marked_unhandled() {
    let t = TestApp::new().await;
    t.create("111111111111", "fails").await;
    let a = t
        .call(
            "111111111111",
            "POST",
            "/2015-03-31/functions/fails/invocations",
            br#"{"fail": true}"#,
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-amz-function-error"), Some("Unhandled"));
}

#[tokio::test]
async fn an_update_retires_the_warm_sandbox() {
    let t = TestApp::new().await;
    t.create("111111111111", "moving").await;
    let path = "/2015-03-31/functions/moving/invocations";
    t.call("111111111111", "POST", path, b"{}").await;
    t.call(
        "111111111111",
        "PUT",
        "/2015-03-31/functions/moving/configuration",
        br#"{"Environment": {"Variables": {"STAGE": "two"}}}"#,
    )
    .await;
    t.call("111111111111", "POST", path, b"{}").await;
    assert_eq!(t.backend.launched.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn event_invokes_are_accepted_then_delivered() {
    let t = TestApp::new().await;
    t.create("111111111111", "later").await;
    let event = as_account("111111111111")
        .method("POST")
        .uri("/2015-03-31/functions/later/invocations")
        .header("x-amz-invocation-type", "Event")
        .body(axum::body::Body::from(r#"{"async": 2}"#))
        .unwrap();
    let before = t.backend.invoked.load(Ordering::SeqCst);
    assert_eq!(t.send(event).await.status, 202);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while t.backend.invoked.load(Ordering::SeqCst) == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the event was never delivered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn dry_run_and_payload_limits() {
    let t = TestApp::new().await;
    t.create("111111111111", "dry").await;
    let dry = as_account("111111111111")
        .method("POST")
        .uri("/2015-03-31/functions/dry/invocations")
        .header("x-amz-invocation-type", "DryRun")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    assert_eq!(t.send(dry).await.status, 204);
    let big = vec![b' '; 6 * 1024 * 1024 + 1];
    let a = t
        .call(
            "111111111111",
            "POST",
            "/2015-03-31/functions/dry/invocations",
            &big,
        )
        .await;
    assert_eq!(
        (a.status, a.error_type()),
        (413, "RequestEntityTooLargeException")
    );
    assert_eq!(t.backend.launched.load(Ordering::SeqCst), 0);
}
