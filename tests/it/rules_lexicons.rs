//! The shipped lexicons on sentences that must and must not match: false positives that cost an
//! agent a fatal zero or a deduction (an insurance agent asking 「投保前有病吗」 is not insulting
//! anyone), and the seed's own wording that must be found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use zhijian::record::{CallRecord, Role, Utterance};
use zhijian::rules::checks::{Compiler, Ctx};
use zhijian::rules::view::CallView;
use zhijian::rules::{Condition, Lexicons, Scorecard, Verdict};

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rules")
}

fn one(role: Role, text: &str) -> CallRecord {
    CallRecord {
        duration_s: 5.0,
        utterances: vec![Utterance {
            id: 0,
            role,
            start: 0.0,
            end: 5.0,
            text: text.to_string(),
            ..Utterance::default()
        }],
        ..CallRecord::default()
    }
}

/// `keywords` over a shipped lexicon for `role`.
fn lexicon_condition(lexicon: &str, role: &str) -> Condition {
    let src = format!("w = {{ kind = \"keywords\", lexicon = \"{lexicon}\", role = \"{role}\" }}");
    let mut c = toml::from_str::<BTreeMap<String, Condition>>(&src)
        .unwrap()
        .remove("w")
        .unwrap();
    let lex = Lexicons::load_dir(&rules_dir().join("lexicons")).unwrap();
    let names = BTreeSet::new();
    let mut cx = Compiler::new(&lex, &names, Vec::new());
    c.compile(&mut cx);
    assert!(cx.problems.is_empty(), "{:?}", cx.problems);
    c
}

fn verdict(c: &Condition, named: &BTreeMap<String, Condition>, role: Role, text: &str) -> Verdict {
    let call = one(role, text);
    let view = CallView::new(&call);
    c.eval(&Ctx::new(&view, named)).verdict
}

/// Every `hit` sentence matches and no `miss` sentence does.
fn check(
    c: &Condition,
    named: &BTreeMap<String, Condition>,
    role: Role,
    hit: &[&str],
    miss: &[&str],
) {
    for s in hit {
        assert_eq!(verdict(c, named, role, s), Verdict::Hit, "must match: {s}");
    }
    for s in miss {
        assert_eq!(
            verdict(c, named, role, s),
            Verdict::Clear,
            "must not match: {s}"
        );
    }
}

#[test]
fn insults_are_insults_not_underwriting_questions() {
    let c = lexicon_condition("insults", "agent");
    check(
        &c,
        &BTreeMap::new(),
        Role::Agent,
        &[
            "你有病吧，跟你说了多少遍",
            "你是不是有病",
            "你算什么东西",
            "你算个什么东西",
            "神经病",
        ],
        &[
            "请问您投保前有病吗？",
            "您之前有病史吗？",
            "您买的是什么东西？",
            "请问您寄的是什么东西呀",
        ],
    );
}

#[test]
fn escalation_is_a_threat_not_claims_paperwork() {
    let c = lexicon_condition("escalation", "customer");
    check(
        &c,
        &BTreeMap::new(),
        Role::Customer,
        &[
            "再不处理我就找律师告你们",
            "我要起诉你们",
            "我要找媒体曝光",
            "那就法院见",
            "我要打12315",
        ],
        &[
            "理赔需要法院的判决书吗？",
            "我的律师函复印件已经寄过去了",
            "媒体上说这个险种可以赔",
            "律师说要先去报案",
            "对方已经请了律师，我这边要准备什么材料",
        ],
    );
}

#[test]
fn identity_checks_include_name_id_number_and_policy_number() {
    // The cards' `identity_checked` condition: the lexicon or 「请问是X先生/女士吗」.
    for card in ["insurance.toml", "outbound_sales.toml"] {
        let card = Scorecard::load(rules_dir().join(card)).unwrap();
        let c = &card.conditions["identity_checked"];
        check(
            c,
            &card.conditions,
            Role::Agent,
            &[
                "请问是王先生吗？",
                "您好，请问是李女士吗",
                "请问您是张先生本人吗",
                "请您提供一下身份证号码",
                "麻烦报一下您的保单号",
            ],
            &[
                "请问有什么可以帮您",
                "好的，我帮您查一下",
                "王先生，您的保单已经生效了",
            ],
        );
    }
}

#[test]
fn misleading_tariff_includes_the_seeds_own_words() {
    // 004 诈单（5）: 「业务套餐资费为5元/月，客服代表向客户强调每天只多收1毛多钱」.
    let c = lexicon_condition("misleading", "agent");
    check(
        &c,
        &BTreeMap::new(),
        Role::Agent,
        &[
            "每天只多收1毛多钱",
            "这个套餐每天只多收一毛多钱，很划算",
            "每天只要三毛钱",
        ],
        &[
            "资费是每月五元，按月收取",
            "每月五元，不需要的话发送取消到10086",
        ],
    );
}

#[test]
fn new_lexicons_for_the_seed_items() {
    type Case<'a> = (&'a str, &'a str, Role, &'a [&'a str], &'a [&'a str]);
    let cases: [Case; 5] = [
        (
            "reluctant",
            "agent",
            Role::Agent,
            &["我已经解释过了", "没别的事我先挂了啊", "不跟你说了"],
            &["我再给您解释一下", "那就这样吧，祝您生活愉快"],
        ),
        (
            "discrimination",
            "agent",
            Role::Agent,
            &["你们农村人就是不懂", "跟你说你也不懂"],
            &["您在农村也可以办理", "我跟您说一下办理流程"],
        ),
        (
            "handover",
            "customer",
            Role::Customer,
            &["你跟我老公说吧", "我不是机主，我是他爱人"],
            &["我老公也办了这个", "我是机主本人"],
        ),
        (
            "free_call",
            "agent",
            Role::Agent,
            &["本次通话免费", "接听免费，不会产生话费"],
            &["这个套餐不是免费的"],
        ),
        (
            "convenient",
            "agent",
            Role::Agent,
            &["请问您现在方便接听吗", "打扰您一分钟"],
            &["办理很方便"],
        ),
    ];
    for (lex, role, r, hit, miss) in cases {
        let c = lexicon_condition(lex, role);
        check(&c, &BTreeMap::new(), r, hit, miss);
    }
}
