//! Toneless, fuzzy pinyin keys, so that Whisper's homophone errors still match.
//!
//! Whisper base writes 「来订」 for 来电, 「可疑」 for 可以, 「公号」 for 工号: the sound is right and the
//! character is wrong. Each Han character becomes the set of its readings (heteronyms included,
//! from the `pinyin` crate's tables), without tones and folded by the fuzzy pairs that southern
//! speakers and the recogniser confuse: z/zh, c/ch, s/sh, l/n, f/h, an/ang, en/eng, in/ing. Two
//! characters sound alike when their sets share a key. Digits and Latin letters stay literal.

use pinyin::ToPinyinMulti;

/// Distinct folded readings kept per character. The tables list the common reading first and
/// the second covers the everyday polyphones (还 hai/huan, 行 xing/hang, 重 zhong/chong, 乐
/// le/yue); further ones are mostly archaic (包 fú, 说 yuè) and only add false matches: with
/// four, 包月 matched 客服说 (fú yuè).
const MAX_READINGS: usize = 2;

/// One position of normalised text for phonetic comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A character without a reading (digit, Latin letter, rare Han): compared as is.
    Lit(char),
    /// Folded readings packed as integers; `n` of them are used.
    Syl { keys: [u64; MAX_READINGS], n: u8 },
}

impl Unit {
    pub fn of(c: char) -> Unit {
        let Some(multi) = c.to_pinyin_multi() else {
            return Unit::Lit(c);
        };
        let mut keys = [0u64; MAX_READINGS];
        let mut n = 0usize;
        for p in multi.into_iter() {
            let k = fuzzy_key(p.plain());
            if !keys[..n].contains(&k) {
                keys[n] = k;
                n += 1;
                if n == MAX_READINGS {
                    break;
                }
            }
        }
        if n == 0 {
            return Unit::Lit(c);
        }
        Unit::Syl { keys, n: n as u8 }
    }

    /// True when the two positions can be the same sound.
    pub fn sounds_like(&self, other: &Unit) -> bool {
        match (self, other) {
            (Unit::Lit(a), Unit::Lit(b)) => a == b,
            (Unit::Syl { keys: a, n: na }, Unit::Syl { keys: b, n: nb }) => a[..*na as usize]
                .iter()
                .any(|k| b[..*nb as usize].contains(k)),
            _ => false,
        }
    }

    /// Substitution cost in half edits: 0 when the two can be the same sound, 1 when two of
    /// their readings share the initial or the final (电 dian / 见 jian, 您 nin / 你 ni), 2
    /// otherwise. Why: on a noisy line Whisper keeps half of a syllable more often than not, so
    /// a garbled sentence that was said stays closer to the script than one that was not.
    pub fn half_edits(&self, other: &Unit) -> usize {
        if self.sounds_like(other) {
            return 0;
        }
        let (Unit::Syl { keys: a, n: na }, Unit::Syl { keys: b, n: nb }) = (self, other) else {
            return 2;
        };
        let near = a[..*na as usize].iter().any(|&x| {
            let (ix, fx) = initial_final(x);
            b[..*nb as usize].iter().any(|&y| {
                let (iy, fy) = initial_final(y);
                (ix != 0 && ix == iy) || (fx != 0 && fx == fy)
            })
        });
        if near {
            1
        } else {
            2
        }
    }
}

/// Initials after folding: one letter each (zh/ch/sh became z/c/s; n and f became l and h);
/// y and w count as initials.
const INITIALS: &[u8] = b"bpmdtlgkhjqxrzcsyw";

/// A packed key ([`fuzzy_key`]) split into its initial and final, each as a packed key (0 when
/// absent: 安 an and 嗯 n have no initial).
fn initial_final(key: u64) -> (u64, u64) {
    let len = (64 - key.leading_zeros()).div_ceil(8);
    if len < 2 {
        return (0, key);
    }
    let first = key >> (8 * (len - 1));
    if INITIALS.contains(&(first as u8)) {
        (first, key & ((1u64 << (8 * (len - 1))) - 1))
    } else {
        (0, key)
    }
}

