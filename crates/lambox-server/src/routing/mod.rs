//! Routing: which Lambda operation a request is, from its method, raw path and query.
//!
//! Pure logic. The path is matched segment by segment on its raw (percent-encoded) form and each
//! label is decoded afterwards, so that an ARN label (`arn%3Aaws%3A…`, or one holding `%2F`) stays
//! one segment.

use percent_encoding::percent_decode_str;

/// A Lambda API operation (or one of lambox's own endpoints) with its decoded URI labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `POST /2015-03-31/functions`
    CreateFunction,
    /// `GET /2015-03-31/functions`
    ListFunctions,
    /// `GET /2015-03-31/functions/{FunctionName}`
    GetFunction(String),
    /// `GET /2015-03-31/functions/{FunctionName}/configuration`
    GetFunctionConfiguration(String),
    /// `DELETE /2015-03-31/functions/{FunctionName}`
    DeleteFunction(String),
    /// `PUT /2015-03-31/functions/{FunctionName}/code`
    UpdateFunctionCode(String),
    /// `PUT /2015-03-31/functions/{FunctionName}/configuration`
    UpdateFunctionConfiguration(String),
    /// `POST /2017-03-31/tags/{Resource}`
    TagResource(String),
    /// `DELETE /2017-03-31/tags/{Resource}`
    UntagResource(String),
    /// `GET /2017-03-31/tags/{Resource}`
    ListTags(String),
    /// `GET /2016-08-19/account-settings`
    GetAccountSettings,
    /// `POST /2015-03-31/functions/{FunctionName}/invocations`
    Invoke(String),
    /// `POST /2014-11-13/functions/{FunctionName}/invoke-async`
    InvokeAsync(String),
    /// `POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations`
    InvokeWithResponseStream(String),
    /// `PUT /2017-10-31/functions/{FunctionName}/concurrency`
    PutFunctionConcurrency(String),
    /// `GET /2019-09-30/functions/{FunctionName}/concurrency`
    GetFunctionConcurrency(String),
    /// `DELETE /2017-10-31/functions/{FunctionName}/concurrency`
    DeleteFunctionConcurrency(String),
    /// `PUT /2019-09-25/functions/{FunctionName}/event-invoke-config`
    PutFunctionEventInvokeConfig(String),
    /// `POST /2019-09-25/functions/{FunctionName}/event-invoke-config`
    UpdateFunctionEventInvokeConfig(String),
    /// `GET /2019-09-25/functions/{FunctionName}/event-invoke-config`
    GetFunctionEventInvokeConfig(String),
    /// `DELETE /2019-09-25/functions/{FunctionName}/event-invoke-config`
    DeleteFunctionEventInvokeConfig(String),
    /// `GET /2019-09-25/functions/{FunctionName}/event-invoke-config/list`
    ListFunctionEventInvokeConfigs(String),
    /// `POST /2015-03-31/functions/{FunctionName}/versions`
    PublishVersion(String),
    /// `GET /2015-03-31/functions/{FunctionName}/versions`
    ListVersionsByFunction(String),
    /// `POST /2015-03-31/functions/{FunctionName}/aliases`
    CreateAlias(String),
    /// `GET /2015-03-31/functions/{FunctionName}/aliases`
    ListAliases(String),
    /// `GET /2015-03-31/functions/{FunctionName}/aliases/{Name}`
    GetAlias(String, String),
    /// `PUT /2015-03-31/functions/{FunctionName}/aliases/{Name}`
    UpdateAlias(String, String),
    /// `DELETE /2015-03-31/functions/{FunctionName}/aliases/{Name}`
    DeleteAlias(String, String),
    /// `GET /2020-06-30/functions/{FunctionName}/code-signing-config`
    GetFunctionCodeSigningConfig(String),
    /// `PUT /2020-06-30/functions/{FunctionName}/code-signing-config`
    PutFunctionCodeSigningConfig(String),
    /// `DELETE /2020-06-30/functions/{FunctionName}/code-signing-config`
    DeleteFunctionCodeSigningConfig(String),
    /// `GET /2021-07-20/functions/{FunctionName}/runtime-management-config`
    GetRuntimeManagementConfig(String),
    /// `PUT /2021-07-20/functions/{FunctionName}/runtime-management-config`
    PutRuntimeManagementConfig(String),
    /// `GET /2024-08-31/functions/{FunctionName}/recursion-config`
    GetFunctionRecursionConfig(String),
    /// `PUT /2024-08-31/functions/{FunctionName}/recursion-config`
    PutFunctionRecursionConfig(String),
    /// `PUT /2019-09-30/functions/{FunctionName}/provisioned-concurrency`
    PutProvisionedConcurrencyConfig(String),
    /// `GET /2019-09-30/functions/{FunctionName}/provisioned-concurrency`: Get, or List with
    /// `?List=ALL` (the operation depends on the query).
    GetProvisionedConcurrencyConfig(String),
    /// `DELETE /2019-09-30/functions/{FunctionName}/provisioned-concurrency`
    DeleteProvisionedConcurrencyConfig(String),
    /// `POST /2015-03-31/functions/{FunctionName}/policy`
    AddPermission(String),
    /// `GET /2015-03-31/functions/{FunctionName}/policy`
    GetPolicy(String),
    /// `DELETE /2015-03-31/functions/{FunctionName}/policy/{StatementId}`
    RemovePermission(String, String),
    /// `POST /2018-10-31/layers/{LayerName}/versions`
    PublishLayerVersion(String),
    /// `GET /2018-10-31/layers/{LayerName}/versions`
    ListLayerVersions(String),
    /// `GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}`
    GetLayerVersion(String, String),
    /// `DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}`
    DeleteLayerVersion(String, String),
    /// `GET /2018-10-31/layers`: ListLayers, or GetLayerVersionByArn with `?find=LayerVersion`
    /// (the operation depends on the query).
    ListLayers,
    /// `POST /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy`
    AddLayerVersionPermission(String, String),
    /// `GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy`
    GetLayerVersionPolicy(String, String),
    /// `DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}`
    RemoveLayerVersionPermission(String, String, String),
    /// `POST /2021-10-31/functions/{FunctionName}/url`
    CreateFunctionUrlConfig(String),
    /// `GET /2021-10-31/functions/{FunctionName}/url`
    GetFunctionUrlConfig(String),
    /// `PUT /2021-10-31/functions/{FunctionName}/url`
    UpdateFunctionUrlConfig(String),
    /// `DELETE /2021-10-31/functions/{FunctionName}/url`
    DeleteFunctionUrlConfig(String),
    /// `GET /2021-10-31/functions/{FunctionName}/urls`
    ListFunctionUrlConfigs(String),
    /// `POST /` with `X-Amz-Target: Logs_20140328.<operation>`: the CloudWatch Logs API
    /// (JSON 1.1) for functions' logs.
    CloudWatchLogs(String),
    /// `GET /_lambox/admin/logs`: invocation logs of a function.
    AdminLogs,
    /// `GET /_lambox/admin/destination-records`: records for destinations lambox does not host.
    AdminDestinationRecords,
    /// `GET /_lambox/code/{sha256}`: lambox's download URL for a stored deployment package
    /// (what `GetFunction`'s `Code.Location` points at).
    DownloadCode(String),
    /// `GET /_lambox/layer/{sha256}`: lambox's download URL for a stored layer archive (what a
    /// layer version's `Content.Location` points at).
    DownloadLayer(String),
    /// `GET /_lambox/health`: liveness.
    Health,
}

