//! `zhijian eval calls`: what the user sees, measured on labelled calls — per scorecard item
//! precision and recall on whole calls, where each miss comes from, and how right the review
//! queue is.
//!
//! A labelled folder holds recordings with a `<stem>.labels.json` beside each (made by
//! `data/calls/make_calls.py`): `must_fire` / `must_not_fire` item ids of the card that
//! applies, the `split` (dev/test) and the script (`truth.turns`). Inspection results come from
//! an output folder (inspected now, or reused when current); every record is scored again with
//! the given scorecards, so changing a card needs no new transcription.
//!
//! `CUST_UPSET` is the customer-dissatisfaction signal of the review queue (the same test as
//! `index.html` uses), judged like an item.

use crate::record::{CallRecord, Role};
use crate::report::summary::CallSummary;
use crate::report::ReportOptions;
use crate::rules::{Condition, Scorecard, ScorecardSet};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// The pseudo-item for the review queue's customer dissatisfaction signal.
pub const CUST_UPSET: &str = "CUST_UPSET";

/// A call's labels (`<stem>.labels.json`).
#[derive(Deserialize, Debug, Clone)]
pub struct CallLabels {
    pub id: String,
    pub file: String,
    pub split: String,
    #[serde(default)]
    pub must_fire: Vec<String>,
    #[serde(default)]
    pub must_not_fire: Vec<String>,
    #[serde(default)]
    pub truth: Truth,
}

impl CallLabels {
    /// Whether the call belongs to `split` ("dev", "test", "holdout", or "all" for every call).
    pub fn in_split(&self, split: &str) -> bool {
        split == "all" || self.split == split
    }
}

#[derive(Deserialize, Debug, Clone, Default)]
pub struct Truth {
    #[serde(default)]
    pub turns: Vec<TruthTurn>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct TruthTurn {
    pub role: String,
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// Where a wrong answer on an item comes from (first failing stage wins).
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A scripted turn has no VAD speech over it.
    NoSpeech,
    /// A scripted turn's words are mostly missing from the transcript.
    WordsMissing,
    /// The item went to review instead of being decided.
    Undecided,
    /// The item reads the classifier and its probabilities were on the wrong side.
    Classifier,
    /// Speech and words were there; the rule did not match (or matched wrongly).
    Rule,
}

impl Stage {
    fn label(self) -> &'static str {
        match self {
            Stage::NoSpeech => "no speech found",
            Stage::WordsMissing => "words missing from the transcript",
            Stage::Undecided => "sent to review (undecided)",
            Stage::Classifier => "classifier below/above threshold",
            Stage::Rule => "rule did not match",
        }
    }
}

/// Figures of one item over the calls that label it.
#[derive(Serialize, Debug, Clone, Default)]
pub struct ItemFigures {
    pub item: String,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub tn: usize,
    /// Labelled calls where the item went to review (counted as not fired above).
    pub undecided: usize,
    pub misses: BTreeMap<String, usize>,
    pub false_alarms: BTreeMap<String, usize>,
    /// Calls of the wrong answers, for looking at them.
    pub wrong_calls: Vec<String>,
}

impl ItemFigures {
    pub fn count(&self) -> usize {
        self.tp + self.fp + self.fn_ + self.tn
    }
    /// Precision; 1 when the item never fired (nothing wrong was flagged).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// Recall; 1 when no call needed the item.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.count())
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// The benchmark's result on one split.
#[derive(Serialize, Debug, Clone, Default)]
pub struct BenchReport {
    pub split: String,
    pub calls: usize,
    /// Calls with labels but no usable result (failed or missing).
    pub missing: Vec<String>,
    pub items: Vec<ItemFigures>,
    pub queue_tp: usize,
    pub queue_fp: usize,
    pub queue_fn: usize,
    /// Seconds of speech left untranscribed over the calls.
    pub untranscribed_s: f64,
}

impl BenchReport {
    pub fn queue_precision(&self) -> f64 {
        ratio(self.queue_tp, self.queue_tp + self.queue_fp)
    }
    pub fn queue_recall(&self) -> f64 {
        ratio(self.queue_tp, self.queue_tp + self.queue_fn)
    }
    pub fn item(&self, id: &str) -> Option<&ItemFigures> {
        self.items.iter().find(|i| i.item == id)
    }
}

/// Labels of every recording in `dir` that has a `<stem>.labels.json`, sorted by id.
pub fn load_labels(dir: &Path) -> Result<Vec<(PathBuf, CallLabels)>> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("reading folder {}", dir.display()))?;
    for e in entries {
        let p = e?.path();
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.ends_with(".labels.json") {
            continue;
        }
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let l: CallLabels =
            serde_json::from_str(&text).with_context(|| format!("{}: bad labels", p.display()))?;
        out.push((dir.join(&l.file), l));
    }
    out.sort_by(|a, b| a.1.id.cmp(&b.1.id));
    Ok(out)
}

