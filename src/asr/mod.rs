//! Mandarin speech recognition with whisper.cpp (whisper-rs): from a track's VAD speech spans
//! to timed, simplified-Chinese utterances, with nothing invented on silence.
//!
//! - One [`Asr`] (the loaded model) is shared read-only by all workers; each worker owns an
//!   [`AsrWorker`] with its own decoding state (`whisper_full` is not safe for two threads on
//!   one state). Keep workers × `threads` ≤ cores.
//! - Only VAD speech is transcribed, packed into ≤ 28 s windows ([`pack`]) so the encoder's
//!   fixed 30 s cost is shared; timestamps are mapped back per piece and clamped to it.
//! - Language fixed to `zh`, a simplified-Chinese prompt, no context across windows,
//!   temperature fallback, blank and non-speech tokens suppressed, a token budget per second
//!   of speech; output converted to simplified, known hallucinations and loops removed
//!   ([`text`]).
//! - [`convert`] builds the ggml model from the CTranslate2 weights the registries carry;
//!   any whisper.cpp ggml file (small, medium, large-v3-turbo…) loads the same way.

pub mod convert;
pub mod ct2;
pub mod eval;
pub mod ggml;
pub mod pack;
pub mod roles;
pub mod supervised;
pub mod text;

pub use roles::assign_mono_roles;

use crate::record::{Role, Untranscribed, Utterance};
use pack::{PackConfig, Window};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;
use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperError, WhisperState,
};

/// Sample rate whisper.cpp expects.
pub const SAMPLE_RATE: u32 = 16_000;

/// Why recognition failed. Model errors name the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AsrError {
    #[error("{}: model file not found (run scripts/fetch-models.sh and `zhijian models convert`, or pass a whisper.cpp ggml file)", .0.display())]
    ModelMissing(PathBuf),
    #[error(transparent)]
    BadModel(#[from] convert::ConvertError),
    #[error("{}: whisper.cpp could not load the model: {source}", path.display())]
    Load { path: PathBuf, source: WhisperError },
    #[error("creating a decoding state: {0}")]
    State(WhisperError),
    #[error("transcribing the window at {start:.2}–{end:.2} s: {source}")]
    Decode {
        start: f64,
        end: f64,
        source: WhisperError,
    },
    #[error("cannot read audio {}: {reason}", path.display())]
    Audio { path: PathBuf, reason: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The supervised recogniser process reported a problem or could not start.
    #[error("speech recogniser process: {0}")]
    Child(String),
    /// The supervised recogniser process died on this call (a crash in whisper.cpp/ggml).
    #[error(
        "the speech recogniser crashed on this call ({0}); the call is skipped, the batch goes on"
    )]
    Crashed(String),
}

/// Recognition settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsrOptions {
    /// whisper.cpp threads per worker.
    pub threads: usize,
    /// Beam width used where beam search runs (see `decode`).
    pub beam_size: usize,
    /// When beam search runs: on every window, never, or only on windows whose greedy
    /// decode looks unreliable (see [`Decode`]).
    pub decode: Decode,
    /// `Decode::Adaptive`: a greedy window is decoded again with beam search when one of its
    /// utterances has a mean token log-probability under this.
    pub redo_below_logprob: f64,
    /// Prompt in simplified Chinese: steers Whisper to simplified characters and punctuation.
    pub initial_prompt: String,
    /// The site's words, appended to the prompt as a list (bounded, see [`text::Prompt`]):
    /// Whisper then prefers them over homophones. Empty: the style sentence alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vocabulary: Vec<String>,
    /// Longest packed window (s); under 30 so that the final timestamp fits.
    pub max_window_s: f64,
    /// Silence between packed speech spans (s).
    pub gap_s: f64,
    /// Audio kept around each VAD span (s).
    pub pad_s: f64,
    /// VAD spans of one track this close (s) are decoded as one stretch with the audio
    /// between them (see [`PackConfig::bridge_s`]).
    #[serde(default)]
    pub bridge_s: f64,
    /// Pack spans into shared windows (false: one whisper call per span, for measuring).
    pub pack: bool,
    /// Decoding budget: tokens per second of speech in a window (loops stop there).
    pub max_tokens_per_s: f64,
    /// Run whisper.cpp on the GPU (needs a build with the `cuda` feature).
    pub use_gpu: bool,
    /// Place tokens in time by cross-attention alignment (DTW) instead of whisper.cpp's
    /// timestamp heuristic: decides which packed piece a word belongs to.
    pub dtw: bool,
    /// Run the encoder over the window's own length (whisper.cpp `audio_ctx`) instead of a
    /// fixed 30 s: the encoder is most of the cost, and a packed window is rarely full.
    pub fit_audio_ctx: bool,
}

impl Default for AsrOptions {
    fn default() -> Self {
        let pack = PackConfig::default();
        AsrOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
            beam_size: 5,
            decode: Decode::Adaptive,
            redo_below_logprob: -0.8,
            initial_prompt: "以下是普通话的句子。".into(),
            vocabulary: Vec::new(),
            max_window_s: pack.max_window_s,
            gap_s: pack.gap_s,
            pad_s: pack.pad_s,
            bridge_s: pack.bridge_s,
            pack: true,
            max_tokens_per_s: 12.0,
            use_gpu: false,
            dtw: true,
            fit_audio_ctx: true,
        }
    }
}

/// How windows are decoded. Beam search costs ~2–3× greedy decoding per token and gains
/// little where greedy is confident, so by default it runs only where greedy is not.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Decode {
    /// Greedy first; beam search again for a window with a low-confidence utterance, text
    /// that had to be dropped, or no text over a second of speech.
    #[default]
    Adaptive,
    /// Beam search on every window (slow and careful).
    Beam,
    /// Greedy only (fastest).
    Greedy,
}

