//! Who a request acts for: the account and region from the SigV4 credential scope, and, in
//! strict mode, proof that the caller holds the configured secret.

pub mod sigv4;

use std::collections::HashMap;

use axum::http::request::Parts;
use lambox_core::account::account_from_access_key;
use sha2::{Digest, Sha256};

use crate::config::AuthConfig;
use crate::error::ApiError;
use crate::routing::Query;

/// The account and region a request acts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// 12-digit account id.
    pub account: String,
    /// Region from the credential scope.
    pub region: String,
}

#[derive(Clone)]
struct Secret {
    secret_access_key: String,
    account: Option<String>,
}

/// Derives callers from requests, verifying signatures in strict mode.
#[derive(Clone)]
pub struct Authenticator {
    default_account: String,
    default_region: String,
    strict: bool,
    max_skew_seconds: i64,
    credentials: HashMap<String, Secret>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Access key ids only: secrets never reach a log.
        f.debug_struct("Authenticator")
            .field("default_account", &self.default_account)
            .field("strict", &self.strict)
            .field("access_keys", &self.credentials.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// From the configuration.
    pub fn new(default_account: &str, default_region: &str, auth: &AuthConfig) -> Self {
        Self {
            default_account: default_account.to_owned(),
            default_region: default_region.to_owned(),
            strict: auth.strict,
            max_skew_seconds: i64::from(auth.max_clock_skew_seconds),
            credentials: auth
                .credentials
                .iter()
                .map(|c| {
                    (
                        c.access_key_id.clone(),
                        Secret {
                            secret_access_key: c.secret_access_key.clone(),
                            account: c.account.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    fn account_for(&self, access_key_id: &str) -> String {
        self.credentials
            .get(access_key_id)
            .and_then(|s| s.account.clone())
            .or_else(|| account_from_access_key(access_key_id))
            .unwrap_or_else(|| self.default_account.clone())
    }

    /// The caller of a request signed for `service` (`lambda`). Without strict mode any
    /// signature (or none) is accepted.
    pub fn caller(
        &self,
        parts: &Parts,
        query: &Query,
        body: &[u8],
        service: &str,
    ) -> Result<Caller, ApiError> {
        let authorization = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if !self.strict {
            return Ok(match authorization.and_then(sigv4::credential_scope) {
                Some((key, region)) => Caller {
                    account: self.account_for(key),
                    region: if region.is_empty() {
                        self.default_region.clone()
                    } else {
                        region.to_owned()
                    },
                },
                None => Caller {
                    account: self.default_account.clone(),
                    region: self.default_region.clone(),
                },
            });
        }
        let authorization = authorization.ok_or(ApiError::MissingAuthentication)?;
        let auth =
            sigv4::parse_authorization(authorization).map_err(ApiError::IncompleteSignature)?;
        let secret = self
            .credentials
            .get(&auth.access_key_id)
            .ok_or(ApiError::UnrecognizedClient)?;
        let amz_date = parts
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::IncompleteSignature(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                        .to_owned(),
                )
            })?;
        let signed_at = sigv4::parse_amz_date(amz_date).ok_or_else(|| {
            ApiError::IncompleteSignature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
            ))
        })?;
        if auth.service != service {
            return Err(ApiError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{service}'. "
            )));
        }
        if amz_date.get(..8) != Some(auth.date.as_str()) {
            return Err(ApiError::InvalidSignature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
                 from HTTP: '{}' != '{}', from '{amz_date}'.",
                auth.date,
                &amz_date[..8]
            )));
        }
        let now = lambox_core::time::now_millis() / 1000;
        if (now - signed_at).abs() > self.max_skew_seconds {
            return Err(ApiError::InvalidSignature(format!(
                "Signature expired: {amz_date} is now earlier or later than the allowed {} seconds of clock skew.",
                self.max_skew_seconds
            )));
        }
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        // The signature covers the body through its hash, which lambox computes itself: a
        // client's `x-amz-content-sha256` is never trusted, or a captured request could be
        // replayed with another body. `UNSIGNED-PAYLOAD` is signed as that literal.
        let unsigned = parts
            .headers
            .get("x-amz-content-sha256")
            .is_some_and(|h| h.as_bytes() == b"UNSIGNED-PAYLOAD");
        let payload = if unsigned {
            "UNSIGNED-PAYLOAD".to_owned()
        } else {
            lambox_core::code::lower_hex(&Sha256::digest(body))
        };
        let method = parts.method.as_str();
        let request = sigv4::SignedRequest {
            method,
            raw_path: parts.uri.path(),
            query: query.pairs(),
            headers: &headers,
            payload_sha256: &payload,
        };
        let canonical = sigv4::canonical_request(&request, &auth.signed_headers);
        let expected = sigv4::signature(&secret.secret_access_key, &auth, amz_date, &canonical);
        if !sigv4::constant_time_eq(&expected, &auth.signature) {
            return Err(ApiError::InvalidSignature(
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
                    .to_owned(),
            ));
        }
        Ok(Caller {
            account: self.account_for(&auth.access_key_id),
            region: auth.region,
        })
    }
}
