//! Scoring a call against a card: deductions and additions per category, category floors and
//! caps (扣完为止), graded levels, fatal errors, and the review list.
//!
//! Automatic and manual results are kept apart, as QA teams require: items marked `manual`, and
//! items whose condition cannot be decided on this call (no transcript, no classifier scores,
//! uncertain speakers), never change the score; they are listed for a human with whatever
//! evidence there is.

use super::card::{Base, Effect, Item, Scorecard};
use super::checks::{Ctx, Evidence, Verdict};
use super::view::CallView;
pub use crate::record::verdict::{
    first_at, CategoryScore, ItemHit, ReviewItem, ReviewReason, ScoreResult,
};
use crate::record::CallRecord;

/// Round to 2 decimals so that 0.1 + 0.2 shows as 0.3 in reports.
fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Score `call` against `card`. Pure: no I/O.
pub fn score(card: &Scorecard, call: &CallRecord) -> ScoreResult {
    let view = CallView::new(call);
    let cx = Ctx::new(&view, &card.conditions);
    let mut categories = Vec::new();
    let mut hits: Vec<ItemHit> = Vec::new();
    let mut review = Vec::new();

    for cat in &card.categories {
        let mut cat_hits: Vec<ItemHit> = Vec::new();
        for item in &cat.items {
            let outcome = item.when.as_ref().map(|w| w.eval(&cx));
            if item.manual {
                let note = match &outcome {
                    None => Some("需人工复核".to_string()),
                    Some(o) if o.verdict == Verdict::Hit => {
                        Some("需人工复核（条件已触发）".to_string())
                    }
                    Some(o) if o.verdict == Verdict::Unknown => Some(format!(
                        "需人工复核（{}）",
                        o.reason.as_deref().unwrap_or("无法判断")
                    )),
                    Some(_) => None,
                };
                if let Some(note) = note {
                    let evidence = outcome.map(|o| o.evidence).unwrap_or_default();
                    review.push(review_item(
                        item,
                        &cat.name,
                        ReviewReason::Manual,
                        note,
                        evidence,
                    ));
                }
                continue;
            }
            let Some(o) = outcome else { continue };
            match o.verdict {
                Verdict::Clear => {}
                Verdict::Unknown => {
                    let note =
                        format!("无法自动判断：{}", o.reason.as_deref().unwrap_or("unknown"));
                    review.push(review_item(
                        item,
                        &cat.name,
                        ReviewReason::Undecided,
                        note,
                        o.evidence,
                    ));
                }
                Verdict::Hit => {
                    let points = if item.once {
                        item.points
                    } else {
                        (item.points * o.occurrences as f64).min(item.cap.unwrap_or(cat.max))
                    };
                    cat_hits.push(ItemHit {
                        id: item.id.clone(),
                        name: item.name.clone(),
                        category: cat.name.clone(),
                        severity: item.severity,
                        effect: item.effect,
                        points: r2(points),
                        occurrences: o.occurrences,
                        fatal: item.fatal,
                        group: item.group.clone(),
                        superseded: false,
                        evidence: o.evidence,
                    });
                }
            }
        }
        categories.push(CategoryScore {
            name: cat.name.clone(),
            max: cat.max,
            base: Some(cat.base),
            score: 0.0,
            deducted: 0.0,
            added: 0.0,
        });
        hits.extend(cat_hits);
    }

    let lines: Vec<Line> = hits.iter().map(Line::of_hit).collect();
    let settled = settle(&categories, card.total, &lines);
    for (h, s) in hits.iter_mut().zip(&settled.superseded) {
        h.superseded = *s;
    }
    for (c, s) in categories.iter_mut().zip(&settled.categories) {
        (c.score, c.deducted, c.added) = *s;
    }
    let subtotal = settled.subtotal;
    let fatal =
        (!settled.fatal.is_empty()).then(|| format!("致命错误：{}", settled.fatal.join("、")));
    let at_stake = review
        .iter()
        .filter(|r: &&ReviewItem| r.effect == Effect::Deduct)
        .map(|r| if r.fatal { subtotal } else { r.points })
        .sum::<f64>()
        .min(subtotal);
    ScoreResult {
        card: card.name.clone(),
        card_file: card.path.as_ref().map(|p| p.display().to_string()),
        total: settled.total,
        max_total: card.total,
        subtotal,
        fatal,
        categories,
        hits,
        review,
        review_points_at_stake: r2(at_stake),
    }
}

/// One line that counts towards its category: an automatic hit, or a review item a human
/// scored.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub id: String,
    pub name: String,
    pub category: String,
    pub group: Option<String>,
    pub effect: Effect,
    pub points: f64,
    pub fatal: bool,
}

