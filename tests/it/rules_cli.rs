//! The command bodies behind `zhijian score` and `zhijian rules check|explain`, and the QA
//! lead's workflow of adding an item by editing TOML only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zhijian::record::{CallMeta, CallRecord, Role, Utterance};
use zhijian::rules::cli::{check_cmd, explain_cmd, score_cmd};
use zhijian::rules::{score, ScoreResult, Scorecard, ScorecardSet};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/calls").join(name)
}

fn run(f: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<ExitCode>) -> (ExitCode, String) {
    let mut out = Vec::new();
    let code = f(&mut out).unwrap();
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn score_with_a_rules_directory_picks_the_card_from_metadata() {
    let (code, text) = run(|o| {
        score_cmd(
            &fixture("outbound_bad.json"),
            &root().join("rules"),
            false,
            o,
        )
    });
    assert_eq!(code, ExitCode::SUCCESS);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("外呼营销质检评分表（"), "{text}");
    assert_eq!(lines[1], "总分 0 / 100");
    assert_eq!(lines[2], "致命错误：诈单：客户三次拒绝后仍强行推荐（ZD01）、诈单：未确认身份即办理（ZD02）（扣前 32）");
    // KC07/KC08 (告知免费, 询问是否方便: seed 004 自我介绍) cost 业务能力 2 more than before.
    assert!(text.contains("\n  业务能力  17/50 -33\n"), "{text}");
    assert!(
        text.contains("  [严重] ZD01 诈单：客户三次拒绝后仍强行推荐  总体评价  -5 致命\n"),
        "{text}"
    );
    assert!(
        text.contains("      19.2–23.0s #6 座席 「活动」 第3次之后仍继续\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  [一般] TD02 服务不耐心、情绪波动  服务态度  -5 （被更重等级取代，不计分）\n"
        ),
        "{text}"
    );
    // JQ04 leaves 专业技巧 5 points, so JQ02 (10) can cost only 5 of them: 37 → 32.
    assert!(text.contains("\n需人工复核（可能影响 32 分）\n"), "{text}");
}

#[test]
fn score_json_is_the_score_result() {
    let card = root().join("rules/insurance.toml");
    let (_, text) = run(|o| score_cmd(&fixture("insurance_bad.json"), &card, true, o));
    let r: ScoreResult = serde_json::from_str(&text).unwrap();
    assert_eq!(r.card, "保险客服质检评分表");
    assert_eq!(r.total, 49.0);
    // The result also fits the call record's `score` field.
    let mut call: CallRecord =
        serde_json::from_str(&std::fs::read_to_string(fixture("insurance_bad.json")).unwrap())
            .unwrap();
    call.score = Some(r.clone());
    let back: CallRecord = serde_json::from_str(&serde_json::to_string(&call).unwrap()).unwrap();
    assert_eq!(back.score, Some(r));
}

#[test]
fn score_reports_bad_input_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("call.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let e = score_cmd(&bad, &root().join("rules"), false, &mut Vec::new()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("parsing call record {}", bad.display())
    );
    let e = score_cmd(
        &fixture("inbound_bad.json"),
        &dir.path().join("nope.toml"),
        false,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(
        format!("{e:#}").starts_with(&format!(
            "loading scorecard {}",
            dir.path().join("nope.toml").display()
        )),
        "{e:#}"
    );
}

#[test]
fn check_lists_every_problem_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lexicons")).unwrap();
    std::fs::write(dir.path().join("lexicons/greetings.txt"), "您好\n").unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "name = \"a\"\n[[categories]]\nname = \"c\"\nmax = 5\n[[categories.items]]\nid = \"X\"\nname = \"n\"\ndeduct = 9\nwhen = { kind = \"absence\", lexicon = \"greeting\" }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        "name = \"b\"\n[[categories]]\nname = \"c\"\nmax = 5\nmxa = 3\n",
    )
    .unwrap();
    let (code, text) = run(|o| check_cmd(&[dir.path().to_path_buf()], o));
    assert_eq!(code, ExitCode::from(1));
    let a = dir.path().join("a.toml").display().to_string();
    let b = dir.path().join("b.toml").display().to_string();
    assert_eq!(
        text,
        format!(
            "{a}:8:10: deduct 9 is more than the category maximum 5\n\
             {a}:9:38: unknown lexicon `greeting` (known: greetings)\n\
             {b}:2:1: category `c` has no items ([[categories.items]])\n\
             {b}:5:1: unknown field `mxa`, expected one of `name`, `max`, `base`, `description`\n\
             4 problems\n"
        )
    );
    let (code, text) = run(|o| check_cmd(&[root().join("rules")], o));
    assert_eq!(
        (code, text.as_str()),
        (
            ExitCode::SUCCESS,
            "ok: 6 scorecards and 3 monthly rules files checked\n"
        )
    );
}

