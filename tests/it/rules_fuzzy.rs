//! What fuzzy matching gains and costs on transcripts with realistic Whisper-base errors.
//!
//! Each case is a rule phrase and a transcript line. Positives are lines where the phrase was
//! really said; the transcript may carry the recogniser's errors (homophones such as 来订 for
//! 来电, 公号 for 工号, dropped or swapped characters, Arabic digits). Negatives are lines where
//! it was not said but something similar-sounding or containing its characters was. The test
//! prints recall and false hits per mode (`cargo test --test it fuzzy -- --nocapture`) and pins
//! the counts, so a matcher change that trades one for the other shows up here.
//!
//! The negatives are adversarial by construction (every one sounds like or contains a phrase).
//! A second test measures the everyday cost: every phrase of the shipped lexicons against
//! ordinary, correctly transcribed call-center lines, counting the hits a fuzzy mode makes that
//! exact matching does not — on clean text each of those is a false hit.

use zhijian::text::{MatchMode, Phrase, Prepared};

/// Kind of positive case.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Transcribed correctly.
    Clean,
    /// A same-sounding character (the common Whisper-base error on Mandarin).
    Homophone,
    /// Digits or Chinese numerals written the other way.
    Number,
    /// A different, not same-sounding character, or one dropped or added.
    Other,
}

use Kind::*;

const POSITIVES: &[(Kind, &str, &str)] = &[
    (Clean, "很高兴为您服务", "您好，很高兴为您服务。"),
    (Clean, "我帮您查一下", "好的，我帮您查一下，请稍等。"),
    (Clean, "你听不懂吗", "我说了半天，你听不懂吗？"),
    (Clean, "我已经说过了", "这个我已经说过了。"),
    (Clean, "不需要", "不需要，谢谢。"),
    (Clean, "工号", "我的工号是2046。"),
    (Clean, "投诉", "我要投诉你们。"),
    (Clean, "感谢您的来电", "感谢您的来电，再见。"),
    (Clean, "祝您生活愉快", "祝您生活愉快，再见！"),
    (Clean, "找你们领导", "你别说了，我要找你们领导。"),
    (Clean, "别再打了", "真的没兴趣，别再打了。"),
    (Clean, "非常抱歉", "非常抱歉给您带来不便。"),
    (Clean, "身份证后四位", "请您提供一下身份证后四位。"),
    (Clean, "退订", "回复退订即可取消。"),
    (Clean, "不归我管", "这个不归我管。"),
    (Homophone, "感谢您的来电", "好的，感谢您的来订，再见。"),
    (Homophone, "可以帮您", "请问有什么可疑帮您？"),
    (Homophone, "工号", "我的公号是1086。"),
    (Homophone, "不归我管", "这个不贵我管。"),
    (Homophone, "投诉", "我要头诉你们。"),
    (Homophone, "找你们领导", "我要找你们凌导。"),
    (Homophone, "感谢您的耐心等待", "感谢您的耐心等代。"),
    (Homophone, "稍等", "您烧等一下。"),
    (Homophone, "请稍等", "青稍等，我帮您看看。"),
    (Homophone, "核实一下您的身份", "先核实一下您的身分。"),
    (Homophone, "不感兴趣", "我不敢兴趣。"),
    (Homophone, "别再打了", "你们别在打了。"),
    (Homophone, "非常抱歉", "非常报歉。"),
    (Homophone, "让您久等了", "不好意思让您就等了。"),
    (Homophone, "欢迎再次来电", "欢迎再次来店。"),
    (Homophone, "机主本人", "请问您是鸡主本人吗？"),
    (Homophone, "营业厅", "您可以去营业听办理。"),
    (Homophone, "分期", "这笔可以办分其吗？"),
    (Homophone, "请您稍等", "请您少等。"),
    (Homophone, "你自己看着办", "那你自己看着拌吧。"),
    (Homophone, "不知道", "这个我不知到。"),
    (Homophone, "给您回电", "稍后给您回店。"),
    (Other, "生活愉快", "祝您生活愉怪。"),
    (Number, "工号一零八六", "您好，我的工号1086。"),
    (Number, "三个工作日", "3个工作日内给您回复。"),
    (Number, "三十天", "30天之内可以退。"),
    (Number, "一零零八六", "您可以拨打10086。"),
    (Number, "身份证后四位", "麻烦报一下身份证后4位。"),
    (Number, "十块钱", "每个月多10块钱。"),
    (Other, "很高兴为您服务", "很高兴为你服务。"),
    (Other, "请问有什么可以帮您", "请问有什么可以帮你？"),
    (Other, "感谢您的来电", "感谢你的来电。"),
    (Other, "祝您生活愉快", "祝你生活愉快。"),
    (Other, "感谢您的来电", "感谢您来电，再见。"),
    (Other, "您好", "你好，请问有什么事？"),
    (Other, "请稍等", "请等一下。"),
    (Other, "城市", "一二线尝试虽然也处于调整中。"),
];

