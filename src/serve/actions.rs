//! What users do: log in and out, claim, confirm or reject flags, score manual items, leave
//! coaching notes, assign, appeal and decide appeals, manage users. Every change is one
//! [`Store::reviewed_change`] (version check, write, audit entry) and answers with a redirect
//! back to the page it came from (POST/redirect/GET).

use super::{auth, cookie_value, now, Ctx, Shared, WebError, COOKIE, PRE_COOKIE};
use crate::report::html::url_segment;
use crate::store::review::{Decision, Verdict};
use crate::store::web::Role;
use crate::store::Store;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

type F = HashMap<String, String>;

fn field<'a>(f: &'a F, name: &str) -> Result<&'a str, WebError> {
    f.get(name)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| WebError::Bad(format!("missing field `{name}`")))
}

fn opt<'a>(f: &'a F, name: &str) -> &'a str {
    f.get(name).map_or("", |s| s.trim())
}

fn back_to_call(id: &str, anchor: &str) -> Response {
    Redirect::to(&format!("/calls/{}{anchor}", url_segment(id))).into_response()
}

/// The form's version of the call (optimistic concurrency).
fn version(f: &F) -> Result<i64, WebError> {
    field(f, "version")?
        .parse()
        .map_err(|_| WebError::Bad("bad `version`".into()))
}

/// Refuse a change while another inspector holds the call; otherwise (re)claim it.
fn hold(c: &mut Ctx, id: &str) -> Result<(), WebError> {
    let me = c.user.name.clone();
    if let Some(other) = c.store.claim(id, &me, c.now, c.app.lease_secs)? {
        return Err(WebError::Conflict(format!(
            "通话 {id} 正由 {other} 复核中，请稍后再试。"
        )));
    }
    Ok(())
}

/// The JSON an audit entry keeps of one scorecard line (status, verdict, final score).
fn item_state(s: &Store, id: &str, item: &str) -> String {
    match s.final_result(id) {
        Ok(r) => {
            let it = r.items.iter().find(|i| i.item_id == item);
            serde_json::json!({
                "item": item,
                "status": it.map(|i| i.status.clone()),
                "verdict": it.and_then(|i| i.verdict),
                "manual_points": it.and_then(|i| i.manual_points),
                "final_score": r.final_score,
            })
            .to_string()
        }
        Err(_) => "{}".into(),
    }
}

pub fn claim(c: &mut Ctx, id: &str, _f: &F) -> Result<Response, WebError> {
    c.require(c.user.role.reviews())?;
    c.can_see_call(id)?;
    hold(c, id)?;
    Ok(back_to_call(id, ""))
}

pub fn verdict(c: &mut Ctx, id: &str, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role.reviews())?;
    c.can_see_call(id)?;
    let item = field(f, "item")?.to_string();
    let v = match field(f, "verdict")? {
        "confirmed" => Verdict::Confirmed,
        "rejected" => Verdict::Rejected,
        other => return Err(WebError::Bad(format!("unknown verdict `{other}`"))),
    };
    let comment = opt(f, "comment").to_string();
    let expected = version(f)?;
    hold(c, id)?;
    let me = c.user.name.clone();
    c.store
        .reviewed_change(Some(id), Some(expected), &me, "verdict", |s| {
            let before = item_state(s, id, &item);
            s.record_verdict(id, &item, v, &comment, &me)?;
            Ok(((), before, item_state(s, id, &item)))
        })?;
    Ok(back_to_call(id, &format!("#item-{}", url_segment(&item))))
}

pub fn manual(c: &mut Ctx, id: &str, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role.reviews())?;
    c.can_see_call(id)?;
    let item = field(f, "item")?.to_string();
    let points: f64 = field(f, "points")?
        .parse()
        .map_err(|_| WebError::Bad("points must be a number".into()))?;
    let comment = opt(f, "comment").to_string();
    let expected = version(f)?;
    hold(c, id)?;
    let me = c.user.name.clone();
    c.store
        .reviewed_change(Some(id), Some(expected), &me, "manual_score", |s| {
            let before = item_state(s, id, &item);
            s.record_manual_score(id, &item, points, &comment, &me)?;
            Ok(((), before, item_state(s, id, &item)))
        })?;
    Ok(back_to_call(id, &format!("#item-{}", url_segment(&item))))
}

pub fn note(c: &mut Ctx, id: &str, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role.reviews())?;
    c.can_see_call(id)?;
    let text = field(f, "note")?.to_string();
    let me = c.user.name.clone();
    c.store
        .reviewed_change(Some(id), None, &me, "coaching_note", |s| {
            s.add_note(id, &me, &text)?;
            Ok((
                (),
                String::new(),
                serde_json::json!({ "note": text }).to_string(),
            ))
        })?;
    Ok(back_to_call(id, "#notes"))
}

