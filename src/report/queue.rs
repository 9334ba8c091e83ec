//! The review queue: which calls a human should hear first, and why.
//!
//! Every call gets a risk level from its worst reason — fatal error > severe flag > customer
//! dissatisfaction (classifier) > low score > special case (特殊调听: complaint, repeat caller,
//! very long or very short call, a manual item whose condition fired) — and a risk score
//! `100 × level + percentage of points lost`, so that within a level the calls that lost more
//! come first. Each reason carries the time of its evidence so the inspector can jump to it.
//! Independently of risk, a COPC random sample per agent (or queue) is drawn ([`super::sample`]);
//! the queue lists risky calls first, then sampled calls without a risk reason.

use super::sample::{draw, sample_size, SampleBy};
use super::summary::CallSummary;
use super::time::Stamp;
use super::ReportOptions;
use crate::record::CallStatus;
use crate::rules::{Effect, Severity};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Why a call needs a human, most urgent last (so `Ord` ranks them).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Special = 1,
    LowScore = 2,
    Dissatisfied = 3,
    Severe = 4,
    Fatal = 5,
}

impl Level {
    pub fn zh(self) -> &'static str {
        match self {
            Level::Fatal => "致命错误",
            Level::Severe => "严重问题",
            Level::Dissatisfied => "客户不满",
            Level::LowScore => "低分",
            Level::Special => "特殊调听",
        }
    }
    /// CSS class of the badge.
    pub fn class(self) -> &'static str {
        match self {
            Level::Fatal => "b-fatal",
            Level::Severe => "b-severe",
            Level::Dissatisfied => "b-moderate",
            Level::LowScore => "b-minor",
            Level::Special => "b-info",
        }
    }
}

// Deserialize: the server reads them back from its queue index.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Reason {
    pub level: Level,
    pub text: String,
    /// Seconds into the recording where the evidence starts.
    pub at: Option<f64>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct QueueEntry {
    pub rank: usize,
    pub call_id: String,
    pub level: Option<Level>,
    pub risk: f64,
    /// Most urgent first.
    pub reasons: Vec<Reason>,
    /// Time of the first evidence of the most urgent reason that has one.
    pub at: Option<f64>,
    /// In the random (COPC) sample of its group.
    pub sampled: bool,
}

/// One group's random sample.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SampleGroup {
    pub by: SampleBy,
    pub group: String,
    pub population: usize,
    pub size: usize,
    pub calls: Vec<String>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ReviewQueue {
    pub entries: Vec<QueueEntry>,
    pub samples: Vec<SampleGroup>,
}

/// Reasons that depend on this call alone.
pub fn call_reasons(s: &CallSummary, opts: &ReportOptions) -> Vec<Reason> {
    let mut out = Vec::new();
    if s.status != CallStatus::Ok {
        return out;
    }
    for f in s.flags.iter().filter(|f| f.fatal) {
        out.push(Reason {
            level: Level::Fatal,
            text: format!("{}（{}）", f.name, f.id),
            at: f.at,
        });
    }
    for f in s
        .flags
        .iter()
        .filter(|f| !f.fatal && f.effect == Effect::Deduct && f.severity == Severity::Severe)
    {
        out.push(Reason {
            level: Level::Severe,
            text: format!("{}（{}）", f.name, f.id),
            at: f.at,
        });
    }
    if let Some(d) = &s.dissatisfaction {
        out.push(Reason {
            level: Level::Dissatisfied,
            text: format!("客户{}（分类器 {:.2}）", label_zh(&d.label), d.prob),
            at: d.at,
        });
    }
    if let (Some(pct), Some(score), Some(max)) = (s.score_pct, s.score, s.max_score) {
        if pct < opts.low_score_pct && s.fatal.is_none() {
            out.push(Reason {
                level: Level::LowScore,
                text: format!(
                    "得分 {}/{}，低于 {}%",
                    super::html::num(score, 1),
                    super::html::num(max, 1),
                    super::html::num(opts.low_score_pct, 1)
                ),
                at: s
                    .flags
                    .iter()
                    .filter(|f| f.effect == Effect::Deduct)
                    .max_by(|a, b| a.points.total_cmp(&b.points))
                    .and_then(|f| f.at),
            });
        }
    }
    if let Some(c) = &s.complaint {
        let text = if c.label == "metadata" {
            "投诉来电（元数据标记）".to_string()
        } else {
            format!("客户{}（分类器 {:.2}）", label_zh(&c.label), c.prob)
        };
        out.push(Reason {
            level: Level::Special,
            text,
            at: c.at,
        });
    }
    for (name, at) in &s.triggered {
        out.push(Reason {
            level: Level::Special,
            text: format!("需人工确认：{name}"),
            at: *at,
        });
    }
    if s.duration_s >= opts.long_call_s {
        out.push(Reason {
            level: Level::Special,
            text: format!("超长通话：{}", super::html::duration_zh(s.duration_s)),
            at: None,
        });
    }
    if s.duration_s > 0.0 && s.duration_s <= opts.short_call_s {
        out.push(Reason {
            level: Level::Special,
            text: format!("超短通话：{}", super::html::duration_zh(s.duration_s)),
            at: None,
        });
    }
    out
}

