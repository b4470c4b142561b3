//! AWS Signature Version 4: reading the `Authorization` header and recomputing the signature a
//! client must have made. Pure functions over strings; the HTTP edge feeds them.

use lambox_core::code::lower_hex;
pub use lambox_core::crypto::constant_time_eq;
use lambox_core::crypto::hmac_sha256;
use sha2::{Digest, Sha256};

/// The parts of an `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    /// The region of the credential scope.
    pub region: String,
    /// The service of the credential scope (`lambda`).
    pub service: String,
    /// Lowercase names of the signed headers, in the order given.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

impl Authorization {
    /// `<date>/<region>/<service>/aws4_request`.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// Parses an `Authorization` header; `Err` carries AWS's `IncompleteSignature` message.
pub fn parse_authorization(value: &str) -> Result<Authorization, String> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256").ok_or_else(|| {
        format!("Authorization header requires 'AWS4-HMAC-SHA256' algorithm. Authorization={value}")
    })?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let missing = |what: &str| {
        format!("Authorization header requires '{what}' parameter. Authorization={value}")
    };
    let credential = credential.ok_or_else(|| missing("Credential"))?;
    let signed = signed.ok_or_else(|| missing("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| missing("Signature"))?;
    let fields: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, "aws4_request"] = fields.as_slice() else {
        return Err(format!(
            "Credential should be scoped to a valid region, not '{credential}'. "
        ));
    };
    Ok(Authorization {
        access_key_id: (*key).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: signature.to_owned(),
    })
}

/// Only the access key id and region of an `Authorization` header, for deriving the caller
/// without verifying anything.
pub fn credential_scope(value: &str) -> Option<(&str, &str)> {
    let credential = value.split("Credential=").nth(1)?;
    let credential = credential.split([',', ' ']).next()?;
    let mut fields = credential.split('/');
    let key = fields.next()?;
    let _date = fields.next()?;
    let region = fields.next()?;
    Some((key, region))
}

/// The request as the signature covers it.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub raw_path: &'a str,
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    /// Header values by lowercase name (repeated headers listed repeatedly).
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body.
    pub payload_sha256: &'a str,
}

/// AWS's URI encoding: everything but unreserved characters (and `/` when `keep_slash`) as `%XX`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical request of SigV4 for a non-S3 service: the path, already encoded once by the
/// client, is encoded again.
pub fn canonical_request(req: &SignedRequest<'_>, signed_headers: &[String]) -> String {
    let path = if req.raw_path.is_empty() {
        "/"
    } else {
        req.raw_path
    };
    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    query.sort();
    let query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!(
        "{}\n{}\n{query}\n{headers}\n{}\n{}",
        req.method,
        uri_encode(path, true),
        signed_headers.join(";"),
        req.payload_sha256
    )
}

/// The signature a client holding `secret` computes for `canonical_request` at `amz_date`.
pub fn signature(
    secret: &str,
    auth: &Authorization,
    amz_date: &str,
    canonical_request: &str,
) -> String {
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        auth.scope(),
        lower_hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac_sha256(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    for part in [auth.region.as_str(), auth.service.as_str(), "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    lower_hex(&hmac_sha256(&key, string_to_sign.as_bytes()))
}

/// An `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) of a moment in epoch milliseconds.
pub fn amz_date(millis: i64) -> String {
    let t = lambox_core::time::format_timestamp(millis);
    format!(
        "{}{}{}T{}{}{}Z",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..13],
        &t[14..16],
        &t[17..19]
    )
}

/// Who signs a request lambox sends as a client (`lambox invoke`, fetching code from S3).
#[derive(Debug, Clone, Copy)]
pub struct ClientSigner<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// Its secret.
    pub secret_access_key: &'a str,
    /// The region of the credential scope.
    pub region: &'a str,
    /// The service of the credential scope (`lambda`, `s3`).
    pub service: &'a str,
}

