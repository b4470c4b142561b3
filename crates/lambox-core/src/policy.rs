//! Resource-based policies of functions: the statements AddPermission writes, in AWS's policy
//! language, and the one evaluator that decides whether another account may act on a function.
//!
//! Pure logic. lambox has no IAM identity policies: a caller acting on its own account's
//! functions is always allowed; a caller of another account is allowed when a statement of the
//! policy of exactly the qualifier it addressed (the function itself, a version or an alias)
//! names its account (or `*`) and the action. Conditions (`AWS:SourceArn`,
//! `AWS:SourceAccount`, `aws:PrincipalOrgID`, `lambda:EventSourceToken`,
//! `lambda:FunctionUrlAuthType`) describe calls made by AWS services on someone's behalf, or
//! facts lambox does not have (organizations); a direct call carries none of those keys, so a
//! statement with a condition never allows one, as on AWS.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::arn::partition;
use crate::error::LambdaError;
use crate::validate::ValidationErrors;

/// The largest policy document AWS keeps for a function, in bytes of its JSON.
pub const MAX_POLICY_BYTES: usize = 20_480;

/// `Principal` of a statement, as AWS writes it: `"*"`, `{"AWS": arn}` or `{"Service": host}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// `"*"`.
    Any(String),
    /// `{"AWS": "arn:aws:iam::123456789012:root"}` or `{"Service": "s3.amazonaws.com"}`.
    Named(BTreeMap<String, String>),
}

/// One statement of a function's policy, in AWS's JSON shape and key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    /// The statement id.
    pub sid: String,
    /// Always `Allow` for statements AddPermission writes.
    pub effect: String,
    /// Who it allows.
    pub principal: Principal,
    /// `lambda:InvokeFunction`, `lambda:*`, `*`, ….
    pub action: String,
    /// The ARN of the function, qualified for a version's or alias's policy.
    pub resource: String,
    /// Operator → key → value, as AWS writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

/// A policy document: `{"Version": "2012-10-17", "Id": "default", "Statement": [...]}`.
pub fn document(statements: &[Statement]) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Doc<'a> {
        version: &'static str,
        id: &'static str,
        statement: &'a [Statement],
    }
    serde_json::to_string(&Doc {
        version: "2012-10-17",
        id: "default",
        statement: statements,
    })
    .expect("a policy serializes")
}

/// What AddPermission was asked to grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionRequest {
    /// `StatementId`.
    pub statement_id: Option<String>,
    /// `Action`.
    pub action: Option<String>,
    /// `Principal`.
    pub principal: Option<String>,
    /// `SourceArn`.
    pub source_arn: Option<String>,
    /// `SourceAccount`.
    pub source_account: Option<String>,
    /// `PrincipalOrgID`.
    pub principal_org_id: Option<String>,
    /// `EventSourceToken`.
    pub event_source_token: Option<String>,
    /// `FunctionUrlAuthType`.
    pub function_url_auth_type: Option<String>,
}

static STATEMENT_ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-zA-Z0-9_-]+$").expect("statement id pattern"));
static ACTION_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:lambda:[*]|lambda:[a-zA-Z]+|[*])$").expect("action"));
static ACCOUNT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{12}$").expect("account pattern"));
static ORG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^o-[a-z0-9]{10,32}$").expect("organization pattern"));
static IAM_ARN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:[a-zA-Z0-9+=,.@_/-]+$").expect("iam arn")
});
static SERVICE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9][a-z0-9.-]*\.amazon(?:aws)?\.com(?:\.cn)?$").expect("service")
});

