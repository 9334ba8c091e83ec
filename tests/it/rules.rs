//! The shipped scorecards in `rules/`: they load, select per queue/direction, and score
//! hand-written good and bad calls (`tests/fixtures/calls/*.json`) to exact totals.

use std::path::PathBuf;
use zhijian::record::{CallMeta, CallRecord, Direction};
use zhijian::rules::{check_files, score, ReviewReason, ScoreResult, Scorecard, ScorecardSet};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rules_dir() -> PathBuf {
    root().join("rules")
}

fn card(name: &str) -> Scorecard {
    Scorecard::load(rules_dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn call(name: &str) -> CallRecord {
    let p = root().join("tests/fixtures/calls").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Ids of the applied hits (superseded graded levels left out), in card order.
fn hit_ids(r: &ScoreResult) -> Vec<&str> {
    r.hits
        .iter()
        .filter(|h| !h.superseded)
        .map(|h| h.id.as_str())
        .collect()
}

fn review_ids(r: &ScoreResult, reason: ReviewReason) -> Vec<&str> {
    r.review
        .iter()
        .filter(|v| v.reason == reason)
        .map(|v| v.id.as_str())
        .collect()
}

fn category(r: &ScoreResult, name: &str) -> f64 {
    r.categories
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no category {name}"))
        .score
}

#[test]
fn shipped_scorecards_check_clean() {
    let d = check_files(&[rules_dir()]);
    assert!(
        d.is_empty(),
        "{}",
        d.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn shipped_set_selects_per_direction_and_queue() {
    let set = ScorecardSet::load_dir(&rules_dir()).unwrap();
    assert_eq!(set.cards().len(), 3);
    assert_eq!(set.default_card().name, "呼入服务质检评分表");
    let meta = |q: Option<&str>, d: Option<Direction>| CallMeta {
        queue: q.map(String::from),
        direction: d,
        ..CallMeta::default()
    };
    assert_eq!(set.select(None).name, "呼入服务质检评分表");
    assert_eq!(
        set.select(Some(&meta(Some("信用卡中心"), Some(Direction::Inbound))))
            .name,
        "呼入服务质检评分表"
    );
    assert_eq!(
        set.select(Some(&meta(None, Some(Direction::Outbound))))
            .name,
        "外呼营销质检评分表"
    );
    assert_eq!(
        set.select(Some(&meta(Some("保险理赔"), Some(Direction::Inbound))))
            .name,
        "保险客服质检评分表"
    );
    let totals: Vec<f64> = set.cards().iter().map(|c| c.total).collect();
    assert_eq!(totals, [100.0, 100.0, 100.0]);
}

#[test]
fn category_maxima_follow_the_seed_sheets() {
    let maxima = |c: &Scorecard| -> Vec<(String, f64)> {
        c.categories
            .iter()
            .map(|c| (c.name.clone(), c.max))
            .collect()
    };
    let s = |v: &[(&str, f64)]| -> Vec<(String, f64)> {
        v.iter().map(|(n, m)| (n.to_string(), *m)).collect()
    };
    assert_eq!(
        maxima(&card("inbound_service.toml")),
        s(&[
            ("语音语调", 10.0),
            ("服务礼仪", 10.0),
            ("热情耐心", 20.0),
            ("积极主动", 10.0),
            ("准确理解", 10.0),
            ("有效引导", 10.0),
            ("业务介绍", 10.0),
            ("流程执行", 10.0),
            ("回复客户", 10.0)
        ])
    );
    assert_eq!(
        maxima(&card("outbound_sales.toml")),
        s(&[
            ("业务能力", 50.0),
            ("服务态度", 25.0),
            ("专业技巧", 20.0),
            ("总体评价", 5.0),
            ("加分项", 4.0)
        ])
    );
    assert_eq!(
        maxima(&card("insurance.toml")),
        s(&[("服务态度", 20.0), ("服务规范", 30.0), ("服务技能", 50.0)])
    );
}

// ---------------------------------------------------------------------------------------------
// Inbound service card.

#[test]
fn inbound_good_call_scores_full_marks_despite_asr_errors() {
    // The transcript has Whisper's homophones: 可疑帮您 (可以帮您), 来订 (来电). The 12 s
    // silence while the agent looks up the bill follows 「我帮您查一下」: a hold, not dead air.
    let r = score(&card("inbound_service.toml"), &call("inbound_good.json"));
    assert_eq!(hit_ids(&r), Vec::<&str>::new(), "{:#?}", r.hits);
    assert_eq!(r.total, 100.0);
    assert_eq!(r.fatal, None);
    assert_eq!(
        review_ids(&r, ReviewReason::Manual),
        ["YY03", "LJ01", "YD01", "YW01", "LC01", "HF01"]
    );
    assert_eq!(review_ids(&r, ReviewReason::Undecided), Vec::<&str>::new());
    // HF01 goes to review because the agent promised a refund within three working days.
    let hf = r.review.iter().find(|v| v.id == "HF01").unwrap();
    assert_eq!(hf.evidence[0].text.as_deref(), Some("工作日内"));
    assert_eq!(hf.evidence[0].utterance, Some(6));
}

#[test]
fn inbound_bad_call_exact_deductions() {
    let r = score(&card("inbound_service.toml"), &call("inbound_bad.json"));
    assert_eq!(
        hit_ids(&r),
        [
            "YY02", "LY01", "LY02", "LY04", "RX01", "RX02", "RX03", "RX04", "ZD01", "ZD02", "ZD03",
            "LJ02", "YD02", "LC02"
        ]
    );
    let cats: Vec<f64> = r.categories.iter().map(|c| c.score).collect();
    // 语音语调 −1; 服务礼仪 −3−3−2; 热情耐心 −4−10−5−5 floors at 0; 积极主动 −4−6−4 floors at 0;
    // 准确理解 −3; 有效引导 −2; 业务介绍 0; 流程执行 −3; 回复客户 0.
    assert_eq!(cats, [9.0, 2.0, 0.0, 0.0, 7.0, 8.0, 10.0, 7.0, 10.0]);
    assert_eq!(r.total, 53.0);
    assert_eq!(r.fatal, None);
    // Per-occurrence items with caps: 2 interruptions × 2; 2 questions × 5 (cap 10); 3 禁语 × 3 → cap 6.
    let pts = |id: &str| {
        r.hits
            .iter()
            .find(|h| h.id == id)
            .map(|h| (h.points, h.occurrences))
            .unwrap()
    };
    assert_eq!(pts("RX01"), (4.0, 2));
    assert_eq!(pts("RX02"), (10.0, 2));
    assert_eq!(pts("ZD02"), (6.0, 3));
    // Evidence quotes the transcript and points at the utterance.
    let zd02 = r.hits.iter().find(|h| h.id == "ZD02").unwrap();
    let quoted: Vec<(Option<usize>, &str)> = zd02
        .evidence
        .iter()
        .map(|e| (e.utterance, e.text.as_deref().unwrap()))
        .collect();
    assert_eq!(
        quoted,
        [
            (Some(5), "不知道"),
            (Some(7), "你投诉好了"),
            (Some(7), "随便你")
        ]
    );
    assert_eq!((zd02.evidence[0].start, zd02.evidence[0].end), (22.1, 25.0));
    assert_eq!(
        review_ids(&r, ReviewReason::Manual),
        ["YY03", "LJ01", "YD01", "YW01", "LC01", "LC03"]
    );
    assert_eq!(category(&r, "热情耐心"), 0.0);
}

// ---------------------------------------------------------------------------------------------
// Outbound sales card.

#[test]
fn outbound_good_call_earns_the_add_points_within_100() {
    // 公号1086: Whisper's homophone for 工号 still counts as stating the staff number.
    let r = score(&card("outbound_sales.toml"), &call("outbound_good.json"));
    assert_eq!(hit_ids(&r), ["JF01", "JF02"]);
    assert_eq!(category(&r, "加分项"), 4.0);
    assert_eq!(r.subtotal, 100.0);
    assert_eq!(r.total, 100.0);
    assert_eq!(
        review_ids(&r, ReviewReason::Manual),
        ["KC06", "XX03", "JQ02", "ZT01", "ZD04"]
    );
    assert_eq!(review_ids(&r, ReviewReason::Undecided), Vec::<&str>::new());
}

#[test]
fn outbound_bad_call_is_zadan_and_scores_zero() {
    let r = score(&card("outbound_sales.toml"), &call("outbound_bad.json"));
    assert_eq!(
        hit_ids(&r),
        [
            "KC01", "KC03", "KC04", "XX01", "GT01", "GT02", "TD01", "TD05", "TD06", "JQ01", "JQ03",
            "JQ04", "ZD01", "ZD02", "JF02"
        ]
    );
    // Graded levels: only the larger of each group applies.
    let superseded: Vec<&str> = r
        .hits
        .iter()
        .filter(|h| h.superseded)
        .map(|h| h.id.as_str())
        .collect();
    assert_eq!(superseded, ["KC02", "XX02", "TD02"]);
    let cats: Vec<f64> = r.categories.iter().map(|c| c.score).collect();
    // 专业技巧: no identity check (JQ01), no read-back (JQ03), the pitch before any identity
    // check (JQ04).
    assert_eq!(cats, [19.0, 8.0, 5.0, 0.0, 2.0]);
    assert_eq!(r.subtotal, 34.0);
    assert_eq!(r.total, 0.0);
    assert_eq!(
        r.fatal.as_deref(),
        Some("致命错误：诈单：客户三次拒绝后仍强行推荐（ZD01）、诈单：未确认身份即办理（ZD02）")
    );
    // The 诈单 evidence: three refusals, then the pitch that followed the third.
    let zd = r.hits.iter().find(|h| h.id == "ZD01").unwrap();
    let ev: Vec<(Option<usize>, &str)> = zd
        .evidence
        .iter()
        .map(|e| (e.utterance, e.note.as_str()))
        .collect();
    assert_eq!(
        ev,
        [
            (Some(1), "第1次"),
            (Some(3), "第2次"),
            (Some(5), "第3次"),
            (Some(5), "第3次"),
            (Some(6), "第3次之后仍继续"),
            (Some(6), "第3次之后仍继续")
        ]
    );
    assert_eq!(
        review_ids(&r, ReviewReason::Manual),
        ["KC06", "XX03", "JQ02", "ZT01", "ZD03", "ZD04"]
    );
}

// ---------------------------------------------------------------------------------------------
// Insurance card.

#[test]
fn insurance_good_call_scores_full_marks() {
    let r = score(&card("insurance.toml"), &call("insurance_good.json"));
    assert_eq!(hit_ids(&r), Vec::<&str>::new(), "{:#?}", r.hits);
    assert_eq!(r.total, 100.0);
    assert_eq!(review_ids(&r, ReviewReason::Manual), ["JN01", "JN02"]);
    assert_eq!(review_ids(&r, ReviewReason::Undecided), Vec::<&str>::new());
}

#[test]
fn insurance_bad_call_exact_deductions() {
    let r = score(&card("insurance.toml"), &call("insurance_bad.json"));
    assert_eq!(
        hit_ids(&r),
        [
            "TD02", "TD03", "TD05", "GF01", "GF02", "GF03", "GF05", "GF06", "GF07", "JN03", "JN04",
            "JN05"
        ]
    );
    let cats: Vec<f64> = r.categories.iter().map(|c| c.score).collect();
    // 服务态度 20−5−5−5; 服务规范 30−3−2−5−3−2−6; 服务技能 50−5−5−5.
    assert_eq!(cats, [5.0, 9.0, 35.0]);
    assert_eq!(r.total, 49.0);
    // TD02: the question and the classifier's "impatient" are the same utterance: counted once.
    let td02 = r.hits.iter().find(|h| h.id == "TD02").unwrap();
    assert_eq!((td02.points, td02.occurrences), (5.0, 1));
    assert_eq!(
        review_ids(&r, ReviewReason::Manual),
        ["TD06", "JN01", "JN02", "JN07"]
    );
    let td06 = r.review.iter().find(|v| v.id == "TD06").unwrap();
    assert_eq!(td06.evidence[0].note, "客户负面情绪 0.50 → 0.95");
}
