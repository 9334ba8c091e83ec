//! Call-level acoustic findings from per-role speech segments: dead air, overlaps,
//! interruptions (抢话), response latency, talk time and the hang-up guess.

use crate::record::{
    Findings, Hangup, Interruption, Latency, Metrics, Role, Side, Span, SpeechSegment, Utterance,
};
use serde::{Deserialize, Serialize};

/// Thresholds for the findings. All in seconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FindingsConfig {
    /// A gap with nobody speaking at least this long is a silence (冷场).
    pub silence_min_s: f64,
    /// Both parties speaking at once at least this long is an overlap.
    pub overlap_min_s: f64,
    /// Customer speech ending this close to the end of the recording counts as cut off.
    pub cut_off_s: f64,
    /// A party's own pause at least this long before speaking starts a new turn.
    pub turn_gap_s: f64,
}

impl Default for FindingsConfig {
    fn default() -> Self {
        FindingsConfig {
            silence_min_s: 5.0,
            overlap_min_s: 0.5,
            cut_off_s: 0.3,
            turn_gap_s: 1.0,
        }
    }
}

/// Compute findings and metrics. `segments` may be in any order; `duration_s` is the length of
/// the recording. With only `Role::Mixed` segments (mono), overlaps, interruptions and latency
/// cannot be measured and stay empty.
pub fn analyse(
    segments: &[SpeechSegment],
    duration_s: f64,
    cfg: &FindingsConfig,
) -> (Findings, Metrics) {
    let of = |role: Role| -> Vec<Span> {
        let mut v: Vec<Span> = segments
            .iter()
            .filter(|s| s.role == role)
            .map(|s| Span::new(s.start, s.end))
            .collect();
        v.sort_by(|a, b| a.start.total_cmp(&b.start));
        v
    };
    let agent = of(Role::Agent);
    let customer = of(Role::Customer);
    let all = union(segments.iter().map(|s| Span::new(s.start, s.end)).collect());

    let mut f = Findings::default();
    let mut m = Metrics {
        duration_s,
        ..Default::default()
    };

    // Dead air: gaps in the union of everyone's speech, inside the conversation.
    f.silences = all
        .windows(2)
        .map(|w| Span::new(w[0].end, w[1].start))
        .filter(|g| g.duration() >= cfg.silence_min_s)
        .collect();
    m.silence_count = f.silences.len();
    m.silence_total_s = f.silences.iter().map(Span::duration).sum();
    m.silence_longest_s = f.silences.iter().map(Span::duration).fold(0.0, f64::max);
    m.leading_silence_s = all.first().map_or(duration_s, |s| s.start);
    m.trailing_silence_s = all.last().map_or(0.0, |s| (duration_s - s.end).max(0.0));

    let mono = segments.iter().any(|s| s.role == Role::Mixed);
    let roles: &[Role] = if mono {
        &[Role::Mixed]
    } else {
        &[Role::Agent, Role::Customer]
    };
    for &role in roles {
        let t: f64 = union(of(role)).iter().map(Span::duration).sum();
        m.talk_s.insert(role.as_str().to_string(), round3(t));
    }
    let (ta, tc) = (union(agent.clone()), union(customer.clone()));
    let (sa, sc): (f64, f64) = (
        ta.iter().map(Span::duration).sum(),
        tc.iter().map(Span::duration).sum(),
    );
    if sa + sc > 0.0 {
        m.agent_talk_ratio = Some(round3(sa / (sa + sc)));
    }

    // Overlaps: intersections of the two parties' speech.
    f.overlaps = intersect(&ta, &tc)
        .into_iter()
        .filter(|o| o.duration() >= cfg.overlap_min_s)
        .collect();
    m.overlap_count = f.overlaps.len();
    m.overlap_total_s = f.overlaps.iter().map(Span::duration).sum();

    // Interruptions: a party starts a new turn (after at least `turn_gap_s` of their own
    // silence, so resuming after a breath is not counted again) while the other is
    // mid-utterance, and both keep talking for at least the overlap threshold.
    for (by, mine, theirs) in [
        (Role::Agent, &agent, &customer),
        (Role::Customer, &customer, &agent),
    ] {
        let mut prev_end = f64::NEG_INFINITY;
        for s in mine.iter() {
            let new_turn = s.start - prev_end >= cfg.turn_gap_s;
            prev_end = prev_end.max(s.end);
            if !new_turn {
                continue;
            }
            if let Some(o) = theirs.iter().find(|o| o.start < s.start && o.end > s.start) {
                let span = Span::new(s.start, s.end.min(o.end));
                if span.duration() >= cfg.overlap_min_s {
                    f.interruptions.push(Interruption {
                        by,
                        at: s.start,
                        span,
                    });
                }
            }
        }
    }
    f.interruptions.sort_by(|a, b| a.at.total_cmp(&b.at));
    m.interruptions_by_agent = f
        .interruptions
        .iter()
        .filter(|i| i.by == Role::Agent)
        .count();
    m.interruptions_by_customer = f
        .interruptions
        .iter()
        .filter(|i| i.by == Role::Customer)
        .count();

    // Latency: turns are maximal runs of one party's segments with none of the other's starting
    // in between; a customer turn followed by an agent turn starting after it ends gives one
    // latency. An agent starting before the customer finished is an overlap, not a latency.
    let turns = turns(segments);
    for w in turns.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.0 == Role::Customer && b.0 == Role::Agent && b.1.start >= a.1.end {
            f.latencies.push(Latency {
                customer_end: a.1.end,
                agent_start: b.1.start,
                seconds: round3(b.1.start - a.1.end),
            });
        }
    }
    if !f.latencies.is_empty() {
        let n = f.latencies.len() as f64;
        m.latency_mean_s = Some(round3(
            f.latencies.iter().map(|l| l.seconds).sum::<f64>() / n,
        ));
        m.latency_max_s = Some(f.latencies.iter().map(|l| l.seconds).fold(0.0, f64::max));
    }

    // Who spoke last, and was the customer cut off?
    m.last_speaker = segments
        .iter()
        .max_by(|a, b| a.end.total_cmp(&b.end))
        .map(|s| s.role);
    m.ended_while_customer_speaking = customer
        .iter()
        .any(|c| c.end >= duration_s - cfg.cut_off_s && c.duration() > 0.0);
    m.hangup = if m.ended_while_customer_speaking {
        Hangup {
            side: Side::Agent,
            source: "inferred".into(),
            reason: "录音结束时客户仍在说话".into(),
        }
    } else {
        Hangup {
            side: Side::Unknown,
            source: "unknown".into(),
            reason: match m.last_speaker {
                Some(r) => format!("无法判断，最后说话方：{}", r.zh()),
                None => "无法判断：无语音".into(),
            },
        }
    };
    (f, m)
}

