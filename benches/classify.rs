//! Classifier throughput and memory: utterances per second through `score_utterances` (encoder +
//! heads) on the held-out lines, whose lengths are those of call-center utterances, plus load
//! time and peak resident memory. Plain timing, no criterion: one run is minutes of CPU.
//!
//! `cargo bench --bench classify` (needs scripts/fetch-classifier.sh and trained heads).
//! Threads: candle uses all cores unless RAYON_NUM_THREADS says otherwise.
//! ZHIJIAN_BENCH_N sets how many utterances (default 600).

use std::path::PathBuf;
use std::time::Instant;
use zhijian::classify::{data, Classifier};
use zhijian::record::{Role, Utterance};

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let models =
        std::env::var_os("ZHIJIAN_MODELS").map_or_else(|| root.join("models"), PathBuf::from);
    let n: usize = std::env::var("ZHIJIAN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let test = data::load_tsv(&root.join(data::DEFAULT_DIR).join(data::TEST_FILE))
        .expect("reading the held-out lines");
    let mut utts: Vec<Utterance> = test
        .iter()
        .cycle()
        .take(n)
        .enumerate()
        .map(|(i, e)| Utterance {
            id: i,
            role: e.role,
            text: e.text.clone(),
            ..Default::default()
        })
        .collect();
    let chars: usize = utts.iter().map(|u| u.text.chars().count()).sum();

    let t0 = Instant::now();
    let clf = Classifier::load(&models).unwrap_or_else(|e| panic!("{e}"));
    let load_s = t0.elapsed().as_secs_f64();
    let rss_loaded = peak_rss_mib();

    // Warm-up on a small call, then the measured run in call-sized chunks (a call's
    // utterances are scored together by the pipeline).
    clf.score_utterances(&mut utts[..20]).unwrap();
    let t0 = Instant::now();
    for call in utts.chunks_mut(60) {
        clf.score_utterances(call).unwrap();
    }
    let dt = t0.elapsed().as_secs_f64();
    let agents = utts.iter().filter(|u| u.role == Role::Agent).count();
    println!(
        "classify: {n} utterances ({agents} agent, mean {:.1} chars) in {dt:.2} s = {:.1} utterances/s \
         (threads {}, encoder layers {})",
        chars as f64 / n as f64,
        n as f64 / dt,
        candle_core::utils::get_num_threads(),
        clf.meta().encoder_layers,
    );
    println!(
        "classify: load {load_s:.2} s; peak RSS {rss_loaded:.0} MiB after load, {:.0} MiB after scoring",
        peak_rss_mib()
    );
}