/// Chinese names of the classifier labels reports mention.
pub fn label_zh(label: &str) -> &str {
    match label {
        "angry" => "愤怒",
        "dissatisfied" => "不满",
        "complaint" => "投诉",
        "escalation" => "要求升级",
        "impatient" => "不耐烦",
        "rude" => "粗鲁",
        "shirking" => "推诿",
        other => other,
    }
}

/// Repeat callers: a call whose customer number called before within `days` days. Keyed by
/// call id: (the earlier call, days between).
pub fn repeat_callers(calls: &[CallSummary], days: f64) -> HashMap<String, (String, f64)> {
    let mut by_number: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    for c in calls {
        let (Some(n), Some(t)) = (&c.customer_number, &c.start_time) else {
            continue;
        };
        let Some(st) = Stamp::parse(t) else { continue };
        // Hidden or anonymous numbers are not the same customer.
        let digits: String = n.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() < 5 {
            continue;
        }
        by_number
            .entry(n.as_str())
            .or_default()
            .push((st.epoch_s, c.call_id.as_str()));
    }
    let mut out = HashMap::new();
    for list in by_number.values_mut() {
        list.sort();
        for w in list.windows(2) {
            let gap = (w[1].0 - w[0].0) as f64 / 86_400.0;
            if gap <= days {
                out.insert(w[1].1.to_string(), (w[0].1.to_string(), gap));
            }
        }
    }
    out
}

/// Rank the calls and draw the samples.
/// Sort a call's reasons most urgent first and give its level and risk score
/// (`100 × level + percentage of points lost`).
pub fn rank_reasons(reasons: &mut [Reason], score_pct: Option<f64>) -> (Option<Level>, f64) {
    // Stable sort keeps the order of equal reasons as found.
    reasons.sort_by_key(|r| std::cmp::Reverse(r.level));
    let level = reasons.first().map(|r| r.level);
    let lost = score_pct.map_or(0.0, |p| (100.0 - p).clamp(0.0, 99.0));
    let risk = level.map_or(0.0, |l| l as u8 as f64 * 100.0 + lost);
    (level, (risk * 10.0).round() / 10.0)
}

pub fn build(calls: &[CallSummary], opts: &ReportOptions) -> ReviewQueue {
    let repeats = repeat_callers(calls, opts.repeat_days);
    let samples = draw_samples(calls, opts);
    let sampled: std::collections::HashSet<&str> = samples
        .iter()
        .flat_map(|g| g.calls.iter().map(String::as_str))
        .collect();
    let mut entries = Vec::new();
    for c in calls.iter().filter(|c| c.status == CallStatus::Ok) {
        let mut reasons = call_reasons(c, opts);
        if let Some((prev, gap)) = repeats.get(&c.call_id) {
            reasons.push(Reason {
                level: Level::Special,
                text: format!(
                    "重复来电：{} 天内再次来电（上次 {prev}）",
                    super::html::num(gap.max(0.0), 1)
                ),
                at: None,
            });
        }
        let is_sampled = sampled.contains(c.call_id.as_str());
        if reasons.is_empty() && !is_sampled {
            continue;
        }
        let (level, risk) = rank_reasons(&mut reasons, c.score_pct);
        let at = reasons.iter().find_map(|r| r.at);
        entries.push(QueueEntry {
            rank: 0,
            call_id: c.call_id.clone(),
            level,
            risk,
            reasons,
            at,
            sampled: is_sampled,
        });
    }
    entries.sort_by(|a, b| {
        b.risk
            .total_cmp(&a.risk)
            .then(b.reasons.len().cmp(&a.reasons.len()))
            .then(a.call_id.cmp(&b.call_id))
    });
    for (i, e) in entries.iter_mut().enumerate() {
        e.rank = i + 1;
    }
    ReviewQueue { entries, samples }
}

fn draw_samples(calls: &[CallSummary], opts: &ReportOptions) -> Vec<SampleGroup> {
    let s = &opts.sample;
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.status == CallStatus::Ok) {
        let key = match s.by {
            SampleBy::Agent => c.agent_id.clone().or_else(|| c.agent_name.clone()),
            SampleBy::Queue => c.queue.clone(),
        }
        .unwrap_or_else(|| "（未知）".into());
        groups.entry(key).or_default().push(c.call_id.clone());
    }
    groups
        .into_iter()
        .map(|(group, ids)| {
            let size = sample_size(ids.len(), s.z, s.margin, s.p);
            SampleGroup {
                by: s.by,
                calls: draw(&ids, size, s.seed, &group),
                group,
                population: ids.len(),
                size,
            }
        })
        .collect()
}
