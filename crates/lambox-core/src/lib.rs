//! lambox-core: the Lambda domain, free of I/O.
//!
//! It owns what every other crate agrees on: accounts and ARNs, the function model and its
//! validation with AWS's error messages, deployment-package checks, service limits and the
//! error type that the HTTP edge maps to AWS's error shapes. It depends on no HTTP framework,
//! database, Docker or Kubernetes crate.

pub mod account;
pub mod arn;
pub mod checks;
pub mod code;
pub mod env_vars;
pub mod error;
pub mod function;
pub mod limits;
pub mod runtime;
pub mod time;
pub mod validate;

pub use error::LambdaError;
pub use limits::Limits;
pub use validate::ValidationErrors;
