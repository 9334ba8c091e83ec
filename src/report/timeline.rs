//! The call at a glance: an SVG with one lane of speech per role, dead air, overlaps,
//! interruptions and the spans the scorecard flagged. [`view`] computes where each mark goes;
//! the `timeline` macro of `templates/parts/call.html` draws it (for the export and the
//! server alike). Every mark carries `data-t` (its start time), and the page script seeks the
//! recording when one is clicked.

use super::html::{clock, num};
use crate::record::{CallRecord, Role};
use crate::rules::Severity;
use serde::Serialize;

const W: f64 = 1000.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 10.0;
const LANE_H: f64 = 22.0;

/// The drawing, coordinates already formatted (one decimal where they vary).
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub width: String,
    pub height: String,
    pub duration: String,
    pub left: String,
    pub right: String,
    pub lane_width: String,
    pub lane_height: String,
    pub speech_top: String,
    pub axis_y: String,
    pub tick_text_y: String,
    pub flags_text_y: String,
    pub lanes: Vec<Lane>,
    pub marks: Vec<Mark>,
    pub ticks: Vec<Tick>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Lane {
    pub label: &'static str,
    pub y: String,
    pub text_y: String,
}

/// A rectangle, or a triangle (`path`) for an interruption.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Mark {
    pub class: &'static str,
    pub t: String,
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub rounded: bool,
    pub fill: &'static str,
    pub opacity: Option<&'static str>,
    pub path: Option<String>,
    /// The tooltip (item names come from the scorecard: escaped like everything else).
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub x: String,
    pub label: String,
}

/// A nice tick step giving at most about 12 ticks.
fn tick_step(duration: f64) -> f64 {
    const STEPS: [f64; 12] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| duration / s <= 12.0)
        .unwrap_or(3600.0)
}

/// Lanes: agent and customer on stereo; one mixed lane on mono.
fn lanes_of(rec: &CallRecord) -> Vec<Role> {
    let lanes: Vec<Role> = [Role::Agent, Role::Customer, Role::Mixed]
        .into_iter()
        .filter(|&r| {
            rec.segments.iter().any(|s| s.role == r)
                || rec.utterances.iter().any(|u| u.role == r)
                || rec.channels.iter().any(|c| c.role == r)
        })
        .collect();
    if lanes.is_empty() {
        vec![Role::Agent, Role::Customer]
    } else {
        lanes
    }
}

/// Where things go on the drawing of a call `dur` seconds long.
struct Geometry {
    dur: f64,
    lanes: Vec<Role>,
    flags_y: f64,
    speech_top: f64,
    speech_bottom: f64,
}

impl Geometry {
    fn x(&self, t: f64) -> f64 {
        LEFT + (t.clamp(0.0, self.dur) / self.dur) * (W - LEFT - RIGHT)
    }
    fn w(&self, a: f64, b: f64) -> f64 {
        (self.x(b) - self.x(a)).max(1.5)
    }
    fn lane_y(&self, r: Role) -> f64 {
        let i = self.lanes.iter().position(|l| *l == r).unwrap_or(0);
        8.0 + i as f64 * (LANE_H + 8.0)
    }
    /// A rectangle from `a` to `b` seconds spanning every lane (dead air, overlaps).
    fn across(&self, class: &'static str, a: f64, b: f64, title: String) -> Mark {
        Mark {
            class,
            t: num(a, 3),
            x: format!("{:.1}", self.x(a)),
            y: self.speech_top.to_string(),
            w: format!("{:.1}", self.w(a, b)),
            h: format!("{:.1}", self.speech_bottom - self.speech_top),
            title,
            ..Mark::default()
        }
    }
}

