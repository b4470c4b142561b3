//! A request's deployment package: `ZipFile` (decoded from base64 while the request's JSON is
//! parsed) or an object in S3, checked against the limits before anything is stored.
//!
//! A 45 MB package arrives as 63 MB of base64 inside the JSON body. Decoding it in the parse,
//! straight from the body's bytes, and dropping the body then, keeps one copy of the package at a
//! time in memory, where holding the body, an owned copy of its base64 string and the decoded
//! zip until the write peaked at 311 MB.

use axum::body::Bytes;
use base64::Engine;
use lambox_core::LambdaError;
use lambox_core::code::{inspect_zip, lower_hex, sha256};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use super::Ctx;
use crate::error::ApiError;

/// `ZipFile`: the decoded zip.
#[derive(Debug, Default)]
pub(super) struct ZipFile(pub Vec<u8>);

impl<'de> Deserialize<'de> for ZipFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Base64;
        impl Visitor<'_> for Base64 {
            type Value = ZipFile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a base64 string")
            }
            // Borrowed from the body when it has no escapes (boto3, the CLI and the SDKs send
            // none): no copy of the base64 is made.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ZipFile, E> {
                base64::engine::general_purpose::STANDARD
                    .decode(v.as_bytes())
                    .map(ZipFile)
                    .map_err(|e| E::custom(format!("ZipFile is not valid base64: {e}")))
            }
        }
        deserializer.deserialize_str(Base64)
    }
}

/// Bodies larger than this are parsed off the async threads' turn (`block_here`).
const LARGE_BODY: usize = 256 * 1024;

/// Parses the body of an operation that carries a package and drops it: what the operation
/// keeps is the parsed input, with the package decoded.
pub(super) fn parse_package_request<T: DeserializeOwned>(body: Bytes) -> Result<T, ApiError> {
    let parse = || super::parse_json(&body);
    if body.len() < LARGE_BODY {
        parse()
    } else {
        lambox_core::blocking::block_here(parse)
    }
}

/// The answer when a Zip function's code is given neither inline nor as an S3 object.
pub(super) fn missing_zip() -> LambdaError {
    LambdaError::InvalidParameterValue("Please provide a source for function code.".to_owned())
}

/// The package a request gives: `ZipFile`, or the object `S3Bucket`/`S3Key` (and
/// `S3ObjectVersion`) name, fetched from the configured S3 endpoint; checked either way.
pub(super) async fn package(
    ctx: &Ctx<'_>,
    zip_file: Option<ZipFile>,
    bucket: Option<&str>,
    key: Option<&str>,
    version: Option<&str>,
) -> Result<CheckedZip, ApiError> {
    match (zip_file, bucket, key) {
        (Some(ZipFile(zip)), _, _) => {
            check_package(ctx, zip, ctx.state.config.limits.max_zipped_bytes).await
        }
        (None, Some(bucket), Some(key)) => {
            // A package in S3 may be as large as its unzipped limit (the zipped one is for
            // uploads).
            let limit = ctx.state.config.limits.max_unzipped_bytes;
            let object = crate::s3::S3Object {
                bucket,
                key,
                version,
            };
            let bytes = crate::s3::get_object(&ctx.state.config.s3, object, limit).await?;
            check_package(ctx, bytes, limit).await
        }
        (None, Some(_), None) | (None, None, Some(_)) => Err(LambdaError::InvalidParameterValue(
            "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The \
             specified key does not exist."
                .to_owned(),
        )
        .into()),
        (None, None, None) => Err(missing_zip().into()),
    }
}

/// `CodeSha256` (hex) and `CodeSize` of new code: the zip's, or, for an image, the digest of
/// its URI (lambox does not pull images to learn their manifest digest).
pub(super) fn code_identity(zip: Option<&CheckedZip>, image_uri: Option<&str>) -> (String, u64) {
    match (zip, image_uri) {
        (Some(z), _) => (z.sha256_hex.clone(), z.size),
        (None, uri) => (lower_hex(&sha256(uri.unwrap_or_default().as_bytes())), 0),
    }
}

/// A decoded and checked zip, ready for the store.
pub(super) struct CheckedZip {
    pub bytes: Vec<u8>,
    pub sha256_hex: String,
    pub size: u64,
    pub unzipped_size: u64,
}

/// Checks a package against the limits (`max_zipped` its size) and its tree.
async fn check_package(
    ctx: &Ctx<'_>,
    bytes: Vec<u8>,
    max_zipped: u64,
) -> Result<CheckedZip, ApiError> {
    let max_unzipped = ctx.state.config.limits.max_unzipped_bytes;
    let small = bytes.len() < 192 * 1024;
    let check = move || {
        let package = inspect_zip(&bytes, max_zipped, max_unzipped).map_err(|e| {
            tracing::debug!(reason = %e, "deployment package refused");
            ApiError::from(LambdaError::from(e))
        })?;
        Ok(CheckedZip {
            sha256_hex: lower_hex(&package.sha256),
            size: package.zipped_size,
            unzipped_size: package.unzipped_size,
            bytes,
        })
    };
    if small {
        return check();
    }
    tokio::task::spawn_blocking(check)
        .await
        .map_err(|e| ApiError::from(LambdaError::Service(e.to_string())))?
}
