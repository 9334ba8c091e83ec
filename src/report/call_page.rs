//! The per-call page an inspector listens with: header and score, the recording, the timeline,
//! what the scorecard flagged with its evidence, what needs a human, the transcript with the
//! evidence highlighted, and the scorecard breakdown. Clicking a line, a piece of evidence or
//! the timeline plays that moment.
//!
//! [`view`] turns a record into what the templates show. The exported page is
//! `templates/export/call.html`; the server's call page renders the same view through the same
//! macros (`templates/parts/call.html`), adding its review forms around them.

use super::html::{self, duration_zh, num};
use super::queue::label_zh;
use super::summary::grade;
use crate::record::{CallRecord, CallStatus, Direction, Problem, Side};
use crate::rules::{Effect, ItemHit, ReviewReason, ScoreResult, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
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
        "role" => "说话人",
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
        "agent" => "座席",
        "customer" => "客户",
        other => label_zh(other),
    }
}

/// Everything a call page shows of one record.
#[derive(Debug, Serialize)]
pub struct CallView<'a> {
    pub id: &'a str,
    pub agent: String,
    pub queue: Option<&'a str>,
    pub direction: &'static str,
    pub time: String,
    pub duration_s: f64,
    pub customer_number: Option<&'a str>,
    pub hangup: &'static str,
    pub hangup_source: &'static str,
    pub file: String,
    /// The recording's URL: relative to the exported page, or the server's audio route.
    pub audio: Option<String>,
    /// The export found no file where the record says the recording is.
    pub audio_missing: bool,
    pub failed: bool,
    pub errors: &'a [Problem],
    pub warnings: &'a [Problem],
    pub score: Option<&'a ScoreResult>,
    pub verdict: Option<Verdict>,
    /// Hits that count (superseded graded levels left out).
    pub active_hits: usize,
    /// Every hit, most serious first, then by time; superseded levels last.
    pub hits: Vec<&'a ItemHit>,
    pub timeline: Option<super::timeline::Timeline>,
    pub utterances: Vec<UttView<'a>>,
    pub acoustic: Acoustic,
}

/// The automatic score at a glance.
#[derive(Debug, Serialize)]
pub struct Verdict {
    pub grade: &'static str,
    /// CSS class of the score's colour.
    pub color: &'static str,
    /// Lines the machine could not decide, and the most they could still cost.
    pub undecided: usize,
    pub stake: f64,
}

#[derive(Debug, Serialize)]
pub struct UttView<'a> {
    pub id: usize,
    pub start: f64,
    pub end: f64,
    pub role: &'static str,
    /// The text cut where evidence starts and ends; `mark`: none, or highlighted (true when
    /// severe).
    pub parts: Vec<Part<'a>>,
    /// Items whose evidence is on this line: id, name, severe.
    pub items: Vec<(&'a str, &'a str, bool)>,
    pub severe: bool,
    pub chips: Vec<Chip<'a>>,
    pub chars_per_min: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part<'a> {
    pub text: &'a str,
    pub mark: Option<bool>,
}

/// A classifier head's top label on one line.
#[derive(Debug, Serialize)]
pub struct Chip<'a> {
    pub head: &'a str,
    pub label: &'a str,
    pub p: String,
    pub hot: bool,
    /// Every label's probability (the tooltip).
    pub all: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Acoustic {
    /// (what, figure).
    pub cards: Vec<(String, String)>,
    /// (seconds, what happened), in time order.
    pub events: Vec<(f64, String)>,
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

/// The recording's path relative to the page in `page_dir`, as a URL.
pub fn audio_src(rec: &CallRecord, page_dir: &Path) -> Option<String> {
    if rec.input.path.as_os_str().is_empty() {
        return None;
    }
    let target = html::absolute(&rec.input.path);
    let from = html::absolute(page_dir);
    Some(html::url_path(&html::relative(&target, &from)))
}

/// What the pages show of `rec`, playing the recording from `audio`.
pub fn view(rec: &CallRecord, audio: Option<String>) -> CallView<'_> {
    let meta = rec.metadata.as_ref();
    let agent = match (
        meta.and_then(|m| m.agent_name.as_deref()),
        meta.and_then(|m| m.agent_id.as_deref()),
    ) {
        (Some(n), Some(i)) => format!("{n}（工号 {i}）"),
        (Some(n), None) => n.to_string(),
        (None, Some(i)) => format!("工号 {i}"),
        (None, None) => "未知座席".into(),
    };
    let score = rec.score.as_ref();
    CallView {
        id: &rec.call_id,
        agent,
        queue: meta.and_then(|m| m.queue.as_deref()),
        direction: direction_zh(meta.and_then(|m| m.direction)),
        time: html::short_time(meta.and_then(|m| m.start_time.as_deref())),
        duration_s: rec.duration_s,
        customer_number: meta.and_then(|m| m.customer_number.as_deref()),
        hangup: side_zh(rec.metrics.hangup.side),
        hangup_source: match rec.metrics.hangup.source.as_str() {
            "metadata" => "交换机记录",
            "inferred" => "由录音推断",
            _ => "无记录",
        },
        file: rec.input.path.display().to_string(),
        audio,
        audio_missing: false,
        failed: rec.status == CallStatus::Failed,
        errors: &rec.errors,
        warnings: &rec.warnings,
        score,
        verdict: score.map(verdict),
        active_hits: score.map_or(0, |s| s.hits.iter().filter(|h| !h.superseded).count()),
        hits: score.map(sorted_hits).unwrap_or_default(),
        timeline: super::timeline::view(rec),
        utterances: utterances(rec),
        acoustic: acoustic(rec),
    }
}