impl PermissionRequest {
    /// The framework checks of AddPermission's fields, as AWS reports them.
    pub fn check(&self, errors: &mut ValidationErrors) {
        let required = |errors: &mut ValidationErrors, field: &str, v: &Option<String>| {
            if v.is_none() {
                errors.violation_raw(field, "null", "Member must not be null");
            }
        };
        required(errors, "statementId", &self.statement_id);
        required(errors, "action", &self.action);
        required(errors, "principal", &self.principal);
        if let Some(sid) = &self.statement_id {
            check_statement_id(sid, errors);
        }
        if let Some(a) = &self.action
            && !ACTION_RE.is_match(a)
        {
            errors.pattern("action", a, r"(lambda:[*]|lambda:[a-zA-Z]+|[*])");
        }
        if let Some(p) = &self.principal
            && (p.is_empty() || p.chars().any(char::is_whitespace))
        {
            errors.pattern("principal", p, r"[^\s]+");
        }
        if let Some(a) = &self.source_account
            && !ACCOUNT_RE.is_match(a)
        {
            errors.pattern("sourceAccount", a, r"\d{12}");
        }
        if let Some(o) = &self.principal_org_id
            && !ORG_RE.is_match(o)
        {
            errors.pattern("principalOrgID", o, "o-[a-z0-9]{10,32}");
        }
        if let Some(t) = &self.function_url_auth_type
            && t != "NONE"
            && t != "AWS_IAM"
        {
            errors.violation(
                "functionUrlAuthType",
                t,
                "Member must satisfy enum value set: [NONE, AWS_IAM]",
            );
        }
    }

    /// The statement AWS writes for this request on `resource` (in `region`), once
    /// [`PermissionRequest::check`] passed.
    pub fn statement(&self, resource: &str, region: &str) -> Result<Statement, LambdaError> {
        let principal = self.principal.as_deref().unwrap_or_default();
        let named =
            |kind: &str, v: String| Principal::Named(BTreeMap::from([(kind.to_owned(), v)]));
        let principal = if principal == "*" {
            Principal::Any("*".to_owned())
        } else if ACCOUNT_RE.is_match(principal) {
            named(
                "AWS",
                format!("arn:{}:iam::{principal}:root", partition(region)),
            )
        } else if IAM_ARN_RE.is_match(principal) {
            named("AWS", principal.to_owned())
        } else if SERVICE_RE.is_match(principal) {
            named("Service", principal.to_owned())
        } else {
            return Err(LambdaError::InvalidParameterValue(
                "The provided principal was invalid. Please check the principal and try again."
                    .to_owned(),
            ));
        };
        let mut condition: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut add = |op: &str, key: &str, v: &Option<String>| {
            if let Some(v) = v {
                condition
                    .entry(op.to_owned())
                    .or_default()
                    .insert(key.to_owned(), v.clone());
            }
        };
        add("ArnLike", "AWS:SourceArn", &self.source_arn);
        add("StringEquals", "AWS:SourceAccount", &self.source_account);
        add("StringEquals", "aws:PrincipalOrgID", &self.principal_org_id);
        add(
            "StringEquals",
            "lambda:EventSourceToken",
            &self.event_source_token,
        );
        add(
            "StringEquals",
            "lambda:FunctionUrlAuthType",
            &self.function_url_auth_type,
        );
        Ok(Statement {
            sid: self.statement_id.clone().unwrap_or_default(),
            effect: "Allow".to_owned(),
            principal,
            action: self.action.clone().unwrap_or_default(),
            resource: resource.to_owned(),
            condition: (!condition.is_empty()).then_some(condition),
        })
    }
}

/// AWS's checks of a `StatementId` (1–100 characters of `[a-zA-Z0-9-_]`).
pub fn check_statement_id(sid: &str, errors: &mut ValidationErrors) {
    if sid.chars().count() > 100 {
        errors.max_length("statementId", sid, 100);
    }
    if !STATEMENT_ID_RE.is_match(sid) {
        errors.pattern("statementId", sid, "([a-zA-Z0-9-_]+)");
    }
}

