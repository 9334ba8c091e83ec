//! ASR bench: zhijian's transcription (VAD spans packed into ≤ 28 s windows) against the plain
//! whisper.cpp way (`whisper_full` over each whole channel with whisper.cpp's command-line
//! defaults: no VAD, beam 5, language zh), on the same audio and model. One configuration per
//! process so that `benches/asr.sh` can read each one's peak memory from `/usr/bin/time -v`.
//!
//! ```text
//! cargo bench --bench asr -- MODE MODEL WORKERS THREADS [FILES…]
//!   MODE: zhijian (greedy, beam where unsure: the default) | beam (every window) | greedy
//!         | unpacked (beam, one whisper call per VAD span) | baseline
//! cargo bench --bench asr -- convert CT2_DIR OUT.bin f16|q8_0|q5_0
//! cargo bench --bench asr -- cer REF.txt HYP.txt   (score another program's transcript)
//! ```
//! Environment: BENCH_DTW=0 (DTW timing off), BENCH_REDO_BELOW=-0.6 (adaptive threshold),
//! BENCH_AUDIO_CTX=0 (encoder over a fixed 30 s), BENCH_WINDOW=15 (longest packed window, s),
//! BENCH_VOCAB=rules/lexicons/vocabulary.txt (words for the prompt, as `inspect` reads them),
//! BENCH_PRINT=1 (each track's reference and transcript on stderr).
//! Prints one JSON line: audio seconds, wall seconds, real-time factor, CER against the
//! labels, whisper calls. Without FILES: the four calls in samples/ and the three in
//! data/calls/ci/.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};
use zhijian::acoustic::{self, VadConfig};
use zhijian::asr::{eval, Asr, AsrOptions, Decode};
use zhijian::audio::{decode_file, resample_to, DecodeOptions};
use zhijian::record::Role;

/// One channel to transcribe and what was said on it.
struct Track {
    name: String,
    samples: Vec<f32>,
    reference: String,
    /// Whose channel it is, as `inspect` would pass it (Mixed for mono).
    role: Role,
}

/// Channels of a labelled call with their reference text from `<stem>.labels.json`: the
/// samples' `turns`, or the call benchmark's `truth.turns` (data/calls).
fn load_tracks(path: &Path) -> Vec<Track> {
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let labels: serde_json::Value = serde_json::from_slice(
        &std::fs::read(path.with_file_name(format!("{stem}.labels.json"))).unwrap(),
    )
    .unwrap();
    let d = decode_file(path, &DecodeOptions::default()).unwrap();
    let chans = resample_to(d.channels, d.sample_rate, 16_000).unwrap();
    let turns = labels
        .get("turns")
        .unwrap_or(&labels["truth"]["turns"])
        .as_array()
        .unwrap();
    let mono = chans.len() == 1;
    chans
        .into_iter()
        .enumerate()
        .map(|(i, samples)| {
            let reference: String = turns
                .iter()
                .filter(|t| mono || t["channel"] == i)
                .map(|t| t["text"].as_str().unwrap())
                .collect();
            let role = match turns.iter().find(|t| t["channel"] == i) {
                Some(t) if !mono && t["role"] == "agent" => Role::Agent,
                Some(_) if !mono => Role::Customer,
                _ => Role::Mixed,
            };
            Track {
                name: format!("{stem}#{i}"),
                samples,
                reference,
                role,
            }
        })
        .collect()
}

/// A plain whisper.cpp context: no DTW. Flash attention (whisper-cli 1.8's default) is off
/// unless BENCH_FLASH=1: on these 2 CPU cores it made plain decoding slower (170 s against
/// 128 s on the bench files, q8_0), so the baseline is the faster of the two.
fn plain_context(model: &Path) -> WhisperContext {
    let mut cp = WhisperContextParameters::default();
    cp.flash_attn(std::env::var("BENCH_FLASH").is_ok_and(|v| v == "1"));
    WhisperContext::new_with_params(model.to_str().unwrap(), cp).unwrap()
}

