//! The per-call page an inspector listens with: header and score, the recording, the timeline,
//! what the scorecard flagged with its evidence, what needs a human, the transcript with the
//! evidence highlighted, and the scorecard breakdown. One self-contained file; clicking a line,
//! a piece of evidence or the timeline plays that moment.

use super::html::{self, clock, duration_zh, esc, num, page_end, page_start};
use super::queue::label_zh;
use super::summary::grade;
use crate::record::{CallRecord, CallStatus, Direction, Role, Side};
use crate::rules::{Effect, Evidence, ReviewReason, Severity};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Labels a classifier head uses for something going wrong.
const HOT_LABELS: &[&str] = &[
    "angry",
    "dissatisfied",
    "impatient",
    "rude",
    "shirking",
    "complaint",
    "escalation",
];

fn head_zh(h: &str) -> &str {
    match h {
        "attitude" => "态度",
        "emotion" => "情绪",
        "intent" => "意图",
        other => other,
    }
}

fn class_label_zh(l: &str) -> &str {
    match l {
        "ok" => "正常",
        "neutral" => "平静",
        "inquiry" => "咨询",
        "cancellation" => "退订/销户",
        "refund" => "退款",
        "praise" => "表扬",
        "other" => "其他",
        "positive" => "正面",
        "negative" => "负面",
        other => label_zh(other),
    }
}

pub fn severity_badge(sev: Severity, fatal: bool) -> String {
    if fatal {
        return "<span class=\"badge b-fatal\">致命</span>".into();
    }
    let class = match sev {
        Severity::Severe => "b-severe",
        Severity::Moderate => "b-moderate",
        Severity::Minor => "b-minor",
    };
    format!("<span class=\"badge {class}\">{}</span>", sev.zh())
}

/// A clickable chip for one piece of evidence: time, and what was said or noted.
fn evidence_chip(e: &Evidence) -> String {
    let what = match (&e.text, e.note.is_empty()) {
        (Some(t), _) => format!("「{}」", esc(t)),
        (None, false) => esc(&e.note),
        (None, true) => String::new(),
    };
    let who = e.role.map(|r| format!("{} ", r.zh())).unwrap_or_default();
    format!(
        "<span class=\"ev\" data-t=\"{}\" title=\"播放此处\">▶ {} {}{}</span>",
        num(e.start, 3),
        clock(e.start),
        who,
        what
    )
}

fn direction_zh(d: Option<Direction>) -> &'static str {
    match d {
        Some(Direction::Inbound) => "呼入",
        Some(Direction::Outbound) => "呼出",
        None => "—",
    }
}

fn side_zh(s: Side) -> &'static str {
    match s {
        Side::Agent => "座席先挂机",
        Side::Customer => "客户先挂机",
        Side::Unknown => "未知",
    }
}

/// The recording's path relative to the page, as a URL.
fn audio_src(rec: &CallRecord, page_dir: &Path) -> Option<String> {
    if rec.input.path.as_os_str().is_empty() {
        return None;
    }
    let target = html::absolute(&rec.input.path);
    let from = html::absolute(page_dir);
    Some(html::url_path(&html::relative(&target, &from)))
}

