//! Test helpers: WAV writing in every encoding the decoder must read, and speech-like signals
//! with known timing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const ZHIJIAN: &str = env!("CARGO_BIN_EXE_zhijian");

/// Held while a test runs Whisper (in this process or a `zhijian` child). whisper.cpp's
/// threads spin-wait at barriers, so two decodes sharing 2 cores run several times slower
/// than one after the other; light tests still run beside the one holding it. Take it only
/// where no other holder is called (it is not re-entrant).
pub fn whisper_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A failed test poisons it; the next one may still run.
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[derive(Clone, Copy, Debug)]
pub enum Enc {
    U8,
    S16,
    S24,
    S32,
    F32,
    ALaw,
    MuLaw,
    /// GSM 6.10 format tag with junk payload: a codec symphonia does not decode.
    Gsm,
}

/// Write interleaved `channels` (planar input) as a WAV file.
pub fn write_wav(path: &Path, rate: u32, channels: &[Vec<f32>], enc: Enc) {
    let n_ch = channels.len() as u16;
    let frames = channels[0].len();
    let (tag, bits): (u16, u16) = match enc {
        Enc::U8 => (1, 8),
        Enc::S16 => (1, 16),
        Enc::S24 => (1, 24),
        Enc::S32 => (1, 32),
        Enc::F32 => (3, 32),
        Enc::ALaw => (6, 8),
        Enc::MuLaw => (7, 8),
        Enc::Gsm => (0x31, 0),
    };
    let mut data = Vec::new();
    for i in 0..frames {
        for ch in channels {
            let x = ch[i].clamp(-1.0, 1.0);
            match enc {
                Enc::U8 => data.push(((x * 127.0) + 128.0).round() as u8),
                Enc::S16 => data.extend_from_slice(&((x * 32767.0) as i16).to_le_bytes()),
                Enc::S24 => data.extend_from_slice(&((x * 8_388_607.0) as i32).to_le_bytes()[..3]),
                Enc::S32 => {
                    data.extend_from_slice(&((x as f64 * 2_147_483_647.0) as i32).to_le_bytes())
                }
                Enc::F32 => data.extend_from_slice(&x.to_le_bytes()),
                Enc::ALaw => data.push(linear_to_alaw((x * 32767.0) as i16)),
                Enc::MuLaw => data.push(linear_to_ulaw((x * 32767.0) as i16)),
                Enc::Gsm => data.push(0x55),
            }
        }
    }
    let block_align = if bits == 0 { 65 } else { n_ch * bits / 8 };
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&n_ch.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if tag != 1 {
        fmt.extend_from_slice(&0u16.to_le_bytes()); // cbSize
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&0u32.to_le_bytes()); // patched below
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    if tag != 1 {
        // Non-PCM WAVs carry a fact chunk with the frame count.
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&(frames as u32).to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    let riff_len = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff_len.to_le_bytes());
    std::fs::write(path, out).unwrap();
}

/// ITU-T G.711 A-law encoder.
pub fn linear_to_alaw(pcm: i16) -> u8 {
    let mut pcm = pcm as i32 >> 3; // 13-bit
    let mask = if pcm >= 0 {
        0xD5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let seg_end = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];
    let seg = seg_end.iter().position(|&e| pcm <= e).unwrap_or(8);
    let aval = if seg >= 8 {
        0x7F
    } else {
        let mut a = (seg as i32) << 4;
        a |= if seg < 2 {
            (pcm >> 1) & 0xF
        } else {
            (pcm >> seg) & 0xF
        };
        a
    };
    (aval ^ mask) as u8
}

/// ITU-T G.711 μ-law encoder.
pub fn linear_to_ulaw(pcm: i16) -> u8 {
    const BIAS: i32 = 0x84;
    let mut pcm = pcm as i32 >> 2; // 14-bit
    let mask = if pcm < 0 {
        pcm = -pcm;
        0x7F
    } else {
        0xFF
    };
    pcm = (pcm + (BIAS >> 2)).min(8159);
    let seg_end = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
    let seg = seg_end.iter().position(|&e| pcm <= e).unwrap_or(8);
    if seg >= 8 {
        return (0x7F ^ mask) as u8;
    }
    let uval = ((seg as i32) << 4) | ((pcm >> (seg + 1)) & 0xF);
    (uval ^ mask) as u8
}

pub use zhijian::acoustic::synth::call;

pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}
