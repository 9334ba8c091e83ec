//! Many workers over PostgreSQL (`enqueue`, `worker`, `status`): a killed worker's call comes
//! back, a paused one cannot duplicate a result, a corrupt file ends in the dead-letter queue,
//! a database restart loses nothing, and the result equals a one-machine `inspect`.

use crate::common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zhijian::store::Store;

fn zhijian(args: &[&str]) -> std::process::Output {
    let out = Command::new(ZHIJIAN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "zhijian {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A worker process, killed if the test ends (or fails) before it exits.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(db: &str, name: &str, extra: &[&str]) -> Worker {
    let log = std::fs::File::create(
        std::env::temp_dir().join(format!("zhijian-{name}-{}.log", std::process::id())),
    )
    .unwrap();
    Command::new(ZHIJIAN)
        .args(["worker", "--db", db, "--name", name, "--jobs", "1"])
        .args([
            "--lease",
            "4",
            "--max-attempts",
            "2",
            "--retry-delay",
            "1",
            "--until-empty",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(Worker)
        .unwrap()
}

fn signal(w: &Worker, sig: libc::c_int) {
    // SAFETY: plain kill(2) on our own child.
    assert_eq!(unsafe { libc::kill(w.0.id() as i32, sig) }, 0);
}

/// Wait for a worker to exit; true if it exited successfully.
fn wait(w: &mut Worker, limit: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(status) = w.0.try_wait().unwrap() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("worker did not finish within {limit:?}");
}

/// The call a worker holds now (state running), if any.
fn running_call(db: &Path, name: &str) -> Option<String> {
    let s = Store::open(db).ok()?;
    let name = name.to_string();
    s.db()
        .row(
            "SELECT call_id FROM work_calls WHERE state = 'running' AND worker = ?1",
            &[&name],
            |r| r.get(0),
        )
        .ok()
        .flatten()
}

fn wait_running(db: &Path, name: &str, limit: Duration) -> String {
    wait_running_other(db, name, "", limit)
}

/// Like `wait_running`, for a call other than `avoid`.
fn wait_running_other(db: &Path, name: &str, avoid: &str, limit: Duration) -> String {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(c) = running_call(db, name).filter(|c| c != avoid) {
            return c;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    panic!("{name} never started a call");
}

/// Wait until `call` has been delivered to a second worker (or finished by one).
fn wait_redelivered(db: &Path, call: &str, limit: Duration) {
    let t = Instant::now();
    let call = call.to_string();
    while t.elapsed() < limit {
        let s = Store::open(db).unwrap();
        let ct: Option<i64> = s
            .db()
            .value(
                "SELECT MAX(read_ct) FROM (SELECT read_ct, message FROM pgmq.q_zhijian_calls
                 UNION ALL SELECT read_ct, message FROM pgmq.a_zhijian_calls) AS m
                 WHERE m.message->>'call_id' = ?1",
                &[&call],
            )
            .unwrap();
        if ct.is_some_and(|n| n >= 2) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{call} was never delivered again");
}

/// (call_id, status, auto score, fatal) per call and the (call, item, kind) lines.
type Outcome = (
    Vec<(String, String, Option<f64>, Option<String>)>,
    BTreeSet<(String, String, String)>,
);

fn outcome(db: &Path) -> Outcome {
    let s = Store::open(db).unwrap();
    let calls = s
        .db()
        .rows(
            "SELECT call_id, status, auto_score, fatal FROM calls ORDER BY call_id",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let items = s
        .db()
        .rows("SELECT call_id, item_id, kind FROM item_hits", &[], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .into_iter()
        .collect();
    (calls, items)
}

fn count(db: &Path, sql: &str) -> i64 {
    Store::open(db).unwrap().db().value(sql, &[]).unwrap()
}

/// Real recordings (four formats of one dialogue and two sample calls) and a corrupt file.
fn calls_folder(dir: &Path) -> PathBuf {
    let calls = dir.join("calls");
    std::fs::create_dir_all(&calls).unwrap();
    for f in [
        "two_party.flac",
        "two_party.m4a",
        "two_party.mp3",
        "two_party.ogg",
    ] {
        std::fs::copy(fixture("audio").join(f), calls.join(f)).unwrap();
    }
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for f in ["call02_inbound_bad.wav", "call03_outbound_sales.mp3"] {
        std::fs::copy(samples.join(f), calls.join(f)).unwrap();
    }
    let mut junk = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    junk.extend(std::iter::repeat_n(0x5a, 4000));
    std::fs::write(calls.join("broken.wav"), junk).unwrap();
    calls
}

#[test]
fn three_workers_survive_a_kill_and_a_pause_and_match_one_machine() {
    let _turn = whisper_turn();
    let tmp = tempfile::tempdir().unwrap();
    let calls = calls_folder(tmp.path());
    let meta = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/calls.csv");
    let db = crate::pg::fresh_db();
    let url = db.to_string_lossy().into_owned();
    let (c, m) = (calls.to_str().unwrap(), meta.to_str().unwrap());
    let first = zhijian(&["enqueue", c, "--db", &url, "--meta", m]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("enqueued 7 calls (0 already"));
    // The same recordings again (one renamed): nothing new to do.
    std::fs::rename(calls.join("two_party.ogg"), calls.join("renamed.ogg")).unwrap();
    let again = zhijian(&["enqueue", c, "--db", &url, "--meta", m]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("enqueued 0 calls (7 already"));
    std::fs::rename(calls.join("renamed.ogg"), calls.join("two_party.ogg")).unwrap();

    let threads = ["--asr-threads", "1"];
    let mut w1 = worker(&url, "w1", &threads);
    let mut w2 = worker(&url, "w2", &threads);
    let killed = wait_running(&db, "w1", Duration::from_secs(120));
    signal(&w1, libc::SIGKILL);
    let _ = w1.0.wait();
    let mut w3 = worker(&url, "w3", &threads);
    // Not the killed worker's call: w2 may have taken it over once its lease ran out, and a
    // second stop of the same call is its last allowed attempt (--max-attempts 2), which would
    // dead-letter it. Seen once under load (2026-12-01).
    let paused = wait_running_other(&db, "w2", &killed, Duration::from_secs(300));
    signal(&w2, libc::SIGSTOP);
    // Past its lease: another worker takes the call over; then the paused one wakes up.
    wait_redelivered(&db, &paused, Duration::from_secs(300));
    signal(&w2, libc::SIGCONT);
    assert!(wait(&mut w2, Duration::from_secs(600)));
    assert!(wait(&mut w3, Duration::from_secs(600)));

    // Every call has one outcome: six done, the corrupt one dead-lettered with its reason.
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM work_calls WHERE state = 'done'"),
        6
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM work_calls WHERE state = 'dead'"),
        1
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM calls"), 7);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM records"), 7);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pgmq.q_zhijian_calls"), 0);
    let store = Store::open(&db).unwrap();
    let dead = zhijian::queue::dead_letters(&store).unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].0.file.ends_with("broken.wav"), "{dead:?}");
    assert!(dead[0].1.starts_with("decode: "), "{}", dead[0].1);
    // Tried --max-attempts (2) times, then dead-lettered.
    let tries: i64 = store
        .db()
        .value(
            "SELECT CAST(message->>'deliveries' AS BIGINT) FROM pgmq.q_zhijian_dead",
            &[],
        )
        .unwrap();
    assert_eq!(tries, 2);
    // The killed worker's call was delivered again (and the paused one's too).
    for id in [&killed, &paused] {
        let deliveries: i64 = store
            .db()
            .value(
                "SELECT MAX(read_ct) FROM pgmq.a_zhijian_calls
                 WHERE message->>'call_id' = ?1",
                &[id],
            )
            .unwrap();
        assert!(deliveries >= 2, "{id} delivered {deliveries} times");
    }
    let status = zhijian(&["status", "--db", &url]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("done 6  dead-lettered 1"), "{text}");
    assert!(
        text.contains("broken.wav") && text.contains("decode"),
        "{text}"
    );

    // One machine, same files, same settings: the same calls, scores and flags.
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let r = Command::new(ZHIJIAN)
        .args([
            "inspect",
            c,
            "--out",
            o,
            "--meta",
            m,
            "--asr-threads",
            "1",
            "--jobs",
            "2",
            "--no-progress",
        ])
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(outcome(&db), outcome(&out.join("zhijian.db")));
}

/// A 20-second two-channel call of tones: distinct content per `n`.
fn synthetic(path: &Path, n: usize) {
    let rate = 8000;
    let mut a = vec![0f32; rate as usize * 20];
    let mut b = a.clone();
    let t = n as f64 * 0.05;
    zhijian::acoustic::synth::add_voice(&mut a, rate, 0.5 + t, 6.0, 0.3, 180.0);
    zhijian::acoustic::synth::add_voice(&mut b, rate, 7.0, 12.0 + t, 0.3, 220.0);
    zhijian::acoustic::synth::add_voice(&mut a, rate, 13.0, 19.0, 0.3, 180.0);
    write_wav(path, rate, &[a, b], Enc::S16);
}

#[test]
fn workers_reconnect_when_the_database_restarts_and_lose_nothing() {
    // A server of its own: restarting the shared one would disturb the other tests.
    let tmp = tempfile::tempdir().unwrap();
    // Directly in the temporary folder: the server runs as the postgres user, who cannot
    // enter a private tempdir.
    let data = std::env::temp_dir().join(format!("zhijian-pg-restart-{}", std::process::id()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-scratch.sh");
    let port = 56000 + (std::process::id() % 1000) as u16;
    let started = Command::new(&script)
        .args(["start", data.to_str().unwrap(), &port.to_string()])
        .output()
        .unwrap();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let url = String::from_utf8(started.stdout)
        .unwrap()
        .trim()
        .to_string();
    struct Stop(PathBuf, PathBuf);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = Command::new(&self.0)
                .args(["stop", self.1.to_str().unwrap()])
                .output();
            let _ = std::fs::remove_dir_all(&self.1);
        }
    }
    let _stop = Stop(script.clone(), data.clone());
    let db = PathBuf::from(&url);
    let calls = tmp.path().join("calls");
    std::fs::create_dir_all(&calls).unwrap();
    for n in 0..60 {
        synthetic(&calls.join(format!("c{n:02}.wav")), n);
    }
    zhijian(&["enqueue", calls.to_str().unwrap(), "--db", &url]);
    let mut ws: Vec<Worker> = ["r1", "r2"]
        .iter()
        .map(|n| worker(&url, n, &["--no-asr"]))
        .collect();
    let t = Instant::now();
    while count(&db, "SELECT COUNT(*) FROM work_calls WHERE state = 'done'") < 5 {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "workers made no progress"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let restarted = Command::new(&script)
        .args(["restart", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        restarted.status.success(),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    let during = count(&db, "SELECT COUNT(*) FROM work_calls WHERE state = 'done'");
    for w in &mut ws {
        assert!(wait(w, Duration::from_secs(300)));
    }
    assert!(during < 60, "the restart came after the work: {during}");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM work_calls WHERE state = 'done'"),
        60
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM calls WHERE status = 'ok'"),
        60
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pgmq.q_zhijian_calls"), 0);
}

#[test]
fn the_queue_needs_postgres_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(ZHIJIAN)
        .args([
            "enqueue",
            ".",
            "--db",
            tmp.path().join("z.db").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--db must be a PostgreSQL URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn doctor_checks_the_shared_database_without_changing_it() {
    let db = crate::pg::fresh_db();
    let url = db.to_string_lossy().into_owned();
    let line = |url: &str| -> String {
        let out = Command::new(ZHIJIAN)
            .args(["doctor", "--no-sample", "--db", url])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.contains("database"))
            .unwrap_or_default()
            .to_string()
    };
    let empty = line(&url);
    assert!(
        empty.starts_with("WARN") && empty.contains("reachable and empty"),
        "{empty}"
    );
    // The doctor created nothing.
    assert_eq!(line(&url), empty);
    drop(Store::open(&db).unwrap());
    let ready = line(&url);
    assert!(
        ready.starts_with("ok") && ready.contains("at schema 4"),
        "{ready}"
    );
    let gone = line("postgres://nobody@127.0.0.1:1/none");
    assert!(gone.starts_with("FAIL"), "{gone}");
}

#[test]
fn sigterm_finishes_the_call_in_hand_and_takes_no_more() {
    let _turn = whisper_turn();
    let tmp = tempfile::tempdir().unwrap();
    let calls = tmp.path().join("calls");
    std::fs::create_dir_all(&calls).unwrap();
    for f in ["two_party.flac", "two_party.mp3", "two_party.ogg"] {
        std::fs::copy(fixture("audio").join(f), calls.join(f)).unwrap();
    }
    let db = crate::pg::fresh_db();
    let url = db.to_string_lossy().into_owned();
    zhijian(&["enqueue", calls.to_str().unwrap(), "--db", &url]);
    let mut w = worker(&url, "t1", &["--asr-threads", "2"]);
    let held = wait_running(&db, "t1", Duration::from_secs(120));
    signal(&w, libc::SIGTERM);
    assert!(
        wait(&mut w, Duration::from_secs(300)),
        "a stopped worker exits 0"
    );
    // The call in hand was finished and stored; the others wait for the next worker.
    let state: String = Store::open(&db)
        .unwrap()
        .db()
        .value("SELECT state FROM work_calls WHERE call_id = ?1", &[&held])
        .unwrap();
    assert_eq!(state, "done");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM work_calls WHERE state = 'done'"),
        1
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM pgmq.q_zhijian_calls"), 2);
}

#[test]
fn a_path_that_is_not_utf8_is_refused_by_name_and_the_rest_queued() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let calls = tmp.path().join("calls");
    std::fs::create_dir_all(&calls).unwrap();
    synthetic(&calls.join("good.wav"), 1);
    synthetic(&calls.join(std::ffi::OsStr::from_bytes(b"bad\xff.wav")), 2);
    let url = crate::pg::fresh_db().to_string_lossy().into_owned();
    let out = Command::new(ZHIJIAN)
        .args(["enqueue", calls.to_str().unwrap(), "--db", &url])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("enqueued 1 calls"), "{stdout}");
    assert!(
        stderr.contains("bad\u{fffd}.wav: not queued: its path is not valid UTF-8"),
        "{stderr}"
    );
}
