//! symphonia decoding into planar f32 channels at the file's own rate.

use super::AudioError;
use crate::record::AudioFormat;
use std::fs::File;
use std::path::Path;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymErr;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Reject recordings longer than this (seconds): protects memory on a mislabelled file.
    pub max_duration_s: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            max_duration_s: 4.0 * 3600.0,
        }
    }
}

/// A decoded recording, channels kept apart, at the file's own sample rate.
#[derive(Debug)]
pub struct Decoded {
    pub format: AudioFormat,
    pub sample_rate: u32,
    pub channels: Vec<Vec<f32>>,
    /// Non-fatal decoding problems (truncated tail, skipped damaged packets).
    pub warnings: Vec<String>,
}

impl Decoded {
    pub fn duration_s(&self) -> f64 {
        self.channels
            .first()
            .map_or(0.0, |c| c.len() as f64 / self.sample_rate as f64)
    }
}

fn check_rate(rate: u32) -> Result<(), AudioError> {
    if rate < 8000 {
        Err(AudioError::RateTooLow(rate))
    } else if rate > super::MAX_RATE {
        Err(AudioError::RateTooHigh(rate))
    } else {
        Ok(())
    }
}

/// A WAV header's fmt fields checked before symphonia parses them: its parser multiplies
/// channels by bits without checking (a damaged header with 59,413 channels overflows), so an
/// implausible channel count, rate or sample size is refused here first. Files that are not
/// RIFF/WAVE, or whose fmt chunk is not in the first 4 KiB, are left to the prober.
fn wav_precheck(path: &Path) -> Result<(), AudioError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    File::open(path)?.take(4096).read_to_end(&mut head)?;
    if head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Ok(());
    }
    let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let mut at = 12;
    while at + 8 <= head.len() {
        let size = u32_at(at + 4) as usize;
        if &head[at..at + 4] == b"fmt " {
            if at + 8 + 16 > head.len() {
                return Err(AudioError::Corrupt("WAV fmt chunk is cut short".into()));
            }
            let f = at + 8;
            let channels = u16_at(f + 2) as usize;
            if channels == 0 || channels > 2 {
                return Err(AudioError::Channels(channels));
            }
            check_rate(u32_at(f + 4))?;
            let bits = u16_at(f + 14);
            if bits > 64 {
                return Err(AudioError::Corrupt(format!(
                    "implausible header: {bits} bits per sample"
                )));
            }
            return Ok(());
        }
        // Chunks are padded to an even size.
        at = at
            .saturating_add(8)
            .saturating_add(size)
            .saturating_add(size & 1);
    }
    Ok(())
}