impl ClientSigner<'_> {
    /// The `Authorization` value of a request signed at `amz_date` over all of `headers`
    /// (lower-case names, `host` and `x-amz-date` among them).
    pub fn authorization(&self, request: &SignedRequest<'_>, amz_date: &str) -> String {
        let signed: Vec<String> = request.headers.iter().map(|(k, _)| k.clone()).collect();
        let canonical = canonical_request(request, &signed);
        let auth = Authorization {
            access_key_id: self.access_key_id.to_owned(),
            date: amz_date[..8].to_owned(),
            region: self.region.to_owned(),
            service: self.service.to_owned(),
            signed_headers: signed.clone(),
            signature: String::new(),
        };
        let signature = signature(self.secret_access_key, &auth, amz_date, &canonical);
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={signature}",
            self.access_key_id,
            auth.scope(),
            signed.join(";")
        )
    }
}

/// Seconds since the Unix epoch of an `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`).
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    // Digits only: `parse` would also take a sign (found by the request_edge fuzz target).
    if !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, se) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example (IAM ListUsers), with its published signature.
    #[test]
    fn reproduces_aws_documentation_example() {
        let auth = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        )
        .unwrap();
        assert_eq!(auth.region, "us-east-1");
        let headers = [
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
            ("host".to_owned(), "iam.amazonaws.com".to_owned()),
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
        ];
        let query = [
            ("Version".to_owned(), "2010-05-08".to_owned()),
            ("Action".to_owned(), "ListUsers".to_owned()),
        ];
        let req = SignedRequest {
            method: "GET",
            raw_path: "/",
            query: &query,
            headers: &headers,
            payload_sha256: &lower_hex(&Sha256::digest(b"")),
        };
        let cr = canonical_request(&req, &auth.signed_headers);
        assert_eq!(
            lower_hex(&Sha256::digest(cr.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let sig = signature(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            &auth,
            "20150830T123600Z",
            &cr,
        );
        assert!(constant_time_eq(&sig, &auth.signature));
        assert!(!constant_time_eq(
            &signature("other", &auth, "20150830T123600Z", &cr),
            &auth.signature
        ));
    }

    /// AWS's documented example of a signed S3 GetObject ("Signature Calculations for the
    /// Authorization Header", GET Object), as lambox signs its requests for code in S3.
    #[test]
    fn signs_as_awss_s3_example() {
        let headers = [
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            (
                "x-amz-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-amz-date", "20130524T000000Z"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let signer = ClientSigner {
            access_key_id: "AKIAIOSFODNN7EXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "s3",
        };
        let authorization = signer.authorization(
            &SignedRequest {
                method: "GET",
                raw_path: "/test.txt",
                query: &[],
                headers: &headers,
                payload_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            },
            "20130524T000000Z",
        );
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn encodes_label_paths_twice() {
        let req = SignedRequest {
            method: "GET",
            raw_path: "/2015-03-31/functions/f%3A%24LATEST",
            query: &[],
            headers: &[],
            payload_sha256: "x",
        };
        assert!(
            canonical_request(&req, &[])
                .starts_with("GET\n/2015-03-31/functions/f%253A%2524LATEST\n")
        );
    }

    #[test]
    fn parses_scope_and_rejects_garbage() {
        assert_eq!(
            credential_scope(
                "AWS4-HMAC-SHA256 Credential=111111111111/20261126/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=00"
            ),
            Some(("111111111111", "eu-west-1"))
        );
        assert!(parse_authorization("Basic abc").is_err());
        assert!(
            parse_authorization("AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=0")
                .is_err()
        );
        assert!(parse_authorization("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=0").is_err());
    }

    #[test]
    fn amz_dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("2015-08-30"), None);
        assert_eq!(parse_amz_date("-026+201T120615Z"), None);
        assert_eq!(parse_amz_date("2026+201T120615Z"), None);
    }
}