/// Mono recordings: the stereo rule (speech still running when the recording stops, and it is
/// the customer's) with the speaker taken from the utterances' guessed roles
/// (`asr::assign_mono_roles`), since the track cannot tell. The last VAD segment must reach the
/// end and the utterance that ends last must lie in it and be the customer's. As approximate as
/// the roles; the reason says so. Does nothing when the side is already known.
pub fn infer_mono_cut_off(
    m: &mut Metrics,
    segments: &[SpeechSegment],
    utts: &[Utterance],
    duration_s: f64,
    cfg: &FindingsConfig,
) {
    if m.hangup.side != Side::Unknown {
        return;
    }
    let Some(seg) = segments.iter().max_by(|a, b| a.end.total_cmp(&b.end)) else {
        return;
    };
    let Some(last) = utts.iter().max_by(|a, b| a.end.total_cmp(&b.end)) else {
        return;
    };
    let in_segment = last.end > seg.start && last.start < seg.end;
    if seg.end >= duration_s - cfg.cut_off_s && in_segment && last.role == Role::Customer {
        m.ended_while_customer_speaking = true;
        m.hangup = Hangup {
            side: Side::Agent,
            source: "inferred".into(),
            reason: "录音结束时客户仍在说话（单声道：说话方由文字推断）".into(),
        };
    }
}

