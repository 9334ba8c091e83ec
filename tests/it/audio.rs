//! Decoding every supported format and encoding, and the acoustic findings on signals with
//! known timing.

use crate::common::*;
use zhijian::audio::{decode_file, AudioError, DecodeOptions};
use zhijian::pipeline::{process_one, Engine, Settings};
use zhijian::record::{CallStatus, Role, Span};

fn engine() -> Engine {
    Engine::new(Settings::default(), None)
}

fn spans(rec: &zhijian::record::CallRecord, role: Role) -> Vec<(f64, f64)> {
    rec.segments
        .iter()
        .filter(|s| s.role == role)
        .map(|s| (s.start, s.end))
        .collect()
}

fn assert_spans(got: &[(f64, f64)], want: &[(f64, f64)], tol: f64) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            close(g.0, w.0, tol) && close(g.1, w.1, tol),
            "got {got:?}, want {want:?}"
        );
    }
}

#[test]
fn every_wav_encoding_decodes_with_its_timing() {
    let dir = tempfile::tempdir().unwrap();
    let sig = call(8000, 6.0, &[(1.0, 3.0)], &[(3.5, 5.0)]);
    for (enc, codec) in [
        (Enc::U8, "pcm_u8"),
        (Enc::S16, "pcm_s16le"),
        (Enc::S24, "pcm_s24le"),
        (Enc::S32, "pcm_s32le"),
        (Enc::F32, "pcm_f32le"),
        (Enc::ALaw, "pcm_alaw"),
        (Enc::MuLaw, "pcm_mulaw"),
    ] {
        let p = dir.path().join(format!("{enc:?}.wav"));
        write_wav(&p, 8000, &sig, enc);
        let d =
            decode_file(&p, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{enc:?}: {e}"));
        assert_eq!(d.format.codec, codec);
        assert_eq!(
            (d.sample_rate, d.channels.len(), d.channels[0].len()),
            (8000, 2, 48000),
            "{enc:?}"
        );
        let rec = process_one(&engine(), &p, "x");
        assert_eq!(rec.status, CallStatus::Ok, "{enc:?}: {:?}", rec.errors);
        assert_spans(&spans(&rec, Role::Agent), &[(1.0, 3.0)], 0.05);
        assert_spans(&spans(&rec, Role::Customer), &[(3.5, 5.0)], 0.05);
    }
}

#[test]
fn compressed_formats_decode_with_their_timing() {
    // Fixtures made by tests/fixtures/audio/make.sh: agent 1.0–3.0, customer 2.5–4.5.
    for (file, container, codec, tol) in [
        ("two_party.mp3", "mp3", "mp3", 0.06),
        ("two_party.flac", "flac", "flac", 0.05),
        ("two_party.ogg", "ogg", "vorbis", 0.06),
        // MP4 edit lists are not applied by symphonia: AAC priming (1024 samples, 0.128 s at
        // 8 kHz) shifts the start.
        ("two_party.m4a", "isomp4", "aac", 0.2),
    ] {
        let p = fixture(&format!("audio/{file}"));
        let rec = process_one(&engine(), &p, "x");
        assert_eq!(rec.status, CallStatus::Ok, "{file}: {:?}", rec.errors);
        let f = rec.input.format.as_ref().unwrap();
        assert_eq!(
            (
                f.container.as_str(),
                f.codec.as_str(),
                f.sample_rate,
                f.channels
            ),
            (container, codec, 8000, 2),
            "{file}"
        );
        assert_spans(&spans(&rec, Role::Agent), &[(1.0, 3.0)], tol);
        assert_spans(&spans(&rec, Role::Customer), &[(2.5, 4.5)], tol);
        assert_eq!(rec.findings.overlaps.len(), 1, "{file}");
        assert_eq!(rec.metrics.interruptions_by_customer, 1, "{file}");
    }
}

#[test]
fn any_rate_is_resampled_to_16k_keeping_time() {
    let dir = tempfile::tempdir().unwrap();
    for rate in [11025, 16000, 22050, 44100, 48000] {
        let p = dir.path().join(format!("r{rate}.wav"));
        write_wav(
            &p,
            rate,
            &call(rate, 4.0, &[(0.5, 1.5)], &[(2.0, 3.2)]),
            Enc::S16,
        );
        let rec = process_one(&engine(), &p, "x");
        assert_eq!(rec.status, CallStatus::Ok);
        assert!(
            close(rec.duration_s, 4.0, 0.001),
            "{rate}: {}",
            rec.duration_s
        );
        assert_spans(&spans(&rec, Role::Agent), &[(0.5, 1.5)], 0.05);
        assert_spans(&spans(&rec, Role::Customer), &[(2.0, 3.2)], 0.05);
    }
}

#[test]
fn agent_channel_and_mono() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.wav");
    write_wav(
        &p,
        8000,
        &call(8000, 4.0, &[(0.5, 1.5)], &[(2.0, 3.0)]),
        Enc::S16,
    );
    let right = Engine::new(
        Settings {
            agent_channel: zhijian::pipeline::AgentChannel::Right,
            ..Default::default()
        },
        None,
    );
    let rec = process_one(&right, &p, "x");
    assert_spans(&spans(&rec, Role::Agent), &[(2.0, 3.0)], 0.05);
    assert_eq!(
        rec.channels
            .iter()
            .map(|c| (c.index, c.role))
            .collect::<Vec<_>>(),
        vec![(1, Role::Agent), (0, Role::Customer)]
    );

    let m = dir.path().join("m.wav");
    let sig = call(8000, 4.0, &[(0.5, 1.5)], &[(2.0, 3.0)]);
    let mixed: Vec<f32> = sig[0].iter().zip(&sig[1]).map(|(a, b)| a + b).collect();
    write_wav(&m, 8000, std::slice::from_ref(&mixed), Enc::S16);
    let rec = process_one(&engine(), &m, "x");
    assert!(rec.mono);
    assert_spans(&spans(&rec, Role::Mixed), &[(0.5, 1.5), (2.0, 3.0)], 0.05);
    assert!(rec
        .warnings
        .iter()
        .any(|w| w.message.starts_with("mono recording")));

    // A mono call stored as two identical channels is analysed as mono, not as fake overlaps.
    let d = dir.path().join("dup.wav");
    write_wav(&d, 8000, &[mixed.clone(), mixed], Enc::S16);
    let rec = process_one(&engine(), &d, "x");
    assert!(rec.mono);
    assert!(rec.findings.overlaps.is_empty());
}

