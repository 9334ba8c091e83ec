//! The recogniser in a supervised child process.
//!
//! whisper.cpp and ggml are C++: an assertion or a bad allocation inside them aborts the whole
//! process, and with it a night's batch (and every rerun dies again on the same call). `inspect`
//! therefore runs Whisper in child processes (`zhijian asr-child`, hidden): the parent sends a
//! track (16 kHz f32 samples, speech spans, role) over the child's stdin and reads the
//! transcript back as one JSON line. When the child dies mid-call, that call fails with stage
//! `asr` and the child's exit status, the child is replaced, and the batch goes on.
//!
//! Wire format, parent → child: one JSON line `{"role", "spans", "samples"}` then `samples`
//! little-endian f32. Child → parent: `ready` once the model is loaded, then one JSON line per
//! request: `{"ok": {"utterances", "untranscribed"}}` or `{"err": "…"}`.

use super::{Asr, AsrError, AsrOptions, TrackTranscript};
use crate::record::{Role, Untranscribed, Utterance};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Test hook (fault injection): a child asked to transcribe a track this many seconds long
/// (±0.1 s) aborts, as a crash inside whisper.cpp would. A comma-separated list; an entry
/// ending in `:dtw` aborts only in a child with DTW token alignment on (whisper.cpp's DTW
/// median filter asserts on a segment under 0.16 s).
pub const ABORT_ON_SECONDS_ENV: &str = "ZHIJIAN_FAULT_ASR_ABORT_SECONDS";

/// Track lengths (s) at which this child aborts, from [`ABORT_ON_SECONDS_ENV`].
fn abort_lengths(dtw: bool) -> Vec<f64> {
    let Ok(v) = std::env::var(ABORT_ON_SECONDS_ENV) else {
        return Vec::new();
    };
    v.split(',')
        .filter_map(|e| match e.trim().strip_suffix(":dtw") {
            Some(secs) => secs.parse().ok().filter(|_| dtw),
            None => e.trim().parse().ok(),
        })
        .collect()
}

#[derive(Serialize, Deserialize)]
struct Request {
    role: Role,
    spans: Vec<(f64, f64)>,
    samples: usize,
}

#[derive(Serialize, Deserialize)]
struct Transcript {
    utterances: Vec<Utterance>,
    untranscribed: Vec<Untranscribed>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Ok(Transcript),
    Err(String),
}

/// How to start a child: the zhijian binary, the model and the options.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    pub exe: PathBuf,
    pub model: PathBuf,
    pub opts: AsrOptions,
}

pub struct AsrChild {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for AsrChild {
    fn drop(&mut self) {
        // Closing stdin ends the child's loop; kill in case it is stuck.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl AsrChild {
    /// Start a child and wait until its model is loaded.
    pub fn spawn(spec: &ChildSpec) -> Result<AsrChild, AsrError> {
        let opts = serde_json::to_string(&spec.opts).expect("options serialise");
        let mut child = Command::new(&spec.exe)
            .arg("asr-child")
            .arg("--model")
            .arg(&spec.model)
            .arg("--options")
            .arg(opts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| AsrError::Child(format!("starting {}: {e}", spec.exe.display())))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        if line.trim() != "ready" {
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            return Err(AsrError::Child(format!(
                "the speech recogniser process did not start ({status}); see the messages above"
            )));
        }
        Ok(AsrChild {
            child,
            stdin,
            stdout,
        })
    }

    /// Transcribe one track in the child. A child that dies gives [`AsrError::Crashed`]
    /// and must not be used again.
    pub fn transcribe_track_checked(
        &mut self,
        samples_16k: &[f32],
        speech: &[(f64, f64)],
        role: Role,
    ) -> Result<TrackTranscript, AsrError> {
        let req = Request {
            role,
            spans: speech.to_vec(),
            samples: samples_16k.len(),
        };
        let sent = self.send(&req, samples_16k);
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line);
        if sent.is_err() || read.is_err() || line.is_empty() {
            let status = self
                .child
                .wait()
                .map_or_else(|e| e.to_string(), |s| s.to_string());
            return Err(AsrError::Crashed(status));
        }
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply::Ok(t)) => Ok(TrackTranscript {
                utterances: t.utterances,
                untranscribed: t.untranscribed,
            }),
            Ok(Reply::Err(e)) => Err(AsrError::Child(e)),
            Err(e) => Err(AsrError::Child(format!("unreadable reply: {e}"))),
        }
    }

    fn send(&mut self, req: &Request, samples: &[f32]) -> std::io::Result<()> {
        let mut head = serde_json::to_vec(req).expect("request serialises");
        head.push(b'\n');
        self.stdin.write_all(&head)?;
        // In pieces: a byte copy of an hour-long track would be another 230 MB.
        let mut buf = Vec::with_capacity(CHUNK * 4);
        for piece in samples.chunks(CHUNK) {
            buf.clear();
            for s in piece {
                buf.extend_from_slice(&s.to_le_bytes());
            }
            self.stdin.write_all(&buf)?;
        }
        self.stdin.flush()
    }
}

/// Samples per write or read of a track: 256 KiB of bytes at a time.
const CHUNK: usize = 1 << 16;

/// `n` little-endian f32 samples, read in pieces straight into the track (no byte copy of
/// the whole track).
fn read_samples(input: &mut impl Read, n: usize) -> std::io::Result<Vec<f32>> {
    let mut samples = Vec::with_capacity(n);
    let mut bytes = vec![0u8; CHUNK * 4];
    while samples.len() < n {
        let k = (n - samples.len()).min(CHUNK);
        input.read_exact(&mut bytes[..k * 4])?;
        samples.extend(
            bytes[..k * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    Ok(samples)
}

/// `zhijian asr-child`: load the model, say `ready`, answer requests until stdin closes.
pub fn child_main(model: &Path, options: &str) -> anyhow::Result<()> {
    let opts: AsrOptions = serde_json::from_str(options)?;
    let abort_on = abort_lengths(opts.dtw);
    let asr = Asr::load(model, opts)?;
    let mut worker = asr.worker()?;
    let stdin = std::io::stdin();
    let mut input = BufReader::new(stdin.lock());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "ready")?;
    out.flush()?;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let req: Request = serde_json::from_str(&line)?;
        let secs = req.samples as f64 / super::SAMPLE_RATE as f64;
        if abort_on.iter().any(|a| (a - secs).abs() < 0.1) {
            std::process::abort();
        }
        let samples = read_samples(&mut input, req.samples)?;
        let reply = match worker.transcribe_track_checked(&samples, &req.spans, req.role) {
            Ok(t) => Reply::Ok(Transcript {
                utterances: t.utterances,
                untranscribed: t.untranscribed,
            }),
            Err(e) => Reply::Err(e.to_string()),
        };
        serde_json::to_writer(&mut out, &reply)?;
        writeln!(out)?;
        out.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_crosses_the_pipe_in_pieces_unchanged() {
        let n = CHUNK * 2 + 7;
        let track: Vec<f32> = (0..n).map(|i| (i as f32 * 0.001).sin()).collect();
        let bytes: Vec<u8> = track.iter().flat_map(|s| s.to_le_bytes()).collect();
        let got = read_samples(&mut &bytes[..], n).unwrap();
        assert_eq!(got, track);
        // A track cut short is an error, not a shorter track.
        let e = read_samples(&mut &bytes[..bytes.len() - 4], n).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
