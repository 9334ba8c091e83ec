//! Character error rate, and `zhijian eval asr DIR`: every audio file that has a `.txt`
//! reference next to it is decoded, run through the VAD and the recogniser exactly as in an
//! inspection, and scored.

use super::text::{squash, to_simplified};
use super::{Asr, AsrError, SAMPLE_RATE};
use crate::acoustic::{self, VadConfig};
use crate::audio::{self, DecodeOptions};
use crate::record::Role;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The form texts are compared in: simplified, punctuation and spaces removed, full-width
/// folded, lower case. Digits stay digits (a reference in 汉字 numerals scores them as errors;
/// write references the way Whisper writes numbers, or accept it).
pub fn normalise(s: &str) -> Vec<char> {
    squash(&to_simplified(s)).chars().collect()
}

/// Levenshtein distance between two character sequences.
pub fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Character error rate of `hypothesis` against `reference`, after [`normalise`]:
/// (substitutions + deletions + insertions) / reference characters. 0 for two empty texts,
/// 1 per inserted character against an empty reference.
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (normalise(reference), normalise(hypothesis));
    let d = edit_distance(&r, &h);
    if r.is_empty() {
        return d as f64;
    }
    d as f64 / r.len() as f64
}

/// One scored file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileScore {
    pub path: PathBuf,
    pub reference: String,
    pub hypothesis: String,
    pub ref_chars: usize,
    pub edits: usize,
    pub cer: f64,
    pub audio_s: f64,
    /// Recognition wall time (decode and VAD excluded).
    pub asr_s: f64,
}

/// A directory's scores.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalReport {
    pub dir: PathBuf,
    pub model: PathBuf,
    pub files: Vec<FileScore>,
    /// Files that could not be scored, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Total edits over total reference characters.
    pub cer: f64,
    pub audio_s: f64,
    pub asr_s: f64,
    /// Recognition time over audio time.
    pub rtf: f64,
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for s in &self.files {
            writeln!(
                f,
                "{}\tCER {:.1}% ({}/{})\tRTF {:.3}\n  ref: {}\n  hyp: {}",
                s.path.display(),
                s.cer * 100.0,
                s.edits,
                s.ref_chars,
                s.asr_s / s.audio_s.max(1e-9),
                s.reference,
                s.hypothesis
            )?;
        }
        for (p, e) in &self.failed {
            writeln!(f, "{}\tFAILED: {e}", p.display())?;
        }
        write!(
            f,
            "overall: CER {:.2}% over {} files, {:.1} s of audio, RTF {:.3} ({})",
            self.cer * 100.0,
            self.files.len(),
            self.audio_s,
            self.rtf,
            self.model.display()
        )
    }
}

const AUDIO_EXT: &[&str] = &["wav", "mp3", "flac", "ogg", "m4a", "opus"];

/// Score every audio file in `dir` that has a `<stem>.txt` reference beside it. Multi-channel
/// files are mixed to mono. A file that fails is reported and the rest go on.
pub fn eval_asr_dir(asr: &Asr, dir: &Path) -> Result<EvalReport, AsrError> {
    let io = |e| AsrError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    let mut inputs: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXT.contains(&e.to_ascii_lowercase().as_str()))
        })
        .filter_map(|p| {
            let txt = p.with_extension("txt");
            txt.is_file().then_some((p, txt))
        })
        .collect();
    inputs.sort();
    let mut worker = asr.worker()?;
    let mut files = Vec::new();
    let mut failed = Vec::new();
    for (audio_path, txt) in inputs {
        match score_file(&mut worker, &audio_path, &txt) {
            Ok(s) => files.push(s),
            Err(e) => failed.push((audio_path, e.to_string())),
        }
    }
    let edits: usize = files.iter().map(|s| s.edits).sum();
    let chars: usize = files.iter().map(|s| s.ref_chars).sum();
    let audio_s: f64 = files.iter().map(|s| s.audio_s).sum();
    let asr_s: f64 = files.iter().map(|s| s.asr_s).sum();
    Ok(EvalReport {
        dir: dir.to_path_buf(),
        model: asr.model_path().to_path_buf(),
        files,
        failed,
        cer: if chars == 0 {
            0.0
        } else {
            edits as f64 / chars as f64
        },
        audio_s,
        asr_s,
        rtf: if audio_s > 0.0 { asr_s / audio_s } else { 0.0 },
    })
}

/// Decode to 16 kHz mono (channels averaged).
pub fn load_mono_16k(path: &Path) -> Result<Vec<f32>, AsrError> {
    let bad = |reason: String| AsrError::Audio {
        path: path.to_path_buf(),
        reason,
    };
    let d = audio::decode_file(path, &DecodeOptions::default()).map_err(|e| bad(e.to_string()))?;
    let n = d.channels.len().max(1) as f32;
    let len = d.channels.first().map_or(0, Vec::len);
    let mono: Vec<f32> = (0..len)
        .map(|i| d.channels.iter().map(|c| c[i]).sum::<f32>() / n)
        .collect();
    let mut out = audio::resample_to(vec![mono], d.sample_rate, SAMPLE_RATE)
        .map_err(|e| bad(e.to_string()))?;
    Ok(out.pop().unwrap_or_default())
}

fn score_file(
    worker: &mut super::AsrWorker,
    audio_path: &Path,
    txt: &Path,
) -> Result<FileScore, AsrError> {
    let reference = std::fs::read_to_string(txt)
        .map_err(|e| AsrError::Io {
            path: txt.to_path_buf(),
            source: e,
        })?
        .trim()
        .to_string();
    let samples = load_mono_16k(audio_path)?;
    let vad = acoustic::detect(&samples, &VadConfig::default());
    let spans: Vec<(f64, f64)> = vad.segments.iter().map(|s| (s.start, s.end)).collect();
    let t = Instant::now();
    let utts = worker.transcribe_track(&samples, &spans, Role::Mixed)?;
    let asr_s = t.elapsed().as_secs_f64();
    let hypothesis: String = utts.iter().map(|u| u.text.as_str()).collect();
    let (r, h) = (normalise(&reference), normalise(&hypothesis));
    let edits = edit_distance(&r, &h);
    Ok(FileScore {
        path: audio_path.to_path_buf(),
        cer: if r.is_empty() {
            edits as f64
        } else {
            edits as f64 / r.len() as f64
        },
        ref_chars: r.len(),
        edits,
        reference,
        hypothesis,
        audio_s: samples.len() as f64 / SAMPLE_RATE as f64,
        asr_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cer_counts_character_edits_after_normalising() {
        assert_eq!(
            cer("甚至出现交易几乎停滞的情况", "甚至出现交易几乎停滞的情况。"),
            0.0
        );
        // One substitution (滞→止) in 13 characters.
        let c = cer("甚至出现交易几乎停滞的情况", "甚至出現交易幾乎停止的情況");
        assert!((c - 1.0 / 13.0).abs() < 1e-12, "{c}");
        // Deletion and insertion.
        assert!((cer("一二三四", "一三四") - 0.25).abs() < 1e-12);
        assert!((cer("一二三四", "一二三四五六") - 0.5).abs() < 1e-12);
        assert_eq!(cer("", ""), 0.0);
        assert_eq!(cer("", "好的"), 2.0);
        assert_eq!(cer("ＯＫ，好的", "ok 好的"), 0.0);
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&c("kitten"), &c("sitting")), 3);
        assert_eq!(edit_distance(&c(""), &c("abc")), 3);
        assert_eq!(edit_distance(&c("abc"), &c("abc")), 0);
    }
}
