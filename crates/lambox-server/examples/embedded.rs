//! A real lambox in this process, driven by the AWS SDK for Rust: start it on a free port with
//! a temporary data directory, create a python function, invoke it, stop everything.
//!
//! `cargo build -p lambox-server --bin lambox && cargo run -p lambox-server --example embedded`
//!
//! Sandboxes run `lambox agent`: the embedded server finds the `lambox` binary next to this
//! program's directory (`target/debug`), or set `process.agent` to it.

use std::io::Write;

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lambox = lambox_server::Server::builder().spawn().await?;
    println!(
        "lambox at {} (data in {})",
        lambox.url(),
        lambox.data_dir().display()
    );

    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        // A 12-digit access key is the account; the secret is not checked outside strict mode.
        .credentials_provider(Credentials::new(
            "111111111111",
            "any",
            None,
            None,
            "example",
        ))
        .endpoint_url(lambox.url())
        .retry_config(RetryConfig::disabled())
        .build();
    let lambda = aws_sdk_lambda::Client::from_conf(config);

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("handler.py", zip::write::SimpleFileOptions::default())?;
    zip.write_all(b"def handler(event, context):\n    return {'hello': event['name']}\n")?;
    let zip = zip.finish()?.into_inner();

    lambda
        .create_function()
        .function_name("hello")
        .runtime(Runtime::Python312)
        .role("arn:aws:iam::111111111111:role/lambda")
        .handler("handler.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await?;
    let out = lambda
        .invoke()
        .function_name("hello")
        .payload(Blob::new(br#"{"name": "embedded lambox"}"#.to_vec()))
        .send()
        .await?;
    let answer = String::from_utf8_lossy(out.payload().map(|b| b.as_ref()).unwrap_or_default());
    println!("invoked: {answer}");
    assert_eq!(answer, r#"{"hello": "embedded lambox"}"#);

    lambox.shutdown().await;
    println!("stopped; its sandboxes are gone");
    Ok(())
}
