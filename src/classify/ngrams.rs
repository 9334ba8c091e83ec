//! Hashed character n-grams: the second input of every head, next to the sentence embedding.
//!
//! Why: e5's mean-pooled embedding is good at what a sentence is about and weak at how it is
//! said; tone often sits in a few characters (他妈的, 唉, 真是的, 好的) that pooling over the
//! whole sentence dilutes. A linear term over character unigrams and bigrams adds them back at
//! no measurable cost (measured: see `zhijian eval classifier`). Digits are folded to 0 and
//! Chinese numbers to digits first so that 三天 and 3天 are the same feature, as ASR writes them.

use super::noise::{arabic_digits, fnv1a};

/// Number of hash buckets (features) per text.
pub const BUCKETS: usize = 4096;

/// Sparse, L2-normalised bag of character 1- and 2-grams: (bucket, weight).
pub fn features(text: &str, buckets: usize) -> Vec<(u32, f32)> {
    let norm: Vec<char> = arabic_digits(text)
        .chars()
        .filter_map(|c| match c {
            '！' | '!' => Some('!'),
            '？' | '?' => Some('?'),
            c if c.is_ascii_digit() => Some('0'),
            c if c.is_alphanumeric() => c.to_lowercase().next(),
            _ => None,
        })
        .collect();
    let mut idx: Vec<u32> = Vec::with_capacity(norm.len() * 2);
    let mut buf = [0u8; 8];
    for (i, &c) in norm.iter().enumerate() {
        let a = c.encode_utf8(&mut buf).len();
        idx.push(bucket(&buf[..a], 1, buckets));
        if let Some(&d) = norm.get(i + 1) {
            let b = d.encode_utf8(&mut buf[a..]).len();
            idx.push(bucket(&buf[..a + b], 2, buckets));
        }
    }
    idx.sort_unstable();
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(idx.len());
    for i in idx {
        match out.last_mut() {
            Some((j, w)) if *j == i => *w += 1.0,
            _ => out.push((i, 1.0)),
        }
    }
    let norm2: f32 = out.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm2 > 0.0 {
        for (_, w) in &mut out {
            *w /= norm2;
        }
    }
    out
}

fn bucket(bytes: &[u8], order: u8, buckets: usize) -> u32 {
    ((fnv1a(bytes) ^ order as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32
        % buckets as u32
}

/// Dense `rows.len() × buckets` matrix of the given sparse rows, written into `out`.
pub fn densify(rows: &[&[(u32, f32)]], buckets: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(rows.len() * buckets, 0.0);
    for (r, row) in rows.iter().enumerate() {
        for &(i, w) in row.iter() {
            out[r * buckets + i as usize] = w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_and_number_forms_do_not_matter() {
        assert_eq!(
            features("我等了三天！", BUCKETS),
            features("我等了3天!", BUCKETS)
        );
        assert_eq!(features("等了 5 天", BUCKETS), features("等了7天", BUCKETS));
        assert_ne!(features("好的", BUCKETS), features("好了", BUCKETS));
    }

    #[test]
    fn rows_are_unit_length() {
        let f = features("你们他妈的到底还管不管", BUCKETS);
        let n: f32 = f.iter().map(|(_, w)| w * w).sum();
        assert!((n - 1.0).abs() < 1e-5);
        assert!(features("，。", BUCKETS).is_empty());
    }
}
