//! The compact per-call row every batch figure is computed from.
//!
//! A batch can hold hundreds of thousands of calls; the batch pages need a few numbers per
//! call, not transcripts. [`CallSummary::from_record`] extracts them once, so the batch report
//! holds rows, never whole records.

use super::ReportOptions;
use crate::record::{CallRecord, CallStatus, Role, Side};
use crate::rules::{Effect, ReviewReason, Severity};
use serde::Serialize;

/// An applied scorecard hit (superseded graded levels left out).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Flag {
    pub id: String,
    pub name: String,
    pub category: String,
    pub severity: Severity,
    pub effect: Effect,
    pub points: f64,
    pub occurrences: usize,
    pub fatal: bool,
    /// Start of the first evidence, seconds.
    pub at: Option<f64>,
}

/// A classifier signal on the customer side, with the moment it peaked.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Signal {
    pub label: String,
    pub prob: f64,
    pub at: Option<f64>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct CallSummary {
    pub call_id: String,
    pub status: CallStatus,
    pub file: String,
    pub agent_id: Option<String>,
    pub agent_name: Option<String>,
    pub queue: Option<String>,
    pub direction: Option<String>,
    pub start_time: Option<String>,
    pub customer_number: Option<String>,
    pub duration_s: f64,
    pub card: Option<String>,
    pub score: Option<f64>,
    pub max_score: Option<f64>,
    /// Score as a percentage of the card's maximum (cards differ in totals).
    pub score_pct: Option<f64>,
    pub grade: Option<&'static str>,
    pub fatal: Option<String>,
    pub flags: Vec<Flag>,
    /// Review items (manual or undecided) the scorecard listed.
    pub review_items: usize,
    /// Of which: lines the machine could not decide (no transcript, no classifier …).
    pub undecided_items: usize,
    /// Manual items whose condition fired (e.g. 投诉专项抽听): name and time.
    pub triggered: Vec<(String, Option<f64>)>,
    pub silence_count: usize,
    pub silence_total_s: f64,
    pub overlap_count: usize,
    pub interruptions_by_agent: usize,
    pub interruptions_by_customer: usize,
    pub hangup_side: &'static str,
    pub dissatisfaction: Option<Signal>,
    pub complaint: Option<Signal>,
    pub utterances: usize,
    /// `stage: message` of the first error of a failed call.
    pub error: Option<String>,
    pub warnings: usize,
}

/// 优秀 ≥ 90%, 良好 ≥ 80%, 合格 ≥ 60%, else 不合格; a fatal error is always 不合格.
pub fn grade(pct: f64, fatal: bool) -> &'static str {
    if fatal {
        "不合格（致命错误）"
    } else if pct >= 90.0 {
        "优秀"
    } else if pct >= 80.0 {
        "良好"
    } else if pct >= 60.0 {
        "合格"
    } else {
        "不合格"
    }
}

const TRUTHY: &[&str] = &["1", "true", "yes", "y", "是", "有"];
/// Metadata columns that mark a call as a complaint when the switch or CRM knows it.
const COMPLAINT_COLUMNS: &[&str] = &["complaint", "is_complaint", "投诉"];

