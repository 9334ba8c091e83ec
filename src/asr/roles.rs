//! Roles on a mono recording, guessed from what is said. APPROXIMATE by nature: one track
//! carries both parties, so there is no acoustic evidence of who speaks. The guess is a
//! two-state Viterbi over the utterances. Emission scores come from the classifier's role head
//! where the utterance has been classified (`scores["role"]`, learned from every training
//! line's speaker), plus a few strong cue phrases (the agent's greeting, 工号, 为您服务, 您; the
//! customer's 我想/我要/你们); the pause before an utterance gives the transition (a pause is
//! where the turn usually changes; an utterance that follows the previous one without a pause
//! is usually the same speaker continuing). The agent is favoured for the first utterance: the
//! agent answers an inbound call and opens an outbound one.
//!
//! The pipeline runs this twice: after transcription with the cues only, and again once the
//! classifier has scored the utterances.

use super::text::{squash, to_simplified};
use crate::record::{Role, Utterance};

/// Phrases (squashed, simplified) and their weight towards the agent (positive) or the
/// customer (negative). Whisper's common homophones of the key words are listed too (公号 for
/// 工号, 来订 for 来电).
const CUES: &[(&str, f64)] = &[
    ("工号", 3.0),
    ("公号", 3.0),
    ("为您服务", 3.0),
    ("有什么可以帮", 3.0),
    ("可以帮您", 2.0),
    ("可疑帮您", 2.0),
    ("感谢您的来", 3.0),
    ("生活愉快", 3.0),
    ("请稍等", 2.0),
    ("稍等", 1.0),
    ("久等", 2.0),
    ("还有其他", 2.0),
    ("帮您查", 2.0),
    ("为您查", 2.0),
    ("给您带来不便", 2.0),
    ("非常抱歉", 1.5),
    ("请问是", 1.5),
    ("先生", 1.0),
    ("女士", 1.0),
    ("客服", 1.5),
    ("我想问", -2.0),
    ("我想", -1.0),
    ("我要", -1.5),
    ("我的", -1.0),
    ("你们", -1.5),
    ("投诉", -1.5),
    ("怎么回事", -2.0),
    ("为什么", -1.0),
    ("能不能", -1.0),
    ("谢谢你", -1.0),
    ("没有了", -1.0),
    ("不需要", -1.5),
];

/// Agent-vs-customer evidence of one text (positive: agent).
fn cue_score(text: &str) -> f64 {
    let t = squash(&to_simplified(text));
    let mut s: f64 = CUES
        .iter()
        .filter(|(p, _)| t.contains(p))
        .map(|(_, w)| w)
        .sum();
    // Agents say 您, customers say 你: each counts a little, capped.
    let nin = t.matches('您').count() as f64;
    let ni = t.matches('你').count() as f64;
    s += 0.5 * nin.min(4.0) - 0.5 * ni.min(4.0);
    s
}

/// Weight of the role head's log-odds in the emission, and their cap. Chosen on the call
/// benchmark's dev split (README, Measured): the cues and the head overlap (a line with 工号
/// is agent to both), so the head's log-odds count less than fully.
const HEAD_WEIGHT: f64 = 0.25;
const HEAD_CAP: f64 = 5.0;

/// The role head's log-odds agent vs customer, weighted and capped (0 when not classified).
fn head_score(u: &Utterance) -> f64 {
    let Some(p) = u.p_agent() else {
        return 0.0;
    };
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    HEAD_WEIGHT * (p / (1.0 - p)).ln().clamp(-HEAD_CAP, HEAD_CAP)
}