pub fn assign(c: &mut Ctx, id: &str, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Lead)?;
    c.can_see_call(id)?;
    let to = field(f, "inspector")?.to_string();
    let me = c.user.name.clone();
    c.store
        .reviewed_change(Some(id), None, &me, "assign", |s| {
            let before = s.assign(id, &to, &me)?;
            Ok((
                (),
                serde_json::json!({ "inspector": before }).to_string(),
                serde_json::json!({ "inspector": to }).to_string(),
            ))
        })?;
    Ok(back_to_call(id, ""))
}

/// The lead hands out the riskiest unassigned calls of the current filter, round-robin, to
/// the chosen inspectors (a day's queue in one step). Each assignment is audited.
pub fn assign_batch(c: &mut Ctx, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Lead)?;
    let count: usize = field(f, "count")?
        .parse()
        .map_err(|_| WebError::Bad("count must be a number".into()))?;
    let to: Vec<String> = opt(f, "inspectors")
        .split([',', '，', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if to.is_empty() {
        return Err(WebError::Bad("choose at least one inspector".into()));
    }
    let mut filter = super::pages::filter_of(f);
    filter.unassigned = true;
    let (rows, _) = c.store.queue_page(&filter, c.now, 0, count.min(1000))?;
    let me = c.user.name.clone();
    for (i, r) in rows.iter().enumerate() {
        let who = &to[i % to.len()];
        c.store
            .reviewed_change(Some(&r.call_id), None, &me, "assign", |s| {
                s.assign(&r.call_id, who, &me)?;
                Ok((
                    (),
                    serde_json::json!({ "inspector": null }).to_string(),
                    serde_json::json!({ "inspector": who }).to_string(),
                ))
            })?;
    }
    Ok(Redirect::to("/queue").into_response())
}

/// The date an appeal window counts from: the call's date, else when it was inspected.
fn call_day(s: &Store, id: &str) -> Result<Option<crate::time::Date>, WebError> {
    let (date, inspected): (Option<String>, String) = s
        .db()
        .one(
            "SELECT call_date, inspected_at FROM calls WHERE call_id = ?1",
            crate::store::db::args![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| WebError::Internal(e.into()))?;
    let d = date.unwrap_or_else(|| inspected.chars().take(10).collect());
    Ok(crate::time::Date::parse(&d))
}

pub fn appeal(c: &mut Ctx, id: &str, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Agent)?;
    c.can_see_call(id)?;
    let item = Some(opt(f, "item"))
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let reason = field(f, "reason")?.to_string();
    let today = crate::time::Date::parse(&crate::time::now_rfc3339()[..10]);
    if let (Some(day), Some(today)) = (call_day(&c.store, id)?, today) {
        if today.days() - day.days() > c.app.appeal_days {
            return Err(WebError::Bad(format!(
                "申诉期已过：通话日期 {day}，申诉期 {} 天。",
                c.app.appeal_days
            )));
        }
    }
    let me = c.user.name.clone();
    let agent = c.user.agent_id.clone();
    c.store
        .reviewed_change(Some(id), None, &me, "appeal", |s| {
            let n = s.file_appeal(id, item.as_deref(), agent.as_deref(), &reason)?;
            Ok((
                n,
                String::new(),
                serde_json::json!({ "appeal": n, "item": item, "reason": reason }).to_string(),
            ))
        })?;
    Ok(back_to_call(id, "#appeals"))
}

pub fn decide(c: &mut Ctx, appeal: &str, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Lead)?;
    let n: i64 = appeal.parse().map_err(|_| WebError::NotFound)?;
    let decision = match field(f, "decision")? {
        "accept" => Decision::Accept,
        "reject" => Decision::Reject,
        other => return Err(WebError::Bad(format!("unknown decision `{other}`"))),
    };
    let score = match opt(f, "score") {
        "" => None,
        s => Some(
            s.parse::<f64>()
                .map_err(|_| WebError::Bad("score must be a number".into()))?,
        ),
    };
    let comment = opt(f, "comment").to_string();
    let call_id: String = c
        .store
        .db()
        .one(
            "SELECT call_id FROM appeals WHERE id = ?1",
            crate::store::db::args![n],
            |r| r.get(0),
        )
        .map_err(|_| WebError::NotFound)?;
    let me = c.user.name.clone();
    c.store
        .reviewed_change(Some(&call_id), None, &me, "decide_appeal", |s| {
            let before = s.final_result(&call_id).map(|r| r.final_score).ok();
            s.decide_appeal(n, decision, score, &me, &comment)?;
            let after = s.final_result(&call_id).map(|r| r.final_score).ok();
            Ok((
                (),
                serde_json::json!({ "appeal": n, "final_score": before }).to_string(),
                serde_json::json!({ "appeal": n, "decision": decision, "final_score": after })
                    .to_string(),
            ))
        })?;
    Ok(Redirect::to("/appeals").into_response())
}