impl Operation {
    /// AWS's name of the operation, as used in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateFunction => "CreateFunction",
            Self::ListFunctions => "ListFunctions",
            Self::GetFunction(_) => "GetFunction",
            Self::GetFunctionConfiguration(_) => "GetFunctionConfiguration",
            Self::DeleteFunction(_) => "DeleteFunction",
            Self::UpdateFunctionCode(_) => "UpdateFunctionCode",
            Self::UpdateFunctionConfiguration(_) => "UpdateFunctionConfiguration",
            Self::TagResource(_) => "TagResource",
            Self::UntagResource(_) => "UntagResource",
            Self::ListTags(_) => "ListTags",
            Self::GetAccountSettings => "GetAccountSettings",
            Self::Invoke(_) => "Invoke",
            Self::InvokeAsync(_) => "InvokeAsync",
            Self::PutFunctionConcurrency(_) => "PutFunctionConcurrency",
            Self::GetFunctionConcurrency(_) => "GetFunctionConcurrency",
            Self::DeleteFunctionConcurrency(_) => "DeleteFunctionConcurrency",
            Self::PutFunctionEventInvokeConfig(_) => "PutFunctionEventInvokeConfig",
            Self::UpdateFunctionEventInvokeConfig(_) => "UpdateFunctionEventInvokeConfig",
            Self::GetFunctionEventInvokeConfig(_) => "GetFunctionEventInvokeConfig",
            Self::DeleteFunctionEventInvokeConfig(_) => "DeleteFunctionEventInvokeConfig",
            Self::ListFunctionEventInvokeConfigs(_) => "ListFunctionEventInvokeConfigs",
            Self::PublishVersion(_) => "PublishVersion",
            Self::ListVersionsByFunction(_) => "ListVersionsByFunction",
            Self::CreateAlias(_) => "CreateAlias",
            Self::ListAliases(_) => "ListAliases",
            Self::GetAlias(..) => "GetAlias",
            Self::UpdateAlias(..) => "UpdateAlias",
            Self::DeleteAlias(..) => "DeleteAlias",
            Self::GetFunctionCodeSigningConfig(_) => "GetFunctionCodeSigningConfig",
            Self::PutFunctionCodeSigningConfig(_) => "PutFunctionCodeSigningConfig",
            Self::DeleteFunctionCodeSigningConfig(_) => "DeleteFunctionCodeSigningConfig",
            Self::GetRuntimeManagementConfig(_) => "GetRuntimeManagementConfig",
            Self::PutRuntimeManagementConfig(_) => "PutRuntimeManagementConfig",
            Self::GetFunctionRecursionConfig(_) => "GetFunctionRecursionConfig",
            Self::PutFunctionRecursionConfig(_) => "PutFunctionRecursionConfig",
            Self::PutProvisionedConcurrencyConfig(_) => "PutProvisionedConcurrencyConfig",
            Self::GetProvisionedConcurrencyConfig(_) => "GetProvisionedConcurrencyConfig",
            Self::DeleteProvisionedConcurrencyConfig(_) => "DeleteProvisionedConcurrencyConfig",
            Self::AddPermission(_) => "AddPermission",
            Self::GetPolicy(_) => "GetPolicy",
            Self::RemovePermission(..) => "RemovePermission",
            Self::PublishLayerVersion(_) => "PublishLayerVersion",
            Self::ListLayerVersions(_) => "ListLayerVersions",
            Self::GetLayerVersion(..) => "GetLayerVersion",
            Self::DeleteLayerVersion(..) => "DeleteLayerVersion",
            Self::ListLayers => "ListLayers",
            Self::AddLayerVersionPermission(..) => "AddLayerVersionPermission",
            Self::GetLayerVersionPolicy(..) => "GetLayerVersionPolicy",
            Self::RemoveLayerVersionPermission(..) => "RemoveLayerVersionPermission",
            Self::CloudWatchLogs(_) => "CloudWatchLogs",
            Self::AdminLogs => "AdminLogs",
            Self::AdminDestinationRecords => "AdminDestinationRecords",
            Self::DownloadCode(_) => "DownloadCode",
            Self::DownloadLayer(_) => "DownloadLayer",
            Self::InvokeWithResponseStream(_) => "InvokeWithResponseStream",
            Self::CreateFunctionUrlConfig(_) => "CreateFunctionUrlConfig",
            Self::GetFunctionUrlConfig(_) => "GetFunctionUrlConfig",
            Self::UpdateFunctionUrlConfig(_) => "UpdateFunctionUrlConfig",
            Self::DeleteFunctionUrlConfig(_) => "DeleteFunctionUrlConfig",
            Self::ListFunctionUrlConfigs(_) => "ListFunctionUrlConfigs",
            Self::Health => "Health",
        }
    }

    /// Whether the operation's body carries a deployment package (`ZipFile`).
    pub fn carries_package(&self) -> bool {
        matches!(
            self,
            Self::CreateFunction | Self::UpdateFunctionCode(_) | Self::PublishLayerVersion(_)
        )
    }

    /// Whether the operation only reads (and may stop with its client).
    pub fn is_read_only(&self) -> bool {
        matches!(
            self,
            Self::ListFunctions
                | Self::GetFunction(_)
                | Self::GetFunctionConfiguration(_)
                | Self::ListTags(_)
                | Self::GetAccountSettings
                | Self::GetFunctionConcurrency(_)
                | Self::GetFunctionEventInvokeConfig(_)
                | Self::ListFunctionEventInvokeConfigs(_)
                | Self::ListVersionsByFunction(_)
                | Self::ListAliases(_)
                | Self::GetAlias(..)
                | Self::GetFunctionCodeSigningConfig(_)
                | Self::GetRuntimeManagementConfig(_)
                | Self::GetFunctionRecursionConfig(_)
                | Self::GetProvisionedConcurrencyConfig(_)
                | Self::GetPolicy(_)
                | Self::ListLayerVersions(_)
                | Self::GetLayerVersion(..)
                | Self::ListLayers
                | Self::GetLayerVersionPolicy(..)
                | Self::GetFunctionUrlConfig(_)
                | Self::ListFunctionUrlConfigs(_)
                | Self::AdminLogs
                | Self::AdminDestinationRecords
                | Self::DownloadCode(_)
                | Self::DownloadLayer(_)
                | Self::Health
        )
    }

    /// The function (or taggable resource ARN) the operation addresses, if any.
    pub fn function_label(&self) -> Option<&str> {
        use Operation as Op;
        match self {
            Op::GetFunction(f)
            | Op::GetFunctionConfiguration(f)
            | Op::DeleteFunction(f)
            | Op::UpdateFunctionCode(f)
            | Op::UpdateFunctionConfiguration(f)
            | Op::TagResource(f)
            | Op::UntagResource(f)
            | Op::ListTags(f)
            | Op::Invoke(f)
            | Op::InvokeAsync(f)
            | Op::InvokeWithResponseStream(f)
            | Op::PutFunctionConcurrency(f)
            | Op::GetFunctionConcurrency(f)
            | Op::DeleteFunctionConcurrency(f)
            | Op::PutFunctionEventInvokeConfig(f)
            | Op::UpdateFunctionEventInvokeConfig(f)
            | Op::GetFunctionEventInvokeConfig(f)
            | Op::DeleteFunctionEventInvokeConfig(f)
            | Op::ListFunctionEventInvokeConfigs(f)
            | Op::PublishVersion(f)
            | Op::ListVersionsByFunction(f)
            | Op::CreateAlias(f)
            | Op::ListAliases(f)
            | Op::GetAlias(f, _)
            | Op::UpdateAlias(f, _)
            | Op::DeleteAlias(f, _)
            | Op::GetFunctionCodeSigningConfig(f)
            | Op::PutFunctionCodeSigningConfig(f)
            | Op::DeleteFunctionCodeSigningConfig(f)
            | Op::GetRuntimeManagementConfig(f)
            | Op::PutRuntimeManagementConfig(f)
            | Op::GetFunctionRecursionConfig(f)
            | Op::PutFunctionRecursionConfig(f)
            | Op::PutProvisionedConcurrencyConfig(f)
            | Op::GetProvisionedConcurrencyConfig(f)
            | Op::DeleteProvisionedConcurrencyConfig(f)
            | Op::AddPermission(f)
            | Op::GetPolicy(f)
            | Op::RemovePermission(f, _)
            | Op::CreateFunctionUrlConfig(f)
            | Op::GetFunctionUrlConfig(f)
            | Op::UpdateFunctionUrlConfig(f)
            | Op::DeleteFunctionUrlConfig(f)
            | Op::ListFunctionUrlConfigs(f) => Some(f),
            Op::CreateFunction
            | Op::CloudWatchLogs(_)
            | Op::ListFunctions
            | Op::GetAccountSettings
            | Op::PublishLayerVersion(_)
            | Op::ListLayerVersions(_)
            | Op::GetLayerVersion(..)
            | Op::DeleteLayerVersion(..)
            | Op::ListLayers
            | Op::AddLayerVersionPermission(..)
            | Op::GetLayerVersionPolicy(..)
            | Op::RemoveLayerVersionPermission(..)
            | Op::AdminLogs
            | Op::AdminDestinationRecords
            | Op::DownloadCode(_)
            | Op::DownloadLayer(_)
            | Op::Health => None,
        }
    }

    /// The IAM action a resource-based policy must allow for another account to perform the
    /// operation (`lambda:InvokeFunction` for both invoke operations, else `lambda:<name>`).
    pub fn action(&self) -> String {
        match self {
            Self::Invoke(_) | Self::InvokeAsync(_) | Self::InvokeWithResponseStream(_) => {
                "lambda:InvokeFunction".to_owned()
            }
            Self::GetProvisionedConcurrencyConfig(_) => {
                "lambda:GetProvisionedConcurrencyConfig".to_owned()
            }
            other => format!("lambda:{}", other.name()),
        }
    }

    /// Whether the operation is one of lambox's own, outside the AWS API (no SigV4).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            Self::DownloadCode(_) | Self::DownloadLayer(_) | Self::Health
        )
    }
}

