//! How long an embedded lambox takes from `spawn()` to its first answered request, against the
//! floor under it measured in the same run: opening a fresh store alone (SQLite, migrations) and
//! binding a port. Prints one JSON object with the samples and medians.
//!
//! `cargo run --release -p lambox-server --example embedded_start -- [RUNS]`
//! (`cargo xtask bench embed` runs it.)

use std::io::{Read, Write};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One ListFunctions over a fresh connection; whether it was answered 200.
fn list_functions(addr: std::net::SocketAddr) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let request = "GET /2015-03-31/functions HTTP/1.1\r\nHost: lambox\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    s.write_all(request.as_bytes()).is_ok()
        && s.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(20), |n| n.parse())?;
    let (mut start, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        // The floor: a fresh store and a bound port.
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        let store = lambox_store::Store::open(dir.path(), lambox_store::Durability::Normal).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        floor.push(t.elapsed().as_secs_f64() * 1000.0);
        drop((store, listener));

        let t = Instant::now();
        let lambox = lambox_server::Server::builder().spawn().await?;
        let addr = lambox.addr();
        let answered = tokio::task::spawn_blocking(move || list_functions(addr)).await?;
        start.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(answered, "the first request was not answered");
        lambox.shutdown().await;
    }
    let (s, f) = (median(start.clone()), median(floor.clone()));
    println!(
        "{}",
        serde_json::json!({
            "runs": runs,
            "start_to_first_answer_ms": {"median": s, "samples": start},
            "store_open_and_bind_ms": {"median": f, "samples": floor},
            "ratio": s / f,
        })
    );
    Ok(())
}
