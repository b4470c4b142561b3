//! lambox-core: the Lambda domain.
//!
//! It owns what every other crate agrees on: accounts and ARNs, the function model and its
//! validation with AWS's error messages, deployment-package checks, service limits, the error
//! type that the HTTP edge maps to AWS's error shapes, function revisions and their deploy-ids,
//! the `Backend` trait, the warm pool, and the push protocol spoken with sandbox agents. It
//! depends on no HTTP framework, database, Docker or Kubernetes crate; the pool does its I/O
//! through a `Backend`.

pub mod account;
pub mod alias;
pub mod answer_stream;
pub mod arn;
pub mod backend;
pub mod blocking;
pub mod checks;
pub mod code;
pub mod crypto;
pub mod env_vars;
pub mod error;
pub mod function;
pub mod layer;
pub mod lifecycle;
pub mod limits;
pub mod lines;
pub mod logfilter;
pub mod policy;
pub mod pool;
pub mod presign;
pub mod protocol;
pub mod revision;
pub mod runtime;
pub mod time;
pub mod validate;
pub mod zipwalk;

pub use error::LambdaError;
pub use limits::Limits;
pub use validate::ValidationErrors;
