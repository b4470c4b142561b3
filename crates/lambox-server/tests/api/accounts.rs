//! Accounts never see each other's functions, whatever name or ARN they use.

use std::time::Duration;

use lambox_store::{EventInvokeConfig, Scope};

use crate::support::{TestApp, as_account, as_account_in};

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let t = TestApp::new().await;
    assert_eq!(t.create("111111111111", "mine").await.status, 201);
    let other = t
        .call("222222222222", "GET", "/2015-03-31/functions", b"")
        .await;
    assert_eq!(other.json()["Functions"], serde_json::json!([]));
    let by_arn = t
        .call(
            "222222222222",
            "GET",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A111111111111%3Afunction%3Amine",
            b"",
        )
        .await;
    assert_eq!(
        (by_arn.status, by_arn.error_type()),
        (403, "AccessDeniedException")
    );
    let invoke = t
        .call(
            "222222222222",
            "POST",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A111111111111%3Afunction%3Amine/invocations",
            b"{}",
        )
        .await;
    assert_eq!(invoke.status, 403);
    // The same name in another account is another function.
    assert_eq!(t.create("222222222222", "mine").await.status, 201);
    // And the same account in another region sees nothing of us-east-1.
    let elsewhere = t
        .send(
            as_account_in("111111111111", "eu-west-1")
                .uri("/2015-03-31/functions")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(elsewhere.json()["Functions"], serde_json::json!([]));
}

/// Whatever a config holds (written before the check existed, or by hand), delivery checks the
/// destination's account again and never runs another account's function.
#[tokio::test]
async fn delivery_refuses_a_stored_destination_in_another_account() {
    let t = TestApp::new().await;
    t.create("111111111111", "a-target").await;
    t.create("222222222222", "b-source").await;
    let b = Scope {
        account: "222222222222".into(),
        region: "us-east-1".into(),
    };
    let target = "arn:aws:lambda:us-east-1:111111111111:function:a-target";
    t.app
        .state()
        .store
        .put_event_invoke_config(
            &b,
            "b-source",
            &EventInvokeConfig {
                qualifier: "$LATEST".into(),
                max_retry_attempts: Some(0),
                max_event_age_seconds: None,
                on_success: Some(target.into()),
                on_failure: Some(target.into()),
                last_modified_ms: 0,
            },
        )
        .await
        .unwrap();
    let event = as_account("222222222222")
        .method("POST")
        .uri("/2015-03-31/functions/b-source/invocations")
        .header("x-amz-invocation-type", "Event")
        .body(axum::body::Body::from("{}"))
        .unwrap();
    assert_eq!(t.send(event).await.status, 202);
    let source = "arn:aws:lambda:us-east-1:222222222222:function:b-source";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !t
        .backend
        .launched_for
        .lock()
        .unwrap()
        .iter()
        .any(|f| f == source)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the event never ran"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Time for a destination record to be queued and delivered, were it allowed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let launched = t.backend.launched_for.lock().unwrap().clone();
    assert!(!launched.iter().any(|f| f == target), "{launched:?}");
}

#[tokio::test]
async fn a_destination_in_another_account_is_refused() {
    let t = TestApp::new().await;
    t.create("111111111111", "a-target").await;
    t.create("222222222222", "b-source").await;
    let config = serde_json::json!({"DestinationConfig": {"OnSuccess": {
        "Destination": "arn:aws:lambda:us-east-1:111111111111:function:a-target"}}});
    let a = t
        .call(
            "222222222222",
            "PUT",
            "/2019-09-25/functions/b-source/event-invoke-config",
            config.to_string().as_bytes(),
        )
        .await;
    assert_eq!(
        (a.status, a.error_type()),
        (400, "InvalidParameterValueException")
    );
}
