#!/usr/bin/env python3
"""Writes data/pii/labelled.jsonl: the labelled set for `zhijian eval pii`.

Each line is one snippet of a call: {"id", "utts": [{"role", "text"}], "entities": [{"utt",
"kind", "text"}]} where `text` is the exact substring of the utterance that is personal data
(one entry per utterance for a value read across two). Every value is invented (numbers made
with valid or deliberately broken check digits by this script); the wording is modelled on
service calls. Deterministic (seed below). Run: python3 data/pii/generate.py
"""
import json
import random
from pathlib import Path

random.seed(20261130)
OUT = Path(__file__).with_name("labelled.jsonl")

ZH = "零一二三四五六七八九"


def zh(d, yao=False, liang=False):
    """Digit by digit in 汉字, as Whisper writes a number read slowly; 幺 for 1, 两 for 2."""
    out = []
    for c in d:
        if c == "1" and yao:
            out.append("幺")
        elif c == "2" and liang:
            out.append("两")
        elif c in "xX":
            out.append("X")
        else:
            out.append(ZH[int(c)])
    return "".join(out)


def groups(d, sizes, sep):
    out, i = [], 0
    for s in sizes:
        out.append(d[i : i + s])
        i += s
    if i < len(d):
        out.append(d[i:])
    return sep.join(out)


def mobile():
    return random.choice("13456789") and "1" + random.choice("3456789") + "".join(
        random.choice("0123456789") for _ in range(9)
    )


def id_number(x=False):
    W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    while True:
        region = random.choice(["110105", "310104", "440305", "320102", "510107", "370202", "420106"])
        y = random.randint(1955, 2004)
        m = random.randint(1, 12)
        day = random.randint(1, 28)
        body = f"{region}{y}{m:02d}{day:02d}" + "".join(random.choice("0123456789") for _ in range(3))
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, W)) % 11]
        if (check == "X") == x:
            return body + check


def luhn_complete(body):
    s = 0
    for i, c in enumerate(reversed(body)):
        v = int(c)
        if i % 2 == 0:
            v *= 2
            v = v - 9 if v > 9 else v
        s += v
    return body + str((10 - s % 10) % 10)


def card(n=19):
    prefix = random.choice(["622202", "621700", "622848", "625965", "623058", "436742"])
    body = prefix + "".join(random.choice("0123456789") for _ in range(n - 1 - len(prefix)))
    return luhn_complete(body)


def landline():
    area = random.choice(["010", "021", "020", "0755", "0571", "0531", "028"])
    return area, "".join(random.choice("23456789") + "".join(random.choice("0123456789") for _ in range(7)))


def code(n=6):
    return "".join(random.choice("0123456789") for _ in range(n))


rows = []


def add(utts, ents, tag):
    """utts: [(role, text)], ents: [(utt, kind, text)]."""
    for u, kind, t in ents:
        assert t in utts[u][1], (t, utts[u][1])
    rows.append(
        {
            "id": f"{tag}{len(rows):03d}",
            "utts": [{"role": r, "text": t} for r, t in utts],
            "entities": [{"utt": u, "kind": k, "text": t} for u, k, t in ents],
        }
    )


C, A = "customer", "agent"

# --- Mobile numbers, every way Whisper writes them -------------------------------------------
lead_ins = ["我的手机号是", "手机号码是", "您记一下，", "号码是", "我电话", "你打这个号", "联系电话就是", "嗯，", "打我手机吧，"]
for i in range(30):
    d = mobile()
    style = i % 10
    if style == 0:
        v = d
    elif style == 1:
        v = groups(d, [3, 4], " ")
    elif style == 2:
        v = groups(d, [3, 4], "-")
    elif style == 3:
        v = zh(d)
    elif style == 4:
        v = zh(d, yao=True)
    elif style == 5:
        v = zh(d[:3], yao=True) + d[3:7] + zh(d[7:])
    elif style == 6:
        v = groups(zh(d, yao=True), [3, 4], "，")
    elif style == 7:
        v = zh(d, yao=True, liang=True)
    elif style == 8:
        v = "+86 " + groups(d, [3, 4], " ")
    else:
        v = groups(d, [3, 4], "，")
    pre = lead_ins[i % len(lead_ins)]
    tail = random.choice(["", "。", "，您记一下。", "，这个号码一直在用。"])
    add([(C, pre + v + tail)], [(0, "mobile", v)], "mob")

# A mobile read across two utterances (a pause), the agent saying 嗯 in between.
for i in range(8):
    d = mobile()
    a, b = (zh(d[:3], yao=True), zh(d[3:], yao=True)) if i % 2 else (d[:3], d[3:7] + " " + d[7:])
    add(
        [(C, "手机号是" + a), (A, "嗯"), (C, b + ("。" if i % 3 else ""))],
        [(0, "mobile", a), (2, "mobile", b)],
        "mobsplit",
    )

# The agent reads the number back.
for i in range(6):
    d = mobile()
    v = groups(d, [3, 4], " ") if i % 2 else zh(d, yao=True)
    add([(A, "跟您核对一下，您的号码是" + v + "对吗？")], [(0, "mobile", v)], "mobback")

