//! Accounts never see each other's functions, whatever name or ARN they use.

use crate::support::TestApp;

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
