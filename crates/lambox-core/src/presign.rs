//! Presigned download URLs, as AWS hands out for `Code.Location` (an S3 URL valid for ten
//! minutes): the query of a URL carries the account, an expiry and an HMAC of both and the
//! digest, under a key only this installation knows. Pure logic; the HTTP edge builds and
//! checks the URLs with it.

use crate::code::lower_hex;
use crate::crypto::{constant_time_eq, hmac_sha256};

/// How long a presigned URL is valid, as AWS's `Code.Location`.
pub const VALIDITY_SECONDS: i64 = 600;

/// What a presigned URL gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    /// A function's deployment package.
    Code,
    /// A layer version's archive.
    Layer,
}

impl Artifact {
    fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Layer => "layer",
        }
    }
}

/// Why a presigned URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresignError {
    /// A parameter is missing or malformed.
    #[error("the URL is not presigned")]
    Missing,
    /// The signature does not match.
    #[error("the signature does not match")]
    BadSignature,
    /// The URL has expired.
    #[error("the URL has expired")]
    Expired,
}

/// Signs and checks download URLs with an installation's key.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner").finish_non_exhaustive()
    }
}

/// The parameters of a presigned URL's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    /// The account the URL was handed to.
    pub account: String,
    /// Epoch seconds after which it is refused.
    pub expires: i64,
    /// Hex HMAC.
    pub signature: String,
}

impl Presigned {
    /// The query string: `Account=…&Expires=…&Signature=…`.
    pub fn query(&self) -> String {
        format!(
            "Account={}&Expires={}&Signature={}",
            self.account, self.expires, self.signature
        )
    }

    /// Reads the parameters from query pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Self> {
        let (mut account, mut expires, mut signature) = (None, None, None);
        for (k, v) in pairs {
            match k {
                "Account" => account = Some(v.to_owned()),
                "Expires" => expires = v.parse().ok(),
                "Signature" => signature = Some(v.to_owned()),
                _ => {}
            }
        }
        Some(Self {
            account: account?,
            expires: expires?,
            signature: signature?,
        })
    }
}

impl UrlSigner {
    /// A signer with `key` (kept secret by the installation).
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, artifact: Artifact, account: &str, digest: &str, expires: i64) -> String {
        let message = format!(
            "lambox-{}\n{account}\n{digest}\n{expires}",
            artifact.as_str()
        );
        lower_hex(&hmac_sha256(&self.key, message.as_bytes()))
    }

    /// Presigns access for `account` to the artifact with `digest`, from `now` (epoch seconds).
    pub fn sign(&self, artifact: Artifact, account: &str, digest: &str, now: i64) -> Presigned {
        let expires = now + VALIDITY_SECONDS;
        Presigned {
            account: account.to_owned(),
            expires,
            signature: self.mac(artifact, account, digest, expires),
        }
    }

    /// Checks a presigned URL for the artifact with `digest` at `now` (epoch seconds).
    pub fn verify(
        &self,
        artifact: Artifact,
        digest: &str,
        presigned: &Presigned,
        now: i64,
    ) -> Result<(), PresignError> {
        let expected = self.mac(artifact, &presigned.account, digest, presigned.expires);
        if !constant_time_eq(&expected, &presigned.signature) {
            return Err(PresignError::BadSignature);
        }
        if now > presigned.expires {
            return Err(PresignError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_for_one_digest_account_and_time() {
        let signer = UrlSigner::new(b"installation key");
        let p = signer.sign(Artifact::Code, "111111111111", "aa", 1000);
        assert_eq!(p.expires, 1600);
        assert_eq!(signer.verify(Artifact::Code, "aa", &p, 1599), Ok(()));
        assert_eq!(
            signer.verify(Artifact::Code, "aa", &p, 1601),
            Err(PresignError::Expired)
        );
        assert_eq!(
            signer.verify(Artifact::Code, "ab", &p, 1000),
            Err(PresignError::BadSignature)
        );
        assert_eq!(
            signer.verify(Artifact::Layer, "aa", &p, 1000),
            Err(PresignError::BadSignature)
        );
        let other_account = Presigned {
            account: "222222222222".into(),
            ..p.clone()
        };
        assert_eq!(
            signer.verify(Artifact::Code, "aa", &other_account, 1000),
            Err(PresignError::BadSignature)
        );
        let extended = Presigned {
            expires: p.expires + 3600,
            ..p.clone()
        };
        assert_eq!(
            signer.verify(Artifact::Code, "aa", &extended, 1000),
            Err(PresignError::BadSignature)
        );
        let other_key = UrlSigner::new(b"another installation");
        assert_eq!(
            other_key.verify(Artifact::Code, "aa", &p, 1000),
            Err(PresignError::BadSignature)
        );
    }

    #[test]
    fn query_round_trips() {
        let p = UrlSigner::new(b"k").sign(Artifact::Code, "111111111111", "aa", 5);
        let q = p.query();
        let pairs = q.split('&').filter_map(|kv| kv.split_once('='));
        assert_eq!(Presigned::from_pairs(pairs), Some(p));
        assert_eq!(Presigned::from_pairs([("Account", "1")]), None);
    }
}
