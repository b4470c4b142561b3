//! Bad input gets AWS's error and changes nothing.

use crate::support::{TestApp, base64, zip_of};

#[tokio::test]
async fn constraint_violations_are_reported_together() {
    let t = TestApp::new().await;
    let body = serde_json::json!({
        "FunctionName": "bad name!", "Runtime": "python3.12", "Handler": "h.h",
        "Role": "not-a-role", "Code": {"ZipFile": base64(&zip_of(&[("h.py", b"")]))},
        "MemorySize": 1,
    });
    let a = t
        .call(
            "111111111111",
            "POST",
            "/2015-03-31/functions",
            body.to_string().as_bytes(),
        )
        .await;
    assert_eq!((a.status, a.error_type()), (400, "ValidationException"));
    let message = a.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with("3 validation errors detected:"),
        "{message}"
    );
    let listed = t
        .call("111111111111", "GET", "/2015-03-31/functions", b"")
        .await;
    assert_eq!(listed.json()["Functions"], serde_json::json!([]));
}

#[tokio::test]
async fn a_package_with_a_link_out_is_refused() {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.add_symlink("a/b/L1", "..", opts).unwrap();
    w.add_symlink("c", "a/b/L1/../../../etc", opts).unwrap();
    w.start_file("h.py", opts).unwrap();
    w.write_all(b"x").unwrap();
    let zip = w.finish().unwrap().into_inner();
    let t = TestApp::new().await;
    let body = serde_json::json!({
        "FunctionName": "links", "Runtime": "python3.12", "Handler": "h.h",
        "Role": "arn:aws:iam::111111111111:role/r", "Code": {"ZipFile": base64(&zip)},
    });
    let a = t
        .call(
            "111111111111",
            "POST",
            "/2015-03-31/functions",
            body.to_string().as_bytes(),
        )
        .await;
    assert_eq!(
        (a.status, a.error_type()),
        (400, "InvalidParameterValueException")
    );
    assert_eq!(
        a.json()["message"],
        "Could not unzip uploaded file. Please check your file, then try to upload again."
    );
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_at_once() {
    let t = TestApp::new().await;
    let request = axum::http::Request::put("/2015-03-31/functions/f/configuration")
        .header("content-length", (100u64 << 20).to_string())
        .body(axum::body::Body::empty())
        .unwrap();
    let a = t.send(request).await;
    assert_eq!(
        (a.status, a.error_type()),
        (413, "RequestEntityTooLargeException")
    );
}

#[tokio::test]
async fn a_reservation_over_the_unreserved_minimum_is_refused() {
    let t = TestApp::new().await;
    t.create("111111111111", "greedy").await;
    let a = t
        .call(
            "111111111111",
            "PUT",
            "/2017-10-31/functions/greedy/concurrency",
            br#"{"ReservedConcurrentExecutions": 901}"#,
        )
        .await;
    assert_eq!(
        (a.status, a.error_type()),
        (400, "InvalidParameterValueException")
    );
    let get = t
        .call(
            "111111111111",
            "GET",
            "/2019-09-30/functions/greedy/concurrency",
            b"",
        )
        .await;
    assert_eq!(get.json(), serde_json::json!({}));
}
