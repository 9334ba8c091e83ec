//! `zhijian serve`: the inspectors' web workbench over the store.
//!
//! One binary, offline: pages come from templates compiled in (auto-escaping) — the same
//! environment the static export renders with ([`crate::report::render`]), so the call page's
//! timeline, transcript and evidence, the queue rows and the agent table are the export's own
//! macros — CSS and script are served from the binary, nothing is fetched from outside. Every request opens the SQLite
//! store (WAL, so `inspect` can write meanwhile) on a blocking thread; the session cookie
//! decides who the user is and the role decides what they may see and do. Every change a
//! human makes goes through [`Store::reviewed_change`]: one transaction that checks the call's
//! review version, writes, and appends to the audit log.

mod actions;
mod audio;
pub mod auth;
pub mod cli;
mod index;
mod pages;
mod tls;

use crate::store::web::{Role, User};
use crate::store::{Store, StoreError};
use anyhow::{Context, Result};
use axum::extract::{Form, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use minijinja::Environment;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The database (the one `inspect --db` or `import` writes).
    #[arg(long, default_value = "zhijian.db", value_name = "FILE")]
    pub db: PathBuf,
    /// Address to listen on. Loopback by default: expose it on purpose (0.0.0.0:8080), best
    /// behind the site's reverse proxy or with --cert/--key.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Mark cookies Secure (set this when a TLS reverse proxy sits in front; implied by
    /// --cert).
    #[arg(long)]
    pub secure_cookies: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --key.
    #[arg(long, requires = "key", value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, requires = "cert", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Minutes of inactivity after which a session ends.
    #[arg(long, default_value_t = 30)]
    pub idle_minutes: i64,
    /// Days after the call during which its agent may appeal.
    #[arg(long, default_value_t = 7)]
    pub appeal_days: i64,
    /// Minutes an inspector's claim on a call lasts (renewed while they work on it).
    #[arg(long, default_value_t = 10)]
    pub lease_minutes: i64,
    /// Failed logins in a row before the account is locked.
    #[arg(long, default_value_t = 5)]
    pub max_failures: i64,
    /// Minutes a locked account stays locked.
    #[arg(long, default_value_t = 15)]
    pub lock_minutes: i64,
}

/// What every request shares.
pub struct App {
    pub db: PathBuf,
    pub tpl: Environment<'static>,
    pub secure: bool,
    pub idle_secs: i64,
    pub appeal_days: i64,
    pub lease_secs: i64,
    pub max_failures: i64,
    pub lock_secs: i64,
    pub report: crate::report::ReportOptions,
    /// Open connections kept between requests: their page caches stay warm, which is most of
    /// what a queue page over 100k calls costs.
    pool: std::sync::Mutex<Vec<Store>>,
}

/// Connections kept open, and the page cache of each (KiB, SQLite's negative form).
const POOL: usize = 8;
const CACHE_KIB: i64 = 32 * 1024;

type Shared = Arc<App>;

pub const COOKIE: &str = "zj_session";
const PRE_COOKIE: &str = "zj_login";

/// The strict policy: scripts and styles only from this server, no inline script.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The shared environment (layout, call-page pieces, queue rows, agent table: what the static
/// export renders too) plus the server's own pages.
fn templates() -> Environment<'static> {
    let mut env = crate::report::render::environment();
    for (name, src) in [
        ("login.html", include_str!("templates/login.html")),
        ("queue.html", include_str!("templates/queue.html")),
        ("call.html", include_str!("templates/call.html")),
        ("appeals.html", include_str!("templates/appeals.html")),
        ("audit.html", include_str!("templates/audit.html")),
        ("agents.html", include_str!("templates/agents.html")),
        ("precision.html", include_str!("templates/precision.html")),
        ("users.html", include_str!("templates/users.html")),
        ("error.html", include_str!("templates/error.html")),
    ] {
        env.add_template(name, src)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env.add_filter("appeal_zh", |s: String| match s.as_str() {
        "open" => "待处理".to_string(),
        "accepted" => "申诉成立".to_string(),
        "rejected" => "申诉驳回".to_string(),
        _ => s,
    });
    env
}

