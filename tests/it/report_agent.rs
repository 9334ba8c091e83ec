//! The per-agent report: seed 003's accuracies, ranks, warnings, types and trend against
//! hand-computed values; then the whole path from the fixture batch through the store.

use super::{golden, records};
use std::collections::HashMap;
use zhijian::report::agent::{compute, previous_period, AgentReportOptions, Opportunities};
use zhijian::report::time::Date;
use zhijian::report::types::ProblemTypes;
use zhijian::store::review::{FinalItem, FinalResult};
use zhijian::store::Store;

fn item(category: &str, severity: &str, points: f64, fatal: bool) -> FinalItem {
    FinalItem {
        item_id: format!("{category}-{severity}-{points}"),
        name: format!("{category}问题"),
        category: category.into(),
        kind: "hit".into(),
        severity: severity.into(),
        effect: "deduct".into(),
        auto_points: points,
        fatal,
        superseded: false,
        auto_applied: true,
        verdict: None,
        verdict_by: None,
        verdict_comment: None,
        manual_points: None,
        appeal: None,
        applied: true,
        applied_points: points,
        status: "自动判定".into(),
        first_at: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn call(
    id: &str,
    agent: &str,
    date: &str,
    card: &str,
    max: f64,
    auto: f64,
    final_score: f64,
    items: Vec<FinalItem>,
) -> FinalResult {
    let fatal = items
        .iter()
        .filter(|i| i.fatal && i.applied)
        .map(|i| i.name.clone())
        .collect();
    FinalResult {
        call_id: id.into(),
        agent_id: Some(agent.into()),
        queue: None,
        call_date: Some(date.into()),
        card: card.into(),
        max_score: max,
        auto_score: auto,
        auto_fatal: None,
        final_score,
        fatal,
        reviewed: auto != final_score,
        appeal_score: None,
        categories: Vec::new(),
        items,
    }
}

fn opts() -> AgentReportOptions {
    AgentReportOptions {
        from: Date::parse("2026-11-01").unwrap(),
        to: Date::parse("2026-11-30").unwrap(),
        low_score_pct: 80.0,
        types: ProblemTypes::default(),
        opportunities: Opportunities::default().with("卡", 10),
    }
}

#[test]
fn formulas_match_hand_computed_values() {
    let mut rejected = item("热情耐心", "严重", 5.0, false);
    rejected.applied = false; // a flag the reviewer rejected is not an error
    let current = vec![
        call(
            "a1",
            "A",
            "2026-11-03",
            "卡",
            100.0,
            90.0,
            90.0,
            vec![item("热情耐心", "一般", 10.0, false), rejected],
        ),
        call(
            "a2",
            "A",
            "2026-11-10",
            "卡",
            100.0,
            0.0,
            0.0,
            vec![
                item("热情耐心", "严重", 20.0, true),
                item("业务介绍", "一般", 5.0, false),
                item("语音语调", "轻微", 1.0, false),
            ],
        ),
        // Out of 50 points: 35 is 70%.
        call(
            "a3",
            "A",
            "2026-11-30",
            "卡",
            50.0,
            35.0,
            35.0,
            vec![
                item("热情耐心", "严重", 5.0, false),
                item("有效引导", "一般", 5.0, false),
                item("系统录入", "一般", 5.0, false),
            ],
        ),
        call("b1", "B", "2026-11-05", "卡", 100.0, 100.0, 100.0, vec![]),
        call(
            "b2",
            "B",
            "2026-11-06",
            "卡",
            100.0,
            95.0,
            95.0,
            vec![item("语音语调", "轻微", 5.0, false)],
        ),
        // Raised by review from 90 to 97.5: ties with B.
        call("c1", "C", "2026-11-07", "卡", 100.0, 90.0, 97.5, vec![]),
        call(
            "d1",
            "D",
            "2026-11-08",
            "未知卡",
            100.0,
            85.0,
            85.0,
            vec![item("服务礼仪", "一般", 15.0, false)],
        ),
    ];
    let previous = vec![call(
        "a0",
        "A",
        "2026-10-15",
        "卡",
        100.0,
        60.0,
        60.0,
        vec![],
    )];
    let names = HashMap::from([("A".to_string(), "甲".to_string())]);
    let r = compute(&current, &previous, &names, &opts());
    assert_eq!(
        (r.previous_from.as_str(), r.previous_to.as_str()),
        ("2026-10-02", "2026-10-31")
    );
    let order: Vec<(&str, usize, f64)> = r
        .agents
        .iter()
        .map(|a| (a.agent_id.as_str(), a.rank, a.top_pct))
        .collect();
    // B and C tie at 97.5 and share rank 1; D 85 is third; A 53.3 fourth of four.
    assert_eq!(
        order,
        [
            ("B", 1, 25.0),
            ("C", 1, 25.0),
            ("D", 3, 75.0),
            ("A", 4, 100.0)
        ]
    );

    let a = r.agents.iter().find(|a| a.agent_id == "A").unwrap();
    assert_eq!(a.name.as_deref(), Some("甲"));
    let c = &a.current;
    assert_eq!(c.calls, 3);
    // (90 + 0 + 70) / 3 = 53.33.
    assert_eq!(c.mean_pct, 53.3);
    assert_eq!((c.low_score_calls, a.warning), (2, true));
    // 致命错误准确性 = 1 − 1/3.
    assert_eq!((c.fatal_calls, c.fatal_accuracy), (1, 0.6667));
    // 非致命错误准确性 = 1 − 6 / (10 × 3) = 0.8 (the fatal item and the rejected flag are not
    // non-fatal errors).
    assert_eq!(
        (c.nonfatal_errors, c.opportunities, c.nonfatal_accuracy),
        (6, 30, Some(0.8))
    );
    let types: Vec<(&str, usize)> = a
        .flags_by_type
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        types,
        [
            ("业务知识", 1),
            ("其他", 0),
            ("服务态度", 3),
            ("沟通技巧", 2),
            ("系统操作", 1)
        ]
    );
    let sev: Vec<(&str, usize)> = a
        .flags_by_severity
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(sev, [("一般", 4), ("严重", 2), ("轻微", 1)]);
    // Trend: 53.3 against 60 the month before.
    assert_eq!(
        a.previous.as_ref().map(|p| (p.calls, p.mean_pct)),
        Some((1, 60.0))
    );
    assert_eq!(a.delta_mean_pct, Some(-6.7));
    assert_eq!(
        a.low_calls.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        ["a2", "a3"]
    );

    let b = r.agents.iter().find(|a| a.agent_id == "B").unwrap();
    // 1 − 1 / (10 × 2).
    assert_eq!(b.current.nonfatal_accuracy, Some(0.95));
    assert_eq!((b.previous.is_none(), b.delta_mean_pct), (true, None));
    let cc = r.agents.iter().find(|a| a.agent_id == "C").unwrap();
    assert_eq!(
        (
            cc.current.mean_pct,
            cc.current.mean_auto_pct,
            cc.reviewed_calls
        ),
        (97.5, 90.0, 1)
    );
    // A card the report does not know: no opportunities, so no 非致命错误准确性.
    let d = r.agents.iter().find(|a| a.agent_id == "D").unwrap();
    assert_eq!(d.current.nonfatal_accuracy, None);
    assert_eq!(r.unknown_cards, ["未知卡"]);
    // All agents: fatal 1 of 7 calls; errors 6 + 1 over 60 opportunities (d1 not counted).
    let all = r.overall.as_ref().unwrap();
    assert_eq!((all.calls, all.fatal_accuracy), (7, 0.8571));
    assert_eq!((all.nonfatal_errors, all.opportunities), (7, 60));
}

#[test]
fn previous_period_has_equal_length() {
    let d = |s| Date::parse(s).unwrap();
    let (f, t) = previous_period(d("2026-03-01"), d("2026-03-31"));
    assert_eq!(
        (f.to_string(), t.to_string()),
        ("2026-01-29".into(), "2026-02-28".into())
    );
    let (f, t) = previous_period(d("2026-11-02"), d("2026-11-08"));
    assert_eq!(
        (f.to_string(), t.to_string()),
        ("2026-10-26".into(), "2026-11-01".into())
    );
}

#[test]
fn fixture_batch_report_from_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Store::open(tmp.path().join("z.db")).unwrap();
    for r in records() {
        s.upsert_call(&r).unwrap();
    }
    // Opportunities are given here rather than read from rules/, so that editing the shipped
    // cards does not change this test: inbound 26, insurance 22, outbound 21 non-fatal lines.
    let opts = AgentReportOptions {
        opportunities: Opportunities::default()
            .with("呼入服务质检评分表", 26)
            .with("保险客服质检评分表", 22)
            .with("外呼营销质检评分表", 21),
        ..opts()
    };
    let r = zhijian::report::agent::build(&s, &opts).unwrap();
    let a1001 = r.agents.iter().find(|a| a.agent_id == "A1001").unwrap();
    // in-good 100 and in-xss 94; in-xss has 2 errors (ZD01, YD02): 1 − 2/52.
    assert_eq!((a1001.current.calls, a1001.current.mean_pct), (2, 97.0));
    assert_eq!(a1001.current.nonfatal_accuracy, Some(0.9615));
    let t2002 = r.agents.iter().find(|a| a.agent_id == "T2002").unwrap();
    assert_eq!((t2002.current.fatal_accuracy, t2002.rank), (0.0, 6));
    // The failed call of A1002 is not a monitored call.
    let a1002 = r.agents.iter().find(|a| a.agent_id == "A1002").unwrap();
    assert_eq!(a1002.current.calls, 1);
    golden("agents.csv", &zhijian::report::agent::csv(&r).unwrap());
    let mut json = serde_json::to_string_pretty(&r).unwrap();
    json.push('\n');
    golden("agents.json", &json);
}
