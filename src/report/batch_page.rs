//! The batch entry point, `index.html`: the review queue first (what to hear, why, and where
//! in the call), then the random sample and special listening, then the batch summary —
//! calls inspected and failed, score distribution, fatal and severe flags, top findings and
//! per-queue figures. Plus the same data as CSV/JSON for spreadsheets and other tools.

use super::html::{self, clock, duration_zh, esc, num, page_end, page_start, url_segment};
use super::queue::{Level, ReviewQueue};
use super::summary::CallSummary;
use super::ReportOptions;
use crate::record::CallStatus;
use crate::rules::{Effect, Severity};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
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
    let page = index_html(calls, q, &queues, &by_id, opts);
    crate::atomic::write_atomic(&out.join("index.html"), page.as_bytes())
}

#[derive(Serialize)]
struct QueueJson<'a> {
    options: &'a ReportOptions,
    entries: &'a [super::QueueEntry],
    samples: &'a [super::SampleGroup],
}

/// Per-queue figures.
#[derive(Debug, Default, Clone, PartialEq)]
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
            page_link(&e.call_id, e.at),
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

/// Link to a call page, positioned at `at` when known.
fn page_link(call_id: &str, at: Option<f64>) -> String {
    match at {
        Some(t) => format!("calls/{}.html#t={}", url_segment(call_id), num(t, 2)),
        None => format!("calls/{}.html", url_segment(call_id)),
    }
}

/// Link that opens a call page and plays from `t` (the ▶ evidence links).
fn play_link(call_id: &str, t: f64) -> String {
    format!("{}&play", page_link(call_id, Some(t)))
}

fn score_cell(c: &CallSummary) -> String {
    match (c.score, c.max_score) {
        (Some(s), Some(m)) => {
            let cls = if c.fatal.is_some() || c.score_pct.unwrap_or(0.0) < 60.0 {
                "color:var(--red)"
            } else if c.score_pct.unwrap_or(0.0) < 80.0 {
                "color:var(--orange)"
            } else {
                ""
            };
            format!(
                "<b style=\"{cls}\">{}</b><span class=\"muted small\">/{}</span>",
                num(s, 1),
                num(m, 0)
            )
        }
        _ => "<span class=\"muted\">未评分</span>".into(),
    }
}