impl App {
    pub fn new(a: &ServeArgs) -> App {
        App {
            db: a.db.clone(),
            tpl: templates(),
            secure: a.secure_cookies || a.cert.is_some(),
            idle_secs: a.idle_minutes.max(1) * 60,
            appeal_days: a.appeal_days,
            lease_secs: a.lease_minutes.max(1) * 60,
            max_failures: a.max_failures.max(1),
            lock_secs: a.lock_minutes.max(1) * 60,
            report: Default::default(),
            pool: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn store(&self) -> Result<Store, WebError> {
        if let Some(s) = self.pool.lock().ok().and_then(|mut p| p.pop()) {
            return Ok(s);
        }
        let s = Store::open(&self.db)?;
        if let Some(c) = s.db().as_sqlite() {
            c.pragma_update(None, "cache_size", -CACHE_KIB)
                .map_err(|e| WebError::Internal(e.into()))?;
        }
        Ok(s)
    }

    fn give_back(&self, s: Store) {
        // A connection left inside a transaction (a bug elsewhere) is not reused.
        if s.db().in_transaction() {
            return;
        }
        if let Ok(mut p) = self.pool.lock() {
            if p.len() < POOL {
                p.push(s);
            }
        }
    }

    fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, WebError> {
        self.tpl
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| WebError::Internal(anyhow::anyhow!("rendering {name}: {e:#}")))
    }

    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if let Some(s) = max_age {
            c.push_str(&format!("; Max-Age={s}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        c
    }
}

/// Seconds since 1970.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A request's view: the app, the store, the user behind the session and its CSRF token.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub store: Store,
    pub user: User,
    pub csrf: String,
    pub token_hash: String,
    pub now: i64,
}

impl Ctx<'_> {
    fn page(&self, name: &str, ctx: minijinja::Value) -> Result<Response, WebError> {
        let me = minijinja::context! {
            name => &self.user.name,
            role => self.user.role.as_str(),
            role_zh => self.user.role.zh(),
            reviews => self.user.role.reviews(),
            lead => self.user.role == Role::Lead,
            admin => self.user.role == Role::Admin,
            agent => self.user.role == Role::Agent,
        };
        let body = self.app.render(
            name,
            minijinja::context! { me => me, csrf => &self.csrf, ..ctx },
        )?;
        Ok(html(StatusCode::OK, body))
    }

    fn require(&self, ok: bool) -> Result<(), WebError> {
        if ok {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// May this user see this call? Agents only their own; others not found.
    fn can_see_call(&self, call_id: &str) -> Result<(), WebError> {
        let owner = self.store.call_agent(call_id)?.ok_or(WebError::NotFound)?;
        match self.user.role {
            Role::Inspector | Role::Lead => Ok(()),
            Role::Agent if owner.is_some() && owner == self.user.agent_id => Ok(()),
            // Another agent's call does not exist as far as this agent can tell.
            _ => Err(WebError::NotFound),
        }
    }
}

#[derive(Debug)]
pub enum WebError {
    NotFound,
    Forbidden,
    Bad(String),
    Conflict(String),
    Internal(anyhow::Error),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoCall(_) | StoreError::NoAppeal(_) => WebError::NotFound,
            StoreError::NoItem { .. } | StoreError::Invalid(_) | StoreError::AlreadyDecided(..) => {
                WebError::Bad(e.to_string())
            }
            StoreError::Conflict { .. } => WebError::Conflict(e.to_string()),
            e => WebError::Internal(e.into()),
        }
    }
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        WebError::Internal(e)
    }
}

impl WebError {
    fn into_response_with(self, app: &App) -> Response {
        let (status, msg) = match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, "找不到该页面或通话。".to_string()),
            WebError::Forbidden => (StatusCode::FORBIDDEN, "无权执行此操作。".to_string()),
            WebError::Bad(m) => (StatusCode::BAD_REQUEST, m),
            WebError::Conflict(m) => (StatusCode::CONFLICT, m),
            WebError::Internal(e) => {
                log::error!("request failed: {e:#}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "服务器内部错误（详见服务器日志）。".to_string(),
                )
            }
        };
        let body = app
            .render(
                "error.html",
                minijinja::context! { status => status.as_u16(), message => msg },
            )
            .unwrap_or_else(|_| status.to_string());
        html(status, body)
    }
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Run `f` on a blocking thread with the store open and the session's user; no session
/// sends a page request to the login page. For POSTs, the form's `_csrf` must match.
async fn with_user<F>(
    app: Shared,
    headers: HeaderMap,
    form: Option<HashMap<String, String>>,
    f: F,
) -> Response
where
    F: FnOnce(&mut Ctx, HashMap<String, String>) -> Result<Response, WebError> + Send + 'static,
{
    let token = cookie_value(&headers, COOKIE);
    let is_post = form.is_some();
    let a = app.clone();
    let r = tokio::task::spawn_blocking(move || -> Result<Response, WebError> {
        let mut store = a.store()?;
        let now = now();
        let token_hash = token.as_deref().map(auth::token_hash).unwrap_or_default();
        let session = match &token {
            Some(_) => store.session(&token_hash, now, a.idle_secs)?,
            None => None,
        };
        let Some((user, csrf)) = session else {
            a.give_back(store);
            return Ok(if is_post {
                WebError::Forbidden.into_response_with(&a)
            } else {
                Redirect::to("/login").into_response()
            });
        };
        let form = form.unwrap_or_default();
        if is_post && !form.get("_csrf").is_some_and(|t| auth::same(t, &csrf)) {
            a.give_back(store);
            return Err(WebError::Forbidden);
        }
        let mut ctx = Ctx {
            app: &a,
            store,
            user,
            csrf,
            token_hash,
            now,
        };
        let out = f(&mut ctx, form);
        a.give_back(ctx.store);
        out
    })
    .await;
    match r {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => e.into_response_with(&app),
        Err(e) => {
            WebError::Internal(anyhow::anyhow!("request thread: {e}")).into_response_with(&app)
        }
    }
}

