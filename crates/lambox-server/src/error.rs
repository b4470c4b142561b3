//! The one place where errors become AWS's wire format: the HTTP status of the shape,
//! `x-amzn-ErrorType: <Shape>`, and a JSON body whose message key is cased per shape.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lambox_core::LambdaError;
use lambox_store::StoreError;
use serde_json::{Map, Value};

/// An error an API request is answered with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A domain error of the Lambda API.
    #[error(transparent)]
    Lambda(#[from] LambdaError),
    /// No operation has this method and path.
    #[error("no operation for {0}")]
    UnknownOperation(String),
    /// The body is not the JSON the operation takes.
    #[error("{0}")]
    Serialization(String),
    /// Strict mode: the request is not signed.
    #[error("Missing Authentication Token")]
    MissingAuthentication,
    /// Strict mode: the `Authorization` header is malformed.
    #[error("{0}")]
    IncompleteSignature(String),
    /// Strict mode: the access key is not configured.
    #[error("The security token included in the request is invalid.")]
    UnrecognizedClient,
    /// Strict mode: the signature does not verify.
    #[error("{0}")]
    InvalidSignature(String),
    /// The client stopped sending its request.
    #[error("The request body was not received in time.")]
    RequestTimeout,
    /// An error of the CloudWatch Logs API (JSON 1.1: `__type` and `message`).
    #[error("{message}")]
    Logs {
        /// HTTP status.
        status: u16,
        /// `ResourceNotFoundException`, `InvalidParameterException`, ….
        code: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// How a shape goes on the wire.
struct Shape {
    status: StatusCode,
    name: &'static str,
    /// `message` or `Message`, per the shape in AWS's model.
    message_key: &'static str,
    /// Whether the body carries `"Type": "User"` (model shapes do; front-end errors do not).
    typed: bool,
}

const fn shape(status: u16, name: &'static str, message_key: &'static str, typed: bool) -> Shape {
    let status = match StatusCode::from_u16(status) {
        Ok(s) => s,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Shape {
        status,
        name,
        message_key,
        typed,
    }
}

impl ApiError {
    fn shape(&self) -> Shape {
        use LambdaError as L;
        match self {
            Self::Logs { status, code, .. } => shape(*status, code, "message", false),
            Self::Lambda(e) => match e {
                L::Validation(_) => shape(400, "ValidationException", "message", false),
                L::InvalidParameterValue(_) => {
                    shape(400, "InvalidParameterValueException", "message", true)
                }
                L::InvalidParameterValueUntyped(_) => {
                    shape(400, "InvalidParameterValueException", "message", false)
                }
                L::ResourceNotFound(_) => shape(404, "ResourceNotFoundException", "Message", true),
                L::ProvisionedConcurrencyConfigNotFound(_) => shape(
                    404,
                    "ProvisionedConcurrencyConfigNotFoundException",
                    "message",
                    true,
                ),
                L::PolicyLengthExceeded(_) => {
                    shape(400, "PolicyLengthExceededException", "message", true)
                }
                L::ResourceConflict(_) => shape(409, "ResourceConflictException", "message", true),
                L::PreconditionFailed(_) => {
                    shape(412, "PreconditionFailedException", "message", true)
                }
                L::RequestEntityTooLarge(_) => {
                    shape(413, "RequestEntityTooLargeException", "message", false)
                }
                L::RequestTooLarge(_) => shape(413, "RequestTooLargeException", "message", true),
                L::InvalidRequestContent(_) => {
                    shape(400, "InvalidRequestContentException", "message", true)
                }
                L::TooManyRequests { .. } => {
                    shape(429, "TooManyRequestsException", "message", true)
                }
                L::AccessDenied(_) => shape(403, "AccessDeniedException", "Message", false),
                L::Service(_) => shape(500, "ServiceException", "Message", true),
            },
            Self::UnknownOperation(_) => shape(404, "UnknownOperationException", "message", false),
            Self::Serialization(_) => shape(400, "SerializationException", "message", false),
            Self::MissingAuthentication => {
                shape(403, "MissingAuthenticationTokenException", "message", false)
            }
            Self::IncompleteSignature(_) => {
                shape(400, "IncompleteSignatureException", "message", false)
            }
            Self::UnrecognizedClient => shape(403, "UnrecognizedClientException", "message", false),
            Self::InvalidSignature(_) => shape(403, "InvalidSignatureException", "message", false),
            Self::RequestTimeout => shape(408, "RequestTimeoutException", "message", false),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Self::Lambda(LambdaError::Service(format!("lambox store failure: {e}")))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let shape = self.shape();
        let mut body = Map::new();
        if shape.typed {
            let kind = if shape.status.is_server_error() {
                "Service"
            } else {
                "User"
            };
            body.insert("Type".into(), Value::from(kind));
        }
        if let Self::Logs { code, .. } = &self {
            body.insert("__type".into(), Value::from(*code));
        }
        let message = match &self {
            Self::Lambda(LambdaError::AccessDenied(m)) if m.is_empty() => Value::Null,
            other => Value::from(other.to_string()),
        };
        body.insert(shape.message_key.into(), message);
        if let Self::Lambda(LambdaError::TooManyRequests { reason, .. }) = &self {
            body.insert("Reason".into(), Value::from(reason.as_str()));
        }
        if shape.status.is_server_error() {
            tracing::error!(code = shape.name, message = %self, "request failed");
        } else {
            tracing::debug!(code = shape.name, message = %self, "request refused");
        }
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        let mut response = (
            shape.status,
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response();
        response
            .headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(shape.name));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambox_core::ValidationErrors;

    async fn render(e: ApiError) -> (u16, String, Value) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let kind = r.headers()["x-amzn-ErrorType"].to_str().unwrap().to_owned();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, kind, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn casing_status_and_type_per_shape() {
        let (s, k, b) =
            render(LambdaError::function_not_found("arn:aws:lambda:us-east-1:1:function:f").into())
                .await;
        assert_eq!((s, k.as_str()), (404, "ResourceNotFoundException"));
        assert_eq!(
            b,
            serde_json::json!({"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:1:function:f"})
        );
        let (s, k, b) = render(LambdaError::InvalidParameterValue("bad".into()).into()).await;
        assert_eq!((s, k.as_str()), (400, "InvalidParameterValueException"));
        assert_eq!(b, serde_json::json!({"Type": "User", "message": "bad"}));
        let mut v = ValidationErrors::new();
        v.min_value("timeout", 0, 1);
        let (s, k, b) = render(LambdaError::Validation(v).into()).await;
        assert_eq!((s, k.as_str()), (400, "ValidationException"));
        assert_eq!(b.as_object().unwrap().len(), 1);
        assert!(
            b["message"]
                .as_str()
                .unwrap()
                .starts_with("1 validation error detected")
        );
        let (s, _, b) = render(
            LambdaError::TooManyRequests {
                message: "Rate Exceeded.".into(),
                reason: "ReservedFunctionConcurrentInvocationLimitExceeded".into(),
            }
            .into(),
        )
        .await;
        assert_eq!(s, 429);
        assert_eq!(
            b["Reason"],
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        );
        let (s, _, b) = render(ApiError::UnrecognizedClient).await;
        assert_eq!(s, 403);
        assert_eq!(
            b["message"],
            "The security token included in the request is invalid."
        );
    }
}
