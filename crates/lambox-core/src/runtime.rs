//! Runtime identifiers: which ones a function may be created with, which are deprecated, and the
//! family each belongs to.

use crate::error::LambdaError;

/// The runtimes CreateFunction and UpdateFunctionConfiguration accept, in the order AWS lists
/// them in its error message.
pub const SUPPORTED_RUNTIMES: [&str; 25] = [
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
];

/// Runtimes of AWS's enum that can no longer be used to create or update functions.
pub const DEPRECATED_RUNTIMES: [&str; 20] = [
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "java8",
    "python2.7",
    "python3.6",
    "python3.7",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
];

/// The language family of a runtime: what kind of runtime client a sandbox needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeFamily {
    /// `python3.x`.
    Python,
    /// `nodejsNN.x`.
    Node,
    /// `javaNN`.
    Java,
    /// `dotnetN`.
    Dotnet,
    /// `rubyN.N`.
    Ruby,
    /// `provided*` and `go1.x`: the function brings its own `bootstrap`.
    Provided,
}

impl RuntimeFamily {
    /// The family of a runtime identifier.
    pub fn of(runtime: &str) -> Self {
        if runtime.starts_with("python") {
            Self::Python
        } else if runtime.starts_with("nodejs") {
            Self::Node
        } else if runtime.starts_with("java") {
            Self::Java
        } else if runtime.starts_with("dotnet") {
            Self::Dotnet
        } else if runtime.starts_with("ruby") {
            Self::Ruby
        } else {
            Self::Provided
        }
    }
}

/// A stable runtime version ARN per runtime and region: AWS's shape, lambox's own identifier.
pub fn runtime_version_arn(region: &str, runtime: &str) -> String {
    let id = crate::code::lower_hex(&crate::code::sha256(runtime.as_bytes()));
    format!(
        "arn:{}:lambda:{region}::runtime:{id}",
        crate::arn::partition(region)
    )
}

/// Checks that `runtime` may be used to create or update a function, with AWS's messages.
pub fn check_runtime(runtime: &str) -> Result<(), LambdaError> {
    if SUPPORTED_RUNTIMES.contains(&runtime) {
        return Ok(());
    }
    if DEPRECATED_RUNTIMES.contains(&runtime) {
        return Err(LambdaError::InvalidParameterValue(format!(
            "The runtime parameter of {runtime} is no longer supported for creating or updating \
             AWS Lambda functions. We recommend you use a supported runtime while creating or \
             updating functions."
        )));
    }
    Err(LambdaError::InvalidParameterValue(format!(
        "Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value \
         set: [{}] or be a valid ARN",
        SUPPORTED_RUNTIMES.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_deprecated_and_unknown() {
        assert!(check_runtime("python3.12").is_ok());
        let LambdaError::InvalidParameterValue(m) = check_runtime("go1.x").unwrap_err() else {
            panic!()
        };
        assert!(m.starts_with("The runtime parameter of go1.x is no longer supported"));
        let LambdaError::InvalidParameterValue(m) = check_runtime("PYTHON3.9").unwrap_err() else {
            panic!()
        };
        assert!(m.starts_with("Value PYTHON3.9 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14,"));
        assert!(m.ends_with("provided.al2, java8.al2] or be a valid ARN"));
    }

    #[test]
    fn families() {
        assert_eq!(RuntimeFamily::of("python3.13"), RuntimeFamily::Python);
        assert_eq!(RuntimeFamily::of("nodejs22.x"), RuntimeFamily::Node);
        assert_eq!(
            RuntimeFamily::of("provided.al2023"),
            RuntimeFamily::Provided
        );
    }
}

/// lambox's own runtime clients, for sandboxes without `/var/runtime/bootstrap`.
pub mod clients {
    /// The Python runtime client (`runtimes/python/bootstrap.py`).
    pub const PYTHON: &str = include_str!("../../../runtimes/python/bootstrap.py");
    /// The Node.js runtime client (`runtimes/node/bootstrap.js`).
    pub const NODE: &str = include_str!("../../../runtimes/node/bootstrap.js");
}
