//! Audio input: decode any supported recording with symphonia, keep its channels apart, and
//! resample each to 16 kHz (what the VAD and Whisper expect).
//!
//! Decoding is strict about what makes a result untrustworthy (no audio track, unknown codec,
//! nothing decodable) and lenient about what a real call-center archive is full of (a truncated
//! tail, a few damaged packets): those become warnings with the decoded length, not failures.

mod decode;
mod resample;

pub use decode::{decode_file, DecodeOptions, Decoded};
pub use resample::resample_to;

use thiserror::Error;

/// Sample rate of the analysed signal.
pub const TARGET_RATE: u32 = 16_000;

/// Highest sample rate accepted. A header claiming more is damage, refused before anything is
/// allocated for it (a 2^31 Hz header would make the resampler ask for gigabytes).
pub const MAX_RATE: u32 = 384_000;

/// Why a recording could not be decoded. Messages are lowercase and name the cause; the batch
/// prefixes them with the file name.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AudioError {
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    #[error("file is empty (0 bytes)")]
    Empty,
    #[error("not a recognised audio file ({0})")]
    NotAudio(String),
    #[error("no audio track in the file")]
    NoAudioTrack,
    #[error("unsupported codec: {0}")]
    UnsupportedCodec(String),
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    #[error("no audio samples in the file (zero length)")]
    ZeroLength,
    #[error("sample rate {0} Hz is too low for speech analysis (need at least 8000 Hz)")]
    RateTooLow(u32),
    #[error("implausible header: sample rate {0} Hz (recordings are 8000 to 384000 Hz)")]
    RateTooHigh(u32),
    #[error("unsupported channel count {0} (need 1 or 2)")]
    Channels(usize),
    #[error("recording is {secs:.0} s long, over the limit of {limit:.0} s (--max-duration)")]
    TooLong { secs: f64, limit: f64 },
    #[error("resampling failed: {0}")]
    Resample(String),
}
