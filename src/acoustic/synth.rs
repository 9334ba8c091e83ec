//! Synthetic speech-like signals with known timing, for tests and benchmarks: harmonic
//! "voices" with a gliding pitch and a syllable-rate envelope (voiced, like vowels) over faint
//! line noise. Real speech checks use the TTS calls in `samples/`.

/// Add a voiced burst between `start` and `end` seconds: harmonics of a gliding f0 (up to the
/// Nyquist limit, falling 6 dB/octave) with a 4.5 Hz syllable envelope that never reaches zero.
pub fn add_voice(buf: &mut [f32], rate: u32, start: f64, end: f64, level: f32, f0: f32) {
    let (s, e) = ((start * rate as f64) as usize, (end * rate as f64) as usize);
    let mut phase = 0f32;
    for i in s..e.min(buf.len()) {
        let t = (i - s) as f32 / rate as f32;
        let f = f0 + 30.0 * (t * 0.7).sin();
        phase += 2.0 * std::f32::consts::PI * f / rate as f32;
        let mut v = 0f32;
        for h in 1..=12 {
            if f * h as f32 > rate as f32 / 2.0 - 200.0 {
                break;
            }
            v += (h as f32 * phase).sin() / h as f32;
        }
        let am = 0.55 + 0.45 * (2.0 * std::f32::consts::PI * 4.5 * t).sin().abs();
        buf[i] += level * am * v;
    }
}

/// Add uniform white noise of peak `level` (deterministic for a given seed).
pub fn add_noise(buf: &mut [f32], level: f32, seed: u64) {
    let mut st = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    for s in buf.iter_mut() {
        st = st
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *s += level * (((st >> 33) as f32 / (1u64 << 31) as f32) - 1.0);
    }
}

/// A two-party call of `secs` seconds: `agent` and `customer` are (start, end) bursts on
/// channels 0 and 1, over noise about 55 dB below full scale.
pub fn call(rate: u32, secs: f64, agent: &[(f64, f64)], customer: &[(f64, f64)]) -> Vec<Vec<f32>> {
    let n = (secs * rate as f64) as usize;
    let mut a = vec![0f32; n];
    let mut c = vec![0f32; n];
    add_noise(&mut a, 0.002, 1);
    add_noise(&mut c, 0.002, 2);
    for &(s, e) in agent {
        add_voice(&mut a, rate, s, e, 0.2, 140.0);
    }
    for &(s, e) in customer {
        add_voice(&mut c, rate, s, e, 0.2, 210.0);
    }
    vec![a, c]
}
