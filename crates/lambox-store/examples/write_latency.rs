//! Measures what one durable write costs through sqlx on this machine: a single-row INSERT on a
//! held connection, in WAL mode with `synchronous=NORMAL` and `=FULL`, 3000 times each.
//!
//! `cargo run --release -p lambox-store --example write_latency [-- WRITES]` (3000 by default;
//! the test command runs it with a few to keep it working).
//!
//! It is the floor under every control-plane write of lambox (see the note of the control-plane
//! benchmark): no store code of lambox's can be faster than this.

use std::time::Instant;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let writes: usize = std::env::args()
        .nth(1)
        .map_or(Ok(3000), |n| n.parse())?
        .max(10);
    for sync in [SqliteSynchronous::Normal, SqliteSynchronous::Full] {
        let dir = tempfile::tempdir()?;
        let mut conn = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync)
            .connect()
            .await?;
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, cfg TEXT)")
            .execute(&mut conn)
            .await?;
        let cfg = "x".repeat(700);
        let mut micros = Vec::with_capacity(writes);
        for i in 0..writes {
            let t = Instant::now();
            sqlx::query("INSERT INTO t (name, cfg) VALUES (?, ?)")
                .bind(format!("n{i}"))
                .bind(&cfg)
                .execute(&mut conn)
                .await?;
            micros.push(t.elapsed().as_micros());
        }
        let first = writes.min(500);
        let mut growing = micros[..first].to_vec();
        growing.sort_unstable();
        micros.sort_unstable();
        println!(
            "synchronous={sync:?}: median {} µs (first {first}, WAL growing: {} µs), p90 {} µs",
            micros[writes / 2],
            growing[first / 2],
            micros[writes * 9 / 10]
        );
    }
    Ok(())
}
