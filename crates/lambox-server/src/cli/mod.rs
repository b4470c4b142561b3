//! `lambox invoke`, `lambox logs` and `lambox pull`: small clients of a running lambox, signing
//! their requests with SigV4 so that they also work in strict mode (and, for `pull`, of the
//! Docker engine).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

use crate::auth::sigv4;

/// Which lambox to talk to, as whom.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:4566`.
    pub endpoint: String,
    /// Access key id (a 12-digit key is the account).
    pub access_key_id: String,
    /// Secret, for strict mode.
    pub secret_access_key: String,
    /// Region.
    pub region: String,
}

const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Target {
    async fn send(
        &self,
        method: &str,
        path: &str,
        query: &[(String, String)],
        extra_headers: &[(&str, &str)],
        body: Bytes,
    ) -> anyhow::Result<(u16, hyper::HeaderMap, Bytes)> {
        let host = self
            .endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let date = sigv4::amz_date(lambox_core::time::now_millis());
        let payload_hash = lambox_core::code::lower_hex(&Sha256::digest(&body));
        let headers = vec![
            ("host".to_owned(), host.clone()),
            ("x-amz-date".to_owned(), date.clone()),
        ];
        let signer = sigv4::ClientSigner {
            access_key_id: &self.access_key_id,
            secret_access_key: &self.secret_access_key,
            region: &self.region,
            service: "lambda",
        };
        // The path is encoded already; the canonical request encodes it again, as for every
        // service but S3.
        let authorization = signer.authorization(
            &sigv4::SignedRequest {
                method,
                raw_path: path,
                query,
                headers: &headers,
                payload_sha256: &payload_hash,
            },
            &date,
        );
        let query_string = query
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, LABEL),
                    utf8_percent_encode(v, LABEL)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let uri = if query_string.is_empty() {
            format!("http://{host}{path}")
        } else {
            format!("http://{host}{path}?{query_string}")
        };
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .header("x-amz-date", &date)
            .header("authorization", authorization)
            .header("content-type", "application/json");
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body))?;
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let response = client
            .request(request)
            .await
            .with_context(|| format!("cannot reach lambox at {}", self.endpoint))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, headers, body))
    }
}

fn api_error(status: u16, headers: &hyper::HeaderMap, body: &[u8]) -> anyhow::Error {
    let code = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Error");
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    anyhow::anyhow!("{code} ({status}): {message}")
}

/// Invokes a function and prints its result; exits 1 when the function failed.
pub async fn invoke(
    target: &Target,
    name: &str,
    payload: &str,
    qualifier: Option<&str>,
    tail: bool,
) -> anyhow::Result<ExitCode> {
    let path = format!(
        "/2015-03-31/functions/{}/invocations",
        utf8_percent_encode(name, LABEL)
    );
    let query: Vec<(String, String)> = qualifier
        .map(|q| vec![("Qualifier".to_owned(), q.to_owned())])
        .unwrap_or_default();
    let log_type: &[(&str, &str)] = if tail {
        &[("x-amz-log-type", "Tail")]
    } else {
        &[]
    };
    let (status, headers, body) = target
        .send(
            "POST",
            &path,
            &query,
            log_type,
            Bytes::from(payload.to_owned()),
        )
        .await?;
    if status >= 300 {
        return Err(api_error(status, &headers, &body));
    }
    if let Some(log) = headers
        .get("x-amz-log-result")
        .and_then(|v| v.to_str().ok())
        && let Ok(text) = base64::engine::general_purpose::STANDARD.decode(log)
    {
        eprint!("{}", String::from_utf8_lossy(&text));
    }
    println!("{}", String::from_utf8_lossy(&body));
    Ok(if headers.contains_key("x-amz-function-error") {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a function's invocation logs, and with `follow` keeps printing new ones.
pub async fn logs(target: &Target, name: &str, follow: bool) -> anyhow::Result<()> {
    let mut after = 0i64;
    loop {
        let query = vec![
            ("FunctionName".to_owned(), name.to_owned()),
            ("After".to_owned(), after.to_string()),
            ("Limit".to_owned(), "500".to_owned()),
        ];
        let (status, headers, body) = target
            .send("GET", "/_lambox/admin/logs", &query, &[], Bytes::new())
            .await?;
        if status >= 300 {
            return Err(api_error(status, &headers, &body));
        }
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        let entries = page["Invocations"].as_array().cloned().unwrap_or_default();
        for e in &entries {
            print!("{}", e["Log"].as_str().unwrap_or_default());
        }
        after = page["NextAfter"].as_i64().unwrap_or(after);
        if entries.len() == 500 {
            continue;
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The region a function ARN names (`arn:aws:lambda:eu-west-1:…:function:f`), if `name` is one.
pub fn region_of_arn(name: &str) -> Option<String> {
    let mut fields = name.strip_prefix("arn:")?.split(':');
    let region = fields.nth(2)?;
    (!region.is_empty()).then(|| region.to_owned())
}

/// The region when none is given, as the AWS CLI finds it: `AWS_DEFAULT_REGION`, else the
/// `region` of the profile (`AWS_PROFILE`, else `default`) in the config file (`AWS_CONFIG_FILE`,
/// else `~/.aws/config`), else us-east-1.
pub fn default_region() -> String {
    if let Ok(r) = std::env::var("AWS_DEFAULT_REGION")
        && !r.is_empty()
    {
        return r;
    }
    let file = std::env::var("AWS_CONFIG_FILE").ok().or_else(|| {
        std::env::var("HOME")
            .ok()
            .map(|h| format!("{h}/.aws/config"))
    });
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    file.and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|text| profile_region(&text, &profile))
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// The `region` of `profile` in the text of an AWS CLI config file (`[default]`,
/// `[profile NAME]` sections).
pub fn profile_region(config: &str, profile: &str) -> Option<String> {
    let wanted = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    let mut in_profile = false;
    for line in config.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = section.trim() == wanted;
        } else if in_profile
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "region"
        {
            return Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        }
    }
    None
}

/// Fails unless `payload` is JSON, as Lambda requires of an event.
pub fn check_payload(payload: &str) -> anyhow::Result<()> {
    if serde_json::from_str::<serde::de::IgnoredAny>(payload).is_err() {
        bail!("--payload must be JSON");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{profile_region, region_of_arn};

    #[test]
    fn regions_of_arns() {
        assert_eq!(
            region_of_arn("arn:aws:lambda:eu-west-1:111111111111:function:f").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of_arn("f"), None);
        assert_eq!(region_of_arn("111111111111:function:f"), None);
    }

    #[test]
    fn regions_of_profiles() {
        let config = "[default]\nregion = eu-west-1\n\n[profile dev]\noutput = json\nregion=ap-south-1\n[profile empty]\n";
        assert_eq!(
            profile_region(config, "default").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(profile_region(config, "dev").as_deref(), Some("ap-south-1"));
        assert_eq!(profile_region(config, "empty"), None);
        assert_eq!(profile_region(config, "missing"), None);
    }
}

#[cfg(feature = "docker")]
mod pull;
#[cfg(feature = "docker")]
pub use pull::{progress_line, pull};
