//! The per-agent report for a period: what a QA lead prints at the end of the month.
//!
//! For each agent with scored calls dated in the period (the local date of `start_time`):
//! - calls monitored, mean final score (human verdicts applied) and mean automatic score, both
//!   as a percentage of each card's maximum (cards differ in totals);
//! - rank by mean final score (ties share a rank) and "top X%" = rank / agents × 100;
//! - low-score calls (below the threshold) and a warning when the mean is below it;
//! - flags by problem type ([`super::types`]) and by severity (轻微/一般/严重): deduction lines
//!   that apply after review, each counted once per call;
//! - seed 003's accuracies:
//!   致命错误准确性 = 1 − calls failed by a fatal error / calls monitored;
//!   非致命错误准确性 = 1 − non-fatal errors / (opportunities × calls monitored), where a
//!   non-fatal error is a non-fatal deduction line that applies on a call, and the
//!   opportunities of a call are the non-fatal deduction lines of its card (automatic and
//!   manual). Calls scored with different cards contribute their own card's count, so the
//!   denominator is the sum over calls (equal to opportunities × calls for one card);
//! - trend: the same figures for the previous period of equal length.

use super::html::num;
use super::time::Date;
use super::types::ProblemTypes;
use crate::rules::{Effect, ScorecardSet};
use crate::store::review::FinalResult;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};

pub const SEVERITIES: [&str; 3] = ["轻微", "一般", "严重"];

/// Non-fatal deduction lines per card name: the 机会数 of 非致命错误准确性.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Opportunities(BTreeMap<String, usize>);

impl Opportunities {
    pub fn from_cards(cards: &ScorecardSet) -> Opportunities {
        Opportunities(
            cards
                .cards()
                .iter()
                .map(|c| {
                    let n = c
                        .items()
                        .filter(|(_, i)| i.effect == Effect::Deduct && !i.fatal)
                        .count();
                    (c.name.clone(), n)
                })
                .collect(),
        )
    }

    pub fn with(mut self, card: &str, n: usize) -> Opportunities {
        self.0.insert(card.to_string(), n);
        self
    }

    pub fn get(&self, card: &str) -> Option<usize> {
        self.0.get(card).copied()
    }
}

#[derive(Debug, Clone)]
pub struct AgentReportOptions {
    pub from: Date,
    pub to: Date,
    pub low_score_pct: f64,
    pub types: ProblemTypes,
    pub opportunities: Opportunities,
}

/// Figures of one agent over one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodFigures {
    pub calls: usize,
    pub mean_pct: f64,
    pub mean_auto_pct: f64,
    pub low_score_calls: usize,
    pub fatal_calls: usize,
    pub fatal_accuracy: f64,
    pub nonfatal_errors: usize,
    pub opportunities: usize,
    /// None when no card of the agent's calls is known (no opportunities to count).
    pub nonfatal_accuracy: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentStats {
    pub agent_id: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub current: PeriodFigures,
    pub rank: usize,
    /// rank / agents × 100: this agent is in the top X%.
    pub top_pct: f64,
    /// Mean below the low-score threshold.
    pub warning: bool,
    pub flags_by_type: BTreeMap<String, usize>,
    pub flags_by_severity: BTreeMap<String, usize>,
    /// The lines that cost this agent most often: (name, calls).
    pub top_items: Vec<(String, usize)>,
    /// Calls below the threshold: (call id, date, final score %, fatal).
    pub low_calls: Vec<(String, String, f64, bool)>,
    pub reviewed_calls: usize,
    pub previous: Option<PeriodFigures>,
    /// Change of the mean final score against the previous period, in percentage points.
    pub delta_mean_pct: Option<f64>,
    /// Seed 003's monthly bonus and deduction (rules/monthly), when the period is in one month.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub monthly: Vec<crate::rules::monthly::MonthlyResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentReport {
    pub from: String,
    pub to: String,
    pub previous_from: String,
    pub previous_to: String,
    pub low_score_pct: f64,
    pub types: Vec<String>,
    /// All agents together.
    pub overall: Option<PeriodFigures>,
    pub agents: Vec<AgentStats>,
    /// Cards whose opportunities were unknown (非致命错误准确性 left out for their calls).
    pub unknown_cards: Vec<String>,
    /// The month the monthly rules were computed for (YYYY-MM), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_month: Option<String>,
    /// Sampling quotas of the cards with `[sampling]` (seed 004), per queue.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<super::quota::QueueQuota>,
}

