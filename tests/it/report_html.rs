//! The pages as a browser renders them: headless Chromium loads each page from disk (no
//! network), runs its script, and the DOM it dumps is checked for the elements an inspector
//! needs; a transcript full of markup must come out as text; clicking through to a moment
//! must move the recording there. Needs `chromium` (apt package `chromium`, plus
//! `fonts-noto-cjk` for readable screenshots); set ZHIJIAN_CHROMIUM to use another binary.

use super::{out_dir, root};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;
use zhijian::report::{write_call_page, ReportOptions};

pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("ZHIJIAN_CHROMIUM") {
        return PathBuf::from(p);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("headless Chromium is needed for the HTML tests: apt-get install -y chromium fonts-noto-cjk (or set ZHIJIAN_CHROMIUM)");
}

fn run_chromium(extra: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("timeout");
    cmd.arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url);
    let out = cmd.output().expect("running chromium");
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The DOM after the page's scripts ran (and, with a budget, after media events).
fn dom(url: &str, budget_ms: u32) -> String {
    let out = run_chromium(
        &[&format!("--virtual-time-budget={budget_ms}"), "--dump-dom"],
        url,
    );
    String::from_utf8(out.stdout).unwrap()
}

fn url(p: &Path) -> String {
    format!("file://{}", p.canonicalize().unwrap().display())
}

fn count(re: &str, s: &str) -> usize {
    Regex::new(re).unwrap().find_iter(s).count()
}

/// Write the fixture batch's pages into a temp folder and return it.
fn pages(tmp: &Path) -> PathBuf {
    let out = out_dir(tmp);
    let mut b = zhijian::report::BatchReport::new(ReportOptions::default());
    for r in super::records() {
        write_call_page(&r, &out).unwrap();
        b.add(&r);
    }
    b.write(&out).unwrap();
    out
}

