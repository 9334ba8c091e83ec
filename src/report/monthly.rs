//! Monthly per-agent rules (seed 003) in the per-agent report, and `zhijian ledger`.
//!
//! The rules themselves are in [`crate::rules::monthly`]; this module feeds them the store's
//! final results (after review) and the lead's ledger; agents.html shows the month next to
//! 致命/非致命错误准确性 (the `monthly` macro of `templates/parts/agents.html`).

use super::agent::AgentReport;
use super::html::num;
use super::time::Date;
use crate::rules::monthly::{self, LedgerEntry, MonthCall, MonthlyResult, MonthlyRules};
use crate::rules::ScorecardSet;
use crate::store::ledger::valid_month;
use crate::store::review::FinalResult;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The calls of one agent scored with `card`, as the monthly rules read them.
pub fn month_calls(results: &[FinalResult], card: &str, agent: &str) -> Vec<MonthCall> {
    results
        .iter()
        .filter(|r| r.card == card && r.agent_id.as_deref() == Some(agent))
        .map(|r| MonthCall {
            call_id: r.call_id.clone(),
            date: r.call_date.clone().unwrap_or_default(),
            failed: r
                .items
                .iter()
                .filter(|i| {
                    i.applied && i.effect == "deduct" && (i.applied_points > 0.0 || i.fatal)
                })
                .map(|i| (i.item_id.clone(), i.category.clone()))
                .collect(),
            pending: r
                .items
                .iter()
                .filter(|i| i.kind == "review" && !i.applied && i.status == "待人工复核")
                .count(),
        })
        .collect()
}

/// First and last day of the month of `d`.
fn month_bounds(d: Date) -> (Date, Date) {
    let first = Date { day: 1, ..d };
    let next = if d.month == 12 {
        Date {
            year: d.year + 1,
            month: 1,
            day: 1,
        }
    } else {
        Date {
            month: d.month + 1,
            day: 1,
            ..d
        }
    };
    (first, next.add_days(-1))
}

/// One agent's months under every monthly rules file whose card the agent has calls on. The
/// ledger counts in each of them (a lead enters praise for the agent, not for a card).
pub fn agent_months(
    rules: &[MonthlyRules],
    agent: &str,
    month: &str,
    results: &[FinalResult],
    ledger: &[LedgerEntry],
) -> Vec<MonthlyResult> {
    rules
        .iter()
        .filter_map(|r| {
            let calls = month_calls(results, &r.card, agent);
            (!calls.is_empty()).then(|| monthly::evaluate(r, agent, month, &calls, ledger))
        })
        .collect()
}

/// Add the monthly results to a per-agent report whose period lies within one calendar month
/// (the whole month's calls count, as 003 judges the month). Other periods are left alone.
pub fn attach(store: &Store, rules: &[MonthlyRules], report: &mut AgentReport) -> Result<()> {
    let (Some(from), Some(to)) = (Date::parse(&report.from), Date::parse(&report.to)) else {
        return Ok(());
    };
    if rules.is_empty() || (from.year, from.month) != (to.year, to.month) {
        return Ok(());
    }
    let (first, last) = month_bounds(from);
    let month = format!("{:04}-{:02}", from.year, from.month);
    let results = store.final_results_between(first, last)?;
    let ledger = store.ledger_entries(&month, None)?;
    for a in &mut report.agents {
        a.monthly = agent_months(rules, &a.agent_id, &month, &results, &ledger);
    }
    report.monthly_month = Some(month);
    Ok(())
}

/// Arguments of `zhijian ledger`.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    /// The database (filled by `zhijian import` or `inspect`).
    #[arg(long, value_name = "PATH", global = true, default_value = "zhijian.db")]
    pub db: PathBuf,
    /// Rules folder with monthly/*.toml (entry kinds and their points).
    #[arg(long, value_name = "DIR", global = true, default_value = "rules")]
    pub rules: PathBuf,
    #[command(subcommand)]
    pub command: LedgerCommand,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// QA lead: record praise, a justified complaint or a test-call result for an agent's month.
    Add {
        #[arg(long)]
        agent: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        /// An entry kind defined in the monthly rules ([ledger.KIND]), e.g. praise_written.
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long, default_value = "")]
        by: String,
    },
    /// List a month's entries (of one agent with --agent).
    List {
        #[arg(long)]
        month: String,
        #[arg(long)]
        agent: Option<String>,
    },
    /// Remove an entry recorded by mistake.
    Remove {
        #[arg(long)]
        id: i64,
    },
}

fn load_rules(dir: &Path) -> Result<Vec<MonthlyRules>> {
    let cards = ScorecardSet::load_dir(dir)
        .with_context(|| format!("loading scorecards from {}", dir.display()))?;
    monthly::load_monthly_dir(dir, &cards)
        .with_context(|| format!("loading monthly rules from {}", dir.display()))
}

/// `zhijian ledger …`.
pub fn ledger_cmd(a: &LedgerArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if !crate::store::exists(&a.db) {
        bail!(
            "database {} does not exist (create it with `zhijian import OUT --db {}`)",
            crate::store::shown(&a.db),
            crate::store::shown(&a.db)
        );
    }
    let mut store =
        Store::open(&a.db).with_context(|| format!("opening {}", crate::store::shown(&a.db)))?;
    match &a.command {
        LedgerCommand::Add {
            agent,
            month,
            kind,
            note,
            by,
        } => {
            let rules = load_rules(&a.rules)?;
            let known: Vec<&str> = rules
                .iter()
                .flat_map(|r| r.ledger.keys().map(String::as_str))
                .collect();
            let Some(points) = rules.iter().find_map(|r| r.ledger.get(kind)) else {
                let mut k = known.clone();
                k.sort();
                k.dedup();
                bail!(
                    "unknown ledger kind `{kind}` (kinds in {}/monthly: {})",
                    a.rules.display(),
                    if k.is_empty() {
                        "none".into()
                    } else {
                        k.join(", ")
                    }
                );
            };
            let id = store.add_ledger_entry(agent, month, kind, note, by)?;
            writeln!(
                out,
                "ledger #{id}: {agent} {month} {kind}（{}，{} 分）",
                points.name,
                num(points.points, 2)
            )?;
        }
        LedgerCommand::List { month, agent } => {
            if !valid_month(month) {
                bail!("--month {month}: expected YYYY-MM");
            }
            for e in store.ledger_entries(month, agent.as_deref())? {
                writeln!(
                    out,
                    "#{}\t{}\t{}\t{}\t{}\t{}",
                    e.id, e.agent_id, e.month, e.kind, e.note, e.entered_by
                )?;
            }
        }
        LedgerCommand::Remove { id } => {
            store.remove_ledger_entry(*id)?;
            writeln!(out, "ledger #{id} removed")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_bounds_cover_the_calendar_month() {
        let d = |s| Date::parse(s).unwrap();
        assert_eq!(
            month_bounds(d("2026-11-17")),
            (d("2026-11-01"), d("2026-11-30"))
        );
        assert_eq!(
            month_bounds(d("2026-12-05")),
            (d("2026-12-01"), d("2026-12-31"))
        );
        assert_eq!(
            month_bounds(d("2028-02-10")),
            (d("2028-02-01"), d("2028-02-29"))
        );
    }
}