# ASR damage: one digit lost (10 digits). Still the customer's number: the detector should but
# cannot know it.
for i in range(3):
    d = mobile()[:10]
    add([(C, "我手机是" + d)], [(0, "mobile", d)], "mobbroken")

# --- ID numbers ------------------------------------------------------------------------------
for i in range(16):
    d = id_number(x=(i % 4 == 0))
    style = i % 4
    if style == 0:
        v = d
    elif style == 1:
        v = groups(d, [6, 8], " ")
    elif style == 2:
        v = zh(d, yao=True)
    else:
        v = d[:6] + zh(d[6:14]) + d[14:]
    pre = random.choice(["身份证号是", "我的身份证", "证件号码", "身份证号码", "号码是"])
    add([(C, pre + v)], [(0, "id_card", v)], "id")
# Check digit broken by ASR, with and without 身份证 before it.
for i in range(4):
    d = id_number()
    bad = d[:17] + str((int(d[17]) + 3) % 10 if d[17] != "X" else 5)
    pre = "身份证号是" if i % 2 == 0 else "是"
    add([(C, pre + bad)], [(0, "id_card", bad)], "idbroken")
# The agent asks for it; the customer reads it across two utterances.
for i in range(3):
    d = id_number()
    add(
        [(A, "请您提供一下身份证号码"), (C, d[:9]), (C, d[9:])],
        [(1, "id_card", d[:9]), (2, "id_card", d[9:])],
        "idsplit",
    )

# --- Bank cards ------------------------------------------------------------------------------
for i in range(16):
    d = card(19 if i % 3 else 16)
    style = i % 4
    if style == 0:
        v = d
    elif style == 1:
        v = groups(d, [4, 4, 4, 4], " ")
    elif style == 2:
        v = zh(d, yao=True)
    else:
        v = groups(d, [4, 4, 4, 4], "，")
    pre = random.choice(["卡号是", "我的银行卡号", "信用卡卡号", "是这张卡", "尾号……不对，全号是", "储蓄卡"])
    add([(C, pre + v)], [(0, "bank_card", v)], "card")
# Luhn broken by ASR, with card context (caught) and without (missed).
for i in range(4):
    d = card()
    bad = d[:-1] + str((int(d[-1]) + 1) % 10)
    pre = "卡号是" if i % 2 == 0 else "我念一下"
    add([(C, pre + bad)], [(0, "bank_card", bad)], "cardbroken")

# --- Landlines -------------------------------------------------------------------------------
for i in range(10):
    area, num = landline()
    style = i % 4
    if style == 0:
        v = area + "-" + num
    elif style == 1:
        v = area + num
    elif style == 2:
        v = zh(area) + zh(num)
    else:
        v = area + " " + num
    pre = random.choice(["座机是", "家里电话", "办公室电话是", "您打", "固话"])
    add([(C, pre + v)], [(0, "landline", v)], "tel")
for i in range(3):
    num = "".join(random.choice("23456789") for _ in range(8))
    v = zh(num) if i % 2 else num
    add([(C, "家里座机" + v)], [(0, "landline", v)], "tellocal")

# --- Verification codes and passwords ------------------------------------------------------
for i in range(14):
    c = code(6 if i % 3 else 4)
    style = i % 3
    v = c if style == 0 else (zh(c, yao=True) if style == 1 else " ".join(c))
    if i % 2:
        add([(A, random.choice(["麻烦您报一下收到的验证码", "请告诉我短信验证码", "您念一下动态码"])), (C, v)], [(1, "code", v)], "code")
    else:
        pre = random.choice(["验证码是", "收到的验证码", "动态码", "密码是", "我的密码"])
        add([(C, pre + v)], [(0, "code", v)], "code")

# --- E-mail ------------------------------------------------------------------------------------
for local, dom, spoken in [
    ("zhangwei88", "qq.com", None),
    ("lina_2020", "163.com", None),
    ("wangfang", "126.com", "wangfang艾特126点com"),
    ("chen.jie", "sina.com", "chen.jie at sina dot com"),
    ("liu123", "gmail.com", "liu123@gmail点com"),
    ("service01", "company.com.cn", None),
    ("12345678", "qq.com", "12345678艾特qq.com"),
    ("zhaolei", "hotmail.com", "zhaolei@hotmail.com"),
]:
    v = spoken or f"{local}@{dom}"
    add([(C, random.choice(["邮箱是", "发到我邮箱", "我的邮箱地址是"]) + v)], [(0, "email", v)], "mail")

# --- Licence plates ----------------------------------------------------------------------------
for v in ["粤B12345", "京A·D8866", "沪C 5K321", "苏E88T88", "浙A12345", "川A一二三四五", "鲁B 7Q56X", "粤BD12345"]:
    add([(C, random.choice(["车牌号是", "我的车是", "车牌"]) + v)], [(0, "plate", v)], "plate")

