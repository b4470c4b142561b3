//! The Lambda API in-process: `app()` driven with `oneshot` against a real SQLite store in a
//! temporary directory and an in-memory backend, one module per concern, so that most API
//! behaviour is checked in milliseconds. The end-to-end suites (`tests/python`, `tests/e2e`)
//! drive the real binary with real clients; `embedding` starts real servers in this process.

mod accounts;
mod embedding;
mod functions;
mod invoke;
mod routing;
mod strict_auth;
mod support;
mod validation;
