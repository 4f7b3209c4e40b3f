"""Text normalisation for fraud detection (文本归一化): one canonical form for every way of writing.

Scammers write the same script in many ways to slip past keyword filters: traditional characters
(繁体), full-width letters (全角), spaces or symbols inside keywords (刷*单), look-alike characters
(威信 / v信 for 微信), pinyin (shua dan), and ever-changing URLs and numbers. :func:`normalise`
maps all of these onto one form, so a model sees ``刷单`` whatever was typed; URLs and numbers become
typed tokens (a URL is a URL, whatever its host) and are returned separately for the URL detector.

The fast path is a chain of ``str.translate`` tables and compiled regular expressions (no per-character
Python loop), because the real-time API calls it once per SMS.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

# Typed tokens: single private characters so character n-grams stay short and never collide with text.
URL_TOKEN = "Ⓤ"
PHONE_TOKEN = "Ⓟ"
MONEY_TOKEN = "Ⓜ"
CARD_TOKEN = "Ⓑ"
NUMBER_TOKEN = "Ⓝ"
EMAIL_TOKEN = "Ⓔ"
TOKEN_NAMES = {
    URL_TOKEN: "<网址URL>",
    PHONE_TOKEN: "<电话PHONE>",
    MONEY_TOKEN: "<金额MONEY>",
    CARD_TOKEN: "<卡号CARD>",
    NUMBER_TOKEN: "<数字NUM>",
    EMAIL_TOKEN: "<邮箱EMAIL>",
}

DEFAULT_MAX_CHARS = 6000  # head + tail kept beyond this (long case narratives, OCR dumps)

# Cyrillic / Greek letters that look like Latin ones (used in brand names: аlipay).
_CONFUSABLE_LATIN = str.maketrans(
    "аеорсухіјѕԁɡοατνкмнвтАЕОРСХІЈЅΑΒΕΗΙΚΜΝΟΡΤΧΥΖ",
    "aeopcyxijsdgoatvkmhbtaeopcxijsabehikmnoptxyz",
)

# Phrase-level look-alikes and slang that stand for a keyword (applied after lower-casing).
LOOKALIKE_PHRASES: dict[str, str] = {
    "v信": "微信",
    "vx": "微信",
    "wx": "微信",
    "威信": "微信",
    "徽信": "微信",
    "薇信": "微信",
    "危信": "微信",
    "卫星号": "微信号",
    "微❤": "微信",
    "加v": "加微信",
    "加v信": "加微信",
    "扣扣": "qq",
    "企鹅号": "qq号",
    "zfb": "支付宝",
    "支付寶": "支付宝",
    "yzm": "验证码",
    "验正码": "验证码",
    "菠菜": "博彩",
    "岱款": "贷款",
    "袋款": "贷款",
    "代款": "贷款",
    "唰单": "刷单",
    "涮单": "刷单",
    "反利": "返利",
    "返俐": "返利",
    "佣今": "佣金",
    "冲值": "充值",
    "兼耳只": "兼职",
    "刷dan": "刷单",
    "u币": "usdt",
    "泰达币": "usdt",
    "萤火": "萤火",
}

# Keywords whose pinyin (and, for the longer ones, initials) is mapped back to characters.
PINYIN_KEYWORDS: tuple[str, ...] = (
    "刷单", "返利", "兼职", "贷款", "网贷", "征信", "转账", "汇款", "验证码", "安全账户", "公安",
    "警察", "通缉", "洗钱", "冻结", "客服", "退款", "理赔", "博彩", "赌博", "投资", "理财", "充值",
    "提现", "佣金", "保证金", "解冻", "微信", "支付宝", "银行卡", "屏幕共享", "下载", "彩票", "杀猪盘",
    "返现", "日结", "点赞", "做任务", "垫付", "手续费", "额度", "注销", "校园贷", "快递", "包裹",
)  # fmt: skip
_INITIALS_MIN_CHARS = 3  # two-letter initials (gs, dk) are too ambiguous to map

_URL = re.compile(
    r"(?:https?://|www\.)[^\x00\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef<>\"']+"
    r"|(?<![a-z0-9@.])(?:[a-z0-9-]+\.)+(?:com|cn|net|org|top|xyz|vip|cc|info|app|shop|club|site|online"
    r"|ltd|icu|work|link|fun|tk|ml|ga|cf|gq|pw|me|io|co|tw|hk|biz|live|win|bet|games|finance)"
    r"(?:[:/][^\x00\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef<>\"']*)?(?![a-z0-9])"
)
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
# Well-known service numbers carry meaning (95588 is ICBC, 96110 the anti-fraud centre): kept verbatim.
_SERVICE_NUMBER = r"(?:95\d{3}|96110|12306|12315|12345|12321|12381|1008[0-9]|10010|10000|110|120)"
_SERVICE_RE = re.compile(_SERVICE_NUMBER)
# one pass over digit runs (with the separators people type inside phone and card numbers)
_DIGITS = re.compile(r"(?:\+?86[- ]?)?\d(?:[\d.,]|[- ](?=\d))*")
_MONEY_UNITS = ("元", "块", "万", "千", "百", "w", "k", "rmb", "usdt", "美元", "美金", "人民币")
# separators hidden inside keywords: 刷 单, 刷*单, 刷-单, 刷|单 (between two CJK characters only)
_SEP = r"[\s*_\-|/\\~^#·•.+=★☆♥❤]"
_INNER_SEP = re.compile(rf"(?<=[\u4e00-\u9fff]){_SEP}+(?=[\u4e00-\u9fff])")
# a lone Latin letter between characters belongs to them: 加 v 信 → 加v信
_LONE_LETTER = re.compile(rf"(?<=[\u4e00-\u9fff]){_SEP}*([a-z]){_SEP}*(?=[\u4e00-\u9fff])")
_SPACES = re.compile(r"\s+")
_LATIN = re.compile(r"[a-z]")
_DIGIT = re.compile(r"\d")
_TOKENS = (URL_TOKEN, PHONE_TOKEN, MONEY_TOKEN, CARD_TOKEN, NUMBER_TOKEN, EMAIL_TOKEN)


@dataclass(frozen=True)
class Normalised:
    """The canonical text plus what was lifted out of it (for reasons and the URL detector)."""

    text: str
    urls: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, one character to one character (OpenCC TSCharacters + TW variants).

    Phrase-level conversion (OpenCC TSPhrases) is left out on purpose: it costs a dictionary walk per
    text and changes almost nothing that matters for classifying character n-grams.
    """
    folder = resources.files("opencc").joinpath("dictionary")

    def read(name: str, reverse: bool) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for line in folder.joinpath(name).read_text("utf-8").splitlines():
            src, _, dst = line.partition("\t")
            first = dst.split(" ")[0]
            if reverse:
                src, first = first, src
            if len(src) == 1 and len(first) == 1 and src != first:
                pairs[src] = first
        return pairs

    variants = {**read("HKVariants.txt", True), **read("TWVariants.txt", True)}  # regional → standard
    ts = read("TSCharacters.txt", False)
    # a regional variant goes to its standard traditional form, then to simplified; a character that
    # is itself traditional keeps its own simplification
    table = {k: ts.get(v, v) for k, v in variants.items()}
    table.update(ts)
    return {ord(k): v for k, v in table.items() if k != v}