/// Decode `path` fully. Returns an error for anything that leaves no trustworthy audio.
pub fn decode_file(path: &Path, opts: &DecodeOptions) -> Result<Decoded, AudioError> {
    let file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Err(AudioError::Empty);
    }
    wav_precheck(path)?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let mut reader = symphonia::default::get_probe()
        .probe(
            &hint,
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            // A known container with an unknown codec inside (e.g. GSM 6.10 in WAV) is a codec
            // problem; nothing recognisable at all is "not audio".
            SymErr::Unsupported(what) if !what.contains("format reader") => {
                AudioError::UnsupportedCodec(what.to_string())
            }
            SymErr::Unsupported(_) => {
                AudioError::NotAudio("no supported container or codec signature found".into())
            }
            SymErr::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                AudioError::NotAudio("file too short to be audio".into())
            }
            other => AudioError::NotAudio(other.to_string()),
        })?;
    let container = reader.format_info().short_name.to_string();
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or(AudioError::NoAudioTrack)?;
    let track_id = track.id;
    let declared_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or(AudioError::NoAudioTrack)?
        .clone();
    let registry = symphonia::default::get_codecs();
    let codec = registry
        .get_audio_decoder(params.codec)
        .map(|d| d.codec.info.short_name.to_string())
        .ok_or_else(|| AudioError::UnsupportedCodec(format!("{:?}", params.codec)))?;
    // Plausibility of the header before the decoder allocates anything from it.
    if let Some(rate) = params.sample_rate {
        check_rate(rate)?;
    }
    if let Some(n) = params.channels.as_ref().map(|c| c.count()) {
        if n == 0 || n > 2 {
            return Err(AudioError::Channels(n));
        }
    }
    if let (Some(rate), Some(frames)) = (params.sample_rate, track.num_frames) {
        let secs = frames as f64 / rate as f64;
        if secs > opts.max_duration_s {
            return Err(AudioError::TooLong {
                secs,
                limit: opts.max_duration_s,
            });
        }
    }
    let mut decoder = registry
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioError::UnsupportedCodec(format!("{codec}: {e}")))?;

    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut plane: Vec<Vec<f32>> = Vec::new();
    let mut rate = params.sample_rate.unwrap_or(0);
    let mut warnings = Vec::new();
    let (mut packets, mut bad_packets) = (0usize, 0usize);
    let mut first_bad: Option<String> = None;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(SymErr::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                let secs = channels.first().map_or(0, |c| c.len()) as f64 / rate.max(1) as f64;
                warnings.push(format!(
                    "truncated file: stream ends early, decoded {secs:.2} s"
                ));
                break;
            }
            Err(SymErr::ResetRequired) => break,
            Err(e) => {
                if channels.first().is_some_and(|c| !c.is_empty()) {
                    warnings.push(format!("stream error after decoding some audio: {e}"));
                    break;
                }
                return Err(AudioError::Corrupt(e.to_string()));
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        packets += 1;
        match decoder.decode(&packet) {
            Ok(buf) => {
                let spec = buf.spec();
                let n = spec.channels().count();
                if channels.is_empty() {
                    if n == 0 || n > 2 {
                        return Err(AudioError::Channels(n));
                    }
                    rate = spec.rate();
                    check_rate(rate)?;
                    channels = vec![Vec::new(); n];
                }
                if n != channels.len() {
                    return Err(AudioError::Corrupt(format!(
                        "channel count changes mid-stream ({} → {n})",
                        channels.len()
                    )));
                }
                buf.copy_to_vecs_planar::<f32>(&mut plane);
                for (dst, src) in channels.iter_mut().zip(&plane) {
                    dst.extend_from_slice(src);
                }
                let secs = channels[0].len() as f64 / rate as f64;
                if secs > opts.max_duration_s {
                    return Err(AudioError::TooLong {
                        secs,
                        limit: opts.max_duration_s,
                    });
                }
            }
            Err(SymErr::DecodeError(msg)) => {
                bad_packets += 1;
                first_bad.get_or_insert_with(|| msg.to_string());
            }
            Err(SymErr::IoError(e)) => {
                warnings.push(format!("decoder read error, stopped early: {e}"));
                break;
            }
            Err(SymErr::Unsupported(what)) => {
                return Err(AudioError::UnsupportedCodec(format!("{codec}: {what}")));
            }
            Err(e) => return Err(AudioError::Corrupt(e.to_string())),
        }
    }
    let decoded_frames = channels.first().map_or(0, |c| c.len());
    if bad_packets > 0 {
        let msg = first_bad.unwrap_or_default();
        // Mostly garbage: the result would be noise, not the call.
        if decoded_frames == 0 || bad_packets * 5 > packets {
            return Err(AudioError::Corrupt(format!(
                "{bad_packets} of {packets} packets could not be decoded ({msg})"
            )));
        }
        warnings.push(format!(
            "skipped {bad_packets} of {packets} damaged packets ({msg})"
        ));
    }
    if decoded_frames == 0 {
        return Err(AudioError::ZeroLength);
    }
    // The container promised more than the stream delivered: damage (a resyncing MP3 reader
    // skips garbage silently) or truncation. Half missing is no longer the call.
    let truncated = warnings.iter().any(|w| w.starts_with("truncated"));
    if let Some(declared) = declared_frames.filter(|&n| n > 0 && !truncated) {
        let got = decoded_frames as f64 / declared as f64;
        let secs = |n: f64| n / rate.max(1) as f64;
        if got < 0.5 {
            return Err(AudioError::Corrupt(format!(
                "only {:.1} s of the declared {:.1} s could be decoded",
                secs(decoded_frames as f64),
                secs(declared as f64)
            )));
        }
        if got < 0.98 {
            warnings.push(format!(
                "damaged or truncated: decoded {:.1} s of the declared {:.1} s",
                secs(decoded_frames as f64),
                secs(declared as f64)
            ));
        }
    }
    // Clip non-finite samples a broken float WAV can carry; they would poison every mean.
    for ch in &mut channels {
        for s in ch.iter_mut() {
            if !s.is_finite() {
                *s = 0.0;
            }
        }
    }
    Ok(Decoded {
        format: AudioFormat {
            container,
            codec,
            sample_rate: rate,
            channels: channels.len(),
        },
        sample_rate: rate,
        channels,
        warnings,
    })
}
