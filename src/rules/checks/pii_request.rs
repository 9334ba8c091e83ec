//! `pii_request`: the agent asks for a password, a full ID or card number, a CVV or a code.

use super::{Compiler, Ctx, Evidence, Outcome, RoleFilter};
use crate::pii::Kind;
use crate::rules::view::UttView;
use serde::Deserialize;

documented! { EXPLAIN,
/// `pii_request`: someone (by default the agent) asks the customer to say a password, the full
/// ID or bank card number, the card's CVV or a verification code — a compliance violation at
/// banks, where these are entered on the keypad or never asked for at all.
///
/// ## What it checks
/// Each utterance in scope whose normalised text names one of `what` — `password` (密码, 取款密码,
/// 交易密码 …), `id_number` (身份证号, 证件号码), `card_number` (卡号, 银行卡号), `cvv` (安全码,
/// 背面三位), `code` (验证码, 动态码) — together with a request (告诉我, 报一下, 说一下, 念一下,
/// 提供, 是多少 …). Not a request: a warning (请不要告诉任何人密码,
/// 我们不会索要您的密码), asking for part of a number (身份证后四位, 卡号尾号), or the keypad
/// (请在按键上输入密码). A negation anywhere in the utterance makes it a warning. With `answered = true` a request counts only when the customer then says
/// personal data of the matching type (a code, an ID or a card number, found by the detector)
/// within `within_utterances` utterances (default 3). Each request is an occurrence; the
/// evidence quotes it (and the answer, masked).
///
/// ## Example
/// ```toml
/// # 索要客户密码或完整身份证号
/// when = { kind = "pii_request", what = ["password", "id_number"] }
/// # …and the customer actually read the password out
/// when = { kind = "pii_request", what = ["password", "cvv"], answered = true }
/// ```
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PiiRequest {
    pub what: Vec<String>,
    #[serde(default = "agent")]
    pub role: RoleFilter,
    #[serde(default)]
    pub answered: bool,
    #[serde(default)]
    pub within_utterances: Option<usize>,
    #[serde(skip)]
    targets: Vec<Target>,
}
}

fn agent() -> RoleFilter {
    RoleFilter::Agent
}

/// One thing that may be asked for: its name, the words that name it, and the entity type of
/// an answer.
#[derive(Clone, Copy, Debug)]
struct Target {
    name: &'static str,
    words: &'static [&'static str],
    answer: Kind,
    /// Asking for part of it (后四位) is allowed.
    partial_ok: bool,
}

const TARGETS: &[Target] = &[
    Target {
        name: "password",
        words: &["密码"],
        answer: Kind::Code,
        partial_ok: false,
    },
    Target {
        name: "id_number",
        words: &["身份证号", "身份证的号", "证件号", "身份证"],
        answer: Kind::IdCard,
        partial_ok: true,
    },
    Target {
        name: "card_number",
        words: &["卡号", "卡的号"],
        answer: Kind::BankCard,
        partial_ok: true,
    },
    Target {
        name: "cvv",
        words: &[
            "cvv",
            "cvn",
            "安全码",
            "背面3位",
            "背面的3位",
            "背后3位",
            "背面后3位",
        ],
        answer: Kind::Code,
        partial_ok: false,
    },
    Target {
        name: "code",
        words: &["验证码", "动态码", "短信码", "校验码"],
        answer: Kind::Code,
        partial_ok: false,
    },
];

/// A request around the named thing (before it or after it).
const REQUEST_BEFORE: &[&str] = &[
    "告诉我",
    "告诉一下",
    "报一下",
    "报给我",
    "说一下",
    "说给我",
    "念一下",
    "读一下",
    "提供一下",
    "提供",
    "给我",
    "发给我",
    "讲一下",
    "报下",
    "说下",
    "念下",
    "核对一下",
    "确认一下",
];
const REQUEST_AFTER: &[&str] = &[
    "是多少",
    "多少",
    "报一下",
    "说一下",
    "念一下",
    "告诉我",
    "给我",
    "发我",
    "报给我",
];
const NEGATIONS: &[&str] = &[
    "不要",
    "不会",
    "请勿",
    "切勿",
    "不能",
    "别",
    "不得",
    "不可以",
    "不用",
    "无需",
    "不需要",
    "谨防",
    "任何人",
    "不索要",
];
const PARTIAL: &[&str] = &[
    "后4位",
    "后6位",
    "末4位",
    "末6位",
    "尾号",
    "前6位",
    "后几位",
    "后四位",
    "后六位",
];
const KEYPAD: &[&str] = &["按键", "输入"];

impl PiiRequest {
    pub fn compile(&mut self, cx: &mut Compiler) {
        self.targets.clear();
        for w in &self.what {
            match TARGETS.iter().find(|t| t.name == w) {
                Some(t) => self.targets.push(*t),
                None => {
                    let known: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
                    cx.problem(
                        "what",
                        format!("unknown `{w}` (known: {})", known.join(", ")),
                    );
                }
            }
        }
        if self.what.is_empty() {
            cx.problem("what", "name at least one thing asked for");
        }
        if self.within_utterances == Some(0) {
            cx.problem("within_utterances", "within_utterances must be at least 1");
        }
    }

