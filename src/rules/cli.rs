//! Bodies of the `zhijian score` and `zhijian rules …` commands, kept in the library so the
//! binary stays a thin argument parser and the output can be tested.

use super::card::Effect;
use super::score::{ReviewReason, ScoreResult};
use super::{check_files, explain, kinds, score, Evidence, ScorecardSet};
use crate::record::CallRecord;
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `zhijian score CALL.json --rules PATH [--json]`: score a call record (hand-written or
/// produced by `inspect`) with a card file, or with the best card of a rules directory.
pub fn score_cmd(
    call_json: &Path,
    rules: &Path,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(call_json)
        .with_context(|| format!("reading call record {}", call_json.display()))?;
    let call: CallRecord = serde_json::from_str(&text)
        .with_context(|| format!("parsing call record {}", call_json.display()))?;
    let set = ScorecardSet::load(rules).with_context(|| {
        let what = if rules.is_dir() {
            "scorecards from"
        } else {
            "scorecard"
        };
        format!("loading {what} {}", rules.display())
    })?;
    let card = set.select(call.metadata.as_ref());
    let result = score(card, &call);
    if json {
        serde_json::to_writer_pretty(&mut *out, &result)?;
        writeln!(out)?;
    } else {
        write_report(&result, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `zhijian rules check FILE...`: print every problem as `file:line:column: message`; exit 1
/// when there are any.
pub fn check_cmd(files: &[PathBuf], out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if files.is_empty() {
        bail!("no scorecard files given");
    }
    let diags = check_files(files);
    for d in &diags {
        writeln!(out, "{d}")?;
    }
    if diags.is_empty() {
        let n: usize = files
            .iter()
            .map(|f| {
                if f.is_dir() {
                    super::load::toml_files(f).map_or(0, |v| v.len())
                } else {
                    1
                }
            })
            .sum();
        let m: usize = files
            .iter()
            .filter(|f| f.is_dir())
            .map(|f| super::monthly::count_monthly_files(f))
            .sum();
        let monthly = match m {
            0 => String::new(),
            1 => " and 1 monthly rules file".to_string(),
            m => format!(" and {m} monthly rules files"),
        };
        writeln!(
            out,
            "ok: {n} scorecard{}{monthly} checked",
            if n == 1 { "" } else { "s" }
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(
            out,
            "{} problem{}",
            diags.len(),
            if diags.len() == 1 { "" } else { "s" }
        )?;
        Ok(ExitCode::from(1))
    }
}

/// `zhijian rules explain [KIND]`: a kind's documentation, or the list of kinds.
pub fn explain_cmd(kind: Option<&str>, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match kind {
        None => {
            writeln!(
                out,
                "condition kinds (zhijian rules explain KIND for details):"
            )?;
            for k in kinds() {
                // The summary is the first paragraph of the documentation.
                let doc = explain(k).unwrap_or_default();
                let summary: Vec<&str> = doc.lines().take_while(|l| !l.trim().is_empty()).collect();
                writeln!(out, "  {k:<16} {}", summary.join(" "))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(k) => match explain(k) {
            Some(doc) => {
                writeln!(out, "{doc}")?;
                Ok(ExitCode::SUCCESS)
            }
            None => bail!(
                "unknown condition kind `{k}` (known: {})",
                kinds().join(", ")
            ),
        },
    }
}

fn fmt_pts(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

fn fmt_evidence(e: &Evidence) -> String {
    let mut s = format!("{:.1}–{:.1}s", e.start, e.end);
    if let Some(id) = e.utterance {
        s += &format!(" #{id}");
    }
    if let Some(r) = e.role {
        s += &format!(" {}", r.zh());
    }
    if let Some(t) = &e.text {
        s += &format!(" 「{t}」");
    }
    if let Some(p) = &e.phrase {
        if e.text.as_deref() != Some(p.as_str()) {
            s += &format!(" ← {p}");
        }
    }
    if !e.note.is_empty() {
        s += &format!(" {}", e.note);
    }
    s
}

/// Human-readable report of a score.
pub fn write_report(r: &ScoreResult, out: &mut dyn Write) -> std::io::Result<()> {
    match &r.card_file {
        Some(f) => writeln!(out, "{}（{f}）", r.card)?,
        None => writeln!(out, "{}", r.card)?,
    }
    writeln!(out, "总分 {} / {}", fmt_pts(r.total), fmt_pts(r.max_total))?;
    if let Some(f) = &r.fatal {
        writeln!(out, "{f}（扣前 {}）", fmt_pts(r.subtotal))?;
    }
    writeln!(out, "\n分类得分")?;
    for c in &r.categories {
        let mut change = String::new();
        if c.deducted > 0.0 {
            change += &format!(" -{}", fmt_pts(c.deducted));
        }
        if c.added > 0.0 {
            change += &format!(" +{}", fmt_pts(c.added));
        }
        writeln!(
            out,
            "  {}  {}/{}{change}",
            c.name,
            fmt_pts(c.score),
            fmt_pts(c.max)
        )?;
    }
    if !r.hits.is_empty() {
        writeln!(out, "\n命中项目")?;
        for h in &r.hits {
            let sign = if h.effect == Effect::Add { "+" } else { "-" };
            let mut flags = String::new();
            if h.fatal {
                flags += " 致命";
            }
            if h.superseded {
                flags += " （被更重等级取代，不计分）";
            }
            let times = if h.occurrences > 1 {
                format!(" ×{}", h.occurrences)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  [{}] {} {}  {}  {sign}{}{times}{flags}",
                h.severity.zh(),
                h.id,
                h.name,
                h.category,
                fmt_pts(h.points)
            )?;
            for e in &h.evidence {
                writeln!(out, "      {}", fmt_evidence(e))?;
            }
        }
    }
    if !r.review.is_empty() {
        writeln!(
            out,
            "\n需人工复核（可能影响 {} 分）",
            fmt_pts(r.review_points_at_stake)
        )?;
        for v in &r.review {
            let why = match v.reason {
                ReviewReason::Manual => "人工项",
                ReviewReason::Undecided => "待定",
            };
            writeln!(
                out,
                "  [{why}] {} {}  {}  {}分  {}",
                v.id,
                v.name,
                v.category,
                fmt_pts(v.points),
                v.note
            )?;
            for e in &v.evidence {
                writeln!(out, "      {}", fmt_evidence(e))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_lists_and_explains() {
        let mut out = Vec::new();
        explain_cmd(None, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains("  keywords         `keywords`: phrases said in the call"),
            "{s}"
        );
        let mut out = Vec::new();
        explain_cmd(Some("absence"), &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("## Example"));
        let e = explain_cmd(Some("keyword"), &mut Vec::new()).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("unknown condition kind `keyword` (known: keywords, regex"));
    }

    #[test]
    fn check_reports_problems_and_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.toml");
        std::fs::write(&f, "name = \"x\"\n").unwrap();
        let mut out = Vec::new();
        let code = check_cmd(std::slice::from_ref(&f), &mut out).unwrap();
        assert_eq!(code, ExitCode::from(1));
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            format!(
                "{}:1:1: no categories: add [[categories]] tables\n1 problem\n",
                f.display()
            )
        );
    }
}