/// Units of a character sequence.
pub fn units(chars: &[char]) -> Vec<Unit> {
    chars.iter().map(|&c| Unit::of(c)).collect()
}

/// Fold a toneless syllable by the fuzzy pairs (see the module note).
pub fn fuzzy_syllable(plain: &str) -> String {
    let mut s: String = plain.replace('ü', "v");
    // Initials: zh/ch/sh → z/c/s, n → l, f → h.
    for (from, to) in [("zh", "z"), ("ch", "c"), ("sh", "s")] {
        if let Some(rest) = s.strip_prefix(from) {
            s = format!("{to}{rest}");
            break;
        }
    }
    if let Some(rest) = s.strip_prefix('n') {
        if !rest.is_empty() && rest != "g" {
            s = format!("l{rest}");
        }
    }
    if let Some(rest) = s.strip_prefix('f') {
        s = format!("h{rest}");
    }
    // Finals: ang/eng/ing → an/en/in (covers iang/uang too); ong stays.
    if s.ends_with("ang") || s.ends_with("eng") || s.ends_with("ing") {
        s.pop();
    }
    s
}

/// A folded syllable packed into an integer (at most 8 ASCII bytes; pinyin needs 6).
fn fuzzy_key(plain: &str) -> u64 {
    fuzzy_syllable(plain)
        .bytes()
        .take(8)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(b))
}

/// Folded readings of each character, for display and debugging: 「公号」 → "gon hao".
pub fn fuzzy_pinyin(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_pinyin_multi() {
            Some(m) => fuzzy_syllable(m.get(0).plain()),
            None => c.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_the_usual_pairs() {
        assert_eq!(fuzzy_syllable("zhang"), "zan");
        assert_eq!(fuzzy_syllable("chen"), "cen");
        assert_eq!(fuzzy_syllable("sheng"), "sen");
        assert_eq!(fuzzy_syllable("ning"), "lin");
        assert_eq!(fuzzy_syllable("fu"), "hu");
        assert_eq!(fuzzy_syllable("xiang"), "xian");
        assert_eq!(fuzzy_syllable("gong"), "gong");
        assert_eq!(fuzzy_syllable("nü"), "lv");
        assert_eq!(fuzzy_pinyin("工号"), "gong hao");
    }

    #[test]
    fn whisper_homophones_sound_alike() {
        let same = |a: char, b: char| Unit::of(a).sounds_like(&Unit::of(b));
        assert!(same('工', '公'));
        assert!(same('以', '疑'));
        assert!(same('好', '号'));
        assert!(same('是', '四'), "shi/si fold together");
        assert!(same('您', '宁'), "nin/ning/lin fold together");
        assert!(same('请', '亲'), "qing/qin fold together");
        assert!(same('还', '环'), "还 has the heteronym huan");
        // dian/ding is not a fuzzy pair: 来订 for 来电 needs the edit tolerance of long phrases.
        assert!(!same('电', '订'));
        assert!(!same('您', '你'));
        assert!(!same('工', '号'));
        assert!(same('1', '1'));
        assert!(!same('1', '一'));
    }

    #[test]
    fn half_an_edit_for_a_shared_initial_or_final() {
        let cost = |a: char, b: char| Unit::of(a).half_edits(&Unit::of(b));
        assert_eq!(cost('工', '公'), 0);
        assert_eq!(cost('电', '见'), 1, "dian / jian share the final");
        assert_eq!(cost('您', '你'), 1, "nin / ni share the initial");
        assert_eq!(cost('的', '再'), 2, "de / zai share nothing");
        assert_eq!(cost('安', '按'), 0);
        assert_eq!(cost('安', '山'), 1, "an / shan share the final");
        assert_eq!(cost('1', '一'), 2);
        assert_eq!(cost('1', '1'), 0);
    }
}
