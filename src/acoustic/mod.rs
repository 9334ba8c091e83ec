//! Acoustic analysis: speech activity per track, then call-level findings (silences, overlaps,
//! interruptions, latency, hang-up). Works on 16 kHz tracks whose roles are already known.

pub mod findings;
pub mod synth;
pub mod vad;

pub use findings::{analyse, apply_hangup_metadata, FindingsConfig};
pub use vad::{detect, VadConfig, VadResult};

use crate::record::{ChannelInfo, Role, SpeechSegment};

/// Run the VAD on each track. `tracks` pairs each 16 kHz signal with its source channel index
/// and role. Returns the channel summaries and all speech segments sorted by start.
pub fn detect_tracks(
    tracks: &[(usize, Role, &[f32])],
    cfg: &VadConfig,
) -> (Vec<ChannelInfo>, Vec<SpeechSegment>) {
    let results: Vec<VadResult> = std::thread::scope(|s| {
        // Tracks are independent; two at a time costs nothing extra on a busy pool.
        let handles: Vec<_> = tracks
            .iter()
            .map(|(_, _, x)| s.spawn(move || detect(x, cfg)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("vad thread panicked"))
            .collect()
    });
    let mut infos = Vec::new();
    let mut segments = Vec::new();
    for (&(index, role, _), r) in tracks.iter().zip(results) {
        let speech_s: f64 = r.segments.iter().map(|s| s.duration()).sum();
        infos.push(ChannelInfo {
            index,
            role,
            speech_s: (speech_s * 1000.0).round() / 1000.0,
            noise_floor_dbfs: (r.noise_floor_dbfs * 10.0).round() / 10.0,
            speech_level_dbfs: (r.speech_level_dbfs * 10.0).round() / 10.0,
        });
        segments.extend(r.segments.iter().map(|s| SpeechSegment {
            role,
            channel: index,
            start: (s.start * 1000.0).round() / 1000.0,
            end: (s.end * 1000.0).round() / 1000.0,
        }));
    }
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    (infos, segments)
}