/// whisper.cpp's command-line defaults on the whole track, as `whisper-cli -l zh -t N` runs.
fn baseline(ctx: &WhisperContext, track: &[f32], threads: usize) -> (String, usize) {
    let mut st = ctx.create_state().unwrap();
    let mut p = FullParams::new(SamplingStrategy::BeamSearch {
        beam_size: 5,
        patience: -1.0,
    });
    p.set_n_threads(threads as i32);
    p.set_language(Some("zh"));
    p.set_print_progress(false);
    p.set_print_realtime(false);
    p.set_print_timestamps(false);
    st.full(p, track).unwrap();
    let text = st
        .as_iter()
        .map(|s| s.to_str_lossy().unwrap().into_owned())
        .collect::<String>();
    (text, track.len().div_ceil(16_000 * 30))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("cer") && args.len() == 3 {
        // cer REF.txt HYP.txt: score another program's output with the same normalisation.
        let read = |p: &str| std::fs::read_to_string(p).unwrap();
        let (r, h) = (
            eval::normalise(&read(&args[1])),
            eval::normalise(&read(&args[2])),
        );
        let e = eval::edit_distance(&r, &h);
        println!(
            "{{\"edits\": {e}, \"ref_chars\": {}, \"cer\": {:.4}}}",
            r.len(),
            e as f64 / r.len().max(1) as f64
        );
        return;
    }
    if args.first().map(String::as_str) == Some("convert") && args.len() == 4 {
        // convert CT2_DIR OUT.bin f16|q8_0: the set-up's conversion, timed.
        let q = match args[3].as_str() {
            "q8_0" => zhijian::asr::convert::Quant::Q8_0,
            "q5_0" => zhijian::asr::convert::Quant::Q5_0,
            _ => zhijian::asr::convert::Quant::F16,
        };
        let t = Instant::now();
        let r = zhijian::asr::convert::convert_ct2(Path::new(&args[1]), Path::new(&args[2]), q)
            .unwrap();
        eprintln!("{r} in {:.1} s", t.elapsed().as_secs_f64());
        return;
    }
    if args.len() < 4 {
        eprintln!("usage: cargo bench --bench asr -- zhijian|unpacked|baseline MODEL WORKERS THREADS [FILES…]");
        std::process::exit(2);
    }
    let (mode, model) = (args[0].as_str(), PathBuf::from(&args[1]));
    let workers: usize = args[2].parse().unwrap();
    let threads: usize = args[3].parse().unwrap();
    let files: Vec<PathBuf> = if args.len() > 4 {
        args[4..].iter().map(PathBuf::from).collect()
    } else {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        [
            "samples/call01_inbound_good.wav",
            "samples/call02_inbound_bad.wav",
            "samples/call03_outbound_sales.mp3",
            "samples/call04_mono_insurance.flac",
            // Three benchmark calls: 8 kHz lines with noise (data/calls/README.md).
            "data/calls/ci/bench032.wav",
            "data/calls/ci/bench040.wav",
            "data/calls/ci/bench074.wav",
        ]
        .iter()
        .map(|f| root.join(f))
        .collect()
    };
    let tracks: Vec<Track> = files.iter().flat_map(|f| load_tracks(f)).collect();
    let opts = AsrOptions {
        threads,
        pack: mode != "unpacked",
        // Matrix knobs: BENCH_DTW=0 turns DTW timing off, BENCH_REDO_BELOW sets the adaptive
        // mode's log-probability threshold.
        dtw: std::env::var("BENCH_DTW").map_or(true, |v| v != "0"),
        redo_below_logprob: std::env::var("BENCH_REDO_BELOW")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(AsrOptions::default().redo_below_logprob),
        vocabulary: std::env::var("BENCH_VOCAB").map_or(Vec::new(), |f| {
            zhijian::asr::text::parse_vocabulary(&std::fs::read_to_string(f).unwrap())
        }),
        fit_audio_ctx: std::env::var("BENCH_AUDIO_CTX").map_or(true, |v| v != "0"),
        max_window_s: std::env::var("BENCH_WINDOW")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(AsrOptions::default().max_window_s),
        decode: match mode {
            "beam" | "unpacked" => Decode::Beam,
            "greedy" => Decode::Greedy,
            _ => Decode::Adaptive,
        },
        ..Default::default()
    };
    // One model in memory per run: whisper.cpp's plain context, or zhijian's.
    let plain = (mode == "baseline").then(|| plain_context(&model));
    let asr = plain
        .is_none()
        .then(|| Asr::load(&model, opts.clone()).unwrap());

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let mut w = asr.as_ref().map(|a| a.worker().unwrap());
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(tr) = tracks.get(i) else { break };
                    let (hyp, calls) = if let Some(ctx) = &plain {
                        baseline(ctx, &tr.samples, threads)
                    } else {
                        let w = w.as_mut().unwrap();
                        let before = w.stats().windows;
                        let vad = acoustic::detect(&tr.samples, &VadConfig::default());
                        let spans: Vec<(f64, f64)> =
                            vad.segments.iter().map(|s| (s.start, s.end)).collect();
                        let u = w.transcribe_track(&tr.samples, &spans, tr.role).unwrap();
                        (
                            u.iter().map(|u| u.text.as_str()).collect(),
                            w.stats().windows - before,
                        )
                    };
                    results.lock().unwrap().push((i, hyp, calls));
                }
            });
        }
    });
    let wall = t.elapsed().as_secs_f64();
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let (mut edits, mut chars, mut calls) = (0usize, 0usize, 0usize);
    let mut per_track = Vec::new();
    for (i, hyp, c) in &results {
        let tr = &tracks[*i];
        let (r, h) = (eval::normalise(&tr.reference), eval::normalise(hyp));
        let e = eval::edit_distance(&r, &h);
        if std::env::var_os("BENCH_PRINT").is_some() {
            eprintln!("{}\n  ref: {}\n  hyp: {}", tr.name, tr.reference, hyp);
        }
        edits += e;
        chars += r.len();
        calls += c;
        per_track
            .push(serde_json::json!({"track": tr.name, "cer": e as f64 / r.len().max(1) as f64}));
    }
    let audio_s: f64 = tracks
        .iter()
        .map(|t| t.samples.len() as f64 / 16_000.0)
        .sum();
    println!(
        "{}",
        serde_json::json!({
            "mode": mode, "model": model.file_name().unwrap().to_string_lossy(),
            "workers": workers, "threads": threads,
            "audio_s": (audio_s * 10.0).round() / 10.0, "wall_s": (wall * 100.0).round() / 100.0,
            "rtf": (wall / audio_s * 1000.0).round() / 1000.0,
            "cer": (edits as f64 / chars as f64 * 10000.0).round() / 10000.0,
            "whisper_calls": calls, "tracks": per_track,
            "dtw": opts.dtw, "redo_below": opts.redo_below_logprob,
            "fit_audio_ctx": opts.fit_audio_ctx, "vocabulary": opts.vocabulary.len(), "max_window_s": opts.max_window_s,
        })
    );
}
