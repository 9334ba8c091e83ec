#!/usr/bin/env python3
"""Expand the hand-written core lines in sources/ into train.tsv and test.tsv.

Deterministic (fixed seed, no dependencies beyond Python 3.8). Each core line is a *group*:
it is expanded into several spoken variants (domain slot fillers, fillers and particles,
context clauses, disfluencies, punctuation styles) and all variants of a group go to the same
split. About 20% of the groups of every section are held out for test.tsv, so the test set
measures new wording, not new fillers around a sentence seen in training. Run:

    python3 data/classify/generate.py        # rewrites data/classify/{train,test}.tsv

ASR-noised copies are made in Rust (zhijian::classify::noise) from these clean lines.
"""
import hashlib
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240611
TEST_SHARE = 0.2
# Target examples per class of the role's main head (attitude for agents, emotion for
# customers); variants per core = target / cores in the class, clamped.
TARGET = {"agent": 750, "customer": 900}
MIN_VARIANTS, MAX_VARIANTS = 3, 10

COMMON = {
    "days": ["三天", "一个星期", "半个月", "十五个工作日", "一个多月", "两个礼拜", "七个工作日", "二十多天"],
    "amount": ["三十八块", "一百二十块", "五十块钱", "两百多", "一千块", "三百六十块", "九块九", "八十八元"],
    "surname": ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"],
    "staff": ["1025", "3016", "0847", "2231", "5108"],
    "staffno": ["一零二五", "三零一六", "八八四七", "二二三一", "5108"],
    "digits": ["1234", "6688", "0519", "3372", "二零八一", "九五二七"],
    "city": ["杭州", "成都", "南京", "武汉", "郑州", "西安", "长沙", "济南", "沈阳", "合肥"],
    "title": ["先生", "女士", "王先生", "李女士", "张阿姨", "刘师傅"],
    "years": ["十几年", "五六年", "七八年", "二十年"],
}

DOMAINS = {
    "telecom": {
        "company": ["中国移动", "中国联通", "中国电信", "广电网络"],
        "biz": ["套餐", "流量包", "宽带", "彩铃业务", "国际漫游", "副卡", "视频会员", "5G套餐", "来电显示"],
        "fee": ["话费", "月租", "流量费", "宽带费", "违约金", "功能费"],
        "place": ["营业厅", "自有营业厅", "线下营业厅", "营业网点"],
        "dept": ["技术部门", "装维部门", "后台", "计费中心", "网络部门"],
        "app": ["手机营业厅APP", "官网", "公众号", "网上营业厅"],
        "org": ["工信部", "通信管理局", "12315", "消协"],
    },
    "bank": {
        "company": ["招商银行", "建设银行", "工商银行", "平安银行", "浦发银行"],
        "biz": ["信用卡", "分期", "储蓄卡", "网银", "理财产品", "贷款", "信用卡账单", "手机银行"],
        "fee": ["年费", "手续费", "利息", "违约金", "滞纳金", "短信费"],
        "place": ["网点", "柜台", "支行", "营业网点"],
        "dept": ["信用卡中心", "风控部门", "后台", "贷款部门", "财务那边"],
        "app": ["手机银行APP", "官网", "微信公众号", "掌上生活"],
        "org": ["银保监会", "人民银行", "金融监管局", "消协"],
    },
    "insurance": {
        "company": ["平安保险", "中国人寿", "太平洋保险", "人保财险", "泰康保险"],
        "biz": ["保单", "理赔", "车险", "医疗险", "重疾险", "退保申请", "续保"],
        "fee": ["保费", "手续费", "退保损失", "续保费"],
        "place": ["柜面", "服务网点", "门店", "分公司柜面"],
        "dept": ["理赔部门", "核保部门", "后台", "契约部门", "财务那边"],
        "app": ["官方APP", "官网", "公众号", "小程序"],
        "org": ["银保监会", "金融监管局", "保险行业协会", "12378"],
    },
    "ecommerce": {
        "company": ["顺丰速运", "京东", "天猫超市", "美团", "中通快递"],
        "biz": ["订单", "退货", "快递", "售后", "会员", "换货申请", "包裹"],
        "fee": ["运费", "会员费", "保价费", "配送费", "服务费"],
        "place": ["门店", "快递网点", "驿站", "服务站"],
        "dept": ["售后部门", "物流那边", "仓库", "商家", "财务那边"],
        "app": ["APP", "小程序", "官网", "订单页面"],
        "org": ["12315", "消协", "市场监管局", "媒体"],
    },
}

