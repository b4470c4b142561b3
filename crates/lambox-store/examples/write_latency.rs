//! Measures what one durable write costs through sqlx on this machine: a single-row INSERT on a
//! held connection, in WAL mode with `synchronous=NORMAL` and `=FULL`, 3000 times each.
//!
//! `cargo run --release -p lambox-store --example write_latency`
//!
//! It is the floor under every control-plane write of lambox (see the note of the control-plane
//! benchmark): no store code of lambox's can be faster than this.

use std::time::Instant;

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
        let mut micros = Vec::with_capacity(3000);
        for i in 0..3000 {
            let t = Instant::now();
            sqlx::query("INSERT INTO t (name, cfg) VALUES (?, ?)")
                .bind(format!("n{i}"))
                .bind(&cfg)
                .execute(&mut conn)
                .await?;
            micros.push(t.elapsed().as_micros());
        }
        let mut growing = micros[..500].to_vec();
        growing.sort_unstable();
        micros.sort_unstable();
        println!(
            "synchronous={sync:?}: median {} µs (first 500, WAL growing: {} µs), p90 {} µs",
            micros[1500], growing[250], micros[2700]
        );
    }
    Ok(())
}
