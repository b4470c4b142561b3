//! The real `lambox` binary driven by the AWS SDK for Rust.

use std::io::Write;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use lambox_e2e::Lambox;

const ROLE: &str = "arn:aws:iam::111111111111:role/lambda-role";

fn client(lambox: &Lambox, account: &str, region: &str) -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(account, "secret", None, None, "test"))
        .endpoint_url(lambox.endpoint())
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn zip(source: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("handler.py", zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(source.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// A CreateFunction request for a python function with `role` and handler source `source`.
fn create_request(
    c: &Client,
    name: &str,
    role: &str,
    source: &str,
) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
    c.create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(role)
        .handler("handler.handler")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip(source)))
                .build(),
        )
}

/// CreateFunction of a python function with `role` and handler source `source`.
async fn try_create(
    c: &Client,
    name: &str,
    role: &str,
    source: &str,
) -> Result<
    aws_sdk_lambda::operation::create_function::CreateFunctionOutput,
    aws_sdk_lambda::operation::create_function::CreateFunctionError,
> {
    create_request(c, name, role, source)
        .send()
        .await
        .map_err(|e| e.into_service_error())
}

/// An echo function with the environment `STAGE=test`.
async fn create(
    c: &Client,
    name: &str,
) -> aws_sdk_lambda::operation::create_function::CreateFunctionOutput {
    create_request(c, name, ROLE, "def handler(e, c):\n    return e\n")
        .environment(Environment::builder().variables("STAGE", "test").build())
        .send()
        .await
        .expect("create")
}

#[tokio::test]
async fn rust_sdk_round_trip() {
    let lambox = Lambox::start().unwrap();
    let c = client(&lambox, "111111111111", "us-east-1");
    let created = create(&c, "sdk-fn").await;
    assert_eq!(
        created.function_arn(),
        Some("arn:aws:lambda:us-east-1:111111111111:function:sdk-fn")
    );
    assert_eq!(created.state().map(|s| s.as_str()), Some("Pending"));
    // Pending until the transition ends, as on AWS; the SDK's waiter sees it through.
    let pending = c
        .get_function_configuration()
        .function_name("sdk-fn")
        .send()
        .await
        .unwrap();
    assert_eq!(pending.state().map(|s| s.as_str()), Some("Pending"));
    c.wait_until_function_active_v2()
        .function_name("sdk-fn")
        .wait(std::time::Duration::from_secs(30))
        .await
        .unwrap();

    let got = c
        .get_function()
        .function_name("sdk-fn")
        .send()
        .await
        .unwrap();
    let conf = got.configuration().unwrap();
    assert_eq!(conf.state().map(|s| s.as_str()), Some("Active"));
    assert_ne!(
        conf.revision_id(),
        created.revision_id(),
        "the RevisionId advances when the function becomes Active"
    );
    assert_eq!(conf.runtime(), Some(&Runtime::Python312));
    assert_eq!(
        conf.environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("STAGE"))
            .map(String::as_str),
        Some("test")
    );
    assert!(
        got.code()
            .and_then(|c| c.location())
            .unwrap()
            .contains("/_lambox/code/")
    );

    let updated = c
        .update_function_configuration()
        .function_name("sdk-fn")
        .timeout(30)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.timeout(), Some(30));
    assert_eq!(
        updated.last_update_status().map(|s| s.as_str()),
        Some("InProgress")
    );
    let conflict = c
        .update_function_configuration()
        .function_name("sdk-fn")
        .timeout(31)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(conflict.is_resource_conflict_exception(), "{conflict:?}");
    assert_eq!(
        conflict.message(),
        Some(
            "The operation cannot be performed at this time. An update is in progress for \
             resource: arn:aws:lambda:us-east-1:111111111111:function:sdk-fn"
        )
    );

    let listed = c.list_functions().send().await.unwrap();
    assert_eq!(listed.functions().len(), 1);

    c.delete_function()
        .function_name("sdk-fn")
        .send()
        .await
        .unwrap();
    let err = c
        .get_function()
        .function_name("sdk-fn")
        .send()
        .await
        .unwrap_err();
    let service = err.into_service_error();
    assert!(service.is_resource_not_found_exception(), "{service:?}");
    assert_eq!(
        service.message(),
        Some("Function not found: arn:aws:lambda:us-east-1:111111111111:function:sdk-fn")
    );
}

#[tokio::test]
async fn rust_sdk_sees_typed_errors_and_state_after_sigkill() {
    let mut lambox = Lambox::start().unwrap();
    let a = client(&lambox, "111111111111", "us-east-1");
    create(&a, "durable").await;
    let dup = try_create(&a, "durable", ROLE, "x = 1").await.unwrap_err();
    assert!(dup.is_resource_conflict_exception(), "{dup:?}");
    let bad = try_create(&a, "bad-role", "r1", "x = 1").await.unwrap_err();
    assert_eq!(bad.code(), Some("ValidationException"));

    lambox.kill_and_restart().unwrap();
    let a = client(&lambox, "111111111111", "us-east-1");
    let got = a
        .get_function_configuration()
        .function_name("durable")
        .send()
        .await
        .unwrap();
    assert_eq!(got.function_name(), Some("durable"));
    // Another account, and the same account in another region, see none of it.
    for (account, region) in [("222222222222", "us-east-1"), ("111111111111", "eu-west-1")] {
        let other = client(&lambox, account, region);
        let listed = other.list_functions().send().await.unwrap();
        assert!(listed.functions().is_empty(), "{account} {region}");
    }
}

#[tokio::test]
async fn rust_sdk_invokes_and_reads_function_errors() {
    use aws_sdk_lambda::types::{InvocationType, LogType};

    let lambox = Lambox::start().unwrap();
    let c = client(&lambox, "111111111111", "us-east-1");
    try_create(
        &c,
        "sdk-invoke",
        ROLE,
        "def handler(e, c):\n    if e.get('fail'):\n        raise KeyError('missing')\n    print('sdk', e)\n    return {'echo': e}\n",
    )
    .await
    .unwrap();
    let out = c
        .invoke()
        .function_name("sdk-invoke")
        .payload(Blob::new(br#"{"n": 7}"#.to_vec()))
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 200);
    assert_eq!(out.executed_version(), Some("$LATEST"));
    assert_eq!(out.function_error(), None);
    assert_eq!(out.payload().unwrap().as_ref(), br#"{"echo": {"n": 7}}"#);
    use base64::Engine;
    let log = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().unwrap())
        .unwrap();
    assert!(String::from_utf8(log).unwrap().contains("sdk {'n': 7}"));
    let failed = c
        .invoke()
        .function_name("sdk-invoke")
        .payload(Blob::new(br#"{"fail": true}"#.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let event = c
        .invoke()
        .function_name("sdk-invoke")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(b"{}".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(event.status_code(), 202);
}
