//! `zhijian export CALL --redact --out FILE.wav`: the recording (or a clip of it) as 16-bit
//! PCM WAV at its own sample rate and channels, with the time spans of the call's personal
//! data replaced by silence or a 1 kHz tone on every channel (a number said by the customer
//! is often audible on the agent's channel too).

use super::{detect, Entity};
use crate::audio::{decode_file, DecodeOptions};
use crate::record::CallRecord;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

/// What replaces a redacted span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Fill {
    Silence,
    /// A 1 kHz tone at −20 dBFS: the listener hears that something was removed.
    Tone,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The call's result (OUT/calls/<call_id>.json); its recording is `input.path`.
    pub call: PathBuf,
    /// The WAV file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace the time spans of personal data (the record's `pii` entities) with --fill.
    #[arg(long)]
    pub redact: bool,
    /// Silence or a tone over the redacted spans.
    #[arg(long, value_enum, default_value = "tone")]
    pub fill: Fill,
    /// Seconds added before and after each span (token times are approximate).
    #[arg(long, default_value_t = 0.1, value_name = "SECS")]
    pub pad: f64,
    /// Read the recording from here instead of the record's `input.path`.
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,
    /// Clip start and end (seconds); the whole recording by default.
    #[arg(long, value_name = "SECS")]
    pub from: Option<f64>,
    #[arg(long, value_name = "SECS")]
    pub to: Option<f64>,
}

/// What `export` did.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    /// Spans replaced (seconds on the recording's time line, after padding and clipping).
    pub spans: Vec<(f64, f64)>,
    pub seconds: f64,
}

/// `zhijian export`.
pub fn export_cmd(a: &ExportArgs) -> Result<ExportReport> {
    let bytes = std::fs::read(&a.call).with_context(|| format!("reading {}", a.call.display()))?;
    let rec: CallRecord =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", a.call.display()))?;
    let audio = a.audio.clone().unwrap_or_else(|| rec.input.path.clone());
    let spans = if a.redact {
        redaction_spans(&rec, a.pad)
    } else {
        Vec::new()
    };
    export(&audio, &a.out, &spans, a.fill, a.from, a.to)
}

/// The time spans to redact in `rec`: its `pii` entities, or those found in its utterances
/// when the record has none (a record written before detection existed), each widened by
/// `pad` seconds and merged where they touch.
pub fn redaction_spans(rec: &CallRecord, pad: f64) -> Vec<(f64, f64)> {
    let found: Vec<Entity>;
    let entities: &[Entity] = if rec.pii.is_empty() {
        found = detect(&rec.utterances)
            .into_iter()
            .map(|f| f.entity)
            .collect();
        &found
    } else {
        &rec.pii
    };
    let mut s: Vec<(f64, f64)> = entities
        .iter()
        .map(|e| ((e.start_s - pad).max(0.0), e.end_s + pad))
        .collect();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (a, b) in s {
        match out.last_mut() {
            Some(l) if a <= l.1 => l.1 = l.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Decode `audio`, replace `spans`, cut the clip `from..to` and write 16-bit PCM WAV to `out`.
pub fn export(
    audio: &Path,
    out: &Path,
    spans: &[(f64, f64)],
    fill: Fill,
    from: Option<f64>,
    to: Option<f64>,
) -> Result<ExportReport> {
    let d = decode_file(audio, &DecodeOptions::default())
        .with_context(|| format!("decoding {}", audio.display()))?;
    let rate = d.sample_rate;
    let mut channels = d.channels;
    let frames = channels.first().map_or(0, Vec::len);
    let at = |t: f64| ((t.max(0.0) * rate as f64).round() as usize).min(frames);
    let (c0, c1) = (at(from.unwrap_or(0.0)), to.map_or(frames, at));
    if c1 <= c0 {
        bail!("empty clip: --from {from:?} --to {to:?} on a {frames}-sample recording");
    }
    let mut done = Vec::new();
    for &(a, b) in spans {
        let (s, e) = (at(a).max(c0), at(b).min(c1));
        if e <= s {
            continue;
        }
        for ch in channels.iter_mut() {
            for (i, x) in ch[s..e].iter_mut().enumerate() {
                *x = match fill {
                    Fill::Silence => 0.0,
                    Fill::Tone => {
                        let t = (s + i) as f32 / rate as f32;
                        0.1 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin()
                    }
                };
            }
        }
        done.push((s as f64 / rate as f64, e as f64 / rate as f64));
    }
    let clip: Vec<&[f32]> = channels.iter().map(|c| &c[c0..c1]).collect();
    write_wav_s16(out, rate, &clip).with_context(|| format!("writing {}", out.display()))?;
    Ok(ExportReport {
        spans: done,
        seconds: (c1 - c0) as f64 / rate as f64,
    })
}

/// Interleave `channels` into a 16-bit PCM WAV file.
pub fn write_wav_s16(path: &Path, rate: u32, channels: &[&[f32]]) -> std::io::Result<()> {
    let n_ch = channels.len() as u16;
    let frames = channels.first().map_or(0, |c| c.len());
    let mut data = Vec::with_capacity(frames * channels.len() * 2);
    for i in 0..frames {
        for ch in channels {
            let v = (ch[i].clamp(-1.0, 1.0) * 32767.0).round() as i16;
            data.extend_from_slice(&v.to_le_bytes());
        }
    }
    let block = n_ch * 2;
    let mut out = Vec::with_capacity(44 + data.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&n_ch.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * block as u32).to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    crate::atomic::write_atomic(path, &out)
}
