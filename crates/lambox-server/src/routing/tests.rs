//! Routing tests: each operation's method and path, labels decoded, and what does not route.

use super::*;

#[test]
fn routes_function_operations() {
    assert_eq!(
        route("POST", "/2015-03-31/functions"),
        Some(Operation::CreateFunction)
    );
    assert_eq!(
        route("POST", "/2015-03-31/functions/"),
        Some(Operation::CreateFunction)
    );
    assert_eq!(
        route("GET", "/2015-03-31/functions/"),
        Some(Operation::ListFunctions)
    );
    assert_eq!(
        route("GET", "/2015-03-31/functions/my-fn/configuration"),
        Some(Operation::GetFunctionConfiguration("my-fn".into()))
    );
    assert_eq!(
        route("PUT", "/2015-03-31/functions/f/code"),
        Some(Operation::UpdateFunctionCode("f".into()))
    );
    assert_eq!(route("PATCH", "/2015-03-31/functions/f"), None);
    assert_eq!(route("GET", "/2015-03-31/functions/f/nope"), None);
    assert_eq!(route("GET", "/"), None);
}

#[test]
fn routes_invocation_operations() {
    assert_eq!(
        route("POST", "/2015-03-31/functions/f/invocations"),
        Some(Operation::Invoke("f".into()))
    );
    assert_eq!(
        route("POST", "/2019-09-25/functions/f/event-invoke-config"),
        Some(Operation::UpdateFunctionEventInvokeConfig("f".into()))
    );
    assert_eq!(
        route("GET", "/2019-09-25/functions/f/event-invoke-config/list"),
        Some(Operation::ListFunctionEventInvokeConfigs("f".into()))
    );
    assert_eq!(
        route("GET", "/2019-09-30/functions/f/concurrency"),
        Some(Operation::GetFunctionConcurrency("f".into()))
    );
    // Concurrency is read under one date and written under another, as AWS routes it.
    assert_eq!(route("GET", "/2017-10-31/functions/f/concurrency"), None);
}

#[test]
fn routes_version_and_alias_operations() {
    assert_eq!(
        route("POST", "/2015-03-31/functions/f/versions"),
        Some(Operation::PublishVersion("f".into()))
    );
    assert_eq!(
        route("GET", "/2015-03-31/functions/f/aliases/live"),
        Some(Operation::GetAlias("f".into(), "live".into()))
    );
    assert_eq!(
        route("DELETE", "/2015-03-31/functions/f/aliases/live"),
        Some(Operation::DeleteAlias("f".into(), "live".into()))
    );
    assert_eq!(route("POST", "/2015-03-31/functions/f/aliases/live"), None);
    assert_eq!(
        route("GET", "/2020-06-30/functions/f/code-signing-config"),
        Some(Operation::GetFunctionCodeSigningConfig("f".into()))
    );
    assert_eq!(
        route("PUT", "/2024-08-31/functions/f/recursion-config"),
        Some(Operation::PutFunctionRecursionConfig("f".into()))
    );
    assert_eq!(
        route("GET", "/2015-03-31/functions/f/recursion-config"),
        None
    );
}

#[test]
fn routes_policy_operations_and_names_their_actions() {
    let remove = route("DELETE", "/2015-03-31/functions/f/policy/s3").unwrap();
    assert_eq!(remove, Operation::RemovePermission("f".into(), "s3".into()));
    assert_eq!(remove.function_label(), Some("f"));
    assert_eq!(remove.action(), "lambda:RemovePermission");
    assert_eq!(
        route("POST", "/2015-03-31/functions/f/invocations")
            .unwrap()
            .action(),
        "lambda:InvokeFunction"
    );
    assert_eq!(
        route("GET", "/2015-03-31/functions")
            .unwrap()
            .function_label(),
        None
    );
}

#[test]
fn routes_the_logs_protocol_by_target() {
    let op = route_target("POST", "/", Some("Logs_20140328.FilterLogEvents")).unwrap();
    assert_eq!(op, Operation::CloudWatchLogs("FilterLogEvents".into()));
    assert_eq!(op.signing_service(), "logs");
    assert_eq!(route_target("GET", "/", Some("Logs_20140328.X")), None);
    assert_eq!(
        route_target("POST", "/", Some("DynamoDB_20120810.Scan")),
        None
    );
    assert_eq!(route_target("POST", "/", None), None);
}

#[test]
fn decodes_labels_after_matching() {
    assert_eq!(
        route(
            "DELETE",
            "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A111111111111%3Afunction%3Af"
        ),
        Some(Operation::UntagResource(
            "arn:aws:lambda:us-east-1:111111111111:function:f".into()
        ))
    );
    // An encoded slash stays inside its label.
    assert_eq!(
        route("GET", "/2015-03-31/functions/a%2Fb"),
        Some(Operation::GetFunction("a/b".into()))
    );
    assert_eq!(
        route("GET", "/2015-03-31/functions/f%3A%24LATEST"),
        Some(Operation::GetFunction("f:$LATEST".into()))
    );
}

#[test]
fn parses_queries() {
    let q = Query::parse(Some("tagKeys=a&tagKeys=b%20c&Qualifier=%24LATEST&x"));
    assert_eq!(q.all("tagKeys"), ["a", "b c"]);
    assert_eq!(q.get("Qualifier"), Some("$LATEST"));
    assert_eq!(q.get("x"), Some(""));
    assert_eq!(Query::parse(None).get("a"), None);
}

#[test]
fn routes_layer_operations() {
    assert_eq!(
        route("POST", "/2018-10-31/layers/deps/versions"),
        Some(Operation::PublishLayerVersion("deps".into()))
    );
    assert_eq!(
        route("GET", "/2018-10-31/layers/deps/versions/3"),
        Some(Operation::GetLayerVersion("deps".into(), "3".into()))
    );
    assert_eq!(
        route(
            "GET",
            "/2018-10-31/layers/arn%3Aaws%3Alambda%3Aus-east-1%3A222222222222%3Alayer%3Ad/versions"
        ),
        Some(Operation::ListLayerVersions(
            "arn:aws:lambda:us-east-1:222222222222:layer:d".into()
        ))
    );
    assert_eq!(
        route("GET", "/2018-10-31/layers"),
        Some(Operation::ListLayers)
    );
    assert_eq!(
        route("DELETE", "/2018-10-31/layers/deps/versions/1/policy/s1"),
        Some(Operation::RemoveLayerVersionPermission(
            "deps".into(),
            "1".into(),
            "s1".into()
        ))
    );
    assert_eq!(
        route("GET", "/_lambox/layer/ab"),
        Some(Operation::DownloadLayer("ab".into()))
    );
    assert!(Operation::DownloadLayer("ab".into()).is_internal());
    assert!(Operation::GetLayerVersionPolicy("l".into(), "1".into()).is_read_only());
    assert!(!Operation::AddLayerVersionPermission("l".into(), "1".into()).is_read_only());
}
