//! Seed 003's monthly rules over a real store: a month of calls for three agents on the three
//! seat types (each call scored by the shipped seat card, stored in SQLite, read back after
//! review), ledger entries, and the monthly totals computed by hand from 003's tables.

use std::path::PathBuf;
use zhijian::record::CallRecord;
use zhijian::report::monthly::agent_months;
use zhijian::rules::monthly::{load_monthly_dir, MonthlyResult};
use zhijian::rules::{score, ScorecardSet};
use zhijian::store::Store;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The good seat call with one problem put in (`kind`), for `agent` on `queue`, dated `day`.
fn call(agent: &str, queue: &str, n: usize, day: &str, kind: &str) -> CallRecord {
    let text = std::fs::read_to_string(root().join("tests/fixtures/calls/seat_good.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = format!("{agent}-{n:02}");
    v["call_id"] = id.clone().into();
    v["metadata"]["call_id"] = id.into();
    v["metadata"]["agent_id"] = agent.into();
    v["metadata"]["queue"] = queue.into();
    v["metadata"]["start_time"] = format!("{day}T10:{n:02}:00+08:00").into();
    let u =
        |v: &mut serde_json::Value, i: usize, text: &str| v["utterances"][i]["text"] = text.into();
    match kind {
        "ok" => {}
        // 服务用语: no company name in the greeting (FW01).
        "greeting" => u(&mut v, 0, "喂，你好，请问有什么可以帮到您？"),
        // 服务态度: 反问 (TD02), coached.
        "attitude" => u(
            &mut v,
            3,
            "感谢您的耐心等待，你听我说完，您本月话费是八十六元。",
        ),
        // 服务态度: 辱骂 (TD06), 重大服务态度问题.
        "insult" => u(
            &mut v,
            3,
            "感谢您的耐心等待，你有病吧，您本月话费是八十六元。",
        ),
        // 聆听: the agent cuts in (LT01).
        "interrupt" => {
            v["findings"]["interruptions"] =
                serde_json::json!([{"by": "agent", "at": 9.5, "span": {"start": 9.5, "end": 9.8}}]);
            v["metrics"]["interruptions_by_agent"] = 1.into();
        }
        // 应答及时性: two replies after more than 5 s (JS01).
        "latency" => {
            v["findings"]["latencies"] = serde_json::json!([
                {"customer_end": 5.0, "agent_start": 11.0, "seconds": 6.0},
                {"customer_end": 32.0, "agent_start": 38.0, "seconds": 6.0}
            ]);
        }
        // 后挂机: the agent hangs up first (HG01).
        "hangup" => v["metrics"]["hangup"]["side"] = "agent".into(),
        other => panic!("unknown kind {other}"),
    }
    let mut rec: CallRecord = serde_json::from_value(v).unwrap();
    let set = ScorecardSet::load_dir(&root().join("rules")).unwrap();
    rec.score = Some(score(set.select(rec.metadata.as_ref()), &rec));
    rec
}

/// `kinds[i]` is the problem of call i (dated 2026-11-(i+1)).
fn month(store: &mut Store, agent: &str, queue: &str, kinds: &[&str]) {
    for (i, k) in kinds.iter().enumerate() {
        let day = format!("2026-11-{:02}", i + 1);
        store.upsert_call(&call(agent, queue, i, &day, k)).unwrap();
    }
}

fn item<'a>(m: &'a MonthlyResult, category: &str) -> &'a zhijian::rules::monthly::MonthItemResult {
    m.items.iter().find(|i| i.category == category).unwrap()
}