/// Every call record in an inspect `calls/` folder, keyed by the recording it was made from.
/// Records are named by call id (content hash), so the recording's path is the only link back
/// to its labels.
pub fn load_results(calls_dir: &Path) -> Result<HashMap<PathBuf, CallRecord>> {
    let mut out = HashMap::new();
    let entries = match std::fs::read_dir(calls_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", calls_dir.display())),
    };
    for e in entries {
        let p = e?.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        // A file that is not a call record (or half-written by a killed run) means "no result".
        let Some(rec) = std::fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice::<CallRecord>(&b).ok())
        else {
            continue;
        };
        out.insert(rec.input.path.clone(), rec);
    }
    Ok(out)
}

/// Score each record again with `cards` and compare with its labels. `calls` are the split's
/// (see [`CallLabels::in_split`]); `split` names it in the report.
pub fn evaluate(
    calls: &[(CallLabels, Option<CallRecord>)],
    cards: &ScorecardSet,
    opts: &ReportOptions,
    split: &str,
) -> BenchReport {
    let mut rep = BenchReport {
        split: split.to_string(),
        ..Default::default()
    };
    let mut items: BTreeMap<String, ItemFigures> = BTreeMap::new();
    for (l, rec) in calls {
        let Some(rec) = rec
            .as_ref()
            .filter(|r| r.status == crate::record::CallStatus::Ok)
        else {
            rep.missing.push(l.id.clone());
            continue;
        };
        rep.calls += 1;
        rep.untranscribed_s += rec.metrics.untranscribed_s;
        let card = cards.select(rec.metadata.as_ref());
        let mut rec = rec.clone();
        let score = crate::rules::score(card, &rec);
        rec.score = Some(score.clone());
        let summary = CallSummary::from_record(&rec, opts);
        let fired = |id: &str| {
            if id == CUST_UPSET {
                summary.dissatisfaction.is_some()
            } else {
                score.hits.iter().any(|h| h.id == id && !h.superseded)
            }
        };
        let undecided = |id: &str| score.review.iter().any(|r| r.id == id);
        let stage_ok = transcript_stage(&rec, &l.truth, None);
        for (id, want) in l
            .must_fire
            .iter()
            .map(|i| (i, true))
            .chain(l.must_not_fire.iter().map(|i| (i, false)))
        {
            let f = items.entry(id.clone()).or_insert_with(|| ItemFigures {
                item: id.clone(),
                ..Default::default()
            });
            let got = fired(id);
            f.undecided += undecided(id) as usize;
            match (want, got) {
                (true, true) => f.tp += 1,
                (false, false) => f.tn += 1,
                (true, false) | (false, true) => {
                    let stage = if undecided(id) {
                        Stage::Undecided
                    } else if let Some(s) = evidence_spans(&score, id)
                        .map_or(stage_ok, |sp| transcript_stage(&rec, &l.truth, Some(&sp)))
                    {
                        s
                    } else if id == CUST_UPSET || item_reads_classifier(card, id) {
                        Stage::Classifier
                    } else {
                        Stage::Rule
                    };
                    let map = if want {
                        f.fn_ += 1;
                        &mut f.misses
                    } else {
                        f.fp += 1;
                        &mut f.false_alarms
                    };
                    *map.entry(stage.label().to_string()).or_default() += 1;
                    f.wrong_calls.push(l.id.clone());
                }
            }
        }
        let problem = !l.must_fire.is_empty();
        let queued = !crate::report::queue::call_reasons(&summary, opts).is_empty();
        match (problem, queued) {
            (true, true) => rep.queue_tp += 1,
            (false, true) => rep.queue_fp += 1,
            (true, false) => rep.queue_fn += 1,
            (false, false) => {}
        }
    }
    rep.untranscribed_s = (rep.untranscribed_s * 1000.0).round() / 1000.0;
    rep.items = items.into_values().collect();
    rep
}

/// Time spans of the evidence of item `id` where it fired: a false alarm is blamed on the
/// transcript only where the transcript under its evidence lost words. None when it did not
/// fire or has no timed evidence (a miss: blamed on the whole call's transcript).
fn evidence_spans(
    score: &crate::record::verdict::ScoreResult,
    id: &str,
) -> Option<Vec<(f64, f64)>> {
    let spans: Vec<(f64, f64)> = score
        .hits
        .iter()
        .filter(|h| h.id == id && !h.superseded)
        .flat_map(|h| h.evidence.iter().map(|e| (e.start, e.end)))
        .filter(|(a, b)| b > a)
        .collect();
    (!spans.is_empty()).then_some(spans)
}