/// `statements` with `statement` added, or AWS's refusal: a statement id that is there already
/// (409), or a policy that would pass [`MAX_POLICY_BYTES`].
pub fn with_statement(
    mut statements: Vec<Statement>,
    statement: Statement,
) -> Result<Vec<Statement>, LambdaError> {
    if statements.iter().any(|s| s.sid == statement.sid) {
        return Err(LambdaError::ResourceConflict(format!(
            "The statement id ({}) provided already exists. Please provide a new statement id, \
             or remove the existing statement.",
            statement.sid
        )));
    }
    statements.push(statement);
    let size = document(&statements).len();
    if size > MAX_POLICY_BYTES {
        return Err(LambdaError::PolicyLengthExceeded(format!(
            "The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES})."
        )));
    }
    Ok(statements)
}

/// `statements` without the one of id `sid`, or AWS's refusal when there is none.
pub fn without_statement(
    mut statements: Vec<Statement>,
    sid: &str,
) -> Result<Vec<Statement>, LambdaError> {
    let before = statements.len();
    statements.retain(|s| s.sid != sid);
    if statements.len() == before {
        return Err(LambdaError::ResourceNotFound(format!(
            "Statement {sid} is not found in resource policy."
        )));
    }
    Ok(statements)
}

/// Whether a statement's principal is the account `account` (of `partition`).
fn names_account(principal: &Principal, account: &str, partition: &str) -> bool {
    match principal {
        Principal::Any(s) => s == "*",
        Principal::Named(m) => m.get("AWS").is_some_and(|p| {
            p == "*"
                || p == account
                || p.strip_prefix("arn:")
                    .and_then(|rest| rest.strip_prefix(partition))
                    .and_then(|rest| rest.strip_prefix(":iam::"))
                    .and_then(|rest| rest.strip_prefix(account))
                    == Some(":root")
        }),
    }
}

/// Whether a statement's action covers `action` (`lambda:InvokeFunction`); IAM compares
/// actions without regard to case.
fn covers(statement_action: &str, action: &str) -> bool {
    statement_action == "*"
        || statement_action.eq_ignore_ascii_case("lambda:*")
        || statement_action.eq_ignore_ascii_case(action)
}

/// Whether `statements` allow account `caller` (calling in `region`) to perform `action`.
pub fn allows(statements: &[Statement], caller: &str, region: &str, action: &str) -> bool {
    let partition = partition(region);
    statements.iter().any(|s| {
        s.effect == "Allow"
            && s.condition.is_none()
            && covers(&s.action, action)
            && names_account(&s.principal, caller, partition)
    })
}

/// Whether `statements` allow a request to a function URL of `auth_type` (`NONE`, `AWS_IAM`)
/// by `caller` (`None`: anonymous), as AWS decides it: a statement for
/// `lambda:InvokeFunctionUrl` naming the caller's account (or `*`, the only principal an
/// anonymous caller matches), whose only condition, if any, is
/// `StringEquals lambda:FunctionUrlAuthType` equal to the URL's.
pub fn allows_url(
    statements: &[Statement],
    caller: Option<&str>,
    region: &str,
    auth_type: &str,
) -> bool {
    let partition = partition(region);
    let principal_matches = |p: &Principal| match (p, caller) {
        (Principal::Any(s), _) => s == "*",
        (Principal::Named(m), None) => m.get("AWS").is_some_and(|p| p == "*"),
        (p, Some(account)) => names_account(p, account, partition),
    };
    let condition_holds = |c: &Option<BTreeMap<String, BTreeMap<String, String>>>| match c {
        None => true,
        Some(c) => c.iter().all(|(op, keys)| {
            op == "StringEquals"
                && keys
                    .iter()
                    .all(|(k, v)| k == "lambda:FunctionUrlAuthType" && v == auth_type)
        }),
    };
    statements.iter().any(|s| {
        s.effect == "Allow"
            && covers(&s.action, "lambda:InvokeFunctionUrl")
            && principal_matches(&s.principal)
            && condition_holds(&s.condition)
    })
}

