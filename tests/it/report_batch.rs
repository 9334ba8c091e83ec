//! Batch reports of the fixture batch: golden CSV/JSON, the queue's order and reasons, the
//! COPC sample sizes.

use super::{golden, records};
use zhijian::report::{
    sample_size, write_batch_reports, BatchReport, Level, ReportOptions, SampleBy,
};

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn batch_outputs_match_golden_files() {
    let tmp = tempfile::tempdir().unwrap();
    write_batch_reports(tmp.path(), &records(), &ReportOptions::default()).unwrap();
    // No volatile field in these: generation time appears only in index.html.
    for name in [
        "calls.csv",
        "review_queue.csv",
        "queues.csv",
        "review_queue.json",
    ] {
        golden(name, &read(&tmp.path().join(name)));
    }
    let csv = read(&tmp.path().join("calls.csv"));
    assert!(
        csv.starts_with('\u{feff}'),
        "CSV starts with a BOM for Excel"
    );
}

#[test]
fn queue_ranks_fatal_then_severe_then_special() {
    let mut b = BatchReport::new(ReportOptions::default());
    for r in records() {
        b.add(&r);
    }
    let q = b.queue();
    let order: Vec<(&str, Option<Level>, f64)> = q
        .entries
        .iter()
        .map(|e| (e.call_id.as_str(), e.level, e.risk))
        .collect();
    assert_eq!(
        order,
        [
            // Fatal: 100 × 5 + 99 (lost everything, capped at 99).
            ("out-bad", Some(Level::Fatal), 599.0),
            // Severe: 400 + points lost (49 → 51, 53 → 47).
            ("ins-bad", Some(Level::Severe), 451.0),
            ("in-bad", Some(Level::Severe), 447.0),
            // Special: 100 + lost.
            ("in-xss", Some(Level::Special), 106.0),
            ("in-good", Some(Level::Special), 100.0),
            ("ins-long", Some(Level::Special), 100.0),
            ("out-good", Some(Level::Special), 100.0),
        ]
    );
    // The failed call is not in the queue; every call is sampled (one or two calls per agent).
    assert!(q.entries.iter().all(|e| e.call_id != "broken"));
    assert!(q.entries.iter().all(|e| e.sampled));
    let texts = |id: &str| -> Vec<String> {
        q.entries
            .iter()
            .find(|e| e.call_id == id)
            .unwrap()
            .reasons
            .iter()
            .map(|r| format!("{}|{}|{:?}", r.level.zh(), r.text, r.at))
            .collect()
    };
    assert_eq!(
        texts("in-bad"),
        [
            "严重问题|反问、质问客户（RX02）|Some(22.1)",
            "严重问题|座席先挂机（RX04）|Some(54.0)",
            "严重问题|使用服务禁语（ZD02）|Some(22.1)",
            "客户不满|客户愤怒（分类器 0.90）|Some(25.5)",
            "低分|得分 53/100，低于 80%|Some(22.1)",
            "特殊调听|客户投诉（分类器 0.80）|Some(33.5)",
            "特殊调听|需人工确认：投诉专项抽听|Some(4.5)",
        ]
    );
    // Same customer number four days later: a repeat caller.
    assert!(texts("in-good")
        .iter()
        .any(|t| t == "特殊调听|重复来电：4 天内再次来电（上次 in-bad）|None"));
    assert!(texts("ins-long")
        .iter()
        .any(|t| t == "特殊调听|超长通话：25 分 00 秒|None"));
    // The queue entry jumps to the first timed evidence of its worst reason.
    assert_eq!(q.entries[0].at, Some(4.5));
}

#[test]
fn queue_thresholds_follow_the_options() {
    let opts = ReportOptions {
        low_score_pct: 95.0,
        long_call_s: 3600.0,
        repeat_days: 1.0,
        ..ReportOptions::default()
    };
    let mut b = BatchReport::new(opts);
    for r in records() {
        b.add(&r);
    }
    let q = b.queue();
    let xss = q.entries.iter().find(|e| e.call_id == "in-xss").unwrap();
    // 94 < 95: now a low-score call.
    assert_eq!(xss.level, Some(Level::LowScore));
    let long = q.entries.iter().find(|e| e.call_id == "ins-long").unwrap();
    assert!(long.reasons.iter().all(|r| !r.text.starts_with("超长通话")));
    let good = q.entries.iter().find(|e| e.call_id == "in-good").unwrap();
    assert!(good.reasons.iter().all(|r| !r.text.starts_with("重复来电")));
}