/// The first stage that lost a scripted turn: no VAD speech over it, or under 60 % of its
/// characters in the utterances over it. Only turns overlapping `within` when given. None
/// when every (such) turn came through.
pub fn transcript_stage(
    rec: &CallRecord,
    truth: &Truth,
    within: Option<&[(f64, f64)]>,
) -> Option<Stage> {
    let mut words_missing = false;
    let wanted =
        |t: &TruthTurn| within.is_none_or(|w| w.iter().any(|&(a, b)| a < t.end && b > t.start));
    for t in truth.turns.iter().filter(|t| wanted(t)) {
        let role = if t.role == "agent" {
            Role::Agent
        } else {
            Role::Customer
        };
        let same_role = |r: Role| rec.mono || r == role || r == Role::Mixed;
        let overlaps = |a: f64, b: f64| a < t.end && b > t.start;
        if !rec
            .segments
            .iter()
            .any(|s| same_role(s.role) && overlaps(s.start, s.end))
        {
            return Some(Stage::NoSpeech);
        }
        let heard: String = rec
            .utterances
            .iter()
            .filter(|u| same_role(u.role) && overlaps(u.start, u.end))
            .map(|u| u.text.as_str())
            .collect();
        if char_recall(&t.text, &heard) < 0.6 {
            words_missing = true;
        }
    }
    words_missing.then_some(Stage::WordsMissing)
}

/// Share of the Han characters of `reference` found in `heard` (as a multiset).
pub fn char_recall(reference: &str, heard: &str) -> f64 {
    let mut pool: BTreeMap<char, usize> = BTreeMap::new();
    for c in heard.chars().filter(|&c| crate::asr::text::is_han(c)) {
        *pool.entry(c).or_default() += 1;
    }
    let (mut n, mut found) = (0usize, 0usize);
    for c in reference.chars().filter(|&c| crate::asr::text::is_han(c)) {
        n += 1;
        if let Some(k) = pool.get_mut(&c).filter(|k| **k > 0) {
            *k -= 1;
            found += 1;
        }
    }
    ratio(found, n)
}

/// Whether item `id` of `card` reads the classifier (directly or through named conditions).
pub fn item_reads_classifier(card: &Scorecard, id: &str) -> bool {
    fn reads(card: &Scorecard, c: &Condition, depth: usize) -> bool {
        if matches!(c.kind(), "classifier" | "sentiment_trend") {
            return true;
        }
        depth < 16
            && c.refs()
                .iter()
                .filter_map(|n| card.conditions.get(*n))
                .any(|c| reads(card, c, depth + 1))
    }
    card.categories
        .iter()
        .flat_map(|c| &c.items)
        .filter(|i| i.id == id)
        .filter_map(|i| i.when.as_ref())
        .any(|c| reads(card, c, 0))
}

/// Minimum figures a run must reach (`data/calls/thresholds.toml`): per item and for the queue.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default)]
    pub queue_precision: Option<f64>,
    #[serde(default)]
    pub queue_recall: Option<f64>,
    #[serde(default)]
    pub max_untranscribed_s: Option<f64>,
    /// Per item id: `{ precision = .., recall = .., accuracy = .. }`.
    #[serde(default)]
    pub items: BTreeMap<String, ItemThreshold>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ItemThreshold {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub accuracy: Option<f64>,
}