impl AsrOptions {
    fn pack_config(&self) -> PackConfig {
        PackConfig {
            max_window_s: self.max_window_s.clamp(1.0, 29.5),
            gap_s: self.gap_s.max(0.0),
            pad_s: self.pad_s.max(0.0),
            bridge_s: self.bridge_s.max(0.0),
            pack: self.pack,
        }
    }
}

struct Shared {
    ctx: WhisperContext,
    opts: AsrOptions,
    model_path: PathBuf,
    token_eot: i32,
    /// The style sentence with the site's vocabulary, for the agent's track.
    prompt: text::Prompt,
    /// The style sentence alone, for the customer's and a mono track: there the vocabulary
    /// made Whisper write greeting and closing phrases into line noise (README, Transcription).
    plain_prompt: text::Prompt,
}

/// A loaded Whisper model, shared read-only by all workers.
#[derive(Clone)]
pub struct Asr {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Asr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asr")
            .field("model", &self.shared.model_path)
            .field("opts", &self.shared.opts)
            .finish()
    }
}

impl Asr {
    /// Load a whisper.cpp ggml model. The header is checked first so that a wrong file gets
    /// a clear error instead of whisper.cpp's log lines.
    pub fn load(model_path: &Path, opts: AsrOptions) -> Result<Asr, AsrError> {
        if !model_path.is_file() {
            return Err(AsrError::ModelMissing(model_path.to_path_buf()));
        }
        // whisper.cpp's own log lines go to the `log` crate (debug/info), not stderr.
        whisper_rs::install_logging_hooks();
        let hp = ggml::GgmlFile::open(model_path)?.hparams;
        let mut cp = WhisperContextParameters::default();
        cp.use_gpu(opts.use_gpu);
        // DTW token times: whisper.cpp's default token timestamps are heuristic and often put
        // the first word of a packed piece into the piece before it; the cross-attention
        // alignment (DTW) is what assigns tokens to pieces reliably.
        if opts.dtw {
            cp.dtw_parameters(DtwParameters {
                mode: dtw_mode(&hp),
                dtw_mem_size: 128 << 20,
            });
        }
        let load_err = |source| AsrError::Load {
            path: model_path.to_path_buf(),
            source,
        };
        let path_str = model_path.to_str().ok_or_else(|| {
            load_err(WhisperError::GenericError(-1)) // non-UTF-8 paths: whisper-rs takes &str
        })?;
        let ctx = WhisperContext::new_with_params(path_str, cp).map_err(load_err)?;
        let token_eot = ctx.token_eot();
        log::debug!(
            "loaded {} ({}, {} mels, ftype {})",
            model_path.display(),
            ctx.model_type_readable_str_lossy()
                .map(|s| s.into_owned())
                .unwrap_or_default(),
            ctx.model_n_mels(),
            ctx.model_ftype()
        );
        let prompt = text::Prompt::new(&opts.initial_prompt, &opts.vocabulary);
        let plain_prompt = text::Prompt::new(&opts.initial_prompt, &[]);
        Ok(Asr {
            shared: Arc::new(Shared {
                ctx,
                prompt,
                plain_prompt,
                opts,
                model_path: model_path.to_path_buf(),
                token_eot,
            }),
        })
    }

    pub fn options(&self) -> &AsrOptions {
        &self.shared.opts
    }

    pub fn model_path(&self) -> &Path {
        &self.shared.model_path
    }

    /// The underlying whisper.cpp context (for callers that drive whisper-rs directly).
    pub fn context(&self) -> &WhisperContext {
        &self.shared.ctx
    }

    /// A decoding state for one worker thread (tens of MB for base: create one per worker,
    /// not per call).
    pub fn worker(&self) -> Result<AsrWorker, AsrError> {
        let state = self.shared.ctx.create_state().map_err(AsrError::State)?;
        Ok(AsrWorker {
            shared: self.shared.clone(),
            state,
            stats: AsrStats::default(),
            drops: Vec::new(),
            role: Role::Mixed,
        })
    }
}

/// Work done by one worker, for measuring.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct AsrStats {
    /// whisper calls (windows).
    pub windows: usize,
    /// Seconds of audio given to whisper (pieces plus gaps).
    pub window_audio_s: f64,
    /// Seconds of track audio transcribed.
    pub speech_s: f64,
    /// Wall time inside whisper (s).
    pub whisper_s: f64,
    /// Utterances dropped as hallucinations or as lying outside speech.
    pub dropped: usize,
    /// Speech spans decoded a second time on their own because no utterance covered them.
    pub retries: usize,
    /// Windows decoded again with beam search after an unreliable greedy decode.
    pub beam_redos: usize,
}

/// One worker's decoding state. Not shared between threads.
pub struct AsrWorker {
    shared: Arc<Shared>,
    state: WhisperState,
    stats: AsrStats,
    /// Text dropped in the current track: track times and why (for `Untranscribed`).
    drops: Vec<(f64, f64, &'static str)>,
    /// Whose track is being transcribed (chooses the prompt).
    role: Role,
}

/// A track's transcript with the speech that yielded no usable text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackTranscript {
    pub utterances: Vec<Utterance>,
    pub untranscribed: Vec<Untranscribed>,
}

