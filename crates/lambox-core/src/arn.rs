//! Function names and ARNs: parsing the `FunctionName` parameter in all the forms AWS accepts
//! (name, `name:qualifier`, partial ARN, full ARN) and formatting ARNs.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::LambdaError;
use crate::validate::ValidationErrors;

/// `$LATEST`, the unpublished version every function has.
pub const LATEST: &str = "$LATEST";

/// AWS's pattern for `FunctionName` (create and update operations), as AWS prints it.
pub const FUNCTION_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";

/// AWS's pattern for `NamespacedFunctionName` (get, delete, invoke), as AWS prints it.
pub const NAMESPACED_FUNCTION_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?";

/// AWS's pattern for the `Qualifier` query parameter, as AWS prints it.
pub const QUALIFIER_PATTERN: &str = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+";

// The same patterns with named groups, `-` moved to the end of classes (the regex crate reads
// `9-_` as a range) and full-match anchoring, as AWS's Java front end applies them.
static FUNCTION_NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:(?P<region>(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$",
    )
    .expect("function name pattern")
});
static NAMESPACED_FUNCTION_NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:arn:(?:aws[a-zA-Z-]*)?:lambda:)?(?:(?P<region>(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_-]+))?$",
    )
    .expect("namespaced function name pattern")
});
static QUALIFIER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\$LATEST(?:\.PUBLISHED)?|[a-zA-Z0-9_$-]+)$").expect("qualifier pattern")
});

/// Which of AWS's two function-name shapes an operation's `FunctionName` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameShape {
    /// `FunctionName`: at most 140 characters; used by create and update operations.
    Plain,
    /// `NamespacedFunctionName`: at most 256 characters, dots allowed; used by get, delete, invoke.
    Namespaced,
}

impl NameShape {
    fn max_len(self) -> usize {
        match self {
            Self::Plain => 140,
            Self::Namespaced => 256,
        }
    }
    fn pattern(self) -> &'static str {
        match self {
            Self::Plain => FUNCTION_NAME_PATTERN,
            Self::Namespaced => NAMESPACED_FUNCTION_NAME_PATTERN,
        }
    }
    fn regex(self) -> &'static Regex {
        match self {
            Self::Plain => &FUNCTION_NAME_RE,
            Self::Namespaced => &NAMESPACED_FUNCTION_NAME_RE,
        }
    }
}

/// A `FunctionName` parameter taken apart: the parts an ARN or partial ARN names, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The region of a full ARN.
    pub region: Option<String>,
    /// The account of a full or partial ARN.
    pub account: Option<String>,
    /// The bare function name.
    pub name: String,
    /// A qualifier after the name (`name:qualifier`).
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses `input` against the constraints of `shape`, reporting violations as AWS does.
    pub fn parse(input: &str, shape: NameShape) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let len = input.chars().count();
        if len == 0 {
            errors.violation(
                "functionName",
                input,
                "Member must have length greater than or equal to 1",
            );
        } else if len > shape.max_len() {
            errors.max_length("functionName", input, shape.max_len());
        }
        let captures = shape.regex().captures(input);
        if captures.is_none() {
            errors.pattern("functionName", input, shape.pattern());
        }
        errors.into_result()?;
        let c = captures.expect("checked above");
        let part = |n: &str| c.name(n).map(|m| m.as_str().to_owned());
        Ok(Self {
            region: part("region"),
            account: part("account"),
            name: part("name").expect("name group always matches"),
            qualifier: part("qualifier"),
        })
    }

    /// Settles which function and qualifier of `(account, region)` this refers to.
    ///
    /// `query_qualifier` is the `Qualifier` parameter; it must agree with a qualifier given in the
    /// name. An ARN of another region is not reachable; one of another account is denied.
    pub fn resolve(
        self,
        account: &str,
        region: &str,
        query_qualifier: Option<&str>,
    ) -> Result<ResolvedFunction, LambdaError> {
        if let Some(arn_region) = &self.region
            && arn_region != region
        {
            return Err(LambdaError::ResourceNotFound(format!(
                "Functions from '{arn_region}' are not reachable in this region ('{region}')"
            )));
        }
        if let Some(arn_account) = &self.account
            && arn_account != account
        {
            // AWS's answer carries no message (recorded: `"Message": null`).
            return Err(LambdaError::AccessDenied(String::new()));
        }
        let qualifier = match (self.qualifier, query_qualifier) {
            (Some(a), Some(b)) if a != b => {
                return Err(LambdaError::InvalidParameterValue(
                    "The derived qualifier from the function name does not match the specified qualifier."
                        .to_owned(),
                ));
            }
            (Some(a), _) => Some(a),
            (None, b) => b.map(str::to_owned),
        };
        Ok(ResolvedFunction {
            name: self.name,
            qualifier,
        })
    }
}

/// A function reference settled to the caller's account and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFunction {
    /// The bare function name.
    pub name: String,
    /// The version or alias asked for, if any.
    pub qualifier: Option<String>,
}