@lru_cache(maxsize=1)
def _char_table() -> dict[int, str]:
    table = dict(_t2s_table())
    table.update({c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})  # full-width ASCII
    table[0x3000] = " "  # ideographic space
    table.update({k: chr(v) for k, v in _CONFUSABLE_LATIN.items()})
    for token in _TOKENS:  # a typed token typed by the user is not a token
        table[ord(token)] = " "
    return table


@lru_cache(maxsize=1)
def _pinyin_map() -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex over the pinyin spellings (shua dan, shuadan) and initials (yzm, aqzh) of the keywords."""
    from pypinyin import Style, lazy_pinyin

    spellings: dict[str, str] = {}
    patterns: list[str] = []
    for word in PINYIN_KEYWORDS:
        syllables = lazy_pinyin(word, style=Style.NORMAL)
        spellings["".join(syllables)] = word
        patterns.append(" ?".join(syllables))
        if len(word) >= _INITIALS_MIN_CHARS:
            initials = "".join(s[0] for s in syllables)
            spellings.setdefault(initials, word)
            patterns.append(initials)
    for phrase, word in LOOKALIKE_PHRASES.items():
        if phrase.isascii():
            spellings.setdefault(phrase, word)
            patterns.append(re.escape(phrase))
    patterns.sort(key=len, reverse=True)
    return re.compile(r"(?<![a-z])(?:" + "|".join(patterns) + r")(?![a-z])"), spellings


_LATIN_RUN = re.compile(r"[a-z]+(?: [a-z]+)*")


def _replace_pinyin(text: str) -> str:
    """Map Latin spellings of a keyword (shua dan, shuadan, yzm) back to the keyword.

    The big alternation only runs inside runs of Latin words: tried at every Chinese character it
    would cost more than all other steps together."""
    regex, spellings = _pinyin_map()

    def swap(match: re.Match[str]) -> str:
        return spellings[match.group(0).replace(" ", "")]

    return _LATIN_RUN.sub(lambda run: regex.sub(swap, run.group(0)), text)


@lru_cache(maxsize=1)
def _lookalike_regex() -> re.Pattern[str]:
    phrases = sorted((p for p in LOOKALIKE_PHRASES if not p.isascii()), key=len, reverse=True)
    return re.compile("|".join(re.escape(p) for p in phrases))


def _clip(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    head = max_chars * 3 // 4  # the opening says what the text is; the end often says how it ended
    return text[:head] + " … " + text[len(text) - (max_chars - head) :]


_NON_DIGIT = re.compile(r"\D")


def _classify_number(s: str, match: re.Match[str], phones: list[str]) -> str:
    whole = match.group(0)
    raw = whole.rstrip(".,")
    digits = raw if raw.isdecimal() else _NON_DIGIT.sub("", raw)
    tail = whole[len(raw) :]
    end = match.end()
    after = s[end : end + 3].lstrip()
    if (len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789") or (
        len(digits) == 13 and digits.startswith("861")
    ):
        phones.append(digits[-11:])
        return PHONE_TOKEN + tail
    if digits[0] == "0" and "-" in raw and 10 <= len(digits) <= 12:
        phones.append(digits)
        return PHONE_TOKEN + tail
    if after.startswith(_MONEY_UNITS) or s[match.start() - 1 : match.start()] in ("¥", "$"):
        return MONEY_TOKEN + tail
    if 15 <= len(digits) <= 19 and raw.isdigit():
        return CARD_TOKEN + tail
    if raw.isdigit() and _SERVICE_RE.fullmatch(raw):
        return raw + tail
    return NUMBER_TOKEN + tail


_LUT_MIN_CHARS = 2_000  # from this length one numpy gather beats str.translate's per-character dict lookup


@lru_cache(maxsize=1)
def _char_lut() -> np.ndarray:
    """:func:`_char_table` as an array over all code points (every entry maps one character to one)."""
    lut = np.arange(0x110000, dtype=np.uint32)
    for k, v in _char_table().items():
        lut[k] = ord(v)
    return lut


def _translate(s: str) -> str:
    """``s.translate(_char_table())``; long strings (a joined batch) through the array form."""
    if len(s) < _LUT_MIN_CHARS:
        return s.translate(_char_table())
    codes = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return _char_lut()[codes].tobytes().decode("utf-32-le", "surrogatepass")


def _fold(s: str) -> str:
    """Character-level steps: 繁→简, full-width and look-alike letters, NFKC where still needed, lower case."""
    # the table folds full-width forms first, so the costly NFKC pass runs only when still needed
    s = _translate(s)
    if not unicodedata.is_normalized("NFKC", s):
        s = _translate(unicodedata.normalize("NFKC", s))
    return s.lower()


def _step_urls(s: str, urls: list[str] | None) -> str:
    if "." in s or "://" in s:  # a URL has a dot or ://

        def _url(match: re.Match[str]) -> str:
            if urls is not None:
                urls.append(match.group(0))
            return f" {URL_TOKEN} "

        s = _URL.sub(_url, s)
        if "@" in s:
            s = _EMAIL.sub(f" {EMAIL_TOKEN} ", s)
    return s


def _step_separators(s: str) -> str:
    return _INNER_SEP.sub("", s)


def _step_latin(s: str) -> str:
    if _LATIN.search(s):
        s = _LONE_LETTER.sub(r"\1", s)
        s = _replace_pinyin(s)
        s = _INNER_SEP.sub("", s)
    return s


def _step_lookalikes(s: str) -> str:
    return _lookalike_regex().sub(lambda m: LOOKALIKE_PHRASES[m.group(0)], s)


def _step_numbers(s: str, phones: list[str] | None) -> str:
    if _DIGIT.search(s):
        found = phones if phones is not None else []
        s = _DIGITS.sub(lambda m: _classify_number(s, m, found), s)
    return s


def _step_spaces(s: str) -> str:
    return _SPACES.sub(" ", s)


def _rest(s: str, urls: list[str] | None, phones: list[str] | None) -> str:
    """Every step after :func:`_fold`: typed tokens, separators, pinyin, look-alike phrases, spaces."""
    s = _step_urls(s, urls)
    s = _step_separators(s)
    s = _step_latin(s)
    s = _step_lookalikes(s)
    s = _step_numbers(s, phones)
    return _step_spaces(s)


# What each step after _fold acts on, as bits of one flag per character (see _char_flags).
_F_URL, _F_SEP, _F_LATIN, _F_LOOKALIKE, _F_DIGIT, _F_SPACE = 1, 2, 4, 8, 16, 32


@lru_cache(maxsize=1)
def _char_flags() -> np.ndarray:
    """For every code point, the steps after :func:`_fold` that can act on a text containing it.

    Each step needs one of its characters to match at all: a URL or an e-mail a ``.`` (or ``://``),
    the separator steps a separator or white space, pinyin and lone letters a Latin letter, a
    look-alike phrase its first character (or a Latin letter: pinyin writes Chinese), a number a
    digit, the space step white space (or a URL, which is replaced with spaces around its token).
    So a step can skip every text whose flags lack its bit, and plain Chinese skips them all."""
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)

    def where(pattern: str) -> list[int]:
        return [ord(m.group(0)) for m in re.finditer(pattern, every)]

    flags = np.zeros(0x110000, dtype=np.uint8)
    flags[where(r"[.:]")] |= _F_URL
    flags[where(_SEP)] |= _F_SEP
    flags[where(r"\s")] |= _F_SEP | _F_SPACE
    flags[where(r"[a-z]")] |= _F_LATIN
    flags[[ord(p[0]) for p in LOOKALIKE_PHRASES]] |= _F_LOOKALIKE
    flags[where(r"\d")] |= _F_DIGIT
    flags[0xD800:0xE000] = 0xFF  # lone surrogates: every step, as in the one-text path
    return flags


def _rest_many(folded: str, n_texts: int, urls: list[tuple[str, ...]] | None = None) -> list[str]:
    """:func:`_rest` of ``n_texts`` folded texts joined by NUL, each step only over the texts it can change.

    The steps run in the same order as in :func:`_rest` and none crosses a NUL, so every text comes out
    exactly as :func:`_rest` alone would make it; skipping saves the scan of texts a step cannot touch."""
    codes = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts = np.concatenate(([0], np.flatnonzero(codes == 0) + 1))
    per_char = np.append(_char_flags()[codes], np.uint8(0))  # the 0 keeps a last empty text non-empty
    flags = np.bitwise_or.reduceat(per_char, starts)  # a text's segment includes its NUL (flag 0)
    parts = folded.split("\x00")
    assert len(parts) == n_texts == len(flags)

    def run(bits: int, step: Any) -> None:
        rows = np.flatnonzero(flags & bits).tolist()
        if rows:
            done = step("\x00".join([parts[i] for i in rows])).split("\x00")
            for i, part in zip(rows, done, strict=True):
                parts[i] = part

    if urls is None:
        run(_F_URL, lambda s: _step_urls(s, None))
    else:
        found: list[str] = []
        starts_at: list[int] = []
        rows = np.flatnonzero(flags & _F_URL).tolist()

        def step(s: str) -> str:
            # each URL is replaced by " Ⓤ " (3 characters): its start in the output gives its text
            out = _step_urls(s, found)
            starts_at.extend(m.start() for m in re.finditer(URL_TOKEN, out))
            return out

        run(_F_URL, step)
        urls[:] = [()] * n_texts
        if found:
            subset = [parts[i] for i in rows]
            ends = np.cumsum([len(p) + 1 for p in subset])  # just past each text's NUL, in the output
            owner = np.searchsorted(ends, starts_at, side="right")
            by_row: dict[int, list[str]] = {}
            for url, k in zip(found, owner.tolist(), strict=True):
                by_row.setdefault(rows[k], []).append(url)
            for i, row_urls in by_row.items():
                urls[i] = tuple(row_urls)
    run(_F_SEP, _step_separators)
    run(_F_LATIN, _step_latin)
    run(_F_LOOKALIKE | _F_LATIN, _step_lookalikes)
    run(_F_DIGIT, lambda s: _step_numbers(s, None))
    run(_F_SPACE | _F_URL, _step_spaces)
    return parts


def _canonical(s: str, urls: list[str] | None, phones: list[str] | None) -> str:
    """Every normalisation step on ``s``; works on one text or many joined by NUL (no step crosses a NUL)."""
    return _rest(_fold(s), urls, phones)


def normalise(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> Normalised:
    """Canonical form of ``text``: NFKC (full-width → half-width), simplified, lower-case, de-obfuscated,
    URLs / e-mails / phones / money / card numbers / other numbers replaced by typed tokens."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    urls: list[str] = []
    phones: list[str] = []
    s = _canonical(_clip(text, max_chars * 2).replace("\x00", " "), urls, phones).strip()
    return Normalised(_clip(s, max_chars), tuple(urls), tuple(phones))


def normalise_many(
    texts: list[str], *, max_chars: int = DEFAULT_MAX_CHARS, urls: list[tuple[str, ...]] | None = None
) -> list[str]:
    """:func:`normalise_text` of many texts at once: one pass of each step over all the texts it can
    change (joined by NUL, which no step matches), so the per-call cost of a dozen regular expressions
    is paid once and plain texts skip the steps that cannot change them. Gives exactly what
    :func:`normalise` gives text by text. ``urls``, when given, is filled with the URLs of each text
    (``normalise(text).urls``)."""
    if not texts:
        if urls is not None:
            urls[:] = []
        return []
    joined = "\x00".join(_clip(t, max_chars * 2) for t in texts)
    if joined.count("\x00") != len(texts) - 1:  # a NUL inside a text must not split it
        joined = "\x00".join(_clip(t, max_chars * 2).replace("\x00", " ") for t in texts)
    return [_clip(part.strip(), max_chars) for part in _rest_many(_fold(joined), len(texts), urls)]


def extract_urls(text: str) -> tuple[str, ...]:
    """The URLs :func:`normalise` lifts out of ``text`` (for reasons, without normalising again)."""
    return normalise(text).urls


def normalise_text(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Only the canonical text (see :func:`normalise`)."""
    return normalise(text, max_chars=max_chars).text


def readable(fragment: str) -> str:
    """A normalised fragment for people: typed tokens spelled out."""
    return fragment.translate(_SPELL_TOKENS).strip()


_SPELL_TOKENS = str.maketrans(TOKEN_NAMES)