#[test]
fn findings_on_a_scripted_call() {
    // Agent greets, customer asks, 6 s of dead air, agent cuts in on the customer, customer
    // is cut off by the end of the recording.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.wav");
    let agent = [(0.5, 3.0), (4.2, 6.0), (12.0, 14.0), (17.0, 19.0)];
    let customer = [(3.3, 4.0), (6.8, 6.9), (14.5, 18.0), (19.6, 20.0)];
    // The 0.1 s customer blip at 6.8 is below the minimum segment length and must not count.
    write_wav(&p, 8000, &call(8000, 20.0, &agent, &customer), Enc::ALaw);
    let rec = process_one(&engine(), &p, "x");
    let f = &rec.findings;
    assert_eq!(f.silences.len(), 1, "{:?} {:?}", f.silences, rec.segments);
    assert!(close(f.silences[0].start, 6.0, 0.05) && close(f.silences[0].end, 12.0, 0.05));
    assert!(close(rec.metrics.silence_longest_s, 6.0, 0.1));
    assert_eq!(f.overlaps.len(), 1, "{:?}", f.overlaps);
    assert!(close(f.overlaps[0].start, 17.0, 0.05) && close(f.overlaps[0].end, 18.0, 0.05));
    assert_eq!(
        (
            rec.metrics.interruptions_by_agent,
            rec.metrics.interruptions_by_customer
        ),
        (1, 0)
    );
    assert!(close(f.interruptions[0].at, 17.0, 0.05));
    // Latencies: customer 3.3–4.0 → agent 4.2 (0.2 s); customer 19.6–20.0 is never answered.
    let lat: Vec<f64> = f.latencies.iter().map(|l| l.seconds).collect();
    assert_eq!(lat.len(), 1, "{lat:?}");
    assert!(close(lat[0], 0.2, 0.06));
    assert!(rec.metrics.ended_while_customer_speaking);
    assert_eq!(rec.metrics.hangup.side, zhijian::record::Side::Agent);
    assert_eq!(rec.metrics.last_speaker, Some(Role::Customer));
    let _ = Span::new(0.0, 0.0);
}