/// A decoded utterance's track span, mean log-probability, and the cleaned utterance or why
/// it was dropped.
type Decoded = (f64, f64, f64, Result<Utterance, &'static str>);

/// A token as decoded, with window-relative times (seconds).
struct Tok {
    bytes: Vec<u8>,
    /// When the token is spoken: the DTW time, or the middle of whisper's token timestamps.
    t: f64,
    plog: f64,
}

impl AsrWorker {
    pub fn stats(&self) -> AsrStats {
        self.stats
    }

    /// The prompt for the current track: the vocabulary steers only the agent's words.
    fn prompt(&self) -> &text::Prompt {
        match self.role {
            Role::Agent => &self.shared.prompt,
            _ => &self.shared.plain_prompt,
        }
    }

    /// Transcribe one 16 kHz track given its VAD speech spans (seconds). Utterances come back
    /// sorted by start with role, times on the track's time line, text, average
    /// log-probability and speech rate; `id` is 0 and `tokens` empty (the pipeline fills them).
    pub fn transcribe_track(
        &mut self,
        samples_16k: &[f32],
        speech: &[(f64, f64)],
        role: Role,
    ) -> Result<Vec<Utterance>, AsrError> {
        Ok(self
            .transcribe_track_checked(samples_16k, speech, role)?
            .utterances)
    }

    /// [`transcribe_track`](Self::transcribe_track), accounting for every speech span: a span
    /// no utterance overlaps is decoded again on its own (packing, the window's end or a
    /// dropped segment can lose it), and if that yields nothing usable either it is returned
    /// as [`Untranscribed`] with the reason.
    pub fn transcribe_track_checked(
        &mut self,
        samples_16k: &[f32],
        speech: &[(f64, f64)],
        role: Role,
    ) -> Result<TrackTranscript, AsrError> {
        self.drops.clear();
        self.role = role;
        // A fresh decoding state per track: whisper.cpp seeds the sampling generator of the
        // temperature fallback once per state, so a reused state made a call's transcript
        // depend on which calls the worker had decoded before it (6 of the benchmark's 8 mono
        // dev calls came out differently in two runs).
        let t = Instant::now();
        self.state = self.shared.ctx.create_state().map_err(AsrError::State)?;
        log::debug!(
            "fresh whisper state in {:.0} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        let mut cfg = self.shared.opts.pack_config();
        // No bridging on a mono track: there the gap is usually the other party's turn
        // boundary, and a stretch holding both speakers defeats guessing roles from the text.
        if role == Role::Mixed {
            cfg.bridge_s = 0.0;
        }
        // Text anywhere in a bridged stretch is on speech: the VAD's gaps inside it are the
        // quiet syllables bridging exists for.
        let dur = samples_16k.len() as f64 / SAMPLE_RATE as f64;
        let stretches = pack::bridge(speech, dur, cfg.bridge_s);
        let mut out = Vec::new();
        for w in &pack::pack(samples_16k, SAMPLE_RATE, &stretches, &cfg) {
            self.transcribe_window(samples_16k, w, &stretches, role, &mut out)?;
        }
        let missed = uncovered(speech, &out);
        // A retry only helps where there is sound: on near-silence a second decode only invites
        // Whisper's silence hallucinations (「你不想要我来的。」 on digital zeros).
        let audible: Vec<(f64, f64)> = missed
            .iter()
            .copied()
            .filter(|&(a, b)| span_dbfs(samples_16k, a, b) > RETRY_MIN_DBFS)
            .collect();
        if !audible.is_empty() {
            log::debug!(
                "{} speech span(s) without text: decoding each alone",
                audible.len()
            );
            self.stats.retries += audible.len();
            let alone = PackConfig { pack: false, ..cfg };
            for w in &pack::pack(samples_16k, SAMPLE_RATE, &audible, &alone) {
                self.transcribe_window(samples_16k, w, &audible, role, &mut out)?;
            }
        }
        let untranscribed = uncovered(&missed, &out)
            .into_iter()
            .map(|(a, b)| Untranscribed {
                role,
                start: round_ms(a),
                end: round_ms(b),
                reason: drop_reason(&self.drops, a, b).into(),
            })
            .collect();
        out.sort_by(|a, b| a.start.total_cmp(&b.start));
        Ok(TrackTranscript {
            utterances: out,
            untranscribed,
        })
    }

    /// Decode one packed window and keep its usable utterances in `out`; dropped text is
    /// remembered with its reason. `Decode::Adaptive` decodes greedily and redoes the window
    /// with beam search when the greedy result looks unreliable.
    fn transcribe_window(
        &mut self,
        track: &[f32],
        w: &Window,
        speech: &[(f64, f64)],
        role: Role,
        out: &mut Vec<Utterance>,
    ) -> Result<(), AsrError> {
        let opts = &self.shared.opts;
        let (beam, redo_below) = (opts.beam_size.max(1), opts.redo_below_logprob);
        let first_beam = match opts.decode {
            Decode::Beam => beam,
            Decode::Adaptive | Decode::Greedy => 1,
        };
        let mut audio = w.audio(track, SAMPLE_RATE);
        // whisper.cpp refuses input under 100 ms; padding at the end moves no timestamp.
        audio.resize(audio.len().max(SAMPLE_RATE as usize), 0.0);
        let raws = self.decode_window(&audio, w, first_beam)?;
        let mut done = self.finish_all(raws, track, speech, role);
        let unsure = || {
            done.iter().any(|(_, _, lp, r)| match r {
                Ok(_) => *lp < redo_below,
                // Text Whisper wrote and the guards removed (a known hallucination, a loop).
                Err(why) => matches!(*why, "hallucination" | "no text"),
            }) || (w.speech_s() >= 1.0 && !done.iter().any(|d| d.3.is_ok()) && audible(track, w))
        };
        if self.shared.opts.decode == Decode::Adaptive && beam > 1 && unsure() {
            // The whole window again, not only its unsure pieces: beam search with the
            // neighbouring pieces as context was measured better on noisy lines (bench calls
            // CER 22.4 % against 23.6 %, for 14 % more time).
            self.stats.beam_redos += 1;
            let raws = self.decode_window(&audio, w, beam)?;
            done = self.finish_all(raws, track, speech, role);
        }
        for (start, end, _, r) in done {
            match r {
                Ok(u) => out.push(u),
                Err(why) => {
                    log::debug!("dropped text at {start:.2}–{end:.2} s: {why}");
                    self.stats.dropped += 1;
                    self.drops.push((start, end, why));
                }
            }
        }
        Ok(())
    }

    /// Clean each raw utterance of a decode, keeping its span and confidence beside the result
    /// (the adaptive mode judges the decode by them).
    fn finish_all(
        &self,
        raws: Vec<RawUtt>,
        track: &[f32],
        speech: &[(f64, f64)],
        role: Role,
    ) -> Vec<Decoded> {
        raws.into_iter()
            .map(|u| {
                let (start, end, lp) = (u.start, u.end, u.avg_logprob);
                (start, end, lp, self.finish(u, track, speech, role))
            })
            .collect()
    }

    /// One whisper.cpp run over a window (`beam` 1: greedy), split back into the window's
    /// pieces on the track's time line.
    fn decode_window(
        &mut self,
        audio: &[f32],
        w: &Window,
        beam: usize,
    ) -> Result<Vec<RawUtt>, AsrError> {
        let opts = &self.shared.opts;
        let strategy = if beam > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: beam as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 5 }
        };
        let mut p = FullParams::new(strategy);
        p.set_n_threads(opts.threads.max(1) as i32);
        p.set_language(Some("zh"));
        p.set_translate(false);
        p.set_no_context(true);
        p.set_initial_prompt(&self.prompt().text());
        p.set_suppress_blank(true);
        p.set_suppress_nst(true);
        p.set_token_timestamps(true);
        // Temperature fallback (0.0, 0.2, … 1.0) when a decode looks like a loop (entropy)
        // or is unlikely (log-probability): whisper.cpp's defaults, set explicitly.
        p.set_temperature(0.0);
        p.set_temperature_inc(0.2);
        p.set_entropy_thold(2.4);
        p.set_logprob_thold(-1.0);
        if opts.fit_audio_ctx {
            p.set_audio_ctx(audio_ctx_for(w.len_s));
        }
        let budget = (opts.max_tokens_per_s * w.speech_s()).ceil().max(16.0);
        p.set_max_tokens(budget as i32);
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);

        let t = Instant::now();
        self.state
            .full(p, audio)
            .map_err(|source| AsrError::Decode {
                start: w.pieces[0].track_start,
                end: w.pieces[w.pieces.len() - 1].track_end,
                source,
            })?;
        self.stats.whisper_s += t.elapsed().as_secs_f64();
        self.stats.windows += 1;
        self.stats.window_audio_s += w.len_s;
        self.stats.speech_s += w.speech_s();

        let eot = self.shared.token_eot;
        let mut out = Vec::new();
        for seg in self.state.as_iter() {
            let (s0, s1) = (
                seg.start_timestamp() as f64 / 100.0,
                seg.end_timestamp() as f64 / 100.0,
            );
            let toks: Vec<Tok> = (0..seg.n_tokens())
                .filter_map(|j| seg.get_token(j))
                // timestamps, language, task and other special tokens
                .filter(|tok| tok.token_id() < eot)
                .map(|tok| {
                    let d = tok.token_data();
                    Tok {
                        bytes: tok.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
                        t: if d.t_dtw >= 0 {
                            d.t_dtw as f64 / 100.0
                        } else {
                            (d.t0 + d.t1) as f64 / 200.0
                        },
                        plog: d.plog as f64,
                    }
                })
                .collect();
            // The vocabulary read back is checked on the whole segment: split into packed
            // pieces (DTW), each piece may hold too few terms to be recognised as the list.
            let prompt = self.prompt();
            if prompt.terms.len() >= 4 {
                let seg: Vec<u8> = toks.iter().flat_map(|t| t.bytes.clone()).collect();
                if prompt.echoes_terms(&String::from_utf8_lossy(&seg)) {
                    let (a, b) = (
                        w.to_track(w.piece_at(s0), s0),
                        w.to_track(w.piece_at(s1), s1),
                    );
                    log::debug!("dropped a segment at {a:.2}–{b:.2} s: prompt echo");
                    self.stats.dropped += 1;
                    self.drops.push((a, b.max(a), "hallucination"));
                    continue;
                }
            }
            if !toks.is_empty() {
                out.extend(split_by_piece(w, s0, s1, toks));
            }
        }
        reattach_late_heads(&mut out);
        Ok(out)
    }

    /// Clean a raw utterance; Err(reason) when it must be dropped.
    fn finish(
        &self,
        raw: RawUtt,
        track: &[f32],
        speech: &[(f64, f64)],
        role: Role,
    ) -> Result<Utterance, &'static str> {
        let simplified = text::to_simplified(&raw.text);
        // Punctuation that opens an utterance belongs to the one before it.
        let body = simplified.trim_start_matches(|c: char| !c.is_alphanumeric());
        // A hallucination Whisper appends after real speech (「…再见。谢谢观看！」 at a
        // window's end) costs only its own clause, not the closing before it.
        let prompt = self.prompt();
        let text =
            text::collapse_repeats(text::strip_hallucinated_clauses(body, prompt).trim_end());
        let char_times: Vec<f64> = align_values(&raw.char_times, &simplified, &text)
            .into_iter()
            .map(round_ms)
            .collect();
        let char_probs = align_values(&raw.char_plogs, &simplified, &text)
            .into_iter()
            .map(|lp| (lp.exp() * 100.0).round() as f32 / 100.0)
            .collect();
        if text::squash(&text).is_empty() {
            return Err("no text");
        }
        if prompt.is_echo(&text) {
            return Err("hallucination");
        }
        // Only text over detected speech (not padding or gap) is kept.
        let on_speech = speech
            .iter()
            .any(|&(a, b)| a < raw.end.max(raw.start + 0.01) && b > raw.start);
        if !on_speech {
            return Err("outside speech");
        }
        // Text over audio with no audible frame is Whisper writing into silence or hiss
        // (「你不想要我来的。」 on digital zeros), whatever the VAD or a caller said.
        if loudest_frame_dbfs(track, raw.start, raw.end.max(raw.start + 0.05)) < RETRY_MIN_DBFS {
            return Err("no audible sound");
        }
        let dur = raw.end - raw.start;
        if impossibly_fast(&text, dur) {
            return Err("hallucination");
        }
        let chars_per_min = if dur >= 0.1 {
            text::spoken_chars(&text) as f64 * 60.0 / dur
        } else {
            0.0
        };
        Ok(Utterance {
            id: 0,
            role,
            start: round_ms(raw.start),
            end: round_ms(raw.end),
            text,
            tokens: Vec::new(),
            avg_logprob: (raw.avg_logprob * 1000.0).round() / 1000.0,
            chars_per_min: chars_per_min.round(),
            scores: Default::default(),
            char_times,
            char_probs,
        })
    }
}