const NEGATIVES: &[(&str, &str)] = &[
    ("亲", "请您稍等。"),
    ("亲", "我会亲自帮您处理。"),
    ("亲", "是您母亲的卡吗？"),
    ("滚", "首页有滚动播放的公告。"),
    ("滚", "您家是滚筒洗衣机吗？"),
    ("您好", "您好像还没有开通。"),
    ("不需要", "这个不许要求退款。"),
    ("再见", "这个楼盘还在建。"),
    ("再见", "需要再建一个账户。"),
    ("曝光", "我们公司是做报关的。"),
    ("骗子", "明天去医院拍片子。"),
    ("傻子", "装修用的沙子到了。"),
    ("笨蛋", "本单金额是三百元。"),
    ("资费", "这个药属于自费药品。"),
    ("退订", "这是法律上的推定。"),
    ("工号", "请看一下公告。"),
    ("投诉", "我有点头疼。"),
    ("我已经说过了", "我已经说过他了。"),
    ("你听不懂吗", "你听得懂吗？"),
    ("12315", "我的卡号是12315678。"),
    ("三十天", "这个月有三十一天。"),
    ("二十元", "一共二十五元。"),
    ("领导", "我来引导您操作。"),
    ("很高兴为您服务", "很高兴为您解答。"),
];

/// The ways a rule can match: the four modes, and pinyin without the edit tolerance.
const MODES: &[(&str, MatchMode, Option<usize>)] = &[
    ("exact", MatchMode::Exact, None),
    ("token", MatchMode::Token, None),
    ("pinyin, no edits", MatchMode::Pinyin, Some(0)),
    ("pinyin", MatchMode::Pinyin, None),
    ("auto (default)", MatchMode::Auto, None),
];

fn matches(phrase: &str, text: &str, mode: MatchMode, edits: Option<usize>) -> bool {
    let mut p = Phrase::new(phrase, mode).expect("phrase");
    if let Some(k) = edits {
        p = p.with_max_edits(k);
    }
    p.is_in(&Prepared::new(text, &zhijian::text::tokenize(text)))
}

/// (positives found per kind, total positives found, negatives matched) for one mode.
fn measure(mode: MatchMode, edits: Option<usize>) -> (Vec<usize>, usize, usize) {
    let kinds = [Clean, Homophone, Number, Other];
    let per_kind: Vec<usize> = kinds
        .iter()
        .map(|k| {
            POSITIVES
                .iter()
                .filter(|(kind, p, t)| kind == k && matches(p, t, mode, edits))
                .count()
        })
        .collect();
    let found = per_kind.iter().sum();
    let false_hits = NEGATIVES
        .iter()
        .filter(|(p, t)| matches(p, t, mode, edits))
        .count();
    (per_kind, found, false_hits)
}