/// n = n0 / (1 + (n0 − 1) / N), n0 = z²p(1−p)/e², rounded up — written out independently.
fn textbook(n_pop: usize, z: f64, e: f64, p: f64) -> usize {
    let n0 = z * z * p * (1.0 - p) / (e * e);
    let n = n0 / (1.0 + (n0 - 1.0) / n_pop as f64);
    (n.ceil() as usize).clamp(1, n_pop)
}

#[test]
fn sample_size_is_the_standard_formula() {
    // Hand-computed anchors: 95%, ±5%, p = 0.5.
    assert_eq!(sample_size(100, 1.96, 0.05, 0.5), 80); // 384.16 / 4.8316 = 79.5
    assert_eq!(sample_size(500, 1.96, 0.05, 0.5), 218); // 384.16 / 1.76632 = 217.5
    assert_eq!(sample_size(10_000, 1.96, 0.05, 0.5), 370); // 384.16 / 1.038316 = 369.98
                                                           // ±3%: n0 = 1067.11.
    assert_eq!(sample_size(100_000, 1.96, 0.03, 0.5), 1056);
    for &(z, e, p) in &[
        (1.96, 0.05, 0.5),
        (1.6449, 0.05, 0.5),
        (2.5758, 0.03, 0.2),
        (1.96, 0.1, 0.1),
    ] {
        for n in [1, 2, 5, 15, 60, 61, 250, 999, 5000, 123_456] {
            assert_eq!(
                sample_size(n, z, e, p),
                textbook(n, z, e, p),
                "N={n} z={z} e={e} p={p}"
            );
        }
    }
}

#[test]
fn sample_by_queue_draws_from_each_queue() {
    let mut opts = ReportOptions::default();
    opts.sample.by = SampleBy::Queue;
    opts.sample.margin = 0.5; // n0 = 3.84: a small sample, so the draw matters.
    let mut b = BatchReport::new(opts.clone());
    for r in records() {
        b.add(&r);
    }
    let q = b.queue();
    let groups: Vec<(&str, usize, usize)> = q
        .samples
        .iter()
        .map(|g| (g.group.as_str(), g.population, g.size))
        .collect();
    // 客服热线 has 3 inspected calls (the failed one is not sampled): 3.84 / (1 + 2.84/3) = 1.97 → 2.
    assert_eq!(
        groups,
        [("保险理赔", 2, 2), ("客服热线", 3, 2), ("电话营销", 2, 2)]
    );
    let again = {
        let mut b = BatchReport::new(opts);
        for r in records().into_iter().rev() {
            b.add(&r);
        }
        b.queue().samples
    };
    assert_eq!(q.samples, again, "same seed and calls, same sample");
}

#[test]
fn failed_call_page_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let rec = super::record("broken");
    let page = zhijian::report::write_call_page(&rec, tmp.path()).unwrap();
    assert_eq!(page, tmp.path().join("calls/broken.html"));
    let html = read(&page);
    assert!(html.contains(
        "<div class=\"banner failed\">质检失败（decode）：unsupported codec: GSM 6.10 (format tag 0x31)</div>"
    ));
    // No length, no timeline; no score.
    assert!(!html.contains("id=\"timeline\""));
    assert!(html.contains("<dt>评分表</dt><dd>未评分</dd>"));
}

#[test]
fn call_ids_cannot_escape_the_output_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rec = super::record("in-good");
    for bad in ["../evil", "a/b", ".hidden", ""] {
        rec.call_id = bad.into();
        let e = zhijian::report::write_call_page(&rec, tmp.path()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
    }
    assert!(!tmp.path().join("evil.html").exists());
}
