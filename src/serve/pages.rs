//! The pages: review queue, an agent's own calls, the call page, appeals inbox, audit log,
//! agent report, rule precision and inspector agreement, CSV export, users. Each checks the
//! role first; the data comes from the store, the HTML from the templates.

use super::{index, Ctx, WebError};
use crate::record::CallRecord;
use crate::report::call_page;
use crate::report::queue::{Level, Reason};
use crate::report::views::{self, Links, QueueRowView};
use crate::rules::Evidence;
use crate::store::web::{QueueFilter, QueueRow, Role};
use crate::time::Date;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use std::collections::{BTreeMap, HashMap};

type Q = HashMap<String, String>;

const PAGE: usize = 50;

fn q_opt(q: &Q, k: &str) -> Option<String> {
    q.get(k)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

pub(super) fn filter_of(q: &Q) -> QueueFilter {
    QueueFilter {
        from: q_opt(q, "from"),
        to: q_opt(q, "to"),
        queue: q_opt(q, "queue"),
        agent: q_opt(q, "agent"),
        flag: q_opt(q, "flag"),
        severity: q_opt(q, "severity"),
        reviewed: match q.get("reviewed").map(String::as_str) {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
        assigned_to: None,
        all: q.get("all").is_some_and(|v| v == "1"),
        unassigned: false,
    }
}

/// The store's queue rows as the rows the export lists too (`parts/queue.html`), numbered
/// from `first_rank`; `finals`: the final score of each row (an agent's own calls).
fn rows_view(
    rows: Vec<QueueRow>,
    first_rank: usize,
    finals: Option<&[Option<f64>]>,
) -> Vec<QueueRowView> {
    rows.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let why: Vec<Reason> = serde_json::from_str(&r.reasons).unwrap_or_default();
            let level = why.iter().map(|x| x.level).max();
            let agent = views::agent_label(r.agent_name.as_deref(), r.agent_id.as_deref());
            let start = r.start_time.as_deref();
            let mut v = QueueRowView::call(
                &r.call_id,
                r.at,
                Links::Server,
                agent,
                r.queue,
                start,
                r.duration_s,
            )
            .with_level(level, r.risk)
            .with_score(r.auto_score, r.max_score, level == Some(Level::Fatal));
            v.rank = first_rank + i;
            v.reasons = views::reasons(&r.call_id, &why[..why.len().min(3)], Links::Server);
            v.final_score = finals.and_then(|f| f.get(i).copied().flatten());
            v.assigned_to = r.assigned_to;
            v.claimed_by = r.claimed_by;
            v.reviewed = r.reviewed;
            v
        })
        .collect()
}

