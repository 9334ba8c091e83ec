//! COPC-style random sampling: how many calls a human must hear per agent (or queue) for a
//! proportion estimated from the sample to be within ±e of the truth at a given confidence.
//!
//! n₀ = z²·p·(1−p) / e² (z = 1.96 for 95% confidence; p = 0.5 is the most conservative guess of
//! the error rate; e = 0.05), then the finite population correction n = n₀ / (1 + (n₀ − 1) / N),
//! rounded up. The draw is random but reproducible: a seeded shuffle, so rerunning the report
//! on the same calls lists the same sample (an auditor can check it).

use serde::{Deserialize, Serialize};

/// How to draw the sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleOptions {
    /// Group the population by agent or by queue.
    pub by: SampleBy,
    /// z for the confidence level (1.96 ↔ 95%).
    pub z: f64,
    /// Margin of error e (0.05 = ±5 percentage points).
    pub margin: f64,
    /// Expected proportion p (0.5 when unknown: the largest sample).
    pub p: f64,
    /// Seed of the draw.
    pub seed: u64,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            by: SampleBy::Agent,
            z: 1.96,
            margin: 0.05,
            p: 0.5,
            seed: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SampleBy {
    Agent,
    Queue,
}

/// z for a two-sided confidence level given in percent (90, 95, 98, 99).
pub fn z_for_confidence(percent: f64) -> Option<f64> {
    [
        (80.0, 1.2816),
        (90.0, 1.6449),
        (95.0, 1.96),
        (98.0, 2.3263),
        (99.0, 2.5758),
    ]
    .iter()
    .find(|(c, _)| (c - percent).abs() < 1e-9)
    .map(|&(_, z)| z)
}

/// Sample size for a population of `population` calls.
pub fn sample_size(population: usize, z: f64, margin: f64, p: f64) -> usize {
    if population == 0 {
        return 0;
    }
    let n0 = z * z * p * (1.0 - p) / (margin * margin);
    let n = n0 / (1.0 + (n0 - 1.0) / population as f64);
    // Guard against float noise turning an exact 52.0 into 53.
    let n = ((n - 1e-9).ceil().max(1.0)) as usize;
    n.min(population)
}

/// SplitMix64: a tiny, well-mixed generator; enough for shuffling call ids reproducibly.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..n (rejection sampling, no modulo bias).
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return x % n;
            }
        }
    }
}

/// FNV-1a, to turn a group name into part of the seed.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Draw `n` of `ids` at random (seeded by `seed` and `group`). The ids are sorted first, so the
/// result does not depend on the order the calls were inspected in. Returned sorted.
pub fn draw(ids: &[String], n: usize, seed: u64, group: &str) -> Vec<String> {
    let mut v: Vec<String> = ids.to_vec();
    v.sort();
    v.dedup();
    let n = n.min(v.len());
    let mut rng = SplitMix64(seed ^ fnv(group));
    // Partial Fisher–Yates: the first n positions are a uniform sample.
    for i in 0..n {
        let j = i + rng.below((v.len() - i) as u64) as usize;
        v.swap(i, j);
    }
    v.truncate(n);
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_sizes() {
        // n0 = 1.96² · 0.25 / 0.05² = 384.16 → 385 for a very large population.
        assert_eq!(sample_size(1_000_000, 1.96, 0.05, 0.5), 385);
        // 384.16 / (1 + 383.16 / 1000) = 277.74 → 278.
        assert_eq!(sample_size(1000, 1.96, 0.05, 0.5), 278);
        assert_eq!(sample_size(1, 1.96, 0.05, 0.5), 1);
        assert_eq!(sample_size(0, 1.96, 0.05, 0.5), 0);
    }

    #[test]
    fn draw_is_reproducible_and_order_free() {
        let ids: Vec<String> = (0..50).map(|i| format!("c{i:02}")).collect();
        let mut rev = ids.clone();
        rev.reverse();
        let a = draw(&ids, 10, 7, "1086");
        assert_eq!(a.len(), 10);
        assert_eq!(a, draw(&rev, 10, 7, "1086"));
        assert_ne!(a, draw(&ids, 10, 7, "1093"));
        assert_eq!(draw(&ids, 80, 7, "x").len(), 50);
    }
}