#[test]
fn explain_prints_the_kind_documentation() {
    let (_, text) = run(|o| explain_cmd(Some("context"), o));
    assert!(
        text.starts_with("`context`: one thing said and then another"),
        "{text}"
    );
    assert!(text.contains("not_followed = true"));
}

/// The README's walk-through: a QA lead forbids calling customers 亲 on the bank lines by adding
/// two named conditions and one item to the inbound card — TOML only.
#[test]
fn qa_lead_adds_an_item_by_editing_toml_only() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root().join("rules"), dir.path());
    let card_path = dir.path().join("inbound_service.toml");
    let card = std::fs::read_to_string(&card_path).unwrap();
    let addition = r#"
[conditions.says_qin]
kind = "keywords"
phrases = ["亲"]
role = "agent"

[conditions.bank_line]
kind = "metadata"
queue = ["信用卡*", "*银行*"]

[[categories.items]]
id = "LY05"
name = "银行线路称呼客户为「亲」"
deduct = 2
severity = "轻微"
when = { kind = "all", of = ["says_qin", "bank_line"] }

"#;
    // Items belong to the [[categories]] table above them: insert after 服务礼仪's items.
    let at = card.find("# ---------- 服务态度 ----------").unwrap();
    std::fs::write(
        &card_path,
        format!("{}{addition}{}", &card[..at], &card[at..]),
    )
    .unwrap();
    assert!(zhijian::rules::check_files(&[dir.path()]).is_empty());

    let set = ScorecardSet::load_dir(dir.path()).unwrap();
    let call = |queue: Option<&str>, text: &str| CallRecord {
        duration_s: 10.0,
        metadata: queue.map(|q| CallMeta {
            queue: Some(q.into()),
            ..CallMeta::default()
        }),
        utterances: vec![Utterance {
            id: 0,
            role: Role::Agent,
            start: 0.0,
            end: 3.0,
            text: text.into(),
            ..Utterance::default()
        }],
        ..CallRecord::default()
    };
    let item = |r: &ScoreResult| {
        r.hits
            .iter()
            .find(|h| h.id == "LY05")
            .map(|h| (h.category.clone(), h.points))
    };
    let bank = call(Some("信用卡中心"), "亲，您好，请问有什么可以帮您？");
    let r = score(set.select(bank.metadata.as_ref()), &bank);
    assert_eq!(item(&r), Some(("服务礼仪".to_string(), 2.0)));
    assert_eq!(
        r.hits.iter().find(|h| h.id == "LY05").unwrap().evidence[0]
            .text
            .as_deref(),
        Some("亲")
    );
    // Not on an e-commerce line, and not 亲 inside another word.
    let shop = call(Some("电商客服"), "亲，您好");
    assert_eq!(
        item(&score(set.select(shop.metadata.as_ref()), &shop)),
        None
    );
    let word = call(Some("信用卡中心"), "我会亲自帮您处理");
    assert_eq!(
        item(&score(set.select(word.metadata.as_ref()), &word)),
        None
    );
    // Without metadata the line is unknown: the item goes to review instead of being guessed.
    let unknown = call(None, "亲，您好");
    let r = score(set.select(None), &unknown);
    assert_eq!(item(&r), None);
    assert!(r
        .review
        .iter()
        .any(|v| v.id == "LY05" && v.note == "无法自动判断：bank_line: no call metadata"));
    // The shipped card itself is untouched.
    let shipped = Scorecard::load(root().join("rules/inbound_service.toml")).unwrap();
    assert!(shipped.items().all(|(_, i)| i.id != "LY05"));
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
