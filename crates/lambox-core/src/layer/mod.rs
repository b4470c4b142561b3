//! Layers: their ARNs, the checks of the layer operations' inputs with AWS's messages, the
//! statements AddLayerVersionPermission writes, the layers a function is pinned to, and where a
//! runtime finds a layer's files (Lambda's search paths under `/opt`).
//!
//! Pure logic; the store keeps layer versions and the server wires the operations.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::arn::partition;
use crate::error::LambdaError;
use crate::policy::{Principal, Statement};
use crate::validate::ValidationErrors;

/// The pattern of a `LayerName`, as the model gives it.
pub const LAYER_NAME_PATTERN: &str =
    r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+";

/// The pattern AWS reports for a layer version ARN given to GetLayerVersionByArn (and in a
/// function's `Layers`).
pub const LAYER_VERSION_ARN_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)";

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9_-]+|[a-zA-Z0-9_-]+)$",
    )
    .expect("layer name pattern")
});
static VERSION_ARN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^arn:(?:aws[a-zA-Z-]*)?:lambda:(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d:\d{12}:layer:[a-zA-Z0-9_-]+:[0-9]+$",
    )
    .expect("layer version arn pattern")
});
static PRINCIPAL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\d{12}|\*|arn:aws[a-zA-Z-]*:iam::\d{12}:root)$").expect("principal pattern")
});
static ORG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^o-[a-z0-9]{10,32}$").expect("organization pattern"));

/// The runtimes AWS's refusal of `CompatibleRuntimes` lists, in its order: the supported ones.
/// AWS accepts every runtime of the model ([`LISTABLE_RUNTIMES`], deprecated ones included:
/// recorded with `python3.7`, `nodejs12.x`, `java8`, `go1.x`, `provided`, …).
pub const PUBLISHABLE_RUNTIMES: [&str; 25] = [
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
];

/// The runtimes ListLayers and ListLayerVersions accept as `CompatibleRuntime` (every runtime
/// the model knows, deprecated ones included), in the order AWS lists them.
pub const LISTABLE_RUNTIMES: [&str; 56] = [
    "ruby3.5",
    "ruby2.6",
    "dotnetcore1.0",
    "python3.7",
    "nodejs8.10",
    "nasa",
    "ruby2.7",
    "python2.7-greengrass",
    "dotnetcore2.0",
    "python3.8",
    "java21",
    "dotnet6",
    "dotnetcore2.1",
    "python3.9",
    "java11",
    "nodejs6.10",
    "provided",
    "dotnetcore3.1",
    "dotnet8",
    "java25",
    "java17",
    "nodejs",
    "nodejs4.3",
    "java8.al2",
    "go1.x",
    "dotnet10",
    "nodejs20.x",
    "go1.9",
    "byol",
    "nodejs10.x",
    "provided.al2023",
    "nodejs22.x",
    "python3.10",
    "java8",
    "nodejs12.x",
    "python3.11",
    "nodejs24.x",
    "nodejs8.x",
    "python3.12",
    "nodejs14.x",
    "nodejs8.9",
    "nodejs26.x",
    "python3.13",
    "python3.14",
    "nodejs16.x",
    "python3.15",
    "provided.al2",
    "nodejs4.3-edge",
    "nodejs18.x",
    "ruby3.2",
    "python3.4",
    "ruby3.3",
    "ruby3.4",
    "ruby2.5",
    "python3.6",
    "python2.7",
];

/// The architectures a layer can be compatible with.
pub const ARCHITECTURES: [&str; 2] = ["x86_64", "arm64"];

/// The ARN of a layer (without a version).
pub fn layer_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:lambda:{region}:{account}:layer:{name}",
        partition(region)
    )
}

/// The ARN of one version of a layer.
pub fn layer_version_arn(region: &str, account: &str, name: &str, version: i64) -> String {
    format!("{}:{version}", layer_arn(region, account, name))
}

/// A layer named by a `LayerName` label: a plain name (of the caller's account and region) or a
/// layer ARN (of any account, in its region).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// Region of the layer.
    pub region: String,
    /// Account that owns the layer.
    pub account: String,
    /// The layer's name.
    pub name: String,
}

