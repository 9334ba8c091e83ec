//! A call record prepared for evaluation: utterances in time order with their text normalised
//! once, shared by every condition of a scorecard.

use super::checks::{Position, RoleFilter};
use crate::record::{CallRecord, Role, Untranscribed, Utterance};
use crate::text::Prepared;
use std::borrow::Cow;

/// Longest pause (seconds) inside one turn: the VAD and the recogniser cut a sentence into
/// fragments with pauses of 0.1–1 s (dev split of data/calls), while two turns of one speaker
/// are seconds apart with the other party between them.
const FRAGMENT_GAP_S: f64 = 1.2;

/// An utterance at least this long (seconds) whose text has fewer than [`SPARSE_CPS`]
/// characters a second is speech the transcript does not account for: people say 3–7
/// characters a second, and Whisper writes 「请稍」 over the 4 s of a garbled opening, or 「吗。」
/// over a 3 s closing whose words it put elsewhere (new calls of data/calls, SNR 9–10 dB).
const SPARSE_MIN_S: f64 = 1.5;
const SPARSE_CPS: f64 = 1.0;

/// One utterance (or one turn of merged fragments) and its prepared text.
pub struct UttView<'a> {
    pub u: Cow<'a, Utterance>,
    /// Index in [`CallView::utts`] (time order), used to measure "within N utterances".
    pub pos: usize,
    pub prep: Prepared,
}

pub struct CallView<'a> {
    pub call: &'a CallRecord,
    pub utts: Vec<UttView<'a>>,
    /// The utterances with each speaker's consecutive fragments merged into one turn (no
    /// other utterance between them, pause under [`FRAGMENT_GAP_S`]).
    turns: Vec<Turn<'a>>,
    /// Length of the call in seconds: the recording's, else the last utterance's end.
    pub duration: f64,
}

impl<'a> CallView<'a> {
    pub fn new(call: &'a CallRecord) -> CallView<'a> {
        let mut sorted: Vec<&Utterance> = call.utterances.iter().collect();
        sorted.sort_by(|a, b| a.start.total_cmp(&b.start).then(a.id.cmp(&b.id)));
        let utts: Vec<UttView> = sorted
            .into_iter()
            .enumerate()
            .map(|(pos, u)| UttView {
                u: Cow::Borrowed(u),
                pos,
                prep: Prepared::new(&u.text, &u.tokens),
            })
            .collect();
        let turns = merge_fragments(&utts);
        let last_end = utts.iter().map(|u| u.u.end).fold(0.0, f64::max);
        let duration = [call.duration_s, call.metrics.duration_s]
            .into_iter()
            .find(|d| *d > 0.0)
            .unwrap_or(last_end);
        CallView {
            call,
            utts,
            turns,
            duration,
        }
    }

    /// True when the record has been transcribed (has utterances).
    pub fn has_transcript(&self) -> bool {
        !self.utts.is_empty()
    }

    /// True when acoustic analysis ran (speech segments or call metrics are present).
    pub fn has_acoustics(&self) -> bool {
        !self.call.segments.is_empty() || self.call.metrics.duration_s > 0.0
    }

    /// True when some utterance's speaker is unknown (mono recording without a role guess).
    pub fn has_uncertain_roles(&self) -> bool {
        self.utts.iter().any(|u| u.u.role == Role::Mixed)
    }

    /// Utterances read by a condition with this role filter and position.
    pub fn scope(
        &self,
        role: RoleFilter,
        position: Option<&Position>,
        lenient: bool,
    ) -> Vec<&UttView<'a>> {
        let by_role: Vec<&UttView> = self
            .utts
            .iter()
            .filter(|u| role.admits(u.u.role, lenient))
            .collect();
        match position {
            Some(p) => p.apply(by_role, self.duration),
            None => by_role,
        }
    }