pub fn add_user(c: &mut Ctx, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Admin)?;
    let name = field(f, "name")?.to_string();
    let role =
        Role::parse(field(f, "role")?).ok_or_else(|| WebError::Bad("unknown role".into()))?;
    let agent_id = Some(opt(f, "agent_id"))
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let hash = auth::hash_password(f.get("password").map_or("", |s| s.as_str()))
        .map_err(|e| WebError::Bad(e.to_string()))?;
    let me = c.user.name.clone();
    c.store.reviewed_change(None, None, &me, "user_add", |s| {
        s.add_user(&name, role, agent_id.as_deref(), &hash)?;
        Ok((
            (),
            String::new(),
            serde_json::json!({ "name": name, "role": role, "agent_id": agent_id }).to_string(),
        ))
    })?;
    Ok(Redirect::to("/users").into_response())
}

pub fn disable_user(c: &mut Ctx, name: &str, f: &F) -> Result<Response, WebError> {
    c.require(c.user.role == Role::Admin)?;
    let disabled = opt(f, "disabled") != "0";
    let me = c.user.name.clone();
    c.store
        .reviewed_change(None, None, &me, "user_disable", |s| {
            s.set_user_disabled(name, disabled)?;
            Ok((
                (),
                String::new(),
                serde_json::json!({ "name": name, "disabled": disabled }).to_string(),
            ))
        })?;
    Ok(Redirect::to("/users").into_response())
}

pub fn logout(c: &mut Ctx, _f: &F) -> Result<Response, WebError> {
    // The cookie is HttpOnly; the store forgets the session whatever the browser does.
    let t = c.token_hash.clone();
    c.store.close_session(&t)?;
    c.store.audit(&c.user.name, "logout", None, None, None)?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        c.app.cookie(COOKIE, "", Some(0)).parse().expect("ascii"),
    );
    Ok(resp)
}

/// GET /login: the form, with a one-off token in a cookie and in the form (double submit:
/// another site cannot log a browser into an account of its choosing).
pub async fn login_page(State(app): State<Shared>) -> Response {
    login_form(&app, "", StatusCode::OK)
}

fn login_form(app: &super::App, error: &str, status: StatusCode) -> Response {
    let token = match auth::random_token() {
        Ok(t) => t,
        Err(e) => return WebError::Internal(e).into_response_with(app),
    };
    let body = match app.render(
        "login.html",
        minijinja::context! { csrf => &token, error => error },
    ) {
        Ok(b) => b,
        Err(e) => return e.into_response_with(app),
    };
    let mut resp = super::html(status, body);
    resp.headers_mut().insert(
        header::SET_COOKIE,
        app.cookie(PRE_COOKIE, &token, Some(600))
            .parse()
            .expect("ascii"),
    );
    resp
}

/// POST /login.
pub async fn login(State(app): State<Shared>, headers: HeaderMap, Form(f): Form<F>) -> Response {
    let pre = cookie_value(&headers, PRE_COOKIE);
    if !pre
        .as_deref()
        .zip(f.get("_csrf"))
        .is_some_and(|(a, b)| auth::same(a, b))
    {
        return WebError::Forbidden.into_response_with(&app);
    }
    let a = app.clone();
    let r = tokio::task::spawn_blocking(move || check_login(&a, &f)).await;
    match r {
        Ok(Ok(Some((token, home)))) => {
            let mut resp = Redirect::to(home).into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                app.cookie(COOKIE, &token, None).parse().expect("ascii"),
            );
            h.append(
                header::SET_COOKIE,
                app.cookie(PRE_COOKIE, "", Some(0)).parse().expect("ascii"),
            );
            resp
        }
        Ok(Ok(None)) => login_form(
            &app,
            "用户名或密码错误，或账号已停用/锁定。",
            StatusCode::UNAUTHORIZED,
        ),
        Ok(Err(e)) => e.into_response_with(&app),
        Err(e) => WebError::Internal(anyhow::anyhow!("{e}")).into_response_with(&app),
    }
}

/// Check a name and password; on success open a session and return its token and the
/// user's home page. Failures count towards the lock-out; the answer never says which part
/// was wrong.
fn check_login(app: &super::App, f: &F) -> Result<Option<(String, &'static str)>, WebError> {
    let mut store = Store::open(&app.db)?;
    let name = opt(f, "username");
    let pw = f.get("password").map_or("", |s| s.as_str());
    let now = now();
    let Some(user) = store.user(name)? else {
        auth::verify_password(pw, auth::dummy_hash());
        return Ok(None);
    };
    let hash = store.password_hash(user.id)?;
    let ok = auth::verify_password(pw, &hash);
    if user.disabled || user.locked_until > now {
        return Ok(None);
    }
    if !ok {
        if store.login_failed(user.id, now, app.max_failures, app.lock_secs)? {
            store.audit(&user.name, "locked_out", None, None, None)?;
        }
        return Ok(None);
    }
    let token = auth::random_token()?;
    let csrf = auth::random_token()?;
    store.prune_sessions(now, app.idle_secs)?;
    store.open_session(user.id, &auth::token_hash(&token), &csrf, now)?;
    store.audit(&user.name, "login", None, None, None)?;
    let home = match user.role {
        Role::Inspector | Role::Lead => "/queue",
        Role::Agent => "/mine",
        Role::Admin => "/users",
    };
    Ok(Some((token, home)))
}
