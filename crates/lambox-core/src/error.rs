//! The errors of the Lambda domain, one variant per AWS error shape that lambox answers with.
//!
//! Libraries return these; the HTTP edge maps each variant once to its status code, its
//! `x-amzn-ErrorType` and the casing of its message key.

use crate::validate::ValidationErrors;

/// An error that a Lambda API operation answers with.
///
/// Deliberately not `#[non_exhaustive]`, unlike lambox's other error enums: the HTTP edge maps
/// every variant to its AWS shape, and a new variant must fail to compile there rather than fall
/// into a catch-all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LambdaError {
    /// Framework-level constraint failures (`ValidationException`, 400).
    #[error("{0}")]
    Validation(ValidationErrors),
    /// `InvalidParameterValueException` (400).
    #[error("{0}")]
    InvalidParameterValue(String),
    /// `InvalidParameterValueException` (400) as AWS sends it for concurrency limits and a few
    /// alias rules: without the `Type` key the other parameter errors carry (recorded).
    #[error("{0}")]
    InvalidParameterValueUntyped(String),
    /// `ResourceNotFoundException` (404).
    #[error("{0}")]
    ResourceNotFound(String),
    /// `ResourceConflictException` (409).
    #[error("{0}")]
    ResourceConflict(String),
    /// `PreconditionFailedException` (412): a stale `RevisionId`.
    #[error("{0}")]
    PreconditionFailed(String),
    /// `RequestEntityTooLargeException` (413): a request or zipped code over its limit.
    #[error("{0}")]
    RequestEntityTooLarge(String),
    /// `RequestTooLargeException` (413): an invoke payload over its limit.
    #[error("{0}")]
    RequestTooLarge(String),
    /// `InvalidRequestContentException` (400): a body that does not parse.
    #[error("{0}")]
    InvalidRequestContent(String),
    /// `TooManyRequestsException` (429) with its `Reason`.
    #[error("{message}")]
    TooManyRequests {
        /// The human-readable message.
        message: String,
        /// AWS's machine-readable reason, e.g. `ReservedFunctionConcurrentInvocationLimitExceeded`.
        reason: String,
    },
    /// `ProvisionedConcurrencyConfigNotFoundException` (404).
    #[error("{0}")]
    ProvisionedConcurrencyConfigNotFound(String),
    /// `PolicyLengthExceededException` (400): a policy over 20 KB.
    #[error("{0}")]
    PolicyLengthExceeded(String),
    /// `AccessDeniedException` (403); an empty message is sent as `null`, as AWS sends it for
    /// CreateFunction with another account's ARN.
    #[error("{0}")]
    AccessDenied(String),
    /// `ServiceException` (500): something failed on lambox's side.
    #[error("{0}")]
    Service(String),
}

impl LambdaError {
    /// `ResourceNotFoundException` with AWS's `Function not found: <arn>` message.
    pub fn function_not_found(arn: &str) -> Self {
        Self::ResourceNotFound(format!("Function not found: {arn}"))
    }

    /// `PreconditionFailedException` for a function or alias `RevisionId` mismatch.
    pub fn revision_mismatch() -> Self {
        Self::PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. \
             Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
                .to_owned(),
        )
    }
}

impl From<ValidationErrors> for LambdaError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}
