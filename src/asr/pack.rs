//! Packing a track's speech into ≤ 30 s windows, and mapping window times back to the call.
//!
//! whisper.cpp's encoder always processes a 30 s window, whatever the audio length, so one
//! call per VAD segment pays for 30 s of encoder work even for a 1 s 「好的」. Concatenating
//! the segments of one track (with a short silence between them, so Whisper still sees the
//! pauses) into windows that fill the 30 s saves most of that, and each piece keeps its own
//! offset so every timestamp maps back exactly.

/// One stretch of the track placed in a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Where the piece is on the track (seconds).
    pub track_start: f64,
    pub track_end: f64,
    /// Where it starts in the window (seconds).
    pub win_start: f64,
}

impl Piece {
    pub fn len(&self) -> f64 {
        self.track_end - self.track_start
    }
    pub fn is_empty(&self) -> bool {
        self.len() <= 0.0
    }
    pub fn win_end(&self) -> f64 {
        self.win_start + self.len()
    }
}

/// A window of audio to transcribe in one whisper call.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub pieces: Vec<Piece>,
    /// Length of the window audio (pieces plus gaps), seconds.
    pub len_s: f64,
}

impl Window {
    /// Seconds of track audio in the window (gaps excluded).
    pub fn speech_s(&self) -> f64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// The piece a window time belongs to. Each gap is split at its middle, so every time
    /// belongs to exactly one piece; Whisper's timestamps often fall a little into the gaps.
    pub fn piece_at(&self, t: f64) -> usize {
        for (i, w) in self.pieces.windows(2).enumerate() {
            if t < (w[0].win_end() + w[1].win_start) / 2.0 {
                return i;
            }
        }
        self.pieces.len() - 1
    }

    /// Map a window time into piece `i` on the track, clamped to the piece.
    pub fn to_track(&self, i: usize, t: f64) -> f64 {
        let p = &self.pieces[i];
        (p.track_start + (t - p.win_start)).clamp(p.track_start, p.track_end)
    }

    /// Build the window's audio from the 16 kHz track: pieces separated by silence.
    pub fn audio(&self, track: &[f32], rate: u32) -> Vec<f32> {
        let r = rate as f64;
        let mut out = vec![0f32; (self.len_s * r).round() as usize];
        for p in &self.pieces {
            let s = ((p.track_start * r).round() as usize).min(track.len());
            let e = ((p.track_end * r).round() as usize).min(track.len());
            let o = (p.win_start * r).round() as usize;
            let n = (e - s).min(out.len().saturating_sub(o));
            out[o..o + n].copy_from_slice(&track[s..s + n]);
        }
        out
    }
}

/// How spans become windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PackConfig {
    /// Longest window (seconds). Under 30 s so that Whisper's last timestamp still fits.
    pub max_window_s: f64,
    /// Silence between two pieces in a window (seconds).
    pub gap_s: f64,
    /// Audio kept around each span (seconds): VAD edges cut quiet word tails.
    pub pad_s: f64,
    /// Spans of one track closer than this (seconds) are decoded as one stretch, the audio
    /// between them included. On a noisy line the VAD hears only the loud syllables of a
    /// sentence; Whisper given those islands with silence between writes garbage, given the
    /// whole sentence it usually gets it right. Between two turns of one side the other side
    /// talks (seconds), so this rarely joins turns.
    pub bridge_s: f64,
    /// One window per span instead of packing (to measure what packing saves).
    pub pack: bool,
}

impl Default for PackConfig {
    fn default() -> Self {
        PackConfig {
            max_window_s: 28.0,
            gap_s: 0.6,
            pad_s: 0.15,
            // Chosen on the call benchmark's dev split: LY01 accuracy 0.717 -> 0.783, LY02
            // 0.826 -> 0.848, untranscribed 3.9 -> 0.5 s, ASR time 960 -> 805 s (fewer beam
            // redos of garbled islands), at 10/4 dB VAD.
            bridge_s: 1.5,
            pack: true,
        }
    }
}

