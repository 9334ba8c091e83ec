//! The batch entry point, `index.html`: the review queue first (what to hear, why, and where
//! in the call), then the random sample and special listening, then the batch summary —
//! calls inspected and failed, score distribution, fatal and severe flags, top findings and
//! per-queue figures. Plus the same data as CSV/JSON for spreadsheets and other tools.
//!
//! The page is `templates/export/index.html`, fed an [`IndexView`]; its queue rows are the
//! macro the server's queue uses too (`templates/parts/queue.html`).

use super::html::{self, clock, num};
use super::queue::ReviewQueue;
use super::summary::CallSummary;
use super::views::{reasons, score_class, Links, QueueRowView};
use super::ReportOptions;
use crate::record::CallStatus;
use crate::rules::{Effect, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::Path;

/// Excel reads UTF-8 CSV as the local code page unless it starts with a byte-order mark.
const BOM: &str = "\u{feff}";

pub fn write_all(
    out: &Path,
    calls: &[CallSummary],
    q: &ReviewQueue,
    opts: &ReportOptions,
) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let by_id: HashMap<&str, &CallSummary> =
        calls.iter().map(|c| (c.call_id.as_str(), c)).collect();
    let queues = queue_figures(calls, q);
    crate::atomic::write_atomic(&out.join("calls.csv"), calls_csv(calls, q)?.as_bytes())?;
    crate::atomic::write_atomic(
        &out.join("review_queue.csv"),
        queue_csv(q, &by_id)?.as_bytes(),
    )?;
    let json = serde_json::to_vec_pretty(&QueueJson {
        options: opts,
        entries: &q.entries,
        samples: &q.samples,
    })
    .map_err(io::Error::other)?;
    crate::atomic::write_atomic(&out.join("review_queue.json"), &json)?;
    crate::atomic::write_atomic(&out.join("queues.csv"), queues_csv(&queues)?.as_bytes())?;
    let page = index_html(calls, q, &queues, &by_id, opts)?;
    super::render::write_assets(out, true)?;
    crate::atomic::write_atomic(&out.join("index.html"), page.as_bytes())
}

#[derive(Serialize)]
struct QueueJson<'a> {
    options: &'a ReportOptions,
    entries: &'a [super::QueueEntry],
    samples: &'a [super::SampleGroup],
}

/// Per-queue figures.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct QueueFigures {
    pub queue: String,
    pub calls: usize,
    pub failed: usize,
    pub scored: usize,
    pub mean_pct: Option<f64>,
    pub fatal_calls: usize,
    pub severe_flags: usize,
    pub mean_duration_s: f64,
    pub silences_per_call: f64,
    pub agent_interruptions_per_call: f64,
    pub in_review_queue: usize,
}

fn queue_figures(calls: &[CallSummary], q: &ReviewQueue) -> Vec<QueueFigures> {
    let in_queue: std::collections::HashSet<&str> = q
        .entries
        .iter()
        .filter(|e| e.level.is_some())
        .map(|e| e.call_id.as_str())
        .collect();
    let mut by: BTreeMap<String, Vec<&CallSummary>> = BTreeMap::new();
    for c in calls {
        by.entry(c.queue.clone().unwrap_or_else(|| "（未知）".into()))
            .or_default()
            .push(c);
    }
    by.into_iter()
        .map(|(queue, cs)| {
            let ok: Vec<&&CallSummary> = cs.iter().filter(|c| c.status == CallStatus::Ok).collect();
            let pcts: Vec<f64> = ok.iter().filter_map(|c| c.score_pct).collect();
            let n_ok = ok.len().max(1) as f64;
            QueueFigures {
                queue,
                calls: cs.len(),
                failed: cs.iter().filter(|c| c.status == CallStatus::Failed).count(),
                scored: pcts.len(),
                mean_pct: (!pcts.is_empty()).then(|| pcts.iter().sum::<f64>() / pcts.len() as f64),
                fatal_calls: ok.iter().filter(|c| c.fatal.is_some()).count(),
                severe_flags: ok.iter().map(|c| c.severe_flags()).sum(),
                mean_duration_s: ok.iter().map(|c| c.duration_s).sum::<f64>() / n_ok,
                silences_per_call: ok.iter().map(|c| c.silence_count as f64).sum::<f64>() / n_ok,
                agent_interruptions_per_call: ok
                    .iter()
                    .map(|c| c.interruptions_by_agent as f64)
                    .sum::<f64>()
                    / n_ok,
                in_review_queue: cs
                    .iter()
                    .filter(|c| in_queue.contains(c.call_id.as_str()))
                    .count(),
            }
        })
        .collect()
}