impl CallSummary {
    pub fn from_record(r: &CallRecord, opts: &ReportOptions) -> CallSummary {
        let meta = r.metadata.clone().unwrap_or_default();
        let score = r.score.as_ref();
        let pct = score.and_then(|s| (s.max_total > 0.0).then(|| s.total / s.max_total * 100.0));
        let flags = score
            .map(|s| {
                s.hits
                    .iter()
                    .filter(|h| !h.superseded)
                    .map(|h| Flag {
                        id: h.id.clone(),
                        name: h.name.clone(),
                        category: h.category.clone(),
                        severity: h.severity,
                        effect: h.effect,
                        points: h.points,
                        occurrences: h.occurrences,
                        fatal: h.fatal,
                        at: first_at(&h.evidence),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let triggered = score
            .map(|s| {
                s.review
                    .iter()
                    .filter(|v| {
                        v.reason == ReviewReason::Manual
                            && (v.note.contains("条件已触发") || !v.evidence.is_empty())
                    })
                    .map(|v| (v.name.clone(), first_at(&v.evidence)))
                    .collect()
            })
            .unwrap_or_default();
        let dissatisfaction = customer_peak(
            r,
            &opts.dissatisfaction_head,
            &opts.dissatisfaction_labels,
            opts.dissatisfaction_threshold,
        );
        let mut complaint = customer_peak(
            r,
            &opts.complaint_head,
            &opts.complaint_labels,
            opts.complaint_threshold,
        );
        if complaint.is_none() {
            let marked = meta.extra.iter().any(|(k, v)| {
                COMPLAINT_COLUMNS.contains(&k.trim().to_lowercase().as_str())
                    && TRUTHY.contains(&v.trim().to_lowercase().as_str())
            });
            if marked {
                complaint = Some(Signal {
                    label: "metadata".into(),
                    prob: 1.0,
                    at: None,
                });
            }
        }
        CallSummary {
            call_id: r.call_id.clone(),
            status: r.status,
            file: r.input.path.display().to_string(),
            agent_id: meta.agent_id.clone().filter(|s| !s.is_empty()),
            agent_name: meta.agent_name.clone().filter(|s| !s.is_empty()),
            queue: meta.queue.clone().filter(|s| !s.is_empty()),
            direction: meta.direction.map(|d| {
                match d {
                    crate::record::Direction::Inbound => "inbound",
                    crate::record::Direction::Outbound => "outbound",
                }
                .to_string()
            }),
            start_time: meta.start_time.clone().filter(|s| !s.is_empty()),
            customer_number: meta.customer_number.clone().filter(|s| !s.is_empty()),
            duration_s: r.duration_s,
            card: score.map(|s| s.card.clone()),
            score: score.map(|s| s.total),
            max_score: score.map(|s| s.max_total),
            score_pct: pct.map(|p| (p * 10.0).round() / 10.0),
            grade: pct.map(|p| grade(p, score.is_some_and(|s| s.fatal.is_some()))),
            fatal: score.and_then(|s| s.fatal.clone()),
            flags,
            review_items: score.map_or(0, |s| s.review.len()),
            undecided_items: score.map_or(0, |s| {
                s.review
                    .iter()
                    .filter(|v| v.reason == ReviewReason::Undecided)
                    .count()
            }),
            triggered,
            silence_count: r.findings.silences.len(),
            silence_total_s: r.findings.silences.iter().map(|s| s.duration()).sum(),
            overlap_count: r.findings.overlaps.len(),
            interruptions_by_agent: r
                .findings
                .interruptions
                .iter()
                .filter(|i| i.by == Role::Agent)
                .count(),
            interruptions_by_customer: r
                .findings
                .interruptions
                .iter()
                .filter(|i| i.by == Role::Customer)
                .count(),
            hangup_side: match r.metrics.hangup.side {
                Side::Agent => "agent",
                Side::Customer => "customer",
                Side::Unknown => "unknown",
            },
            dissatisfaction,
            complaint,
            utterances: r.utterances.len(),
            error: (r.status == CallStatus::Failed).then(|| {
                r.errors
                    .first()
                    .map(|e| format!("{}: {}", e.stage, e.message))
                    .unwrap_or_else(|| "failed (no reason recorded)".into())
            }),
            warnings: r.warnings.len(),
        }
    }

    /// `姓名（工号）`, or whichever is known.
    pub fn agent_label(&self) -> String {
        match (&self.agent_name, &self.agent_id) {
            (Some(n), Some(i)) => format!("{n}（{i}）"),
            (Some(n), None) => n.clone(),
            (None, Some(i)) => i.clone(),
            (None, None) => "未知座席".into(),
        }
    }

    pub fn severe_flags(&self) -> usize {
        self.flags
            .iter()
            .filter(|f| f.effect == Effect::Deduct && f.severity == Severity::Severe)
            .count()
    }
}

/// Earliest start among evidence spans.
pub fn first_at(ev: &[crate::rules::Evidence]) -> Option<f64> {
    crate::rules::first_at(ev)
}

/// The customer utterance where any of `labels` of `head` peaks, if it reaches `threshold`.
/// Falls back to the call-level maxima (no time) when utterances carry no scores.
fn customer_peak(r: &CallRecord, head: &str, labels: &[String], threshold: f64) -> Option<Signal> {
    let mut best: Option<Signal> = None;
    for u in r.utterances.iter().filter(|u| u.role == Role::Customer) {
        let Some(h) = u.scores.get(head) else {
            continue;
        };
        for l in labels {
            if let Some(&p) = h.get(l) {
                if p >= threshold && best.as_ref().is_none_or(|b| p > b.prob) {
                    best = Some(Signal {
                        label: l.clone(),
                        prob: p,
                        at: Some(u.start),
                    });
                }
            }
        }
    }
    if best.is_some() {
        return best;
    }
    let h = r.classification.as_ref()?.max.get("customer")?.get(head)?;
    labels
        .iter()
        .filter_map(|l| h.get(l).map(|&p| (l, p)))
        .filter(|(_, p)| *p >= threshold)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(l, p)| Signal {
            label: l.clone(),
            prob: p,
            at: None,
        })
}