impl LayerRef {
    /// Parses a `LayerName` (checked against the model's pattern and length); a plain name is
    /// the caller's.
    pub fn parse(label: &str, account: &str, region: &str) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if label.chars().count() > 140 {
            errors.max_length("layerName", label, 140);
        }
        if !NAME_RE.is_match(label) {
            errors.pattern("layerName", label, LAYER_NAME_PATTERN);
        }
        errors.into_result()?;
        match label.strip_prefix("arn:") {
            // arn:<partition>:lambda:<region>:<account>:layer:<name>
            Some(rest) => {
                let fields: Vec<&str> = rest.split(':').collect();
                Ok(Self {
                    region: fields[2].to_owned(),
                    account: fields[3].to_owned(),
                    name: fields[5].to_owned(),
                })
            }
            None => Ok(Self {
                region: region.to_owned(),
                account: account.to_owned(),
                name: label.to_owned(),
            }),
        }
    }

    /// The layer's ARN.
    pub fn arn(&self) -> String {
        layer_arn(&self.region, &self.account, &self.name)
    }

    /// The ARN of one of its versions.
    pub fn version_arn(&self, version: i64) -> String {
        layer_version_arn(&self.region, &self.account, &self.name, version)
    }
}

/// One version of a layer, named by its ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersionRef {
    /// The layer.
    pub layer: LayerRef,
    /// The version number.
    pub version: i64,
}

impl LayerVersionRef {
    /// Parses a layer version ARN; `None` unless it matches the pattern AWS checks
    /// (`arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>`).
    pub fn parse(arn: &str) -> Option<Self> {
        if arn.len() > 2048 || !VERSION_ARN_RE.is_match(arn) {
            return None;
        }
        let fields: Vec<&str> = arn.split(':').collect();
        Some(Self {
            layer: LayerRef {
                region: fields[3].to_owned(),
                account: fields[4].to_owned(),
                name: fields[6].to_owned(),
            },
            version: fields[7].parse().ok()?,
        })
    }

    /// The ARN, as AWS writes it.
    pub fn arn(&self) -> String {
        self.layer.version_arn(self.version)
    }
}

/// AWS's refusal of a version number below 1.
pub fn check_version_number(version: i64) -> Result<(), LambdaError> {
    if version < 1 {
        return Err(LambdaError::InvalidParameterValue(
            "Layer Version Cannot be less than 1".to_owned(),
        ));
    }
    Ok(())
}

/// AWS's answer for a layer version that is not there, in the wording of the operation.
pub fn version_not_found(arn: &str) -> LambdaError {
    LambdaError::ResourceNotFound(format!("Layer version {arn} does not exist."))
}

/// AWS's answer of GetLayerVersion and GetLayerVersionByArn for a layer version that is not
/// there.
pub fn resource_not_found() -> LambdaError {
    LambdaError::ResourceNotFound("The resource you requested does not exist.".to_owned())
}

/// Checks PublishLayerVersion's lists and texts, collecting what fails as AWS reports it.
pub fn check_publish(
    description: Option<&str>,
    license_info: Option<&str>,
    runtimes: &[String],
    architectures: &[String],
    errors: &mut ValidationErrors,
) {
    if let Some(d) = description
        && d.chars().count() > 256
    {
        errors.max_length("description", d, 256);
    }
    if let Some(l) = license_info
        && l.chars().count() > 512
    {
        errors.max_length("licenseInfo", l, 512);
    }
    let listed = |items: &[String]| format!("[{}]", items.join(", "));
    if runtimes
        .iter()
        .any(|r| !LISTABLE_RUNTIMES.contains(&r.as_str()))
    {
        errors.violation(
            "compatibleRuntimes",
            listed(runtimes),
            &format!(
                "Member must satisfy enum value set: [{}]",
                PUBLISHABLE_RUNTIMES.join(", ")
            ),
        );
    } else if runtimes.len() > 15 {
        errors.violation(
            "compatibleRuntimes",
            listed(runtimes),
            "Member must have length less than or equal to 15",
        );
    }
    if architectures
        .iter()
        .any(|a| !ARCHITECTURES.contains(&a.as_str()))
    {
        errors.violation(
            "compatibleArchitectures",
            listed(architectures),
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], \
             Member must not be null]",
        );
    } else if architectures.len() > 2 {
        errors.violation(
            "compatibleArchitectures",
            listed(architectures),
            "Member must have length less than or equal to 2",
        );
    }
}

/// Checks the `CompatibleRuntime` and `CompatibleArchitecture` filters of ListLayers and
/// ListLayerVersions.
pub fn check_list_filters(
    runtime: Option<&str>,
    architecture: Option<&str>,
    errors: &mut ValidationErrors,
) {
    if let Some(r) = runtime
        && !LISTABLE_RUNTIMES.contains(&r)
    {
        errors.violation(
            "compatibleRuntime",
            r,
            &format!(
                "Member must satisfy enum value set: [{}]",
                LISTABLE_RUNTIMES.join(", ")
            ),
        );
    }
    if let Some(a) = architecture
        && !ARCHITECTURES.contains(&a)
    {
        errors.violation(
            "compatibleArchitecture",
            a,
            "Member must satisfy enum value set: [x86_64, arm64]",
        );
    }
}

