//! The workbench in a real browser: headless Chromium driven over the DevTools protocol.
//! An inspector logs in, opens the top queued call, plays from a flag, confirms one flag
//! with the keyboard and rejects another with the mouse, and sees the final score and the
//! queue change; the call's agent appeals; the lead decides. Screenshots of the main pages
//! go to target/web-screens/ (looked at by hand, not compared).

use super::report::html::chromium;
use super::web::{fixture_db_with, root, Server};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next: u64,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn launch() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--mute-audio",
                "--autoplay-policy=no-user-gesture-required",
                "--remote-debugging-port=0",
                "--window-size=1280,1600",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting chromium");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut url = None;
        let mut line = String::new();
        while url.is_none() && err.read_line(&mut line).unwrap() > 0 {
            if let Some(i) = line.find("ws://") {
                url = Some(line[i..].trim().to_string());
            }
            line.clear();
        }
        // Keep draining stderr so Chromium never blocks on a full pipe.
        std::thread::spawn(move || for _ in err.lines() {});
        let url = url.expect("Chromium printed no DevTools address");
        let (ws, _) = tungstenite::connect(url.as_str()).expect("DevTools connection");
        Browser {
            child,
            ws,
            next: 0,
            _profile: profile,
        }
    }

    /// Send one command (to a page session when given) and wait for its answer.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        match self.try_call(session, method, params) {
            Ok(v) => v,
            Err(e) => panic!("{method}: {e}"),
        }
    }

    /// [`Browser::call`], with the protocol's error as a value (a page that navigates while
    /// being asked answers with one).
    fn try_call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let m = self.ws.read().unwrap();
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["id"] == json!(id) {
                return match v.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    /// A fresh page in its own browser context (its own cookies: one user per page).
    fn page(&mut self) -> Page {
        let ctx =
            self.call(None, "Target.createBrowserContext", json!({}))["browserContextId"].clone();
        let target = self.call(
            None,
            "Target.createTarget",
            json!({ "url": "about:blank", "browserContextId": ctx }),
        )["targetId"]
            .clone();
        let session = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        )["sessionId"]
            .as_str()
            .unwrap()
            .to_string();
        Page { session }
    }
}

struct Page {
    session: String,
}

