//! Rows that the static export and the server both list: the review queue
//! (`templates/parts/queue.html`). Each side fills [`QueueRowView`] from what it has — the
//! batch's summaries, or the store's queue index — and the same macro draws it; [`Links`]
//! is the one thing that differs (files next to each other, or the server's routes).

use super::html::{num, short_time, url_segment};
use super::queue::{Level, Reason};
use serde::Serialize;

/// Where a call's page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// The export: `calls/<id>.html`, relative to `index.html`.
    Export,
    /// The server: `/calls/<id>`.
    Server,
}

impl Links {
    /// The call's page, positioned at `at` seconds when known.
    pub fn call(self, id: &str, at: Option<f64>) -> String {
        let page = match self {
            Links::Export => format!("calls/{}.html", url_segment(id)),
            Links::Server => format!("/calls/{}", url_segment(id)),
        };
        match at {
            Some(t) => format!("{page}#t={}", num(t, 2)),
            None => page,
        }
    }

    /// The call's page, playing from `t` (the ▶ evidence links).
    pub fn play(self, id: &str, t: f64) -> String {
        format!("{}&play", self.call(id, Some(t)))
    }
}

/// One row of the review queue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueRowView {
    pub call_id: String,
    pub href: String,
    pub rank: usize,
    pub level_class: &'static str,
    pub level_zh: &'static str,
    pub risk: f64,
    /// In the random (COPC) sample.
    pub sampled: bool,
    pub agent: String,
    pub queue: Option<String>,
    pub time: String,
    pub duration_s: f64,
    pub score: Option<f64>,
    pub max_score: Option<f64>,
    pub score_class: &'static str,
    /// After review (the server's list of an agent's own calls).
    pub final_score: Option<f64>,
    pub reasons: Vec<ReasonView>,
    pub assigned_to: Option<String>,
    pub claimed_by: Option<String>,
    pub reviewed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReasonView {
    pub level_class: &'static str,
    pub level_zh: &'static str,
    pub text: String,
    pub at: Option<f64>,
    pub play: Option<String>,
}

/// Colour of a score: red for a fatal error or below 60%, orange below 80%.
pub fn score_class(pct: Option<f64>, fatal: bool) -> &'static str {
    match pct.unwrap_or(0.0) {
        _ if fatal => "c-red",
        p if p < 60.0 => "c-red",
        p if p < 80.0 => "c-orange",
        _ => "",
    }
}

/// "name（id）", or whichever is known.
pub fn agent_label(name: Option<&str>, id: Option<&str>) -> String {
    match (name, id) {
        (Some(n), Some(i)) => format!("{n}（{i}）"),
        (Some(n), None) => n.to_string(),
        (None, Some(i)) => i.to_string(),
        (None, None) => "未知座席".into(),
    }
}

/// The reasons of a call, each with a link that plays its evidence.
pub fn reasons(call_id: &str, rs: &[Reason], links: Links) -> Vec<ReasonView> {
    rs.iter()
        .map(|r| ReasonView {
            level_class: r.level.class(),
            level_zh: r.level.zh(),
            text: r.text.clone(),
            at: r.at,
            play: r.at.map(|t| links.play(call_id, t)),
        })
        .collect()
}

impl QueueRowView {
    /// The columns every row has; the caller fills rank, level, score and reasons.
    pub fn call(
        call_id: &str,
        at: Option<f64>,
        links: Links,
        agent: String,
        queue: Option<String>,
        start_time: Option<&str>,
        duration_s: f64,
    ) -> QueueRowView {
        QueueRowView {
            call_id: call_id.to_string(),
            href: links.call(call_id, at),
            agent,
            queue,
            time: short_time(start_time),
            duration_s,
            ..QueueRowView::default()
        }
    }

    pub fn with_level(mut self, level: Option<Level>, risk: f64) -> QueueRowView {
        if let Some(l) = level {
            self.level_class = l.class();
            self.level_zh = l.zh();
        }
        self.risk = risk;
        self
    }

    /// The automatic score out of `max`, coloured.
    pub fn with_score(mut self, score: Option<f64>, max: Option<f64>, fatal: bool) -> Self {
        let pct = match (score, max) {
            (Some(s), Some(m)) if m > 0.0 => Some(s / m * 100.0),
            _ => None,
        };
        self.score = score;
        self.max_score = max;
        self.score_class = score_class(pct, fatal);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_for_files_and_routes() {
        assert_eq!(
            Links::Export.play("a b#1", 4.5),
            "calls/a%20b%231.html#t=4.5&play"
        );
        assert_eq!(
            Links::Server.call("录音", None),
            "/calls/%E5%BD%95%E9%9F%B3"
        );
    }
}