/// Security headers on every response.
async fn harden(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    resp
}

type FormMap = Form<HashMap<String, String>>;
type Q = Query<HashMap<String, String>>;

pub fn router(app: Shared) -> Router {
    macro_rules! page {
        ($f:path) => {
            |State(app): State<Shared>, headers: HeaderMap, Query(q): Q| async move {
                with_user(app, headers, None, move |c, _| $f(c, &q)).await
            }
        };
    }
    macro_rules! call_page {
        ($f:path) => {
            |State(app): State<Shared>,
             headers: HeaderMap,
             UrlPath(id): UrlPath<String>,
             Query(q): Q| async move {
                with_user(app, headers, None, move |c, _| $f(c, &id, &q)).await
            }
        };
    }
    macro_rules! act {
        ($f:path) => {
            |State(app): State<Shared>,
             headers: HeaderMap,
             UrlPath(id): UrlPath<String>,
             Form(form): FormMap| async move {
                with_user(app, headers, Some(form), move |c, f| $f(c, &id, &f)).await
            }
        };
    }
    macro_rules! act0 {
        ($f:path) => {
            |State(app): State<Shared>, headers: HeaderMap, Form(form): FormMap| async move {
                with_user(app, headers, Some(form), move |c, f| $f(c, &f)).await
            }
        };
    }
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/login", get(actions::login_page).post(actions::login))
        .route("/logout", post(act0!(actions::logout)))
        .route(
            "/static/app.css",
            get(|| async { asset("text/css", crate::report::render::CSS) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript", crate::report::render::JS) }),
        )
        .route("/queue", get(page!(pages::queue)))
        .route("/mine", get(page!(pages::mine)))
        .route("/calls/{id}", get(call_page!(pages::call)))
        .route("/calls/{id}/audio", get(audio::stream))
        .route("/calls/{id}/claim", post(act!(actions::claim)))
        .route("/calls/{id}/verdict", post(act!(actions::verdict)))
        .route("/calls/{id}/manual", post(act!(actions::manual)))
        .route("/calls/{id}/note", post(act!(actions::note)))
        .route("/calls/{id}/assign", post(act!(actions::assign)))
        .route("/calls/{id}/appeal", post(act!(actions::appeal)))
        .route("/assign", post(act0!(actions::assign_batch)))
        .route("/appeals", get(page!(pages::appeals)))
        .route("/appeals/{id}/decide", post(act!(actions::decide)))
        .route("/audit", get(page!(pages::audit)))
        .route("/agents", get(page!(pages::agents)))
        .route("/precision", get(page!(pages::precision)))
        .route("/export.csv", get(page!(pages::export_csv)))
        .route(
            "/users",
            get(page!(pages::users)).post(act0!(actions::add_user)),
        )
        .route("/users/{name}/disable", post(act!(actions::disable_user)))
        .layer(axum::middleware::map_response(harden))
        .with_state(app)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Ctrl-C or SIGTERM (systemd's stop): finish the requests in flight, then exit.
async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}

/// `zhijian serve`.
pub fn serve_cmd(a: &ServeArgs) -> Result<std::process::ExitCode> {
    // Open once up front: a wrong path or a too-new schema is said before listening.
    let store =
        Store::open(&a.db).with_context(|| format!("opening {}", crate::store::shown(&a.db)))?;
    let users = store.users()?.len();
    drop(store);
    let app = Arc::new(App::new(a));
    index::spawn_indexer(a.db.clone(), app.report.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the server's runtime")?;
    let tls = match (&a.cert, &a.key) {
        (Some(c), Some(k)) => Some(tls::acceptor(c, k)?),
        _ => None,
    };
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("listening on {}", a.listen))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "zhijian serve: {}://{addr}/ over {} ({users} users{})",
            if tls.is_some() { "https" } else { "http" },
            crate::store::shown(&a.db),
            if users == 0 {
                "; add one with `zhijian users add`"
            } else {
                ""
            }
        );
        let routes = router(app);
        match tls {
            Some(acc) => axum::serve(tls::TlsListener::new(listener, acc)?, routes)
                .with_graceful_shutdown(shutdown())
                .await
                .context("serving"),
            None => axum::serve(listener, routes)
                .with_graceful_shutdown(shutdown())
                .await
                .context("serving"),
        }
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