impl Page {
    fn eval(&self, b: &mut Browser, js: &str) -> Value {
        let r = b.call(
            Some(&self.session),
            "Runtime.evaluate",
            json!({ "expression": js, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {r}");
        r["result"]["value"].clone()
    }

    /// Wait until `js` is true on the page (after a navigation or a submitted form).
    fn wait(&self, b: &mut Browser, js: &str) {
        let t0 = Instant::now();
        loop {
            let r = b.try_call(
                Some(&self.session),
                "Runtime.evaluate",
                json!({ "expression": format!("document.readyState === 'complete' && !!({js})"), "returnByValue": true }),
            );
            if r.is_ok_and(|r| r["result"]["value"] == json!(true)) {
                return;
            }
            if t0.elapsed() > Duration::from_secs(20) {
                let r = b.call(
                    Some(&self.session),
                    "Runtime.evaluate",
                    json!({ "expression": "location.href + ' ' + document.body.innerText.slice(0, 300)", "returnByValue": true }),
                );
                panic!("timed out waiting for {js}; page: {}", r["result"]["value"]);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn goto(&self, b: &mut Browser, url: &str) {
        b.call(Some(&self.session), "Page.navigate", json!({ "url": url }));
        let path = url
            .split_once("//")
            .map(|(_, r)| &r[r.find('/').unwrap_or(r.len())..])
            .unwrap_or(url);
        self.wait(
            b,
            &format!("location.pathname + location.search === {}", json!(path)),
        );
    }

    fn key(&self, b: &mut Browser, k: &str) {
        for t in ["keyDown", "keyUp"] {
            b.call(
                Some(&self.session),
                "Input.dispatchKeyEvent",
                json!({ "type": t, "key": k, "text": k }),
            );
        }
    }

    fn screenshot(&self, b: &mut Browser, name: &str) {
        let r = b.call(
            Some(&self.session),
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        );
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        let dir = root().join("target/web-screens");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    fn login(&self, b: &mut Browser, base: &str, user: &str) {
        self.goto(b, &format!("{base}/login"));
        self.eval(
            b,
            &format!(
                "document.getElementById('username').value = {u}; document.getElementById('password').value = {p}; document.getElementById('login').click(); true",
                u = json!(user),
                p = json!(format!("{user}-password"))
            ),
        );
        self.wait(b, "location.pathname !== '/login'");
    }
}

#[test]
fn inspector_agent_and_lead_work_a_call_in_the_browser() {
    let tmp = tempfile::tempdir().unwrap();
    // The fixture's top call gets a real recording to play.
    let db = fixture_db_with(tmp.path(), |r| {
        if r.call_id == "out-bad" {
            r.input.path = "samples/call03_outbound_sales.mp3".into();
        }
    });
    let srv = Server::start(&db, &["--appeal-days", "100000"]);
    let base = srv.base.clone();
    let mut b = Browser::launch();

    // The inspector: queue, top call, play from a flag.
    let ins = b.page();
    ins.login(&mut b, &base, "ins1");
    assert_eq!(ins.eval(&mut b, "location.pathname"), json!("/queue"));
    ins.screenshot(&mut b, "queue");
    let top = ins.eval(
        &mut b,
        "document.querySelector('#queue tr.qrow').dataset.call",
    );
    assert_eq!(top, json!("out-bad"));
    ins.eval(
        &mut b,
        "document.querySelector('#queue tr.qrow a.call-link').click(); true",
    );
    ins.wait(&mut b, "location.pathname === '/calls/out-bad'");
    ins.wait(&mut b, "document.getElementById('player').readyState >= 1");
    let before = ins.eval(&mut b, "document.getElementById('final-score').textContent");
    assert_eq!(before, json!("0"), "out-bad is a fatal 0");
    // Click the evidence of KC02 (13.1 s): the recording plays from there.
    ins.eval(
        &mut b,
        "document.querySelector('#item-KC02 a.seek').click(); true",
    );
    ins.wait(
        &mut b,
        "Math.abs(document.getElementById('player').currentTime - 13.1) < 1.5",
    );
    let t = ins
        .eval(&mut b, "document.getElementById('player').currentTime")
        .as_f64()
        .unwrap();
    assert!((13.0..15.0).contains(&t), "player at {t}");
    ins.screenshot(&mut b, "call");

    // Keyboard: n selects the first flag in time order, c confirms it.
    ins.key(&mut b, "n");
    let sel = ins.eval(
        &mut b,
        "document.querySelector('tr.item.current').dataset.item",
    );
    let first = sel.as_str().unwrap().to_string();
    // After KC02 (13.1 s) the next flag in time is GT01 (19.2 s).
    assert_eq!(first, "GT01");
    ins.key(&mut b, "c");
    ins.wait(&mut b, &format!("location.hash === '#item-{first}'"));
    assert!(ins
        .eval(
            &mut b,
            &format!("document.querySelector('#item-{first} td.status').textContent")
        )
        .as_str()
        .unwrap()
        .contains("确认"));
    // Mouse: reject both fatal 诈单 flags (ZD01, ZD02): the call is no longer zeroed.
    for item in ["ZD01", "ZD02"] {
        ins.eval(&mut b, &format!("document.querySelector('#item-{item} input[name=comment]').value = '录音中客户已同意'; document.querySelector('#item-{item} button.reject').click(); true"));
        ins.wait(&mut b, &format!("location.hash === '#item-{item}'"));
        let st = ins.eval(
            &mut b,
            &format!("document.querySelector('#item-{item} td.status').textContent"),
        );
        assert!(st.as_str().unwrap().contains("驳回"), "{item}: {st}");
    }
    let after = ins.eval(&mut b, "document.getElementById('final-score').textContent");
    assert_ne!(
        after, before,
        "rejecting the fatal flag must change the final score"
    );
    let fin = zhijian::store::Store::open(&db)
        .unwrap()
        .final_result("out-bad")
        .unwrap();
    assert_eq!(after, json!(zhijian::figures::num(fin.final_score, 1)));
    assert!(fin.final_score > 0.0);
    // The queue shows the call as reviewed.
    ins.goto(&mut b, &format!("{base}/queue"));
    let status = ins.eval(
        &mut b,
        "document.querySelector('#queue tr.qrow[data-call=\"out-bad\"] td.reviewed').textContent",
    );
    assert!(status.as_str().unwrap().contains("已复核"), "{status}");

    // The agent of out-bad appeals GT01, which the inspector confirmed: the lead's decision outranks it.
    let agent = b.page();
    agent.login(&mut b, &base, "t2002");
    assert_eq!(agent.eval(&mut b, "location.pathname"), json!("/mine"));
    agent.goto(&mut b, &format!("{base}/calls/out-bad"));
    agent.eval(&mut b, "const f = document.querySelector('#item-GT01 form.appeal'); f.querySelector('input[name=reason]').value = '开场已报工号'; f.querySelector('button').click(); true");
    agent.wait(&mut b, "location.hash === '#appeals'");
    assert_eq!(
        agent.eval(
            &mut b,
            "document.querySelector('#appeals + table td.appeal-status').dataset.status"
        ),
        json!("open")
    );

    // The lead accepts it; the agent sees the decision and the new score.
    let lead = b.page();
    lead.login(&mut b, &base, "lead");
    lead.goto(&mut b, &format!("{base}/appeals"));
    lead.screenshot(&mut b, "appeals");
    lead.eval(&mut b, "document.querySelector('tr.appeal form.decide input[name=comment]').value = '核实成立'; document.querySelector('tr.appeal form.decide button.accept').click(); true");
    lead.wait(
        &mut b,
        "document.querySelector('tr.appeal td.appeal-status').dataset.status === 'accepted'",
    );
    agent.goto(&mut b, &format!("{base}/calls/out-bad"));
    assert_eq!(
        agent.eval(
            &mut b,
            "document.querySelector('#appeals + table td.appeal-status').dataset.status"
        ),
        json!("accepted")
    );
    let fin2 = zhijian::store::Store::open(&db)
        .unwrap()
        .final_result("out-bad")
        .unwrap();
    assert!(
        fin2.final_score > fin.final_score,
        "accepted appeal restores GT01's points"
    );
    assert_eq!(
        agent.eval(&mut b, "document.getElementById('final-score').textContent"),
        json!(zhijian::figures::num(fin2.final_score, 1))
    );
    agent.screenshot(&mut b, "agent-call");
    lead.goto(
        &mut b,
        &format!("{base}/agents?from=2026-11-01&to=2026-11-30"),
    );
    lead.screenshot(&mut b, "agents");
    lead.goto(&mut b, &format!("{base}/audit"));
    lead.screenshot(&mut b, "audit");
    let actions = lead.eval(&mut b, "Array.from(document.querySelectorAll('#audit tbody tr td:nth-child(4)')).map(td => td.textContent).join(',')");
    for a in ["verdict", "appeal", "decide_appeal"] {
        assert!(
            actions.as_str().unwrap().contains(a),
            "{a} not audited: {actions}"
        );
    }
}