/// Set `role` to agent or customer on every utterance of a mono call (sorted by start), from
/// what is said and the pauses between utterances. Approximate: see the module note.
pub fn assign_mono_roles(utts: &mut [Utterance]) {
    if utts.is_empty() {
        return;
    }
    // log-probabilities; state 0 = agent, 1 = customer.
    let emit = |u: &Utterance| {
        let s = cue_score(&u.text) / 2.0 + head_score(u);
        [s, -s]
    };
    let trans = |gap: f64| {
        let p_switch: f64 = if gap < 0.25 { 0.15 } else { 0.7 };
        [p_switch.ln(), (1.0 - p_switch).ln()] // [switch, stay]
    };
    let n = utts.len();
    let mut score = vec![[0f64; 2]; n];
    let mut back = vec![[0usize; 2]; n];
    let e0 = emit(&utts[0]);
    score[0] = [0.75f64.ln() + e0[0], 0.25f64.ln() + e0[1]];
    for k in 1..n {
        let e = emit(&utts[k]);
        let [sw, st] = trans(utts[k].start - utts[k - 1].end);
        for s in 0..2 {
            let from_same = score[k - 1][s] + st;
            let from_other = score[k - 1][1 - s] + sw;
            if from_same >= from_other {
                score[k][s] = from_same + e[s];
                back[k][s] = s;
            } else {
                score[k][s] = from_other + e[s];
                back[k][s] = 1 - s;
            }
        }
    }
    let mut s = if score[n - 1][0] >= score[n - 1][1] {
        0
    } else {
        1
    };
    for k in (0..n).rev() {
        utts[k].role = if s == 0 { Role::Agent } else { Role::Customer };
        s = back[k][s];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(start: f64, end: f64, text: &str) -> Utterance {
        Utterance {
            start,
            end,
            text: text.into(),
            role: Role::Mixed,
            ..Default::default()
        }
    }

    #[test]
    fn greeting_party_is_the_agent_and_turns_alternate() {
        let mut v = vec![
            u(
                0.5,
                6.0,
                "您好，智检保险客服中心，公号3021，很高兴为您服务。",
            ),
            u(6.1, 7.5, "请问有什么可以帮您？"),
            u(8.5, 12.0, "你好，我想问一下我的理赔怎么还没到账。"),
            u(13.0, 16.0, "好的，请您提供一下保单号。"),
            u(17.0, 19.0, "12345678"),
            u(20.0, 23.0, "好的，请稍等，我帮您查一下。"),
            u(30.0, 34.0, "非常抱歉让您久等了，您的理赔已经在处理中。"),
            u(35.0, 36.0, "好的，谢谢你。"),
            u(36.8, 40.0, "感谢您的来电，祝您生活愉快，再见。"),
        ];
        assign_mono_roles(&mut v);
        let roles: Vec<Role> = v.iter().map(|u| u.role).collect();
        use Role::{Agent as A, Customer as C};
        assert_eq!(roles, vec![A, A, C, A, C, A, A, C, A]);
    }

    /// Two agent lines in a row (the second after a pause, where a turn usually changes) and a
    /// customer line: no cue word says so, the role head does.
    #[test]
    fn the_role_head_decides_where_no_cue_word_does() {
        let mut v = vec![
            u(0.5, 3.0, "这个不归我们这边管。"),
            u(3.6, 6.0, "那边营业厅会处理的。"),
            u(6.6, 8.0, "那怎么办呢？"),
        ];
        use Role::{Agent as A, Customer as C};
        assign_mono_roles(&mut v);
        let cues_only: Vec<Role> = v.iter().map(|u| u.role).collect();
        assert_eq!(cues_only, vec![A, C, A]);
        for (x, p) in v.iter_mut().zip([0.95, 0.97, 0.05]) {
            let m = [("agent".to_string(), p), ("customer".to_string(), 1.0 - p)];
            x.scores.insert("role".into(), m.into_iter().collect());
        }
        assign_mono_roles(&mut v);
        let roles: Vec<Role> = v.iter().map(|u| u.role).collect();
        assert_eq!(roles, vec![A, A, C]);
        // An unsure head (shrunk to 0.5 for garbled text) adds nothing.
        let mut w = [u(0.5, 3.0, "这个不归我们这边管。")];
        let m = [("agent".to_string(), 0.5), ("customer".to_string(), 0.5)];
        w[0].scores.insert("role".into(), m.into_iter().collect());
        assert_eq!(head_score(&w[0]), 0.0);
    }

    #[test]
    fn empty_input_is_fine() {
        assign_mono_roles(&mut []);
    }
}
