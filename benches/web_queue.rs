//! The workbench's review queue over 100,000 calls: how long `zhijian serve` takes to answer
//! the queue page (first page, filters, a deep page) on this machine. Synthetic calls are
//! written straight into a real SQLite store (calls, flags, queue index), the real server
//! answers over HTTP. Prints a table; the figures go in the README, not in a test.
//!
//!   cargo bench --bench web_queue            (release)
//!   ZHIJIAN_BENCH_CALLS=20000 cargo bench --bench web_queue

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    if let Some(n) = std::env::var("ZHIJIAN_BENCH_INDEX")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return index_bench(n);
    }
    let n: usize = std::env::var("ZHIJIAN_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    // ZHIJIAN_BENCH_DB keeps the filled database (for looking at query plans).
    let db = std::env::var_os("ZHIJIAN_BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("bench.db"));
    let _ = std::fs::remove_file(&db);
    let t0 = Instant::now();
    fill(&db, n);
    eprintln!("filled {n} calls in {:.1} s", t0.elapsed().as_secs_f64());
    let bin = env!("CARGO_BIN_EXE_zhijian");
    let mut add = Command::new(bin)
        .args(["users", "add", "bench", "--role", "inspector", "--db"])
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "bench-password").unwrap();
    assert!(add.wait().unwrap().success());
    let mut srv = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(srv.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let cookie = login(&addr);
    println!("| request ({n} calls) | median ms | max ms | rows matched |");
    println!("|---|---:|---:|---:|");
    for (name, path) in [
        ("queue, first page", "/queue"),
        ("queue, page 400 (of 800)", "/queue?page=400"),
        ("filter: one agent", "/queue?agent=A0042"),
        ("filter: one week", "/queue?from=2026-11-01&to=2026-11-07"),
        ("filter: flag RX03", "/queue?flag=RX03"),
        ("filter: fatal only", "/queue?severity=fatal"),
        (
            "filter: not reviewed, queue",
            "/queue?reviewed=no&queue=inbound",
        ),
        ("all calls incl. no risk", "/queue?all=1"),
    ] {
        let mut ms = Vec::new();
        let mut total = String::new();
        for _ in 0..15 {
            let t = Instant::now();
            let body = get(&addr, path, &cookie);
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            total = body
                .split("id=\"total\">")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap_or("?")
                .to_string();
        }
        ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {name} | {:.1} | {:.1} | {total} |",
            ms[ms.len() / 2],
            ms[ms.len() - 1]
        );
    }
    let _ = srv.kill();
    let _ = srv.wait();
}

/// Synthetic calls: 200 agents, 4 queues, 60 days; ~40 % with a risk reason, a flag on
/// each risky call, a few fatal.
fn fill(db: &std::path::Path, n: usize) {
    let store = zhijian::store::Store::open(db).unwrap();
    let c = store.db().as_sqlite().unwrap();
    c.execute_batch("BEGIN").unwrap();
    let queues = ["inbound", "outbound_sales", "insurance", "collections"];
    let items = ["RX03", "LY01", "LY02", "ZD03", "RX05", "ZD01"];
    let mut x: u64 = 42;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..n {
        let id = format!("c{i:06}");
        let agent = format!("A{:04}", rnd() % 200);
        let q = queues[(rnd() % 4) as usize];
        let day = format!("2026-{:02}-{:02}", 10 + (i % 60) / 30, 1 + (i % 30));
        let score = 40.0 + (rnd() % 61) as f64;
        let risky = rnd() % 10 < 4;
        c.execute(
            "INSERT OR IGNORE INTO agents (agent_id, name) VALUES (?1, ?1)",
            [&agent],
        )
        .unwrap();
        c.execute("INSERT OR IGNORE INTO queues (name) VALUES (?1)", [q])
            .unwrap();
        c.execute(
            "INSERT INTO calls (call_id, agent_id, queue, call_date, start_time, status, duration_s,
                auto_score, max_score, record_sha, inspected_at)
             VALUES (?1, ?2, ?3, ?4, ?4 || 'T10:00:00', 'ok', 180, ?5, 100, ?1, '2026-12-01')",
            rusqlite::params![id, agent, q, day, score],
        )
        .unwrap();
        let (level, zh) = if risky {
            let it = items[(rnd() % 6) as usize];
            let fatal = (it == "ZD01") as i64;
            c.execute(
                "INSERT INTO item_hits (call_id, item_id, kind, name, category, severity, effect, points, fatal)
                 VALUES (?1, ?2, 'hit', ?2, '服务态度', ?3, 'deduct', 5, ?4)",
                rusqlite::params![id, it, if fatal == 1 { "严重" } else { "一般" }, fatal],
            )
            .unwrap();
            if fatal == 1 {
                (5, "致命错误")
            } else {
                (2, "低分")
            }
        } else {
            (0, "")
        };
        let risk = level as f64 * 100.0 + (100.0 - score);
        c.execute(
            "INSERT INTO queue_index (call_id, record_sha, risk, level, level_zh, reasons, at,
                agent_id, queue, call_date)
             VALUES (?1, ?1, ?2, ?3, ?4, '[{\"level\":\"low_score\",\"text\":\"低分\",\"at\":12.5}]', 12.5,
                ?5, ?6, ?7)",
            rusqlite::params![id, risk, level, zh, agent, q, day],
        )
        .unwrap();
    }
    // The synthetic index is the truth here: nothing for the server to re-index.
    c.execute_batch("DELETE FROM queue_dirty; COMMIT; ANALYZE;")
        .unwrap();
}

fn request(addr: &str, raw: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    String::from_utf8_lossy(&out).to_string()
}

fn get(addr: &str, path: &str, cookie: &str) -> String {
    request(
        addr,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ),
    )
}

fn login(addr: &str) -> String {
    let page = request(
        addr,
        &format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    let pre = page
        .split("zj_login=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = format!("_csrf={pre}&username=bench&password=bench-password");
    let r = request(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nCookie: zj_login={pre}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    let tok = r
        .split("zj_session=")
        .nth(1)
        .expect("login failed")
        .split(';')
        .next()
        .unwrap();
    format!("zj_session={tok}")
}

/// `ZHIJIAN_BENCH_INDEX=N`: how fast the server indexes N stored calls it has not seen (a
/// database upgraded to the workbench, or a large import): real records (the report fixture's
/// in-bad call, under N keys) stored with `upsert_call`, then the time until the background
/// indexer has none left.
fn index_bench(n: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("index.db");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let base =
        zhijian::report::read_record(&root.join("tests/fixtures/report/batch/calls/in-bad.json"))
            .unwrap();
    let mut store = zhijian::store::Store::open(&db).unwrap();
    store
        .db()
        .as_sqlite()
        .unwrap()
        .execute_batch("PRAGMA synchronous = OFF")
        .unwrap();
    for i in 0..n {
        let mut r = base.clone();
        r.call_id = format!("in-bad-{i:06}");
        r.input.sha256 = format!("{i:064x}");
        store.upsert_call(&r).unwrap();
    }
    drop(store);
    let bin = env!("CARGO_BIN_EXE_zhijian");
    let t0 = Instant::now();
    let mut srv = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let left: i64 = conn
            .query_row("SELECT count(*) FROM queue_dirty", [], |r| r.get(0))
            .unwrap_or(-1);
        if left == 0 {
            break;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "indexed {n} stored calls in {secs:.1} s ({:.0} calls/s)",
        n as f64 / secs
    );
    let _ = srv.kill();
    let _ = srv.wait();
}