/// Render the page for `rec`, to be written into `page_dir` (`<out>/calls`).
pub fn render(rec: &CallRecord, page_dir: &Path) -> String {
    let meta = rec.metadata.clone().unwrap_or_default();
    let mut o = String::with_capacity(64 * 1024);
    page_start(&mut o, &format!("通话 {} · 智检", rec.call_id));
    let _ = write!(
        o,
        "<p class=\"small noprint\"><a href=\"../index.html\">← 返回批次报告与复核队列</a></p>"
    );

    // ---- Header: who, when, and the verdict.
    let agent = match (&meta.agent_name, &meta.agent_id) {
        (Some(n), Some(i)) => format!("{}（工号 {}）", esc(n), esc(i)),
        (Some(n), None) => esc(n),
        (None, Some(i)) => format!("工号 {}", esc(i)),
        (None, None) => "未知座席".into(),
    };
    o.push_str("<div class=\"head\"><div>");
    let _ = write!(o, "<h1>通话 {}</h1>", esc(&rec.call_id));
    o.push_str("<dl class=\"meta\">");
    let mut dl = |k: &str, v: String| {
        let _ = write!(o, "<dt>{k}</dt><dd>{v}</dd>");
    };
    dl("座席", agent);
    dl(
        "队列",
        meta.queue.as_deref().map(esc).unwrap_or_else(|| "—".into()),
    );
    dl("方向", direction_zh(meta.direction).into());
    dl(
        "时间",
        esc(&super::html::short_time(meta.start_time.as_deref())),
    );
    dl("时长", duration_zh(rec.duration_s));
    dl(
        "客户号码",
        meta.customer_number
            .as_deref()
            .map(esc)
            .unwrap_or_else(|| "—".into()),
    );
    dl(
        "挂机",
        format!(
            "{}<span class=\"muted small\">（{}）</span>",
            side_zh(rec.metrics.hangup.side),
            match rec.metrics.hangup.source.as_str() {
                "metadata" => "交换机记录",
                "inferred" => "由录音推断",
                _ => "无记录",
            }
        ),
    );
    dl(
        "录音",
        format!(
            "<span class=\"small\">{}</span>",
            esc(&rec.input.path.display().to_string())
        ),
    );
    dl(
        "评分表",
        rec.score
            .as_ref()
            .map(|s| esc(&s.card))
            .unwrap_or_else(|| "未评分".into()),
    );
    o.push_str("</dl></div>");
    if let Some(s) = &rec.score {
        let pct = if s.max_total > 0.0 {
            s.total / s.max_total * 100.0
        } else {
            0.0
        };
        let g = grade(pct, s.fatal.is_some());
        let color = if s.fatal.is_some() || pct < 60.0 {
            "var(--red)"
        } else if pct < 80.0 {
            "var(--orange)"
        } else {
            "var(--green)"
        };
        let _ = write!(
            o,
            "<div><div class=\"score\" style=\"color:{color}\" id=\"score\">{}<small> / {} 分</small>\
             <span class=\"grade\">{g}</span></div>",
            num(s.total, 1),
            num(s.max_total, 1)
        );
        // An automatic score with undecided lines is not a verdict on those lines.
        let undecided: Vec<&crate::rules::ReviewItem> = s
            .review
            .iter()
            .filter(|v| v.reason == ReviewReason::Undecided)
            .collect();
        if !undecided.is_empty() {
            let stake: f64 = undecided
                .iter()
                .filter(|v| v.effect == Effect::Deduct)
                .map(|v| if v.fatal { s.subtotal } else { v.points })
                .sum::<f64>()
                .min(s.subtotal);
            let _ = write!(
                o,
                "<div class=\"small\" id=\"undecided\" style=\"color:var(--orange)\">⚠ {} 项无法自动判断（最多影响 {} 分），见下方人工复核项</div>",
                undecided.len(),
                num(stake, 1)
            );
        }
        o.push_str("</div>");
    }
    o.push_str("</div>");

    if rec.status == CallStatus::Failed {
        for e in &rec.errors {
            let _ = write!(
                o,
                "<div class=\"banner failed\">质检失败（{}）：{}</div>",
                esc(&e.stage),
                esc(&e.message)
            );
        }
    }
    if let Some(s) = &rec.score {
        if let Some(f) = &s.fatal {
            let _ = write!(
                o,
                "<div class=\"banner fatal\" id=\"fatal\">⚠ {}（扣分前 {} 分，致命错误整通记 0 分）</div>",
                esc(f),
                num(s.subtotal, 1)
            );
        }
    }
    for w in &rec.warnings {
        let _ = write!(
            o,
            "<div class=\"banner note\">提示（{}）：{}</div>",
            esc(&w.stage),
            esc(&w.message)
        );
    }

    // ---- The recording and the timeline.
    o.push_str("<div class=\"player\">");
    match audio_src(rec, page_dir) {
        Some(src) => {
            let _ = write!(
                o,
                "<audio id=\"audio\" controls preload=\"metadata\" src=\"{}\"></audio>",
                esc(&src)
            );
            if !rec.input.path.exists() {
                let _ = write!(
                    o,
                    "<div class=\"small muted\">录音不在生成报告时的位置（{}），播放可能失败。</div>",
                    esc(&rec.input.path.display().to_string())
                );
            }
        }
        None => o.push_str("<div class=\"muted\">无录音路径</div>"),
    }
    o.push_str("</div>");
    let tl = super::timeline::svg(rec);
    if !tl.is_empty() {
        o.push_str("<h2>时间轴</h2><div class=\"timeline\">");
        o.push_str(&tl);
        o.push_str(
            "</div><div class=\"legend\"><span><i style=\"background:#0969da\"></i>座席说话</span>\
             <span><i style=\"background:#8250df\"></i>客户说话</span>\
             <span><i style=\"background:#c4ccd4\"></i>冷场</span>\
             <span><i style=\"background:#f3b8bc\"></i>双方同时说话</span>\
             <span><i style=\"background:#cf222e\"></i>抢话 ▼ / 严重问题</span>\
             <span><i style=\"background:#bc4c00\"></i>问题证据</span>\
             <span>点击任意位置播放</span></div>",
        );
    }

    // ---- Findings with evidence.
    if let Some(s) = &rec.score {
        let _ = write!(
            o,
            "<h2 id=\"findings\">问题与证据（{}）</h2>",
            s.hits.iter().filter(|h| !h.superseded).count()
        );
        if s.hits.is_empty() {
            o.push_str("<p class=\"muted\">评分表没有发现问题。</p>");
        } else {
            o.push_str(
                "<table><tr><th>严重度</th><th>项目</th><th>分类</th><th class=\"num\">分值</th>\
                 <th class=\"num\">次数</th><th>证据（点击播放）</th></tr>",
            );
            // Most serious first, then by time; superseded levels last.
            let mut hits: Vec<&crate::rules::ItemHit> = s.hits.iter().collect();
            hits.sort_by(|a, b| {
                a.superseded
                    .cmp(&b.superseded)
                    .then(b.fatal.cmp(&a.fatal))
                    .then(b.severity.cmp(&a.severity))
                    .then(
                        super::summary::first_at(&a.evidence)
                            .unwrap_or(f64::INFINITY)
                            .total_cmp(
                                &super::summary::first_at(&b.evidence).unwrap_or(f64::INFINITY),
                            ),
                    )
            });
            for h in hits {
                let sign = if h.effect == Effect::Deduct {
                    "−"
                } else {
                    "+"
                };
                let sup = if h.superseded {
                    " <span class=\"badge b-grey\">被同组更高等级覆盖，不计分</span>"
                } else {
                    ""
                };
                let _ = write!(
                    o,
                    "<tr class=\"hit\" data-item=\"{}\"><td>{}</td><td><b>{}</b> <span class=\"muted small\">{}</span>{sup}</td>\
                     <td class=\"cat\">{}</td><td class=\"num\">{sign}{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    esc(&h.id),
                    severity_badge(h.severity, h.fatal),
                    esc(&h.name),
                    esc(&h.id),
                    esc(&h.category),
                    num(h.points, 2),
                    h.occurrences,
                    h.evidence.iter().map(evidence_chip).collect::<String>()
                );
            }
            o.push_str("</table>");
        }
        if !s.review.is_empty() {
            let _ = write!(
                o,
                "<h2 id=\"review\">人工复核项（{}，最多影响 {} 分）</h2>\
                 <p class=\"small muted\">机器无法判断或需人工确认的项目，不计入自动得分。</p>\
                 <table><tr><th>项目</th><th>分类</th><th class=\"num\">分值</th><th>原因</th><th>证据</th></tr>",
                s.review.len(),
                num(s.review_points_at_stake, 1)
            );
            for v in &s.review {
                let reason = match v.reason {
                    ReviewReason::Manual => "<span class=\"badge b-info\">人工项</span>",
                    ReviewReason::Undecided => "<span class=\"badge b-grey\">无法自动判断</span>",
                };
                let sign = if v.points == 0.0 {
                    ""
                } else if v.effect == Effect::Deduct {
                    "−"
                } else {
                    "+"
                };
                let fatal = if v.fatal {
                    " <span class=\"badge b-fatal\">致命</span>"
                } else {
                    ""
                };
                let _ = write!(
                    o,
                    "<tr class=\"review-item\"><td><b>{}</b> <span class=\"muted small\">{}</span>{fatal}</td><td class=\"cat\">{}</td>\
                     <td class=\"num\">{sign}{}</td><td>{reason} <span class=\"small\">{}</span></td><td>{}</td></tr>",
                    esc(&v.name),
                    esc(&v.id),
                    esc(&v.category),
                    if v.points == 0.0 { "—".to_string() } else { num(v.points, 2) },
                    esc(&v.note),
                    v.evidence.iter().map(evidence_chip).collect::<String>()
                );
            }
            o.push_str("</table>");
        }
    }

    // ---- Transcript.
    transcript(&mut o, rec);

    // ---- Scorecard breakdown.
    if let Some(s) = &rec.score {
        o.push_str(
            "<h2 id=\"scorecard\">评分明细</h2><table><tr><th>分类 / 项目</th><th class=\"num\">满分</th>\
             <th class=\"num\">扣分</th><th class=\"num\">加分</th><th class=\"num\">得分</th></tr>",
        );
        for c in &s.categories {
            let _ = write!(
                o,
                "<tr class=\"category\"><td><b>{}</b></td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\"><b>{}</b></td></tr>",
                esc(&c.name),
                num(c.max, 2),
                if c.deducted > 0.0 { format!("−{}", num(c.deducted, 2)) } else { "".into() },
                if c.added > 0.0 { format!("+{}", num(c.added, 2)) } else { "".into() },
                num(c.score, 2)
            );
            for h in s.hits.iter().filter(|h| h.category == c.name) {
                let (d, a) = match h.effect {
                    Effect::Deduct => (format!("−{}", num(h.points, 2)), String::new()),
                    Effect::Add => (String::new(), format!("+{}", num(h.points, 2))),
                };
                let note = if h.superseded {
                    "（覆盖，不计）"
                } else {
                    ""
                };
                let _ = write!(
                    o,
                    "<tr class=\"sub\"><td>　{} {} <span class=\"muted\">{}</span>{note}</td><td></td>\
                     <td class=\"num\">{d}</td><td class=\"num\">{a}</td><td></td></tr>",
                    severity_badge(h.severity, h.fatal),
                    esc(&h.name),
                    esc(&h.id)
                );
            }
        }
        let _ = write!(
            o,
            "<tr><td><b>合计</b>{}</td><td class=\"num\">{}</td><td></td><td></td><td class=\"num\"><b>{}</b></td></tr></table>",
            if s.fatal.is_some() {
                format!("（致命错误，扣分前 {}）", num(s.subtotal, 1))
            } else {
                String::new()
            },
            num(s.max_total, 1),
            num(s.total, 1)
        );
    }

    // ---- Acoustic analysis.
    acoustic(&mut o, rec);

    page_end(&mut o, Some(SCRIPT));
    o
}

