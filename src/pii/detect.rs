//! Finding personal data in a call's utterances.
//!
//! Numbers are read from the normalised text ([`crate::text::normalize_chars`]: 一三八 and 幺三八
//! become 138, full-width digits half-width, spaces and dashes dropped), one stream per speaker in
//! which an utterance that ends in digits runs on into the speaker's next utterance when it starts
//! with digits (Whisper cuts a number read slowly into two segments). A run of digits is then
//! read as a whole, and where the whole is nothing, as its pieces (the groups the speaker or
//! Whisper separated by a pause, a space or a comma), longest first. What a run is depends on its
//! length, its check digit, and the words around it: 订单号/工号/金额 before it, or 元/年/号/位
//! after it, make it not personal data; 验证码/密码 before 4–8 digits make it a code.
//!
//! E-mail, names and addresses are patterns over the original text; plates over the
//! normalised text.

use super::{Entity, Kind};
use crate::record::{Role, Utterance};
use crate::text::normalize_chars;
use regex::Regex;
use std::sync::OnceLock;

/// One detection: the entity and the characters of its utterance to mask (char indices).
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub entity: Entity,
    pub mask: Vec<usize>,
}

/// Seconds between two utterances of one speaker across which a number may continue.
const JOIN_GAP_S: f64 = 5.0;

/// Words that make a nearby number an identifier of something else, not of a person.
const NOT_PERSONAL: &[&str] = &[
    "订单",
    "单号",
    "工号",
    "编号",
    "快递",
    "运单",
    "流水",
    "合同",
    "保单",
    "账单",
    "发票",
    "金额",
    "余额",
    "价格",
    "会员号",
    "客户号",
    "积分",
    "批次",
    "型号",
    "版本",
    "房间",
    "尾号",
    "分机",
    "热线",
    "客服电话",
    "服务电话",
    "工单",
    "案件号",
    "受理号",
    "序列号",
];

/// Characters after a number that make it an amount, a date, a time or a quantity.
const UNIT_AFTER: &str = "元块毛角万亿岁年月日号点分秒个次天位期倍斤米张笔件楼层室栋单周台条页遍折";

/// Prompts for a code read out by the customer.
const CODE_PROMPTS: &[&str] = &[
    "验证码",
    "校验码",
    "动态码",
    "短信码",
    "密码",
    "口令",
    "安全码",
    "cvv",
    "cvn",
    "动态密令",
];

const ID_CONTEXT: &[&str] = &["身份证", "证件号", "身份号"];
const CARD_CONTEXT: &[&str] = &["卡号", "银行卡", "信用卡", "储蓄卡", "借记卡", "卡的号"];
const LANDLINE_CONTEXT: &[&str] = &[
    "座机",
    "固话",
    "固定电话",
    "家里电话",
    "办公电话",
    "家里的电话",
];

/// Abbreviations of provinces that open a licence plate.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// One character of a speaker's normalised stream.
#[derive(Clone, Copy, Debug)]
struct SChar {
    c: char,
    /// Index into the utterance slice; `usize::MAX` for a separator.
    utt: usize,
    /// Original characters it came from.
    span: (usize, usize),
    /// A pause (non-alphanumeric characters, or an utterance boundary) comes before it.
    brk: bool,
}

const SEP: SChar = SChar {
    c: '|',
    utt: usize::MAX,
    span: (0, 0),
    brk: true,
};

/// All personal data in `utts` (any order; ids are `Utterance::id`), sorted by utterance and
/// position.
pub fn detect(utts: &[Utterance]) -> Vec<Found> {
    let mut order: Vec<usize> = (0..utts.len()).collect();
    order.sort_by(|&a, &b| utts[a].start.total_cmp(&utts[b].start));
    // The utterance just before each one in call order (for a code asked for by the agent and
    // read out by the customer).
    let mut prev_in_call = vec![None; utts.len()];
    for w in order.windows(2) {
        prev_in_call[w[1]] = Some(w[0]);
    }
    let mut d = Detector {
        utts,
        prev_in_call,
        out: Vec::new(),
        group: 0,
    };
    for role in [Role::Agent, Role::Customer, Role::Mixed] {
        let mine: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| utts[i].role == role)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let stream = build_stream(utts, &mine);
        let taken = d.plates(&stream);
        d.numbers(&stream, &taken);
    }
    for i in 0..utts.len() {
        d.patterns(i);
    }
    let mut out = d.out;
    out.sort_by_key(|f| (f.entity.utterance, f.entity.start));
    out
}