/// The timeline of `rec`; `None` when the call has no length.
pub fn view(rec: &CallRecord) -> Option<Timeline> {
    let dur = rec.duration_s.max(rec.metrics.duration_s);
    if dur.is_nan() || dur <= 0.0 {
        return None;
    }
    let lanes = lanes_of(rec);
    let flags_y = 8.0 + lanes.len() as f64 * (LANE_H + 8.0);
    let g = Geometry {
        dur,
        lanes,
        flags_y,
        speech_top: 4.0,
        speech_bottom: flags_y - 4.0,
    };
    let axis_y = flags_y + 16.0 + 8.0;
    let step = tick_step(dur);
    let ticks = (0..)
        .map(|i| i as f64 * step)
        .take_while(|t| *t <= dur + 1e-9)
        .map(|t| Tick {
            x: format!("{:.1}", g.x(t)),
            label: clock(t),
        })
        .collect();
    Some(Timeline {
        width: W.to_string(),
        height: (axis_y + 18.0).to_string(),
        duration: num(dur, 3),
        left: LEFT.to_string(),
        right: RIGHT.to_string(),
        lane_width: (W - LEFT - RIGHT).to_string(),
        lane_height: LANE_H.to_string(),
        speech_top: g.speech_top.to_string(),
        axis_y: axis_y.to_string(),
        tick_text_y: (axis_y + 13.0).to_string(),
        flags_text_y: (flags_y + 12.0).to_string(),
        lanes: g
            .lanes
            .iter()
            .map(|&r| Lane {
                label: r.zh(),
                y: g.lane_y(r).to_string(),
                text_y: (g.lane_y(r) + 15.0).to_string(),
            })
            .collect(),
        marks: marks(rec, &g),
        ticks,
    })
}

/// Dead air, speech, overlaps, interruptions, then the flagged evidence (drawn on top).
fn marks(rec: &CallRecord, g: &Geometry) -> Vec<Mark> {
    let f = &rec.findings;
    let mut out: Vec<Mark> = f
        .silences
        .iter()
        .map(|s| {
            let title = format!(
                "冷场 {}–{}（{} 秒）",
                clock(s.start),
                clock(s.end),
                num(s.duration(), 1)
            );
            Mark {
                fill: "url(#hatch)",
                ..g.across("silence", s.start, s.end, title)
            }
        })
        .collect();
    out.extend(rec.segments.iter().map(|seg| Mark {
        class: "speech",
        t: num(seg.start, 3),
        x: format!("{:.1}", g.x(seg.start)),
        y: g.lane_y(seg.role).to_string(),
        w: format!("{:.1}", g.w(seg.start, seg.end)),
        h: LANE_H.to_string(),
        rounded: true,
        fill: match seg.role {
            Role::Agent => "#0969da",
            Role::Customer => "#8250df",
            Role::Mixed => "#6e7781",
        },
        opacity: Some("0.8"),
        path: None,
        title: format!("{} {}–{}", seg.role.zh(), clock(seg.start), clock(seg.end)),
    }));
    out.extend(f.overlaps.iter().map(|o| {
        let title = format!(
            "双方同时说话 {}（{} 秒）",
            clock(o.start),
            num(o.duration(), 1)
        );
        Mark {
            fill: "#cf222e",
            opacity: Some("0.25"),
            ..g.across("overlap", o.start, o.end, title)
        }
    }));
    // Interruptions: a red triangle above the lane of whoever cut in.
    out.extend(f.interruptions.iter().map(|i| {
        let lane = if g.lanes.contains(&i.by) {
            i.by
        } else {
            g.lanes[0]
        };
        Mark {
            class: "interruption",
            t: num(i.at, 3),
            fill: "#cf222e",
            path: Some(format!(
                "M{:.1} {:.1} l-5 -7 h10 z",
                g.x(i.at),
                g.lane_y(lane) + 7.0
            )),
            title: format!("{}抢话 {}", i.by.zh(), clock(i.at)),
            ..Mark::default()
        }
    }));
    out.extend(flag_marks(rec, g));
    out
}

fn flag_marks(rec: &CallRecord, g: &Geometry) -> Vec<Mark> {
    let Some(score) = &rec.score else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for h in score.hits.iter().filter(|h| !h.superseded) {
        let fill = if h.fatal || h.severity == Severity::Severe {
            "#cf222e"
        } else {
            "#bc4c00"
        };
        for e in &h.evidence {
            // Evidence about the whole call (a count, an absence) would paint the lane solid;
            // mark where it starts instead.
            let end = if e.end - e.start > g.dur * 0.2 {
                e.start
            } else {
                e.end
            };
            out.push(Mark {
                class: "flag",
                t: num(e.start, 3),
                x: format!("{:.1}", g.x(e.start)),
                y: g.flags_y.to_string(),
                w: format!("{:.1}", g.w(e.start, end).max(4.0)),
                h: "16".into(),
                rounded: true,
                fill,
                opacity: None,
                path: None,
                title: format!("{} {}（{}）", clock(e.start), h.name, h.id),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(tick_step(50.0), 5.0);
        assert_eq!(tick_step(600.0), 60.0);
        assert_eq!(tick_step(3600.0), 300.0);
    }
}
