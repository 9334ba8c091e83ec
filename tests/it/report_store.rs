//! The SQLite store: migrations, upserts that replace automatic results but keep every human
//! verdict, and final scores after review and appeal, against hand-computed values.

use super::record;
use zhijian::rules::ReviewReason;
use zhijian::store::review::{Decision, Verdict};
use zhijian::store::{Store, StoreError};

fn count(s: &Store, sql: &str) -> i64 {
    s.db().value(sql, &[]).unwrap()
}

#[test]
fn migrations_run_once_and_newer_databases_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("sub/zhijian.db");
    // 1: the initial schema; 2: the monthly ledger.
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 4);
    drop(s);
    // Reopening applies nothing twice.
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 4);
    s.db()
        .as_sqlite()
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    drop(s);
    match Store::open(&path) {
        Err(e @ StoreError::TooNew { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("schema version 99") && msg.contains("zhijian.db"),
                "{msg}"
            );
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn upsert_stores_every_part_of_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    upsert_stores_every_part_of_the_record_on(Store::open(tmp.path().join("z.db")).unwrap());
}

/// The same on PostgreSQL.
#[test]
fn upsert_stores_every_part_of_the_record_pg() {
    upsert_stores_every_part_of_the_record_on(Store::open(crate::pg::fresh_db()).unwrap());
}

fn upsert_stores_every_part_of_the_record_on(mut s: Store) {
    let rec = record("in-bad");
    s.upsert_call(&rec).unwrap();
    s.upsert_call(&record("broken")).unwrap();
    assert_eq!(count(&s, "SELECT COUNT(*) FROM calls"), 2);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM agents"), 1);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM queues"), 1);
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM utterances WHERE call_id = 'in-bad'"
        ),
        11
    );
    // 1 silence + 2 interruptions + 2 latencies (no overlaps in this record).
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM findings WHERE call_id = 'in-bad'"),
        5
    );
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM scores WHERE call_id = 'in-bad'"),
        9
    );
    let score = rec.score.as_ref().unwrap();
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM item_hits WHERE call_id = 'in-bad' AND kind = 'hit'"
        ),
        score.hits.len() as i64
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM item_hits WHERE call_id = 'in-bad' AND kind = 'review'"
        ),
        score.review.len() as i64
    );
    let (date, epoch, auto): (String, i64, f64) = s
        .db()
        .one(
            "SELECT call_date, start_epoch, auto_score FROM calls WHERE call_id = 'in-bad'",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    // 2026-11-02T10:00:00+08:00 = 02:00 UTC.
    assert_eq!(
        (date.as_str(), epoch, auto),
        ("2026-11-02", 1_793_584_800, 53.0)
    );
    let (status, error): (String, String) = s
        .db()
        .one(
            "SELECT status, error FROM calls WHERE call_id = 'broken'",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "failed");
    assert_eq!(
        error,
        "decode: unsupported codec: GSM 6.10 (format tag 0x31)"
    );
}

#[test]
fn reinspection_replaces_automatic_results_and_keeps_human_input() {
    let tmp = tempfile::tempdir().unwrap();
    reinspection_replaces_automatic_results_and_keeps_human_input_on(
        Store::open(tmp.path().join("z.db")).unwrap(),
    );
}

/// The same on PostgreSQL.
#[test]
fn reinspection_replaces_automatic_results_and_keeps_human_input_pg() {
    reinspection_replaces_automatic_results_and_keeps_human_input_on(
        Store::open(crate::pg::fresh_db()).unwrap(),
    );
}

fn reinspection_replaces_automatic_results_and_keeps_human_input_on(mut s: Store) {
    let rec = record("in-bad");
    s.upsert_call(&rec).unwrap();
    s.record_verdict(
        "in-bad",
        "RX02",
        Verdict::Rejected,
        "客户先骂人",
        "质检员张",
    )
    .unwrap();
    s.record_manual_score("in-bad", "YW01", 10.0, "年费政策解释错误", "质检员张")
        .unwrap();
    let appeal = s
        .file_appeal("in-bad", Some("RX04"), None, "是客户先挂机")
        .unwrap();
    assert_eq!(s.final_result("in-bad").unwrap().final_score, 49.0);

    // A new scorecard run: RX02 no longer fires, the transcript lost a line, the score changed.
    let mut again = rec.clone();
    let score = again.score.as_mut().unwrap();
    score.hits.retain(|h| h.id != "RX02");
    score.categories[2].deducted = 14.0;
    score.categories[2].score = 6.0;
    score.total = 59.0;
    score.subtotal = 59.0;
    again.utterances.pop();
    s.upsert_call(&again).unwrap();

    assert_eq!(count(&s, "SELECT COUNT(*) FROM calls"), 1);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM utterances"), 10);
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM item_hits WHERE item_id = 'RX02'"),
        0,
        "automatic results are replaced"
    );
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM verdicts"),
        1,
        "verdicts are kept"
    );
    assert_eq!(count(&s, "SELECT COUNT(*) FROM manual_scores"), 1);
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM appeals WHERE status = 'open'"),
        1
    );
    let f = s.final_result("in-bad").unwrap();
    assert_eq!(f.auto_score, 59.0);
    // 59 − 10 (YW01, manual) = 49; the kept RX02 verdict has no flag left to act on.
    assert_eq!(f.final_score, 49.0);
    let rx04 = f.items.iter().find(|i| i.item_id == "RX04").unwrap();
    assert_eq!(rx04.appeal, Some((appeal, "open".into())));
    assert_eq!(rx04.status, "自动判定（申诉中）");
}