impl Line {
    pub fn of_hit(h: &ItemHit) -> Line {
        Line {
            id: h.id.clone(),
            name: h.name.clone(),
            category: h.category.clone(),
            group: h.group.clone(),
            effect: h.effect,
            points: h.points,
            fatal: h.fatal,
        }
    }
    /// A review item scored by a human with `points`.
    pub fn of_review(r: &ReviewItem, points: f64) -> Line {
        Line {
            id: r.id.clone(),
            name: r.name.clone(),
            category: r.category.clone(),
            group: r.group.clone(),
            effect: r.effect,
            points,
            fatal: r.fatal,
        }
    }
}

/// The score of a set of lines: per category (score, deducted, added), the subtotal, the total
/// after fatal items, the fatal items (`名称（id）`) and which lines a larger graded level
/// outranks.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    pub categories: Vec<(f64, f64, f64)>,
    pub subtotal: f64,
    pub total: f64,
    pub fatal: Vec<String>,
    pub superseded: Vec<bool>,
}

/// The one place where lines become a score: graded levels (the largest applied level of a
/// group counts), category base, floor and cap (扣完为止), the card total, fatal items. Used for
/// the automatic score and, with human input, for the final score (`store::review`).
pub fn settle(categories: &[CategoryScore], card_total: f64, lines: &[Line]) -> Settled {
    let superseded = supersede_graded(lines);
    let mut cats = Vec::with_capacity(categories.len());
    for c in categories {
        let (mut deducted, mut added) = (0.0, 0.0);
        for (l, _) in lines
            .iter()
            .zip(&superseded)
            .filter(|(l, s)| !**s && l.category == c.name)
        {
            match l.effect {
                Effect::Deduct => deducted += l.points,
                Effect::Add => added += l.points,
            }
        }
        let start = c.start(lines.iter().filter(|l| l.category == c.name));
        let s = (start - deducted + added).clamp(0.0, c.max);
        cats.push((r2(s), r2(deducted), r2(added)));
    }
    let subtotal = r2(cats.iter().map(|c| c.0).sum::<f64>().min(card_total));
    let fatal: Vec<String> = lines
        .iter()
        .zip(&superseded)
        .filter(|(l, s)| l.fatal && !**s)
        .map(|(l, _)| format!("{}（{}）", l.name, l.id))
        .collect();
    Settled {
        categories: cats,
        subtotal,
        total: if fatal.is_empty() { subtotal } else { 0.0 },
        fatal,
        superseded,
    }
}

impl CategoryScore {
    /// What the category starts from: its base; for results written before the base was
    /// recorded, the base that reproduces the stored score (when both do, a category whose lines
    /// all add points is an addition category).
    pub fn start<'a>(&self, mut lines: impl Iterator<Item = &'a Line>) -> f64 {
        match self.base {
            Some(Base::Full) => return self.max,
            Some(Base::Zero) => return 0.0,
            None => {}
        }
        let full = (self.max - self.deducted + self.added).clamp(0.0, self.max);
        let zero = (self.added - self.deducted).clamp(0.0, self.max);
        match (
            (full - self.score).abs() < 0.005,
            (zero - self.score).abs() < 0.005,
        ) {
            (true, false) => self.max,
            (false, true) => 0.0,
            _ => {
                let mut any = false;
                let all_add = lines.all(|l| {
                    any = true;
                    l.effect == Effect::Add
                });
                if any && all_add {
                    0.0
                } else {
                    self.max
                }
            }
        }
    }
}

fn review_item(
    item: &Item,
    category: &str,
    reason: ReviewReason,
    note: String,
    evidence: Vec<Evidence>,
) -> ReviewItem {
    ReviewItem {
        id: item.id.clone(),
        name: item.name.clone(),
        category: category.to_string(),
        severity: item.severity,
        effect: item.effect,
        points: item.points,
        fatal: item.fatal,
        group: item.group.clone(),
        reason,
        note,
        evidence,
    }
}