    /// The first target `u` asks for, with the word that named it.
    fn request(&self, u: &UttView) -> Option<(Target, &'static str)> {
        let t: String = crate::text::normalize(&u.u.text);
        for target in &self.targets {
            for w in target.words {
                let Some(at) = t.find(w) else { continue };
                let (before, after) = (&t[..at], &t[at + w.len()..]);
                let head: String = after.chars().take(6).collect();
                if NEGATIONS.iter().any(|n| t.contains(n))
                    || KEYPAD.iter().any(|k| t.contains(k))
                    || (target.partial_ok && PARTIAL.iter().any(|p| head.contains(p)))
                {
                    continue;
                }
                let tail: String = before
                    .chars()
                    .rev()
                    .take(10)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let asked = REQUEST_BEFORE.iter().any(|r| tail.contains(r))
                    || REQUEST_AFTER
                        .iter()
                        .any(|r| head.starts_with(r) || head.contains(r));
                if asked {
                    return Some((*target, *w));
                }
            }
        }
        None
    }

    pub fn eval(&self, cx: &Ctx) -> Outcome {
        if !cx.view.has_transcript() {
            return Outcome::unknown("no transcript", vec![]);
        }
        let entities = if self.answered {
            crate::pii::entities_of(cx.view.call)
        } else {
            Vec::new()
        };
        let within = self.within_utterances.unwrap_or(3);
        let mut evidence = Vec::new();
        let mut occurrences = 0;
        for u in cx.view.scope(self.role, None, cx.lenient) {
            let Some((target, word)) = self.request(u) else {
                continue;
            };
            let mut ev = vec![Evidence {
                utterance: Some(u.u.id),
                role: Some(u.u.role),
                start: u.u.start,
                end: u.u.end,
                text: Some(u.u.text.clone()),
                phrase: Some(word.to_string()),
                note: format!("索要{}", target_zh(target.name)),
            }];
            if self.answered {
                let answer = cx.view.utts.iter().find(|v| {
                    v.pos > u.pos
                        && v.pos - u.pos <= within
                        && v.u.role != crate::record::Role::Agent
                        && entities
                            .iter()
                            .any(|e| e.utterance == v.u.id && e.kind == target.answer)
                });
                let Some(a) = answer else { continue };
                let masked = entities
                    .iter()
                    .find(|e| e.utterance == a.u.id && e.kind == target.answer)
                    .map(|e| e.masked.clone());
                ev.push(Evidence {
                    utterance: Some(a.u.id),
                    role: Some(a.u.role),
                    start: a.u.start,
                    end: a.u.end,
                    text: masked,
                    phrase: None,
                    note: format!("客户报出{}", target.answer.zh()),
                });
            }
            occurrences += 1;
            evidence.extend(ev);
        }
        Outcome::from_bool(occurrences > 0, occurrences, evidence)
    }
}

fn target_zh(name: &str) -> &'static str {
    match name {
        "password" => "密码",
        "id_number" => "完整身份证号",
        "card_number" => "完整卡号",
        "cvv" => "卡片安全码",
        _ => "验证码",
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, cond, eval, ids, problems};
    use super::super::Verdict;

    const ASKS: &str =
        r#"{ kind = "pii_request", what = ["password", "id_number", "card_number", "cvv"] }"#;

    #[test]
    fn requests_are_found_and_warnings_partial_numbers_and_keypad_are_not() {
        let c = call(&[
            ("a", 0.0, 3.0, "为了核实身份，请您告诉我您的身份证后四位"),
            ("a", 3.0, 6.0, "请您在按键上输入您的取款密码"),
            ("a", 6.0, 9.0, "您的密码不要告诉任何人，包括我们的工作人员"),
            ("a", 9.0, 12.0, "麻烦您把银行卡的密码报一下"),
            ("a", 12.0, 15.0, "您的身份证号码是多少？"),
            ("c", 15.0, 18.0, "你要我卡号干什么"),
            ("a", 18.0, 21.0, "再念一下卡背面三位数字"),
        ]);
        let o = eval(&cond(ASKS), &c);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(ids(&o), [3, 4, 6]);
        let notes: Vec<&str> = o.evidence.iter().map(|e| e.note.as_str()).collect();
        assert_eq!(notes, ["索要密码", "索要完整身份证号", "索要卡片安全码"]);
    }

    #[test]
    fn answered_needs_the_customer_to_say_it() {
        let k = cond(r#"{ kind = "pii_request", what = ["password"], answered = true }"#);
        let asked_only = call(&[
            ("a", 0.0, 3.0, "请告诉我您的查询密码"),
            ("c", 3.0, 6.0, "这个不方便说"),
        ]);
        assert_eq!(eval(&k, &asked_only).verdict, Verdict::Clear);
        let told = call(&[
            ("a", 0.0, 3.0, "请告诉我您的查询密码"),
            ("c", 3.0, 6.0, "密码是三八二九一七"),
        ]);
        let o = eval(&k, &told);
        assert_eq!(o.verdict, Verdict::Hit);
        assert_eq!(ids(&o), [0, 1]);
        // The answer is quoted masked.
        assert_eq!(o.evidence[1].text.as_deref(), Some("******"));
    }

    #[test]
    fn unknown_targets_are_problems() {
        assert_eq!(
            problems(r#"{ kind = "pii_request", what = ["pin"] }"#),
            ["unknown `pin` (known: password, id_number, card_number, cvv, code)"]
        );
    }
}
