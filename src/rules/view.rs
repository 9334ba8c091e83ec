//! A call record prepared for evaluation: utterances in time order with their text normalised
//! once, shared by every condition of a scorecard.

use super::checks::{Position, RoleFilter};
use crate::record::{CallRecord, Role, Untranscribed, Utterance};
use crate::text::Prepared;

/// One utterance and its prepared text.
pub struct UttView<'a> {
    pub u: &'a Utterance,
    /// Index in [`CallView::utts`] (time order), used to measure "within N utterances".
    pub pos: usize,
    pub prep: Prepared,
}

pub struct CallView<'a> {
    pub call: &'a CallRecord,
    pub utts: Vec<UttView<'a>>,
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
                u,
                pos,
                prep: Prepared::new(&u.text, &u.tokens),
            })
            .collect();
        let last_end = utts.iter().map(|u| u.u.end).fold(0.0, f64::max);
        let duration = [call.duration_s, call.metrics.duration_s]
            .into_iter()
            .find(|d| *d > 0.0)
            .unwrap_or(last_end);
        CallView {
            call,
            utts,
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

    /// Speech of this role the recogniser gave no text for that falls inside what a condition
    /// with this position reads (each span counted as one more utterance for `first`/`last`):
    /// whether a phrase was said there is unknown.
    pub fn untranscribed_in_scope(
        &self,
        role: RoleFilter,
        position: Option<&Position>,
        lenient: bool,
    ) -> Option<&'a Untranscribed> {
        let call = self.call;
        if call.untranscribed.is_empty() {
            return None;
        }
        let mut items: Vec<(f64, f64, Option<&'a Untranscribed>)> = self
            .utts
            .iter()
            .filter(|u| role.admits(u.u.role, lenient))
            .map(|u| (u.u.start, u.u.end, None))
            .chain(
                call.untranscribed
                    .iter()
                    .filter(|g| role.admits(g.role, lenient))
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
}