/// Of the lines sharing a category and a `group` (graded levels of one item, e.g. 抢话 −7 /
/// 谩骂 −10), only the largest applies (the first on a tie); the others are superseded.
fn supersede_graded(lines: &[Line]) -> Vec<bool> {
    (0..lines.len())
        .map(|i| {
            let Some(g) = &lines[i].group else {
                return false;
            };
            let same = |j: &usize| {
                lines[*j].group.as_ref() == Some(g) && lines[*j].category == lines[i].category
            };
            let best = (0..lines.len())
                .filter(same)
                .max_by(|&a, &b| lines[a].points.total_cmp(&lines[b].points).then(b.cmp(&a)))
                .unwrap_or(i);
            best != i
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::checks::testing::call;
    use crate::rules::load::parse_card;
    use crate::rules::Lexicons;
    use std::path::Path;

    fn card(src: &str) -> Scorecard {
        let mut lex = Lexicons::default();
        lex.insert("forbidden", &["不知道", "你听不懂吗"]);
        parse_card(src, Path::new("t.toml"), &lex).unwrap_or_else(|d| panic!("{d:#?}"))
    }

    const CARD: &str = r#"
name = "t"

[[categories]]
name = "礼仪"
max = 10

[[categories.items]]
id = "F"
name = "禁语"
deduct = 4
once = false
cap = 8
severity = "严重"
when = { kind = "keywords", lexicon = "forbidden", role = "agent" }

[[categories.items]]
id = "G"
name = "未问候"
deduct = 5
when = { kind = "absence", phrases = ["您好"], role = "agent", position = { first = 1 } }

[[categories]]
name = "加分"
max = 3
base = "zero"

[[categories.items]]
id = "P"
name = "致谢"
add = 2
once = false
when = { kind = "keywords", phrases = ["谢谢"], role = "agent" }

[[categories]]
name = "态度"
max = 10

[[categories.items]]
id = "R1"
name = "抢话质问"
deduct = 7
group = "态度"
when = { kind = "keywords", phrases = ["你听我说"], role = "agent" }

[[categories.items]]
id = "R2"
name = "谩骂"
deduct = 10
group = "态度"
fatal = true
when = { kind = "keywords", phrases = ["神经病"], role = "agent" }

[[categories.items]]
id = "M"
name = "业务解释是否正确"
deduct = 5
manual = true

[[categories.items]]
id = "C"
name = "粗鲁"
deduct = 3
when = { kind = "classifier", head = "attitude", label = "rude", at_least = 0.8, role = "agent" }
"#;

    #[test]
    fn per_occurrence_cap_floor_and_add_cap() {
        let c = card(CARD);
        let call = call(&[
            ("a", 0.0, 2.0, "喂"),
            ("a", 2.0, 4.0, "不知道，你听不懂吗"),
            ("a", 4.0, 6.0, "我不知道"),
            ("a", 6.0, 8.0, "谢谢，谢谢您"),
        ]);
        let r = score(&c, &call);
        // 3 forbidden occurrences × 4 = 12 → capped at 8; plus 5 for no greeting: 13 > 10 → 0.
        let f = r.hits.iter().find(|h| h.id == "F").unwrap();
        assert_eq!((f.points, f.occurrences), (8.0, 3));
        assert_eq!(r.categories[0].deducted, 13.0);
        assert_eq!(r.categories[0].score, 0.0);
        // 2 thanks × 2 = 4, but a per-occurrence item without `cap` is capped at the category
        // maximum, 3.
        assert_eq!(r.hits.iter().find(|h| h.id == "P").unwrap().occurrences, 2);
        assert_eq!(r.categories[1].added, 3.0);
        assert_eq!(r.categories[1].score, 3.0);
        // 0 + 3 + 10, out of 20 (full categories only).
        assert_eq!(r.max_total, 20.0);
        assert_eq!(r.total, 13.0);
        assert_eq!(r.fatal, None);
        // Manual item always listed; the classifier item is undecided without scores.
        let review: Vec<(&str, ReviewReason)> =
            r.review.iter().map(|x| (x.id.as_str(), x.reason)).collect();
        assert_eq!(
            review,
            [("M", ReviewReason::Manual), ("C", ReviewReason::Undecided)]
        );
        assert_eq!(
            r.review[1].note,
            "无法自动判断：no classifier scores for `attitude`"
        );
        assert_eq!(r.review_points_at_stake, 8.0);
    }

    #[test]
    fn graded_levels_and_fatal() {
        let c = card(CARD);
        let call = call(&[("a", 0.0, 2.0, "您好"), ("a", 2.0, 4.0, "你听我说，神经病")]);
        let r = score(&c, &call);
        let ids: Vec<(&str, bool)> = r
            .hits
            .iter()
            .map(|h| (h.id.as_str(), h.superseded))
            .collect();
        assert_eq!(ids, [("R1", true), ("R2", false)]);
        assert_eq!(r.categories[2].score, 0.0);
        assert_eq!(r.subtotal, 10.0);
        assert_eq!(r.total, 0.0);
        assert_eq!(r.fatal.as_deref(), Some("致命错误：谩骂（R2）"));
        assert_eq!(r.hits[1].evidence[0].text.as_deref(), Some("神经病"));
    }

    #[test]
    fn only_the_lower_level_hit() {
        let c = card(CARD);
        let call = call(&[("a", 0.0, 2.0, "您好"), ("a", 2.0, 4.0, "你听我说")]);
        let r = score(&c, &call);
        assert_eq!(r.categories[2].score, 3.0);
        assert_eq!(r.total, 13.0);
    }

    #[test]
    fn result_round_trips_through_json() {
        let c = card(CARD);
        let r = score(&c, &call(&[("a", 0.0, 2.0, "您好")]));
        let back: ScoreResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
