//! Acoustic stage throughput on a one-hour stereo 8 kHz call: decode, resample, VAD, findings.
//! Prints audio seconds per wall second per stage and peak memory (VmHWM).
//!
//! `cargo bench --bench acoustic` (or `scripts/bench`). The call is synthetic (voiced bursts in
//! alternating turns with pauses, overlaps and dead air, over line noise), written as 16-bit PCM
//! WAV to a temporary file first.

#[path = "../tests/it/common.rs"]
mod common;

use std::time::Instant;
use zhijian::acoustic::{self, FindingsConfig, VadConfig};
use zhijian::audio::{decode_file, resample_to, DecodeOptions, TARGET_RATE};
use zhijian::record::Role;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    // Measured in a child process so the memory used to synthesise the file is not counted.
    if let Ok(wav) = std::env::var("ZHIJIAN_BENCH_WAV") {
        measure(std::path::Path::new(&wav));
        return;
    }
    let secs_total = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3600.0f64);
    // A two-minute conversation pattern, tiled to the full length.
    let pattern = 120.0;
    let (mut agent, mut customer) = (Vec::new(), Vec::new());
    let mut t = 0.5;
    while t < pattern - 8.0 {
        agent.push((t, t + 3.0));
        // Every third turn the customer cuts in 0.6 s early (an overlap and an interruption).
        let cut_in = if agent.len() % 3 == 0 { 0.6 } else { -0.6 };
        customer.push((t + 3.0 - cut_in, t + 6.0));
        t += 7.0;
    }
    agent.push((t, t + 1.0)); // then ~7 s of dead air to the end of the pattern
    let one = common::call(8000, pattern, &agent, &customer);
    let reps = (secs_total / pattern).ceil() as usize;
    let chans: Vec<Vec<f32>> = one.iter().map(|c| c.repeat(reps)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hour.wav");
    common::write_wav(&path, 8000, &chans, common::Enc::S16);
    drop(chans);
    drop(one);
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env("ZHIJIAN_BENCH_WAV", &path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn measure(path: &std::path::Path) {
    let t0 = Instant::now();
    let d = decode_file(path, &DecodeOptions::default()).unwrap();
    let t_decode = t0.elapsed().as_secs_f64();
    let rss_decode = peak_rss_mib();
    let t0 = Instant::now();
    let tracks = resample_to(d.channels, d.sample_rate, TARGET_RATE).unwrap();
    let t_resample = t0.elapsed().as_secs_f64();
    let rss_resample = peak_rss_mib();
    let t0 = Instant::now();
    let roles = [
        (0, Role::Agent, &tracks[0][..]),
        (1, Role::Customer, &tracks[1][..]),
    ];
    let (_, segs) = acoustic::detect_tracks(&roles, &VadConfig::default());
    let t_vad = t0.elapsed().as_secs_f64();
    let audio_s = tracks[0].len() as f64 / TARGET_RATE as f64;
    let t0 = Instant::now();
    let (f, _) = acoustic::analyse(&segs, audio_s, &FindingsConfig::default());
    let t_find = t0.elapsed().as_secs_f64();
    let total = t_decode + t_resample + t_vad + t_find;

    println!(
        "acoustic stage, {:.0} s stereo 8 kHz 16-bit WAV ({} segments, {} silences, {} overlaps)",
        audio_s,
        segs.len(),
        f.silences.len(),
        f.overlaps.len()
    );
    println!("| stage | wall s | audio s per wall s |");
    println!("|---|---:|---:|");
    for (name, t) in [
        ("decode", t_decode),
        ("resample 8→16 kHz", t_resample),
        ("VAD (2 tracks)", t_vad),
        ("findings", t_find),
        ("total", total),
    ] {
        println!("| {name} | {t:.3} | {:.0} |", audio_s / t.max(1e-9));
    }
    println!(
        "peak RSS: {:.0} MiB (after decode {rss_decode:.0}, after resample {rss_resample:.0})",
        peak_rss_mib()
    );
}