#[test]
fn bad_inputs_fail_with_a_named_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let opts = DecodeOptions::default();
    let good = call(8000, 3.0, &[(0.5, 1.5)], &[(2.0, 2.5)]);

    std::fs::write(d.join("empty.wav"), b"").unwrap();
    assert!(matches!(
        decode_file(&d.join("empty.wav"), &opts),
        Err(AudioError::Empty)
    ));

    std::fs::write(
        d.join("notes.wav"),
        "客户资料 not audio at all\n".repeat(50),
    )
    .unwrap();
    let e = decode_file(&d.join("notes.wav"), &opts).unwrap_err();
    assert!(matches!(e, AudioError::NotAudio(_)), "{e}");

    // Valid header, zero frames.
    write_wav(&d.join("zero.wav"), 8000, &[vec![], vec![]], Enc::S16);
    let e = decode_file(&d.join("zero.wav"), &opts).unwrap_err();
    assert!(matches!(e, AudioError::ZeroLength), "{e}");

    // GSM 6.10 in WAV: container fine, codec not supported.
    write_wav(&d.join("gsm.wav"), 8000, &good, Enc::Gsm);
    let e = decode_file(&d.join("gsm.wav"), &opts).unwrap_err();
    assert!(matches!(e, AudioError::UnsupportedCodec(_)), "{e}");

    // 4 kHz: too low to carry telephone speech.
    write_wav(
        &d.join("r4k.wav"),
        4000,
        &call(4000, 2.0, &[(0.5, 1.0)], &[]),
        Enc::S16,
    );
    let e = decode_file(&d.join("r4k.wav"), &opts).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sample rate 4000 Hz is too low for speech analysis (need at least 8000 Hz)"
    );

    // Over the duration limit: refused before decoding everything.
    write_wav(&d.join("long.wav"), 8000, &good, Enc::S16);
    let e = decode_file(
        &d.join("long.wav"),
        &DecodeOptions {
            max_duration_s: 2.0,
        },
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "recording is 3 s long, over the limit of 2 s (--max-duration)"
    );

    // Garbage after a valid MP3 start: mostly undecodable → corrupt.
    let mut mp3 = std::fs::read(fixture("audio/two_party.mp3")).unwrap();
    let keep = mp3.len() / 10;
    for (i, b) in mp3.iter_mut().enumerate().skip(keep) {
        *b = (i * 7919 % 251) as u8;
    }
    std::fs::write(d.join("corrupt.mp3"), &mp3).unwrap();
    let e = decode_file(&d.join("corrupt.mp3"), &opts).unwrap_err();
    assert!(matches!(e, AudioError::Corrupt(_)), "{e}");
    assert!(
        e.to_string()
            .contains("of the declared 6.0 s could be decoded"),
        "{e}"
    );
}

#[test]
fn truncated_and_silent_files_are_inspected_with_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.wav");
    write_wav(
        &p,
        8000,
        &call(8000, 6.0, &[(0.5, 2.0)], &[(2.5, 4.0)]),
        Enc::S16,
    );
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap(); // header still says 6 s
    let rec = process_one(&engine(), &p, "t");
    assert_eq!(rec.status, CallStatus::Ok);
    assert!(close(rec.duration_s, 3.0, 0.01), "{}", rec.duration_s);
    assert!(
        rec.warnings
            .iter()
            .any(|w| w.stage == "decode" && w.message.starts_with("truncated file")),
        "{:?}",
        rec.warnings
    );
    assert_spans(&spans(&rec, Role::Agent), &[(0.5, 2.0)], 0.05);

    let s = dir.path().join("silent.wav");
    write_wav(&s, 8000, &[vec![0.0; 40000], vec![0.0; 40000]], Enc::S16);
    let rec = process_one(&engine(), &s, "s");
    assert_eq!(rec.status, CallStatus::NoSpeech);
    assert!(rec.segments.is_empty());
    assert!(rec
        .warnings
        .iter()
        .any(|w| w.message.starts_with("no speech detected")));
}
