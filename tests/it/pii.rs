//! Personal data end to end: with the default policy no output a non-lead role can open holds
//! an unmasked mobile, ID or card number; the labelled set's figures; audio redaction.

use std::path::{Path, PathBuf};
use std::process::Command;
use zhijian::record::{CallMeta, CallRecord, Role, Utterance};

const ZHIJIAN: &str = env!("CARGO_BIN_EXE_zhijian");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (i32, String) {
    let o = Command::new(ZHIJIAN)
        .args(args)
        .current_dir(root())
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Files under `dir` (bytes, the SQLite database included) that contain one of `needles`.
fn leaks(dir: &Path, needles: &[&str], skip: &[&Path]) -> Vec<String> {
    let mut found = Vec::new();
    for f in files(dir) {
        if skip.contains(&f.as_path()) {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        for n in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                found.push(format!("{}: {n}", f.display()));
            }
        }
    }
    found
}

const MOBILE: &str = "13912345678";
const MOBILE_ZH: &str = "幺三九一二三四五六七八";
const ID: &str = "11010519491231002X";
const CARD: &str = "6222021234567890128";

fn utt(id: usize, role: Role, start: f64, text: &str) -> Utterance {
    Utterance {
        id,
        role,
        start,
        end: start + 3.0,
        text: text.into(),
        tokens: zhijian::text::tokenize(text),
        ..Utterance::default()
    }
}

/// A call in which the customer says a mobile (digits and 汉字), an ID and a card number,
/// scored with the shipped cards so that evidence quotes some of it.
fn fixture_call() -> CallRecord {
    let mut rec = CallRecord {
        schema_version: zhijian::record::SCHEMA_VERSION,
        call_id: "pii-call".into(),
        duration_s: 30.0,
        metadata: Some(CallMeta {
            call_id: Some("pii-call".into()),
            agent_id: Some("1086".into()),
            queue: Some("inbound_service".into()),
            customer_number: Some(MOBILE.into()),
            ..CallMeta::default()
        }),
        utterances: vec![
            utt(0, Role::Agent, 0.0, "您好，工号1086，很高兴为您服务"),
            utt(1, Role::Customer, 3.0, &format!("我手机号是{MOBILE_ZH}")),
            utt(2, Role::Agent, 6.0, "请您提供一下身份证号码和卡号"),
            utt(3, Role::Customer, 9.0, &format!("身份证{ID}，卡号{CARD}")),
            utt(
                4,
                Role::Customer,
                12.0,
                &format!("你们打{MOBILE}就能找到我，我要投诉"),
            ),
            utt(5, Role::Agent, 15.0, "感谢您的来电，再见"),
        ],
        ..CallRecord::default()
    };
    let cards = zhijian::rules::ScorecardSet::load(&root().join("rules")).unwrap();
    rec.score = Some(zhijian::rules::score(
        cards.select(rec.metadata.as_ref()),
        &rec,
    ));
    rec
}