    fn turn<'v>(&'v self, t: &'v Turn<'a>) -> &'v UttView<'a> {
        match t {
            Turn::One(i) => &self.utts[*i],
            Turn::Merged(v) => v,
        }
    }

    /// What a text condition (phrases, patterns) reads: like [`scope`](Self::scope), but
    /// `first`/`last` count turns, each read as one text, so a phrase cut across two
    /// fragments (「客服中」「心」) is found and `first = 2` is not used up by one sentence
    /// the recogniser cut in three.
    pub fn text_scope(
        &self,
        role: RoleFilter,
        position: Option<&Position>,
        lenient: bool,
    ) -> Vec<&UttView<'a>> {
        match position {
            Some(p) if p.first.is_some() || p.last.is_some() => p.apply(
                self.turns
                    .iter()
                    .map(|t| self.turn(t))
                    .filter(|u| role.admits(u.u.role, lenient))
                    .collect(),
                self.duration,
            ),
            _ => self.scope(role, position, lenient),
        }
    }

    /// Speech of this role the recogniser gave no text for that falls inside what a condition
    /// with this position reads (each span counted as one more utterance for `first`/`last`):
    /// whether a phrase was said there is unknown. Spans shorter than `min_s` are left out:
    /// too short to hold the phrase (a 0.2 s 「嗯」 is not a lost 「再见」).
    pub fn untranscribed_in_scope(
        &self,
        role: RoleFilter,
        position: Option<&Position>,
        lenient: bool,
        min_s: f64,
    ) -> Option<&'a Untranscribed> {
        let call = self.call;
        if call.untranscribed.is_empty() {
            return None;
        }
        let mut items: Vec<(f64, f64, Option<&'a Untranscribed>)> = self
            .turns
            .iter()
            .map(|t| self.turn(t))
            .filter(|u| role.admits(u.u.role, lenient))
            .map(|u| (u.u.start, u.u.end, None))
            .chain(
                call.untranscribed
                    .iter()
                    .filter(|g| role.admits(g.role, lenient) && g.end - g.start >= min_s)
                    .map(|g| (g.start, g.end, Some(g))),
            )
            .collect();
        items.sort_by(|a, b| a.0.total_cmp(&b.0));
        let items = match position {
            Some(p) => p.select(items, |i| (i.0, i.1), self.duration),
            None => items,
        };
        items.into_iter().find_map(|i| i.2)
    }

    /// An utterance inside what a text condition with this role and position reads whose text
    /// is far too short for its time (fewer than 1 character a second over 1.5 s or more):
    /// speech the recogniser heard but did not write, so whether a phrase was said there is
    /// unknown, as for [`untranscribed_in_scope`](Self::untranscribed_in_scope).
    pub fn sparse_in_scope(
        &self,
        role: RoleFilter,
        position: Option<&Position>,
        lenient: bool,
    ) -> Option<&Utterance> {
        let scope = self.text_scope(role, position, lenient);
        self.utts.iter().map(|v| v.u.as_ref()).find(|u| {
            is_sparse(u)
                && scope.iter().any(|t| {
                    t.u.role == u.role && u.start >= t.u.start - 1e-6 && u.end <= t.u.end + 1e-6
                })
        })
    }
}

/// True when `u`'s text is far too short for its time (see [`SPARSE_MIN_S`]). Only text the
/// recogniser wrote (it comes with character times) is judged: a hand-written record's
/// utterance times are the writer's guess.
fn is_sparse(u: &Utterance) -> bool {
    if u.char_times.is_empty() {
        return false;
    }
    let d = u.end - u.start;
    let chars = u.text.chars().filter(|c| c.is_alphanumeric()).count();
    d >= SPARSE_MIN_S && (chars as f64) < d * SPARSE_CPS
}

/// One turn: a lone utterance (its index in [`CallView::utts`], prepared once there) or
/// several fragments joined.
enum Turn<'a> {
    One(usize),
    Merged(Box<UttView<'a>>),
}

/// Merge each run of one speaker's fragments (adjacent in time order, same role, pause under
/// [`FRAGMENT_GAP_S`]) into one view; a lone utterance is referred to by index.
fn merge_fragments<'a>(utts: &[UttView<'a>]) -> Vec<Turn<'a>> {
    let mut out: Vec<Turn<'a>> = Vec::new();
    let mut i = 0;
    while i < utts.len() {
        let mut j = i + 1;
        while j < utts.len()
            && utts[j].u.role == utts[i].u.role
            && utts[j].u.start - utts[j - 1].u.end < FRAGMENT_GAP_S
        {
            j += 1;
        }
        out.push(if j == i + 1 {
            Turn::One(i)
        } else {
            let run = &utts[i..j];
            let mut m = (*run[0].u).clone();
            m.end = run.iter().map(|u| u.u.end).fold(m.end, f64::max);
            m.text = run.iter().map(|u| u.u.text.as_str()).collect();
            m.char_times = run.iter().flat_map(|u| u.u.char_times.clone()).collect();
            m.char_probs = run.iter().flat_map(|u| u.u.char_probs.clone()).collect();
            // The turn holds the strongest classifier signal of its fragments.
            for u in &run[1..] {
                for (head, labels) in &u.u.scores {
                    let into = m.scores.entry(head.clone()).or_default();
                    for (label, p) in labels {
                        let q = into.entry(label.clone()).or_insert(*p);
                        *q = q.max(*p);
                    }
                }
            }
            // jieba tokens of the joined text are recomputed when a phrase needs them.
            m.tokens.clear();
            let prep = Prepared::new(&m.text, &[]);
            Turn::Merged(Box::new(UttView {
                u: Cow::Owned(m),
                pos: run[0].pos,
                prep,
            }))
        });
        i = j;
    }
    out
}
