//! `zhijian review`: the inspector's, the agent's and the QA lead's commands (复核、申诉、终审).

use super::review::{Decision, Verdict};
use super::Store;
use crate::figures::num;
use crate::time::Date;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// The database (filled by `zhijian import` or `inspect`).
    #[arg(long, value_name = "PATH", global = true, default_value = "zhijian.db")]
    pub db: PathBuf,
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Inspector: confirm or reject an automatic flag (or a review item) of a call.
    Verdict {
        #[arg(long)]
        call: String,
        /// Item id on the scorecard (e.g. RX02).
        #[arg(long)]
        item: String,
        #[arg(value_enum)]
        verdict: Verdict,
        #[arg(long, default_value = "")]
        comment: String,
        /// Who decides (inspector's name or staff number).
        #[arg(long, default_value = "")]
        by: String,
    },
    /// Inspector: score a manual item (or one the machine could not decide): the points it
    /// deducts or adds on this call, 0 when the item is fine.
    Score {
        #[arg(long)]
        call: String,
        #[arg(long)]
        item: String,
        #[arg(long)]
        points: f64,
        #[arg(long, default_value = "")]
        comment: String,
        #[arg(long, default_value = "")]
        by: String,
    },
    /// Agent: appeal (申诉) a flag, or the whole call's score when --item is left out.
    Appeal {
        #[arg(long)]
        call: String,
        #[arg(long)]
        item: Option<String>,
        /// The appealing agent (default: the call's agent).
        #[arg(long)]
        agent: Option<String>,
        #[arg(long)]
        reason: String,
    },
    /// QA lead: final decision (终审) on an appeal. `accept` drops the flag (or, for an appeal
    /// against the whole call, sets --score); `reject` keeps the judgement.
    Decide {
        #[arg(long)]
        appeal: i64,
        #[arg(value_enum)]
        decision: Decision,
        /// The call's final score, when accepting an appeal against the whole call.
        #[arg(long)]
        score: Option<f64>,
        #[arg(long, default_value = "")]
        comment: String,
        #[arg(long, default_value = "")]
        by: String,
    },
    /// Show a call's automatic and final scores and every line with its review status.
    Show {
        #[arg(long)]
        call: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List appeals (open ones unless --all).
    Appeals {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// How often each rule's flags were confirmed by reviewers (worst first): which rules to
    /// tune.
    Precision {
        /// First call date (YYYY-MM-DD); default: all.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn date(s: &Option<String>, flag: &str) -> Result<Option<Date>> {
    s.as_deref()
        .map(|x| Date::parse(x).with_context(|| format!("{flag} {x}: expected YYYY-MM-DD")))
        .transpose()
}

pub fn review_cmd(a: &ReviewArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if !crate::store::exists(&a.db) {
        bail!(
            "database {} does not exist (load calls first: zhijian import OUT --db {})",
            crate::store::shown(&a.db),
            crate::store::shown(&a.db)
        );
    }
    let mut store =
        Store::open(&a.db).with_context(|| format!("opening {}", crate::store::shown(&a.db)))?;
    match &a.command {
        ReviewCommand::Verdict {
            call,
            item,
            verdict,
            comment,
            by,
        } => {
            let call = &store.resolve_call(call)?;
            let id = store.record_verdict(call, item, *verdict, comment, by)?;
            let f = store.final_result(call)?;
            writeln!(
                out,
                "复核 #{id}：{call} {item} {}；终审得分 {} / {}（自动 {}）",
                verdict.zh(),
                num(f.final_score, 2),
                num(f.max_score, 2),
                num(f.auto_score, 2)
            )?;
        }
        ReviewCommand::Score {
            call,
            item,
            points,
            comment,
            by,
        } => {
            let call = &store.resolve_call(call)?;
            let id = store.record_manual_score(call, item, *points, comment, by)?;
            let f = store.final_result(call)?;
            writeln!(
                out,
                "人工评分 #{id}：{call} {item} {} 分；终审得分 {} / {}（自动 {}）",
                num(*points, 2),
                num(f.final_score, 2),
                num(f.max_score, 2),
                num(f.auto_score, 2)
            )?;
        }
        ReviewCommand::Appeal {
            call,
            item,
            agent,
            reason,
        } => {
            let call = &store.resolve_call(call)?;
            let id = store.file_appeal(call, item.as_deref(), agent.as_deref(), reason)?;
            writeln!(
                out,
                "申诉 #{id}：{call} {}，待终审",
                item.as_deref().unwrap_or("（整通）")
            )?;
        }
        ReviewCommand::Decide {
            appeal,
            decision,
            score,
            comment,
            by,
        } => {
            store.decide_appeal(*appeal, *decision, *score, by, comment)?;
            let call = store
                .appeals(false)?
                .into_iter()
                .find(|x| x.id == *appeal)
                .map(|x| x.call_id)
                .unwrap_or_default();
            let f = store.final_result(&call)?;
            writeln!(
                out,
                "终审 #{appeal}：{}；{call} 终审得分 {} / {}（自动 {}）",
                match decision {
                    Decision::Accept => "申诉成立",
                    Decision::Reject => "申诉驳回",
                },
                num(f.final_score, 2),
                num(f.max_score, 2),
                num(f.auto_score, 2)
            )?;
        }
        ReviewCommand::Show { call, json } => {
            let f = store.final_result(&store.resolve_call(call)?)?;
            if *json {
                serde_json::to_writer_pretty(&mut *out, &f)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "通话 {}  座席 {}  评分表 {}",
                    f.call_id,
                    f.agent_id.as_deref().unwrap_or("—"),
                    f.card
                )?;
                writeln!(
                    out,
                    "自动得分 {} / {}{}；终审得分 {} / {}{}",
                    num(f.auto_score, 2),
                    num(f.max_score, 2),
                    f.auto_fatal
                        .as_deref()
                        .map(|x| format!("（{x}）"))
                        .unwrap_or_default(),
                    num(f.final_score, 2),
                    num(f.max_score, 2),
                    if f.fatal.is_empty() {
                        String::new()
                    } else {
                        format!("（致命错误：{}）", f.fatal.join("、"))
                    }
                )?;
                for i in &f.items {
                    let sign = if i.effect == "add" { "+" } else { "−" };
                    writeln!(
                        out,
                        "  {:<6} {}  {} {}{}  {}{}",
                        i.item_id,
                        i.name,
                        if i.kind == "hit" {
                            "自动命中"
                        } else {
                            "人工项"
                        },
                        sign,
                        num(i.auto_points, 2),
                        i.status,
                        if i.applied {
                            format!("，计 {sign}{}", num(i.applied_points, 2))
                        } else {
                            "，不计分".into()
                        }
                    )?;
                }
            }
        }
        ReviewCommand::Appeals { all, json } => {
            let list = store.appeals(!all)?;
            if *json {
                serde_json::to_writer_pretty(&mut *out, &list)?;
                writeln!(out)?;
            } else if list.is_empty() {
                writeln!(out, "没有{}申诉。", if *all { "" } else { "待终审的" })?;
            } else {
                for x in list {
                    writeln!(
                        out,
                        "#{} {} {} {} [{}] {}{}",
                        x.id,
                        x.call_id,
                        x.item_id.as_deref().unwrap_or("（整通）"),
                        x.agent_id.as_deref().unwrap_or(""),
                        x.status,
                        x.reason,
                        x.decision_comment
                            .filter(|c| !c.is_empty())
                            .map(|c| format!(" — {c}"))
                            .unwrap_or_default()
                    )?;
                }
            }
        }
        ReviewCommand::Precision { from, to, json } => {
            let list = store.rule_precision(date(from, "--from")?, date(to, "--to")?)?;
            if *json {
                serde_json::to_writer_pretty(&mut *out, &list)?;
                writeln!(out)?;
            } else {
                writeln!(out, "规则精确率（复核确认 / 已复核；最差在前）")?;
                for p in list {
                    writeln!(
                        out,
                        "  {:<6} {:<24} 命中 {:>4}  已复核 {:>4}  确认 {:>4}  驳回 {:>4}  精确率 {}  [{}]",
                        p.item_id,
                        p.name,
                        p.flagged,
                        p.reviewed,
                        p.confirmed,
                        p.rejected,
                        p.precision
                            .map(crate::figures::pct)
                            .unwrap_or_else(|| "—".into()),
                        p.card
                    )?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