fn figures(
    results: &[&FinalResult],
    opts: &AgentReportOptions,
    unknown: &mut Vec<String>,
) -> Option<PeriodFigures> {
    if results.is_empty() {
        return None;
    }
    let n = results.len();
    let mean =
        |f: &dyn Fn(&FinalResult) -> f64| results.iter().map(|r| f(r)).sum::<f64>() / n as f64;
    let fatal_calls = results.iter().filter(|r| !r.fatal.is_empty()).count();
    let mut errors = 0usize;
    let mut opportunities = 0usize;
    for r in results {
        match opts.opportunities.get(&r.card) {
            Some(o) => {
                opportunities += o;
                errors += nonfatal_errors(r);
            }
            None => {
                if !unknown.contains(&r.card) {
                    unknown.push(r.card.clone());
                }
            }
        }
    }
    Some(PeriodFigures {
        calls: n,
        mean_pct: round1(mean(&|r| r.final_pct())),
        mean_auto_pct: round1(mean(&|r| {
            if r.max_score > 0.0 {
                r.auto_score / r.max_score * 100.0
            } else {
                0.0
            }
        })),
        low_score_calls: results
            .iter()
            .filter(|r| r.final_pct() < opts.low_score_pct)
            .count(),
        fatal_calls,
        fatal_accuracy: round4(1.0 - fatal_calls as f64 / n as f64),
        nonfatal_errors: errors,
        opportunities,
        nonfatal_accuracy: (opportunities > 0)
            .then(|| round4(1.0 - errors as f64 / opportunities as f64)),
    })
}