/// The page number asked for (1-based).
fn page_of(q: &Q) -> usize {
    q.get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// The query string without `page`, for paging links that keep the filters.
fn keep_query(q: &Q) -> String {
    let mut kv: Vec<_> = q
        .iter()
        .filter(|(k, v)| *k != "page" && !v.is_empty())
        .collect();
    kv.sort();
    kv.iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::report::html::url_segment(k),
                crate::report::html::url_segment(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

pub fn queue(c: &mut Ctx, q: &Q) -> Result<Response, WebError> {
    match c.user.role {
        Role::Agent => return Ok(Redirect::to("/mine").into_response()),
        Role::Admin => return Ok(Redirect::to("/users").into_response()),
        _ => {}
    }
    index::refresh(&mut c.store, &c.app.report, 500)?;
    let page = page_of(q);
    let f = filter_of(q);
    let (rows, total) = c.store.queue_page(&f, c.now, (page - 1) * PAGE, PAGE)?;
    let mine_filter = QueueFilter {
        assigned_to: Some(c.user.name.clone()),
        reviewed: Some(false),
        ..QueueFilter::default()
    };
    let (mine, mine_total) = c.store.queue_page(&mine_filter, c.now, 0, 20)?;
    let pages = total.div_ceil(PAGE).max(1);
    let inspectors: Vec<String> = if c.user.role == Role::Lead {
        c.store
            .users()?
            .into_iter()
            .filter(|u| u.role == Role::Inspector && !u.disabled)
            .map(|u| u.name)
            .collect()
    } else {
        Vec::new()
    };
    c.page(
        "queue.html",
        context! {
            inspectors => inspectors,
            rows => rows_view(rows, (page - 1) * PAGE + 1, None),
            mine => rows_view(mine, 1, None),
            mine_total => mine_total,
            total => total,
            page => page,
            pages => pages,
            query => keep_query(q),
            f => q,
        },
    )
}

pub fn mine(c: &mut Ctx, q: &Q) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Agent)?;
    index::refresh(&mut c.store, &c.app.report, 500)?;
    let page = page_of(q);
    let f = QueueFilter {
        agent: Some(c.user.agent_id.clone().unwrap_or_default()),
        all: true,
        from: q_opt(q, "from"),
        to: q_opt(q, "to"),
        ..QueueFilter::default()
    };
    let (rows, total) = c.store.queue_page(&f, c.now, (page - 1) * PAGE, PAGE)?;
    let mut finals = Vec::new();
    for r in &rows {
        finals.push(c.store.final_result(&r.call_id).ok().map(|f| f.final_score));
    }
    let appeals: Vec<_> = c
        .store
        .appeals(false)?
        .into_iter()
        .filter(|a| a.agent_id.is_some() && a.agent_id == c.user.agent_id)
        .collect();
    c.page(
        "queue.html",
        context! {
            own => true,
            rows => rows_view(rows, (page - 1) * PAGE + 1, Some(finals.as_slice())),
            total => total,
            page => page,
            pages => total.div_ceil(PAGE).max(1),
            query => keep_query(q),
            f => q,
            appeals => appeals,
        },
    )
}

pub fn call(c: &mut Ctx, id: &str, _q: &Q) -> Result<Response, WebError> {
    c.can_see_call(id)?;
    let (_, json) = c
        .store
        .call_file_and_record(id)?
        .ok_or(WebError::NotFound)?;
    let rec: Option<CallRecord> = json.as_deref().and_then(|j| serde_json::from_str(j).ok());
    // Opening a call claims it for an inspector (or for whoever it is assigned to), unless
    // someone else holds it; a lead only looking does not block the team.
    let assigned_to = c.store.assignee(id)?;
    let me = c.user.name.clone();
    let claimed_by = if c.user.role == Role::Inspector || assigned_to.as_deref() == Some(&me) {
        c.store.claim(id, &me, c.now, c.app.lease_secs)?
    } else {
        c.store.claim_of(id, c.now)?.map(|(u, _)| u)
    };
    let fin = c.store.final_result(id).ok();
    let mut evidence: HashMap<String, Vec<Evidence>> = HashMap::new();
    if let Some(score) = c.store.stored_score(id)? {
        let hits = score.hits.into_iter().map(|h| (h.id, h.evidence));
        let review = score.review.into_iter().map(|h| (h.id, h.evidence));
        for (item, ev) in hits.chain(review) {
            evidence.entry(item).or_default().extend(ev);
        }
    }
    let appeals: Vec<_> = c
        .store
        .appeals(false)?
        .into_iter()
        .filter(|a| a.call_id == id)
        .collect();
    let audit = if c.user.role == Role::Lead {
        c.store.audit_log(Some(id), 200)?
    } else {
        Vec::new()
    };
    let inspectors: Vec<String> = if c.user.role == Role::Lead {
        c.store
            .users()?
            .into_iter()
            .filter(|u| u.role.reviews() && !u.disabled)
            .map(|u| u.name)
            .collect()
    } else {
        Vec::new()
    };
    // The export's view of the call, drawn by the same macros; the recording comes from here.
    let audio = format!("/calls/{}/audio", crate::report::html::url_segment(id));
    let view = rec.as_ref().map(|r| call_page::view(r, Some(audio)));
    c.page(
        "call.html",
        context! {
            id => id,
            c => view,
            fin => fin,
            evidence => evidence,
            claimed_by => claimed_by,
            assigned_to => assigned_to,
            version => c.store.review_version(id)?,
            notes => c.store.notes(id)?,
            appeals => appeals,
            audit => audit,
            inspectors => inspectors,
            appeal_days => c.app.appeal_days,
        },
    )
}

pub fn appeals(c: &mut Ctx, q: &Q) -> Result<Response, WebError> {
    c.require(matches!(c.user.role, Role::Lead | Role::Agent))?;
    let open_only = q.get("open").is_some_and(|v| v == "1");
    let mut list = c.store.appeals(open_only)?;
    if c.user.role == Role::Agent {
        list.retain(|a| a.agent_id.is_some() && a.agent_id == c.user.agent_id);
    }
    // Open ones first, oldest first within.
    list.sort_by_key(|a| (a.status != "open", a.id));
    c.page(
        "appeals.html",
        context! { appeals => list, open_only => open_only },
    )
}

pub fn audit(c: &mut Ctx, q: &Q) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Lead)?;
    let call = q_opt(q, "call");
    let entries = c.store.audit_log(call.as_deref(), 500)?;
    c.page("audit.html", context! { entries => entries, call => call })
}

