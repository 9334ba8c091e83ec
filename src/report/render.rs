//! Every page comes from a template with auto-escaping: the static export (`inspect`,
//! `import`, `report`) and `zhijian serve` render through the same [`environment`], so what
//! both show — a call's timeline, transcript, evidence and scorecard, the review-queue rows,
//! the agent ranking — is one macro each (`templates/parts/`), whichever writes it. The
//! templates, the style sheet and the script are compiled into the binary.
//!
//! This sits in `report`, below `serve`: the server adds its own pages (forms, login) to the
//! environment it gets here; the report never needs the server. Transcripts, names and file
//! names are customer data and may contain anything, `<script>` included: the engine escapes
//! every interpolation, and nothing is marked safe but the page's own fixed strings.

use super::html;
use minijinja::{AutoEscape, Environment, Error, Output, State, Value};
use serde::Serialize;
use std::io;
use std::path::Path;
use std::sync::OnceLock;

/// The style sheet and script of every page: served at `/static/`, and written next to the
/// exported pages (`<out>/static/`) so that those work from disk with no inline code.
pub const CSS: &str = include_str!("static/app.css");
pub const JS: &str = include_str!("static/app.js");

const TEMPLATES: [(&str, &str); 7] = [
    ("base.html", include_str!("templates/base.html")),
    ("parts/call.html", include_str!("templates/parts/call.html")),
    (
        "parts/queue.html",
        include_str!("templates/parts/queue.html"),
    ),
    (
        "parts/agents.html",
        include_str!("templates/parts/agents.html"),
    ),
    (
        "export/call.html",
        include_str!("templates/export/call.html"),
    ),
    (
        "export/index.html",
        include_str!("templates/export/index.html"),
    ),
    (
        "export/agents.html",
        include_str!("templates/export/agents.html"),
    ),
];

/// A new environment with the shared templates and filters (the server adds its pages).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Every template is markup, the SVG timeline included: escape in all of them.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_formatter(format_value);
    for (name, src) in TEMPLATES {
        env.add_template(name, src)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env.add_filter("clock", html::clock);
    env.add_filter("num", |v: f64, dp: Option<usize>| {
        html::num(v, dp.unwrap_or(1))
    });
    env.add_filter("num1", |v: f64| html::num(v, 1));
    env.add_filter("pct", html::pct);
    env.add_filter("duration_zh", html::duration_zh);
    env.add_filter("url_segment", |s: String| html::url_segment(&s));
    env.add_filter("role_zh", |r: String| {
        match r.as_str() {
            "agent" => "座席",
            "customer" => "客户",
            _ => "混合",
        }
        .to_string()
    });
    env
}

/// The engine's HTML escaping, plus: control characters other than tab and newline have no
/// business in a page (a transcript may carry them), so they become U+FFFD.
fn format_value(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    let stray = |c: char| c.is_control() && c != '\n' && c != '\t';
    match value.as_str() {
        Some(s) if !value.is_safe() && s.chars().any(stray) => {
            let clean: String = s
                .chars()
                .map(|c| if stray(c) { '\u{fffd}' } else { c })
                .collect();
            minijinja::escape_formatter(out, state, &Value::from(clean))
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn shared() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(environment)
}

/// Render an exported page. `root` leads from the page's folder to the output folder (`""`
/// or `"../"`), where `static/` is.
pub fn export_page<S: Serialize>(name: &str, root: &'static str, ctx: S) -> io::Result<String> {
    let ctx = minijinja::context! {
        static => true,
        root => Value::from_safe_string(root.to_string()),
        ..Value::from_serialize(ctx)
    };
    shared()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| io::Error::other(format!("rendering {name}: {e:#}")))
}

/// Call one macro of a shared template (a page fragment), e.g. `parts/call.html`'s
/// `transcript` with a call's view.
pub fn fragment(template: &str, name: &str, args: &[Value]) -> Result<String, Error> {
    shared()
        .get_template(template)?
        .render_captured(())?
        .state()
        .call_macro(name, args)
}

/// Write `static/app.css` and `static/app.js` into the output folder `out`, where the exported
/// pages link them. `refresh`: rewrite them when they differ (a newer binary); otherwise only
/// write missing ones (cheap enough to do for every call page).
pub fn write_assets(out: &Path, refresh: bool) -> io::Result<()> {
    let dir = out.join("static");
    for (name, body) in [("app.css", CSS), ("app.js", JS)] {
        let path = dir.join(name);
        let stale = if refresh {
            std::fs::read(&path).ok().as_deref() != Some(body.as_bytes())
        } else {
            !path.is_file()
        };
        if stale {
            std::fs::create_dir_all(&dir)?;
            crate::atomic::write_atomic(&path, body.as_bytes())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        let env = environment();
        let out = env
            .render_str(
                "<p title=\"{{ s }}\">{{ s }}</p>",
                minijinja::context! { s => "<script>alert(\"x&y\")</script>'\u{0}您好" },
            )
            .unwrap();
        assert!(!out.contains("<script>"), "{out}");
        assert!(
            out.contains("&lt;script&gt;alert(&quot;x&amp;y&quot;)"),
            "{out}"
        );
        assert!(out.contains("&#x27;\u{fffd}您好"), "{out}");
    }

    #[test]
    fn every_template_compiles() {
        let env = environment();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }
}