/// Marks on an utterance: byte ranges of matched text, item names, and whether any is severe.
#[derive(Default)]
struct UttMarks {
    ranges: Vec<(usize, usize, bool)>,
    items: Vec<(String, String, bool)>,
}

fn transcript(o: &mut String, rec: &CallRecord) {
    let _ = write!(
        o,
        "<h2 id=\"transcript\">通话转写（{} 句）</h2>",
        rec.utterances.len()
    );
    if rec.utterances.is_empty() {
        o.push_str("<p class=\"muted\">暂无转写：语音识别未运行或未识别出语音。时间轴与声学分析仍可用。</p>");
        return;
    }
    let mut marks: BTreeMap<usize, UttMarks> = BTreeMap::new();
    if let Some(s) = &rec.score {
        let hits = s.hits.iter().filter(|h| !h.superseded).map(|h| {
            (
                &h.id,
                &h.name,
                h.fatal || h.severity == Severity::Severe,
                &h.evidence,
            )
        });
        let reviews = s
            .review
            .iter()
            .map(|v| (&v.id, &v.name, false, &v.evidence));
        for (id, name, severe, evidence) in hits.chain(reviews) {
            for e in evidence {
                let Some(u) = e.utterance else { continue };
                let Some(utt) = rec.utterances.iter().find(|x| x.id == u) else {
                    continue;
                };
                let m = marks.entry(u).or_default();
                if !m.items.iter().any(|(i, _, _)| i == id) {
                    m.items.push((id.clone(), name.clone(), severe));
                }
                if let Some(t) = e.text.as_deref().filter(|t| !t.is_empty()) {
                    let mut from = 0;
                    while let Some(i) = utt.text[from..].find(t) {
                        let a = from + i;
                        m.ranges.push((a, a + t.len(), severe));
                        from = a + t.len();
                    }
                }
            }
        }
    }
    o.push_str("<div class=\"transcript\">");
    for u in &rec.utterances {
        let m = marks.get(&u.id);
        let severe = m.is_some_and(|m| m.items.iter().any(|x| x.2));
        let class = match (m.is_some(), severe) {
            (true, true) => "utt flag sev",
            (true, false) => "utt flag",
            _ => "utt",
        };
        let role_class = match u.role {
            Role::Agent => "r-agent",
            Role::Customer => "r-customer",
            Role::Mixed => "r-mixed",
        };
        let _ = write!(
            o,
            "<div class=\"{class}\" id=\"u{}\" data-t=\"{}\" data-end=\"{}\"><span class=\"t\">{}</span>\
             <span class=\"r {role_class}\">{}</span><span class=\"x\">{}",
            u.id,
            num(u.start, 3),
            num(u.end, 3),
            clock(u.start),
            u.role.zh(),
            highlight(&u.text, m.map(|m| m.ranges.as_slice()).unwrap_or(&[]))
        );
        if let Some(m) = m {
            for (id, name, sev) in &m.items {
                let _ = write!(
                    o,
                    " <span class=\"badge {}\">{} {}</span>",
                    if *sev { "b-severe" } else { "b-moderate" },
                    esc(id),
                    esc(name)
                );
            }
        }
        o.push_str("</span><span class=\"chips\">");
        for (head, labels) in &u.scores {
            let Some((label, p)) = labels.iter().max_by(|a, b| a.1.total_cmp(b.1)) else {
                continue;
            };
            let hot = HOT_LABELS.contains(&label.as_str()) && *p >= 0.5;
            let _ = write!(
                o,
                "<span class=\"chip{}\" title=\"{}\">{} {} {:.2}</span>",
                if hot { " hot" } else { "" },
                esc(&labels
                    .iter()
                    .map(|(l, p)| format!("{l} {p:.2}"))
                    .collect::<Vec<_>>()
                    .join("，")),
                esc(head_zh(head)),
                esc(class_label_zh(label)),
                p
            );
        }
        if u.chars_per_min > 0.0 {
            let _ = write!(
                o,
                "<span class=\"chip\">{} 字/分</span>",
                num(u.chars_per_min, 0)
            );
        }
        o.push_str("</span></div>");
    }
    o.push_str("</div>");
}