#[test]
fn final_score_applies_verdicts_manual_scores_and_appeals() {
    let tmp = tempfile::tempdir().unwrap();
    final_score_applies_verdicts_manual_scores_and_appeals_on(
        Store::open(tmp.path().join("z.db")).unwrap(),
    );
}

/// The same on PostgreSQL.
#[test]
fn final_score_applies_verdicts_manual_scores_and_appeals_pg() {
    final_score_applies_verdicts_manual_scores_and_appeals_on(
        Store::open(crate::pg::fresh_db()).unwrap(),
    );
}

fn final_score_applies_verdicts_manual_scores_and_appeals_on(mut s: Store) {
    for id in ["in-bad", "out-bad"] {
        s.upsert_call(&record(id)).unwrap();
    }
    let f = s.final_result("in-bad").unwrap();
    // No human input: the final score is the automatic one, category by category.
    assert_eq!(
        (f.auto_score, f.final_score, f.reviewed),
        (53.0, 53.0, false)
    );
    assert!(f.categories.iter().all(|c| c.auto_score == c.final_score));

    // 热情耐心 (max 20) deducted 24 → 0. Rejecting RX02 (−10) leaves 14 → 6: 53 + 6 = 59.
    s.record_verdict("in-bad", "RX02", Verdict::Rejected, "", "张")
        .unwrap();
    assert_eq!(s.final_result("in-bad").unwrap().final_score, 59.0);
    // A later verdict wins: confirmed again → 53.
    s.record_verdict("in-bad", "RX02", Verdict::Confirmed, "再听一遍，成立", "李")
        .unwrap();
    assert_eq!(s.final_result("in-bad").unwrap().final_score, 53.0);
    // Manual item YW01 (业务介绍, max 10): 10 points → 43. LC01 scored 0: no change.
    s.record_manual_score("in-bad", "YW01", 10.0, "", "张")
        .unwrap();
    s.record_manual_score("in-bad", "LC01", 0.0, "流程正确", "张")
        .unwrap();
    assert_eq!(s.final_result("in-bad").unwrap().final_score, 43.0);
    // An item appeal accepted by the lead drops the flag: RX02 again → 热情耐心 6 → 49.
    let a = s
        .file_appeal("in-bad", Some("RX02"), None, "客户先辱骂")
        .unwrap();
    s.decide_appeal(a, Decision::Accept, None, "主管", "成立")
        .unwrap();
    let f = s.final_result("in-bad").unwrap();
    assert_eq!(
        (f.auto_score, f.final_score, f.reviewed),
        (53.0, 49.0, true)
    );
    let rx02 = f.items.iter().find(|i| i.item_id == "RX02").unwrap();
    assert_eq!(
        (rx02.applied, rx02.status.as_str()),
        (false, "申诉成立，不扣分")
    );
    // Deciding twice is refused.
    assert!(matches!(
        s.decide_appeal(a, Decision::Reject, None, "主管", ""),
        Err(StoreError::AlreadyDecided(..))
    ));

    // out-bad: subtotal 39, zeroed by two fatal items (ZD01, ZD02, 5 points each in 总体评价).
    let f = s.final_result("out-bad").unwrap();
    assert_eq!((f.final_score, f.fatal.len()), (0.0, 2));
    s.record_verdict("out-bad", "ZD01", Verdict::Rejected, "", "张")
        .unwrap();
    // One fatal item left: still 0.
    assert_eq!(s.final_result("out-bad").unwrap().final_score, 0.0);
    s.record_verdict("out-bad", "ZD02", Verdict::Rejected, "", "张")
        .unwrap();
    // No fatal item: 总体评价 back to 5 → 39 + 5 = 44; the 加分项 category (base zero) keeps +2.
    let f = s.final_result("out-bad").unwrap();
    assert_eq!((f.final_score, f.fatal.len()), (44.0, 0));
    let bonus = f.categories.iter().find(|c| c.name == "加分项").unwrap();
    assert_eq!((bonus.auto_score, bonus.final_score), (2.0, 2.0));

    // An appeal against the whole call: accepting it needs the score.
    let a = s
        .file_appeal("out-bad", None, Some("T2002"), "整通评分过严")
        .unwrap();
    assert!(matches!(
        s.decide_appeal(a, Decision::Accept, None, "主管", ""),
        Err(StoreError::Invalid(_))
    ));
    s.decide_appeal(a, Decision::Accept, Some(60.0), "主管", "酌情")
        .unwrap();
    let f = s.final_result("out-bad").unwrap();
    assert_eq!((f.final_score, f.appeal_score), (60.0, Some(60.0)));
}

