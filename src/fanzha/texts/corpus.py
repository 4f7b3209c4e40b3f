"""The self-written training corpus of the default model (自建训练语料).

Messages are generated combinatorially from the project's own templates (:mod:`fanzha.texts.templates`)
and from the simulator's typology library (``fanzha.taxonomy.typologies``) when it is installed:
SMS-style scripts for every fraud type, case-report narratives, short chat windows, and ordinary
messages (bank and courier notices, police reminders, family, work, friends, services, meetings).
The same seed gives the same corpus. It never reads the evaluation data.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import numpy as np
import pandas as pd

from fanzha import taxonomy
from fanzha.demo import module_exists
from fanzha.texts import templates as T
from fanzha.texts.labels import NORMAL

_FILL: dict[str, list[str]] = {
    "platform": ["淘宝", "京东", "拼多多", "抖音", "快手", "美团", "闲鱼", "唯品会", "小红书", "支付宝"],
    "chat_app": ["微信", "QQ", "vx", "威信", "Telegram", "飞机", "企业微信"],
    "bank": ["工商银行", "建设银行", "农业银行", "中国银行", "招商银行", "交通银行", "邮储银行", "平安银行"],
    "courier": ["顺丰速运", "中通快递", "圆通速递", "韵达快递", "京东物流", "EMS", "申通快递"],
    "city": ["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安", "南京", "重庆", "长沙", "郑州"],
    "teacher": ["王老师", "李教授", "陈导师", "张总监", "刘老师", "赵分析师"],
    "boss": ["张总", "李总", "王局长", "陈董", "赵经理", "刘主任"],
    "relative": ["表哥", "舅舅", "二叔", "老同学", "大学室友"],
    "game": ["王者荣耀", "和平精英", "原神", "梦幻西游", "英雄联盟", "我的世界"],
    "item": ["限定皮肤", "高级账号", "游戏币", "稀有装备", "点券"],
    "goods": ["演唱会门票", "二手手机", "名牌包", "低价茅台", "减肥药", "苹果手机", "游戏机"],
    "site": ["澳门", "威尼斯人", "金沙", "皇冠", "永利"],
    "app": ["汇金宝APP", "鑫盈通", "聚财宝", "云闪贷", "ZOOM会议", "钉钉", "安全防护APP", "稳盈理财"],
    "name": ["张某", "李某某", "王女士", "陈先生", "刘某", "赵某", "孙女士", "周先生"],
    "place": ["小区门口", "幸福路", "东门", "中心广场", "人民路", "二号楼"],
    "shop": ["星巴克", "屈臣氏", "优衣库", "海底捞", "万达影城"],
    "hospital": ["市第一人民医院", "中医院", "妇幼保健院"],
    "school": ["实验小学", "第三中学", "育才学校"],
    "service": ["95588", "95533", "95599", "95566", "95555", "95559", "95580"],
}
_TLDS = ["vip", "top", "xyz", "cc", "com", "cn", "net", "shop", "icu", "club", "app"]


class _Filler:
    """Fills ``{placeholders}`` with random values (amounts, codes, URLs, names …)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.fill = {k: list(v) for k, v in _FILL.items()}
        if module_exists("fanzha.taxonomy.typologies"):
            from fanzha.taxonomy import typologies

            for key, values in typologies.fill_values().items():
                self.fill[key] = sorted(set(self.fill.get(key, [])) | set(values))
        self.generated: dict[str, Callable[[], str]] = {
            "amount": lambda: str(
                int(self.rng.choice([200, 500, 800, 1000, 2000, 3000, 5000, 8000, 10000, 20000]))
            ),
            "amount2": lambda: f"{self.rng.integers(100, 90000)}.{self.rng.integers(10, 99)}",
            "small": lambda: str(int(self.rng.choice([9.9, 19, 29, 39, 50, 88, 99, 100, 128, 200, 300]))),
            "big": lambda: str(int(self.rng.choice([50000, 100000, 200000, 300000, 500000]))),
            "loss": lambda: str(int(self.rng.lognormal(9.5, 1.3))),
            "loss_yuan": lambda: str(int(self.rng.lognormal(9.5, 1.3))),
            "n_payments": lambda: str(int(self.rng.integers(2, 9))),
            "age": lambda: str(int(self.rng.integers(16, 80))),
            "d4": lambda: f"{self.rng.integers(0, 10_000):04d}",
            "digits": lambda: f"{self.rng.integers(0, 10_000):04d}",
            "d6": lambda: f"{self.rng.integers(0, 1_000_000):06d}",
            "d12": lambda: "".join(str(d) for d in self.rng.integers(0, 10, 12)),
            "phone": lambda: (
                "1" + str(self.rng.choice([3, 5, 7, 8, 9])) + "".join(map(str, self.rng.integers(0, 10, 9)))
            ),
            "date": lambda: f"{self.rng.integers(1, 13)}月{self.rng.integers(1, 29)}日",
            "code": self._code,
            "url": self._url,
            "app_name": lambda: self._pick("app"),
        }

    def _pick(self, key: str) -> str:
        values = self.fill[key]
        return values[int(self.rng.integers(len(values)))]

    def _code(self) -> str:
        letters = "".join(self.rng.choice(list(string.ascii_lowercase), int(self.rng.integers(1, 4))))
        return ("：" if self.rng.random() < 0.5 else "") + letters + str(self.rng.integers(1000, 99999999))

    def _url(self) -> str:
        word = "".join(
            self.rng.choice(list(string.ascii_lowercase + string.digits), int(self.rng.integers(4, 10)))
        )
        scheme = ["http://", "https://", ""][int(self.rng.integers(3))]
        return f"{scheme}{word}.{_TLDS[int(self.rng.integers(len(_TLDS)))]}/{self.rng.integers(10, 999)}"

    def __call__(self, template: str) -> str:
        out = template
        for _ in range(4):  # a filled value may not contain placeholders, but slots may repeat
            start = out.find("{")
            if start < 0:
                break
            out = self._sub_all(out)
        return out

    def _sub_all(self, template: str) -> str:
        parts: list[str] = []
        i = 0
        while True:
            start = template.find("{", i)
            end = template.find("}", start + 1) if start >= 0 else -1
            if start < 0 or end < 0:
                parts.append(template[i:])
                return "".join(parts)
            parts.append(template[i:start])
            key = template[start + 1 : end]
            if key in self.generated:
                parts.append(self.generated[key]())
            elif key in self.fill:
                parts.append(self._pick(key))
            else:
                parts.append("")
            i = end + 1