impl Thresholds {
    pub fn load(path: &Path) -> Result<Thresholds> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}: bad thresholds", path.display()))
    }

    /// Every figure below its threshold, as a line; empty when all pass.
    pub fn failures(&self, r: &BenchReport) -> Vec<String> {
        let mut out = Vec::new();
        let below = |what: String, got: f64, min: Option<f64>| {
            min.filter(|m| got + 1e-9 < *m)
                .map(|m| format!("{what} {got:.3} < {m}"))
        };
        out.extend(below(
            "queue precision".into(),
            r.queue_precision(),
            self.queue_precision,
        ));
        out.extend(below(
            "queue recall".into(),
            r.queue_recall(),
            self.queue_recall,
        ));
        for (id, t) in &self.items {
            match r.item(id) {
                None => out.push(format!("{id}: no labelled call")),
                Some(f) => {
                    out.extend(below(format!("{id} precision"), f.precision(), t.precision));
                    out.extend(below(format!("{id} recall"), f.recall(), t.recall));
                    out.extend(below(format!("{id} accuracy"), f.accuracy(), t.accuracy));
                }
            }
        }
        if let Some(m) = self.max_untranscribed_s {
            if r.untranscribed_s > m {
                out.push(format!(
                    "untranscribed speech {:.1} s > {m}",
                    r.untranscribed_s
                ));
            }
        }
        if !r.missing.is_empty() {
            out.push(format!("calls without a result: {}", r.missing.join(", ")));
        }
        out
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "split {}: {} calls ({} without a result), {:.1} s of speech untranscribed",
            self.split,
            self.calls,
            self.missing.len(),
            self.untranscribed_s
        )?;
        writeln!(
            f,
            "  {:<11}{:>7}{:>7}{:>7}{:>7}{:>5}{:>5}{:>5}{:>5}{:>6}  where the wrong answers come from",
            "item", "count", "P", "R", "acc", "TP", "FP", "FN", "TN", "rev"
        )?;
        for i in &self.items {
            let why: Vec<String> = i
                .misses
                .iter()
                .map(|(k, v)| format!("miss: {k} ×{v}"))
                .chain(
                    i.false_alarms
                        .iter()
                        .map(|(k, v)| format!("false: {k} ×{v}")),
                )
                .collect();
            writeln!(
                f,
                "  {:<11}{:>7}{:>7.3}{:>7.3}{:>7.3}{:>5}{:>5}{:>5}{:>5}{:>6}  {}",
                i.item,
                i.count(),
                i.precision(),
                i.recall(),
                i.accuracy(),
                i.tp,
                i.fp,
                i.fn_,
                i.tn,
                i.undecided,
                why.join("; ")
            )?;
            if !i.wrong_calls.is_empty() {
                writeln!(f, "  {:<11}wrong on: {}", "", i.wrong_calls.join(" "))?;
            }
        }
        writeln!(
            f,
            "  review queue: precision {:.3} ({} of {} queued calls have a labelled problem), recall {:.3} ({} of {} problem calls queued)",
            self.queue_precision(),
            self.queue_tp,
            self.queue_tp + self.queue_fp,
            self.queue_recall(),
            self.queue_tp,
            self.queue_tp + self.queue_fn
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_recall_counts_each_character_once() {
        assert_eq!(char_recall("感谢您的来电，再见。", "感谢您的来电再见"), 1.0);
        assert_eq!(char_recall("再见再见", "再见"), 0.5);
        assert_eq!(char_recall("好的", ""), 0.0);
        assert_eq!(char_recall("", "x"), 1.0);
    }

    #[test]
    fn transcript_stage_looks_only_under_the_evidence_when_given() {
        use crate::record::{Role, SpeechSegment, Utterance};
        let turn = |role: &str, start, end, text: &str| TruthTurn {
            role: role.into(),
            start,
            end,
            text: text.into(),
        };
        let truth = Truth {
            turns: vec![
                turn("agent", 0.5, 4.0, "您好客服中心请问有什么可以帮您"),
                turn("agent", 20.0, 22.0, "您看这样处理可以吗"),
            ],
        };
        let seg = |start, end| SpeechSegment {
            role: Role::Agent,
            channel: 0,
            start,
            end,
        };
        let utt = |start, end, text: &str| Utterance {
            role: Role::Agent,
            start,
            end,
            text: text.into(),
            ..Default::default()
        };
        let rec = CallRecord {
            segments: vec![seg(0.6, 3.9), seg(20.1, 21.9)],
            utterances: vec![
                utt(0.6, 3.9, "您好去"),
                utt(20.1, 21.9, "您看这样处理可以吗"),
            ],
            ..Default::default()
        };
        // The greeting lost its words: the whole call is blamed on the transcript...
        assert_eq!(
            transcript_stage(&rec, &truth, None),
            Some(Stage::WordsMissing)
        );
        // ...but a flag whose evidence is the well-heard line is not.
        assert_eq!(transcript_stage(&rec, &truth, Some(&[(20.1, 21.9)])), None);
        assert_eq!(
            transcript_stage(&rec, &truth, Some(&[(0.0, 2.0)])),
            Some(Stage::WordsMissing)
        );
        let rec = CallRecord {
            segments: vec![seg(20.1, 21.9)],
            ..rec
        };
        assert_eq!(
            transcript_stage(&rec, &truth, Some(&[(0.0, 2.0)])),
            Some(Stage::NoSpeech)
        );
    }

    #[test]
    fn figures_and_thresholds() {
        let f = ItemFigures {
            item: "LY02".into(),
            tp: 9,
            fp: 1,
            fn_: 3,
            tn: 7,
            ..Default::default()
        };
        assert_eq!(f.count(), 20);
        assert_eq!(f.precision(), 0.9);
        assert_eq!(f.recall(), 0.75);
        assert_eq!(f.accuracy(), 0.8);
        let r = BenchReport {
            items: vec![f],
            queue_tp: 8,
            queue_fp: 2,
            queue_fn: 0,
            ..Default::default()
        };
        let t: Thresholds = toml::from_str(
            "queue_precision = 0.85\n[items.LY02]\nprecision = 0.9\nrecall = 0.8\n[items.RX03]\nprecision = 0.5\n",
        )
        .unwrap();
        assert_eq!(
            t.failures(&r),
            [
                "queue precision 0.800 < 0.85",
                "LY02 recall 0.750 < 0.8",
                "RX03: no labelled call"
            ]
        );
    }
}
