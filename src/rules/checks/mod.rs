//! Condition kinds: what an item looks for in a call.
//!
//! Each kind lives in its own file with its documentation (shown by `zhijian rules explain
//! KIND`), a `deny_unknown_fields` struct that is the TOML table, a `compile` step that resolves
//! lexicons and checks values, and an `eval` that returns an [`Outcome`] with evidence. To add a
//! kind: write the file, add one line to [`Condition`] and one arm to each `match` below; the
//! compiler points at every place that needs it.
//!
//! Outcomes are three-valued. `Unknown` means the call does not carry what the condition needs
//! (no transcript, no classifier scores, hang-up side unknown, speaker roles uncertain on a mono
//! recording): the item is then sent to review instead of being guessed either way.

pub use crate::record::verdict::Evidence;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// Declare a kind's struct together with its documentation, and keep that documentation as
/// the constant `$explain` for `zhijian rules explain` (ruff's `explain()`, without a proc macro).
macro_rules! documented {
    // The item must start with `#[derive(...)]`: a plain `$item` after the doc attributes would be
    // ambiguous (an item may itself begin with attributes).
    ($explain:ident, $(#[doc = $doc:literal])+ #[derive($($d:tt)*)] $($item:tt)*) => {
        $(#[doc = $doc])+
        #[derive($($d)*)]
        $($item)*
        pub const $explain: &str = concat!($($doc, "\n"),+);
    };
}

pub mod absence;
pub mod boolean;
pub mod classifier;
pub mod context;
pub mod counts;
pub mod duration;
pub mod hangup;
pub mod identity_check;
pub mod interruptions;
pub mod keywords;
pub mod latency;
pub mod metadata;
pub mod pii_request;
pub mod position;
pub mod regex;
pub mod role;
pub mod said;
pub mod script;
pub mod sentiment_trend;
pub mod silence;
pub mod speech_rate;

pub use position::Position;
pub use role::RoleFilter;

use super::view::CallView;

/// A condition, written in TOML as a table whose `kind` names the variant.
#[derive(Deserialize, Debug, Clone)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    Keywords(keywords::Keywords),
    Regex(regex::RegexCheck),
    Absence(absence::Absence),
    Context(context::Context),
    Counts(counts::Counts),
    Silence(silence::Silence),
    SpeechRate(speech_rate::SpeechRate),
    Interruptions(interruptions::Interruptions),
    Latency(latency::Latency),
    Duration(duration::Duration),
    Hangup(hangup::Hangup),
    Classifier(classifier::Classifier),
    SentimentTrend(sentiment_trend::SentimentTrend),
    Metadata(metadata::Metadata),
    PiiRequest(pii_request::PiiRequest),
    Script(script::Script),
    // Boxed: three `said` tables make it much larger than the other kinds.
    IdentityCheck(Box<identity_check::IdentityCheck>),
    All(boolean::All),
    Any(boolean::Any),
    Not(boolean::Not),
}

/// Every kind name and its documentation, for `rules explain`. `role` and `position` are filters
/// used inside the text kinds, listed so that they can be explained too.
pub const KINDS: &[(&str, &str)] = &[
    ("keywords", keywords::EXPLAIN),
    ("regex", regex::EXPLAIN),
    ("absence", absence::EXPLAIN),
    ("context", context::EXPLAIN),
    ("counts", counts::EXPLAIN),
    ("silence", silence::EXPLAIN),
    ("speech_rate", speech_rate::EXPLAIN),
    ("interruptions", interruptions::EXPLAIN),
    ("latency", latency::EXPLAIN),
    ("duration", duration::EXPLAIN),
    ("hangup", hangup::EXPLAIN),
    ("classifier", classifier::EXPLAIN),
    ("sentiment_trend", sentiment_trend::EXPLAIN),
    ("metadata", metadata::EXPLAIN),
    ("pii_request", pii_request::EXPLAIN),
    ("script", script::EXPLAIN),
    ("identity_check", identity_check::EXPLAIN),
    ("all", boolean::EXPLAIN_ALL),
    ("any", boolean::EXPLAIN_ANY),
    ("not", boolean::EXPLAIN_NOT),
    ("role", role::EXPLAIN),
    ("position", position::EXPLAIN),
    ("said", said::EXPLAIN),
];

impl Condition {
    pub fn kind(&self) -> &'static str {
        match self {
            Condition::Keywords(_) => "keywords",
            Condition::Regex(_) => "regex",
            Condition::Absence(_) => "absence",
            Condition::Context(_) => "context",
            Condition::Counts(_) => "counts",
            Condition::Silence(_) => "silence",
            Condition::SpeechRate(_) => "speech_rate",
            Condition::Interruptions(_) => "interruptions",
            Condition::Latency(_) => "latency",
            Condition::Duration(_) => "duration",
            Condition::Hangup(_) => "hangup",
            Condition::Classifier(_) => "classifier",
            Condition::SentimentTrend(_) => "sentiment_trend",
            Condition::Metadata(_) => "metadata",
            Condition::PiiRequest(_) => "pii_request",
            Condition::Script(_) => "script",
            Condition::IdentityCheck(_) => "identity_check",
            Condition::All(_) => "all",
            Condition::Any(_) => "any",
            Condition::Not(_) => "not",
        }
    }

    /// Resolve lexicons, compile phrases and patterns, and report bad values through `cx`.
    pub fn compile(&mut self, cx: &mut Compiler) {
        match self {
            Condition::Keywords(c) => c.compile(cx),
            Condition::Regex(c) => c.compile(cx),
            Condition::Absence(c) => c.compile(cx),
            Condition::Context(c) => c.compile(cx),
            Condition::Counts(c) => c.compile(cx),
            Condition::Silence(c) => c.compile(cx),
            Condition::SpeechRate(c) => c.compile(cx),
            Condition::Interruptions(c) => c.compile(cx),
            Condition::Latency(c) => c.compile(cx),
            Condition::Duration(c) => c.compile(cx),
            Condition::Hangup(_) => {}
            Condition::Classifier(c) => c.compile(cx),
            Condition::SentimentTrend(c) => c.compile(cx),
            Condition::Metadata(c) => c.compile(cx),
            Condition::PiiRequest(c) => c.compile(cx),
            Condition::Script(c) => c.compile(cx),
            Condition::IdentityCheck(c) => c.compile(cx),
            Condition::All(c) => c.compile(cx),
            Condition::Any(c) => c.compile(cx),
            Condition::Not(c) => c.compile(cx),
        }
    }

    /// Named conditions this one refers to (for reference and cycle checks).
    pub fn refs(&self) -> Vec<&str> {
        match self {
            Condition::All(c) => c.of.iter().map(String::as_str).collect(),
            Condition::Any(c) => c.of.iter().map(String::as_str).collect(),
            Condition::Not(c) => vec![c.of.as_str()],
            _ => Vec::new(),
        }
    }

    /// True when the result depends on which utterances belong to the agent or the customer.
    fn uses_roles(&self) -> bool {
        match self {
            Condition::Keywords(c) => c.role != RoleFilter::Any,
            Condition::Regex(c) => c.role != RoleFilter::Any,
            Condition::Absence(c) => c.role != RoleFilter::Any,
            Condition::Context(c) => {
                c.first.role != RoleFilter::Any || c.then.role != RoleFilter::Any
            }
            Condition::Counts(c) => {
                c.of.role != RoleFilter::Any
                    || c.then.as_ref().is_some_and(|t| t.role != RoleFilter::Any)
            }
            Condition::Silence(c) => c
                .except_after
                .as_ref()
                .is_some_and(|s| s.role != RoleFilter::Any),
            Condition::SpeechRate(_) | Condition::Classifier(_) => true,
            Condition::PiiRequest(c) => c.role != RoleFilter::Any,
            Condition::Script(c) => c.role != RoleFilter::Any,
            Condition::IdentityCheck(_) => true,
            _ => false,
        }
    }

    /// Evaluate on a call. On a call with utterances of unknown speaker (mono, `mixed`),
    /// role-dependent conditions are evaluated twice: with those utterances left out and with
    /// them counted for either side. When the two disagree the answer is `Unknown`.
    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_uncertain_roles() || !self.uses_roles() {
            return self.eval_with(cx, false);
        }
        let strict = self.eval_with(cx, false);
        let lenient = self.eval_with(cx, true);
        if strict.verdict == lenient.verdict {
            return strict;
        }
        Outcome::unknown(
            "speaker roles are uncertain (mono recording): the answer depends on who said what",
            lenient.evidence,
        )
    }

    fn eval_with(&self, cx: &Ctx, lenient: bool) -> Outcome {
        let cx = Ctx { lenient, ..*cx };
        match self {
            Condition::Keywords(c) => c.eval(&cx),
            Condition::Regex(c) => c.eval(&cx),
            Condition::Absence(c) => c.eval(&cx),
            Condition::Context(c) => c.eval(&cx),
            Condition::Counts(c) => c.eval(&cx),
            Condition::Silence(c) => c.eval(&cx),
            Condition::SpeechRate(c) => c.eval(&cx),
            Condition::Interruptions(c) => c.eval(&cx),
            Condition::Latency(c) => c.eval(&cx),
            Condition::Duration(c) => c.eval(&cx),
            Condition::Hangup(c) => c.eval(&cx),
            Condition::Classifier(c) => c.eval(&cx),
            Condition::SentimentTrend(c) => c.eval(&cx),
            Condition::Metadata(c) => c.eval(&cx),
            Condition::PiiRequest(c) => c.eval(&cx),
            Condition::Script(c) => c.eval(&cx),
            Condition::IdentityCheck(c) => c.eval(&cx),
            Condition::All(c) => c.eval(&cx),
            Condition::Any(c) => c.eval(&cx),
            Condition::Not(c) => c.eval(&cx),
        }
    }
}