#[test]
fn three_agents_months_match_the_seed_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path().join("z.db")).unwrap();
    let ok = "ok";
    // G1 (GSM): two 反问 (coaching), one slow reply; and a December call that must not count.
    let mut g1 = vec![ok; 15];
    g1[1] = "attitude";
    g1[5] = "attitude";
    g1[9] = "latency";
    month(&mut store, "G1", "GSM综合座席", &g1);
    store
        .upsert_call(&call("G1", "GSM综合座席", 99, "2026-12-01", "hangup"))
        .unwrap();
    // C1 (CDMA): three 反问 (coached twice, the third deducts), one 辱骂 (at once), four cut-ins.
    let mut c1 = vec![ok; 15];
    c1[..3].fill("attitude");
    c1[3] = "insult";
    c1[4..8].fill("interrupt");
    month(&mut store, "C1", "CDMA专席", &c1);
    // V1 (世界风): only 12 calls; four without the company name, one agent hang-up (fatal on
    // this seat), one slow reply.
    let mut v1 = vec![ok; 12];
    v1[..4].fill("greeting");
    v1[4] = "hangup";
    v1[5] = "latency";
    month(&mut store, "V1", "世界风专席", &v1);

    store
        .add_ledger_entry("G1", "2026-11", "praise_written", "表扬信", "lead")
        .unwrap();
    store
        .add_ledger_entry("C1", "2026-11", "complaint_attitude", "有理投诉", "lead")
        .unwrap();
    store
        .add_ledger_entry("V1", "2026-11", "praise_media", "晚报", "lead")
        .unwrap();
    store
        .add_ledger_entry("V1", "2026-10", "praise_media", "上月的", "lead")
        .unwrap();

    let cards = ScorecardSet::load_dir(&root().join("rules")).unwrap();
    let rules = load_monthly_dir(&root().join("rules"), &cards).unwrap();
    assert_eq!(rules.len(), 3);
    let d = |s| zhijian::report::time::Date::parse(s).unwrap();
    let results = store
        .final_results_between(d("2026-11-01"), d("2026-11-30"))
        .unwrap();
    let ledger = store.ledger_entries("2026-11", None).unwrap();
    let one = |agent: &str| -> MonthlyResult {
        let ms = agent_months(&rules, agent, "2026-11", &results, &ledger);
        assert_eq!(ms.len(), 1, "{agent}: {ms:#?}");
        ms.into_iter().next().unwrap()
    };

    // G1 on the GSM/SP rules. 服务用语 15/15 ≥ 12 → 2.5; 服务态度 2 × 13/15 = 1.73, two
    // failures are coaching (指导 3 次) → no deduction; 后挂机 1; 提供有效信息 15 > 3 → 2;
    // 应答及时性 14 > 10 → 0.2 (1 failure, not more than 5); 聆听 1; 理解确认 15 > 3 → 2;
    // 语言技巧灵活性 3. Full marks: 服务用语 and 服务技巧 (聆听, 理解确认, 语言技巧灵活性)
    // → 2 × 0.5. Ledger: 书面表扬 +2. Total 13.43 + 1 + 2 = 16.43.
    let g = one("G1");
    assert_eq!(g.card, "GSM综合座席、SP座席质检记录表");
    assert_eq!((g.monitored, g.shortfall), (15, 0));
    assert!(!g.call_ids.contains(&"G1-99".to_string()));
    let td = item(&g, "服务态度");
    assert_eq!(
        (td.failed, td.coached, td.bonus, td.deducted),
        (2, 2, 1.73, 0.0)
    );
    assert_eq!(item(&g, "应答及时性").bonus, 0.2);
    let fm: Vec<&str> = g.full_marks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(fm, ["服务用语", "服务技巧"]);
    assert_eq!(
        (g.bonus, g.deducted, g.ledger_points, g.total),
        (14.43, 0.0, 2.0, 16.43)
    );

    // C1 on the CDMA rules. 服务态度: 4 failed (3 反问 + 1 辱骂) → bonus 1 × 11/15 = 0.73;
    // 指导 2 次, the third 反问 deducts 1, the 辱骂 deducts 1 at once → 2. 聆听: 4 cut-ins,
    // 当次即扣 → 0.4, bonus 1 × 11/15 = 0.73. Others full: 2.5 + 1 + 2 + 0.2 (15 > 12) + 3
    // (15 > 5) + 3. Full marks: 服务用语, 业务技能 → 1. Ledger: 服务态度有理投诉 −10.
    // Total 13.16 + 1 − 2.4 − 10 = 1.76.
    let c = one("C1");
    let td = item(&c, "服务态度");
    assert_eq!(
        (td.failed, td.immediate, td.coached, td.bonus, td.deducted),
        (4, 1, 2, 0.73, 2.0)
    );
    let lt = item(&c, "聆听");
    assert_eq!((lt.failed, lt.bonus, lt.deducted), (4, 0.73, 0.4));
    assert_eq!(
        (c.bonus, c.deducted, c.ledger_points, c.total),
        (14.16, 2.4, -10.0, 1.76)
    );

    // V1 on the 世界风/大客户 rules: 12 of 15 calls (short by 3). 服务用语 failed 4 > 3 →
    // 全部不予加分 (every bonus and the full marks). 后挂机 (fatal on the call) deducts 1 at
    // once; one slow reply is within 3. Ledger: 媒体表扬 +5 (October's entry not counted).
    // Total 0 − 1 + 5 = 4.
    let v = one("V1");
    assert_eq!((v.monitored, v.shortfall), (12, 3));
    assert_eq!(v.all_bonus_cancelled_by.as_deref(), Some("服务用语"));
    assert!(v.full_marks.is_empty());
    assert_eq!(item(&v, "后挂机").deducted, 1.0);
    assert_eq!(
        (v.bonus, v.deducted, v.ledger_points, v.total),
        (0.0, 1.0, 5.0, 4.0)
    );
    // The hang-up call itself is a fatal zero on this seat's card.
    let hung = results.iter().find(|r| r.call_id == "V1-04").unwrap();
    assert_eq!(hung.final_score, 0.0);
    assert_eq!(hung.fatal.len(), 1);

    // `zhijian report` for the month: each agent's page carries the month next to the
    // accuracies, and agents.json its figures.
    let out = tmp.path().join("report");
    let args = zhijian::report::agent::AgentReportArgs {
        db: tmp.path().join("z.db"),
        from: "2026-11-01".into(),
        to: "2026-11-30".into(),
        out: out.clone(),
        low_score: 80.0,
        types: None,
        rules: root().join("rules"),
    };
    drop(store);
    zhijian::report::agent::report_cmd(&args, &mut Vec::new()).unwrap();
    let html = std::fs::read_to_string(out.join("agents.html")).unwrap();
    assert!(
        html.contains("月度加扣分（2026-11）· CDMA专席月度服务质量加扣分"),
        "monthly block"
    );
    assert!(html.contains("<b>月度合计 1.76</b>"));
    assert!(html.contains("少 3 条"));
    assert!(html.contains("服务用语不合格超限：本月全部不予加分"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("agents.json")).unwrap()).unwrap();
    let g1 = json["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == "G1")
        .unwrap();
    assert_eq!(g1["monthly"][0]["total"], 16.43);
    assert_eq!(json["monthly_month"], "2026-11");
    // A period that spans two months has no monthly block.
    let args = zhijian::report::agent::AgentReportArgs {
        from: "2026-11-15".into(),
        to: "2026-12-14".into(),
        ..args
    };
    zhijian::report::agent::report_cmd(&args, &mut Vec::new()).unwrap();
    let html = std::fs::read_to_string(out.join("agents.html")).unwrap();
    assert!(!html.contains("月度加扣分"));
}

