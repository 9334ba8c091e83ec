//! `zhijian serve` over HTTP: a real server process on a real SQLite store holding the
//! fixture batch, users made with `zhijian users add`, and a small HTTP/1.1 client. Every role
//! boundary is tried, and every refusal is checked to have changed nothing in the store.

use super::report::{record, records};
use regex::Regex;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use zhijian::store::Store;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_zhijian")
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A database with the fixture batch and one user per role (plus a second inspector and the
/// agent of `in-bad`).
pub fn fixture_db(dir: &Path) -> PathBuf {
    fixture_db_with(dir, |_| {})
}

/// [`fixture_db`] with each record changed by `edit` before it is stored.
pub fn fixture_db_with(dir: &Path, edit: impl Fn(&mut zhijian::record::CallRecord)) -> PathBuf {
    fixture_db_at(dir.join("z.db"), edit)
}

/// [`fixture_db`] in a new PostgreSQL database (its URL).
pub fn fixture_pg_db() -> PathBuf {
    fixture_db_at(crate::pg::fresh_db(), |_| {})
}

fn fixture_db_at(db: PathBuf, edit: impl Fn(&mut zhijian::record::CallRecord)) -> PathBuf {
    let mut s = Store::open(&db).unwrap();
    for mut r in records() {
        edit(&mut r);
        s.upsert_call(&r).unwrap();
    }
    drop(s);
    for (name, role, agent) in [
        ("ins1", "inspector", None),
        ("ins2", "inspector", None),
        ("lead", "lead", None),
        ("admin", "admin", None),
        ("a1001", "agent", Some("A1001")),
        ("a1002", "agent", Some("A1002")),
        ("t2002", "agent", Some("T2002")),
    ] {
        let mut cmd = Command::new(bin());
        cmd.args(["users", "add", name, "--role", role, "--db"])
            .arg(&db);
        if let Some(a) = agent {
            cmd.args(["--agent-id", a]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{name}-password").unwrap();
        assert!(child.wait().unwrap().success(), "users add {name}");
    }
    db
}

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Start `zhijian serve` on a free loopback port, from the repository root (the fixture
    /// records name recordings relative to it).
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .current_dir(root())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = Regex::new(r"https?://[0-9.:]+")
            .unwrap()
            .find(&line)
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .as_str()
            .to_string();
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }
    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        Regex::new(r#"name="_csrf" value="([^"]+)""#)
            .unwrap()
            .captures(&self.body)
            .unwrap_or_else(|| panic!("no CSRF token in {}", self.body))[1]
            .to_string()
    }
}

/// One user's browser: a cookie jar and HTTP/1.1 requests with `Connection: close`.
pub struct Client {
    base: String,
    pub jar: HashMap<String, String>,
}

fn form_encode(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Client {
    pub fn new(s: &Server) -> Client {
        Client {
            base: s.base.clone(),
            jar: HashMap::new(),
        }
    }

    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let host = self.base.trim_start_matches("http://").to_string();
        let mut s = TcpStream::connect(&host).unwrap();
        let cookies = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if !cookies.is_empty() {
            req.push_str(&format!("Cookie: {cookies}\r\n"));
        }
        for (k, v) in extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(b) = body {
            req.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        req.push_str("\r\n");
        if let Some(b) = body {
            req.push_str(b);
        }
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("no header end");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let body = String::from_utf8_lossy(&raw[split + 4..]).to_string();
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
                let (name, value) = kv.split_once('=').unwrap();
                if attrs.contains("Max-Age=0") {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.to_string(), value.to_string());
                }
            }
        }
        Resp {
            status,
            headers,
            body,
        }
    }

    pub fn get(&mut self, path: &str) -> Resp {
        self.request("GET", path, None, &[])
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.request("POST", path, Some(&form_encode(form)), &[])
    }

    /// POST a form with the CSRF token of `page` (as a browser submitting that page's form).
    pub fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> Resp {
        let csrf = self.get(page).csrf();
        let mut f = vec![("_csrf", csrf.as_str())];
        f.extend_from_slice(form);
        self.post(action, &f)
    }

    pub fn login(&mut self, user: &str, password: &str) -> Resp {
        let csrf = self.get("/login").csrf();
        self.post(
            "/login",
            &[("_csrf", &csrf), ("username", user), ("password", password)],
        )
    }

    pub fn logged_in(s: &Server, user: &str) -> Client {
        let mut c = Client::new(s);
        let r = c.login(user, &format!("{user}-password"));
        assert_eq!(r.status, 303, "login {user}: {}", r.body);
        c
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    Store::open(db).unwrap().db().value(sql, &[]).unwrap()
}

/// Everything humans can change, as counts: a refused request must leave all of them as is.
fn human_state(db: &Path) -> Vec<i64> {
    [
        "SELECT count(*) FROM verdicts",
        "SELECT count(*) FROM manual_scores",
        "SELECT count(*) FROM appeals",
        "SELECT count(*) FROM appeals WHERE status = 'open'",
        "SELECT count(*) FROM notes",
        "SELECT count(*) FROM assignments",
        "SELECT count(*) FROM users WHERE disabled = 1",
        "SELECT count(*) FROM audit WHERE action NOT IN ('login', 'logout', 'locked_out')",
    ]
    .iter()
    .map(|q| count(db, q))
    .collect()
}

#[test]
fn role_boundaries_are_enforced_and_refusals_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    role_boundaries_are_enforced_and_refusals_change_nothing_on(fixture_db(tmp.path()));
}