/// What an evaluation needs: the call, the card's named conditions, and whether utterances of
/// unknown speaker count for a role.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub view: &'a CallView<'a>,
    pub named: &'a BTreeMap<String, Condition>,
    pub lenient: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(view: &'a CallView<'a>, named: &'a BTreeMap<String, Condition>) -> Ctx<'a> {
        Ctx {
            view,
            named,
            lenient: false,
        }
    }
}

/// Three-valued result of a condition.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Hit,
    Clear,
    Unknown,
}

/// A condition's answer for one call.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// How many times the condition occurred (for per-occurrence items); 0 unless `Hit`.
    pub occurrences: usize,
    pub evidence: Vec<Evidence>,
    /// Why the answer is `Unknown` (or a note on a `Hit`).
    pub reason: Option<String>,
}

impl Outcome {
    pub fn clear() -> Outcome {
        Outcome {
            verdict: Verdict::Clear,
            occurrences: 0,
            evidence: Vec::new(),
            reason: None,
        }
    }
    /// A hit occurring `occurrences` times (at least once).
    pub fn hit(occurrences: usize, evidence: Vec<Evidence>) -> Outcome {
        Outcome {
            verdict: Verdict::Hit,
            occurrences: occurrences.max(1),
            evidence,
            reason: None,
        }
    }
    pub fn unknown(reason: impl Into<String>, evidence: Vec<Evidence>) -> Outcome {
        Outcome {
            verdict: Verdict::Unknown,
            occurrences: 0,
            evidence,
            reason: Some(reason.into()),
        }
    }
    /// `Hit` when `hit`, else `Clear`; evidence kept only for a hit.
    pub fn from_bool(hit: bool, occurrences: usize, evidence: Vec<Evidence>) -> Outcome {
        if hit {
            Outcome::hit(occurrences, evidence)
        } else {
            Outcome::clear()
        }
    }
    pub fn is_hit(&self) -> bool {
        self.verdict == Verdict::Hit
    }
}