/// Personal data in a piece of text on its own (a quote, a metadata value).
pub fn detect_text(text: &str) -> Vec<Found> {
    detect(&[Utterance {
        text: text.to_string(),
        end: 1.0,
        ..Utterance::default()
    }])
}

fn build_stream(utts: &[Utterance], mine: &[usize]) -> Vec<SChar> {
    let mut s: Vec<SChar> = Vec::new();
    let mut prev: Option<usize> = None;
    for &i in mine {
        let text: Vec<char> = utts[i].text.chars().collect();
        let n = normalize_chars(&utts[i].text);
        let starts_digit = n.chars.first().is_some_and(|c| c.is_ascii_digit());
        let joins = prev.is_some_and(|p| {
            s.last().is_some_and(|c| c.c.is_ascii_digit())
                && starts_digit
                && utts[i].start - utts[p].end <= JOIN_GAP_S
        });
        if !joins && !s.is_empty() {
            s.push(SEP);
        }
        for (k, (&c, &span)) in n.chars.iter().zip(&n.origin).enumerate() {
            let gap = if k == 0 {
                (0, span.0)
            } else {
                (n.origin[k - 1].1, span.0)
            };
            // A mask already applied (138****5678) is a hard stop: never re-read its pieces.
            if text[gap.0..gap.1.max(gap.0)].contains(&'*') {
                s.push(SEP);
            }
            s.push(SChar {
                c,
                utt: i,
                span,
                brk: k == 0 || gap.1 > gap.0,
            });
        }
        prev = Some(i);
    }
    s
}

struct Detector<'a> {
    utts: &'a [Utterance],
    prev_in_call: Vec<Option<usize>>,
    out: Vec<Found>,
    group: usize,
}