/// True when `text` over `dur_s` seconds is more than anyone says: 8 characters or more at
/// over 20 a second (fast speech is 6–7). Whisper writes such runs over a short sound, e.g.
/// 「我们在这儿,我们在这儿,在这儿,在这」 (17 characters) over an agent's 0.54 s 「嗯」 on a new
/// data/calls round, a loop the punctuation hid from [`text::collapse_repeats`]. Short text
/// timed too tightly (「你已经不懂吗?」 in 0.35 s, 17 a second) is kept.
fn impossibly_fast(text: &str, dur_s: f64) -> bool {
    let n = text::spoken_chars(text) as f64;
    n >= 8.0 && n > 20.0 * dur_s.max(0.0)
}

/// Encoder positions (20 ms each, 1500 = 30 s) for a window of `len_s` seconds: the audio
/// plus 1 s of the silence whisper.cpp pads with, so the last word is followed by a pause the
/// model can end on; never under 10 s (Whisper, trained on 30 s, drifts on very short
/// contexts) nor over the model's 1500, which whisper.cpp rejects.
pub fn audio_ctx_for(len_s: f64) -> i32 {
    (((len_s.max(0.0) + 1.0) * 50.0).ceil() as i32).clamp(500, 1500)
}

/// The alignment heads of the standard Whisper sizes (recognised by their dimensions); any
/// other model uses the top half of its decoder layers.
fn dtw_mode(h: &ggml::Hparams) -> DtwMode<'static> {
    let en = h.n_vocab == 51864;
    let preset = match (h.n_audio_layer, h.n_text_layer, h.n_audio_state, en) {
        (4, 4, 384, false) => Some(DtwModelPreset::Tiny),
        (4, 4, 384, true) => Some(DtwModelPreset::TinyEn),
        (6, 6, 512, false) => Some(DtwModelPreset::Base),
        (6, 6, 512, true) => Some(DtwModelPreset::BaseEn),
        (12, 12, 768, false) => Some(DtwModelPreset::Small),
        (12, 12, 768, true) => Some(DtwModelPreset::SmallEn),
        (24, 24, 1024, false) => Some(DtwModelPreset::Medium),
        (24, 24, 1024, true) => Some(DtwModelPreset::MediumEn),
        (32, 32, 1280, _) if h.n_vocab == 51866 => Some(DtwModelPreset::LargeV3),
        (32, 4, 1280, _) if h.n_vocab == 51866 => Some(DtwModelPreset::LargeV3Turbo),
        // large v1 and v2 share dimensions but not heads: the generic mode is safer.
        _ => None,
    };
    match preset {
        Some(model_preset) => DtwMode::ModelPreset { model_preset },
        None => DtwMode::TopMost {
            n_top: (h.n_text_layer / 2).max(1),
        },
    }
}