# --- Names -------------------------------------------------------------------------------------
for pre, name in [
    ("我叫", "张伟"), ("我叫", "王秀英"), ("我的名字叫", "李娜"), ("持卡人是", "刘洋"), ("名字是", "陈静"),
    ("我叫", "欧阳明"), ("机主是", "杨帆"), ("户主是", "赵丽华"), ("姓名是", "黄磊"), ("我叫", "周杰"),
]:
    add([(C, pre + name + random.choice(["", "。", "，身份证也是这个名字"]))], [(0, "name", name)], "name")
# Names the patterns cannot see (said without a trigger word).
for t, name in [("您好，是张建国先生吗？", "张建国"), ("对，我是孙丽，找一下刘经理", "孙丽"), ("这是我爱人马红梅的卡", "马红梅")]:
    add([(A if "先生" in t else C, t)], [(0, "name", name)], "namehard")

# --- Addresses ---------------------------------------------------------------------------------
for pre, addr in [
    ("地址是", "北京市朝阳区建国路88号"),
    ("收货地址是", "上海市浦东新区张江路100弄5号楼302室"),
    ("我住在", "广州市天河区体育西路3号"),
    ("寄到", "杭州市西湖区文三路477号华星科技大厦"),
    ("家住", "成都市武侯区人民南路四段12号"),
    ("送到", "南京市鼓楼区中山路8号2单元501室"),
    ("地址", "深圳市南山区科技园南区高新南一道6号"),
    ("住址是", "济南市历下区泉城路180号"),
]:
    add([(C, pre + addr)], [(0, "address", addr)], "addr")
for t, addr in [("就是那个望京西园三区两号楼", "望京西园三区两号楼"), ("放在幸福小区东门快递柜", "幸福小区东门")]:
    add([(C, t)], [(0, "address", addr)], "addrhard")

# --- Several in one utterance ------------------------------------------------------------------
for i in range(4):
    m, c = mobile(), card()
    add(
        [(C, f"手机{m}，卡号{groups(c, [4, 4, 4, 4], ' ')}")],
        [(0, "mobile", m), (0, "bank_card", groups(c, [4, 4, 4, 4], " "))],
        "multi",
    )

# --- Tricky negatives: numbers that are not personal data --------------------------------------
neg = [
    "您的订单号是" + mobile(),
    "订单编号" + card(),
    "快递单号是" + "".join(random.choice("0123456789") for _ in range(13)),
    "工号一零八六为您服务",
    "我的工号是10086",
    "您好，工号幺三八五，很高兴为您服务",
    "这个月话费是一百三十八块五",
    "一共是1380元",
    "金额是13812345678元吗？不对，是138元",
    "2023年11月30号下单的",
    "二零二三年十一月三十日",
    "下午三点十五分给您回电",
    "14点30分之前都可以",
    "退款三到五个工作日到账",
    "分期手续费是百分之零点六",
    "一共买了12件",
    "价格是2999",
    "套餐是每月五十八元",
    "流量包是三十个G",
    "请拨打我们的客服热线95588",
    "客服电话是400 820 8820",
    "全国统一热线10086",
    "您尾号1234的卡",
    "尾号是五六七八的那张",
    "密码是六位数字",
    "验证码已经发到您手机上了",
    "验证码五分钟内有效",
    "密码输错三次会被锁定",
    "您的会员号是8866321",
    "保单号是P20231130001234",
    "合同编号是2023113000123456789",
    "流水号是202311300912345678",
    "房间号是1802",
    "第三期的账单",
    "积分还有12345分",
    "我今年三十八岁",
    "等了二十多分钟了",
    "版本号是12.3.1",
    "型号是AB12345",
    "发票号码是12345678",
    "工单号是" + mobile(),
    "这个号码是空号",
    "我要打12315投诉你们",
    "一百二十八兆的宽带",
    "总共是三千五百块",
    "分机号是8021",
    "转分机6688",
    "打了好几遍都没人接",
    "我叫你们经理来",
    "我叫车来接",
    "名字是什么来着",
    "我叫了好几次了",
    "地址不对吧",
    "我住在这边好多年了",
    "送到门口就行",
    "您的地址我这边看到了",
    "我们公司在北京",
    "他是王经理",
    "您好，我是客服小李",
    "京东买的",
    "新A套餐",
    "苏宁的那个",
    "粤语服务请按2",
    "按1号键",
    "这个是2024版的",
    "六个月以后",
    "您的验证码和密码都不要告诉别人",
    "邮箱我一会发给你",
    "车牌号我不记得了",
    "您好，这边是中国移动",
    "我们的营业时间是早上九点到晚上九点",
    "三十天无理由退货",
    "每个月十五号扣款",
    "年化利率是百分之三点六五",
]
for t in neg:
    add([(random.choice([A, C]), t)], [], "neg")

with OUT.open("w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
n_utts = sum(len(r["utts"]) for r in rows)
n_ents = sum(len(r["entities"]) for r in rows)
print(f"{len(rows)} snippets, {n_utts} utterances, {n_ents} labelled entities -> {OUT}")