impl Detector<'_> {
    /// Emit one entity over stream characters `chars`, masking those whose position `keep`
    /// rejects, split into one part per utterance.
    fn emit(&mut self, kind: Kind, chars: &[SChar], keep: impl Fn(usize, usize) -> bool) {
        let n = chars.len();
        let mut parts: Vec<(usize, usize, usize, Vec<usize>)> = Vec::new(); // utt, start, end, mask
        for (k, c) in chars.iter().enumerate() {
            let masked = !keep(k, n);
            match parts.last_mut() {
                Some(p) if p.0 == c.utt => {
                    p.1 = p.1.min(c.span.0);
                    p.2 = p.2.max(c.span.1);
                    if masked {
                        p.3.extend(c.span.0..c.span.1);
                    }
                }
                _ => parts.push((
                    c.utt,
                    c.span.0,
                    c.span.1,
                    if masked {
                        (c.span.0..c.span.1).collect()
                    } else {
                        Vec::new()
                    },
                )),
            }
        }
        for (u, start, end, mut mask) in parts {
            mask.sort_unstable();
            mask.dedup();
            self.push(kind, u, start, end, mask);
        }
        self.group += 1;
    }

    /// Record one part (chars `start..end` of utterance `u`), with its time and masked form.
    fn push(&mut self, kind: Kind, u: usize, start: usize, end: usize, mask: Vec<usize>) {
        let utt = &self.utts[u];
        let text: Vec<char> = utt.text.chars().collect();
        let masked: String = (start..end)
            .map(|i| if mask.contains(&i) { '*' } else { text[i] })
            .collect();
        let (start_s, end_s) = time_span(utt, &text, start, end);
        self.out.push(Found {
            entity: Entity {
                kind,
                utterance: utt.id,
                role: utt.role,
                start,
                end,
                start_s,
                end_s,
                group: self.group,
                masked,
            },
            mask,
        });
    }

    /// Licence plates: a province, a letter, then five or six letters and digits (at least
    /// three digits), not followed by another letter or digit.
    fn plates(&mut self, s: &[SChar]) -> Vec<bool> {
        let mut taken = vec![false; s.len()];
        let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        let mut i = 0;
        while i + 6 < s.len() {
            let ok_head = PROVINCES.contains(s[i].c) && s[i + 1].c.is_ascii_lowercase();
            if ok_head {
                let mut j = i + 2;
                while j < s.len() && alnum(s[j].c) && s[j].utt == s[i].utt && j - i < 9 {
                    j += 1;
                }
                let tail = j - i - 2;
                let digits = s[i + 2..j].iter().filter(|c| c.c.is_ascii_digit()).count();
                if (5..=6).contains(&tail) && digits >= 3 {
                    for t in taken.iter_mut().take(j).skip(i) {
                        *t = true;
                    }
                    let chars = s[i..j].to_vec();
                    self.emit(Kind::Plate, &chars, |k, n| k < 2 || k + 1 == n);
                    i = j;
                    continue;
                }
            }
            i += 1;
        }
        taken
    }

    /// Runs of digits: read whole, else piece by piece (longest first).
    fn numbers(&mut self, s: &[SChar], taken: &[bool]) {
        let mut i = 0;
        while i < s.len() {
            if !s[i].c.is_ascii_digit() || taken[i] {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < s.len() && s[j].c.is_ascii_digit() && !taken[j] {
                j += 1;
            }
            // An ID number's check character X (Whisper writes x, X or 叉).
            if j - i == 17 && j < s.len() && matches!(s[j].c, 'x' | '叉') {
                j += 1;
            }
            // Group starts inside the run (pauses), plus its end.
            let mut cuts: Vec<usize> = (i..j).filter(|&k| k == i || s[k].brk).collect();
            cuts.push(j);
            let mut g = 0;
            while g + 1 < cuts.len() {
                let mut found = false;
                for h in (g + 1..cuts.len()).rev() {
                    let (a, b) = (cuts[g], cuts[h]);
                    if let Some(kind) = self.classify(s, a, b, b == j) {
                        let chars = s[a..b].to_vec();
                        let (first, last) = kept_digits(kind, &chars);
                        self.emit(kind, &chars, |k, n| k < first || k + last >= n);
                        g = h;
                        found = true;
                        break;
                    }
                }
                if !found {
                    g += 1;
                }
            }
            i = j;
        }
    }

    /// What the digits `s[a..b]` are, from their length, check digits and context.
    /// `run_end`: `b` ends the whole run (so the character after it is not a digit).
    fn classify(&self, s: &[SChar], a: usize, b: usize, run_end: bool) -> Option<Kind> {
        let d: String = s[a..b]
            .iter()
            .map(|c| if c.c == '叉' { 'x' } else { c.c })
            .collect();
        let n = d.len();
        // Text before the run (back to the previous utterance of the speaker), and the
        // character after it.
        let before: String = {
            let mut k = a;
            let mut v = Vec::new();
            while k > 0 && v.len() < 12 && s[k - 1].utt != usize::MAX {
                k -= 1;
                v.push(s[k].c);
            }
            v.into_iter().rev().collect()
        };
        let after = s
            .get(b)
            .filter(|c| run_end && c.utt != usize::MAX)
            .map(|c| c.c);
        if after.is_some_and(|c| UNIT_AFTER.contains(c)) {
            return None; // an amount, a date, a time, a quantity
        }
        let has = |words: &[&str]| words.iter().any(|w| before.contains(w));
        let not_personal = has(NOT_PERSONAL);
        let is_mobile =
            |d: &str| d.len() == 11 && d.starts_with('1') && matches!(d.as_bytes()[1], b'3'..=b'9');
        if d.ends_with('x') {
            return (n == 18 && id_plausible(&d) && (id_checksum_ok(&d) || has(ID_CONTEXT)))
                .then_some(Kind::IdCard);
        }
        if !not_personal
            && (is_mobile(&d) || (n == 13 && d.starts_with("86") && is_mobile(&d[2..])))
        {
            return Some(Kind::Mobile);
        }
        if n == 18 && id_plausible(&d) && (has(ID_CONTEXT) || (!not_personal && id_checksum_ok(&d)))
        {
            return Some(Kind::IdCard);
        }
        if (16..=19).contains(&n)
            && !d.starts_with('0')
            && (has(CARD_CONTEXT) || (!not_personal && luhn_ok(&d)))
        {
            return Some(Kind::BankCard);
        }
        if !not_personal {
            let area = d.starts_with('0') && !d.starts_with("00") && (10..=12).contains(&n);
            let local = (7..=8).contains(&n) && !d.starts_with('0') && has(LANDLINE_CONTEXT);
            if area || local {
                return Some(Kind::Landline);
            }
        }
        let code_len = (4..=8).contains(&n) || (n == 3 && has(&["安全码", "cvv", "cvn"]));
        if code_len && !not_personal && (has(CODE_PROMPTS) || self.prompt_before(s, a)) {
            return Some(Kind::Code);
        }
        None
    }

    /// A code prompt at the end of the utterance before this one (in call order) when the run
    /// opens its utterance: 「请告诉我验证码」「1234」.
    fn prompt_before(&self, s: &[SChar], a: usize) -> bool {
        let u = s[a].utt;
        let lead = s[..a].iter().rev().take_while(|c| c.utt == u).count();
        if lead > 4 {
            return false;
        }
        let Some(p) = self.prev_in_call[u] else {
            return false;
        };
        let prev = crate::text::normalize(&self.utts[p].text);
        let tail: String = {
            let c: Vec<char> = prev.chars().collect();
            c[c.len().saturating_sub(16)..].iter().collect()
        };
        CODE_PROMPTS.iter().any(|w| tail.contains(w))
    }

    /// E-mail, names and addresses: patterns over the original text of utterance `i`.
    fn patterns(&mut self, i: usize) {
        let text = self.utts[i].text.clone();
        let char_at = char_index(&text);
        for m in email_re().captures_iter(&text) {
            let (Some(all), Some(local)) = (m.get(0), m.get(1)) else {
                continue;
            };
            let (s, e) = (char_at(all.start()), char_at(all.end()));
            let (ls, le) = (char_at(local.start()), char_at(local.end()));
            self.push(Kind::Email, i, s, e, (ls + 1..le).collect());
            self.group += 1;
        }
        for m in name_re().captures_iter(&text) {
            let Some(name) = m.get(1) else { continue };
            let Some(name) = valid_name(name.as_str()) else {
                continue;
            };
            let s = char_at(m.get(1).map_or(0, |g| g.start()));
            let e = s + name.chars().count();
            self.push(Kind::Name, i, s, e, (s + 1..e).collect());
            self.group += 1;
        }
        for (s, e) in addresses(&text) {
            self.push(Kind::Address, i, s, e, (s + 3.min(e - s)..e).collect());
            self.group += 1;
        }
    }
}