#[test]
fn fuzzy_matching_recall_and_false_hits() {
    let count = |k: Kind| POSITIVES.iter().filter(|c| c.0 == k).count();
    let sizes = [count(Clean), count(Homophone), count(Number), count(Other)];
    assert_eq!(sizes, [15, 22, 6, 9]);
    println!(
        "\n{} positives (clean {}, homophone {}, number form {}, other error {}), {} negatives",
        POSITIVES.len(),
        sizes[0],
        sizes[1],
        sizes[2],
        sizes[3],
        NEGATIVES.len()
    );
    println!(
        "{:<18} {:>8} {:>6} {:>10} {:>7} {:>6} {:>12}",
        "mode", "recall", "clean", "homophone", "number", "other", "false hits"
    );
    let mut rows = Vec::new();
    for &(name, mode, edits) in MODES {
        let (k, found, fh) = measure(mode, edits);
        println!(
            "{:<18} {:>7.1}% {:>3}/{:<2} {:>7}/{:<2} {:>4}/{:<2} {:>3}/{:<2} {:>6}/{:<2} ({:.1}%)",
            name,
            100.0 * found as f64 / POSITIVES.len() as f64,
            k[0],
            sizes[0],
            k[1],
            sizes[1],
            k[2],
            sizes[2],
            k[3],
            sizes[3],
            fh,
            NEGATIVES.len(),
            100.0 * fh as f64 / NEGATIVES.len() as f64
        );
        rows.push((name, k, found, fh));
    }
    let row = |name: &str| {
        rows.iter()
            .find(|r| r.0 == name)
            .map(|r| (r.1.clone(), r.3))
            .unwrap()
    };
    // Pinned results (per kind: clean, homophone, number, other; then false hits).
    assert_eq!(row("exact"), (vec![15, 0, 6, 0], 5));
    // 3个工作日内: jieba keeps 工作日内 whole, so 三个工作日 does not end on a word boundary.
    assert_eq!(row("token"), (vec![15, 0, 5, 0], 0));
    assert_eq!(row("pinyin, no edits"), (vec![15, 21, 6, 0], 15));
    assert_eq!(row("pinyin"), (vec![15, 22, 6, 5], 16));
    assert_eq!(row("auto (default)"), (vec![15, 22, 6, 5], 3));
}

/// Ordinary call-center lines, transcribed correctly, with no rule phrase intended.
const BACKGROUND: &[&str] = &[
    "我想查一下我信用卡的账单。",
    "这个月的还款日是几号？",
    "您的额度目前是两万元。",
    "我上个月在网上买了一个东西，扣了两次钱。",
    "我要改一下我的手机号码。",
    "好的，您的地址是北京市朝阳区吗？",
    "理赔材料需要原件还是复印件？",
    "您的保单在明年三月到期。",
    "这个套餐包含三十个G的流量和五百分钟通话。",
    "我家的宽带这两天特别慢。",
    "师傅明天上午会上门检修。",
    "您可以通过手机银行自助办理。",
    "我现在在外地出差，不方便去网点。",
    "那我下午再打过来吧。",
    "我的密码忘记了，怎么重置？",
    "请您输入六位数字密码。",
    "这个积分可以兑换话费吗？",
    "您的包裹已经到了驿站。",
    "我想把自动续费关掉。",
    "这个药属于医保目录内的。",
    "住院的发票要盖医院的章。",
    "我昨天提交了退款申请，还没到账。",
    "分期的话每个月要还多少？",
    "年费是多少，能不能免？",
    "我的卡被吞了，在建设银行的机器上。",
    "你们的营业时间是几点到几点？",
    "我在地铁上，信号不太好。",
    "那个合同我已经签好了寄回去了。",
    "孩子的学费能用这张卡交吗？",
    "我老公的手机号也是你们家的。",
    "上次那个客服说会帮我处理的。",
    "我看短信里说有个活动，是真的吗？",
    "请问开通国际漫游要怎么操作？",
    "停机以后号码会保留多久？",
    "车险到期了，我想续保。",
    "出险以后多久要报案？",
    "被保险人是我母亲。",
    "这个月流量超了好多。",
    "我刚刚收到一条验证码，不是我本人操作的。",
    "好的，那我知道了，谢谢。",
    "您这边是要办理挂失吗？",
    "补卡需要带身份证到柜台。",
    "我妈妈年纪大了，不会用手机。",
    "这个快递是不是寄丢了？",
    "您的订单已经发货了。",
    "我们小区最近在修路。",
    "我想咨询一下房贷利率。",
    "公积金能不能提前还贷？",
    "体检报告什么时候出来？",
    "我的航班延误了，能改签吗？",
    "酒店的发票可以开专票吗？",
    "这个保险保不保门诊？",
    "犹豫期是十五天对吧？",
    "孩子在学校摔了一跤，能报销吗？",
    "我换了新手机，要重新绑卡吗？",
    "电费是从这张卡里扣的。",
    "话费余额还剩十二块。",
    "我出国的时候要不要开通什么？",
    "短信验证码一直收不到。",
    "宽带到期以后要续费吗？",
    "他说明天给我打电话。",
    "我们单位统一办的卡。",
    "那边说让我找你们。",
    "系统显示您已经还清了。",
    "这个月的账单已经出来了。",
    "转账的时候提示余额不足。",
    "理财产品到期以后自动赎回。",
    "我先问问我家里人再说。",
    "您稍后会收到一条确认短信。",
    "好的，没问题，就这样。",
];