/// The service a request's SigV4 signature is scoped to.
impl Operation {
    /// `logs` for the CloudWatch Logs API, else `lambda`.
    pub fn signing_service(&self) -> &'static str {
        match self {
            Self::CloudWatchLogs(_) => "logs",
            _ => "lambda",
        }
    }
}

/// Routes a request of the JSON 1.1 protocol (`POST /` with an `X-Amz-Target`); `None` for any
/// other.
pub fn route_target(method: &str, raw_path: &str, target: Option<&str>) -> Option<Operation> {
    let op = target?.strip_prefix("Logs_20140328.")?;
    (method == "POST" && raw_path == "/" && !op.is_empty())
        .then(|| Operation::CloudWatchLogs(op.to_owned()))
}

/// Routes a request; `None` when no operation has this method and path.
pub fn route(method: &str, raw_path: &str) -> Option<Operation> {
    let raw = raw_path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(raw_path);
    let segments: Vec<&str> = raw.trim_start_matches('/').split('/').collect();
    let label = |s: &str| {
        percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    use Operation as Op;
    let op = match (method, segments.as_slice()) {
        ("POST", ["2015-03-31", "functions"]) => Op::CreateFunction,
        ("GET", ["2015-03-31", "functions"]) => Op::ListFunctions,
        ("GET", ["2015-03-31", "functions", f]) => Op::GetFunction(label(f)?),
        ("DELETE", ["2015-03-31", "functions", f]) => Op::DeleteFunction(label(f)?),
        ("GET", ["2015-03-31", "functions", f, "configuration"]) => {
            Op::GetFunctionConfiguration(label(f)?)
        }
        ("PUT", ["2015-03-31", "functions", f, "configuration"]) => {
            Op::UpdateFunctionConfiguration(label(f)?)
        }
        ("PUT", ["2015-03-31", "functions", f, "code"]) => Op::UpdateFunctionCode(label(f)?),
        ("POST", ["2017-03-31", "tags", r]) => Op::TagResource(label(r)?),
        ("DELETE", ["2017-03-31", "tags", r]) => Op::UntagResource(label(r)?),
        ("GET", ["2017-03-31", "tags", r]) => Op::ListTags(label(r)?),
        ("GET", ["2016-08-19", "account-settings"]) => Op::GetAccountSettings,
        ("POST", ["2015-03-31", "functions", f, "invocations"]) => Op::Invoke(label(f)?),
        ("POST", ["2014-11-13", "functions", f, "invoke-async"]) => Op::InvokeAsync(label(f)?),
        ("PUT", ["2017-10-31", "functions", f, "concurrency"]) => {
            Op::PutFunctionConcurrency(label(f)?)
        }
        ("GET", ["2019-09-30", "functions", f, "concurrency"]) => {
            Op::GetFunctionConcurrency(label(f)?)
        }
        ("DELETE", ["2017-10-31", "functions", f, "concurrency"]) => {
            Op::DeleteFunctionConcurrency(label(f)?)
        }
        ("PUT", ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            Op::PutFunctionEventInvokeConfig(label(f)?)
        }
        ("POST", ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            Op::UpdateFunctionEventInvokeConfig(label(f)?)
        }
        ("GET", ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            Op::GetFunctionEventInvokeConfig(label(f)?)
        }
        ("DELETE", ["2019-09-25", "functions", f, "event-invoke-config"]) => {
            Op::DeleteFunctionEventInvokeConfig(label(f)?)
        }
        ("GET", ["2019-09-25", "functions", f, "event-invoke-config", "list"]) => {
            Op::ListFunctionEventInvokeConfigs(label(f)?)
        }
        ("POST", ["2015-03-31", "functions", f, "versions"]) => Op::PublishVersion(label(f)?),
        ("GET", ["2015-03-31", "functions", f, "versions"]) => {
            Op::ListVersionsByFunction(label(f)?)
        }
        ("POST", ["2015-03-31", "functions", f, "aliases"]) => Op::CreateAlias(label(f)?),
        ("GET", ["2015-03-31", "functions", f, "aliases"]) => Op::ListAliases(label(f)?),
        ("GET", ["2015-03-31", "functions", f, "aliases", a]) => Op::GetAlias(label(f)?, label(a)?),
        ("PUT", ["2015-03-31", "functions", f, "aliases", a]) => {
            Op::UpdateAlias(label(f)?, label(a)?)
        }
        ("DELETE", ["2015-03-31", "functions", f, "aliases", a]) => {
            Op::DeleteAlias(label(f)?, label(a)?)
        }
        ("GET", ["2020-06-30", "functions", f, "code-signing-config"]) => {
            Op::GetFunctionCodeSigningConfig(label(f)?)
        }
        ("PUT", ["2020-06-30", "functions", f, "code-signing-config"]) => {
            Op::PutFunctionCodeSigningConfig(label(f)?)
        }
        ("DELETE", ["2020-06-30", "functions", f, "code-signing-config"]) => {
            Op::DeleteFunctionCodeSigningConfig(label(f)?)
        }
        ("GET", ["2021-07-20", "functions", f, "runtime-management-config"]) => {
            Op::GetRuntimeManagementConfig(label(f)?)
        }
        ("PUT", ["2021-07-20", "functions", f, "runtime-management-config"]) => {
            Op::PutRuntimeManagementConfig(label(f)?)
        }
        ("GET", ["2024-08-31", "functions", f, "recursion-config"]) => {
            Op::GetFunctionRecursionConfig(label(f)?)
        }
        ("PUT", ["2024-08-31", "functions", f, "recursion-config"]) => {
            Op::PutFunctionRecursionConfig(label(f)?)
        }
        ("PUT", ["2019-09-30", "functions", f, "provisioned-concurrency"]) => {
            Op::PutProvisionedConcurrencyConfig(label(f)?)
        }
        ("GET", ["2019-09-30", "functions", f, "provisioned-concurrency"]) => {
            Op::GetProvisionedConcurrencyConfig(label(f)?)
        }
        ("DELETE", ["2019-09-30", "functions", f, "provisioned-concurrency"]) => {
            Op::DeleteProvisionedConcurrencyConfig(label(f)?)
        }
        ("POST", ["2015-03-31", "functions", f, "policy"]) => Op::AddPermission(label(f)?),
        ("GET", ["2015-03-31", "functions", f, "policy"]) => Op::GetPolicy(label(f)?),
        ("DELETE", ["2015-03-31", "functions", f, "policy", sid]) => {
            Op::RemovePermission(label(f)?, label(sid)?)
        }
        (
            "POST",
            [
                "2021-11-15",
                "functions",
                f,
                "response-streaming-invocations",
            ],
        ) => Op::InvokeWithResponseStream(label(f)?),
        ("POST", ["2021-10-31", "functions", f, "url"]) => Op::CreateFunctionUrlConfig(label(f)?),
        ("GET", ["2021-10-31", "functions", f, "url"]) => Op::GetFunctionUrlConfig(label(f)?),
        ("PUT", ["2021-10-31", "functions", f, "url"]) => Op::UpdateFunctionUrlConfig(label(f)?),
        ("DELETE", ["2021-10-31", "functions", f, "url"]) => Op::DeleteFunctionUrlConfig(label(f)?),
        ("GET", ["2021-10-31", "functions", f, "urls"]) => Op::ListFunctionUrlConfigs(label(f)?),
        ("GET", ["_lambox", "admin", "logs"]) => Op::AdminLogs,
        ("GET", ["_lambox", "admin", "destination-records"]) => Op::AdminDestinationRecords,
        ("GET", ["_lambox", "code", sha]) => Op::DownloadCode(label(sha)?),
        ("GET", ["_lambox", "layer", sha]) => Op::DownloadLayer(label(sha)?),
        ("GET", ["2018-10-31", "layers"]) => Op::ListLayers,
        ("POST", ["2018-10-31", "layers", l, "versions"]) => Op::PublishLayerVersion(label(l)?),
        ("GET", ["2018-10-31", "layers", l, "versions"]) => Op::ListLayerVersions(label(l)?),
        ("GET", ["2018-10-31", "layers", l, "versions", v]) => {
            Op::GetLayerVersion(label(l)?, label(v)?)
        }
        ("DELETE", ["2018-10-31", "layers", l, "versions", v]) => {
            Op::DeleteLayerVersion(label(l)?, label(v)?)
        }
        ("POST", ["2018-10-31", "layers", l, "versions", v, "policy"]) => {
            Op::AddLayerVersionPermission(label(l)?, label(v)?)
        }
        ("GET", ["2018-10-31", "layers", l, "versions", v, "policy"]) => {
            Op::GetLayerVersionPolicy(label(l)?, label(v)?)
        }
        ("DELETE", ["2018-10-31", "layers", l, "versions", v, "policy", sid]) => {
            Op::RemoveLayerVersionPermission(label(l)?, label(v)?, label(sid)?)
        }
        ("GET", ["_lambox", "health"]) => Op::Health,
        _ => return None,
    };
    Some(op)
}

/// A query string taken apart: `(name, value)` pairs, decoded, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string. `+` stays `+`: AWS clients percent-encode spaces.
    pub fn parse(raw: Option<&str>) -> Self {
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        Self(
            raw.unwrap_or_default()
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(p), String::new()),
                })
                .collect(),
        )
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, for repeated keys such as `tagKeys`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// All pairs in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

#[cfg(test)]
mod tests;