fn opt_num(x: Option<f64>, dp: usize) -> String {
    x.map(|v| num(v, dp)).unwrap_or_default()
}

fn finish_csv(w: csv::Writer<Vec<u8>>) -> io::Result<String> {
    let bytes = w
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(format!(
        "{BOM}{}",
        String::from_utf8(bytes).map_err(io::Error::other)?
    ))
}

fn calls_csv(calls: &[CallSummary], q: &ReviewQueue) -> io::Result<String> {
    let entries: HashMap<&str, &super::QueueEntry> =
        q.entries.iter().map(|e| (e.call_id.as_str(), e)).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "call_id",
        "status",
        "agent_id",
        "agent_name",
        "queue",
        "direction",
        "start_time",
        "duration_s",
        "card",
        "score",
        "max_score",
        "score_pct",
        "grade",
        "fatal",
        "severe_flags",
        "flags",
        "review_items",
        "undecided_items",
        "risk_level",
        "risk",
        "sampled",
        "silences",
        "silence_total_s",
        "overlaps",
        "interruptions_by_agent",
        "interruptions_by_customer",
        "hangup_side",
        "error",
        "file",
        "page",
    ])?;
    for c in calls {
        let e = entries.get(c.call_id.as_str());
        let flags: Vec<String> = c
            .flags
            .iter()
            .map(|f| {
                let sign = if f.effect == Effect::Deduct { "-" } else { "+" };
                format!("{}:{}{}", f.id, sign, num(f.points, 2))
            })
            .collect();
        w.write_record([
            c.call_id.clone(),
            format!("{:?}", c.status).to_lowercase(),
            c.agent_id.clone().unwrap_or_default(),
            c.agent_name.clone().unwrap_or_default(),
            c.queue.clone().unwrap_or_default(),
            c.direction.clone().unwrap_or_default(),
            c.start_time.clone().unwrap_or_default(),
            num(c.duration_s, 2),
            c.card.clone().unwrap_or_default(),
            opt_num(c.score, 2),
            opt_num(c.max_score, 2),
            opt_num(c.score_pct, 1),
            c.grade.unwrap_or_default().to_string(),
            c.fatal.clone().unwrap_or_default(),
            c.severe_flags().to_string(),
            flags.join(" "),
            c.review_items.to_string(),
            c.undecided_items.to_string(),
            e.and_then(|e| e.level)
                .map(|l| l.zh())
                .unwrap_or_default()
                .to_string(),
            e.map(|e| num(e.risk, 1)).unwrap_or_else(|| "0".into()),
            e.is_some_and(|e| e.sampled).to_string(),
            c.silence_count.to_string(),
            num(c.silence_total_s, 2),
            c.overlap_count.to_string(),
            c.interruptions_by_agent.to_string(),
            c.interruptions_by_customer.to_string(),
            c.hangup_side.to_string(),
            c.error.clone().unwrap_or_default(),
            c.file.clone(),
            format!("calls/{}.html", c.call_id),
        ])?;
    }
    finish_csv(w)
}

fn queue_csv(q: &ReviewQueue, by_id: &HashMap<&str, &CallSummary>) -> io::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "rank",
        "call_id",
        "risk_level",
        "risk",
        "reasons",
        "evidence_at_s",
        "evidence_at",
        "sampled",
        "agent_id",
        "agent_name",
        "queue",
        "start_time",
        "duration_s",
        "score",
        "max_score",
        "page",
    ])?;
    for e in &q.entries {
        let c = by_id.get(e.call_id.as_str());
        let reasons: Vec<String> = e
            .reasons
            .iter()
            .map(|r| match r.at {
                Some(t) => format!("{}：{} @{}", r.level.zh(), r.text, clock(t)),
                None => format!("{}：{}", r.level.zh(), r.text),
            })
            .collect();
        w.write_record([
            e.rank.to_string(),
            e.call_id.clone(),
            e.level.map(|l| l.zh()).unwrap_or("随机抽样").to_string(),
            num(e.risk, 1),
            reasons.join("; "),
            opt_num(e.at, 2),
            e.at.map(clock).unwrap_or_default(),
            e.sampled.to_string(),
            c.and_then(|c| c.agent_id.clone()).unwrap_or_default(),
            c.and_then(|c| c.agent_name.clone()).unwrap_or_default(),
            c.and_then(|c| c.queue.clone()).unwrap_or_default(),
            c.and_then(|c| c.start_time.clone()).unwrap_or_default(),
            c.map(|c| num(c.duration_s, 2)).unwrap_or_default(),
            opt_num(c.and_then(|c| c.score), 2),
            opt_num(c.and_then(|c| c.max_score), 2),
            Links::Export.call(&e.call_id, e.at),
        ])?;
    }
    finish_csv(w)
}