/// Override the acoustic hang-up guess with the switch's record.
pub fn apply_hangup_metadata(m: &mut Metrics, side: Side) {
    if side != Side::Unknown {
        m.hangup = Hangup {
            side,
            source: "metadata".into(),
            reason: "交换机记录的挂机方".into(),
        };
    }
}

fn turns(segments: &[SpeechSegment]) -> Vec<(Role, Span)> {
    let mut segs: Vec<&SpeechSegment> = segments.iter().filter(|s| s.role != Role::Mixed).collect();
    segs.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<(Role, Span)> = Vec::new();
    for s in segs {
        match out.last_mut() {
            Some((r, span)) if *r == s.role => span.end = span.end.max(s.end),
            _ => out.push((s.role, Span::new(s.start, s.end))),
        }
    }
    out
}

/// Merge overlapping spans.
pub fn union(mut v: Vec<Span>) -> Vec<Span> {
    v.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<Span> = Vec::with_capacity(v.len());
    for s in v {
        match out.last_mut() {
            Some(l) if s.start <= l.end => l.end = l.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// Intersections of two sorted, non-overlapping span lists.
fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let s = a[i].start.max(b[j].start);
        let e = a[i].end.min(b[j].end);
        if e > s {
            out.push(Span::new(s, e));
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(role: Role, start: f64, end: f64) -> SpeechSegment {
        SpeechSegment {
            role,
            channel: if role == Role::Customer { 1 } else { 0 },
            start,
            end,
        }
    }
    use Role::{Agent as A, Customer as C};

    #[test]
    fn silences_between_speech_only() {
        let s = [
            seg(A, 1.0, 3.0),
            seg(C, 3.5, 4.0),
            seg(A, 10.0, 12.0),
            seg(C, 12.2, 13.0),
        ];
        let (f, m) = analyse(&s, 20.0, &FindingsConfig::default());
        assert_eq!(f.silences, vec![Span::new(4.0, 10.0)]);
        assert_eq!(m.silence_count, 1);
        assert_eq!(m.silence_longest_s, 6.0);
        assert_eq!(m.leading_silence_s, 1.0);
        assert_eq!(m.trailing_silence_s, 7.0);
    }

    #[test]
    fn overlaps_and_interruptions_per_side() {
        // Agent cuts in 1 s before the customer finishes; later the customer cuts in briefly
        // (0.3 s, under the threshold) and once for real.
        let s = [
            seg(C, 0.0, 4.0),
            seg(A, 3.0, 6.0),
            seg(C, 5.8, 7.0),
            seg(A, 8.0, 12.0),
            seg(C, 10.0, 11.0),
        ];
        let (f, m) = analyse(&s, 12.0, &FindingsConfig::default());
        assert_eq!(f.overlaps, vec![Span::new(3.0, 4.0), Span::new(10.0, 11.0)]);
        assert_eq!(m.interruptions_by_agent, 1);
        assert_eq!(m.interruptions_by_customer, 1);
        assert_eq!(
            f.interruptions[0],
            Interruption {
                by: A,
                at: 3.0,
                span: Span::new(3.0, 4.0)
            }
        );
        assert_eq!(f.interruptions[1].at, 10.0);
    }

    #[test]
    fn latency_from_customer_end_to_agent_reply() {
        let s = [
            seg(A, 0.0, 2.0),
            seg(C, 2.5, 4.0),
            seg(C, 4.3, 5.0), // same customer turn
            seg(A, 5.8, 7.0),
            seg(C, 7.5, 9.0),
            seg(A, 8.5, 10.0), // overlap: no latency
            seg(C, 10.5, 11.0),
            seg(A, 13.0, 14.0),
        ];
        let (f, m) = analyse(&s, 14.0, &FindingsConfig::default());
        let got: Vec<f64> = f.latencies.iter().map(|l| l.seconds).collect();
        assert_eq!(got, vec![0.8, 2.0]);
        assert_eq!(m.latency_mean_s, Some(1.4));
        assert_eq!(m.latency_max_s, Some(2.0));
        assert_eq!(m.agent_talk_ratio, Some(round3(5.7 / (5.7 + 4.2))));
    }

    #[test]
    fn hangup_inferred_when_customer_is_cut_off_and_metadata_wins() {
        let s = [seg(A, 0.0, 2.0), seg(C, 2.5, 9.9)];
        let (_, mut m) = analyse(&s, 10.0, &FindingsConfig::default());
        assert!(m.ended_while_customer_speaking);
        assert_eq!(m.hangup.side, Side::Agent);
        assert_eq!(m.last_speaker, Some(C));
        apply_hangup_metadata(&mut m, Side::Customer);
        assert_eq!(m.hangup.side, Side::Customer);
        assert_eq!(m.hangup.source, "metadata");

        let s = [seg(C, 0.0, 2.0), seg(A, 2.5, 8.0)];
        let (_, m) = analyse(&s, 10.0, &FindingsConfig::default());
        assert!(!m.ended_while_customer_speaking);
        assert_eq!(m.hangup.side, Side::Unknown);
        assert_eq!(m.last_speaker, Some(A));
    }

    #[test]
    fn mono_measures_silence_but_not_overlap() {
        let s = [
            SpeechSegment {
                role: Role::Mixed,
                channel: 0,
                start: 0.5,
                end: 2.0,
            },
            SpeechSegment {
                role: Role::Mixed,
                channel: 0,
                start: 8.0,
                end: 9.0,
            },
        ];
        let (f, m) = analyse(&s, 10.0, &FindingsConfig::default());
        assert_eq!(f.silences.len(), 1);
        assert!(f.overlaps.is_empty() && f.latencies.is_empty() && f.interruptions.is_empty());
        assert_eq!(m.talk_s.get("mixed"), Some(&2.5));
        assert_eq!(m.agent_talk_ratio, None);
    }

    #[test]
    fn mono_cut_off_uses_the_guessed_role_of_the_last_words() {
        let mixed = |start, end| SpeechSegment {
            role: Role::Mixed,
            channel: 0,
            start,
            end,
        };
        let utt = |start, end, role| Utterance {
            start,
            end,
            role,
            ..Default::default()
        };
        let cfg = FindingsConfig::default();
        let s = [mixed(0.5, 4.0), mixed(5.0, 9.9)];
        let run = |s: &[SpeechSegment], u: &[Utterance]| {
            let (_, mut m) = analyse(s, 10.0, &cfg);
            assert_eq!(m.hangup.side, Side::Unknown);
            infer_mono_cut_off(&mut m, s, u, 10.0, &cfg);
            m
        };
        let m = run(&s, &[utt(0.5, 4.0, A), utt(5.0, 9.9, C)]);
        assert!(m.ended_while_customer_speaking);
        assert_eq!(
            (m.hangup.side, m.hangup.source.as_str()),
            (Side::Agent, "inferred")
        );
        // The agent's words at the end, speech ending before the last 0.3 s, or no words in
        // the last segment: nothing inferred.
        let m = run(&s, &[utt(0.5, 4.0, C), utt(5.0, 9.9, A)]);
        assert_eq!(m.hangup.side, Side::Unknown);
        let early = [mixed(0.5, 4.0), mixed(5.0, 9.5)];
        let m = run(&early, &[utt(0.5, 4.0, A), utt(5.0, 9.5, C)]);
        assert_eq!(m.hangup.side, Side::Unknown);
        let m = run(&s, &[utt(0.5, 4.0, C)]);
        assert!(!m.ended_while_customer_speaking);
        // The switch's record is kept.
        let (_, mut m) = analyse(&s, 10.0, &cfg);
        apply_hangup_metadata(&mut m, Side::Customer);
        infer_mono_cut_off(&mut m, &s, &[utt(5.0, 9.9, C)], 10.0, &cfg);
        assert_eq!(m.hangup.side, Side::Customer);
    }

    #[test]
    fn no_speech_at_all() {
        let (f, m) = analyse(&[], 30.0, &FindingsConfig::default());
        assert!(f.silences.is_empty());
        assert_eq!(m.leading_silence_s, 30.0);
        assert_eq!(m.last_speaker, None);
    }
}
