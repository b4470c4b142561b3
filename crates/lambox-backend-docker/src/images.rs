//! Which image a function runs in: its own for Image functions, else its runtime's, from a
//! configurable map whose defaults are AWS's public base images.

use std::collections::BTreeMap;

use lambox_core::function::PackageType;
use lambox_core::revision::FunctionRevision;
use lambox_core::runtime::RuntimeFamily;

/// AWS's public base image of a runtime (`python3.12` → `public.ecr.aws/lambda/python:3.12`).
pub fn aws_base_image(runtime: &str) -> Option<String> {
    let (repo, tag) = if let Some(v) = runtime.strip_prefix("python") {
        ("python", v.to_owned())
    } else if let Some(v) = runtime.strip_prefix("nodejs") {
        ("nodejs", v.trim_end_matches(".x").to_owned())
    } else if let Some(v) = runtime.strip_prefix("provided.") {
        ("provided", v.to_owned())
    } else if let Some(v) = runtime.strip_prefix("java") {
        ("java", v.to_owned())
    } else if let Some(v) = runtime.strip_prefix("ruby") {
        ("ruby", v.to_owned())
    } else if let Some(v) = runtime.strip_prefix("dotnet") {
        ("dotnet", v.to_owned())
    } else {
        return None;
    };
    Some(format!("public.ecr.aws/lambda/{repo}:{tag}"))
}

/// The configured map, consulted by exact runtime (`python3.12`) and then by family
/// (`python`, `nodejs`, `provided`, `java`, `ruby`, `dotnet`).
#[derive(Debug, Clone, Default)]
pub struct ImageMap(pub BTreeMap<String, String>);

fn family_name(runtime: &str) -> &'static str {
    match RuntimeFamily::of(runtime) {
        RuntimeFamily::Python => "python",
        RuntimeFamily::Node => "nodejs",
        RuntimeFamily::Java => "java",
        RuntimeFamily::Dotnet => "dotnet",
        RuntimeFamily::Ruby => "ruby",
        RuntimeFamily::Provided => "provided",
    }
}

impl ImageMap {
    /// The image a revision runs in.
    pub fn image_for(&self, rev: &FunctionRevision) -> Option<String> {
        if rev.config.package_type == PackageType::Image {
            return rev.config.image_uri.clone();
        }
        self.image_for_runtime(rev.config.runtime.as_deref()?)
    }

    /// The image functions of `runtime` run in.
    pub fn image_for_runtime(&self, runtime: &str) -> Option<String> {
        self.0
            .get(runtime)
            .or_else(|| self.0.get(family_name(runtime)))
            .cloned()
            .or_else(|| aws_base_image(runtime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_names() {
        assert_eq!(
            aws_base_image("python3.12").unwrap(),
            "public.ecr.aws/lambda/python:3.12"
        );
        assert_eq!(
            aws_base_image("nodejs22.x").unwrap(),
            "public.ecr.aws/lambda/nodejs:22"
        );
        assert_eq!(
            aws_base_image("provided.al2023").unwrap(),
            "public.ecr.aws/lambda/provided:al2023"
        );
        assert_eq!(
            aws_base_image("java21").unwrap(),
            "public.ecr.aws/lambda/java:21"
        );
    }

    #[test]
    fn map_prefers_exact_then_family_then_aws() {
        let map = ImageMap(BTreeMap::from([
            ("python3.12".to_owned(), "exact".to_owned()),
            ("python".to_owned(), "family".to_owned()),
        ]));
        let rev = |runtime: &str| {
            let config = lambox_core::function::FunctionConfig::new(
                "f",
                PackageType::Zip,
                "r".into(),
                None,
                None,
                &lambox_core::function::FunctionSettings {
                    runtime: Some(runtime.into()),
                    handler: Some("h.h".into()),
                    ..Default::default()
                },
            );
            FunctionRevision::new(
                "1".into(),
                "r".into(),
                "f".into(),
                "$LATEST".into(),
                "aa".into(),
                config,
            )
        };
        assert_eq!(map.image_for(&rev("python3.12")).unwrap(), "exact");
        assert_eq!(map.image_for(&rev("python3.13")).unwrap(), "family");
        assert_eq!(
            map.image_for(&rev("nodejs22.x")).unwrap(),
            "public.ecr.aws/lambda/nodejs:22"
        );
    }
}
