//! ASR-like corruption of clean text, so that the heads are trained and tested on what Whisper
//! actually produces: homophones (「感谢您的来订」 for 来电), dropped and repeated characters,
//! no punctuation, Arabic digits (「3天」).
//!
//! Deterministic: the same text, seed and character pool always give the same output, so the
//! noised held-out set is fixed without being stored.

use pinyin::ToPinyin;
use std::collections::{BTreeMap, BTreeSet};

/// Probabilities per Han character.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoiseLevel {
    pub homophone: f64,
    pub drop: f64,
    pub repeat: f64,
    /// Share of homophone substitutions that use a fuzzy sound (z/zh, in/ing, l/n …).
    pub fuzzy: f64,
}

impl Default for NoiseLevel {
    /// About what Whisper base makes on 8 kHz telephone audio (CER 10–15%, BRIEF §4).
    fn default() -> Self {
        NoiseLevel {
            homophone: 0.10,
            drop: 0.03,
            repeat: 0.02,
            fuzzy: 0.3,
        }
    }
}

/// Homophone table built from a character pool (the characters an ASR system would output).
pub struct Noiser {
    by_sound: BTreeMap<&'static str, Vec<char>>,
    level: NoiseLevel,
}

/// The usual Mandarin confusions on telephone audio (BRIEF §4).
const FUZZY_INITIALS: [(&str, &str); 5] = [
    ("zh", "z"),
    ("ch", "c"),
    ("sh", "s"),
    ("n", "l"),
    ("h", "f"),
];
const FUZZY_FINALS: [(&str, &str); 3] = [("ing", "in"), ("eng", "en"), ("ang", "an")];

impl Noiser {
    /// Build from every Han character in `texts`.
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>, level: NoiseLevel) -> Noiser {
        let chars: BTreeSet<char> = texts
            .into_iter()
            .flat_map(str::chars)
            .filter(|c| is_han(*c))
            .collect();
        let mut by_sound: BTreeMap<&'static str, Vec<char>> = BTreeMap::new();
        for c in chars {
            if let Some(p) = c.to_pinyin() {
                by_sound.entry(p.plain()).or_default().push(c);
            }
        }
        Noiser { by_sound, level }
    }

    /// Corrupt `text`; `seed` picks one of many possible outputs.
    pub fn noise(&self, text: &str, seed: u64) -> String {
        let mut rng = SplitMix64::new(seed ^ fnv1a(text.as_bytes()));
        let digits = arabic_digits(text);
        let mut out = String::with_capacity(text.len());
        for c in digits.chars() {
            if !(is_han(c) || c.is_ascii_alphanumeric()) {
                continue; // punctuation and spaces: Whisper's output here has none
            }
            if !is_han(c) {
                out.push(c);
                continue;
            }
            let r = rng.next_f64();
            let l = &self.level;
            if r < l.drop {
                continue;
            }
            let c2 = if r < l.drop + l.homophone {
                self.homophone(c, &mut rng).unwrap_or(c)
            } else {
                c
            };
            out.push(c2);
            if rng.next_f64() < l.repeat {
                out.push(c2);
            }
        }
        if out.is_empty() {
            text.to_string()
        } else {
            out
        }
    }

    fn homophone(&self, c: char, rng: &mut SplitMix64) -> Option<char> {
        let sound = c.to_pinyin()?.plain();
        let fuzzy = rng.next_f64() < self.level.fuzzy;
        let target = if fuzzy {
            fuzzy_variant(sound)
                .and_then(|s| self.by_sound.get_key_value(s.as_str()).map(|(k, _)| *k))
        } else {
            None
        };
        let pool: Vec<char> = self
            .by_sound
            .get(target.unwrap_or(sound))?
            .iter()
            .copied()
            .filter(|&x| x != c)
            .collect();
        if pool.is_empty() {
            return None;
        }
        Some(pool[rng.below(pool.len())])
    }
}

