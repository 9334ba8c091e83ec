//! Canonical form of transcript text for matching.
//!
//! Whisper's punctuation is arbitrary, it mixes full-width and half-width forms, and it writes
//! spoken numbers as Arabic digits (「工号1086」) where a scorecard author writes 「工号一零八六」 or
//! 「三十天」. Both the rule phrases and the transcripts go through [`normalize_chars`], so matching
//! compares like with like: only letters, digits and Han characters survive, ASCII is lower-cased,
//! and runs of Chinese numerals become digits. Every output character remembers the span of
//! original characters it came from, so a hit can quote the transcript as it was written.

/// Normalised text: `chars[i]` came from original characters `origin[i].0 .. origin[i].1`
/// (char indices, not bytes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Normalized {
    pub chars: Vec<char>,
    pub origin: Vec<(usize, usize)>,
}

impl Normalized {
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }
    pub fn len(&self) -> usize {
        self.chars.len()
    }
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }
}

/// Normalised text as a string (see the module note).
pub fn normalize(text: &str) -> String {
    normalize_chars(text).as_string()
}

/// Normalise `text`, keeping the origin of every output character.
pub fn normalize_chars(text: &str) -> Normalized {
    // Pass 1: width folding, case folding, and dropping punctuation and spaces.
    let mut kept: Vec<(char, usize)> = Vec::with_capacity(text.len() / 3 + 1);
    for (i, c) in text.chars().enumerate() {
        let c = fold_width(c).to_ascii_lowercase();
        if c.is_alphanumeric() {
            kept.push((c, i));
        }
    }
    // Pass 2: Chinese numeral runs → digits.
    let mut out = Normalized::default();
    let mut i = 0;
    while i < kept.len() {
        if !is_numeral(kept[i].0) {
            out.chars.push(kept[i].0);
            out.origin.push((kept[i].1, kept[i].1 + 1));
            i += 1;
            continue;
        }
        let mut j = i;
        while j < kept.len() && is_numeral(kept[j].0) {
            j += 1;
        }
        let run: Vec<char> = kept[i..j].iter().map(|k| k.0).collect();
        let prev = (i > 0).then(|| kept[i - 1].0);
        let next = kept.get(j).map(|k| k.0);
        let span = (kept[i].1, kept[j - 1].1 + 1);
        match numeral_run_to_digits(&run, prev, next) {
            // Read digit by digit (一三八 → 138): each digit comes from its own character, so
            // a part of the run can be quoted or masked.
            Some(digits)
                if digits.chars().count() == j - i
                    && run.iter().all(|&c| digit_value(c).is_some()) =>
            {
                for (d, k) in digits.chars().zip(&kept[i..j]) {
                    out.chars.push(d);
                    out.origin.push((k.1, k.1 + 1));
                }
            }
            Some(digits) => {
                for d in digits.chars() {
                    out.chars.push(d);
                    out.origin.push(span);
                }
            }
            None => {
                for k in &kept[i..j] {
                    out.chars.push(k.0);
                    out.origin.push((k.1, k.1 + 1));
                }
            }
        }
        i = j;
    }
    out
}

/// Full-width ASCII forms (Ａ１，) and the ideographic space to their ASCII counterparts.
fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn digit_value(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '幺' => 1,
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

fn unit_value(c: char) -> Option<u64> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        '万' => 10_000,
        '亿' => 100_000_000,
        _ => return None,
    })
}

fn is_numeral(c: char) -> bool {
    digit_value(c).is_some() || unit_value(c).is_some()
}

/// Measure words after which a lone 一/两/十 is a number (一个 → 1个, 十天 → 10天) rather than part
/// of a word (一下, 一定, 统一, 两者).
const MEASURE_WORDS: &str = "个次天元块位份张条年月日周号岁遍台笔期项页层楼分秒";

/// Convert one maximal run of numeral characters, or `None` to keep it as written.
///
/// `prev`/`next` are the neighbouring kept characters: a lone 一, 两 or 十 is a number only after
/// 第 or before a measure word, because 一 and 两 are mostly parts of ordinary words.
fn numeral_run_to_digits(run: &[char], prev: Option<char>, next: Option<char>) -> Option<String> {
    if run.len() == 1 {
        let c = run[0];
        let numeric_context = prev == Some('第') || next.is_some_and(|n| MEASURE_WORDS.contains(n));
        return match c {
            '一' | '两' | '十' if !numeric_context => None,
            '百' | '千' | '万' | '亿' => None,
            '十' => Some("10".into()),
            _ => digit_value(c).map(|d| d.to_string()),
        };
    }
    if run.iter().all(|&c| digit_value(c).is_some()) {
        // Read digit by digit: 一零八六 → 1086, 幺三八 → 138.
        return Some(
            run.iter()
                .map(|&c| digit_value(c).unwrap_or(0).to_string())
                .collect(),
        );
    }
    parse_chinese_number(run).map(|v| v.to_string())
}

