//! The PostgreSQL the tests use: `scripts/test.sh` starts a throwaway server
//! (`scripts/pg-scratch.sh`) and passes its URL and data folder in the environment. Each test
//! gets a database of its own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server's admin URL (`postgres://…/postgres`).
pub fn server_url() -> String {
    std::env::var("ZHIJIAN_TEST_PG").expect(
        "ZHIJIAN_TEST_PG is not set: run the tests with scripts/test.sh, which starts a \
         throwaway PostgreSQL (or start one with scripts/pg-scratch.sh and export its URL)",
    )
}

/// A new, empty database; its URL as the `--db` value.
pub fn fresh_db() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "zt_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let admin = server_url();
    let mut c = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL {admin}: {e}"));
    // Separate statements: a multi-statement string runs as one transaction block.
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    PathBuf::from(format!("{base}/{name}"))
}