#[test]
fn no_output_of_an_import_holds_an_unmasked_number() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("calls")).unwrap();
    let rec = fixture_call();
    // The evidence quotes the raw numbers before masking (the rules saw them).
    let ev: Vec<String> = rec
        .score
        .iter()
        .flat_map(|s| s.hits.iter().flat_map(|h| h.evidence.iter()))
        .filter_map(|e| e.text.clone())
        .collect();
    assert!(!ev.is_empty());
    // A result written with a policy that keeps raw text in the JSON (call_json = []).
    let input = out.join("calls/pii-call.json");
    std::fs::write(&input, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    let (code, err) = run(&["import", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let raw = [MOBILE, MOBILE_ZH, ID, CARD, "12345678", "1234567890"];
    assert_eq!(leaks(&out, &raw, &[&input]), Vec::<String>::new());
    // The page still shows the shape for the inspector.
    let page = std::fs::read_to_string(out.join("calls/pii-call.html")).unwrap();
    assert!(page.contains("幺三九****五六七八"), "masked mobile missing");
    assert!(page.contains("110***********002X"), "masked ID missing");
    assert!(page.contains("139****5678"), "masked number missing");
    // Nothing at info level on stderr quotes the transcript.
    for u in &rec.utterances {
        assert!(!err.contains(&u.text), "log quotes `{}`: {err}", u.text);
    }
}

#[test]
fn an_inspection_masks_the_metadata_number_in_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, err) = run(&[
        "inspect",
        "samples",
        "--meta",
        "samples/calls.csv",
        "--no-asr",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let numbers = ["13800000001", "13900000002", "13700000003", "13600000004"];
    assert_eq!(leaks(&out, &numbers, &[]), Vec::<String>::new());
    // Results are named by call key: `<metadata call id>-<12 hex>.json`.
    let file = zhijian::report::result_files(&out)
        .unwrap()
        .into_iter()
        .find(|f| f.to_string_lossy().contains("call01_inbound_good-"))
        .unwrap();
    let json = std::fs::read_to_string(file).unwrap();
    assert!(json.contains("138****0001"));
    let db = rusqlite::Connection::open(out.join("zhijian.db")).unwrap();
    let n: String = db
        .query_row(
            "SELECT customer_number FROM calls WHERE call_id LIKE 'call01_inbound_good-%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, "138****0001");
    for n in numbers {
        assert!(!err.contains(n), "{err}");
    }
}

#[test]
fn labelled_set_figures() {
    let r = zhijian::pii::eval::evaluate(&root().join("data/pii/labelled.jsonl")).unwrap();
    println!("{r}");
    assert!(r.utterances >= 200, "{} utterances", r.utterances);
    let c = |k| r.per_kind[&k];
    use zhijian::pii::Kind;
    // The figures in the README (`zhijian eval pii`).
    for k in [Kind::Mobile, Kind::IdCard, Kind::BankCard] {
        assert!(c(k).precision() >= 0.95, "{k:?}: {:?}", c(k));
        assert!(c(k).recall() >= 0.85, "{k:?}: {:?}", c(k));
    }
}

#[test]
fn redacted_export_replaces_exactly_the_spoken_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = root().join("samples/call01_inbound_good.wav");
    // Character times as the recogniser gives them: 0.25 s per character from 4.0 s.
    let text = format!("我的手机号是{MOBILE}，谢谢");
    let n = text.chars().count();
    let mut u = utt(0, Role::Customer, 4.0, &text);
    u.char_times = (0..n).map(|i| 4.0 + 0.25 * i as f64).collect();
    u.end = 4.0 + 0.25 * n as f64;
    let rec = CallRecord {
        call_id: "x".into(),
        input: zhijian::record::InputInfo {
            path: wav.clone(),
            ..Default::default()
        },
        utterances: vec![u],
        ..CallRecord::default()
    };
    let call = tmp.path().join("x.json");
    std::fs::write(&call, serde_json::to_vec(&rec).unwrap()).unwrap();
    let out = tmp.path().join("x.wav");
    let (code, err) = run(&[
        "export",
        call.to_str().unwrap(),
        "--redact",
        "--fill",
        "silence",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 span(s) redacted"), "{err}");
    let opts = zhijian::audio::DecodeOptions::default();
    let a = zhijian::audio::decode_file(&wav, &opts).unwrap();
    let b = zhijian::audio::decode_file(&out, &opts).unwrap();
    assert_eq!(a.sample_rate, b.sample_rate);
    assert_eq!(a.channels.len(), b.channels.len());
    let rate = a.sample_rate as f64;
    // The number is characters 6..17: said from 5.5 s, the next character at 6.75 s.
    let (t0, t1) = (4.0 + 0.25 * 6.0, 4.0 + 0.25 * 17.0);
    for (ca, cb) in a.channels.iter().zip(&b.channels) {
        let changed: Vec<usize> = (0..ca.len())
            .filter(|&i| (ca[i] - cb[i]).abs() > 2.0 / 32768.0)
            .collect();
        let first = *changed.first().unwrap() as f64 / rate;
        let last = *changed.last().unwrap() as f64 / rate;
        // Within 100 ms of the token times (the default pad is 0.1 s).
        assert!((first - t0).abs() <= 0.1 + 1.0 / rate, "starts at {first}");
        assert!((last - t1).abs() <= 0.1 + 1.0 / rate, "ends at {last}");
        // Silence over the whole span, the rest untouched.
        let (s, e) = (((t0 - 0.1) * rate) as usize, ((t1 + 0.1) * rate) as usize);
        assert!(cb[s + 1..e - 1].iter().all(|&x| x == 0.0));
    }
}