#[test]
fn call_page_shows_what_an_inspector_needs() {
    // Pages resolve `input.path` against the current directory (cargo runs tests from the
    // package root); the fixture points at samples/call02_inbound_bad.wav.
    let tmp = tempfile::tempdir().unwrap();
    let out = pages(tmp.path());
    let page = out.join("calls/in-bad.html");
    let d = dom(&url(&page), 2000);
    assert!(d.contains("<title>通话 in-bad · 智检</title>"));
    // Header: agent, queue, score and grade.
    assert!(d.contains("王芳（工号 A1002）"));
    assert!(d.contains("客服热线"));
    assert!(Regex::new(
        r#"id="score"[^>]*>53<small> / 100 分</small><span class="grade">不合格</span>"#
    )
    .unwrap()
    .is_match(&d));
    // Timeline: 11 stretches of speech, 1 dead air, 2 interruptions by the agent, flags.
    assert_eq!(count(r#"class="speech""#, &d), 11);
    assert_eq!(count(r#"class="silence""#, &d), 1);
    assert_eq!(count(r#"class="interruption""#, &d), 2);
    assert!(count(r#"class="flag""#, &d) >= 10);
    // Findings, review items, transcript.
    assert_eq!(count(r#"<tr class="hit""#, &d), 14);
    assert_eq!(count(r#"<tr class="review-item""#, &d), 6);
    assert_eq!(count(r#"<div class="utt"#, &d), 11);
    assert!(
        d.contains(r#"<mark class="sev">你听清楚了没有？我不是说了吗，不知道！</mark>"#),
        "{d}"
    );
    assert!(d.contains("<mark>我的宽带断了三天了，一直没人管，你们怎么搞的</mark>"));
    // Classifier scores per utterance, with the worrying ones marked.
    assert!(d.contains(r#"<span class="chip hot""#) && d.contains("情绪 愤怒 0.90"));
    // Evidence chips and transcript lines carry their time.
    assert!(d.contains(r#"<div class="utt flag sev" id="u5" data-t="22.1" data-end="25""#));
    // The recording: a relative link that resolves to the real file.
    let src = Regex::new(r#"<audio id="player"[^>]* src="([^"]+)""#)
        .unwrap()
        .captures(&d)
        .unwrap()[1]
        .to_string();
    assert!(src.starts_with("../"), "{src}");
    let resolved = page.parent().unwrap().join(&src).canonicalize().unwrap();
    assert_eq!(
        resolved,
        root()
            .join("samples/call02_inbound_bad.wav")
            .canonicalize()
            .unwrap()
    );
}

#[test]
fn links_to_a_moment_seek_the_recording() {
    let tmp = tempfile::tempdir().unwrap();
    let out = pages(tmp.path());
    let page = out.join("calls/in-bad.html");
    // #t=30: the page positions the recording at 30 s; the play head follows it:
    // x = 56 + 30 / 55 × (1000 − 56 − 10).
    let d = dom(&format!("{}#t=30", url(&page)), 5000);
    let caps = Regex::new(r#"<line id="playhead" x1="([0-9.]+)"[^>]*visibility="visible""#)
        .unwrap()
        .captures(&d)
        .unwrap_or_else(|| panic!("play head did not move: the recording did not load or seek"));
    let x: f64 = caps[1].parse().unwrap();
    assert!((x - 565.45).abs() < 0.5, "play head at {x}");
    // The queue's ▶ links add &play: it plays from there (the transcript line lights up).
    let d = dom(&format!("{}#t=22.1&play", url(&page)), 3000);
    assert!(
        d.contains(r#"<div class="utt flag sev playing" id="u5""#),
        "line 5 not playing"
    );
}

#[test]
fn markup_in_transcripts_and_metadata_renders_as_text() {
    let tmp = tempfile::tempdir().unwrap();
    let out = pages(tmp.path());
    let d = dom(&url(&out.join("calls/in-xss.html")), 1000);
    // The injected script would have renamed the page.
    assert!(
        d.contains("<title>通话 in-xss · 智检</title>"),
        "title changed"
    );
    assert_eq!(count("<script", &d), 1, "only the page's own script");
    assert_eq!(count("<img", &d), 0);
    assert!(d.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;我的&lt;b&gt;宽带&lt;/b&gt;断了 &amp; &lt;img src=x onerror=alert(1)&gt;"));
    assert!(d.contains("李娜&lt;i&gt;（工号 A1001）"));
    // The recording's odd name is percent-encoded in the link.
    assert!(d.contains("in%20%3Cxss%3E.wav\""), "audio src not encoded");
    let d = dom(&url(&out.join("index.html")), 1000);
    assert!(d.contains("李娜&lt;i&gt;（A1001）"));
    assert_eq!(count("<i>", &d), 0);
}

#[test]
fn index_lists_the_queue_first_and_links_every_call() {
    let tmp = tempfile::tempdir().unwrap();
    let out = pages(tmp.path());
    let index = out.join("index.html");
    let d = dom(&url(&index), 1000);
    let order: Vec<String> = Regex::new(r#"<tr class="qrow" data-call="([^"]+)""#)
        .unwrap()
        .captures_iter(&d)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(
        order,
        ["out-bad", "ins-bad", "in-bad", "in-xss", "in-good", "ins-long", "out-good"]
    );
    // The queue comes before the summary.
    let q = d.find(r#"id="queue""#).unwrap();
    assert!(q < d.find(r#"id="summary""#).unwrap());
    assert!(d.contains(r#"<a class="ev" href="calls/out-bad.html#t=4.5&amp;play">▶ 0:04</a>"#));
    // Summary parts.
    for id in [
        "sample-table",
        "distribution",
        "severe",
        "top-findings",
        "queue-figures",
        "failed-table",
        "calls-table",
    ] {
        assert!(d.contains(&format!(r#"id="{id}""#)), "missing #{id}");
    }
    assert!(d.contains("decode: unsupported codec: GSM 6.10 (format tag 0x31)"));
    // Every page link points at a page that exists.
    let links: Vec<String> = Regex::new(r##"href="(calls/[^"#]+\.html)"##)
        .unwrap()
        .captures_iter(&d)
        .map(|c| c[1].to_string())
        .collect();
    assert!(links.len() >= 8);
    for l in links {
        assert!(out.join(&l).is_file(), "{l} does not exist");
    }
    // Screenshots of the index and a call page render (looked at by hand, in
    // target/web-screens/ next to the server's; here: real, non-trivial PNGs).
    let shots = root().join("target/web-screens");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, page) in [
        ("export-index", index.clone()),
        ("export-call", out.join("calls/in-bad.html")),
    ] {
        let png = shots.join(format!("{name}.png"));
        run_chromium(
            &[
                "--window-size=1280,1800",
                &format!("--screenshot={}", png.display()),
            ],
            &url(&page),
        );
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(
            bytes.len() > 50_000,
            "screenshot of {name} ({} bytes) looks blank",
            bytes.len()
        );
    }
}

/// Markup in a transcript, an agent's name and a recording's file name comes out as text on
/// the exported call page and index, in the file and in the browser's DOM.
#[test]
fn static_pages_escape_transcripts_agent_names_and_file_names() {
    const EVIL: &str = r#"<script>alert(1)</script>"><img src=x onerror=1>"#;
    // How the template engine writes it (it escapes `/` too).
    const ESCAPED: &str =
        "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&quot;&gt;&lt;img src=x onerror=1&gt;";
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut rec = super::record("in-bad");
    rec.call_id = "evil".into();
    rec.utterances[0].text = EVIL.into();
    rec.metadata.as_mut().unwrap().agent_name = Some(EVIL.into());
    let mut failed = super::record("broken");
    failed.call_id = "evil-failed".into();
    failed.input.path = format!("samples/{EVIL}.wav").into();
    let mut b = zhijian::report::BatchReport::new(ReportOptions::default());
    for r in [&rec, &failed] {
        write_call_page(r, &out).unwrap();
        b.add(r);
    }
    b.write(&out).unwrap();
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    let (call, index, failed_page) = (
        read("calls/evil.html"),
        read("index.html"),
        read("calls/evil-failed.html"),
    );
    for (name, html) in [("call", &call), ("index", &index), ("failed", &failed_page)] {
        for raw in ["<script>alert", "<img"] {
            assert!(!html.contains(raw), "{name}: unescaped {raw:?}");
        }
        // The page's own script is the only one, and it is not inline.
        assert_eq!(html.matches("<script").count(), 1, "{name}");
        assert!(html.contains("static/app.js\" defer></script>"), "{name}");
    }
    // The transcript line and the agent on the call page; the agent in the queue and the
    // file name of the failed call on the index and on its page.
    assert!(
        call.contains(&format!("<span class=\"x\">{ESCAPED}")),
        "transcript"
    );
    assert!(
        call.contains(&format!("<dd>{ESCAPED}（工号 A1002）</dd>")),
        "agent"
    );
    assert!(
        index.contains(&format!("<td>{ESCAPED}（A1002）</td>")),
        "agent in the queue"
    );
    assert!(
        index.contains(&format!("samples&#x2f;{ESCAPED}.wav")),
        "file name"
    );
    assert!(
        failed_page.contains(&format!("samples&#x2f;{ESCAPED}.wav")),
        "file name"
    );
    // The browser agrees: no element came out of the text.
    for page in ["calls/evil.html", "index.html", "calls/evil-failed.html"] {
        let d = dom(&url(&out.join(page)), 1000);
        assert_eq!(count("<script", &d), 1, "{page}");
        assert_eq!(count("<img", &d), 0, "{page}");
    }
}

#[test]
fn agent_report_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = zhijian::store::Store::open(tmp.path().join("z.db")).unwrap();
    for r in super::records() {
        s.upsert_call(&r).unwrap();
    }
    let opts = zhijian::report::agent::AgentReportOptions {
        from: zhijian::report::time::Date::parse("2026-11-01").unwrap(),
        to: zhijian::report::time::Date::parse("2026-11-30").unwrap(),
        low_score_pct: 80.0,
        types: Default::default(),
        opportunities: zhijian::report::agent::Opportunities::default()
            .with("呼入服务质检评分表", 26),
    };
    let r = zhijian::report::agent::build(&s, &opts).unwrap();
    let paths = zhijian::report::agent::write(&r, &tmp.path().join("agents")).unwrap();
    let d = dom(&url(&paths[0]), 1000);
    assert_eq!(count(r#"<tr data-agent=""#, &d), 6);
    assert_eq!(count(r#"<section class="agent""#, &d), 6);
    assert_eq!(count("低分预警</span>", &d), 3);
    assert!(d.contains("以下评分表不在 --rules 目录中"));
}