fn index_html(
    calls: &[CallSummary],
    q: &ReviewQueue,
    queues: &[QueueFigures],
    by_id: &HashMap<&str, &CallSummary>,
    opts: &ReportOptions,
) -> String {
    let mut o = String::with_capacity(128 * 1024);
    page_start(&mut o, "智检 · 质检报告与复核队列");
    let ok: Vec<&CallSummary> = calls
        .iter()
        .filter(|c| c.status == CallStatus::Ok)
        .collect();
    let failed: Vec<&CallSummary> = calls
        .iter()
        .filter(|c| c.status == CallStatus::Failed)
        .collect();
    let scored: Vec<f64> = ok.iter().filter_map(|c| c.score_pct).collect();
    let fatal_calls = ok.iter().filter(|c| c.fatal.is_some()).count();
    let severe: usize = ok.iter().map(|c| c.severe_flags()).sum();
    let risky = q.entries.iter().filter(|e| e.level.is_some()).count();
    let audio: f64 = calls.iter().map(|c| c.duration_s).sum();

    let _ = write!(
        o,
        "<h1>智检 · 质检报告</h1><p class=\"muted small\">生成于 {} · 共 {} 通录音，{}</p>",
        super::time::now_utc(),
        calls.len(),
        duration_zh(audio)
    );
    o.push_str("<div class=\"cards\">");
    let mut card = |cls: &str, k: &str, v: String| {
        let _ = write!(
            o,
            "<div class=\"card {cls}\"><div class=\"v\">{v}</div><div class=\"k\">{k}</div></div>"
        );
    };
    card("", "已质检通话", ok.len().to_string());
    card(
        if failed.is_empty() { "" } else { "bad" },
        "质检失败",
        failed.len().to_string(),
    );
    card(
        if risky > 0 { "warn" } else { "" },
        "需优先复核",
        risky.to_string(),
    );
    card(
        if fatal_calls > 0 { "bad" } else { "" },
        "致命错误通话",
        fatal_calls.to_string(),
    );
    card(
        if severe > 0 { "warn" } else { "" },
        "严重问题",
        severe.to_string(),
    );
    card(
        "",
        "平均得分率",
        if scored.is_empty() {
            "—".into()
        } else {
            format!(
                "{}%",
                num(scored.iter().sum::<f64>() / scored.len() as f64, 1)
            )
        },
    );
    o.push_str("</div>");
    o.push_str(
        "<p class=\"toc noprint small\"><a href=\"#queue\">复核队列</a><a href=\"#sample\">随机抽样</a>\
         <a href=\"#summary\">批次概况</a><a href=\"#findings\">主要问题</a><a href=\"#queues\">各队列</a>\
         <a href=\"#failed\">失败通话</a><a href=\"#calls\">全部通话</a>\
         · 下载：<a href=\"review_queue.csv\">review_queue.csv</a> <a href=\"calls.csv\">calls.csv</a> \
         <a href=\"queues.csv\">queues.csv</a> <a href=\"review_queue.json\">review_queue.json</a></p>",
    );

    // ---- ① Review queue.
    let _ = write!(
        o,
        "<h2 id=\"queue\">① 复核队列：先听这些通话（{risky} 通）</h2>\
         <p class=\"small muted\">排序：致命错误 &gt; 严重问题 &gt; 客户不满（分类器）&gt; 低分（低于 {}%）&gt; 特殊调听\
         （投诉、{} 天内重复来电、超长 ≥ {}、超短 ≤ {}）；同级别失分越多越靠前。点击「证据」直接跳到录音中的位置。</p>",
        num(opts.low_score_pct, 1),
        num(opts.repeat_days, 1),
        duration_zh(opts.long_call_s),
        duration_zh(opts.short_call_s)
    );
    if risky == 0 {
        o.push_str(
            "<p class=\"banner note\">本批次没有需要优先复核的通话。请按下方随机抽样听取。</p>",
        );
    } else {
        o.push_str(
            "<table id=\"queue-table\"><tr><th>#</th><th>风险</th><th>通话</th><th>座席</th><th>队列</th>\
             <th>时间</th><th class=\"num\">得分</th><th>原因（点击证据时间播放）</th></tr>",
        );
        for e in q
            .entries
            .iter()
            .filter(|e| e.level.is_some())
            .take(opts.html_row_limit)
        {
            let Some(c) = by_id.get(e.call_id.as_str()) else {
                continue;
            };
            let level = e.level.unwrap_or(Level::Special);
            let reasons: String = e
                .reasons
                .iter()
                .map(|r| {
                    let at =
                        r.at.map(|t| {
                            format!(
                                " <a class=\"ev\" href=\"{}\">▶ {}</a>",
                                esc(&play_link(&e.call_id, t)),
                                clock(t)
                            )
                        })
                        .unwrap_or_default();
                    format!(
                        "<div><span class=\"badge {}\">{}</span> {}{at}</div>",
                        r.level.class(),
                        r.level.zh(),
                        esc(&r.text)
                    )
                })
                .collect();
            let _ = write!(
                o,
                "<tr class=\"q\" data-call=\"{}\"><td class=\"num\">{}</td><td><span class=\"badge {}\">{}</span>\
                 <div class=\"small muted\">风险 {}</div></td><td><a href=\"{}\">{}</a>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"small nowrap\">{}</td><td class=\"num\">{}</td><td>{reasons}</td></tr>",
                esc(&e.call_id),
                e.rank,
                level.class(),
                level.zh(),
                num(e.risk, 1),
                esc(&page_link(&e.call_id, e.at)),
                esc(&e.call_id),
                if e.sampled { " <span class=\"badge b-grey\">抽样</span>" } else { "" },
                esc(&c.agent_label()),
                esc(c.queue.as_deref().unwrap_or("—")),
                esc(&super::html::short_time(c.start_time.as_deref())),
                score_cell(c)
            );
        }
        o.push_str("</table>");
        if risky > opts.html_row_limit {
            let _ = write!(
                o,
                "<p class=\"small muted\">只列出前 {} 通；完整队列见 review_queue.csv。</p>",
                opts.html_row_limit
            );
        }
    }

    // ---- ② Random sample.
    let s = &opts.sample;
    let by = match s.by {
        super::SampleBy::Agent => "座席",
        super::SampleBy::Queue => "队列",
    };
    let _ = write!(
        o,
        "<h2 id=\"sample\">② 随机抽样（COPC，按{by}）</h2>\
         <p class=\"small muted\">样本量 n = z²·p·(1−p)/e²，再做有限总体修正 n/(1+(n−1)/N)，向上取整；\
         z = {}（置信度 {}），p = {}（未知错误率时取最保守值），e = ±{}。抽样可复现（随机种子 {}）。</p>",
        num(s.z, 4),
        confidence_label(s.z),
        num(s.p, 2),
        html::pct(s.margin),
        s.seed
    );
    o.push_str(&format!(
        "<table id=\"sample-table\"><tr><th>{by}</th><th class=\"num\">通话数 N</th><th class=\"num\">抽样数 n</th><th>抽中的通话</th></tr>"
    ));
    for g in &q.samples {
        let label = match s.by {
            super::SampleBy::Agent => ok
                .iter()
                .find(|c| {
                    c.agent_id.as_deref() == Some(&g.group)
                        || c.agent_name.as_deref() == Some(&g.group)
                })
                .map(|c| c.agent_label())
                .unwrap_or_else(|| g.group.clone()),
            super::SampleBy::Queue => g.group.clone(),
        };
        let links: String = g
            .calls
            .iter()
            .map(|id| format!("<a href=\"{}\">{}</a> ", esc(&page_link(id, None)), esc(id)))
            .collect();
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"small\">{links}</td></tr>",
            esc(&label),
            g.population,
            g.size
        );
    }
    o.push_str("</table>");

    // ---- ③ Batch summary.
    o.push_str("<h2 id=\"summary\">③ 批次概况</h2><div class=\"cols\"><div>");
    o.push_str("<h3>得分分布</h3>");
    let buckets: [(&str, f64, f64); 5] = [
        ("90–100（优秀）", 90.0, 1000.0),
        ("80–89（良好）", 80.0, 90.0),
        ("60–79（合格）", 60.0, 80.0),
        ("1–59（不合格）", f64::MIN_POSITIVE, 60.0),
        ("0", f64::NEG_INFINITY, f64::MIN_POSITIVE),
    ];
    let counts: Vec<usize> = buckets
        .iter()
        .map(|(_, lo, hi)| scored.iter().filter(|p| **p >= *lo && **p < *hi).count())
        .collect();
    let maxc = counts.iter().copied().max().unwrap_or(0).max(1);
    o.push_str("<table id=\"distribution\"><tr><th>得分率</th><th class=\"num\">通话</th><th style=\"width:55%\"></th></tr>");
    for ((label, lo, _), n) in buckets.iter().zip(&counts) {
        let red = *lo < 60.0;
        let _ = write!(
            o,
            "<tr><td class=\"nowrap\">{label}{}</td><td class=\"num\">{n}</td><td><span class=\"bar{}\" style=\"width:{:.1}%\"></span></td></tr>",
            if *label == "0" { "（含致命错误）" } else { "" },
            if red { " red" } else { "" },
            *n as f64 / maxc as f64 * 100.0
        );
    }
    let unscored = ok.len() - scored.len();
    let _ = write!(
        o,
        "</table><p class=\"small muted\">已评分 {} 通{}。{}</p>",
        scored.len(),
        if unscored > 0 {
            format!("，未评分 {unscored} 通")
        } else {
            String::new()
        },
        if scored.is_empty() {
            String::new()
        } else {
            let mut v = scored.clone();
            v.sort_by(|a, b| a.total_cmp(b));
            format!(
                "平均 {}%，中位数 {}%，最低 {}%。",
                num(v.iter().sum::<f64>() / v.len() as f64, 1),
                num(median(&v), 1),
                num(v[0], 1)
            )
        }
    );
    o.push_str("</div><div>");
    // Fatal and severe flags.
    o.push_str("<h3>致命错误与严重问题</h3>");
    let mut sev_rows: Vec<(&CallSummary, &super::summary::Flag)> = ok
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
    sev_rows.sort_by(|a, b| {
        b.1.fatal
            .cmp(&a.1.fatal)
            .then(a.0.call_id.cmp(&b.0.call_id))
    });
    if sev_rows.is_empty() {
        o.push_str("<p class=\"muted\">无。</p>");
    } else {
        o.push_str("<table id=\"severe\"><tr><th>级别</th><th>问题</th><th>通话</th><th>座席</th><th>证据</th></tr>");
        for (c, f) in sev_rows.iter().take(opts.html_row_limit) {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{} <span class=\"muted small\">{}</span></td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
                super::call_page::severity_badge(f.severity, f.fatal),
                esc(&f.name),
                esc(&f.id),
                esc(&page_link(&c.call_id, f.at)),
                esc(&c.call_id),
                esc(&c.agent_label()),
                f.at.map(|t| format!("<a class=\"ev\" href=\"{}\">▶ {}</a>", esc(&play_link(&c.call_id, t)), clock(t))).unwrap_or_default()
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</div></div>");

    // Top findings.
    // (item id, name) → (category, severity, fatal, calls, occurrences)
    type Tally = (String, Severity, bool, usize, usize);
    let mut top: BTreeMap<(String, String), Tally> = BTreeMap::new();
    for c in &ok {
        for f in c.flags.iter().filter(|f| f.effect == Effect::Deduct) {
            let e = top.entry((f.id.clone(), f.name.clone())).or_insert((
                f.category.clone(),
                f.severity,
                f.fatal,
                0,
                0,
            ));
            e.3 += 1;
            e.4 += f.occurrences;
        }
    }
    let mut top: Vec<_> = top.into_iter().collect();
    top.sort_by(|a, b| b.1 .3.cmp(&a.1 .3).then(a.0.cmp(&b.0)));
    o.push_str("<h3 id=\"findings\">主要问题（按涉及通话数）</h3>");
    if top.is_empty() {
        o.push_str("<p class=\"muted\">无扣分项。</p>");
    } else {
        o.push_str("<table id=\"top-findings\"><tr><th>问题</th><th>分类</th><th>严重度</th><th class=\"num\">涉及通话</th><th class=\"num\">占已评分</th><th class=\"num\">次数</th></tr>");
        for ((id, name), (cat, sev, fatal, n_calls, occ)) in top.iter().take(20) {
            let _ = write!(
                o,
                "<tr><td>{} <span class=\"muted small\">{}</span></td><td>{}</td><td>{}</td><td class=\"num\">{n_calls}</td><td class=\"num\">{}</td><td class=\"num\">{occ}</td></tr>",
                esc(name),
                esc(id),
                esc(cat),
                super::call_page::severity_badge(*sev, *fatal),
                html::pct(*n_calls as f64 / scored.len().max(1) as f64)
            );
        }
        o.push_str("</table>");
    }

    // Per queue.
    o.push_str(
        "<h3 id=\"queues\">各队列</h3><table id=\"queue-figures\"><tr><th>队列</th><th class=\"num\">通话</th><th class=\"num\">失败</th>\
         <th class=\"num\">平均得分率</th><th class=\"num\">致命错误通话</th><th class=\"num\">严重问题</th>\
         <th class=\"num\">平均时长</th><th class=\"num\">冷场/通</th><th class=\"num\">座席抢话/通</th><th class=\"num\">需复核</th></tr>",
    );
    for f in queues {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&f.queue),
            f.calls,
            f.failed,
            f.mean_pct.map(|p| format!("{}%", num(p, 1))).unwrap_or_else(|| "—".into()),
            f.fatal_calls,
            f.severe_flags,
            duration_zh(f.mean_duration_s),
            num(f.silences_per_call, 2),
            num(f.agent_interruptions_per_call, 2),
            f.in_review_queue
        );
    }
    o.push_str("</table>");

    // ---- Failed calls.
    let _ = write!(
        o,
        "<h2 id=\"failed\">④ 质检失败的通话（{}）</h2>",
        failed.len()
    );
    if failed.is_empty() {
        o.push_str("<p class=\"muted\">全部通话都已质检。</p>");
    } else {
        o.push_str("<table id=\"failed-table\"><tr><th>通话</th><th>文件</th><th>原因</th></tr>");
        for c in failed.iter().take(opts.html_row_limit) {
            let _ = write!(
                o,
                "<tr><td><a href=\"{}\">{}</a></td><td class=\"small\">{}</td><td>{}</td></tr>",
                esc(&page_link(&c.call_id, None)),
                esc(&c.call_id),
                esc(&c.file),
                esc(c.error.as_deref().unwrap_or(""))
            );
        }
        o.push_str("</table>");
    }

    // ---- Recordings without speech: not scored, not in any average.
    let silent: Vec<&CallSummary> = calls
        .iter()
        .filter(|c| c.status == CallStatus::NoSpeech)
        .collect();
    if !silent.is_empty() {
        let _ = write!(
            o,
            "<h2 id=\"no-speech\">无语音的录音（{}，未评分，不计入平均分）</h2>",
            silent.len()
        );
        o.push_str(
            "<table id=\"no-speech-table\"><tr><th>通话</th><th>文件</th><th>时长</th></tr>",
        );
        for c in silent.iter().take(opts.html_row_limit) {
            let _ = write!(
                o,
                "<tr><td><a href=\"{}\">{}</a></td><td class=\"small\">{}</td><td>{}</td></tr>",
                esc(&page_link(&c.call_id, None)),
                esc(&c.call_id),
                esc(&c.file),
                duration_zh(c.duration_s)
            );
        }
        o.push_str("</table>");
    }

    // ---- All calls, lowest score first.
    let mut all: Vec<&CallSummary> = ok.clone();
    all.sort_by(|a, b| {
        a.score_pct
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.score_pct.unwrap_or(f64::INFINITY))
            .then(a.call_id.cmp(&b.call_id))
    });
    let _ = write!(
        o,
        "<h2 id=\"calls\">⑤ 全部已质检通话（{}，得分从低到高）</h2>",
        all.len()
    );
    o.push_str(
        "<table id=\"calls-table\"><tr><th>通话</th><th>座席</th><th>队列</th><th>时间</th><th class=\"num\">时长</th>\
         <th class=\"num\">得分</th><th>等级</th><th class=\"num\">问题</th><th class=\"num\">冷场</th><th class=\"num\">座席抢话</th><th>挂机</th></tr>",
    );
    for c in all.iter().take(opts.html_row_limit) {
        let _ = write!(
            o,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"small nowrap\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&page_link(&c.call_id, None)),
            esc(&c.call_id),
            esc(&c.agent_label()),
            esc(c.queue.as_deref().unwrap_or("—")),
            esc(&super::html::short_time(c.start_time.as_deref())),
            clock(c.duration_s),
            score_cell(c),
            c.grade.unwrap_or("—"),
            c.flags.iter().filter(|f| f.effect == Effect::Deduct).count(),
            c.silence_count,
            c.interruptions_by_agent,
            match c.hangup_side {
                "agent" => "座席",
                "customer" => "客户",
                _ => "—",
            }
        );
    }
    o.push_str("</table>");
    if all.len() > opts.html_row_limit {
        let _ = write!(
            o,
            "<p class=\"small muted\">只列出前 {} 通；完整列表见 calls.csv。</p>",
            opts.html_row_limit
        );
    }
    page_end(&mut o, None);
    o
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
