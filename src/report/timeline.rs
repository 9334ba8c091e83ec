//! The call at a glance: an inline SVG with one lane of speech per role, dead air, overlaps,
//! interruptions and the spans the scorecard flagged. Every mark carries `data-t` (its start
//! time), and the page script seeks the recording when one is clicked.

use super::html::{clock, esc, num};
use crate::record::{CallRecord, Role};
use crate::rules::Severity;
use std::fmt::Write as _;

const W: f64 = 1000.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 10.0;
const LANE_H: f64 = 22.0;

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

/// Render the timeline of `rec`. Returns an empty string when the call has no length.
pub fn svg(rec: &CallRecord) -> String {
    let dur = rec.duration_s.max(rec.metrics.duration_s);
    if dur.is_nan() || dur <= 0.0 {
        return String::new();
    }
    let x = |t: f64| LEFT + (t.clamp(0.0, dur) / dur) * (W - LEFT - RIGHT);
    let wd = |a: f64, b: f64| (x(b) - x(a)).max(1.5);

    // Lanes: agent and customer on stereo; one mixed lane on mono.
    let mut lanes: Vec<Role> = Vec::new();
    for r in [Role::Agent, Role::Customer, Role::Mixed] {
        let used = rec.segments.iter().any(|s| s.role == r)
            || rec.utterances.iter().any(|u| u.role == r)
            || rec.channels.iter().any(|c| c.role == r);
        if used {
            lanes.push(r);
        }
    }
    if lanes.is_empty() {
        lanes = vec![Role::Agent, Role::Customer];
    }
    let lane_y = |r: Role| {
        let i = lanes.iter().position(|l| *l == r).unwrap_or(0);
        8.0 + i as f64 * (LANE_H + 8.0)
    };
    let flags_y = 8.0 + lanes.len() as f64 * (LANE_H + 8.0);
    let axis_y = flags_y + 16.0 + 8.0;
    let h = axis_y + 18.0;
    let speech_top = 4.0;
    let speech_bottom = flags_y - 4.0;

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg id=\"timeline\" viewBox=\"0 0 {W} {h}\" xmlns=\"http://www.w3.org/2000/svg\" \
         data-duration=\"{}\" data-left=\"{LEFT}\" data-right=\"{RIGHT}\" data-width=\"{W}\" \
         role=\"img\" aria-label=\"通话时间轴\" font-size=\"12\">",
        num(dur, 3)
    );
    s.push_str(
        "<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" \
         patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#eef1f4\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#c4ccd4\" stroke-width=\"2\"/>\
         </pattern></defs>",
    );
    // Lane backgrounds and labels.
    for &r in &lanes {
        let y = lane_y(r);
        let _ = write!(
            s,
            "<text x=\"4\" y=\"{}\" fill=\"#59636e\">{}</text>\
             <rect x=\"{LEFT}\" y=\"{y}\" width=\"{}\" height=\"{LANE_H}\" fill=\"#f6f8fa\"/>",
            y + 15.0,
            r.zh(),
            W - LEFT - RIGHT
        );
    }
    let _ = write!(
        s,
        "<text x=\"4\" y=\"{}\" fill=\"#59636e\">问题</text>",
        flags_y + 12.0
    );
    // Dead air across all lanes.
    for sp in &rec.findings.silences {
        let _ = write!(
            s,
            "<rect class=\"silence\" data-t=\"{}\" x=\"{:.1}\" y=\"{speech_top}\" width=\"{:.1}\" \
             height=\"{:.1}\" fill=\"url(#hatch)\"><title>冷场 {}–{}（{} 秒）</title></rect>",
            num(sp.start, 3),
            x(sp.start),
            wd(sp.start, sp.end),
            speech_bottom - speech_top,
            clock(sp.start),
            clock(sp.end),
            num(sp.duration(), 1)
        );
    }
    // Speech.
    for seg in &rec.segments {
        let color = match seg.role {
            Role::Agent => "#0969da",
            Role::Customer => "#8250df",
            Role::Mixed => "#6e7781",
        };
        let _ = write!(
            s,
            "<rect class=\"speech\" data-t=\"{}\" x=\"{:.1}\" y=\"{}\" width=\"{:.1}\" height=\"{LANE_H}\" \
             rx=\"2\" fill=\"{color}\" fill-opacity=\"0.8\"><title>{} {}–{}</title></rect>",
            num(seg.start, 3),
            x(seg.start),
            lane_y(seg.role),
            wd(seg.start, seg.end),
            seg.role.zh(),
            clock(seg.start),
            clock(seg.end)
        );
    }
    // Both talking.
    for o in &rec.findings.overlaps {
        let _ = write!(
            s,
            "<rect class=\"overlap\" data-t=\"{}\" x=\"{:.1}\" y=\"{speech_top}\" width=\"{:.1}\" \
             height=\"{:.1}\" fill=\"#cf222e\" fill-opacity=\"0.25\"><title>双方同时说话 {}（{} 秒）</title></rect>",
            num(o.start, 3),
            x(o.start),
            wd(o.start, o.end),
            speech_bottom - speech_top,
            clock(o.start),
            num(o.duration(), 1)
        );
    }
    // Interruptions: a red triangle above the lane of whoever cut in.
    for i in &rec.findings.interruptions {
        let lane = if lanes.contains(&i.by) {
            i.by
        } else {
            lanes[0]
        };
        let (cx, y) = (x(i.at), lane_y(lane));
        let _ = write!(
            s,
            "<path class=\"interruption\" data-t=\"{}\" d=\"M{:.1} {:.1} l-5 -7 h10 z\" fill=\"#cf222e\">\
             <title>{}抢话 {}</title></path>",
            num(i.at, 3),
            cx,
            y + 7.0,
            i.by.zh(),
            clock(i.at)
        );
    }
    // Flagged evidence.
    if let Some(score) = &rec.score {
        for h in score.hits.iter().filter(|h| !h.superseded) {
            let color = if h.fatal || h.severity == Severity::Severe {
                "#cf222e"
            } else {
                "#bc4c00"
            };
            for e in &h.evidence {
                // Evidence about the whole call (a count, an absence) would paint the lane
                // solid; mark where it starts instead.
                let end = if e.end - e.start > dur * 0.2 {
                    e.start
                } else {
                    e.end
                };
                let _ = write!(
                    s,
                    "<rect class=\"flag\" data-t=\"{}\" x=\"{:.1}\" y=\"{flags_y}\" width=\"{:.1}\" \
                     height=\"16\" rx=\"2\" fill=\"{color}\"><title>{} {}（{}）</title></rect>",
                    num(e.start, 3),
                    x(e.start),
                    wd(e.start, end).max(4.0),
                    clock(e.start),
                    esc(&h.name),
                    esc(&h.id)
                );
            }
        }
    }
    // Axis.
    let step = tick_step(dur);
    let mut t = 0.0;
    while t <= dur + 1e-9 {
        let _ = write!(
            s,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{speech_top}\" y2=\"{axis_y}\" stroke=\"#d1d9e0\" \
             stroke-width=\"0.5\"/><text x=\"{0:.1}\" y=\"{1}\" text-anchor=\"middle\" fill=\"#59636e\">{2}</text>",
            x(t),
            axis_y + 13.0,
            clock(t)
        );
        t += step;
    }
    let _ = write!(
        s,
        "<line id=\"playhead\" x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"0\" y2=\"{axis_y}\" stroke=\"#1f2328\" \
         stroke-width=\"1.5\" visibility=\"hidden\"/></svg>"
    );
    s
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