/// Normalise `spans` (sort, clamp to the track, merge overlaps and gaps up to `bridge_s`), pad them without crossing
/// into a neighbour, split any longer than a window at its quietest point, and pack them
/// into windows in time order.
pub fn pack(track: &[f32], rate: u32, spans: &[(f64, f64)], cfg: &PackConfig) -> Vec<Window> {
    let dur = track.len() as f64 / rate as f64;
    let merged = bridge(spans, dur, cfg.bridge_s);
    // Pad, meeting a neighbour at most half way.
    let n = merged.len();
    let padded: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let (a, b) = merged[i];
            let lo = if i > 0 {
                (merged[i - 1].1 + a) / 2.0
            } else {
                0.0
            };
            let hi = if i + 1 < n {
                (b + merged[i + 1].0) / 2.0
            } else {
                dur
            };
            ((a - cfg.pad_s).max(lo), (b + cfg.pad_s).min(hi))
        })
        .collect();
    let mut pieces = Vec::new();
    for (a, b) in padded {
        split_long(track, rate, a, b, cfg.max_window_s, &mut pieces);
    }
    let mut windows: Vec<Window> = Vec::new();
    for (a, b) in pieces {
        let len = b - a;
        let fits = windows
            .last()
            .is_some_and(|w| cfg.pack && w.len_s + cfg.gap_s + len <= cfg.max_window_s);
        if fits {
            let w = windows.last_mut().expect("checked above");
            let win_start = w.len_s + cfg.gap_s;
            w.pieces.push(Piece {
                track_start: a,
                track_end: b,
                win_start,
            });
            w.len_s = win_start + len;
        } else {
            windows.push(Window {
                pieces: vec![Piece {
                    track_start: a,
                    track_end: b,
                    win_start: 0.0,
                }],
                len_s: len,
            });
        }
    }
    windows
}