/// Value of a Chinese number with units: 三十 → 30, 十五 → 15, 一百零五 → 105, 三千五 → 3500,
/// 两万三 → 23000. `None` for runs that are not well-formed numbers (万一, 十百).
fn parse_chinese_number(run: &[char]) -> Option<u64> {
    let mut total: u64 = 0; // completed 亿 and 万 sections
    let mut section: u64 = 0; // value below 万 of the current section
    let mut digit: Option<u64> = None; // digit waiting for its unit
    let mut last_unit: u64 = 0; // unit most recently applied within the section (for 三千五)
    let mut zero_seen = false; // a 零 cancels the 三千五 shorthand (三千零五 = 3005)
    let mut section_unit: u64 = u64::MAX; // the section unit above (亿 then 万) must decrease
    for (pos, &c) in run.iter().enumerate() {
        if let Some(d) = digit_value(c) {
            if digit.is_some() {
                return None; // two digits in a row inside a unit number: 三四十 is a range
            }
            if d == 0 {
                zero_seen = true;
            } else {
                digit = Some(d);
            }
            continue;
        }
        let unit = unit_value(c)?;
        if unit >= 10_000 {
            if unit >= section_unit {
                return None;
            }
            let value = section + digit.take().unwrap_or(0);
            if value == 0 && total == 0 {
                return None; // leading 万 (万一) or 零万
            }
            total += value * unit;
            section = 0;
            last_unit = 0;
            zero_seen = false;
            section_unit = unit;
        } else {
            if last_unit != 0 && unit >= last_unit {
                return None; // 十百, 百百
            }
            let d = match digit.take() {
                Some(d) => d,
                // A bare 十 opens a number (十五 = 15); other bare units are not numbers.
                None if unit == 10 && section == 0 && (pos == 0 || zero_seen) => 1,
                None => return None,
            };
            section += d * unit;
            last_unit = unit;
            zero_seen = false;
        }
    }
    if let Some(d) = digit {
        // 三千五 = 3500: a trailing digit right after a unit counts in the next lower unit.
        if last_unit >= 100 && !zero_seen {
            section += d * (last_unit / 10);
        } else if section == 0 && total > 0 && !zero_seen && section_unit >= 10_000 {
            section += d * (section_unit / 10); // 两万三 = 23000
        } else {
            section += d;
        }
    }
    Some(total + section)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_punctuation_and_folds_width_and_case() {
        assert_eq!(
            normalize("您好，请问 有什么可以帮您？"),
            "您好请问有什么可以帮您"
        );
        assert_eq!(normalize("ＶＩＰ客户Ａ１"), "vip客户a1");
    }

    #[test]
    fn digit_by_digit_numbers() {
        assert_eq!(normalize("工号一零八六"), "工号1086");
        assert_eq!(normalize("幺三八零零"), "13800");
        assert_eq!(normalize("工号1086"), "工号1086");
    }

    #[test]
    fn numbers_with_units() {
        assert_eq!(normalize("三十天"), "30天");
        assert_eq!(normalize("十五分钟"), "15分钟");
        assert_eq!(normalize("一百零五元"), "105元");
        assert_eq!(normalize("一千零八十六"), "1086");
        assert_eq!(normalize("三千五"), "3500");
        assert_eq!(normalize("两万三"), "23000");
        assert_eq!(normalize("一万零五十"), "10050");
        assert_eq!(normalize("二十一"), "21");
        assert_eq!(normalize("十一"), "11");
        assert_eq!(normalize("三亿五千万"), "350000000");
    }

    #[test]
    fn words_that_contain_numerals_stay() {
        assert_eq!(normalize("稍等一下"), "稍等一下");
        assert_eq!(normalize("万一不行"), "万一不行");
        assert_eq!(normalize("两者都可以"), "两者都可以");
        assert_eq!(normalize("百度"), "百度");
        // …but a lone 一/两/十 before a measure word or after 第 is a number.
        assert_eq!(normalize("一个工作日"), "1个工作日");
        assert_eq!(normalize("两次"), "2次");
        assert_eq!(normalize("第一"), "第1");
        assert_eq!(normalize("三个工作日"), "3个工作日");
    }

    #[test]
    fn malformed_unit_numbers_stay_as_written() {
        assert_eq!(normalize("十百"), "十百");
        assert_eq!(normalize("三四十"), "三四十");
    }

    #[test]
    fn origin_points_at_the_source_characters() {
        let n = normalize_chars("工号：一零八六。");
        assert_eq!(n.as_string(), "工号1086");
        assert_eq!(n.origin[0], (0, 1));
        assert_eq!(n.origin[1], (1, 2));
        // A digit read digit by digit comes from its own character…
        assert_eq!(n.origin[2], (3, 4));
        assert_eq!(n.origin[5], (6, 7));
        // …a number with units from the whole run 三十五 (chars 0..3).
        let n = normalize_chars("三十五天");
        assert_eq!(n.as_string(), "35天");
        assert_eq!(n.origin[0], (0, 3));
        assert_eq!(n.origin[1], (0, 3));
    }
}
