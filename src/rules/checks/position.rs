//! The `position` filter of the text kinds: where in the call a condition looks.

use super::Compiler;
use crate::rules::view::UttView;
use serde::Deserialize;

documented! { EXPLAIN,
/// `position`: which part of the call a text condition reads (a filter inside `keywords`,
/// `regex`, `absence` and `said`, not a kind of its own).
///
/// ## What it checks
/// - `first_s = N`: utterances that start within the first N seconds of the recording;
/// - `last_s = N`: utterances that end within the last N seconds;
/// - `first = N` / `last = N`: the first or last N utterances *of the selected role* (so
///   `role = "agent", position = { first = 1 }` is the agent's opening line). For phrases and
///   patterns (`keywords`, `absence`, `said`, `regex`) they count *turns*: the fragments the
///   recogniser cut one turn into (same speaker, nobody between, pauses under 1.2 s) are
///   read as one text, so 「客服中」「心」 is 客服中心.
///
/// Several keys narrow together (all must hold). Time is measured from the start of the
/// recording, which on a switch recording is the moment the call was answered.
///
/// ## Example
/// ```toml
/// # company and staff number stated within 15 s
/// when = { kind = "absence", phrases = ["工号"], role = "agent", position = { first_s = 15 } }
/// # the agent's last two utterances close the call
/// when = { kind = "absence", lexicon = "closings", role = "agent", position = { last = 2 } }
/// ```
#[derive(Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Position {
    pub first_s: Option<f64>,
    pub last_s: Option<f64>,
    pub first: Option<usize>,
    pub last: Option<usize>,
}
}

impl Position {
    pub fn compile(&self, cx: &mut Compiler) {
        cx.nested("position", |cx| {
            if self.first_s.is_none()
                && self.last_s.is_none()
                && self.first.is_none()
                && self.last.is_none()
            {
                cx.problem("", "empty position: give first_s, last_s, first or last");
            }
            for (key, v) in [("first_s", self.first_s), ("last_s", self.last_s)] {
                if v.is_some_and(|v| !super::is_positive(v)) {
                    cx.problem(key, format!("{key} must be a positive number of seconds"));
                }
            }
            for (key, v) in [("first", self.first), ("last", self.last)] {
                if v == Some(0) {
                    cx.problem(key, format!("{key} must be at least 1"));
                }
            }
        });
    }

    /// Narrow `utts` (already filtered by role, in time order) to this position in a call of
    /// `duration` seconds.
    pub fn apply<'v, 'a>(&self, utts: Vec<&'v UttView<'a>>, duration: f64) -> Vec<&'v UttView<'a>> {
        self.select(utts, |u| (u.u.start, u.u.end), duration)
    }

    /// [`apply`](Self::apply) for any timed items (e.g. utterances and untranscribed spans
    /// together), in time order.
    pub fn select<T>(
        &self,
        mut items: Vec<T>,
        times: impl Fn(&T) -> (f64, f64),
        duration: f64,
    ) -> Vec<T> {
        if let Some(n) = self.first {
            items.truncate(n);
        }
        if let Some(n) = self.last {
            let skip = items.len().saturating_sub(n);
            items.drain(..skip);
        }
        if let Some(s) = self.first_s {
            items.retain(|u| times(u).0 < s);
        }
        if let Some(s) = self.last_s {
            items.retain(|u| times(u).1 > duration - s);
        }
        items
    }

    /// The time window this position covers, for "not said" evidence.
    pub fn window(&self, duration: f64) -> (f64, f64) {
        let start = self.last_s.map_or(0.0, |s| (duration - s).max(0.0));
        let end = self.first_s.unwrap_or(duration);
        (start, end)
    }

    /// Short Chinese description for notes: "前15秒", "最后2句".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.first_s {
            parts.push(format!("前{s}秒"));
        }
        if let Some(s) = self.last_s {
            parts.push(format!("最后{s}秒"));
        }
        if let Some(n) = self.first {
            parts.push(format!("前{n}句"));
        }
        if let Some(n) = self.last {
            parts.push(format!("最后{n}句"));
        }
        parts.join("、")
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::call;
    use super::*;
    use crate::rules::view::CallView;

    fn ids(p: &Position, v: &CallView) -> Vec<usize> {
        p.apply(v.utts.iter().collect(), v.duration)
            .iter()
            .map(|u| u.u.id)
            .collect()
    }

    #[test]
    fn narrows_by_time_and_by_count() {
        let c = call(&[
            ("a", 0.5, 3.0, "您好"),
            ("c", 3.5, 6.0, "你好"),
            ("a", 14.0, 20.0, "我是工号1086"),
            ("a", 40.0, 50.0, "再见"),
        ]);
        let v = CallView::new(&c);
        let p = |s: &str| toml::from_str::<Position>(s).unwrap();
        assert_eq!(ids(&p("first_s = 15"), &v), [0, 1, 2]);
        assert_eq!(ids(&p("first_s = 10"), &v), [0, 1]);
        assert_eq!(ids(&p("last_s = 15"), &v), [3]);
        assert_eq!(ids(&p("first = 2"), &v), [0, 1]);
        assert_eq!(ids(&p("last = 3"), &v), [1, 2, 3]);
        assert_eq!(ids(&p("first = 3\nfirst_s = 10"), &v), [0, 1]);
        assert_eq!(p("first_s = 15").window(50.0), (0.0, 15.0));
        assert_eq!(p("last_s = 10").window(50.0), (40.0, 50.0));
        assert_eq!(p("first_s = 15\nlast = 2").describe(), "前15秒、最后2句");
    }
}