/// Non-fatal deduction lines that apply on this call after review.
pub fn nonfatal_errors(r: &FinalResult) -> usize {
    r.items
        .iter()
        .filter(|i| i.applied && !i.fatal && i.effect == "deduct" && i.applied_points > 0.0)
        .count()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The previous period of equal length: (from, to).
pub fn previous_period(from: Date, to: Date) -> (Date, Date) {
    let len = to.days() - from.days() + 1;
    (from.add_days(-len), from.add_days(-1))
}

fn group(rs: &[FinalResult]) -> BTreeMap<String, Vec<&FinalResult>> {
    let mut by: BTreeMap<String, Vec<&FinalResult>> = BTreeMap::new();
    for r in rs {
        by.entry(r.agent_id.clone().unwrap_or_else(|| "（未知）".into()))
            .or_default()
            .push(r);
    }
    by
}

/// Compute the report from final results (pure: tests feed it hand-made results).
pub fn compute(
    current: &[FinalResult],
    previous: &[FinalResult],
    names: &HashMap<String, String>,
    opts: &AgentReportOptions,
) -> AgentReport {
    let cur = group(current);
    let prev = group(previous);
    let mut unknown = Vec::new();
    let mut agents: Vec<AgentStats> = Vec::new();
    for (agent, rs) in &cur {
        let Some(fig) = figures(rs, opts, &mut unknown) else {
            continue;
        };
        let previous = prev
            .get(agent)
            .and_then(|p| figures(p, opts, &mut Vec::new()));
        let mut by_type: BTreeMap<String, usize> =
            opts.types.names().into_iter().map(|t| (t, 0)).collect();
        let mut by_sev: BTreeMap<String, usize> =
            SEVERITIES.iter().map(|s| (s.to_string(), 0)).collect();
        let mut items: BTreeMap<String, usize> = BTreeMap::new();
        for r in rs {
            for i in r.items.iter().filter(|i| {
                i.applied && i.effect == "deduct" && (i.applied_points > 0.0 || i.fatal)
            }) {
                let ty = opts.types.classify(&r.card, &i.item_id, &i.category);
                *by_type.entry(ty.to_string()).or_default() += 1;
                *by_sev.entry(i.severity.clone()).or_default() += 1;
                *items.entry(i.name.clone()).or_default() += 1;
            }
        }
        let mut top_items: Vec<(String, usize)> = items.into_iter().collect();
        top_items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        top_items.truncate(5);
        let mut low_calls: Vec<(String, String, f64, bool)> = rs
            .iter()
            .filter(|r| r.final_pct() < opts.low_score_pct)
            .map(|r| {
                (
                    r.call_id.clone(),
                    r.call_date.clone().unwrap_or_default(),
                    round1(r.final_pct()),
                    !r.fatal.is_empty(),
                )
            })
            .collect();
        low_calls.sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
        agents.push(AgentStats {
            agent_id: agent.clone(),
            name: names.get(agent).cloned(),
            warning: fig.mean_pct < opts.low_score_pct,
            delta_mean_pct: previous.as_ref().map(|p| round1(fig.mean_pct - p.mean_pct)),
            current: fig,
            rank: 0,
            top_pct: 0.0,
            flags_by_type: by_type,
            flags_by_severity: by_sev,
            top_items,
            low_calls,
            reviewed_calls: rs.iter().filter(|r| r.reviewed).count(),
            previous,
            monthly: Vec::new(),
        });
    }
    // Competition ranking ("1224"): equal means share the better rank.
    agents.sort_by(|a, b| {
        b.current
            .mean_pct
            .total_cmp(&a.current.mean_pct)
            .then(a.agent_id.cmp(&b.agent_id))
    });
    let n = agents.len();
    for i in 0..n {
        let rank = if i > 0 && agents[i].current.mean_pct == agents[i - 1].current.mean_pct {
            agents[i - 1].rank
        } else {
            i + 1
        };
        agents[i].rank = rank;
        agents[i].top_pct = round1(rank as f64 / n as f64 * 100.0);
    }
    let all: Vec<&FinalResult> = current.iter().collect();
    let overall = figures(&all, opts, &mut unknown);
    unknown.sort();
    unknown.dedup();
    let (pf, pt) = previous_period(opts.from, opts.to);
    AgentReport {
        from: opts.from.to_string(),
        to: opts.to.to_string(),
        previous_from: pf.to_string(),
        previous_to: pt.to_string(),
        low_score_pct: opts.low_score_pct,
        types: opts.types.names(),
        overall,
        agents,
        unknown_cards: unknown,
        monthly_month: None,
        quotas: Vec::new(),
    }
}

/// Load the period and the previous one from the store and compute the report.
pub fn build(store: &Store, opts: &AgentReportOptions) -> Result<AgentReport> {
    if opts.to < opts.from {
        bail!("--to {} is before --from {}", opts.to, opts.from);
    }
    let current = store.final_results_between(opts.from, opts.to)?;
    let (pf, pt) = previous_period(opts.from, opts.to);
    let previous = store.final_results_between(pf, pt)?;
    let mut names = HashMap::new();
    names.extend(store.db().rows(
        "SELECT agent_id, name FROM agents WHERE name IS NOT NULL",
        crate::store::db::args![],
        |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
    )?);
    Ok(compute(&current, &previous, &names, opts))
}

/// Write `agents.html`, `agents.csv` and `agents.json` into `out`.
pub fn write(report: &AgentReport, out: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let paths = vec![
        out.join("agents.html"),
        out.join("agents.csv"),
        out.join("agents.json"),
    ];
    super::render::write_assets(out, true)?;
    crate::atomic::write_atomic(&paths[0], html(report)?.as_bytes())?;
    crate::atomic::write_atomic(&paths[1], csv(report)?.as_bytes())?;
    let json = serde_json::to_vec_pretty(report).map_err(io::Error::other)?;
    crate::atomic::write_atomic(&paths[2], &json)?;
    Ok(paths)
}

fn opt(x: Option<f64>, dp: usize) -> String {
    x.map(|v| num(v, dp)).unwrap_or_default()
}

pub fn csv(r: &AgentReport) -> io::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "agent_id",
        "agent_name",
        "calls",
        "mean_score_pct",
        "mean_auto_score_pct",
        "rank",
        "top_pct",
        "low_score_calls",
        "warning",
        "fatal_calls",
        "fatal_accuracy",
        "nonfatal_errors",
        "opportunities",
        "nonfatal_accuracy",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(r.types.iter().map(|t| format!("flags_{t}")));
    header.extend(SEVERITIES.iter().map(|s| format!("severity_{s}")));
    header.extend(
        [
            "reviewed_calls",
            "prev_calls",
            "prev_mean_score_pct",
            "delta_mean_score_pct",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    w.write_record(&header)?;
    for a in &r.agents {
        let c = &a.current;
        let mut row = vec![
            a.agent_id.clone(),
            a.name.clone().unwrap_or_default(),
            c.calls.to_string(),
            num(c.mean_pct, 1),
            num(c.mean_auto_pct, 1),
            a.rank.to_string(),
            num(a.top_pct, 1),
            c.low_score_calls.to_string(),
            a.warning.to_string(),
            c.fatal_calls.to_string(),
            num(c.fatal_accuracy, 4),
            c.nonfatal_errors.to_string(),
            c.opportunities.to_string(),
            opt(c.nonfatal_accuracy, 4),
        ];
        row.extend(
            r.types
                .iter()
                .map(|t| a.flags_by_type.get(t).copied().unwrap_or(0).to_string()),
        );
        row.extend(SEVERITIES.iter().map(|s| {
            a.flags_by_severity
                .get(*s)
                .copied()
                .unwrap_or(0)
                .to_string()
        }));
        row.push(a.reviewed_calls.to_string());
        row.push(
            a.previous
                .as_ref()
                .map(|p| p.calls.to_string())
                .unwrap_or_default(),
        );
        row.push(opt(a.previous.as_ref().map(|p| p.mean_pct), 1));
        row.push(opt(a.delta_mean_pct, 1));
        w.write_record(&row)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(format!(
        "\u{feff}{}",
        String::from_utf8(bytes).map_err(io::Error::other)?
    ))
}

/// agents.html: `templates/export/agents.html`; its ranking table is the macro the server's
/// agent page uses too (`templates/parts/agents.html`).
pub fn html(r: &AgentReport) -> io::Result<String> {
    let warned = r.agents.iter().filter(|a| a.warning).count();
    super::render::export_page(
        "export/agents.html",
        "",
        minijinja::context! {
            r => r,
            warned => warned,
            severities => SEVERITIES,
            generated => super::time::now_utc(),
        },
    )
}

/// Arguments of `zhijian report`.
#[derive(Debug, clap::Args)]
pub struct AgentReportArgs {
    /// The database (filled by `zhijian import`, or by `inspect`).
    #[arg(long, value_name = "PATH")]
    pub db: PathBuf,
    /// First day of the period (YYYY-MM-DD, the calls' local date).
    #[arg(long, value_name = "DATE")]
    pub from: String,
    /// Last day of the period, inclusive.
    #[arg(long, value_name = "DATE")]
    pub to: String,
    /// Folder for agents.html, agents.csv and agents.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Low-score line, percent of the card's maximum: calls below it are listed, agents whose
    /// mean is below it get a warning.
    #[arg(long, default_value_t = 80.0, value_name = "PCT")]
    pub low_score: f64,
    /// Problem-type table (TOML) mapping scorecard lines to 服务态度/业务知识/沟通技巧/系统操作
    /// (default: the built-in table; see `problem_types.toml` in the source).
    #[arg(long, value_name = "FILE")]
    pub types: Option<PathBuf>,
    /// Scorecards the calls were scored with (for the opportunities of 非致命错误准确性).
    #[arg(long, default_value = "rules", value_name = "DIR")]
    pub rules: PathBuf,
}

/// `zhijian report`.
pub fn report_cmd(a: &AgentReportArgs, err: &mut dyn io::Write) -> Result<std::process::ExitCode> {
    let from =
        Date::parse(&a.from).with_context(|| format!("--from {}: expected YYYY-MM-DD", a.from))?;
    let to = Date::parse(&a.to).with_context(|| format!("--to {}: expected YYYY-MM-DD", a.to))?;
    let types = match &a.types {
        Some(p) => ProblemTypes::load(p)?,
        None => ProblemTypes::default(),
    };
    let cards = ScorecardSet::load_dir(&a.rules)
        .with_context(|| format!("loading scorecards from {}", a.rules.display()))?;
    if !crate::store::exists(&a.db) {
        bail!(
            "database {} does not exist (create it with `zhijian import OUT --db {}`)",
            crate::store::shown(&a.db),
            crate::store::shown(&a.db)
        );
    }
    let store =
        Store::open(&a.db).with_context(|| format!("opening {}", crate::store::shown(&a.db)))?;
    let opts = AgentReportOptions {
        from,
        to,
        low_score_pct: a.low_score,
        types,
        opportunities: Opportunities::from_cards(&cards),
    };
    let mut report = build(&store, &opts)?;
    let monthly = crate::rules::monthly::load_monthly_dir(&a.rules, &cards)
        .with_context(|| format!("loading monthly rules from {}/monthly", a.rules.display()))?;
    super::monthly::attach(&store, &monthly, &mut report)?;
    let period = store.final_results_between(from, to)?;
    report.quotas = super::quota::quotas(&store, &cards, &period, from, to, 7.0)?;
    let paths =
        write(&report, &a.out).with_context(|| format!("writing into {}", a.out.display()))?;
    writeln!(
        err,
        "zhijian: {} agents, {} calls from {} to {}; report in {}",
        report.agents.len(),
        report.overall.as_ref().map_or(0, |o| o.calls),
        report.from,
        report.to,
        paths[0].display()
    )?;
    Ok(std::process::ExitCode::SUCCESS)
}