/// One step of a path into the TOML document, for locating problems.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// Compile-time context: the lexicons, the card's condition names, and the problems found so
/// far, each with the path of the offending value.
pub struct Compiler<'a> {
    pub lexicons: &'a super::Lexicons,
    pub names: &'a std::collections::BTreeSet<String>,
    path: Vec<PathSeg>,
    pub problems: Vec<(Vec<PathSeg>, String)>,
}

impl<'a> Compiler<'a> {
    pub fn new(
        lexicons: &'a super::Lexicons,
        names: &'a std::collections::BTreeSet<String>,
        base: Vec<PathSeg>,
    ) -> Compiler<'a> {
        Compiler {
            lexicons,
            names,
            path: base,
            problems: Vec::new(),
        }
    }

    /// Report a problem at `key` (a field of the table being compiled; empty for the table).
    pub fn problem(&mut self, key: &str, message: impl Into<String>) {
        let mut path = self.path.clone();
        if !key.is_empty() {
            path.push(PathSeg::Key(key.to_string()));
        }
        self.problems.push((path, message.into()));
    }

    /// Compile a nested table found under `key`.
    pub fn nested<R>(&mut self, key: &str, f: impl FnOnce(&mut Compiler) -> R) -> R {
        self.path.push(PathSeg::Key(key.to_string()));
        let r = f(self);
        self.path.pop();
        r
    }
}

