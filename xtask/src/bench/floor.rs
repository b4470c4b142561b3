//! The floor of the control-plane benchmark: a trivial HTTP/1.1 endpoint that answers each Lambda
//! operation with a canned response of realistic size and does no work at all. The same client
//! timed against it shows what the client and loopback cost by themselves.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

const CONFIGURATION: &str = r#"{"FunctionName":"bench","FunctionArn":"arn:aws:lambda:us-east-1:111111111111:function:bench","Runtime":"python3.12","Role":"arn:aws:iam::111111111111:role/r","Handler":"handler.handler","CodeSize":160,"Description":"","Timeout":3,"MemorySize":128,"LastModified":"2026-11-26T00:00:00.000+0000","CodeSha256":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","Version":"$LATEST","TracingConfig":{"Mode":"PassThrough"},"RevisionId":"8f2e7a6c-1d3b-4c5e-9f00-123456789abc","State":"Active","LastUpdateStatus":"Successful","PackageType":"Zip","Architectures":["x86_64"],"EphemeralStorage":{"Size":512},"SnapStart":{"ApplyOn":"None","OptimizationStatus":"Off"},"RuntimeVersionConfig":{"RuntimeVersionArn":"arn:aws:lambda:us-east-1::runtime:0000000000000000000000000000000000000000000000000000000000000000"},"LoggingConfig":{"LogFormat":"Text","LogGroup":"/aws/lambda/bench"}}"#;

const ALIAS: &str = r#"{"AliasArn":"arn:aws:lambda:us-east-1:111111111111:function:bench:live","Description":"","FunctionVersion":"1","Name":"live","RevisionId":"8f2e7a6c-1d3b-4c5e-9f00-123456789abd"}"#;

const STATEMENT: &str = r#"{"Statement":"{\"Sid\":\"s1\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::123456789012:root\"},\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"arn:aws:lambda:us-east-1:111111111111:function:bench\"}"}"#;

const POLICY: &str = r#"{"Policy":"{\"Version\":\"2012-10-17\",\"Id\":\"default\",\"Statement\":[{\"Sid\":\"s1\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::123456789012:root\"},\"Action\":\"lambda:InvokeFunction\",\"Resource\":\"arn:aws:lambda:us-east-1:111111111111:function:bench\"}]}","RevisionId":"8f2e7a6c-1d3b-4c5e-9f00-123456789abe"}"#;

/// Starts the floor on a free loopback port; it lives as long as the process.
pub fn start() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = serve(stream);
            });
        }
    });
    Ok(port)
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let get_function = format!(
        r#"{{"Configuration":{CONFIGURATION},"Code":{{"RepositoryType":"S3","Location":"http://127.0.0.1/_lambox/code/0"}}}}"#
    );
    let list = format!(r#"{{"Functions":[{CONFIGURATION}]}}"#);
    let versions = format!(r#"{{"Versions":[{CONFIGURATION},{CONFIGURATION}]}}"#);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default();
        let path = path
            .split('?')
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        let (status, body) = match (method, path) {
            ("POST", "/2015-03-31/functions") => ("201 Created", CONFIGURATION),
            ("POST", p) if p.ends_with("/versions") => ("201 Created", CONFIGURATION),
            ("POST", p) if p.ends_with("/aliases") => ("201 Created", ALIAS),
            ("POST", p) if p.ends_with("/policy") => ("201 Created", STATEMENT),
            ("GET", "/2015-03-31/functions") => ("200 OK", list.as_str()),
            ("GET", p) if p.ends_with("/configuration") => ("200 OK", CONFIGURATION),
            ("GET", p) if p.ends_with("/versions") => ("200 OK", versions.as_str()),
            ("GET", p) if p.contains("/aliases/") => ("200 OK", ALIAS),
            ("GET", p) if p.ends_with("/policy") => ("200 OK", POLICY),
            ("GET", _) => ("200 OK", get_function.as_str()),
            ("DELETE", _) => ("204 No Content", ""),
            _ => ("404 Not Found", "{}"),
        };
        write!(
            writer,
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-amzn-requestid: 00000000-0000-0000-0000-000000000000\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )?;
        writer.flush()?;
    }
}