fn queues_csv(qs: &[QueueFigures]) -> io::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "queue",
        "calls",
        "failed",
        "scored",
        "mean_score_pct",
        "fatal_calls",
        "severe_flags",
        "mean_duration_s",
        "silences_per_call",
        "agent_interruptions_per_call",
        "in_review_queue",
    ])?;
    for q in qs {
        w.write_record([
            q.queue.clone(),
            q.calls.to_string(),
            q.failed.to_string(),
            q.scored.to_string(),
            opt_num(q.mean_pct, 1),
            q.fatal_calls.to_string(),
            q.severe_flags.to_string(),
            num(q.mean_duration_s, 1),
            num(q.silences_per_call, 2),
            num(q.agent_interruptions_per_call, 2),
            q.in_review_queue.to_string(),
        ])?;
    }
    finish_csv(w)
}

/// What `templates/export/index.html` shows (see the module comment).
#[derive(Serialize)]
struct IndexView<'a> {
    generated: String,
    calls: usize,
    audio_s: f64,
    cards: Vec<Card>,
    risky: usize,
    queue: Vec<QueueRowView>,
    sample: SampleView,
    buckets: Vec<Bucket>,
    scored: usize,
    unscored: usize,
    stats: Option<Stats>,
    severe: Vec<SevereRow<'a>>,
    top: Vec<TopFinding>,
    queues: &'a [QueueFigures],
    failed: Vec<CallRow<'a>>,
    failed_total: usize,
    silent: Vec<CallRow<'a>>,
    silent_total: usize,
    all: Vec<CallRow<'a>>,
    all_total: usize,
}

#[derive(Serialize)]
struct Card {
    class: &'static str,
    k: &'static str,
    v: String,
}

#[derive(Serialize)]
struct SampleView {
    by: &'static str,
    confidence: String,
    groups: Vec<SampleRow>,
}

#[derive(Serialize)]
struct SampleRow {
    label: String,
    population: usize,
    size: usize,
    /// (call id, link).
    calls: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Bucket {
    label: String,
    n: usize,
    red: bool,
    /// Bar length, percent of the largest bucket.
    width: f64,
}

#[derive(Serialize)]
struct Stats {
    mean: f64,
    median: f64,
    min: f64,
}

#[derive(Serialize)]
struct SevereRow<'a> {
    severity: Severity,
    fatal: bool,
    name: &'a str,
    id: &'a str,
    call_id: &'a str,
    href: String,
    agent: String,
    at: Option<f64>,
    play: Option<String>,
}

#[derive(Serialize)]
struct TopFinding {
    id: String,
    name: String,
    category: String,
    severity: Severity,
    fatal: bool,
    calls: usize,
    /// Share of the scored calls.
    share: f64,
    occurrences: usize,
}

/// A call in the failed, no-speech and all-calls tables.
#[derive(Serialize)]
struct CallRow<'a> {
    call_id: &'a str,
    href: String,
    file: &'a str,
    error: Option<&'a str>,
    agent: String,
    queue: Option<&'a str>,
    time: String,
    duration_s: f64,
    score: Option<f64>,
    max_score: Option<f64>,
    score_class: &'static str,
    grade: Option<&'static str>,
    flags: usize,
    silences: usize,
    interruptions: usize,
    hangup: &'static str,
}