# Openers, closers and context clauses by role and main label. They carry style, not the
# label: a rude core stays rude with any opener from its list.
PREFIX = {
    ("agent", "ok"): ["嗯，", "好的，", "那个，", "{title}，", "是这样的，", "嗯嗯，", "好，", "{title}您好，"],
    ("agent", "impatient"): ["哎，", "唉，", "我说，", "喂，", "哎呀，", "不是，", "行了，"],
    ("agent", "rude"): ["我说你，", "哎，", "喂，", "你说你，", "切，", "呵呵，", "我跟你说，"],
    ("agent", "shirking"): ["嗯，", "这个嘛，", "那个，", "哦，", "这样啊，", "呃，"],
    ("customer", "neutral"): ["喂，", "你好，", "那个，", "就是，", "嗯，", "哦，", "诶，"],
    ("customer", "dissatisfied"): ["我跟你说，", "不是，", "唉，", "哎，", "喂，", "你好，", "我说，"],
    ("customer", "angry"): ["喂！", "我告诉你，", "你听着，", "我跟你讲，", "你给我听好了，"],
}
SUFFIX = {
    ("agent", "ok"): ["", "", "好吗", "哈"],
    ("agent", "impatient"): ["", "好吧", "行不行"],
    ("agent", "rude"): ["真是的", "服了", "懂不懂"],
    ("agent", "shirking"): ["", "就这样", "不好意思啊"],
    ("customer", "neutral"): ["", "啊", "哈"],
    ("customer", "dissatisfied"): ["", "真是的", "唉"],
    ("customer", "angry"): ["", "听见没有", "我告诉你"],
}
CONTEXT = {
    "agent": ["我这边看了一下，", "系统显示，", "{title}，您这个情况是这样，", "关于您说的{biz}，"],
    "customer": [
        "我上个月办的那个{biz}，",
        "我是你们{years}的老客户了，",
        "我昨天在{app}上看了一下，",
        "我{days}前打过一次电话，",
        "我这个{biz}是在{place}办的，",
        "我家里那个{biz}，",
    ],
}
NO_PREFIX_START = ("您好", "你好", "喂", "感谢", "谢谢", "好的", "嗯", "哦", "对", "行", "没", "不用", "不了")
SLOT = re.compile(r"\{(\w+)\}")


# Section of lines labelled for the speaker only (`## role_only`): things both parties say
# (「好的，再见。」) that teach the role head that such a line is weak evidence of who speaks.
# They are expanded after everything else with their own random stream, so adding some leaves
# every other line, and so the attitude / emotion / intent heads, exactly as they were.
ROLE_ONLY = "role_only"
ROLE_ONLY_VARIANTS = 4


def read_sources(path, role):
    """Yield (section labels dict, line number, text) from a sources file."""
    labels = None
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.strip()
            if line.startswith("## "):
                head = line[3:].strip()
                labels = {ROLE_ONLY: "1"} if head == ROLE_ONLY else dict(kv.split("=") for kv in head.split())
                continue
            if not line or line.startswith("#"):
                continue
            if labels is None:
                sys.exit(f"{path}:{n}: line before any '## label=...' header")
            yield dict(labels), n, line


def fill(text, dom, rng):
    def sub(m):
        key = m.group(1)
        pool = DOMAINS[dom].get(key) or COMMON.get(key)
        if pool is None:
            sys.exit(f"unknown slot {{{key}}} in: {text}")
        return rng.choice(pool)

    return SLOT.sub(sub, text)


def add_suffix(text, suf):
    """Put a spoken tail before the final punctuation (or after it for ?/!)."""
    if not suf:
        return text
    if text[-1] in "。":
        return text[:-1] + "，" + suf + "。"
    if text[-1] in "？！?!":
        return text + suf + "。" if suf in ("真是的", "服了", "唉", "就这样", "不好意思啊") else text
    return text + suf


def disfluent(text, rng):
    """Spoken repetition at the start: 我我…, 就是就是…"""
    m = re.match(r"^([\u4e00-\u9fff]{1,2})", text)
    if not m:
        return text
    return m.group(1) + text


def punct_style(text, rng):
    r = rng.random()
    if r < 0.55:
        return text
    if r < 0.75:  # ASR-like: spaces for commas, no final stop
        return re.sub(r"[，,、]", " ", text).rstrip("。")
    if r < 0.9:
        return re.sub(r"[，。,、；]", "", text)
    return text.replace("？", "?").replace("！", "!")