/// The spans (or their parts) no utterance overlaps. Utterance times are clamped to padded
/// pieces, so an utterance that overlaps a span at all is taken to cover it.
fn uncovered(speech: &[(f64, f64)], utts: &[Utterance]) -> Vec<(f64, f64)> {
    speech
        .iter()
        .copied()
        .filter(|&(a, b)| {
            !utts
                .iter()
                .any(|u| u.start < b && u.end.max(u.start + 0.01) > a)
        })
        .collect()
}

/// Why a span has no text: the reason of a drop that overlaps it, else "no text".
fn drop_reason(drops: &[(f64, f64, &'static str)], a: f64, b: f64) -> &'static str {
    drops
        .iter()
        .filter(|d| d.0 < b && d.1.max(d.0 + 0.01) > a)
        .map(|d| d.2)
        .find(|&r| r != "no text")
        .unwrap_or("no text")
}

fn round_ms(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}

/// A token that is only punctuation or spaces (a partial UTF-8 token is not).
fn is_punctuation(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(|c| !c.is_alphanumeric()))
}

/// An utterance before cleaning: track times, raw text.
#[derive(Debug, Clone, PartialEq)]
struct RawUtt {
    start: f64,
    end: f64,
    text: String,
    avg_logprob: f64,
    /// Track time of each character of `text`: the time of the token it came from.
    char_times: Vec<f64>,
    /// Log-probability of each character of `text`: its token's (the lowest of a character
    /// split over tokens).
    char_plogs: Vec<f64>,
}

/// Per-character values (times, log-probabilities) of the cleaned `text`, from the raw
/// utterance's: `simplified` is the raw text made simplified (the same length unless the
/// converter rewrote a phrase), and `text` keeps its characters in order (the cleaning only
/// drops some).
fn align_values(raw: &[f64], simplified: &str, text: &str) -> Vec<f64> {
    let simp: Vec<char> = simplified.chars().collect();
    let n = raw.len();
    if n == 0 || simp.is_empty() {
        return Vec::new();
    }
    let time_of = |i: usize| raw[(i * n / simp.len()).min(n - 1)];
    let mut out = Vec::with_capacity(text.len() / 3);
    let mut k = 0;
    for c in text.chars() {
        while k < simp.len() && simp[k] != c {
            k += 1;
        }
        if k == simp.len() {
            return Vec::new(); // not a subsequence: no times rather than wrong ones
        }
        out.push(time_of(k));
        k += 1;
    }
    out
}

/// Split one whisper segment where its tokens move from one packed piece to the next (a
/// segment can run across the silence between two spans), and map each part to the track.
/// The segment's own start/end bound the first and last part; an inner cut is the piece's
/// edge (the VAD boundary), not a token time.
fn split_by_piece(w: &Window, s0: f64, s1: f64, toks: Vec<Tok>) -> Vec<RawUtt> {
    let mut groups: Vec<(usize, Vec<Tok>)> = Vec::new();
    for t in toks {
        let i = w.piece_at(t.t);
        match groups.last_mut() {
            Some((gi, g)) if *gi == i => g.push(t),
            // Punctuation closes what came before; its timestamp is often late.
            Some((_, g)) if is_punctuation(&t.bytes) => g.push(t),
            _ => groups.push((i, vec![t])),
        }
    }
    let n = groups.len();
    let mut carry: Vec<u8> = Vec::new();
    let mut carry_plogs: Vec<f64> = Vec::new();
    let mut out = Vec::with_capacity(n);
    for (k, (i, g)) in groups.into_iter().enumerate() {
        // whisper's segment timestamps can lie in another piece than the tokens DTW placed
        // (often at a window's end): the tokens' own times keep the part on its piece, where
        // otherwise clamping would squash it onto the padding and it would be dropped.
        let t_first = g.first().map_or(s0, |t| t.t);
        let t_last = g.last().map_or(s1, |t| t.t);
        let start = match k {
            0 if w.piece_at(s0) == i => s0,
            0 => t_first,
            _ => f64::NEG_INFINITY,
        };
        let end = match k + 1 == n {
            true if w.piece_at(s1) == i => s1,
            true => t_last,
            false => f64::INFINITY,
        };
        let mut bytes = std::mem::take(&mut carry);
        // Track time of every byte: its token's (carried bytes take this group's first time).
        let first_t = w.to_track(i, g[0].t);
        let mut byte_times = vec![first_t; bytes.len()];
        let mut byte_plogs = std::mem::take(&mut carry_plogs);
        for t in &g {
            bytes.extend_from_slice(&t.bytes);
            byte_times.resize(bytes.len(), w.to_track(i, t.t));
            byte_plogs.resize(bytes.len(), t.plog);
        }
        // A Han character can span two byte-level tokens: carry an incomplete tail over.
        if k + 1 < n {
            let valid = match std::str::from_utf8(&bytes) {
                Ok(_) => bytes.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => bytes.len(),
            };
            carry = bytes.split_off(valid);
            carry_plogs = byte_plogs.split_off(valid);
        }
        let (ts, te) = (w.to_track(i, start), w.to_track(i, end.max(start)));
        let (text, char_times, char_plogs) = match std::str::from_utf8(&bytes) {
            Ok(s) => (
                s.to_string(),
                s.char_indices().map(|(b, _)| byte_times[b]).collect(),
                s.char_indices()
                    .map(|(b, c)| {
                        let bytes = &byte_plogs[b..b + c.len_utf8()];
                        bytes.iter().copied().fold(0.0, f64::min)
                    })
                    .collect(),
            ),
            // Broken UTF-8 gets replacement characters: no reliable times.
            Err(_) => (
                String::from_utf8_lossy(&bytes).into_owned(),
                Vec::new(),
                Vec::new(),
            ),
        };
        out.push(RawUtt {
            start: ts,
            end: te.max(ts),
            text,
            avg_logprob: g.iter().map(|t| t.plog).sum::<f64>() / g.len() as f64,
            char_times,
            char_plogs,
        });
    }
    out
}

/// Give a sentence's last word back to the utterance it ends. whisper.cpp's token times lag
/// by a token or two, so the end of a sentence (「请稍等，我帮您查」 + 「一下，」) lands in the
/// next packed piece after the silence: on the dev calls 38 of 455 utterances began with such
/// a head. A head is moved when the utterance before has at least `HEAD_MIN_BEFORE`
/// characters and ends without punctuation, the head is at most `HEAD_MAX_CHARS` characters
/// closed by punctuation, and its times sit at the start of its utterance (within
/// `HEAD_LAG_S`). The cost: a sentence Whisper left without its full stop, followed by a
/// piece that opens with a short clause (「您好，」), gives that clause to the sentence before.
fn reattach_late_heads(utts: &mut Vec<RawUtt>) {
    const HEAD_MAX_CHARS: usize = 3;
    const HEAD_LAG_S: f64 = 1.0;
    const HEAD_MIN_BEFORE: usize = 3;
    for k in 1..utts.len() {
        let (before, after) = utts.split_at_mut(k);
        let (a, b) = (&mut before[k - 1], &mut after[0]);
        // A fragment of one or two characters is not a sentence missing its end: more often it
        // is a lost opening the recogniser guessed at (「以」 for 您好，请讲), and the next piece's
        // first words are its own.
        let open = a
            .text
            .trim_end()
            .chars()
            .last()
            .is_some_and(char::is_alphanumeric)
            && a.text.chars().filter(|c| c.is_alphanumeric()).count() >= HEAD_MIN_BEFORE;
        let n = b.text.chars().count();
        if !open || b.start < a.end || b.char_times.len() != n || b.char_plogs.len() != n {
            continue;
        }
        let chars: Vec<char> = b.text.chars().collect();
        let Some(p) = chars.iter().position(|c| !c.is_alphanumeric()) else {
            continue;
        };
        let head_ok = (1..=HEAD_MAX_CHARS).contains(&p)
            && chars[..p].iter().all(|c| !c.is_whitespace())
            && b.char_times[0] - b.start <= HEAD_LAG_S;
        if !head_ok {
            continue;
        }
        let cut = p + 1;
        a.text.extend(&chars[..cut]);
        let a_end = a.end;
        a.char_times
            .extend(b.char_times[..cut].iter().map(|t| t.min(a_end)));
        a.char_plogs.extend(b.char_plogs.drain(..cut));
        b.text = chars[cut..].iter().collect();
        b.char_times.drain(..cut);
    }
    utts.retain(|u| u.text.chars().any(char::is_alphanumeric));
}

/// Level under which a span without text is not decoded a second time (see
/// `transcribe_track_checked`) and text is not kept (`finish`); telephone speech sits far
/// above it.
const RETRY_MIN_DBFS: f64 = -50.0;

/// RMS level of `track[a..b]` (seconds) in dBFS; −inf for an empty or all-zero span.
fn span_dbfs(track: &[f32], a: f64, b: f64) -> f64 {
    let i = ((a * SAMPLE_RATE as f64) as usize).min(track.len());
    let j = ((b * SAMPLE_RATE as f64) as usize).clamp(i, track.len());
    let x = &track[i..j];
    if x.is_empty() {
        return f64::NEG_INFINITY;
    }
    let ms = x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len() as f64;
    10.0 * ms.log10()
}

/// Whether any frame of the window's pieces is loud enough to hold speech.
fn audible(track: &[f32], w: &Window) -> bool {
    w.pieces
        .iter()
        .any(|p| loudest_frame_dbfs(track, p.track_start, p.track_end) >= RETRY_MIN_DBFS)
}

/// Level of the loudest 50 ms frame of `track[a..b]` (seconds) in dBFS: speech has syllable
/// peaks far above its average, noise and silence do not.
fn loudest_frame_dbfs(track: &[f32], a: f64, b: f64) -> f64 {
    const FRAME_S: f64 = 0.05;
    let mut t = a;
    let mut best = span_dbfs(track, a, b);
    while t + FRAME_S <= b {
        best = best.max(span_dbfs(track, t, t + FRAME_S));
        t += FRAME_S / 2.0;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use pack::Piece;

    #[test]
    fn text_faster_than_anyone_speaks_is_a_hallucination() {
        assert!(impossibly_fast("我们在这儿,我们在这儿,在这儿,在这", 0.54));
        // Short text timed tightly, and a fast but possible sentence, are kept.
        assert!(!impossibly_fast("你已经不懂吗?", 0.35));
        assert!(!impossibly_fast("好的我帮您查一下这个订单", 1.0));
        assert!(impossibly_fast("好的我帮您查一下这个订单", 0.5));
        assert!(
            !impossibly_fast("13812345678", 1.2),
            "a phone number read fast"
        );
    }

    fn tok(s: &str, t: f64) -> Tok {
        Tok {
            bytes: s.as_bytes().to_vec(),
            t,
            plog: -0.5,
        }
    }

    #[test]
    fn the_encoder_context_fits_the_window() {
        // 20 ms positions: the window plus 1 s, at least 10 s, at most the model's 30 s.
        assert_eq!(audio_ctx_for(18.3), 965);
        assert_eq!(audio_ctx_for(28.0), 1450);
        assert_eq!(audio_ctx_for(29.5), 1500);
        assert_eq!(audio_ctx_for(2.0), 500);
        assert_eq!(audio_ctx_for(-1.0), 500);
    }

    #[test]
    fn character_times_follow_the_cleaned_text() {
        let raw = RawUtt {
            start: 1.0,
            end: 3.0,
            text: "，好好好好好好好的".into(),
            avg_logprob: -0.1,
            char_times: (0..9).map(|i| 1.0 + 0.1 * i as f64).collect(),
            char_plogs: (0..9).map(|i| -0.1 * i as f64).collect(),
        };
        let simplified = text::to_simplified(&raw.text);
        let body = simplified.trim_start_matches(|c: char| !c.is_alphanumeric());
        let cleaned = text::collapse_repeats(body);
        assert_eq!(cleaned, "好好好的");
        // The kept 好好好 are the first three; 的 keeps its own time.
        let times: Vec<f64> = align_values(&raw.char_times, &simplified, &cleaned)
            .into_iter()
            .map(round_ms)
            .collect();
        assert_eq!(times, vec![1.1, 1.2, 1.3, 1.8]);
        let plogs: Vec<f64> = align_values(&raw.char_plogs, &simplified, &cleaned)
            .into_iter()
            .map(round_ms)
            .collect();
        assert_eq!(plogs, vec![-0.1, -0.2, -0.3, -0.8]);
    }

    fn raw(start: f64, end: f64, text: &str) -> RawUtt {
        let n = text.chars().count();
        RawUtt {
            start,
            end,
            text: text.into(),
            avg_logprob: -0.3,
            char_times: (0..n).map(|i| start + 0.1 * i as f64).collect(),
            char_plogs: vec![-0.5; n],
        }
    }

    #[test]
    fn a_sentence_end_timed_into_the_next_piece_goes_back_to_its_sentence() {
        let mut u = vec![
            raw(10.0, 12.0, "请稍等,我帮您查"),
            raw(16.0, 19.0, "一下,让您久等了。"),
            raw(25.0, 26.0, "您好,新"),
            raw(30.0, 31.0, "疆。"),
        ];
        reattach_late_heads(&mut u);
        let texts: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(
            texts,
            ["请稍等,我帮您查一下,", "让您久等了。", "您好,新疆。"]
        );
        // moved characters keep a time inside the utterance they joined
        assert_eq!(u[0].char_times.len(), 11);
        assert_eq!(u[0].char_plogs.len(), 11);
        assert_eq!(u[1].char_plogs.len(), 6);
        assert!(u[0].char_times.iter().all(|&t| t <= 12.0));
        assert_eq!(u[1].char_times.len(), 6);
        assert_eq!(u[1].start, 16.0);
    }

    #[test]
    fn a_finished_sentence_or_a_long_head_stays_where_it_is() {
        let mut u = vec![
            raw(10.0, 12.0, "请稍等。"),
            raw(16.0, 19.0, "好,让您久等了"),
            raw(20.0, 21.0, "您的包裹"),
            raw(23.0, 25.0, "在转运中心,预计明天送到"),
        ];
        let before = u.clone();
        reattach_late_heads(&mut u);
        assert_eq!(u, before);
        // bench081: 「以」 is the recogniser's guess at a lost 您好，请讲; 快点说 is the next turn's.
        let mut lost = vec![raw(0.5, 2.0, "以"), raw(9.3, 11.5, "快点说,后码多少?")];
        let before = lost.clone();
        reattach_late_heads(&mut lost);
        assert_eq!(lost, before);
        // a head whose time is well into its piece is that piece's own speech
        let mut late = vec![
            raw(10.0, 12.0, "我帮您查"),
            raw(16.0, 19.0, "好,让您久等了"),
        ];
        late[1].char_times[0] = 17.5;
        let before = late.clone();
        reattach_late_heads(&mut late);
        assert_eq!(late, before);
    }

    #[test]
    fn a_segment_across_a_gap_becomes_two_utterances_on_the_track() {
        let w = Window {
            pieces: vec![
                Piece {
                    track_start: 10.0,
                    track_end: 12.0,
                    win_start: 0.0,
                },
                Piece {
                    track_start: 30.0,
                    track_end: 33.0,
                    win_start: 2.6,
                },
            ],
            len_s: 5.6,
        };
        // 「好的」 in piece 0, 「谢谢」 in piece 1, with 谢 split over two byte tokens.
        let xie = "谢".as_bytes();
        let toks = vec![
            tok("好", 0.3),
            tok("的", 0.7),
            Tok {
                bytes: xie[..1].to_vec(),
                t: 2.2, // in the gap, nearer piece 0: its bytes are carried over to piece 1
                plog: -1.0,
            },
            Tok {
                bytes: xie[1..].to_vec(),
                t: 2.8,
                plog: -1.0,
            },
            tok("谢", 3.2),
            tok("。", 5.9),
        ];
        let u = split_by_piece(&w, 0.0, 6.0, toks);
        assert_eq!(u.len(), 2);
        assert_eq!(u[0].text, "好的");
        assert_eq!((u[0].start, u[0].end), (10.0, 12.0)); // end clamped to the piece
        assert_eq!(u[1].text, "谢谢。");
        assert_eq!(u[1].start, 30.0); // an inner cut is the piece edge
        assert_eq!(u[1].end, 33.0); // segment end 6.0 → 33.4, clamped

        // Each character has its token's time on the track (the carried 谢 takes the time of
        // the group's first token); the late 。 is clamped to the piece.
        let ms = |v: &[f64]| v.iter().map(|&t| round_ms(t)).collect::<Vec<_>>();
        assert_eq!(ms(&u[0].char_times), vec![10.3, 10.7]);
        assert_eq!(ms(&u[1].char_times), vec![30.2, 30.6, 33.0]);
    }

    fn utt(start: f64, end: f64) -> Utterance {
        Utterance {
            start,
            end,
            text: "好的".into(),
            ..Utterance::default()
        }
    }

    #[test]
    fn the_loudest_frame_finds_a_short_syllable_in_quiet() {
        let mut x = vec![0.001f32; 16_000]; // -60 dBFS for 1 s
        assert!((loudest_frame_dbfs(&x, 0.0, 1.0) + 60.0).abs() < 0.1);
        for v in &mut x[8000..8800] {
            *v = 0.1; // a 50 ms burst at -20 dBFS
        }
        assert!((loudest_frame_dbfs(&x, 0.0, 1.0) + 20.0).abs() < 0.5);
        assert!(span_dbfs(&x, 0.0, 1.0) < -30.0);
        assert_eq!(loudest_frame_dbfs(&[0.0; 100], 0.0, 1.0), f64::NEG_INFINITY);
    }

    #[test]
    fn every_span_is_covered_or_accounted_for() {
        let speech = [(0.5, 3.0), (4.0, 7.2), (9.0, 12.2), (13.0, 13.4)];
        // Utterances over the first two spans only; one touches span 2 at a single point.
        let utts = [utt(0.4, 2.9), utt(4.1, 6.0), utt(6.1, 7.2), utt(12.2, 12.9)];
        assert_eq!(uncovered(&speech, &utts), [(9.0, 12.2), (13.0, 13.4)]);
        // The closing over 9.0–12.2 was dropped as a hallucination; 13.0–13.4 gave nothing.
        let drops = [(8.8, 12.4, "hallucination"), (12.9, 13.0, "outside speech")];
        assert_eq!(drop_reason(&drops, 9.0, 12.2), "hallucination");
        assert_eq!(drop_reason(&drops, 13.0, 13.4), "no text");
        // A zero-length utterance at a span's start still counts as over it.
        assert!(uncovered(&[(5.0, 6.0)], &[utt(5.0, 5.0)]).is_empty());
    }

    #[test]
    fn a_segment_timed_before_its_piece_stays_on_the_piece() {
        // The closing is in piece 1 (DTW times 3.1–5.0), but whisper's segment timestamps say
        // 1.0–2.0, inside piece 0: clamping those would put it on piece 1's padding.
        let w = Window {
            pieces: vec![
                Piece {
                    track_start: 10.0,
                    track_end: 12.5,
                    win_start: 0.0,
                },
                Piece {
                    track_start: 40.0,
                    track_end: 43.5,
                    win_start: 3.0,
                },
            ],
            len_s: 6.5,
        };
        let toks = vec![tok("再", 3.2), tok("见", 4.8), tok("。", 5.0)];
        let u = split_by_piece(&w, 1.0, 2.0, toks);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].text, "再见。");
        assert_eq!((u[0].start, u[0].end), (40.2, 42.0));
    }
}