/// A field that takes one name or a list of names (`lexicon`, `label`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names(pub Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a name or a list of names")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Names, E> {
                Ok(Names(vec![v.to_string()]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Names(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Combine verdicts with "and" (Kleene logic: any `Clear` wins, then any `Unknown`).
pub fn and(vs: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut out = Verdict::Hit;
    for v in vs {
        match v {
            Verdict::Clear => return Verdict::Clear,
            Verdict::Unknown => out = Verdict::Unknown,
            Verdict::Hit => {}
        }
    }
    out
}

/// Combine verdicts with "or" (any `Hit` wins, then any `Unknown`).
pub fn or(vs: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut out = Verdict::Clear;
    for v in vs {
        match v {
            Verdict::Hit => return Verdict::Hit,
            Verdict::Unknown => out = Verdict::Unknown,
            Verdict::Clear => {}
        }
    }
    out
}

/// True for a positive number (false for NaN, which TOML allows as `nan`).
pub(crate) fn is_positive(v: f64) -> bool {
    v > 0.0
}

/// Format seconds for notes: 12.3 s.
pub(crate) fn secs(s: f64) -> String {
    format!("{s:.1} s")
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small builders for the checks' unit tests.
    use super::*;
    use crate::record::{CallRecord, Role, Utterance};
    use crate::rules::Lexicons;
    use std::collections::BTreeSet;

    /// A call from `(role, start, end, text)` rows; `a` = agent, `c` = customer, `m` = mixed.
    pub fn call(rows: &[(&str, f64, f64, &str)]) -> CallRecord {
        let utterances = rows
            .iter()
            .enumerate()
            .map(|(id, &(r, start, end, text))| Utterance {
                id,
                role: match r {
                    "a" => Role::Agent,
                    "c" => Role::Customer,
                    _ => Role::Mixed,
                },
                start,
                end,
                text: text.to_string(),
                ..Utterance::default()
            })
            .collect();
        let end = rows.last().map_or(0.0, |r| r.2);
        CallRecord {
            duration_s: end,
            utterances,
            ..CallRecord::default()
        }
    }

    pub fn lexicons() -> Lexicons {
        let mut l = Lexicons::default();
        l.insert("greetings", &["您好", "很高兴为您服务"]);
        l.insert("apology", &["抱歉", "对不起", "不好意思"]);
        l
    }

    /// Parse one condition from an inline TOML table and compile it; panics on problems.
    pub fn cond(src: &str) -> Condition {
        cond_with(src, &BTreeSet::new())
    }

    pub fn cond_with(src: &str, names: &BTreeSet<String>) -> Condition {
        let mut c: Condition = toml::from_str::<BTreeMap<String, Condition>>(&format!("w = {src}"))
            .map(|mut m| m.remove("w").unwrap())
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        let lex = lexicons();
        let mut cx = Compiler::new(&lex, names, Vec::new());
        c.compile(&mut cx);
        assert!(cx.problems.is_empty(), "{src}: {:?}", cx.problems);
        c
    }

    /// Problems reported when compiling `src`.
    pub fn problems(src: &str) -> Vec<String> {
        let mut c: Condition = toml::from_str::<BTreeMap<String, Condition>>(&format!("w = {src}"))
            .map(|mut m| m.remove("w").unwrap())
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        let lex = lexicons();
        let names = BTreeSet::new();
        let mut cx = Compiler::new(&lex, &names, Vec::new());
        c.compile(&mut cx);
        cx.problems.into_iter().map(|(_, m)| m).collect()
    }

    /// Evaluate `c` on `call` with no named conditions.
    pub fn eval(c: &Condition, call: &CallRecord) -> Outcome {
        let view = CallView::new(call);
        let named = BTreeMap::new();
        c.eval(&Ctx::new(&view, &named))
    }

    /// Utterance ids in the evidence.
    pub fn ids(o: &Outcome) -> Vec<usize> {
        o.evidence.iter().filter_map(|e| e.utterance).collect()
    }

    /// Matched texts in the evidence.
    pub fn texts(o: &Outcome) -> Vec<String> {
        o.evidence.iter().filter_map(|e| e.text.clone()).collect()
    }
}