impl<'a> CallRow<'a> {
    fn of(c: &'a CallSummary) -> CallRow<'a> {
        CallRow {
            call_id: &c.call_id,
            href: Links::Export.call(&c.call_id, None),
            file: &c.file,
            error: c.error.as_deref(),
            agent: c.agent_label(),
            queue: c.queue.as_deref(),
            time: html::short_time(c.start_time.as_deref()),
            duration_s: c.duration_s,
            score: c.score,
            max_score: c.max_score,
            score_class: score_class(c.score_pct, c.fatal.is_some()),
            grade: c.grade,
            flags: c
                .flags
                .iter()
                .filter(|f| f.effect == Effect::Deduct)
                .count(),
            silences: c.silence_count,
            interruptions: c.interruptions_by_agent,
            hangup: match c.hangup_side {
                "agent" => "座席",
                "customer" => "客户",
                _ => "—",
            },
        }
    }
}

fn index_html(
    calls: &[CallSummary],
    q: &ReviewQueue,
    queues: &[QueueFigures],
    by_id: &HashMap<&str, &CallSummary>,
    opts: &ReportOptions,
) -> io::Result<String> {
    let ok: Vec<&CallSummary> = calls
        .iter()
        .filter(|c| c.status == CallStatus::Ok)
        .collect();
    let scored: Vec<f64> = ok.iter().filter_map(|c| c.score_pct).collect();
    let risky = q.entries.iter().filter(|e| e.level.is_some()).count();
    let limit = opts.html_row_limit;
    let with_status =
        |s: CallStatus| -> Vec<&CallSummary> { calls.iter().filter(|c| c.status == s).collect() };
    let (failed, silent) = (
        with_status(CallStatus::Failed),
        with_status(CallStatus::NoSpeech),
    );
    // All scored calls, lowest score first.
    let mut all = ok.clone();
    all.sort_by(|a, b| {
        a.score_pct
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.score_pct.unwrap_or(f64::INFINITY))
            .then(a.call_id.cmp(&b.call_id))
    });
    let v = IndexView {
        generated: super::time::now_utc(),
        calls: calls.len(),
        audio_s: calls.iter().map(|c| c.duration_s).sum(),
        cards: cards(&ok, failed.len(), risky, &scored),
        risky,
        queue: queue_rows(q, by_id, limit),
        sample: sample_view(q, &ok, opts),
        buckets: buckets(&scored),
        scored: scored.len(),
        unscored: ok.len() - scored.len(),
        stats: stats(&scored),
        severe: severe_rows(&ok, limit),
        top: top_findings(&ok, scored.len()),
        queues,
        failed: failed.iter().take(limit).map(|c| CallRow::of(c)).collect(),
        failed_total: failed.len(),
        silent: silent.iter().take(limit).map(|c| CallRow::of(c)).collect(),
        silent_total: silent.len(),
        all: all.iter().take(limit).map(|c| CallRow::of(c)).collect(),
        all_total: all.len(),
    };
    super::render::export_page(
        "export/index.html",
        "",
        minijinja::context! { v => v, o => opts },
    )
}

fn cards(ok: &[&CallSummary], failed: usize, risky: usize, scored: &[f64]) -> Vec<Card> {
    let fatal = ok.iter().filter(|c| c.fatal.is_some()).count();
    let severe: usize = ok.iter().map(|c| c.severe_flags()).sum();
    let flag = |bad: bool, class: &'static str| if bad { class } else { "" };
    let mean = if scored.is_empty() {
        "—".into()
    } else {
        format!(
            "{}%",
            num(scored.iter().sum::<f64>() / scored.len() as f64, 1)
        )
    };
    vec![
        Card {
            class: "",
            k: "已质检通话",
            v: ok.len().to_string(),
        },
        Card {
            class: flag(failed > 0, "bad"),
            k: "质检失败",
            v: failed.to_string(),
        },
        Card {
            class: flag(risky > 0, "warn"),
            k: "需优先复核",
            v: risky.to_string(),
        },
        Card {
            class: flag(fatal > 0, "bad"),
            k: "致命错误通话",
            v: fatal.to_string(),
        },
        Card {
            class: flag(severe > 0, "warn"),
            k: "严重问题",
            v: severe.to_string(),
        },
        Card {
            class: "",
            k: "平均得分率",
            v: mean,
        },
    ]
}

/// The risky calls of the queue, as the shared queue rows.
fn queue_rows(
    q: &ReviewQueue,
    by_id: &HashMap<&str, &CallSummary>,
    limit: usize,
) -> Vec<QueueRowView> {
    q.entries
        .iter()
        .filter(|e| e.level.is_some())
        .take(limit)
        .filter_map(|e| {
            let c = by_id.get(e.call_id.as_str())?;
            let mut row = QueueRowView::call(
                &e.call_id,
                e.at,
                Links::Export,
                c.agent_label(),
                c.queue.clone(),
                c.start_time.as_deref(),
                c.duration_s,
            )
            .with_level(e.level, e.risk)
            .with_score(c.score, c.max_score, c.fatal.is_some());
            row.rank = e.rank;
            row.sampled = e.sampled;
            row.reasons = reasons(&e.call_id, &e.reasons, Links::Export);
            Some(row)
        })
        .collect()
}