def variants(role, main, text, k, rng):
    out = []
    seen = set()
    tries = 0
    while len(out) < k and tries < k * 8:
        tries += 1
        dom = rng.choice(sorted(DOMAINS))
        t = fill(text, dom, rng)
        if tries > 1:  # the first variant is the core as written (slots filled)
            if rng.random() < 0.35 and not t.startswith(NO_PREFIX_START):
                t = fill(rng.choice(PREFIX[(role, main)]), dom, rng) + t
            elif rng.random() < 0.2 and main in ("ok", "shirking", "neutral", "dissatisfied"):
                t = fill(rng.choice(CONTEXT[role]), dom, rng) + t
            if rng.random() < 0.3:
                t = add_suffix(t, rng.choice(SUFFIX[(role, main)]))
            if rng.random() < 0.08:
                t = disfluent(t, rng)
            t = punct_style(t, rng)
        t = t.strip()
        if t and t not in seen:
            seen.add(t)
            out.append((dom, t))
    return out


def role_only_rows(items):
    """Rows of the `## role_only` lines: role label only, their own random stream and split."""
    rng = random.Random(SEED + 1)
    rows = []
    for role in ("agent", "customer"):
        mine = [c for r, c in items if r == role]
        order = list(range(len(mine)))
        rng.shuffle(order)
        test_idx = set(order[: max(1, round(len(mine) * TEST_SHARE))]) if mine else set()
        main = "ok" if role == "agent" else "neutral"
        for i, (_, lineno, text) in enumerate(mine):
            split = "test" if i in test_idx else "train"
            for dom, t in variants(role, main, text, ROLE_ONLY_VARIANTS, rng):
                rows.append({
                    "split": split,
                    "group": f"{role[0]}{lineno:04d}",
                    "role": role,
                    "attitude": "",
                    "emotion": "",
                    "intent": "",
                    "domain": dom,
                    "text": t,
                })
    return rows


def main():
    rng = random.Random(SEED)
    rows = []
    role_only = []
    for role, fname, main_head in (("agent", "agent.txt", "attitude"), ("customer", "customer.txt", "emotion")):
        path = os.path.join(HERE, "sources", fname)
        cores = []
        for c in read_sources(path, role):
            (role_only if ROLE_ONLY in c[0] else cores).append((role, c))
        cores = [c for r, c in cores]
        per_class = {}
        for labels, _, _ in cores:
            per_class[labels[main_head]] = per_class.get(labels[main_head], 0) + 1
        # Split per section: shuffle its cores, hold out TEST_SHARE (at least 2).
        sections = {}
        for c in cores:
            sections.setdefault(tuple(sorted(c[0].items())), []).append(c)
        for key, items in sorted(sections.items()):
            order = list(range(len(items)))
            rng.shuffle(order)
            n_test = max(2, round(len(items) * TEST_SHARE))
            test_idx = set(order[:n_test])
            for i, (labels, lineno, text) in enumerate(items):
                main = labels[main_head]
                k = max(MIN_VARIANTS, min(MAX_VARIANTS, round(TARGET[role] / per_class[main])))
                group = f"{role[0]}{lineno:04d}"
                split = "test" if i in test_idx else "train"
                for dom, t in variants(role, main, text, k, rng):
                    rows.append({
                        "split": split,
                        "group": group,
                        "role": role,
                        "attitude": labels.get("attitude", ""),
                        "emotion": labels.get("emotion", ""),
                        "intent": labels.get("intent", ""),
                        "domain": dom,
                        "text": t,
                    })
    rows.extend(role_only_rows(role_only))
    # The same text can come out of two groups (short lines like 「好的」); keep the first so
    # that no text is in both splits.
    seen = {}
    kept = []
    for r in rows:
        if r["text"] in seen:
            continue
        seen[r["text"]] = r["split"]
        kept.append(r)
    cols = ["id", "split", "group", "role", "attitude", "emotion", "intent", "domain", "text"]
    for split in ("train", "test"):
        out = [r for r in kept if r["split"] == split]
        with open(os.path.join(HERE, f"{split}.tsv"), "w", encoding="utf-8") as f:
            f.write("\t".join(cols) + "\n")
            for i, r in enumerate(out):
                r["id"] = f"{split[:2]}{i:05d}"
                f.write("\t".join(str(r[c]) for c in cols) + "\n")
        digest = hashlib.sha256(open(os.path.join(HERE, f"{split}.tsv"), "rb").read()).hexdigest()[:12]
        print(f"{split}.tsv: {len(out)} rows, sha256 {digest}")


if __name__ == "__main__":
    main()