#[test]
fn review_input_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    review_input_is_checked_on(Store::open(tmp.path().join("z.db")).unwrap());
}

/// The same on PostgreSQL.
#[test]
fn review_input_is_checked_pg() {
    review_input_is_checked_on(Store::open(crate::pg::fresh_db()).unwrap());
}

fn review_input_is_checked_on(mut s: Store) {
    s.upsert_call(&record("in-bad")).unwrap();
    assert!(matches!(
        s.record_verdict("nope", "RX02", Verdict::Confirmed, "", ""),
        Err(StoreError::NoCall(_))
    ));
    assert!(matches!(
        s.record_verdict("in-bad", "XX99", Verdict::Confirmed, "", ""),
        Err(StoreError::NoItem { .. })
    ));
    // Automatic flags get verdicts, not manual points; points stay within the category.
    let e = s
        .record_manual_score("in-bad", "RX02", 3.0, "", "")
        .unwrap_err();
    assert!(e.to_string().contains("automatic flag"), "{e}");
    let e = s
        .record_manual_score("in-bad", "YW01", 11.0, "", "")
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("between 0 and the category maximum 10"),
        "{e}"
    );
    assert!(s.file_appeal("in-bad", None, None, "  ").is_err());
    assert!(matches!(
        s.decide_appeal(42, Decision::Accept, None, "", ""),
        Err(StoreError::NoAppeal(42))
    ));
    // The review items of the record are what `score` listed.
    let rec = record("in-bad");
    let manual: Vec<&str> = rec
        .score
        .as_ref()
        .unwrap()
        .review
        .iter()
        .filter(|v| v.reason == ReviewReason::Manual)
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(manual, ["YY03", "LJ01", "YD01", "YW01", "LC01", "LC03"]);
}

#[test]
fn rule_precision_counts_confirmed_over_reviewed() {
    let tmp = tempfile::tempdir().unwrap();
    rule_precision_counts_confirmed_over_reviewed_on(Store::open(tmp.path().join("z.db")).unwrap());
}

/// The same on PostgreSQL.
#[test]
fn rule_precision_counts_confirmed_over_reviewed_pg() {
    rule_precision_counts_confirmed_over_reviewed_on(Store::open(crate::pg::fresh_db()).unwrap());
}

fn rule_precision_counts_confirmed_over_reviewed_on(mut s: Store) {
    for id in ["in-bad", "in-xss", "in-good"] {
        s.upsert_call(&record(id)).unwrap();
    }
    // ZD01 fired on in-bad and in-xss; YD02 too.
    s.record_verdict("in-bad", "ZD01", Verdict::Confirmed, "", "")
        .unwrap();
    s.record_verdict("in-xss", "ZD01", Verdict::Rejected, "", "")
        .unwrap();
    s.record_verdict("in-xss", "YD02", Verdict::Confirmed, "", "")
        .unwrap();
    // An accepted appeal counts as a rejection, whatever the inspector said.
    s.record_verdict("in-bad", "RX04", Verdict::Confirmed, "", "")
        .unwrap();
    let a = s
        .file_appeal("in-bad", Some("RX04"), None, "客户先挂")
        .unwrap();
    s.decide_appeal(a, Decision::Accept, None, "", "").unwrap();
    let p = s.rule_precision(None, None).unwrap();
    let get = |id: &str| p.iter().find(|x| x.item_id == id).unwrap();
    let zd01 = get("ZD01");
    assert_eq!(
        (zd01.flagged, zd01.reviewed, zd01.confirmed, zd01.rejected),
        (2, 2, 1, 1)
    );
    assert_eq!(zd01.precision, Some(0.5));
    assert_eq!(get("YD02").precision, Some(1.0));
    assert_eq!(get("RX04").precision, Some(0.0));
    assert_eq!(get("RX02").precision, None);
    // Worst first.
    assert_eq!(p[0].item_id, "RX04");
    // Period filter: only in-bad (2026-11-02).
    let p = s
        .rule_precision(
            zhijian::report::time::Date::parse("2026-11-02"),
            zhijian::report::time::Date::parse("2026-11-02"),
        )
        .unwrap();
    assert_eq!(p.iter().find(|x| x.item_id == "ZD01").unwrap().flagged, 1);
}
