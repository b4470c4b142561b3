//! The function life cycle: create, read, list, update, delete, and the presigned code URL.

use crate::support::{Answer, TestApp, base64, zip_of};

#[tokio::test]
async fn create_get_update_delete() {
    let t = TestApp::new().await;
    let created = t.create("111111111111", "life").await;
    assert_eq!(created.status, 201, "{:?}", created.json());
    let c = created.json();
    assert_eq!(
        c["FunctionArn"],
        "arn:aws:lambda:us-east-1:111111111111:function:life"
    );
    // As AWS answers CreateFunction; a read afterwards finds it Active.
    assert_eq!(c["State"], "Pending");
    assert_eq!(c["Version"], "$LATEST");
    let update = serde_json::json!({"Timeout": 9, "Description": "changed"});
    let updated = t
        .call(
            "111111111111",
            "PUT",
            "/2015-03-31/functions/life/configuration",
            update.to_string().as_bytes(),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["Timeout"], 9);
    assert_ne!(updated.json()["RevisionId"], c["RevisionId"]);
    let got = t
        .call("111111111111", "GET", "/2015-03-31/functions/life", b"")
        .await;
    assert_eq!(got.json()["Configuration"]["State"], "Active");
    let listed = t
        .call("111111111111", "GET", "/2015-03-31/functions", b"")
        .await;
    assert_eq!(listed.json()["Functions"].as_array().unwrap().len(), 1);
    let deleted = t
        .call("111111111111", "DELETE", "/2015-03-31/functions/life", b"")
        .await;
    assert_eq!(deleted.status, 204);
    let gone = t
        .call("111111111111", "GET", "/2015-03-31/functions/life", b"")
        .await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn code_location_is_presigned_and_serves_the_zip() {
    let t = TestApp::new().await;
    let zip = zip_of(&[("handler.py", b"x = 1\n")]);
    let body = serde_json::json!({
        "FunctionName": "code", "Runtime": "python3.12", "Handler": "handler.handler",
        "Role": "arn:aws:iam::111111111111:role/r", "Code": {"ZipFile": base64(&zip)},
    });
    t.call(
        "111111111111",
        "POST",
        "/2015-03-31/functions",
        body.to_string().as_bytes(),
    )
    .await;
    let got = t
        .call("111111111111", "GET", "/2015-03-31/functions/code", b"")
        .await;
    let location = got.json()["Code"]["Location"].as_str().unwrap().to_owned();
    let path = &location[location.find("/_lambox/").unwrap()..];
    assert!(path.contains("Signature="));
    let download = t.call("111111111111", "GET", path, b"").await;
    assert_eq!(download.status, 200);
    assert_eq!(&download.body[..], &zip[..]);
    let unsigned = t
        .call("111111111111", "GET", path.split('?').next().unwrap(), b"")
        .await;
    assert_eq!(unsigned.status, 403);
}

#[tokio::test]
async fn a_duplicate_create_is_a_conflict_and_changes_nothing() {
    let t = TestApp::new().await;
    let first = t.create("111111111111", "dup").await;
    let again = t.create("111111111111", "dup").await;
    assert_eq!(
        (again.status, again.error_type()),
        (409, "ResourceConflictException")
    );
    let got = t
        .call("111111111111", "GET", "/2015-03-31/functions/dup", b"")
        .await;
    // The same function as created (its RevisionId has moved on since: it settled).
    for key in ["LastModified", "CodeSha256"] {
        assert_eq!(got.json()["Configuration"][key], first.json()[key], "{key}");
    }
}

#[tokio::test]
async fn changes_have_a_transition_that_refuses_a_second_update() {
    let t = TestApp::with(|c| c.state_transition_ms = 300).await;
    let created = t.create("111111111111", "settling").await.json();
    let pending = settling_get(&t).await.json();
    assert_eq!(pending["Configuration"]["State"], "Pending");
    assert_eq!(
        pending["Configuration"]["RevisionId"],
        created["RevisionId"]
    );
    let refused = settling_update(&t, 5).await;
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.json()["message"],
        "The operation cannot be performed at this time. The function is currently in the \
         following state: Pending"
    );
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    let active = settling_get(&t).await.json();
    assert_eq!(active["Configuration"]["State"], "Active");
    assert_eq!(active["Configuration"]["LastUpdateStatus"], "Successful");
    assert_ne!(active["Configuration"]["RevisionId"], created["RevisionId"]);
    let first = settling_update(&t, 6).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["LastUpdateStatus"], "InProgress");
    let during = settling_get(&t).await.json();
    assert_eq!(during["Configuration"]["LastUpdateStatus"], "InProgress");
    assert_eq!(
        during["Configuration"]["RevisionId"],
        first.json()["RevisionId"]
    );
    let second = settling_update(&t, 7).await;
    assert_eq!(second.status, 409);
    assert_eq!(
        second.json()["message"],
        "The operation cannot be performed at this time. An update is in progress for resource: \
         arn:aws:lambda:us-east-1:111111111111:function:settling"
    );
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    let settled = settling_get(&t).await.json();
    assert_eq!(settled["Configuration"]["LastUpdateStatus"], "Successful");
    assert_eq!(
        settled["Configuration"]["Timeout"], 6,
        "the refused update changed nothing"
    );
    assert_ne!(
        settled["Configuration"]["RevisionId"],
        first.json()["RevisionId"]
    );
}

async fn settling_get(t: &TestApp) -> Answer {
    t.call("111111111111", "GET", "/2015-03-31/functions/settling", b"")
        .await
}

async fn settling_update(t: &TestApp, timeout: u32) -> Answer {
    let body = serde_json::json!({"Timeout": timeout}).to_string();
    t.call(
        "111111111111",
        "PUT",
        "/2015-03-31/functions/settling/configuration",
        body.as_bytes(),
    )
    .await
}
