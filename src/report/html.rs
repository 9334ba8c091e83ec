//! Formatting helpers of the pages, used by the templates as filters ([`super::render`]):
//! times, durations, numbers, and relative links that survive Chinese and odd file names.
//! The markup itself comes from templates with auto-escaping, never from strings built here.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

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

#[cfg(test)]
mod tests {
    use super::*;

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