/// `spans` sorted, clamped to [0, `dur`], overlapping ones and those less than `gap` apart
/// merged into one.
pub fn bridge(spans: &[(f64, f64)], dur: f64, gap: f64) -> Vec<(f64, f64)> {
    let mut s: Vec<(f64, f64)> = spans
        .iter()
        .map(|&(a, b)| (a.max(0.0), b.min(dur)))
        .filter(|(a, b)| b > a)
        .collect();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(s.len());
    for (a, b) in s {
        match merged.last_mut() {
            Some(last) if a <= last.1 + gap => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Cut [a, b) into pieces of at most `max` seconds, each cut in the middle of the quietest
/// stretch (50 ms frames) of the last 40 % of the allowed length: a breath or a pause between
/// phrases, not a word.
fn split_long(track: &[f32], rate: u32, mut a: f64, b: f64, max: f64, out: &mut Vec<(f64, f64)>) {
    let r = rate as f64;
    let hop = (0.025 * r) as usize;
    let frame = 2 * hop;
    while b - a > max {
        let lo = ((a + 0.6 * max) * r) as usize;
        let hi = (((a + max) * r) as usize).min(track.len());
        let energy: Vec<(usize, f64)> = (lo..hi.saturating_sub(frame))
            .step_by(hop)
            .map(|i| {
                let e = track[i..i + frame]
                    .iter()
                    .map(|&x| (x as f64).powi(2))
                    .sum();
                (i, e)
            })
            .collect();
        let min = energy.iter().map(|e| e.1).fold(f64::INFINITY, f64::min);
        // Longest run of frames within 3 dB of the quietest; cut at its centre.
        let quiet = |e: f64| e <= min * 2.0 + 1e-12;
        let (mut best, mut run_start, mut best_len) = (a + max, None, 0);
        for (k, &(_, e)) in energy.iter().enumerate() {
            match (quiet(e), run_start) {
                (true, None) => run_start = Some(k),
                (false, Some(s)) => {
                    if k - s > best_len {
                        best_len = k - s;
                        best = (energy[s].0 + energy[k - 1].0 + frame) as f64 / 2.0 / r;
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = run_start {
            let k = energy.len();
            if k - s > best_len {
                best = (energy[s].0 + energy[k - 1].0 + frame) as f64 / 2.0 / r;
            }
        }
        let cut = best.clamp(a + 0.5, a + max);
        out.push((a, cut));
        a = cut;
    }
    out.push((a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: u32 = 16_000;

    fn cfg() -> PackConfig {
        PackConfig {
            max_window_s: 28.0,
            gap_s: 0.5,
            pad_s: 0.1,
            bridge_s: 0.0,
            pack: true,
        }
    }

    #[test]
    fn spans_pack_in_order_with_gaps_and_map_back() {
        let track = vec![0.1f32; 100 * R as usize];
        let spans = [(1.0, 3.0), (5.0, 6.0), (40.0, 50.0), (60.0, 75.0)];
        let w = pack(&track, R, &spans, &cfg());
        assert_eq!(w.len(), 2);
        // Window 1: [0.9,3.1] + gap + [4.9,6.1] + gap + [39.9,50.1] = 2.2+0.5+1.2+0.5+10.2.
        assert_eq!(w[0].pieces.len(), 3);
        assert!((w[0].len_s - 14.6).abs() < 1e-9, "{}", w[0].len_s);
        assert!((w[0].pieces[1].win_start - 2.7).abs() < 1e-9);
        // 14.6 + 0.5 + 15.2 > 28: the last span starts a new window.
        assert_eq!(w[1].pieces[0].track_start, 59.9);
        // A time 0.5 s into the second piece is 5.4 s on the track.
        assert!((w[0].to_track(1, 3.2) - 5.4).abs() < 1e-9);
        // Times in a gap go to the nearer piece, and are clamped to it.
        assert_eq!(w[0].piece_at(2.4), 0);
        assert_eq!(w[0].piece_at(2.5), 1);
        assert_eq!(w[0].to_track(0, 2.8), 3.1);
        assert_eq!(w[0].to_track(1, 2.6), 4.9);
        let audio = w[0].audio(&track, R);
        assert_eq!(audio.len(), (14.6 * R as f64).round() as usize);
        assert_eq!(audio[(2.45 * R as f64) as usize], 0.0); // gap
        assert_eq!(audio[(3.0 * R as f64) as usize], 0.1); // piece 2
    }

    #[test]
    fn unpacked_gives_one_window_per_span() {
        let track = vec![0.0f32; 20 * R as usize];
        let c = PackConfig {
            pack: false,
            ..cfg()
        };
        let w = pack(&track, R, &[(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)], &c);
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|w| w.pieces.len() == 1));
    }

    #[test]
    fn overlapping_and_out_of_range_spans_are_normalised() {
        let track = vec![0.0f32; 10 * R as usize];
        let w = pack(
            &track,
            R,
            &[(4.0, 6.0), (-1.0, 1.0), (5.0, 12.0), (7.0, 7.0)],
            &cfg(),
        );
        assert_eq!(w.len(), 1);
        let p = &w[0].pieces;
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].track_start, p[0].track_end), (0.0, 1.1));
        assert_eq!((p[1].track_start, p[1].track_end), (3.9, 10.0));
        // Padding meets a close neighbour half way and never overlaps it.
        let w = pack(&track, R, &[(1.0, 2.0), (2.1, 3.0)], &cfg());
        let p = &w[0].pieces;
        assert!((p[0].track_end - 2.05).abs() < 1e-9 && (p[1].track_start - 2.05).abs() < 1e-9);
    }

    #[test]
    fn close_spans_are_bridged_into_one_stretch_with_the_audio_between() {
        let track: Vec<f32> = (0..10 * R as usize)
            .map(|i| (i % 7) as f32 * 0.01)
            .collect();
        let c = PackConfig {
            bridge_s: 1.0,
            ..cfg()
        };
        // 2.0–2.8 (0.8 s) is bridged, 3.5–6.0 (2.5 s) is not.
        let w = pack(&track, R, &[(1.0, 2.0), (2.8, 3.5), (6.0, 7.0)], &c);
        let p = &w[0].pieces;
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].track_start, p[0].track_end), (0.9, 3.6));
        assert_eq!((p[1].track_start, p[1].track_end), (5.9, 7.1));
        // The bridged gap is the track's own audio, not inserted silence.
        let audio = w[0].audio(&track, R);
        let at = |t: f64| (t * R as f64).round() as usize;
        assert_eq!(audio[at(2.4 - 0.9)..at(2.5 - 0.9)], track[at(2.4)..at(2.5)]);
        assert_eq!(
            bridge(&[(2.8, 3.5), (1.0, 2.0), (6.0, 7.0)], 10.0, 1.0),
            vec![(1.0, 3.5), (6.0, 7.0)]
        );
        assert_eq!(bridge(&[(1.0, 2.0), (2.8, 3.5)], 10.0, 0.0).len(), 2);
    }

    #[test]
    fn long_span_is_cut_at_its_quietest_point() {
        // 70 s of "speech" with a quiet 0.2 s pause at 25 s and another at 48 s.
        let mut track = vec![0.3f32; 70 * R as usize];
        for t in [25.0, 48.0] {
            let s = (t * R as f64) as usize;
            track[s..s + (0.2 * R as f64) as usize].fill(0.0);
        }
        let w = pack(&track, R, &[(0.0, 70.0)], &cfg());
        let pieces: Vec<Piece> = w.iter().flat_map(|w| w.pieces.clone()).collect();
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        assert!((pieces[0].track_end - 25.1).abs() < 0.06, "{pieces:?}");
        assert!((pieces[1].track_end - 48.1).abs() < 0.06, "{pieces:?}");
        assert!(pieces.iter().all(|p| p.len() <= 28.0));
        assert_eq!(pieces[2].track_end, 70.0);
        // Contiguous: nothing lost at the cuts.
        assert_eq!(pieces[0].track_end, pieces[1].track_start);
    }
}