/// How many leading and trailing digits stay readable when `kind` is masked.
fn kept_digits(kind: Kind, chars: &[SChar]) -> (usize, usize) {
    let n = chars.len();
    match kind {
        Kind::Mobile if n == 13 => (5, 4),
        Kind::Mobile => (3, 4),
        Kind::IdCard => (3, 4),
        Kind::BankCard => (4, 4),
        Kind::Landline if n <= 8 => (0, 4),
        Kind::Landline => {
            let area = if matches!(chars.get(1).map(|c| c.c), Some('1' | '2')) {
                3
            } else {
                4
            };
            (area, 4.min(n.saturating_sub(area + 3)))
        }
        _ => (0, 0),
    }
}

/// Start and end time of characters `start..end` of `u`.
fn time_span(u: &Utterance, text: &[char], start: usize, end: usize) -> (f64, f64) {
    let r = |t: f64| (t * 1000.0).round() / 1000.0;
    if !u.char_times.is_empty() && u.char_times.len() == text.len() {
        let s = u.char_times[start];
        let e = u.char_times.get(end).copied().unwrap_or(u.end).max(s);
        return (r(s), r(e));
    }
    // In proportion to the spoken characters (punctuation takes no time).
    let spoken = |cs: &[char]| cs.iter().filter(|c| c.is_alphanumeric()).count() as f64;
    let total = spoken(text).max(1.0);
    let before = spoken(&text[..start]);
    let upto = spoken(&text[..end]);
    let dur = (u.end - u.start).max(0.0);
    (
        r(u.start + dur * before / total),
        r(u.start + dur * upto / total),
    )
}