/// AWS's refusal of a call no resource-based policy allows.
pub fn access_denied(caller: &str, region: &str, action: &str, resource: &str) -> LambdaError {
    LambdaError::AccessDenied(format!(
        "User: arn:{}:iam::{caller}:root is not authorized to perform: {action} on resource: \
         {resource} because no resource-based policy allows the {action} action",
        partition(region)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "arn:aws:lambda:us-east-1:111111111111:function:f";

    fn grant(principal: &str, action: &str) -> Statement {
        PermissionRequest {
            statement_id: Some("s".into()),
            action: Some(action.into()),
            principal: Some(principal.into()),
            ..Default::default()
        }
        .statement(R, "us-east-1")
        .unwrap()
    }

    #[test]
    fn principals_are_written_as_aws_writes_them() {
        let doc = |s: &Statement| serde_json::to_value(s).unwrap();
        assert_eq!(doc(&grant("*", "lambda:InvokeFunction"))["Principal"], "*");
        assert_eq!(
            doc(&grant("222222222222", "lambda:InvokeFunction"))["Principal"],
            serde_json::json!({"AWS": "arn:aws:iam::222222222222:root"})
        );
        assert_eq!(
            doc(&grant("s3.amazonaws.com", "lambda:InvokeFunction"))["Principal"],
            serde_json::json!({"Service": "s3.amazonaws.com"})
        );
        let invalid = PermissionRequest {
            principal: Some("nobody".into()),
            ..Default::default()
        }
        .statement(R, "us-east-1");
        assert!(matches!(
            invalid,
            Err(LambdaError::InvalidParameterValue(_))
        ));
        let full = PermissionRequest {
            statement_id: Some("s3".into()),
            action: Some("lambda:InvokeFunction".into()),
            principal: Some("s3.amazonaws.com".into()),
            source_arn: Some("arn:aws:s3:::bucket".into()),
            source_account: Some("111111111111".into()),
            ..Default::default()
        }
        .statement(R, "us-east-1")
        .unwrap();
        assert_eq!(
            serde_json::to_value(&full).unwrap(),
            serde_json::json!({"Sid": "s3", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "lambda:InvokeFunction", "Resource": R,
                "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"},
                              "StringEquals": {"AWS:SourceAccount": "111111111111"}}})
        );
        let back: Statement = serde_json::from_value(serde_json::to_value(&full).unwrap()).unwrap();
        assert_eq!(back, full);
    }

    #[test]
    fn evaluation_table() {
        let b = "222222222222";
        let cases: Vec<(Vec<Statement>, &str, bool)> = vec![
            (vec![], "lambda:InvokeFunction", false),
            (
                vec![grant(b, "lambda:InvokeFunction")],
                "lambda:InvokeFunction",
                true,
            ),
            (
                vec![grant(b, "lambda:invokefunction")],
                "lambda:InvokeFunction",
                true,
            ),
            (
                vec![grant(b, "lambda:InvokeFunction")],
                "lambda:GetFunction",
                false,
            ),
            (vec![grant(b, "lambda:*")], "lambda:GetFunction", true),
            (vec![grant(b, "*")], "lambda:DeleteFunction", true),
            (
                vec![grant(
                    "arn:aws:iam::222222222222:root",
                    "lambda:GetFunction",
                )],
                "lambda:GetFunction",
                true,
            ),
            (
                vec![grant("*", "lambda:InvokeFunction")],
                "lambda:InvokeFunction",
                true,
            ),
            (
                vec![grant("333333333333", "lambda:InvokeFunction")],
                "lambda:InvokeFunction",
                false,
            ),
            // A user of the account is not the account.
            (
                vec![grant(
                    "arn:aws:iam::222222222222:user/u",
                    "lambda:InvokeFunction",
                )],
                "lambda:InvokeFunction",
                false,
            ),
            // A service principal is never a direct caller.
            (
                vec![grant("s3.amazonaws.com", "lambda:InvokeFunction")],
                "lambda:InvokeFunction",
                false,
            ),
            (
                vec![grant("333333333333", "*"), grant(b, "lambda:GetFunction")],
                "lambda:GetFunction",
                true,
            ),
        ];
        for (i, (statements, action, expected)) in cases.iter().enumerate() {
            assert_eq!(
                allows(statements, b, "us-east-1", action),
                *expected,
                "case {i}"
            );
        }
        // Conditions describe calls on a service's behalf: a direct call never meets them.
        let mut conditioned = grant("*", "lambda:InvokeFunction");
        conditioned.condition = Some(BTreeMap::from([(
            "StringEquals".to_owned(),
            BTreeMap::from([("AWS:SourceAccount".to_owned(), b.to_owned())]),
        )]));
        assert!(!allows(
            &[conditioned],
            b,
            "us-east-1",
            "lambda:InvokeFunction"
        ));
        // Partitions are told apart.
        let cn = grant("arn:aws-cn:iam::222222222222:root", "*");
        assert!(allows(
            std::slice::from_ref(&cn),
            b,
            "cn-north-1",
            "lambda:GetFunction"
        ));
        assert!(!allows(&[cn], b, "us-east-1", "lambda:GetFunction"));
    }

    #[test]
    fn field_checks_and_messages() {
        let mut e = ValidationErrors::new();
        PermissionRequest {
            statement_id: Some("example.com".into()),
            action: Some("lambda:InvokeFunction".into()),
            principal: Some("*".into()),
            ..Default::default()
        }
        .check(&mut e);
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
        );
        let mut e = ValidationErrors::new();
        PermissionRequest::default().check(&mut e);
        assert_eq!(e.items().len(), 3);
        assert_eq!(
            access_denied("222222222222", "us-east-1", "lambda:InvokeFunction", R).to_string(),
            "User: arn:aws:iam::222222222222:root is not authorized to perform: \
             lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:111111111111:function:f \
             because no resource-based policy allows the lambda:InvokeFunction action"
        );
        let doc = document(&[grant("*", "lambda:InvokeFunction")]);
        assert!(
            doc.starts_with(r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s""#)
        );
    }

    #[test]
    fn function_url_grants_follow_the_auth_type_condition() {
        let public = |auth: &str| {
            PermissionRequest {
                statement_id: Some("u".into()),
                action: Some("lambda:InvokeFunctionUrl".into()),
                principal: Some("*".into()),
                function_url_auth_type: Some(auth.into()),
                ..Default::default()
            }
            .statement(R, "us-east-1")
            .unwrap()
        };
        let r = "us-east-1";
        // AWS's public statement opens a NONE URL to anyone, an AWS_IAM one to no one.
        assert!(allows_url(&[public("NONE")], None, r, "NONE"));
        assert!(!allows_url(
            &[public("NONE")],
            Some("222222222222"),
            r,
            "AWS_IAM"
        ));
        assert!(allows_url(
            &[public("AWS_IAM")],
            Some("222222222222"),
            r,
            "AWS_IAM"
        ));
        // Nothing granted, or only InvokeFunction: refused.
        assert!(!allows_url(&[], None, r, "NONE"));
        assert!(!allows_url(
            &[grant("*", "lambda:InvokeFunction")],
            None,
            r,
            "NONE"
        ));
        // An account's grant does not reach anonymous callers, nor other accounts.
        let account = grant("222222222222", "lambda:InvokeFunctionUrl");
        assert!(!allows_url(std::slice::from_ref(&account), None, r, "NONE"));
        assert!(allows_url(
            std::slice::from_ref(&account),
            Some("222222222222"),
            r,
            "AWS_IAM"
        ));
        assert!(!allows_url(&[account], Some("333333333333"), r, "AWS_IAM"));
        // Any other condition cannot hold for a URL request.
        let mut sourced = public("NONE");
        sourced
            .condition
            .get_or_insert_default()
            .entry("ArnLike".into())
            .or_default()
            .insert("AWS:SourceArn".into(), "arn:aws:s3:::b".into());
        assert!(!allows_url(&[sourced], None, r, "NONE"));
    }
}
