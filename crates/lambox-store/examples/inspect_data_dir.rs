//! Lists what a lambox data directory holds: per account and region, every function version
//! with its runtime and code size, and the total.
//!
//! `cargo run -p lambox-store --example inspect_data_dir -- ./.lambox`
//!
//! Opening a data directory migrates it to this version's schema: run it on a copy, or with
//! lambox stopped.

use lambox_store::{Durability, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./.lambox".to_owned());
    let store = Store::open(std::path::Path::new(&dir), Durability::Normal).await?;
    let mut total = 0u64;
    for scope in store.scopes().await? {
        println!("{} {}", scope.account, scope.region);
        let mut cursor = None;
        loop {
            let (page, next) = store
                .list_versions(&scope, cursor.as_ref(), 100, true)
                .await?;
            for v in &page {
                let runtime = v
                    .config
                    .runtime
                    .as_deref()
                    .unwrap_or(v.config.package_type.as_str());
                println!(
                    "  {:<40} {:<10} {:<14} {:>10} bytes",
                    v.function_name, v.version, runtime, v.code_size
                );
                total += v.code_size;
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    println!("total code size: {total} bytes");
    Ok(())
}