/// What AddLayerVersionPermission was asked to grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerPermissionRequest {
    /// `StatementId`.
    pub statement_id: Option<String>,
    /// `Action`: only `lambda:GetLayerVersion`.
    pub action: Option<String>,
    /// `Principal`: an account, `*` or an account's root ARN.
    pub principal: Option<String>,
    /// `OrganizationId`, with `*`.
    pub organization_id: Option<String>,
}

impl LayerPermissionRequest {
    /// The model's checks of the request, as AWS reports them.
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
            crate::policy::check_statement_id(sid, errors);
        }
        if let Some(a) = &self.action
            && a != "lambda:GetLayerVersion"
        {
            errors.pattern("action", a, "lambda:GetLayerVersion");
        }
        if let Some(p) = &self.principal
            && !PRINCIPAL_RE.is_match(p)
        {
            errors.pattern(
                "principal",
                p,
                r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root",
            );
        }
        if let Some(o) = &self.organization_id
            && !ORG_RE.is_match(o)
        {
            errors.pattern("organizationId", o, "o-[a-z0-9]{10,32}");
        }
    }

    /// The statement AWS writes for this request on the layer version `resource`, once
    /// [`LayerPermissionRequest::check`] passed.
    pub fn statement(&self, resource: &str, region: &str) -> Statement {
        let principal = self.principal.as_deref().unwrap_or("*");
        let principal = if principal == "*" {
            Principal::Any("*".to_owned())
        } else if principal.starts_with("arn:") {
            Principal::Named(BTreeMap::from([("AWS".to_owned(), principal.to_owned())]))
        } else {
            Principal::Named(BTreeMap::from([(
                "AWS".to_owned(),
                format!("arn:{}:iam::{principal}:root", partition(region)),
            )]))
        };
        let condition = self.organization_id.as_ref().map(|org| {
            BTreeMap::from([(
                "StringEquals".to_owned(),
                BTreeMap::from([("aws:PrincipalOrgID".to_owned(), org.clone())]),
            )])
        });
        Statement {
            sid: self.statement_id.clone().unwrap_or_default(),
            effect: "Allow".to_owned(),
            principal,
            action: self.action.clone().unwrap_or_default(),
            resource: resource.to_owned(),
            condition,
        }
    }
}

/// A layer a function uses, pinned when it was attached: its version's ARN and the content that
/// version had. The content stays the function's after the version is deleted, as on AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionLayer {
    /// The layer version's ARN.
    pub arn: String,
    /// Lowercase hex SHA-256 of the layer's zip.
    pub sha256_hex: String,
    /// Size of the zip (`CodeSize`).
    pub code_size: u64,
    /// Sum of the sizes of its files, counted against the function's unzipped limit.
    pub unzipped_size: u64,
}

/// The runtime families' search paths into `/opt` (or what stands in for it), as Lambda's
/// managed runtimes set them: `PYTHONPATH` for python (`/opt/python` and
/// `/opt/python/lib/pythonX.Y/site-packages`), `NODE_PATH` for node
/// (`/opt/nodejs/nodeNN/node_modules`, `/opt/nodejs/node_modules`), with `task_root` after the
/// layers' as Lambda has it for node.
pub fn search_paths(runtime: Option<&str>, opt: &str, task_root: &str) -> Vec<(String, String)> {
    let Some(runtime) = runtime else {
        return Vec::new();
    };
    if let Some(version) = runtime.strip_prefix("python") {
        return vec![(
            "PYTHONPATH".to_owned(),
            format!("{opt}/python/lib/python{version}/site-packages:{opt}/python"),
        )];
    }
    if let Some(rest) = runtime.strip_prefix("nodejs") {
        let major = rest.split('.').next().unwrap_or_default();
        let versioned = if major.is_empty() {
            String::new()
        } else {
            format!("{opt}/nodejs/node{major}/node_modules:")
        };
        return vec![(
            "NODE_PATH".to_owned(),
            format!("{versioned}{opt}/nodejs/node_modules:{task_root}/node_modules:{task_root}"),
        )];
    }
    Vec::new()
}

#[cfg(test)]
mod tests;