fn verdict(s: &ScoreResult) -> Verdict {
    let pct = if s.max_total > 0.0 {
        s.total / s.max_total * 100.0
    } else {
        0.0
    };
    // An automatic score with undecided lines is not a verdict on those lines.
    let undecided: Vec<_> = s
        .review
        .iter()
        .filter(|v| v.reason == ReviewReason::Undecided)
        .collect();
    let stake = undecided
        .iter()
        .filter(|v| v.effect == Effect::Deduct)
        .map(|v| if v.fatal { s.subtotal } else { v.points })
        .sum::<f64>()
        .min(s.subtotal);
    Verdict {
        grade: grade(pct, s.fatal.is_some()),
        color: if s.fatal.is_some() || pct < 60.0 {
            "c-red"
        } else if pct < 80.0 {
            "c-orange"
        } else {
            "c-green"
        },
        undecided: undecided.len(),
        stake,
    }
}

/// Most serious first, then by time; superseded levels last.
fn sorted_hits(s: &ScoreResult) -> Vec<&ItemHit> {
    let first = |h: &ItemHit| super::summary::first_at(&h.evidence).unwrap_or(f64::INFINITY);
    let mut hits: Vec<&ItemHit> = s.hits.iter().collect();
    hits.sort_by(|a, b| {
        a.superseded
            .cmp(&b.superseded)
            .then(b.fatal.cmp(&a.fatal))
            .then(b.severity.cmp(&a.severity))
            .then(first(a).total_cmp(&first(b)))
    });
    hits
}

/// Marks on an utterance: byte ranges of matched text, and the items whose evidence it is.
#[derive(Default)]
struct UttMarks<'a> {
    ranges: Vec<(usize, usize, bool)>,
    items: Vec<(&'a str, &'a str, bool)>,
}

/// Where each counted hit and each review line has evidence in the transcript.
fn marks(rec: &CallRecord) -> BTreeMap<usize, UttMarks<'_>> {
    let mut marks: BTreeMap<usize, UttMarks> = BTreeMap::new();
    let Some(s) = &rec.score else {
        return marks;
    };
    let hits = s.hits.iter().filter(|h| !h.superseded).map(|h| {
        let severe = h.fatal || h.severity == Severity::Severe;
        (h.id.as_str(), h.name.as_str(), severe, &h.evidence)
    });
    let reviews = s
        .review
        .iter()
        .map(|v| (v.id.as_str(), v.name.as_str(), false, &v.evidence));
    for (id, name, severe, evidence) in hits.chain(reviews) {
        for e in evidence {
            let Some(u) = e.utterance else { continue };
            let Some(utt) = rec.utterances.iter().find(|x| x.id == u) else {
                continue;
            };
            let m = marks.entry(u).or_default();
            if !m.items.iter().any(|(i, _, _)| *i == id) {
                m.items.push((id, name, severe));
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
    marks
}

fn utterances(rec: &CallRecord) -> Vec<UttView<'_>> {
    let mut marks = marks(rec);
    rec.utterances
        .iter()
        .map(|u| {
            let m = marks.remove(&u.id).unwrap_or_default();
            let chips = u
                .scores
                .iter()
                // The role head explains a mono call's guessed roles; on stereo the channel says.
                .filter(|(head, _)| rec.mono || head.as_str() != "role")
                .filter_map(|(head, labels)| {
                    let (label, p) = labels.iter().max_by(|a, b| a.1.total_cmp(b.1))?;
                    Some(Chip {
                        head: head_zh(head),
                        label: class_label_zh(label),
                        p: format!("{p:.2}"),
                        hot: HOT_LABELS.contains(&label.as_str()) && *p >= 0.5,
                        all: labels
                            .iter()
                            .map(|(l, p)| format!("{l} {p:.2}"))
                            .collect::<Vec<_>>()
                            .join("，"),
                    })
                })
                .collect();
            UttView {
                id: u.id,
                start: u.start,
                end: u.end,
                role: u.role.as_str(),
                parts: parts(&u.text, &m.ranges),
                severe: m.items.iter().any(|x| x.2),
                items: m.items,
                chips,
                chars_per_min: u.chars_per_min,
            }
        })
        .collect()
}

/// Cut `text` at the byte ranges to highlight (overlapping ranges merged; a range is severe
/// when any of its pieces is).
fn parts<'a>(text: &'a str, ranges: &[(usize, usize, bool)]) -> Vec<Part<'a>> {
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
    let mut out = Vec::new();
    let mut pos = 0;
    for (a, b, sev) in merged {
        if a > pos {
            out.push(Part {
                text: &text[pos..a],
                mark: None,
            });
        }
        out.push(Part {
            text: &text[a..b],
            mark: Some(sev),
        });
        pos = b;
    }
    if pos < text.len() || out.is_empty() {
        out.push(Part {
            text: &text[pos..],
            mark: None,
        });
    }
    out
}