/// Escape `text`, wrapping the byte ranges in `<mark>` (overlapping ranges merged).
fn highlight(text: &str, ranges: &[(usize, usize, bool)]) -> String {
    let mut r: Vec<(usize, usize, bool)> = ranges
        .iter()
        .copied()
        .filter(|(a, b, _)| {
            a < b && *b <= text.len() && text.is_char_boundary(*a) && text.is_char_boundary(*b)
        })
        .collect();
    r.sort_by_key(|x| (x.0, x.1));
    let mut merged: Vec<(usize, usize, bool)> = Vec::new();
    for x in r {
        match merged.last_mut() {
            Some(last) if x.0 <= last.1 => {
                last.1 = last.1.max(x.1);
                last.2 |= x.2;
            }
            _ => merged.push(x),
        }
    }
    let mut out = String::new();
    let mut pos = 0;
    for (a, b, sev) in merged {
        out.push_str(&esc(&text[pos..a]));
        let _ = write!(
            out,
            "<mark{}>{}</mark>",
            if sev { " class=\"sev\"" } else { "" },
            esc(&text[a..b])
        );
        pos = b;
    }
    out.push_str(&esc(&text[pos..]));
    out
}

fn acoustic(o: &mut String, rec: &CallRecord) {
    let m = &rec.metrics;
    o.push_str("<h2 id=\"acoustic\">声学分析</h2><div class=\"cards\">");
    let mut card = |k: &str, v: String| {
        let _ = write!(
            o,
            "<div class=\"card\"><div class=\"v\">{v}</div><div class=\"k\">{k}</div></div>"
        );
    };
    for (role, secs) in &m.talk_s {
        let label = match role.as_str() {
            "agent" => "座席说话时长",
            "customer" => "客户说话时长",
            _ => "说话时长",
        };
        card(label, duration_zh(*secs));
    }
    if let Some(r) = m.agent_talk_ratio {
        card("座席说话占比", html::pct(r));
    }
    card("冷场次数", m.silence_count.to_string());
    card("冷场总时长", format!("{} 秒", num(m.silence_total_s, 1)));
    card("座席抢话", m.interruptions_by_agent.to_string());
    card("客户抢话", m.interruptions_by_customer.to_string());
    if let Some(l) = m.latency_mean_s {
        card("平均应答间隔", format!("{} 秒", num(l, 1)));
    }
    if let Some(l) = m.latency_max_s {
        card("最长应答间隔", format!("{} 秒", num(l, 1)));
    }
    for (role, cpm) in &m.speech_rate_cpm {
        let who = if role == "agent" {
            "座席"
        } else if role == "customer" {
            "客户"
        } else {
            ""
        };
        card(&format!("{who}语速（字/分）"), num(*cpm, 0));
    }
    o.push_str("</div>");
    let f = &rec.findings;
    let mut events: Vec<(f64, String)> = Vec::new();
    for s in &f.silences {
        events.push((s.start, format!("冷场 {} 秒", num(s.duration(), 1))));
    }
    for i in &f.interruptions {
        events.push((
            i.at,
            format!("{}抢话，重叠 {} 秒", i.by.zh(), num(i.span.duration(), 1)),
        ));
    }
    for l in f.latencies.iter().filter(|l| l.seconds >= 3.0) {
        events.push((
            l.customer_end,
            format!("客户说完后 {} 秒座席才回应", num(l.seconds, 1)),
        ));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    if !events.is_empty() {
        o.push_str("<table><tr><th>时间</th><th>事件</th></tr>");
        for (t, text) in events {
            let _ = write!(
                o,
                "<tr><td><span class=\"ev\" data-t=\"{}\">▶ {}</span></td><td>{}</td></tr>",
                num(t, 3),
                clock(t),
                esc(&text)
            );
        }
        o.push_str("</table>");
    }
}

/// Click to play: transcript lines, evidence chips and the timeline seek the recording.
/// `#t=SECONDS` in the address (links from the review queue) positions it on load, and
/// `#t=SECONDS&play` also starts playing (when the browser allows it).
const SCRIPT: &str = r#"
(function(){
var a=document.getElementById('audio');
var svg=document.getElementById('timeline');
var head=document.getElementById('playhead');
var lines=[].slice.call(document.querySelectorAll('.utt[data-end]'));
function seek(t,play){if(!a||!isFinite(t))return;
 // Before metadata, currentTime sets the start position; set it again once known.
 try{a.currentTime=Math.max(0,t);}catch(e){}
 if(a.readyState===0)a.addEventListener('loadedmetadata',function(){if(Math.abs(a.currentTime-t)>0.05)a.currentTime=t;},{once:true});
 if(play){var p=a.play();if(p&&p.catch)p.catch(function(){});}}
document.addEventListener('click',function(e){
 var el=e.target.closest?e.target.closest('[data-t]'):null;
 if(el){seek(parseFloat(el.getAttribute('data-t')),true);e.preventDefault();return;}
 if(svg&&svg.contains(e.target)){var r=svg.getBoundingClientRect();
  var W=+svg.dataset.width,L=+svg.dataset.left,R=+svg.dataset.right,d=+svg.dataset.duration;
  var x=(e.clientX-r.left)*W/r.width;seek(Math.max(0,Math.min(d,(x-L)/(W-L-R)*d)),true);}
});
if(a){a.addEventListener('timeupdate',function(){var t=a.currentTime;
 if(svg&&head){var W=+svg.dataset.width,L=+svg.dataset.left,R=+svg.dataset.right,d=+svg.dataset.duration;
  var x=L+Math.min(1,t/d)*(W-L-R);head.setAttribute('x1',x);head.setAttribute('x2',x);head.setAttribute('visibility','visible');}
 lines.forEach(function(l){var on=t>=+l.dataset.t&&t<+l.dataset.end;l.classList.toggle('playing',on);});});}
var m=/[#&]t=([0-9.]+)/.exec(location.hash);if(m)seek(parseFloat(m[1]),/[#&]play\b/.test(location.hash));
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_merges_and_escapes() {
        let t = "你<b>听不懂吗？不知道";
        let a = t.find("听不懂").unwrap();
        let b = t.find("不知道").unwrap();
        let out = highlight(
            t,
            &[
                (a, a + "听不懂吗".len(), true),
                (a, a + 3, false),
                (b, b + 9, false),
            ],
        );
        assert_eq!(
            out,
            "你&lt;b&gt;<mark class=\"sev\">听不懂吗</mark>？<mark>不知道</mark>"
        );
    }
}