/// Byte offset → char offset in `text`.
fn char_index(text: &str) -> impl Fn(usize) -> usize + '_ {
    move |b| text[..b].chars().count()
}

/// ISO 7064 MOD 11-2 check character of an 18-character resident ID number.
pub fn id_checksum_ok(d: &str) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10x98765432";
    let b = d.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(c, w)| (c - b'0') as u32 * w)
        .sum();
    b[17].to_ascii_lowercase() == CHECK[(sum % 11) as usize]
}

/// A region code that exists (first two digits) and a birth date that could be real.
fn id_plausible(d: &str) -> bool {
    let num = |r: std::ops::Range<usize>| d.get(r).and_then(|s| s.parse::<u32>().ok());
    let (Some(region), Some(y), Some(m), Some(day)) =
        (num(0..2), num(6..10), num(10..12), num(12..14))
    else {
        return false;
    };
    let region_ok =
        matches!(region, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    region_ok && (1900..=2030).contains(&y) && (1..=days).contains(&day)
}

/// Luhn check of a card number.
pub fn luhn_ok(d: &str) -> bool {
    if !d.bytes().all(|c| c.is_ascii_digit()) || d.is_empty() {
        return false;
    }
    let sum: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let v = (c - b'0') as u32;
            if i % 2 == 1 {
                let v2 = v * 2;
                if v2 > 9 {
                    v2 - 9
                } else {
                    v2
                }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        // ASR writes 艾特 / at for @ and 点 / dot for the dots.
        Regex::new(
            r"(?i)([a-z0-9][a-z0-9._-]*)(?:\s*(?:@|＠|艾特)\s*|\s+at\s+)((?:[a-z0-9-]+(?:\s*(?:\.|点)\s*|\s+dot\s+))+(?:com|cn|net|org|edu|gov))",
        )
        .expect("valid regex")
    })
}

fn name_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?:我叫|我的名字是|我的名字叫|名字叫|名字是|姓名是|姓名叫|持卡人是|持卡人叫|户主是|户主叫|机主是|机主叫|本人叫)[：:，,\s]*(\p{Han}{2,3})",
        )
        .expect("valid regex")
    })
}

/// The common surnames (百家姓, the ~120 most frequent, plus the common two-character ones).
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";
const TWO_CHAR_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "令狐", "慕容", "司徒", "夏侯",
];
/// Characters that end a name candidate: they are the words around it, not the name.
const NOT_IN_NAME: &str =
    "是的了吗呢啊吧你我他她您在和就也都要想有那这个请好对呀哦嗯先女姐士号码电话卡身份证";

/// The name in a candidate after 我叫 etc.: a known surname and one or two more characters.
fn valid_name(cand: &str) -> Option<String> {
    let chars: Vec<char> = cand.chars().collect();
    let sur = if TWO_CHAR_SURNAMES.iter().any(|s| cand.starts_with(s)) {
        2
    } else if SURNAMES.contains(chars[0]) {
        1
    } else {
        return None;
    };
    let given: Vec<char> = chars[sur..]
        .iter()
        .copied()
        .take_while(|c| !NOT_IN_NAME.contains(*c))
        .take(2)
        .collect();
    (!given.is_empty()).then(|| chars[..sur].iter().chain(&given).collect())
}