/// The same with the workbench on PostgreSQL.
#[test]
fn role_boundaries_are_enforced_and_refusals_change_nothing_pg() {
    role_boundaries_are_enforced_and_refusals_change_nothing_on(fixture_pg_db());
}

fn role_boundaries_are_enforced_and_refusals_change_nothing_on(db: PathBuf) {
    let srv = Server::start(&db, &["--appeal-days", "100000"]);

    // Not logged in: pages send to the login page, actions are refused.
    let mut anon = Client::new(&srv);
    let r = anon.get("/queue");
    assert_eq!((r.status, r.location()), (303, "/login"));
    assert_eq!(
        anon.post("/calls/in-bad/verdict", &[("item", "LY01")])
            .status,
        403
    );
    assert_eq!(anon.get("/calls/in-bad/audio").status, 403);

    // An agent sees only their own calls: another agent's call, its recording and its
    // appeal form do not exist for them.
    let mut a1 = Client::logged_in(&srv, "a1001");
    assert_eq!(a1.get("/queue").location(), "/mine");
    let mine = a1.get("/mine");
    assert_eq!(mine.status, 200);
    assert!(mine.body.contains("in-good") && mine.body.contains("in-xss"));
    assert!(!mine.body.contains("in-bad"), "another agent's call listed");
    assert_eq!(a1.get("/calls/in-bad").status, 404);
    assert_eq!(a1.get("/calls/in-bad/audio").status, 404);
    assert_eq!(a1.get("/calls/in-good").status, 200);
    let before = human_state(&db);
    let r = a1.submit("/mine", "/calls/in-bad/appeal", &[("reason", "不是我")]);
    assert_eq!(r.status, 404);
    // Agents cannot judge flags, read the audit log, reports or exports.
    let r = a1.submit(
        "/calls/in-good",
        "/calls/in-good/verdict",
        &[("item", "JF01"), ("verdict", "rejected"), ("version", "0")],
    );
    assert_eq!(r.status, 403);
    for page in ["/audit", "/agents", "/precision", "/export.csv", "/users"] {
        assert_eq!(a1.get(page).status, 403, "{page}");
    }
    assert_eq!(human_state(&db), before);

    // The agent of in-bad appeals; an inspector may not decide it, the lead may.
    let mut a2 = Client::logged_in(&srv, "a1002");
    let r = a2.submit(
        "/calls/in-bad",
        "/calls/in-bad/appeal",
        &[("item", "RX04"), ("reason", "是客户先挂机")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let appeal: i64 = count(&db, "SELECT max(id) FROM appeals");
    let mut ins = Client::logged_in(&srv, "ins1");
    let before = human_state(&db);
    let r = ins.submit(
        "/queue",
        &format!("/appeals/{appeal}/decide"),
        &[("decision", "accept")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(ins.get("/appeals").status, 403);
    assert_eq!(ins.get("/users").status, 403);
    // A POST without the CSRF token, or with another session's, is refused.
    let r = ins.post(
        "/calls/in-bad/verdict",
        &[("item", "LY01"), ("verdict", "rejected"), ("version", "0")],
    );
    assert_eq!(r.status, 403);
    let other = a2.get("/mine").csrf();
    let r = ins.post(
        "/calls/in-bad/verdict",
        &[
            ("_csrf", &other),
            ("item", "LY01"),
            ("verdict", "rejected"),
            ("version", "0"),
        ],
    );
    assert_eq!(r.status, 403);
    assert_eq!(human_state(&db), before);

    let mut lead = Client::logged_in(&srv, "lead");
    let r = lead.submit(
        "/appeals",
        &format!("/appeals/{appeal}/decide"),
        &[("decision", "accept"), ("comment", "录音确认客户先挂机")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM appeals WHERE id = {appeal} AND status = 'accepted'")
        ),
        1
    );

    // A disabled user's live session stops working at once.
    let mut ins2 = Client::logged_in(&srv, "ins2");
    assert_eq!(ins2.get("/queue").status, 200);
    let csrf = ins2.get("/calls/in-good").csrf();
    let st = Command::new(bin())
        .args(["users", "disable", "ins2", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(st.status.success());
    let before = human_state(&db);
    assert_eq!(ins2.get("/queue").location(), "/login");
    let r = ins2.post("/calls/in-good/note", &[("_csrf", &csrf), ("note", "x")]);
    assert_eq!(r.status, 403);
    assert_eq!(ins2.login("ins2", "ins2-password").status, 401);
    assert_eq!(human_state(&db), before);

    // Logging out ends the session on the server, not only in the browser.
    let cookie = lead.jar.get("zj_session").cloned().unwrap();
    assert_eq!(lead.submit("/queue", "/logout", &[]).location(), "/login");
    lead.jar.insert("zj_session".into(), cookie);
    assert_eq!(lead.get("/queue").location(), "/login");
}

#[test]
fn lock_out_after_failures_and_login_never_says_which_part_was_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let srv = Server::start(&db, &["--max-failures", "3"]);
    let mut c = Client::new(&srv);
    let unknown = c.login("nobody", "whatever-pass");
    let wrong = c.login("ins1", "wrong-password");
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(
        unknown.body.replace(&unknown.csrf(), ""),
        wrong.body.replace(&wrong.csrf(), "")
    );
    // A login POST without the login form's token is refused before any check.
    let r = Client::new(&srv).post(
        "/login",
        &[("username", "ins1"), ("password", "ins1-password")],
    );
    assert_eq!(r.status, 403);
    c.login("ins1", "wrong-password");
    c.login("ins1", "wrong-password");
    // Locked now: even the right password is refused, and the lock is audited.
    assert_eq!(c.login("ins1", "ins1-password").status, 401);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit WHERE action = 'locked_out' AND user = 'ins1'"
        ),
        1
    );
    let out = Command::new(bin())
        .args(["users", "list", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("ins1\tinspector\t-\tlocked"));
    // A new password lifts the lock.
    let mut child = Command::new(bin())
        .args(["users", "passwd", "ins1", "--db"])
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a-new-password").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(c.login("ins1", "a-new-password").status, 303);
}

fn version_of(page: &Resp) -> String {
    Regex::new(r#"name="version" value="(\d+)""#)
        .unwrap()
        .captures(&page.body)
        .unwrap()[1]
        .to_string()
}

fn final_score(page: &Resp) -> String {
    Regex::new(r#"id="final-score">([^<]+)<"#)
        .unwrap()
        .captures(&page.body)
        .unwrap()[1]
        .to_string()
}

#[test]
fn review_is_claimed_versioned_and_audited() {
    let tmp = tempfile::tempdir().unwrap();
    review_is_claimed_versioned_and_audited_on(fixture_db(tmp.path()));
}

/// The same with the workbench on PostgreSQL.
#[test]
fn review_is_claimed_versioned_and_audited_pg() {
    review_is_claimed_versioned_and_audited_on(fixture_pg_db());
}

fn review_is_claimed_versioned_and_audited_on(db: PathBuf) {
    let srv = Server::start(&db, &["--appeal-days", "100000"]);
    let mut ins1 = Client::logged_in(&srv, "ins1");
    let mut ins2 = Client::logged_in(&srv, "ins2");

    // ins1 opens the call first and holds it; ins2 sees that and cannot change it.
    let p1 = ins1.get("/calls/in-bad");
    assert_eq!(final_score(&p1), "53");
    let p2 = ins2.get("/calls/in-bad");
    assert!(p2.body.contains("ins1 正在复核此通话"), "claim not shown");
    let v = version_of(&p1);
    assert_eq!(v, "0");
    let r = ins2.post(
        "/calls/in-bad/verdict",
        &[
            ("_csrf", &p2.csrf()),
            ("item", "LY01"),
            ("verdict", "confirmed"),
            ("version", &v),
        ],
    );
    assert_eq!(r.status, 409);
    assert!(r.body.contains("ins1"), "{}", r.body);

    // ins1 rejects LY01 (greeting not used: 2 points): the final score rises by 2.
    let r = ins1.post(
        "/calls/in-bad/verdict",
        &[
            ("_csrf", &p1.csrf()),
            ("item", "LY01"),
            ("verdict", "rejected"),
            ("comment", "说了您好"),
            ("version", &v),
        ],
    );
    assert_eq!((r.status, r.location()), (303, "/calls/in-bad#item-LY01"));
    let p1 = ins1.get("/calls/in-bad");
    let fin = Store::open(&db).unwrap().final_result("in-bad").unwrap();
    assert_eq!(final_score(&p1), zhijian::figures::num(fin.final_score, 1));
    assert!(fin.final_score > 53.0);
    assert_eq!(version_of(&p1), "1");
    // A form made on the old version is refused: nothing lost, nothing written twice.
    let r = ins1.post(
        "/calls/in-bad/verdict",
        &[
            ("_csrf", &p1.csrf()),
            ("item", "LY02"),
            ("verdict", "rejected"),
            ("version", "0"),
        ],
    );
    assert_eq!(r.status, 409);
    assert_eq!(count(&db, "SELECT count(*) FROM verdicts"), 1);

    // A manual item score, a coaching note, an assignment by the lead.
    let r = ins1.post(
        "/calls/in-bad/note",
        &[("_csrf", &p1.csrf()), ("note", "注意开场白")],
    );
    assert_eq!(r.status, 303);
    let mut lead = Client::logged_in(&srv, "lead");
    let r = lead.submit(
        "/calls/in-good",
        "/calls/in-good/assign",
        &[("inspector", "ins2")],
    );
    assert_eq!(r.status, 303);
    let q2 = ins2.get("/queue");
    assert!(q2.body.contains("分配给我的（"), "assigned list missing");
    // Inspectors cannot assign.
    assert_eq!(
        ins2.submit("/queue", "/calls/in-bad/assign", &[("inspector", "ins2")])
            .status,
        403
    );

    // Every change is in the audit log, with before and after.
    let s = Store::open(&db).unwrap();
    let log = s.audit_log(Some("in-bad"), 10).unwrap();
    let verdict = log.iter().find(|e| e.action == "verdict").unwrap();
    assert_eq!(verdict.user, "ins1");
    assert!(verdict
        .before
        .as_deref()
        .unwrap()
        .contains("\"final_score\":53"));
    assert!(verdict
        .after
        .as_deref()
        .unwrap()
        .contains("\"verdict\":\"rejected\""));
    assert!(log.iter().any(|e| e.action == "coaching_note"));
    assert_eq!(
        s.audit_log(Some("in-good"), 10).unwrap()[0].action,
        "assign"
    );
    // Nobody can edit or delete it, not even with SQL on the file.
    assert!(s
        .db()
        .execute("UPDATE audit SET \"user\" = 'x'", &[])
        .is_err());
    assert!(s.db().execute("DELETE FROM audit", &[]).is_err());
    drop(s);
    let audit = lead.get("/audit");
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("coaching_note") && audit.body.contains("assign"));

    // The lead's reports: precision (LY01 reviewed once, rejected), CSV export.
    let p = lead.get("/precision?from=2026-11-01&to=2026-11-30");
    assert!(Regex::new(r"LY01</td><td>[^<]*</td><td[^>]*>\d+</td><td[^>]*>1</td><td[^>]*>0</td><td[^>]*>1</td><td[^>]*>0%").unwrap().is_match(&p.body), "{}", p.body);
    let csv = lead.get("/export.csv?from=2026-11-01&to=2026-11-30");
    assert_eq!(csv.status, 200);
    assert!(csv
        .body
        .starts_with("call_id,agent_id,queue,call_date,card,auto_score,final_score"));
    assert_eq!(csv.body.lines().count(), 8, "{}", csv.body);
    let agents = lead.get("/agents?from=2026-11-01&to=2026-11-30");
    assert!(agents.body.contains("A1002"));
}

#[test]
fn appeal_window_and_whole_call_appeals() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    {
        // The fixture calls are from November 2026: with a 0-day window they are closed.
        let srv = Server::start(&db, &["--appeal-days", "0"]);
        let mut a2 = Client::logged_in(&srv, "a1002");
        let r = a2.submit(
            "/calls/in-bad",
            "/calls/in-bad/appeal",
            &[("reason", "评分过严")],
        );
        assert_eq!(r.status, 400);
        assert!(r.body.contains("申诉期已过"), "{}", r.body);
        assert_eq!(count(&db, "SELECT count(*) FROM appeals"), 0);
    }
    let srv = Server::start(&db, &["--appeal-days", "100000"]);
    let mut a2 = Client::logged_in(&srv, "a1002");
    let r = a2.submit(
        "/calls/in-bad",
        "/calls/in-bad/appeal",
        &[("reason", "评分过严")],
    );
    assert_eq!(r.status, 303);
    let id = count(&db, "SELECT max(id) FROM appeals");
    let mut lead = Client::logged_in(&srv, "lead");
    // Accepting a whole-call appeal needs the new score.
    let r = lead.submit(
        "/appeals",
        &format!("/appeals/{id}/decide"),
        &[("decision", "accept")],
    );
    assert_eq!(r.status, 400);
    let r = lead.submit(
        "/appeals",
        &format!("/appeals/{id}/decide"),
        &[("decision", "accept"), ("score", "75")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(final_score(&a2.get("/calls/in-bad")), "75");
    let mine = a2.get("/mine");
    assert!(
        mine.body.contains("accepted"),
        "the agent sees the decision"
    );
}

#[test]
fn markup_in_transcripts_names_and_notes_renders_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    // An agent name with markup.
    let mut rec = record("in-xss");
    rec.metadata.as_mut().unwrap().agent_name = Some("<b onmouseover=alert(2)>王</b>".into());
    Store::open(&db).unwrap().upsert_call(&rec).unwrap();
    let srv = Server::start(&db, &[]);
    let mut ins = Client::logged_in(&srv, "ins1");
    let p = ins.get("/calls/in-xss");
    ins.post(
        "/calls/in-xss/note",
        &[("_csrf", &p.csrf()), ("note", "<script>alert(3)</script>")],
    );
    for page in [ins.get("/calls/in-xss"), ins.get("/queue?all=1")] {
        assert_eq!(page.status, 200);
        let b = &page.body;
        for raw in [
            "<script>document",
            "<img src=x",
            "<xss>",
            "<b onmouseover",
            "<script>alert(3)",
        ] {
            assert!(!b.contains(raw), "unescaped {raw:?}");
        }
        // Only the workbench's own script tag, never an inline one.
        assert_eq!(b.matches("<script").count(), 1);
        assert!(b.contains("<script src=\"/static/app.js\" defer></script>"));
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    }
    let p = ins.get("/calls/in-xss");
    assert!(p.body.contains("&lt;script&gt;document.title="));
    assert!(
        p.body
            .contains("&lt;script&gt;alert(3)&lt;&#x2f;script&gt;"),
        "note not shown as text"
    );
    assert!(ins
        .get("/queue?all=1")
        .body
        .contains("&lt;b onmouseover=alert(2)&gt;王&lt;&#x2f;b&gt;"));
}

#[test]
fn queue_filters_pages_and_picks_up_new_calls_without_restart() {
    let tmp = tempfile::tempdir().unwrap();
    queue_filters_pages_and_picks_up_new_calls_without_restart_on(fixture_db(tmp.path()));
}

/// The same with the workbench on PostgreSQL.
#[test]
fn queue_filters_pages_and_picks_up_new_calls_without_restart_pg() {
    queue_filters_pages_and_picks_up_new_calls_without_restart_on(fixture_pg_db());
}

fn queue_filters_pages_and_picks_up_new_calls_without_restart_on(db: PathBuf) {
    let srv = Server::start(&db, &[]);
    let mut ins = Client::logged_in(&srv, "ins1");
    let q = ins.get("/queue");
    let ids: Vec<String> = Regex::new(r#"data-call="([^"]+)""#)
        .unwrap()
        .captures_iter(&q.body)
        .map(|c| c[1].to_string())
        .collect();
    // The batch report's queue order (fatal first, then by points lost).
    assert_eq!(ids[..3], ["out-bad", "ins-bad", "in-bad"]);
    assert!(!ids.contains(&"broken".to_string()));
    let by_agent = ins.get("/queue?agent=A1002");
    assert!(
        by_agent.body.contains("id=\"total\">1 通"),
        "{}",
        by_agent.body
    );
    let by_flag = ins.get("/queue?flag=KC01");
    assert!(by_flag.body.contains("data-call=\"out-bad\"") && by_flag.body.contains(">1 通"));
    let fatal = ins.get("/queue?severity=fatal");
    assert!(
        fatal.body.contains("data-call=\"out-bad\"")
            && !fatal.body.contains("data-call=\"in-good\"")
    );
    let dated = ins.get("/queue?from=2026-11-04&to=2026-11-04&all=1");
    assert!(
        dated.body.contains(">2 通"),
        "ins-bad and out-good are on 11-04"
    );

    // A call inspected while the server runs appears on the next request.
    let mut rec = record("in-bad");
    rec.call_id = "in-bad-later".into();
    rec.input.sha256 = "f".repeat(64);
    Store::open(&db).unwrap().upsert_call(&rec).unwrap();
    let q = ins.get("/queue?agent=A1002");
    assert!(
        q.body.contains("data-call=\"in-bad-later\""),
        "new call missing"
    );

    // Reviewed / not reviewed.
    let p = ins.get("/calls/in-bad");
    ins.post(
        "/calls/in-bad/verdict",
        &[
            ("_csrf", &p.csrf()),
            ("item", "LY01"),
            ("verdict", "confirmed"),
            ("version", "0"),
        ],
    );
    assert!(ins.get("/queue?reviewed=yes").body.contains(">1 通"));
    assert!(!ins
        .get("/queue?reviewed=no")
        .body
        .contains("data-call=\"in-bad\""));
}

#[test]
fn audio_is_streamed_with_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let srv = Server::start(&db, &[]);
    let mut ins = Client::logged_in(&srv, "ins1");
    let wav = std::fs::read(root().join("samples/call02_inbound_bad.wav")).unwrap();
    let r = ins.request(
        "GET",
        "/calls/in-bad/audio",
        None,
        &[("Range", "bytes=0-11")],
    );
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range").unwrap(),
        format!("bytes 0-11/{}", wav.len())
    );
    assert_eq!(r.header("content-type"), Some("audio/wav"));
    assert!(r.body.starts_with("RIFF"));
    let r = ins.request(
        "GET",
        "/calls/in-bad/audio",
        None,
        &[("Range", &format!("bytes={}-", wav.len()))],
    );
    assert_eq!(r.status, 416);
    // A recording that is not on this machine is a clear 404, not a crash.
    assert_eq!(ins.get("/calls/out-bad/audio").status, 404);
}

#[test]
fn https_with_cert_and_key_and_secure_cookies() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (apt package openssl) makes the test certificate");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let srv = Server::start(
        &db,
        &[
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    assert!(srv.base.starts_with("https://"), "{}", srv.base);
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "--cacert"])
        .arg(&cert)
        .args(["--resolve"])
        .arg(format!(
            "localhost:{}:127.0.0.1",
            srv.base.rsplit(':').next().unwrap()
        ))
        .arg(format!(
            "https://localhost:{}/login",
            srv.base.rsplit(':').next().unwrap()
        ))
        .output()
        .expect("curl");
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/2 200"),
        "{head}"
    );
    let cookie = head
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie"))
        .unwrap();
    assert!(
        cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets no page.
    let plain = Command::new("curl")
        .args(["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(srv.base.replace("https://", "http://") + "/login")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&plain.stdout), "000");
    // A key that does not belong to the certificate is refused at start, naming the problem.
    let other = tmp.path().join("other.pem");
    Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-out",
        ])
        .arg(&other)
        .output()
        .unwrap();
    let bad = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&other)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("do not match"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[test]
fn lead_assigns_the_riskiest_unassigned_calls_round_robin() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let srv = Server::start(&db, &[]);
    let mut lead = Client::logged_in(&srv, "lead");
    let q = lead.get("/queue");
    assert!(q.body.contains("id=\"assign-batch\""));
    // in-bad is already someone's: it is skipped.
    lead.submit(
        "/calls/in-bad",
        "/calls/in-bad/assign",
        &[("inspector", "ins1")],
    );
    let r = lead.submit(
        "/queue",
        "/assign",
        &[("count", "4"), ("inspectors", "ins1, ins2")],
    );
    assert_eq!((r.status, r.location()), (303, "/queue"));
    let s = Store::open(&db).unwrap();
    // Queue order out-bad, ins-bad, (in-bad taken), in-xss, in-good.
    let got: Vec<(String, Option<String>)> = [
        "out-bad", "ins-bad", "in-bad", "in-xss", "in-good", "ins-long",
    ]
    .iter()
    .map(|c| (c.to_string(), s.assignee(c).unwrap()))
    .collect();
    let want = [
        ("out-bad", Some("ins1")),
        ("ins-bad", Some("ins2")),
        ("in-bad", Some("ins1")),
        ("in-xss", Some("ins1")),
        ("in-good", Some("ins2")),
        ("ins-long", None),
    ];
    for ((c, a), (wc, wa)) in got.iter().zip(want) {
        assert_eq!((c.as_str(), a.as_deref()), (wc, wa));
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM audit WHERE action = 'assign'"),
        5
    );
    // Only a lead may.
    let mut ins = Client::logged_in(&srv, "ins1");
    let r = ins.submit(
        "/queue",
        "/assign",
        &[("count", "4"), ("inspectors", "ins1")],
    );
    assert_eq!(r.status, 403);
    assert_eq!(count(&db, "SELECT count(*) FROM assignments"), 5);
}

/// The server's call page and the exported one draw a call with the same macros from the same
/// view: the timeline, the transcript and the scorecard breakdown come out byte for byte the
/// same, and every piece of evidence the server lists is on the exported page as it is.
#[test]
fn call_page_fragments_are_the_export_s_own() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db(tmp.path());
    let srv = Server::start(&db, &[]);
    let served = Client::logged_in(&srv, "ins1").get("/calls/in-bad").body;
    let out = tmp.path().join("out");
    let page = zhijian::report::write_call_page(&record("in-bad"), &out).unwrap();
    let exported = std::fs::read_to_string(page).unwrap();
    // From a marker to the next one (the export's file and the served page differ around them).
    let cut = |html: &str, from: &str, to: &str| -> String {
        let a = html.find(from).unwrap_or_else(|| panic!("no {from:?}"));
        let after = a + from.len();
        let b = after
            + html[after..]
                .find(to)
                .unwrap_or_else(|| panic!("no {to:?}"));
        html[a..b].to_string()
    };
    for (from, to) in [
        ("<svg id=\"timeline\"", "</svg>"),
        // The macro's output is one line; each page goes on after it in its own way.
        ("<h2 id=\"transcript\">", "\n"),
        ("<h2 id=\"scorecard\">", "</table>"),
        ("<h2 id=\"acoustic\">", "</table>"),
    ] {
        let (s, e) = (cut(&served, from, to), cut(&exported, from, to));
        assert!(s.len() > 200, "{from}: {s}");
        if s != e {
            // Show where they part (the fragments are long).
            let at = s.bytes().zip(e.bytes()).take_while(|(a, b)| a == b).count();
            let around = |x: &str| {
                x[x.floor_char_boundary(at.saturating_sub(80))..]
                    .chars()
                    .take(200)
                    .collect::<String>()
            };
            panic!(
                "{from} differs:\n served:   {}\n exported: {}",
                around(&s),
                around(&e)
            );
        }
    }
    assert!(served.contains("<mark class=\"sev\">你听清楚了没有？我不是说了吗，不知道！</mark>"));
    let chips = |html: &str| -> Vec<String> {
        Regex::new(r#"<a class="ev seek" [^>]*title=[^>]*>[^<]*</a>"#)
            .unwrap()
            .find_iter(html)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    let (s, e) = (chips(&served), chips(&exported));
    assert!(s.len() >= 10, "{s:?}");
    for c in &s {
        assert!(e.contains(c), "{c} is not on the exported page");
    }
}