/// The period of a report: `from`/`to` (YYYY-MM-DD), by default the last 30 days.
fn period(q: &Q) -> Result<(Date, Date), WebError> {
    let today = Date::parse(&crate::time::now_rfc3339()[..10])
        .ok_or_else(|| WebError::Bad("clock".into()))?;
    let parse = |k: &str, d: Date| match q_opt(q, k) {
        Some(s) => {
            Date::parse(&s).ok_or_else(|| WebError::Bad(format!("`{k}` must be YYYY-MM-DD")))
        }
        None => Ok(d),
    };
    Ok((parse("from", today.add_days(-29))?, parse("to", today)?))
}

/// The agent report for a period, computed by the batch agent report itself
/// ([`crate::report::agent::build`]); the page shows its ranking table.
pub fn agents(c: &mut Ctx, q: &Q) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Lead)?;
    let (from, to) = period(q)?;
    let opts = crate::report::agent::AgentReportOptions {
        from,
        to,
        low_score_pct: c.app.report.low_score_pct,
        types: Default::default(),
        opportunities: Default::default(),
    };
    let report = crate::report::agent::build(&c.store, &opts)?;
    c.page(
        "agents.html",
        context! { r => report, from => from.to_string(), to => to.to_string() },
    )
}

/// Inspector agreement: on each (call, item) that two or more inspectors judged, do their
/// latest verdicts agree? Returns (pairs compared, pairs agreeing) per inspector pair.
fn agreement(c: &Ctx) -> Result<Vec<(String, String, usize, usize)>, WebError> {
    let rows: Vec<(String, String, String, String)> = c
        .store
        .db()
        .rows(
            "SELECT call_id, item_id, inspector, verdict FROM verdicts v
             WHERE id = (SELECT max(id) FROM verdicts w WHERE w.call_id = v.call_id
                         AND w.item_id = v.item_id AND w.inspector = v.inspector)
             ORDER BY call_id, item_id, inspector",
            crate::store::db::args![],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(|e| WebError::Internal(e.into()))?;
    let mut by_item: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for (call, item, who, v) in rows {
        by_item.entry((call, item)).or_default().push((who, v));
    }
    let mut pairs: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    for judged in by_item.values() {
        for (i, a) in judged.iter().enumerate() {
            for b in &judged[i + 1..] {
                let e = pairs.entry((a.0.clone(), b.0.clone())).or_default();
                e.0 += 1;
                e.1 += (a.1 == b.1) as usize;
            }
        }
    }
    Ok(pairs
        .into_iter()
        .map(|((a, b), (n, k))| (a, b, n, k))
        .collect())
}

pub fn precision(c: &mut Ctx, q: &Q) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Lead)?;
    let (from, to) = period(q)?;
    let rules = c.store.rule_precision(Some(from), Some(to))?;
    let pairs: Vec<_> = agreement(c)?
        .into_iter()
        .map(|(a, b, n, k)| context! { a => a, b => b, compared => n, agreed => k, rate => k as f64 / n as f64 * 100.0 })
        .collect();
    c.page(
        "precision.html",
        context! { rules => rules, pairs => pairs, from => from.to_string(), to => to.to_string() },
    )
}

/// A CSV cell a spreadsheet will not run as a formula.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

pub fn export_csv(c: &mut Ctx, q: &Q) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Lead)?;
    let (from, to) = period(q)?;
    let results = c.store.final_results_between(from, to)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| WebError::Internal(e.into());
    w.write_record([
        "call_id",
        "agent_id",
        "queue",
        "call_date",
        "card",
        "auto_score",
        "final_score",
        "max_score",
        "fatal",
        "reviewed",
    ])
    .map_err(io)?;
    for r in &results {
        w.write_record([
            cell(&r.call_id),
            cell(r.agent_id.as_deref().unwrap_or("")),
            cell(r.queue.as_deref().unwrap_or("")),
            r.call_date.clone().unwrap_or_default(),
            cell(&r.card),
            crate::figures::num(r.auto_score, 1),
            crate::figures::num(r.final_score, 1),
            crate::figures::num(r.max_score, 1),
            cell(&r.fatal.join("；")),
            (r.reviewed as u8).to_string(),
        ])
        .map_err(io)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| WebError::Internal(anyhow::anyhow!("{e}")))?;
    c.store.audit(
        &c.user.name,
        "export_csv",
        None,
        None,
        Some(&format!("{from}..{to}: {} calls", results.len())),
    )?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"zhijian-{from}-{to}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

pub fn users(c: &mut Ctx, _q: &Q) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Admin)?;
    let users = c.store.users()?;
    c.page("users.html", context! { users => users, now => c.now })
}
