//! Small HTML helpers shared by every page: escaping, number and time formatting, relative
//! links that survive Chinese and odd file names, and the inline style sheet.
//!
//! Pages are built by pushing strings, not with a template engine: the pages are few, and
//! having every interpolation go through [`esc`] in plain Rust makes escaping easy to audit.
//! Transcripts are customer data and may contain anything, `<script>` included.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline have no business in a page.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `m:ss` below an hour, `h:mm:ss` above: how inspectors read positions in a recording.
pub fn clock(secs: f64) -> String {
    let s = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
    let t = s.floor() as u64;
    let (h, m, sec) = (t / 3600, (t % 3600) / 60, t % 60);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

/// A duration for people: `45 秒`, `3 分 05 秒`, `1 小时 02 分`.
pub fn duration_zh(secs: f64) -> String {
    let t = if secs.is_finite() {
        secs.max(0.0).round() as u64
    } else {
        0
    };
    if t < 60 {
        format!("{t} 秒")
    } else if t < 3600 {
        format!("{} 分 {:02} 秒", t / 60, t % 60)
    } else {
        format!("{} 小时 {:02} 分", t / 3600, (t % 3600) / 60)
    }
}

// Number formatting sits below the store and the report, which both write numbers.
pub use crate::figures::{num, pct};

/// `2026-11-02T10:42:18+08:00` → `2026-11-02 10:42` (as written: the site's local time).
pub fn short_time(t: Option<&str>) -> String {
    match t {
        None => "—".into(),
        Some(t) if super::time::Stamp::parse(t).is_some() && t.len() >= 16 => {
            t.chars().take(16).collect::<String>().replacen('T', " ", 1)
        }
        Some(t) => t.to_string(),
    }
}

/// Percent-encode one path segment for a URL (keeps unreserved ASCII; encodes the rest as
/// UTF-8 bytes, so Chinese file names and `#`/`?` work in `src` and `href`).
pub fn url_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A relative path as a URL: each component percent-encoded, joined with `/`.
pub fn url_path(p: &Path) -> String {
    p.components()
        .map(|c| match c {
            Component::ParentDir => "..".to_string(),
            Component::CurDir => ".".to_string(),
            c => url_segment(&c.as_os_str().to_string_lossy()),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Make `p` absolute (relative to the current directory) and resolve symbolic links when it
/// exists; otherwise resolve `.` and `..` by hand.
pub fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// The path of `target` relative to the folder `from` (both absolute).
pub fn relative(target: &Path, from: &Path) -> PathBuf {
    let t: Vec<Component> = target.components().collect();
    let f: Vec<Component> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    out
}

/// Start a page: doctype, UTF-8, title, inline style. No external resources at all.
pub fn page_start(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; media-src * file: data: blob:; \
         connect-src 'none'\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        esc(title),
        CSS
    );
}

pub fn page_end(out: &mut String, script: Option<&str>) {
    if let Some(js) = script {
        out.push_str("<script>");
        out.push_str(js);
        out.push_str("</script>\n");
    }
    out.push_str("</body>\n</html>\n");
}

/// One style sheet for all pages: readable Chinese text, clear hierarchy, and a print layout
/// (the monthly agent report is printed).
pub const CSS: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--red:#cf222e;--redbg:#ffebe9;
--orange:#bc4c00;--orangebg:#fff1e5;--yellow:#9a6700;--yellowbg:#fff8c5;--blue:#0969da;--bluebg:#ddf4ff;
--green:#1a7f37;--greenbg:#dafbe1;--agent:#0969da;--customer:#8250df;}
*{box-sizing:border-box}
body{margin:0;padding:20px 28px 60px;font:14px/1.6 "Noto Sans CJK SC","Source Han Sans SC","PingFang SC",
"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;color:var(--fg);background:#fff;max-width:1280px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}
a{color:var(--blue);text-decoration:none}a:hover{text-decoration:underline}
.muted{color:var(--muted)}.small{font-size:12px}.nowrap{white-space:nowrap}.num{text-align:right;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600;white-space:nowrap}
td.cat{white-space:nowrap}
tr.sub td{background:#fbfcfd;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:120px;background:#fff}
.card .v{font-size:22px;font-weight:700}.card .k{font-size:12px;color:var(--muted)}
.card.bad{border-color:var(--red);background:var(--redbg)}.card.warn{border-color:var(--orange);background:var(--orangebg)}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:12px;line-height:20px;white-space:nowrap;border:1px solid transparent}
.b-fatal{background:var(--red);color:#fff}.b-severe{background:var(--redbg);color:var(--red);border-color:#ffcecb}
.b-moderate{background:var(--orangebg);color:var(--orange);border-color:#ffd8b5}.b-minor{background:var(--yellowbg);color:var(--yellow)}
.b-info{background:var(--bluebg);color:var(--blue)}.b-ok{background:var(--greenbg);color:var(--green)}.b-grey{background:var(--bg);color:var(--muted);border-color:var(--line)}
.banner{border-radius:8px;padding:10px 14px;margin:10px 0;font-weight:600}
.banner.fatal{background:var(--red);color:#fff}.banner.failed{background:var(--redbg);color:var(--red);border:1px solid #ffcecb}
.banner.note{background:var(--yellowbg);color:var(--yellow);font-weight:400}
.head{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-end;justify-content:space-between}
.score{font-size:40px;font-weight:800;line-height:1}.score small{font-size:16px;color:var(--muted);font-weight:400}
.grade{font-size:16px;font-weight:700;margin-left:6px}
dl.meta{display:grid;grid-template-columns:auto 1fr auto 1fr auto 1fr;gap:2px 12px;margin:8px 0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
.player{position:sticky;top:0;z-index:5;background:#fff;padding:8px 0;border-bottom:1px solid var(--line)}
.player audio{width:100%}
.timeline svg{width:100%;height:auto;cursor:pointer;display:block}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
.utt{display:grid;grid-template-columns:64px 44px 1fr auto;gap:8px;padding:5px 8px;border-bottom:1px solid #eef1f4;cursor:pointer}
.utt:hover{background:var(--bg)}.utt.playing{background:var(--bluebg)}
.utt.flag{border-left:3px solid var(--orange);background:#fffaf5}.utt.flag.sev{border-left-color:var(--red);background:#fff6f6}
.utt .t{color:var(--muted);font-variant-numeric:tabular-nums}
.utt .r{font-weight:700}.r-agent{color:var(--agent)}.r-customer{color:var(--customer)}.r-mixed{color:var(--muted)}
mark{background:#ffe08a;padding:0 1px;border-radius:2px}mark.sev{background:#ffc1bc}
.chips{display:flex;gap:4px;flex-wrap:wrap;justify-content:flex-end}
.chip{font-size:11px;padding:0 6px;border-radius:8px;background:var(--bg);color:var(--muted);white-space:nowrap}
.chip.hot{background:var(--redbg);color:var(--red)}
.ev{display:inline-block;margin:2px 6px 2px 0;padding:0 6px;border:1px solid var(--line);border-radius:6px;font-size:12px;cursor:pointer;background:#fff}
.ev:hover{background:var(--bluebg)}
.bar{height:12px;background:var(--blue);border-radius:2px;display:inline-block;vertical-align:middle}
.bar.red{background:var(--red)}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:24px}
.cols3{display:grid;grid-template-columns:1.2fr 1fr 1.4fr;gap:24px}
@media (max-width:900px){.cols3{grid-template-columns:1fr}}
@media (max-width:900px){.cols{grid-template-columns:1fr}dl.meta{grid-template-columns:auto 1fr}}
.toc a{margin-right:14px}
@media print{body{padding:0;max-width:none;font-size:12px}.cols3{grid-template-columns:1.2fr 1fr 1.4fr}.player,.noprint{display:none}
 .agent{page-break-before:always}.agent:first-of-type{page-break-before:auto}a{color:inherit}
 table{page-break-inside:auto}tr{page-break-inside:avoid}}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
        assert_eq!(esc("您好\u{0}"), "您好\u{fffd}");
    }

    #[test]
    fn clock_and_numbers() {
        assert_eq!(clock(0.0), "0:00");
        assert_eq!(clock(65.9), "1:05");
        assert_eq!(clock(3725.0), "1:02:05");
        assert_eq!(num(85.0, 1), "85");
        assert_eq!(num(82.50, 2), "82.5");
        assert_eq!(num(-0.001, 1), "0");
        assert_eq!(pct(0.9534), "95.3%");
        assert_eq!(duration_zh(185.0), "3 分 05 秒");
        assert_eq!(
            short_time(Some("2026-11-02T10:42:18+08:00")),
            "2026-11-02 10:42"
        );
        assert_eq!(short_time(Some("昨天下午")), "昨天下午");
        assert_eq!(short_time(None), "—");
    }

    #[test]
    fn relative_links() {
        let r = relative(
            Path::new("/data/rec/a b#1.wav"),
            Path::new("/data/out/calls"),
        );
        assert_eq!(r, PathBuf::from("../../rec/a b#1.wav"));
        assert_eq!(url_path(&r), "../../rec/a%20b%231.wav");
        assert_eq!(
            url_path(Path::new("录音/1.wav")),
            "%E5%BD%95%E9%9F%B3/1.wav"
        );
        assert_eq!(
            relative(Path::new("/a/b/c.wav"), Path::new("/a/b")),
            PathBuf::from("c.wav")
        );
    }
}
