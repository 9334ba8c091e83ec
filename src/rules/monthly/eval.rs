//! One agent's month under a monthly rules file, from the per-call results after review.

use super::{LedgerEntry, MonthlyItem, MonthlyRules};
use serde::Serialize;

/// What the month needs of one call: its date and the deduction lines that apply to it after
/// review (item id and category). Lines still waiting for review do not count as failures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonthCall {
    pub call_id: String,
    /// YYYY-MM-DD (the call's local date).
    pub date: String,
    /// (item id, category) of every deduction line that applies.
    pub failed: Vec<(String, String)>,
    /// Review lines not yet decided (manual items, undecided conditions).
    pub pending: usize,
}

impl MonthCall {
    fn fails(&self, category: &str) -> bool {
        self.failed.iter().any(|(_, c)| c == category)
    }
    fn fails_any_of(&self, ids: &[String]) -> bool {
        self.failed.iter().any(|(id, _)| ids.contains(id))
    }
}

/// One monthly item's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthItemResult {
    pub category: String,
    pub compliant: usize,
    /// Monitored calls failed on this category (合格 = monitored − failed).
    pub failed: usize,
    /// Of those, calls failed by an `immediate` line (重大问题, deducted at once).
    pub immediate: usize,
    /// Coaching occurrences used (指导次数).
    pub coached: usize,
    pub bonus: f64,
    pub deducted: f64,
    /// Why, in words.
    pub note: String,
}

/// One ledger line as counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerLine {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub points: f64,
    pub note: String,
}