/// Swap one fuzzy initial or final (both directions), e.g. "zhi" → "zi", "lin" → "ling".
fn fuzzy_variant(s: &str) -> Option<String> {
    for (a, b) in FUZZY_INITIALS {
        if let Some(rest) = s.strip_prefix(a) {
            return Some(format!("{b}{rest}"));
        }
    }
    for (a, b) in FUZZY_INITIALS {
        // Only single-letter initials remain (z, c, s, l, f); avoid turning "zh…" twice.
        if b.len() == 1 && s.starts_with(b) && !s.starts_with(a) {
            return Some(format!("{a}{}", &s[b.len()..]));
        }
    }
    for (a, b) in FUZZY_FINALS {
        if let Some(stem) = s.strip_suffix(a) {
            return Some(format!("{stem}{b}"));
        }
        if let Some(stem) = s.strip_suffix(b) {
            return Some(format!("{stem}{a}"));
        }
    }
    None
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

const UNITS: &str = "天个次遍块元月号年分秒点岁位张份周倍趟楼期";

fn digit_value(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' => 1,
        '二' | '两' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// Value of a Chinese number such as 三百六十 or 十五 (None if it is not well formed).
fn chinese_number(s: &[char]) -> Option<u64> {
    let (mut total, mut section, mut digit) = (0u64, 0u64, None::<u64>);
    for &c in s {
        if let Some(d) = digit_value(c) {
            if digit.is_some() {
                return None; // 二三 without a unit is a digit string, handled elsewhere
            }
            digit = Some(d);
            continue;
        }
        let unit = match c {
            '十' => 10,
            '百' => 100,
            '千' => 1000,
            '万' => {
                total = (total + section + digit.take().unwrap_or(0)) * 10_000;
                section = 0;
                continue;
            }
            _ => return None,
        };
        section += digit.take().unwrap_or(1) * unit;
    }
    Some(total + section + digit.unwrap_or(0))
}

/// Whisper writes quantities and numbers with Arabic digits: 三天 → 3天, 一三八一二 → 13812.
/// A lone 一 stays (一下, 一直, 一个 are words, not numbers).
pub fn arabic_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let numeral = |c: char| digit_value(c).is_some() || "十百千万".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !numeral(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && numeral(chars[j]) {
            j += 1;
        }
        let run = &chars[i..j];
        let next = chars.get(j).copied();
        let all_digits = run.iter().all(|&c| digit_value(c).is_some() && c != '两');
        let converted = if all_digits && run.len() >= 3 {
            Some(
                run.iter()
                    .map(|&c| char::from(b'0' + digit_value(c).unwrap() as u8))
                    .collect(),
            )
        } else if run.len() == 1 && run[0] == '一' {
            None
        } else if next.is_some_and(|n| UNITS.contains(n)) || run.len() >= 2 {
            chinese_number(run).map(|v| v.to_string())
        } else {
            None
        };
        match converted {
            Some(s) => out.push_str(&s),
            None => out.extend(run),
        }
        i = j;
    }
    out
}

/// Small deterministic generator (SplitMix64); also used for training shuffles and init.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// FNV-1a, stable across platforms and Rust versions (unlike `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_arabic_digits_but_words_stay() {
        assert_eq!(arabic_digits("我等了三天"), "我等了3天");
        assert_eq!(arabic_digits("十五个工作日"), "15个工作日");
        assert_eq!(arabic_digits("扣了三百六十块"), "扣了360块");
        assert_eq!(
            arabic_digits("手机号是一三八一二三四五六七八"),
            "手机号是13812345678"
        );
        assert_eq!(arabic_digits("两万块"), "20000块");
        assert_eq!(
            arabic_digits("您稍等一下，我一直在查"),
            "您稍等一下，我一直在查"
        );
    }

    #[test]
    fn noise_is_deterministic_and_drops_punctuation() {
        let pool = ["感谢您的来电，祝您生活愉快，再见！来订定电店"];
        let n = Noiser::from_texts(pool, NoiseLevel::default());
        let a = n.noise("感谢您的来电，祝您生活愉快，再见！", 7);
        assert_eq!(a, n.noise("感谢您的来电，祝您生活愉快，再见！", 7));
        assert!(!a.contains('，') && !a.contains('！'), "{a}");
    }

    #[test]
    fn homophones_come_from_the_pool_with_the_same_sound() {
        let level = NoiseLevel {
            homophone: 1.0,
            drop: 0.0,
            repeat: 0.0,
            fuzzy: 0.0,
        };
        let n = Noiser::from_texts(["电店垫"], level);
        for seed in 0..20 {
            let out = n.noise("电", seed);
            assert!(out == "店" || out == "垫", "{out}");
        }
    }

    #[test]
    fn fuzzy_sounds_swap_both_ways() {
        assert_eq!(fuzzy_variant("zhi").as_deref(), Some("zi"));
        assert_eq!(fuzzy_variant("si").as_deref(), Some("shi"));
        assert_eq!(fuzzy_variant("lin").as_deref(), Some("nin"));
        assert_eq!(fuzzy_variant("bing").as_deref(), Some("bin"));
        assert_eq!(fuzzy_variant("ben").as_deref(), Some("beng"));
    }
}