fn sample_view(q: &ReviewQueue, ok: &[&CallSummary], opts: &ReportOptions) -> SampleView {
    let s = &opts.sample;
    let groups = q
        .samples
        .iter()
        .map(|g| SampleRow {
            label: match s.by {
                super::SampleBy::Agent => ok
                    .iter()
                    .find(|c| {
                        c.agent_id.as_deref() == Some(&g.group)
                            || c.agent_name.as_deref() == Some(&g.group)
                    })
                    .map(|c| c.agent_label())
                    .unwrap_or_else(|| g.group.clone()),
                super::SampleBy::Queue => g.group.clone(),
            },
            population: g.population,
            size: g.size,
            calls: g
                .calls
                .iter()
                .map(|id| (id.clone(), Links::Export.call(id, None)))
                .collect(),
        })
        .collect();
    SampleView {
        by: match s.by {
            super::SampleBy::Agent => "座席",
            super::SampleBy::Queue => "队列",
        },
        confidence: confidence_label(s.z),
        groups,
    }
}

fn buckets(scored: &[f64]) -> Vec<Bucket> {
    let ranges: [(&str, f64, f64); 5] = [
        ("90–100（优秀）", 90.0, 1000.0),
        ("80–89（良好）", 80.0, 90.0),
        ("60–79（合格）", 60.0, 80.0),
        ("1–59（不合格）", f64::MIN_POSITIVE, 60.0),
        ("0（含致命错误）", f64::NEG_INFINITY, f64::MIN_POSITIVE),
    ];
    let counts: Vec<usize> = ranges
        .iter()
        .map(|(_, lo, hi)| scored.iter().filter(|p| **p >= *lo && **p < *hi).count())
        .collect();
    let most = counts.iter().copied().max().unwrap_or(0).max(1);
    ranges
        .iter()
        .zip(counts)
        .map(|((label, lo, _), n)| Bucket {
            label: label.to_string(),
            n,
            red: *lo < 60.0,
            width: n as f64 / most as f64 * 100.0,
        })
        .collect()
}

fn stats(scored: &[f64]) -> Option<Stats> {
    if scored.is_empty() {
        return None;
    }
    let mut v = scored.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some(Stats {
        mean: v.iter().sum::<f64>() / v.len() as f64,
        median: median(&v),
        min: v[0],
    })
}

/// Fatal and severe flags, fatal first.
fn severe_rows<'a>(ok: &[&'a CallSummary], limit: usize) -> Vec<SevereRow<'a>> {
    let mut rows: Vec<(&CallSummary, &super::summary::Flag)> = ok
        .iter()
        .flat_map(|c| {
            c.flags
                .iter()
                .filter(|f| {
                    f.fatal || (f.effect == Effect::Deduct && f.severity == Severity::Severe)
                })
                .map(move |f| (*c, f))
        })
        .collect();
    rows.sort_by(|a, b| {
        b.1.fatal
            .cmp(&a.1.fatal)
            .then(a.0.call_id.cmp(&b.0.call_id))
    });
    rows.into_iter()
        .take(limit)
        .map(|(c, f)| SevereRow {
            severity: f.severity,
            fatal: f.fatal,
            name: &f.name,
            id: &f.id,
            call_id: &c.call_id,
            href: Links::Export.call(&c.call_id, f.at),
            agent: c.agent_label(),
            at: f.at,
            play: f.at.map(|t| Links::Export.play(&c.call_id, t)),
        })
        .collect()
}

/// The 20 deduction lines that hit the most calls.
fn top_findings(ok: &[&CallSummary], scored: usize) -> Vec<TopFinding> {
    let mut top: BTreeMap<(String, String), TopFinding> = BTreeMap::new();
    for c in ok {
        for f in c.flags.iter().filter(|f| f.effect == Effect::Deduct) {
            let t = top
                .entry((f.id.clone(), f.name.clone()))
                .or_insert_with(|| TopFinding {
                    id: f.id.clone(),
                    name: f.name.clone(),
                    category: f.category.clone(),
                    severity: f.severity,
                    fatal: f.fatal,
                    calls: 0,
                    share: 0.0,
                    occurrences: 0,
                });
            t.calls += 1;
            t.occurrences += f.occurrences;
        }
    }
    let mut top: Vec<TopFinding> = top.into_values().collect();
    top.sort_by(|a, b| {
        b.calls
            .cmp(&a.calls)
            .then((&a.id, &a.name).cmp(&(&b.id, &b.name)))
    });
    top.truncate(20);
    for t in &mut top {
        t.share = t.calls as f64 / scored.max(1) as f64;
    }
    top
}

fn confidence_label(z: f64) -> String {
    let table = [
        (1.2816, "80%"),
        (1.6449, "90%"),
        (1.96, "95%"),
        (2.3263, "98%"),
        (2.5758, "99%"),
    ];
    table
        .iter()
        .find(|(v, _)| (v - z).abs() < 1e-3)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| format!("z={}", num(z, 3)))
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}