/// An agent's month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyResult {
    pub rules: String,
    pub card: String,
    pub agent_id: String,
    /// YYYY-MM.
    pub month: String,
    /// Calls the rules ask for (003: 15).
    pub required: usize,
    /// Calls counted (the first `required` of the month).
    pub monitored: usize,
    pub shortfall: usize,
    pub call_ids: Vec<String>,
    /// Counted calls with review lines still open.
    pub pending_calls: usize,
    pub items: Vec<MonthItemResult>,
    /// 单项满分奖励: (aspect, points).
    pub full_marks: Vec<(String, f64)>,
    /// 全部不予加分: the category whose failures cancelled every bonus.
    pub all_bonus_cancelled_by: Option<String>,
    pub ledger: Vec<LedgerLine>,
    pub bonus: f64,
    pub deducted: f64,
    pub ledger_points: f64,
    /// bonus + full marks − deductions + ledger.
    pub total: f64,
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Evaluate `rules` for one agent's `month` (YYYY-MM) from the calls of the rules' card (any
/// order; the first `calls_per_month` by date and id count) and the lead's ledger entries.
pub fn evaluate(
    rules: &MonthlyRules,
    agent_id: &str,
    month: &str,
    calls: &[MonthCall],
    ledger: &[LedgerEntry],
) -> MonthlyResult {
    let mut sorted: Vec<&MonthCall> = calls.iter().collect();
    sorted.sort_by(|a, b| (&a.date, &a.call_id).cmp(&(&b.date, &b.call_id)));
    sorted.truncate(rules.calls_per_month);
    let monitored = sorted.len();

    let mut items: Vec<MonthItemResult> = rules
        .items
        .iter()
        .map(|it| item_result(it, &sorted))
        .collect();
    let cancelled_by = rules
        .items
        .iter()
        .zip(&items)
        .find(|(it, r)| {
            it.no_bonus_at_all_when_failed_more_than
                .is_some_and(|n| r.failed > n)
        })
        .map(|(it, _)| it.category.clone());
    let mut full_marks: Vec<(String, f64)> = rules
        .full_marks
        .iter()
        .filter(|fm| {
            monitored > 0
                && fm
                    .categories
                    .iter()
                    .all(|c| sorted.iter().all(|call| !call.fails(c)))
        })
        .map(|fm| (fm.name.clone(), rules.full_marks_bonus))
        .collect();
    if let Some(c) = &cancelled_by {
        for r in &mut items {
            if r.bonus > 0.0 {
                r.bonus = 0.0;
                r.note.push_str(&format!("；{c}不合格超限，全部不予加分"));
            }
        }
        full_marks.clear();
    }
    let ledger: Vec<LedgerLine> = ledger
        .iter()
        .filter(|e| e.agent_id == agent_id && e.month == month)
        .map(|e| match rules.ledger.get(&e.kind) {
            Some(k) => LedgerLine {
                id: e.id,
                kind: e.kind.clone(),
                name: k.name.clone(),
                points: k.points,
                note: e.note.clone(),
            },
            None => LedgerLine {
                id: e.id,
                kind: e.kind.clone(),
                name: format!("未知类型 {}（本月规则未定义，不计分）", e.kind),
                points: 0.0,
                note: e.note.clone(),
            },
        })
        .collect();
    let bonus =
        r2(items.iter().map(|r| r.bonus).sum::<f64>()
            + full_marks.iter().map(|(_, p)| p).sum::<f64>());
    let deducted = r2(items.iter().map(|r| r.deducted).sum());
    let ledger_points = r2(ledger.iter().map(|l| l.points).sum());
    MonthlyResult {
        rules: rules.name.clone(),
        card: rules.card.clone(),
        agent_id: agent_id.to_string(),
        month: month.to_string(),
        required: rules.calls_per_month,
        monitored,
        shortfall: rules.calls_per_month.saturating_sub(monitored),
        call_ids: sorted.iter().map(|c| c.call_id.clone()).collect(),
        pending_calls: sorted.iter().filter(|c| c.pending > 0).count(),
        items,
        full_marks,
        all_bonus_cancelled_by: cancelled_by,
        ledger,
        bonus,
        deducted,
        ledger_points,
        total: r2(bonus - deducted + ledger_points),
    }
}

fn item_result(it: &MonthlyItem, calls: &[&MonthCall]) -> MonthItemResult {
    let monitored = calls.len();
    let failed = calls.iter().filter(|c| c.fails(&it.category)).count();
    let immediate = calls
        .iter()
        .filter(|c| c.fails(&it.category) && c.fails_any_of(&it.immediate))
        .count();
    let ordinary = failed - immediate;
    let compliant = monitored - failed;
    let mut notes: Vec<String> = vec![format!("{compliant}/{monitored} 条合格")];

    let cancelled = it.no_bonus_when_failed_more_than.filter(|&n| failed > n);
    let bonus = if it.bonus <= 0.0 || monitored == 0 {
        0.0
    } else if let Some(n) = cancelled {
        notes.push(format!("不合格 {failed} 条，超过 {n} 条，不予加分"));
        0.0
    } else {
        match &it.bonus_needs {
            None => it.bonus * compliant as f64 / monitored as f64,
            Some(needs) if needs.met(compliant) => it.bonus,
            Some(needs) => {
                let want = match (needs.compliant_at_least, needs.compliant_more_than) {
                    (Some(n), _) => format!("至少 {n} 条"),
                    (None, Some(n)) => format!("{n} 条以上"),
                    (None, None) => String::new(),
                };
                notes.push(format!("合格未达{want}，不加分"));
                0.0
            }
        }
    };

    let mut deductions = immediate;
    let mut coached = 0;
    if immediate > 0 {
        notes.push(format!("重大问题 {immediate} 次，当次即扣"));
    }
    if let Some(c) = it.coached {
        coached = ordinary.min(c);
        let over = ordinary.saturating_sub(c);
        deductions += over;
        if c > 0 && ordinary > 0 {
            notes.push(format!("指导 {coached} 次"));
        }
        if over > 0 {
            notes.push(format!("第 {} 次起扣分 {over} 次", c + 1));
        }
    }
    if let Some(n) = it.deduct_once_when_failed_more_than {
        if failed > n {
            deductions += 1;
            notes.push(format!("不合格 {failed} 条，超过 {n} 条，扣分"));
        }
    }
    MonthItemResult {
        category: it.category.clone(),
        compliant,
        failed,
        immediate,
        coached,
        bonus: r2(bonus),
        deducted: r2(deductions as f64 * it.deduct),
        note: notes.join("；"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FullMarks, LedgerKind, Needs};
    use super::*;

    fn item(category: &str) -> MonthlyItem {
        MonthlyItem {
            category: category.into(),
            bonus: 0.0,
            bonus_needs: None,
            no_bonus_when_failed_more_than: None,
            no_bonus_at_all_when_failed_more_than: None,
            deduct: 0.0,
            coached: None,
            deduct_once_when_failed_more_than: None,
            immediate: vec![],
        }
    }

    /// `n` calls; call i fails the listed (item, category) pairs.
    fn month(n: usize, fails: &[(usize, &str, &str)]) -> Vec<MonthCall> {
        (0..n)
            .map(|i| MonthCall {
                call_id: format!("c{i:02}"),
                date: format!("2026-11-{:02}", i + 1),
                failed: fails
                    .iter()
                    .filter(|f| f.0 == i)
                    .map(|f| (f.1.to_string(), f.2.to_string()))
                    .collect(),
                pending: 0,
            })
            .collect()
    }

    fn rules(items: Vec<MonthlyItem>) -> MonthlyRules {
        MonthlyRules {
            name: "m".into(),
            description: String::new(),
            path: None,
            card: "c".into(),
            calls_per_month: 15,
            items,
            full_marks: vec![],
            full_marks_bonus: 0.5,
            ledger: Default::default(),
        }
    }

    #[test]
    fn twelve_of_fifteen_and_all_bonus_cancelled() {
        let mut fw = item("服务用语");
        fw.bonus = 2.5;
        fw.bonus_needs = Some(Needs {
            compliant_at_least: Some(12),
            compliant_more_than: None,
        });
        fw.no_bonus_at_all_when_failed_more_than = Some(3);
        let mut lt = item("聆听");
        lt.bonus = 1.0;
        let r = rules(vec![fw, lt]);
        // 3 failures: 12 compliant, bonus kept.
        let calls = month(
            15,
            &[
                (0, "FW01", "服务用语"),
                (1, "FW02", "服务用语"),
                (2, "FW01", "服务用语"),
            ],
        );
        let m = evaluate(&r, "a", "2026-11", &calls, &[]);
        assert_eq!(
            (m.items[0].bonus, m.items[1].bonus, m.total),
            (2.5, 1.0, 3.5)
        );
        // 4 failures: no bonus at all, 聆听's pro-rata bonus cancelled too.
        let calls = month(
            15,
            &[
                (0, "FW01", "服务用语"),
                (1, "FW02", "服务用语"),
                (2, "FW01", "服务用语"),
                (3, "FW01", "服务用语"),
            ],
        );
        let m = evaluate(&r, "a", "2026-11", &calls, &[]);
        assert_eq!(m.all_bonus_cancelled_by.as_deref(), Some("服务用语"));
        assert_eq!((m.bonus, m.total), (0.0, 0.0));
    }

    #[test]
    fn coaching_then_deduction_and_immediate_lines() {
        let mut td = item("服务态度");
        td.bonus = 2.0;
        td.deduct = 2.0;
        td.coached = Some(3);
        td.immediate = vec!["TD06".into()];
        let r = rules(vec![td]);
        // 4 ordinary failures (coached 3, the 4th deducts) and one 重大 (deducts at once).
        let calls = month(
            15,
            &[
                (0, "TD01", "服务态度"),
                (2, "TD02", "服务态度"),
                (4, "TD01", "服务态度"),
                (6, "TD03", "服务态度"),
                (8, "TD06", "服务态度"),
            ],
        );
        let m = evaluate(&r, "a", "2026-11", &calls, &[]);
        let i = &m.items[0];
        assert_eq!((i.failed, i.immediate, i.coached), (5, 1, 3));
        // Pro rata 2 × 10/15 = 1.33; deductions (1 + 1) × 2 = 4.
        assert_eq!((i.bonus, i.deducted, m.total), (1.33, 4.0, -2.67));
    }

    #[test]
    fn cancel_and_deduct_once_full_marks_ledger_and_shortfall() {
        let mut js = item("应答及时性");
        js.bonus = 0.2;
        js.bonus_needs = Some(Needs {
            compliant_at_least: None,
            compliant_more_than: Some(10),
        });
        js.no_bonus_when_failed_more_than = Some(5);
        js.deduct = 0.2;
        js.deduct_once_when_failed_more_than = Some(5);
        let mut lt = item("聆听");
        lt.bonus = 1.0;
        let mut r = rules(vec![js, lt]);
        r.full_marks = vec![FullMarks {
            name: "服务技巧".into(),
            categories: vec!["聆听".into()],
        }];
        r.ledger.insert(
            "praise_written".into(),
            LedgerKind {
                name: "用户书面表扬".into(),
                points: 2.0,
            },
        );
        let fails: Vec<(usize, &str, &str)> = (0..6).map(|i| (i, "JS01", "应答及时性")).collect();
        let calls = month(15, &fails);
        let entry = |id, agent: &str, kind: &str| LedgerEntry {
            id,
            agent_id: agent.into(),
            month: "2026-11".into(),
            kind: kind.into(),
            note: String::new(),
            entered_by: "lead".into(),
            created_at: String::new(),
        };
        let ledger = [
            entry(1, "a", "praise_written"),
            entry(2, "b", "praise_written"),
            entry(3, "a", "typo"),
        ];
        let m = evaluate(&r, "a", "2026-11", &calls, &ledger);
        assert_eq!((m.items[0].bonus, m.items[0].deducted), (0.0, 0.2));
        assert_eq!(m.full_marks, [("服务技巧".to_string(), 0.5)]);
        assert_eq!(
            m.ledger.iter().map(|l| l.points).collect::<Vec<_>>(),
            [2.0, 0.0]
        );
        // 1 (聆听) + 0.5 (full marks) − 0.2 + 2 (ledger).
        assert_eq!(m.total, 3.3);
        // 18 calls: only the first 15 count; 9 calls: shortfall 6.
        let m = evaluate(&r, "a", "2026-11", &month(18, &[]), &[]);
        assert_eq!((m.monitored, m.shortfall), (15, 0));
        assert_eq!(m.call_ids.last().unwrap(), "c14");
        let m = evaluate(&r, "a", "2026-11", &month(9, &[]), &[]);
        assert_eq!((m.monitored, m.shortfall), (9, 6));
    }
}