/// Every phrase of the shipped lexicons.
fn lexicon_phrases() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/lexicons");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "txt")
                && !p.ends_with("userdict.txt")
                && !p.ends_with("vocabulary.txt")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let p = line.split('#').next().unwrap().trim();
            if !p.is_empty() && !out.iter().any(|q| q == p) {
                out.push(p.to_string());
            }
        }
    }
    out
}

#[test]
fn fuzzy_false_hits_on_ordinary_lines() {
    let phrases = lexicon_phrases();
    let lines: Vec<Prepared> = BACKGROUND
        .iter()
        .map(|t| Prepared::new(t, &zhijian::text::tokenize(t)))
        .collect();
    let compiled = |mode: MatchMode, edits: Option<usize>| -> Vec<Phrase> {
        phrases
            .iter()
            .map(|p| {
                let ph = Phrase::new(p, mode).unwrap();
                match edits {
                    Some(k) => ph.with_max_edits(k),
                    None => ph,
                }
            })
            .collect()
    };
    let exact = compiled(MatchMode::Exact, None);
    println!(
        "\n{} lexicon phrases × {} ordinary lines = {} pairs",
        phrases.len(),
        lines.len(),
        phrases.len() * lines.len()
    );
    let mut counts = Vec::new();
    for &(name, mode, edits) in MODES {
        let ps = compiled(mode, edits);
        let mut extra = Vec::new();
        for (i, p) in ps.iter().enumerate() {
            for l in &lines {
                if p.is_in(l) && !exact[i].is_in(l) {
                    let hit = &p.find(l)[0].text;
                    extra.push(format!("{}→{}", phrases[i], hit));
                }
            }
        }
        println!(
            "{name:<18} fuzzy-only hits: {:>3}  {}",
            extra.len(),
            extra.join(" ")
        );
        counts.push((name, extra.len()));
    }
    let c = |n: &str| counts.iter().find(|x| x.0 == n).unwrap().1;
    assert_eq!(c("exact"), 0);
    assert_eq!(c("token"), 0);
    // 再见→在建, 稍候→稍后, 请→亲, 请→清.
    assert_eq!(c("pinyin, no edits"), 4);
    assert_eq!(c("pinyin"), 4);
    assert_eq!(c("auto (default)"), 0);
}