#[test]
fn ledger_command_checks_the_kind_against_the_monthly_rules() {
    use zhijian::report::monthly::{ledger_cmd, LedgerArgs, LedgerCommand};
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("z.db");
    Store::open(&db).unwrap();
    let args = |command| LedgerArgs {
        db: db.clone(),
        rules: root().join("rules"),
        command,
    };
    let add = |kind: &str| LedgerCommand::Add {
        agent: "C1".into(),
        month: "2026-11".into(),
        kind: kind.into(),
        note: "工单 8812".into(),
        by: "lead".into(),
    };
    let mut out = Vec::new();
    ledger_cmd(&args(add("complaint_attitude")), &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "ledger #1: C1 2026-11 complaint_attitude（有理投诉：服务态度问题造成的非致命错误，-10 分）\n"
    );
    let e = ledger_cmd(&args(add("praise")), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("unknown ledger kind `praise` (kinds in "),
        "{e}"
    );
    assert!(e.contains("praise_written"), "{e}");
    let mut out = Vec::new();
    let list = LedgerCommand::List {
        month: "2026-11".into(),
        agent: None,
    };
    ledger_cmd(&args(list), &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "#1\tC1\t2026-11\tcomplaint_attitude\t工单 8812\tlead\n"
    );
}

/// An insurance call (the good fixture) on 保险理赔, dated `day`, from `number`.
fn insurance_call(n: usize, day: &str, number: &str, complaint: bool) -> CallRecord {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/calls/insurance_good.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let id = format!("ins-{n:02}");
    v["call_id"] = id.clone().into();
    v["metadata"]["call_id"] = id.into();
    v["metadata"]["start_time"] = format!("{day}T09:{n:02}:00+08:00").into();
    v["metadata"]["customer_number"] = number.into();
    if complaint {
        v["utterances"][1]["text"] = "我要投诉，理赔拖了一个月。".into();
    }
    let mut rec: CallRecord = serde_json::from_value(v).unwrap();
    let set = ScorecardSet::load_dir(&root().join("rules")).unwrap();
    rec.score = Some(score(set.select(rec.metadata.as_ref()), &rec));
    rec
}

