//! Code from S3: the deployment packages and layer archives CreateFunction,
//! UpdateFunctionCode and PublishLayerVersion name by `S3Bucket`/`S3Key` (deploy tools upload
//! there), fetched from the S3-compatible endpoint the configuration names (`[s3]`), signed with
//! SigV4, bounded in size and time. With no endpoint configured there is no S3, and every bucket
//! is missing, as AWS answers for one.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambox_core::LambdaError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::sigv4;

/// Where code in S3 is fetched from.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// An S3-compatible endpoint over plain HTTP (`http://127.0.0.1:9000`), addressed path-style
    /// (`<endpoint>/<bucket>/<key>`); empty: none (every bucket is missing).
    pub endpoint: String,
    /// The region requests are signed for.
    pub region: String,
    /// The access key requests are signed with.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// Seconds a whole download may take.
    pub timeout_seconds: u64,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log.
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"*****")
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            region: "us-east-1".to_owned(),
            access_key_id: "test".to_owned(),
            secret_access_key: "test".to_owned(),
            timeout_seconds: 120,
        }
    }
}

/// An object's location, as a Lambda request names it.
#[derive(Debug, Clone, Copy)]
pub struct S3Object<'a> {
    /// `S3Bucket`.
    pub bucket: &'a str,
    /// `S3Key`.
    pub key: &'a str,
    /// `S3ObjectVersion`.
    pub version: Option<&'a str>,
}

/// AWS's answer when GetObject fails, with S3's own code and message.
fn get_object_error(code: &str, message: &str) -> LambdaError {
    LambdaError::InvalidParameterValue(format!(
        "Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
    ))
}

/// The `<Code>` and `<Message>` of an S3 error document.
fn s3_error_parts(xml: &str) -> (String, String) {
    let field = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        xml.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&close))
            .map(|(v, _)| v.trim().to_owned())
    };
    (
        field("Code").unwrap_or_else(|| "InternalError".to_owned()),
        field("Message").unwrap_or_else(|| "The object could not be read.".to_owned()),
    )
}

/// Fetches an object (at most `max_bytes` of it) from the configured endpoint.
pub async fn get_object(
    config: &S3Config,
    object: S3Object<'_>,
    max_bytes: u64,
) -> Result<Vec<u8>, LambdaError> {
    if config.endpoint.is_empty() {
        return Err(get_object_error(
            "NoSuchBucket",
            "The specified bucket does not exist",
        ));
    }
    let Some(host) = config
        .endpoint
        .strip_prefix("http://")
        .map(|h| h.trim_end_matches('/'))
    else {
        return Err(LambdaError::Service(
            "s3.endpoint must be an http:// URL".to_owned(),
        ));
    };
    let path = format!("/{}/{}", object.bucket, object.key.trim_start_matches('/'));
    let query: Vec<(String, String)> = object
        .version
        .map(|v| vec![("versionId".to_owned(), v.to_owned())])
        .unwrap_or_default();
    let date = sigv4::amz_date(lambox_core::time::now_millis());
    let payload = lambox_core::code::lower_hex(&Sha256::digest(b""));
    let headers = vec![
        ("host".to_owned(), host.to_owned()),
        ("x-amz-content-sha256".to_owned(), payload.clone()),
        ("x-amz-date".to_owned(), date.clone()),
    ];
    let signer = sigv4::ClientSigner {
        access_key_id: &config.access_key_id,
        secret_access_key: &config.secret_access_key,
        region: &config.region,
        service: "s3",
    };
    // S3 signs the path encoded once: the canonical request encodes the decoded path.
    let authorization = signer.authorization(
        &sigv4::SignedRequest {
            method: "GET",
            raw_path: &path,
            query: &query,
            headers: &headers,
            payload_sha256: &payload,
        },
        &date,
    );
    let mut uri = format!("http://{host}{}", sigv4::uri_encode(&path, true));
    if let Some(v) = object.version {
        uri.push_str(&format!("?versionId={}", sigv4::uri_encode(v, false)));
    }
    let request = hyper::Request::get(uri)
        .header("host", host)
        .header("x-amz-content-sha256", &payload)
        .header("x-amz-date", &date)
        .header("authorization", authorization)
        .body(Empty::<Bytes>::new())
        .map_err(|e| LambdaError::Service(e.to_string()))?;
    let client = Client::builder(TokioExecutor::new()).build_http();
    let unreachable = |e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, endpoint = %config.endpoint, "S3 GetObject failed");
        LambdaError::Service(format!("Error occurred while GetObject: {e}"))
    };
    let fetch = async {
        let response = client.request(request).await.map_err(|e| unreachable(&e))?;
        let status = response.status();
        let mut body = response.into_body();
        let mut data = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| unreachable(&e))?;
            if let Ok(chunk) = frame.into_data() {
                if (data.len() + chunk.len()) as u64 > max_bytes {
                    return Err(LambdaError::InvalidParameterValue(format!(
                        "Unzipped size must be smaller than {max_bytes} bytes"
                    )));
                }
                data.extend_from_slice(&chunk);
            }
        }
        if !status.is_success() {
            let (code, message) = s3_error_parts(&String::from_utf8_lossy(&data));
            return Err(get_object_error(&code, &message));
        }
        Ok(data)
    };
    tokio::time::timeout(Duration::from_secs(config.timeout_seconds.max(1)), fetch)
        .await
        .map_err(|_| unreachable(&"timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_s3_error_documents() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key \
                   does not exist.</Message><Key>k</Key></Error>";
        assert_eq!(
            s3_error_parts(xml),
            (
                "NoSuchKey".to_owned(),
                "The specified key does not exist.".to_owned()
            )
        );
        assert_eq!(
            get_object_error("NoSuchKey", "The specified key does not exist.").to_string(),
            "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The \
             specified key does not exist."
        );
    }

    #[tokio::test]
    async fn without_an_endpoint_every_bucket_is_missing() {
        let e = get_object(
            &S3Config::default(),
            S3Object {
                bucket: "b",
                key: "k",
                version: None,
            },
            10,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("S3 Error Code: NoSuchBucket"));
    }
}