def _sms(rng: np.random.Generator, slots: dict[str, list[str]], fill: _Filler) -> str:
    parts = []
    for slot, keep in (("open", 0.7), ("hook", 1.0), ("ask", 0.85)):
        if slot in slots and rng.random() < keep:
            parts.append(slots[slot][int(rng.integers(len(slots[slot])))])
    if rng.random() < 0.3 and "hook" in slots:  # a second hook sentence now and then
        parts.insert(-1, slots["hook"][int(rng.integers(len(slots["hook"])))])
    sep = ["，", "。", "！", " "][int(rng.integers(4))]
    return fill(sep.join(p.rstrip("，。") for p in parts if p) + "。")


def _narrative(rng: np.random.Generator, code: str, fill: _Filler) -> str:
    opener = T.NARRATIVE_OPEN[int(rng.integers(len(T.NARRATIVE_OPEN)))]
    bodies = T.NARRATIVE_BODY.get(code, T.NARRATIVE_BODY["other"])
    close = T.NARRATIVE_CLOSE[int(rng.integers(len(T.NARRATIVE_CLOSE)))]
    return fill(opener + bodies[int(rng.integers(len(bodies)))] + close)


def _dialogue(rng: np.random.Generator, lines: list[str], replies: list[str], fill: _Filler) -> str:
    names = rng.choice(
        ["张伟", "李娜", "王强", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴芳"], 2, replace=False
    )
    turns = int(rng.integers(2, 7))
    out = []
    for t in range(turns):
        pool = lines if t % 2 == 0 else replies
        out.append(f"{names[t % 2]}: {fill(pool[int(rng.integers(len(pool)))])}")
    return "\n".join(out)


def _chat(rng: np.random.Generator) -> str:
    pick = lambda pool: pool[int(rng.integers(len(pool)))]  # noqa: E731
    return pick(T.CHAT_SUBJECT) + pick(T.CHAT_TIME) + pick(T.CHAT_ACTION) + pick(T.CHAT_END)


def _lexicon() -> list[str]:
    """Ordinary Chinese words (OpenCC's phrase table and pypinyin's phrase dictionary, both shipped)."""
    from importlib import resources

    words = {
        line.split("\t", 1)[0]
        for line in resources.files("opencc")
        .joinpath("dictionary", "STPhrases.txt")
        .read_text("utf-8")
        .splitlines()
    }
    try:
        from pypinyin.phrases_dict import phrases_dict

        words.update(phrases_dict)
    except ImportError:
        pass
    return sorted(w for w in words if 2 <= len(w) <= 4)


def _background(rng: np.random.Generator, lexicon: list[str]) -> str:
    """Everyday words strung together: teaches the model that ordinary vocabulary is not a fraud cue
    (otherwise any text unlike the few normal templates drifts towards fraud)."""
    n = int(rng.integers(4, 40))
    words = [lexicon[int(i)] for i in rng.integers(0, len(lexicon), n)]
    out = []
    for w in words:
        out.append(w)
        if rng.random() < 0.2:
            out.append("，。！？、 "[int(rng.integers(6))])
    return "".join(out)


def _library_lines() -> tuple[dict[str, list[str]], dict[str, list[str]], list[str]]:
    """Script lines and narratives per type and ordinary SMS from the simulator's typology library."""
    if not module_exists("fanzha.taxonomy.typologies"):
        return {}, {}, []  # fallback: the texts area's own templates only
    from fanzha.taxonomy import typologies

    lines: dict[str, list[str]] = {}
    narratives: dict[str, list[str]] = {}
    for code, typology in typologies.load_typologies().items():
        lines[code] = [line for step in typology.steps for line in step.lines]
        narratives[code] = list(typology.narratives)
    return lines, narratives, list(typologies.legit_sms_lines())


def generate_corpus(seed: int = 20240601, per_type: int = 700, normal: int = 11000) -> pd.DataFrame:
    """``text, label, form`` rows: ``label`` a fraud-type code or ``normal``; ``form`` sms / narrative /
    dialogue / library. Balanced over the fraud types; ordinary messages about as many as fraud ones."""
    rng = np.random.default_rng(seed)
    fill = _Filler(rng)
    lib_lines, lib_narratives, lib_legit = _library_lines()
    rows: list[tuple[str, str, str]] = []
    codes = [c for c in taxonomy.fraud_types() if c in T.FRAUD]
    for code in codes:
        script_lines = T.FRAUD[code]["hook"] + T.FRAUD[code]["ask"] + lib_lines.get(code, [])
        for i in range(per_type):
            r = i % 10
            if r < 5:
                rows.append((_sms(rng, T.FRAUD[code], fill), code, "sms"))
            elif r < 7:
                if lib_narratives.get(code) and rng.random() < 0.5:
                    text = fill(lib_narratives[code][int(rng.integers(len(lib_narratives[code])))])
                else:
                    text = _narrative(rng, code, fill)
                rows.append((text, code, "narrative"))
            elif r < 9 or not lib_lines.get(code):
                rows.append((_dialogue(rng, script_lines, T.REPLIES, fill), code, "dialogue"))
            else:
                pool = lib_lines[code]
                rows.append((fill(pool[int(rng.integers(len(pool)))]), code, "library"))
    kinds = list(T.NORMAL)
    lexicon = _lexicon()
    for _ in range(normal // 4):
        rows.append((_background(rng, lexicon), NORMAL, "background"))
    for i in range(normal):
        r = i % 10
        if r < 3:
            text = _chat(rng) if rng.random() < 0.85 else T.ACKS[int(rng.integers(len(T.ACKS)))]
            rows.append((text, NORMAL, "chat"))
        elif r < 6:
            kind = kinds[int(rng.integers(len(kinds)))]
            pool = T.NORMAL[kind]
            text = fill(pool[int(rng.integers(len(pool)))])
            if rng.random() < 0.25:  # two messages run together, as in chat exports
                other = T.NORMAL[kinds[int(rng.integers(len(kinds)))]]
                text += fill(other[int(rng.integers(len(other)))])
            rows.append((text, NORMAL, "sms"))
        elif r < 8:
            pool = T.MEETING + T.NORMAL["work"] + T.NORMAL["family"] + T.NORMAL["friend"]
            rows.append((_dialogue(rng, pool, T.MEETING + T.ACKS, fill), NORMAL, "dialogue"))
        elif lib_legit and r == 8:
            rows.append((fill(lib_legit[int(rng.integers(len(lib_legit)))]), NORMAL, "library"))
        else:
            pool = T.NORMAL["gov"] + T.NORMAL["bank"] + T.NORMAL["courier"]
            rows.append((fill(pool[int(rng.integers(len(pool)))]), NORMAL, "sms"))
    frame = pd.DataFrame(rows, columns=["text", "label", "form"])
    return frame.drop_duplicates("text").reset_index(drop=True)