/// Checks the `Qualifier` query parameter of get, delete and invoke operations.
pub fn check_qualifier(qualifier: &str, errors: &mut ValidationErrors) {
    let len = qualifier.chars().count();
    if len == 0 {
        errors.violation(
            "qualifier",
            qualifier,
            "Member must have length greater than or equal to 1",
        );
    } else if len > 128 {
        errors.max_length("qualifier", qualifier, 128);
    }
    if !QUALIFIER_RE.is_match(qualifier) {
        errors.pattern("qualifier", qualifier, QUALIFIER_PATTERN);
    }
}

/// The partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`, …).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
pub fn function_arn(region: &str, account: &str, name: &str, qualifier: Option<&str>) -> String {
    let p = partition(region);
    match qualifier {
        Some(q) => format!("arn:{p}:lambda:{region}:{account}:function:{name}:{q}"),
        None => format!("arn:{p}:lambda:{region}:{account}:function:{name}"),
    }
}

/// Whether `region` looks like an AWS region name (`us-east-1`, `us-gov-west-1`, …).
pub fn is_region(region: &str) -> bool {
    static REGION_RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:eusc-)?[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$").expect("region pattern")
    });
    REGION_RE.is_match(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> FunctionRef {
        FunctionRef::parse(s, NameShape::Namespaced).unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(parse("f").name, "f");
        let q = parse("f:1");
        assert_eq!((q.name.as_str(), q.qualifier.as_deref()), ("f", Some("1")));
        let partial = parse("123456789012:function:f");
        assert_eq!(partial.account.as_deref(), Some("123456789012"));
        assert_eq!(partial.region, None);
        let full = parse("arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST");
        assert_eq!(full.region.as_deref(), Some("eu-west-1"));
        assert_eq!(full.qualifier.as_deref(), Some("$LATEST"));
        // An ARN without a name takes `function` as the name, as AWS does.
        assert_eq!(
            parse("arn:aws:lambda:us-east-1:123456789012:function").name,
            "function"
        );
        assert_eq!(parse("function:f").name, "f");
    }

    #[test]
    fn rejects_what_aws_rejects() {
        for bad in [
            "*",
            "my-function!",
            "invalid-account:function:f",
            "arn:aws:lambda:invalid-region:111111111111:function:f",
            "arn:aws:ec2:us-east-1:111111111111:instance:i-1",
            "arn:aws:lambda:us-east-1:111111111111:function:f:1:2",
            "function:f:$LATEST:extra",
            "arn:aws:lambda::111111111111:function:f",
            "arn:aws:lambda:us-east-1::function:f",
            "arn:aws:lambda:us-east-1:111111111111:function:f:$LATES",
        ] {
            let e = FunctionRef::parse(bad, NameShape::Namespaced).unwrap_err();
            assert_eq!(e.items().len(), 1, "{bad}");
            assert!(e.items()[0].contains("regular expression pattern"), "{bad}");
        }
    }

    #[test]
    fn plain_shape_is_stricter() {
        assert!(FunctionRef::parse("a.b", NameShape::Plain).is_err());
        assert!(FunctionRef::parse("a.b", NameShape::Namespaced).is_ok());
        let long = format!(
            "arn:aws:lambda:invalid-region:111111111111:function:{}",
            "a".repeat(140)
        );
        let e = FunctionRef::parse(&long, NameShape::Plain).unwrap_err();
        assert_eq!(e.items().len(), 2);
        assert!(e.items()[0].ends_with("Member must have length less than or equal to 140"));
    }

    #[test]
    fn resolves_against_caller() {
        let r = parse("arn:aws:lambda:us-east-1:111111111111:function:f:prod")
            .resolve("111111111111", "us-east-1", Some("prod"))
            .unwrap();
        assert_eq!(r.qualifier.as_deref(), Some("prod"));
        let wrong_region = parse("arn:aws:lambda:ap-southeast-1:111111111111:function:f")
            .resolve("111111111111", "us-east-1", None)
            .unwrap_err();
        assert_eq!(
            wrong_region,
            LambdaError::ResourceNotFound(
                "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')"
                    .into()
            )
        );
        assert!(matches!(
            parse("f:1").resolve("111111111111", "us-east-1", Some("2")),
            Err(LambdaError::InvalidParameterValue(_))
        ));
        assert!(matches!(
            parse("222222222222:function:f").resolve("111111111111", "us-east-1", None),
            Err(LambdaError::AccessDenied(_))
        ));
    }

    #[test]
    fn qualifier_constraints() {
        let mut e = ValidationErrors::new();
        check_qualifier("invalid!", &mut e);
        check_qualifier(&"a".repeat(129), &mut e);
        check_qualifier("$LATEST", &mut e);
        check_qualifier("1", &mut e);
        assert_eq!(e.items().len(), 2);
    }

    #[test]
    fn arns_and_partitions() {
        assert_eq!(
            function_arn("cn-north-1", "111111111111", "f", Some("1")),
            "arn:aws-cn:lambda:cn-north-1:111111111111:function:f:1"
        );
        assert!(is_region("us-east-1"));
        assert!(is_region("us-gov-west-1"));
        assert!(!is_region("nowhere"));
    }
}
