//! Tests of layer names, ARNs, the operations' checks, permission statements and search paths.

use super::*;

#[test]
fn names_and_arns() {
    let plain = LayerRef::parse("deps", "111111111111", "us-east-1").unwrap();
    assert_eq!(
        plain.arn(),
        "arn:aws:lambda:us-east-1:111111111111:layer:deps"
    );
    assert_eq!(
        plain.version_arn(3),
        "arn:aws:lambda:us-east-1:111111111111:layer:deps:3"
    );
    let other = LayerRef::parse(
        "arn:aws:lambda:eu-west-1:222222222222:layer:shared",
        "111111111111",
        "us-east-1",
    )
    .unwrap();
    assert_eq!(
        (
            other.account.as_str(),
            other.region.as_str(),
            other.name.as_str()
        ),
        ("222222222222", "eu-west-1", "shared")
    );
    let e = LayerRef::parse("bad name", "111111111111", "us-east-1").unwrap_err();
    assert!(
        e.to_string()
            .contains("at 'layerName' failed to satisfy constraint")
    );
    assert!(LayerRef::parse(&"a".repeat(141), "1", "r").is_err());

    let v = LayerVersionRef::parse("arn:aws:lambda:us-east-1:111111111111:layer:deps:7").unwrap();
    assert_eq!((v.layer.name.as_str(), v.version), ("deps", 7));
    assert_eq!(
        v.arn(),
        "arn:aws:lambda:us-east-1:111111111111:layer:deps:7"
    );
    assert!(LayerVersionRef::parse("arn:aws:lambda:us-east-1:111111111111:layer:deps").is_none());
    assert!(LayerVersionRef::parse("arn:aws:lambda:us-east-1:1111:layer:deps:1").is_none());
}

#[test]
fn publish_checks_report_as_aws() {
    let mut e = ValidationErrors::new();
    check_publish(
        None,
        None,
        &["invalidruntime".into(), "nodejs20.x".into()],
        &["invalidarch".into(), "x86_64".into()],
        &mut e,
    );
    let msg = e.to_string();
    assert!(msg.starts_with("2 validation errors detected: Value '[invalidruntime, nodejs20.x]' at 'compatibleRuntimes'"), "{msg}");
    assert!(msg.contains("Value '[invalidarch, x86_64]' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]"), "{msg}");
    let mut deprecated = ValidationErrors::new();
    let old: Vec<String> = [
        "python3.7",
        "nodejs12.x",
        "java8",
        "go1.x",
        "provided",
        "ruby2.7",
    ]
    .map(String::from)
    .to_vec();
    check_publish(None, None, &old, &[], &mut deprecated);
    assert!(
        deprecated.is_empty(),
        "AWS accepts deprecated runtimes: {deprecated}"
    );
    let mut ok = ValidationErrors::new();
    check_publish(
        Some("d"),
        None,
        &["python3.12".into()],
        &["arm64".into()],
        &mut ok,
    );
    assert!(ok.is_empty());
    let mut f = ValidationErrors::new();
    check_list_filters(
        Some("runtimedoesnotexist"),
        Some("archdoesnotexist"),
        &mut f,
    );
    assert_eq!(f.items().len(), 2);
    let mut g = ValidationErrors::new();
    check_list_filters(Some("python2.7"), Some("arm64"), &mut g);
    assert!(g.is_empty());
}

#[test]
fn permission_requests_and_statements() {
    let mut e = ValidationErrors::new();
    LayerPermissionRequest {
        statement_id: Some("s1".into()),
        action: Some("*".into()),
        principal: Some("*".into()),
        organization_id: None,
    }
    .check(&mut e);
    assert_eq!(
        e.to_string(),
        "1 validation error detected: Value '*' at 'action' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: lambda:GetLayerVersion"
    );
    let req = LayerPermissionRequest {
        statement_id: Some("s1".into()),
        action: Some("lambda:GetLayerVersion".into()),
        principal: Some("222222222222".into()),
        organization_id: None,
    };
    let mut ok = ValidationErrors::new();
    req.check(&mut ok);
    assert!(ok.is_empty());
    let s = req.statement(
        "arn:aws:lambda:us-east-1:111111111111:layer:l:1",
        "us-east-1",
    );
    assert_eq!(
        serde_json::to_value(&s).unwrap()["Principal"]["AWS"],
        "arn:aws:iam::222222222222:root"
    );
    assert!(crate::policy::allows(
        std::slice::from_ref(&s),
        "222222222222",
        "us-east-1",
        "lambda:GetLayerVersion"
    ));
    assert!(!crate::policy::allows(
        &[s],
        "333333333333",
        "us-east-1",
        "lambda:GetLayerVersion"
    ));
    let everyone = LayerPermissionRequest {
        principal: Some("*".into()),
        ..req.clone()
    }
    .statement("r", "us-east-1");
    assert!(crate::policy::allows(
        &[everyone],
        "333333333333",
        "us-east-1",
        "lambda:GetLayerVersion"
    ));
    // An organization is a fact lambox does not have: such a grant never allows.
    let org = LayerPermissionRequest {
        principal: Some("*".into()),
        organization_id: Some("o-abcdefghij".into()),
        ..req
    }
    .statement("r", "us-east-1");
    assert!(!crate::policy::allows(
        &[org],
        "333333333333",
        "us-east-1",
        "lambda:GetLayerVersion"
    ));
}

#[test]
fn search_paths_per_runtime() {
    assert_eq!(
        search_paths(Some("python3.12"), "/opt", "/var/task"),
        [(
            "PYTHONPATH".to_owned(),
            "/opt/python/lib/python3.12/site-packages:/opt/python".to_owned()
        )]
    );
    assert_eq!(
        search_paths(Some("nodejs20.x"), "/opt", "/var/task"),
        [(
            "NODE_PATH".to_owned(),
            "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/task/node_modules:/var/task"
                .to_owned()
        )]
    );
    assert!(search_paths(Some("provided.al2023"), "/opt", "/var/task").is_empty());
}