#[test]
fn insurance_sampling_quota_per_queue() {
    use zhijian::store::review::Verdict;
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path().join("z.db")).unwrap();
    // 20 inbound calls on 2026-11-02; call 5 is a complaint (特殊调听 JN09); call 7 comes from
    // the number that called as call 6 an hour earlier (反复来电).
    for n in 0..20 {
        let number = match n {
            6 | 7 => "13800000000".to_string(),
            _ => format!("1390000{n:04}"),
        };
        let mut rec = insurance_call(n, "2026-11-02", &number, n == 5);
        if n == 7 {
            rec.metadata.as_mut().unwrap().start_time = Some("2026-11-02T10:06:00+08:00".into());
        }
        store.upsert_call(&rec).unwrap();
    }
    // Reviews: call 0 the next day, call 5 the day after, call 1 a week later (too late).
    for (call, at) in [
        ("ins-00", "2026-11-03"),
        ("ins-05", "2026-11-04"),
        ("ins-01", "2026-11-09"),
    ] {
        store
            .record_verdict(call, "JN01", Verdict::Confirmed, "", "qa")
            .unwrap();
        store
            .db()
            .as_sqlite()
            .unwrap()
            .execute(
                "UPDATE verdicts SET created_at = ?1 WHERE call_id = ?2",
                [format!("{at}T08:00:00Z"), call.to_string()],
            )
            .unwrap();
    }
    let cards = ScorecardSet::load_dir(&root().join("rules")).unwrap();
    let d = |s| zhijian::report::time::Date::parse(s).unwrap();
    let (from, to) = (d("2026-11-01"), d("2026-11-30"));
    let results = store.final_results_between(from, to).unwrap();
    let q = zhijian::report::quota::quotas(&store, &cards, &results, from, to, 7.0).unwrap();
    let lines: Vec<(&str, &str, usize, usize, usize, f64, bool)> = q
        .iter()
        .map(|l| {
            (
                l.queue.as_str(),
                l.class.as_str(),
                l.calls,
                l.reviewed,
                l.reviewed_in_time,
                l.pct,
                l.met,
            )
        })
        .collect();
    // 呼入: 3 reviewed, 2 within two days → 2/20 = 10% ≥ 10%. 特殊调听: calls 5 and 7, call 5
    // reviewed in time → 50% ≥ 10%. No outbound calls on this card: no line.
    assert_eq!(
        lines,
        [
            ("保险理赔", "呼入", 20, 3, 2, 10.0, true),
            ("保险理赔", "特殊调听", 2, 1, 1, 50.0, true)
        ]
    );
    // Without the complaint's timely review the inbound share drops to 5%: not met.
    store
        .db()
        .as_sqlite()
        .unwrap()
        .execute("DELETE FROM verdicts WHERE call_id = 'ins-05'", [])
        .unwrap();
    let results = store.final_results_between(from, to).unwrap();
    let q = zhijian::report::quota::quotas(&store, &cards, &results, from, to, 7.0).unwrap();
    assert_eq!((q[0].pct, q[0].met), (5.0, false));
    assert_eq!((q[1].reviewed, q[1].met), (0, false));
    assert!(zhijian::report::quota::html(&q).contains("未达标"));
}