fn acoustic(rec: &CallRecord) -> Acoustic {
    let m = &rec.metrics;
    let mut cards: Vec<(String, String)> = Vec::new();
    for (role, secs) in &m.talk_s {
        let label = match role.as_str() {
            "agent" => "座席说话时长",
            "customer" => "客户说话时长",
            _ => "说话时长",
        };
        cards.push((label.into(), duration_zh(*secs)));
    }
    if let Some(r) = m.agent_talk_ratio {
        cards.push(("座席说话占比".into(), html::pct(r)));
    }
    cards.push(("冷场次数".into(), m.silence_count.to_string()));
    cards.push((
        "冷场总时长".into(),
        format!("{} 秒", num(m.silence_total_s, 1)),
    ));
    cards.push(("座席抢话".into(), m.interruptions_by_agent.to_string()));
    cards.push(("客户抢话".into(), m.interruptions_by_customer.to_string()));
    if let Some(l) = m.latency_mean_s {
        cards.push(("平均应答间隔".into(), format!("{} 秒", num(l, 1))));
    }
    if let Some(l) = m.latency_max_s {
        cards.push(("最长应答间隔".into(), format!("{} 秒", num(l, 1))));
    }
    for (role, cpm) in &m.speech_rate_cpm {
        let who = match role.as_str() {
            "agent" => "座席",
            "customer" => "客户",
            _ => "",
        };
        cards.push((format!("{who}语速（字/分）"), num(*cpm, 0)));
    }
    let f = &rec.findings;
    let mut events: Vec<(f64, String)> = Vec::new();
    for s in &f.silences {
        events.push((s.start, format!("冷场 {} 秒", num(s.duration(), 1))));
    }
    for i in &f.interruptions {
        let overlap = num(i.span.duration(), 1);
        events.push((i.at, format!("{}抢话，重叠 {overlap} 秒", i.by.zh())));
    }
    for l in f.latencies.iter().filter(|l| l.seconds >= 3.0) {
        let what = format!("客户说完后 {} 秒座席才回应", num(l.seconds, 1));
        events.push((l.customer_end, what));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    Acoustic { cards, events }
}

/// Render the exported page of `rec`, to be written into `page_dir` (`<out>/calls`).
pub fn render(rec: &CallRecord, page_dir: &Path) -> std::io::Result<String> {
    let mut c = view(rec, audio_src(rec, page_dir));
    c.audio_missing = c.audio.is_some() && !rec.input.path.exists();
    super::render::export_page("export/call.html", "../", minijinja::context! { c => c })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_merges_and_escapes() {
        let t = "你<b>听不懂吗？不知道";
        let a = t.find("听不懂").unwrap();
        let b = t.find("不知道").unwrap();
        let ranges = [
            (a, a + "听不懂吗".len(), true),
            (a, a + 3, false),
            (b, b + 9, false),
        ];
        let p = parts(t, &ranges);
        let want = [
            ("你<b>", None),
            ("听不懂吗", Some(true)),
            ("？", None),
            ("不知道", Some(false)),
        ];
        assert_eq!(p, want.map(|(text, mark)| Part { text, mark }).to_vec());
        // Through the transcript macro: the markup in the text comes out as text.
        let utt = UttView {
            id: 0,
            start: 1.0,
            end: 2.0,
            role: "agent",
            parts: p,
            items: vec![("X1", "<i>名</i>", true)],
            severe: true,
            chips: Vec::new(),
            chars_per_min: 0.0,
        };
        let c = minijinja::context! { utterances => vec![utt] };
        let html = super::super::render::fragment("parts/call.html", "transcript", &[c]).unwrap();
        assert!(
            html.contains("你&lt;b&gt;<mark class=\"sev\">听不懂吗</mark>？<mark>不知道</mark>"),
            "{html}"
        );
        assert!(html.contains("&lt;i&gt;名&lt;&#x2f;i&gt;") && !html.contains("<i>"));
        assert!(html.contains("<div class=\"utt flag sev\" id=\"u0\" data-t=\"1\" data-end=\"2\">"));
    }
}