/// Words that introduce an address.
const ADDRESS_TRIGGERS: &[&str] = &[
    "收货地址是",
    "收货地址",
    "地址是",
    "住址是",
    "地址",
    "住址",
    "家住在",
    "住在",
    "家住",
    "家在",
    "寄到",
    "送到",
];
/// Endings of the parts of an address.
const ADDRESS_UNITS: &[&str] = &[
    "省", "市", "区", "县", "镇", "乡", "街道", "路", "街", "大道", "巷", "弄", "村", "小区",
    "花园", "苑", "大厦", "号楼", "栋", "幢", "单元", "号", "室", "楼",
];

/// Addresses in `text` as char spans: after a trigger word, the longest stretch ending in an
/// address unit with at least two units in it.
fn addresses(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..].iter().collect();
        let Some(t) = ADDRESS_TRIGGERS.iter().find(|t| rest.starts_with(*t)) else {
            i += 1;
            continue;
        };
        let mut s = i + t.chars().count();
        while s < chars.len() && matches!(chars[s], '：' | ':' | ' ' | '，' | ',' | '是' | '在')
        {
            s += 1;
        }
        let mut e = s;
        while e < chars.len() && e - s < 40 && (chars[e].is_alphanumeric() || chars[e] == '-') {
            e += 1;
        }
        // Trim to the last unit, counting units on the way.
        let (mut units, mut last) = (0, None);
        let mut k = s;
        while k < e {
            let tail: String = chars[k..e].iter().collect();
            if let Some(u) = ADDRESS_UNITS.iter().find(|u| tail.starts_with(*u)) {
                units += 1;
                k += u.chars().count();
                last = Some(k);
            } else {
                k += 1;
            }
        }
        match last {
            Some(end) if units >= 2 && end - s >= 4 => {
                out.push((s, end));
                i = end;
            }
            _ => i = s.max(i + 1),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utt(id: usize, role: Role, start: f64, end: f64, text: &str) -> Utterance {
        Utterance {
            id,
            role,
            start,
            end,
            text: text.into(),
            ..Utterance::default()
        }
    }

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        detect_text(text)
            .into_iter()
            .map(|f| (f.entity.kind, f.entity.masked))
            .collect()
    }

    #[test]
    fn mobile_numbers_however_whisper_writes_them() {
        let want = |m: &str| vec![(Kind::Mobile, m.to_string())];
        assert_eq!(kinds("我的手机号是13812345678"), want("138****5678"));
        assert_eq!(kinds("手机号138 1234 5678"), want("138 **** 5678"));
        assert_eq!(kinds("号码是138-1234-5678。"), want("138-****-5678"));
        assert_eq!(kinds("一三八一二三四五六七八"), want("一三八****五六七八"));
        assert_eq!(
            kinds("幺三八，幺二三四，五六七八"),
            want("幺三八，****，五六七八")
        );
        assert_eq!(kinds("手机是138一二三四5678"), want("138****5678"));
        assert_eq!(kinds("电话+86 138 1234 5678"), want("86 138 **** 5678"));
        assert_eq!(kinds("一三八两两三四五六七八"), want("一三八****五六七八"));
    }

    #[test]
    fn numbers_that_are_not_personal_data() {
        for t in [
            "您的订单号是13812345678",
            "工号10086为您服务",
            "金额是13812345678元",
            "2023年11月30号",
            "下午三点十五分",
            "一共是一千二百三十四块五",
            "您的快递单号是6222021234567890128",
            "退款三个工作日到账",
            "密码错误三次就会锁定",
            "验证码有效期是五分钟",
            "请拨打客服电话95588",
            "我们的热线是400 820 8820",
        ] {
            assert_eq!(kinds(t), vec![], "{t}");
        }
    }

    #[test]
    fn id_numbers_need_checksum_or_context_and_a_real_date() {
        // 11010519491231002X: a valid check character.
        assert_eq!(
            kinds("身份证号11010519491231002X"),
            vec![(Kind::IdCard, "110***********002X".to_string())]
        );
        assert_eq!(
            kinds("我的是幺幺零幺零五幺九四九幺二三幺零零二叉"),
            vec![(Kind::IdCard, "幺幺零***********零零二叉".to_string())]
        );
        // Wrong check character, no context: nothing; with 身份证 context: still an ID.
        assert_eq!(kinds("编码110105194912310021"), vec![]);
        assert_eq!(kinds("身份证110105194912310021").len(), 1);
        // Impossible birth date, even with context.
        assert_eq!(kinds("身份证110105194913310021"), vec![]);
    }

    #[test]
    fn bank_cards_by_luhn_or_context() {
        assert!(luhn_ok("6222021234567890128"));
        assert!(!luhn_ok("6222021234567890123"));
        assert_eq!(
            kinds("卡号是6222 0212 3456 7890 128"),
            vec![(Kind::BankCard, "6222 **** **** ***0 128".to_string())]
        );
        assert_eq!(kinds("6222021234567890128").len(), 1);
        assert_eq!(kinds("6222021234567890123"), vec![]);
    }

    #[test]
    fn landlines_codes_email_plate() {
        assert_eq!(
            kinds("座机是010-62345678"),
            vec![(Kind::Landline, "010-****5678".to_string())]
        );
        assert_eq!(
            kinds("家里座机八七六五四三二一"),
            vec![(Kind::Landline, "****四三二一".to_string())]
        );
        assert_eq!(
            kinds("验证码是三七五九二一"),
            vec![(Kind::Code, "******".to_string())]
        );
        assert_eq!(
            kinds("邮箱是zhangsan艾特qq点com"),
            vec![(Kind::Email, "z*******艾特qq点com".to_string())]
        );
        assert_eq!(
            kinds("车牌号粤B12345"),
            vec![(Kind::Plate, "粤B****5".to_string())]
        );
    }

    #[test]
    fn names_and_addresses_by_pattern() {
        assert_eq!(kinds("我叫王小明"), vec![(Kind::Name, "王**".to_string())]);
        assert_eq!(kinds("我叫什么不重要"), vec![]);
        assert_eq!(
            kinds("地址是北京市朝阳区建国路88号"),
            vec![(Kind::Address, "北京市*********".to_string())]
        );
    }

    #[test]
    fn a_number_read_across_two_utterances_and_a_prompt_from_the_other_side() {
        let utts = vec![
            utt(0, Role::Customer, 0.0, 2.0, "我手机号是一三八"),
            utt(1, Role::Agent, 2.1, 2.4, "嗯"),
            utt(2, Role::Customer, 2.5, 4.0, "一二三四五六七八"),
            utt(3, Role::Agent, 5.0, 7.0, "好的，请您报一下收到的验证码"),
            utt(4, Role::Customer, 7.5, 9.0, "四八二九"),
        ];
        let f = detect(&utts);
        let e: Vec<(Kind, usize, &str, usize)> = f
            .iter()
            .map(|f| {
                (
                    f.entity.kind,
                    f.entity.utterance,
                    f.entity.masked.as_str(),
                    f.entity.group,
                )
            })
            .collect();
        assert_eq!(
            e,
            vec![
                (Kind::Mobile, 0, "一三八", 0),
                (Kind::Mobile, 2, "****五六七八", 0),
                (Kind::Code, 4, "****", 1),
            ]
        );
        // Times in proportion to the characters: 一三八 is the last 3 of 8 characters.
        assert_eq!((f[0].entity.start_s, f[0].entity.end_s), (1.25, 2.0));
        assert_eq!((f[2].entity.start_s, f[2].entity.end_s), (7.5, 9.0));
    }

    #[test]
    fn times_come_from_character_times_when_present() {
        let mut u = utt(0, Role::Customer, 10.0, 14.0, "号码13812345678");
        u.char_times = (0..13).map(|i| 10.0 + 0.3 * i as f64).collect();
        let f = detect(&[u]);
        assert_eq!((f[0].entity.start_s, f[0].entity.end_s), (10.6, 14.0));
    }

    #[test]
    fn masked_text_is_not_read_again() {
        assert_eq!(kinds("我的手机号是138****5678"), vec![]);
        assert_eq!(kinds("电话是010-****5678"), vec![]);
    }
}
