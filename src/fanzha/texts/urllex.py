"""Lexical URL and domain features (网址/域名风险): what a URL says about itself before anyone visits it.

Phishing and scam sites imitate brands (icbc-vip.top, a1ipay.com, alipay.com.verify.cn), are
registered in bulk under cheap TLDs with random names, hide behind IP addresses, shorteners or
punycode, and nest the real brand in sub-domains or paths. Each feature has a stable name so the
model's contributions can be given as reasons.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from unicodedata import name as _char_name
from unicodedata import normalize
from urllib.parse import urlsplit

import numpy as np

from fanzha.errors import ValidationError
from fanzha.records.normalise import with_scheme

# brand key → official registered domains (Chinese banks, payment, shopping, telecom, government …)
BRANDS: dict[str, tuple[str, ...]] = {
    "icbc": ("icbc.com.cn", "icbc.com"), "ccb": ("ccb.com", "ccb.cn"), "abchina": ("abchina.com",),
    "boc": ("boc.cn",), "bankofchina": ("bankofchina.com",), "cmbchina": ("cmbchina.com",),
    "bankcomm": ("bankcomm.com",), "psbc": ("psbc.com",), "pingan": ("pingan.com", "pingan.com.cn"),
    "spdb": ("spdb.com.cn",), "citicbank": ("citicbank.com",), "cebbank": ("cebbank.com",),
    "cmbc": ("cmbc.com.cn",), "cib": ("cib.com.cn",), "hxb": ("hxb.com.cn",), "unionpay": ("unionpay.com", "95516.com"),
    "alipay": ("alipay.com", "alipay.cn", "alipayobjects.com"), "taobao": ("taobao.com",), "tmall": ("tmall.com",),
    "jd": ("jd.com", "jd.hk"), "pinduoduo": ("pinduoduo.com", "yangkeduo.com"), "weixin": ("qq.com", "weixin.com"),
    "wechat": ("wechat.com", "qq.com"), "tenpay": ("tenpay.com",), "qq": ("qq.com",), "douyin": ("douyin.com",),
    "kuaishou": ("kuaishou.com",), "meituan": ("meituan.com",), "xianyu": ("goofish.com", "taobao.com"),
    "12306": ("12306.cn",), "chinatax": ("chinatax.gov.cn",), "gov": ("gov.cn",), "court": ("court.gov.cn",),
    "mps": ("mps.gov.cn",), "10086": ("10086.cn",), "10010": ("10010.com", "10010.cn"), "189": ("189.cn",),
    "chinamobile": ("chinamobile.com", "10086.cn"), "sfexpress": ("sf-express.com",), "ems": ("ems.com.cn",),
    "apple": ("apple.com", "apple.com.cn", "icloud.com"), "icloud": ("icloud.com",), "huawei": ("huawei.com",),
    "xiaomi": ("mi.com", "xiaomi.com"), "baidu": ("baidu.com",), "ctrip": ("ctrip.com", "trip.com"),
    "didi": ("didiglobal.com", "xiaojukeji.com"), "paypal": ("paypal.com",), "microsoft": ("microsoft.com",),
    "office": ("office.com", "microsoft.com"), "outlook": ("outlook.com", "live.com"), "google": ("google.com",),
    "amazon": ("amazon.com",), "facebook": ("facebook.com",), "netflix": ("netflix.com",),
    "instagram": ("instagram.com",), "binance": ("binance.com",), "coinbase": ("coinbase.com",),
    "dropbox": ("dropbox.com",), "chase": ("chase.com",), "wellsfargo": ("wellsfargo.com",),
    "steam": ("steampowered.com", "steamcommunity.com"), "linkedin": ("linkedin.com",), "yahoo": ("yahoo.com",),
}  # fmt: skip
SUSPICIOUS_TLDS = frozenset(
    [
        "top",
        "xyz",
        "vip",
        "cc",
        "icu",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "pw",
        "club",
        "shop",
        "site",
        "online",
        "work",
        "link",
        "fun",
        "buzz",
        "rest",
        "cyou",
        "bond",
        "sbs",
        "live",
        "win",
        "bet",
        "ltd",
        "games",
        "finance",
        "loan",
        "click",
        "download",
        "review",
        "racing",
        "date",
        "stream",
        "gdn",
        "men",
        "party",
        "trade",
        "science",
        "kim",
        "wang",
        "ren",
        "xin",
        "cfd",
        "monster",
    ]
)
SHORTENERS = frozenset(
    [
        "t.cn",
        "url.cn",
        "dwz.cn",
        "suo.im",
        "bit.ly",
        "tinyurl.com",
        "goo.gl",
        "t.co",
        "is.gd",
        "ow.ly",
        "u.nu",
        "mrw.so",
        "w.url.cn",
        "sohu.gg",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "buff.ly",
        "s.id",
        "v.gd",
        "rb.gy",
        "985.so",
        "dwz.date",
    ]
)
# two-level public suffixes common in the data (a full Public Suffix List is not shipped)
_SECOND_LEVEL = frozenset(
    [
        "com.cn",
        "net.cn",
        "org.cn",
        "gov.cn",
        "edu.cn",
        "ac.cn",
        "com.tw",
        "org.tw",
        "gov.tw",
        "edu.tw",
        "net.tw",
        "com.hk",
        "org.hk",
        "gov.hk",
        "co.uk",
        "org.uk",
        "ac.uk",
        "gov.uk",
        "co.jp",
        "ne.jp",
        "or.jp",
        "com.au",
        "net.au",
        "org.au",
        "co.kr",
        "co.in",
        "co.nz",
        "com.br",
        "com.sg",
        "com.my",
    ]
)
_WORDS = ("login", "signin", "verify", "secure", "account", "update", "bank", "pay", "wallet", "confirm",
          "password", "webscr", "ebayisapi", "kefu", "refund", "tuikuan", "lipei", "kaihu", "daikuan",
          "zhengxin", "licai", "touzi", "app", "download", "apk", "vip")  # fmt: skip
_HOMOGLYPHS = str.maketrans({"0": "o", "1": "l", "3": "e", "5": "s", "7": "t", "4": "a", "8": "b", "9": "g"})
# non-Latin letters that look like Latin ones (Cyrillic, Greek, Armenian, IPA …) → the Latin letter
# a reader sees; full-width Latin is folded by NFKC first (the idna codec already maps it for hosts)
_CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ї": "i", "ј": "j", "ӏ": "l", "ԁ": "d", "ѕ": "s", "һ": "h", "ԛ": "q", "ԝ": "w", "к": "k", "м": "m",
    "н": "h", "т": "t", "ь": "b", "ѡ": "w", "ү": "y", "ɡ": "g", "ԍ": "g", "ɑ": "a", "ı": "i", "ǀ": "l",
    # Greek
    "ο": "o", "ν": "v", "α": "a", "ι": "i", "κ": "k", "ρ": "p", "υ": "u", "χ": "x", "τ": "t",
    "ε": "e", "β": "b", "γ": "y", "η": "n", "ω": "w", "ϳ": "j",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "զ": "q",
}  # fmt: skip
_FOLD_CONFUSABLES = str.maketrans(_CONFUSABLES)
_LOOKALIKE_SCRIPTS = frozenset(["CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC"])
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_VOWELS = set("aeiou")

FEATURES = (
    "url_length", "host_length", "host_dots", "host_hyphens", "host_digit_ratio", "host_entropy",
    "label_random", "subdomain_depth", "path_length", "path_depth", "query_params", "has_at", "is_ip",
    "punycode", "suspicious_tld", "shortener", "nonstandard_port", "https", "risky_words",
    "brand_in_domain", "brand_lookalike", "brand_in_subdomain", "brand_in_path", "official_brand",
    "fake_gov", "digits_in_label", "long_label", "mixed_script",
)  # fmt: skip
_MESSAGES = {
    "brand_in_domain": "brand name inside an unofficial domain",
    "brand_lookalike": "domain looks like a brand (edit distance / look-alike characters)",
    "brand_in_subdomain": "brand name in a sub-domain of another domain",
    "brand_in_path": "brand name in the path of an unofficial domain",
    "fake_gov": "claims to be government (gov) outside gov.cn",
    "suspicious_tld": "cheap top-level domain often used by scam sites",
    "is_ip": "host is a bare IP address",
    "shortener": "URL shortener hides the destination",
    "punycode": "internationalised (punycode) domain, may hide look-alike characters",
    "label_random": "random-looking domain name",
    "host_entropy": "high character entropy in the host",
    "risky_words": "login / verify / refund words in the URL",
    "subdomain_depth": "deeply nested sub-domains",
    "has_at": "@ in the URL (the real host comes after it)",
    "nonstandard_port": "non-standard port",
    "official_brand": "official domain of a known brand",
    "digits_in_label": "digits mixed into the domain name",
    "long_label": "unusually long domain name",
    "mixed_script": "domain name mixes Latin with look-alike Cyrillic / Greek letters",
}


@dataclass(frozen=True)
class ParsedUrl:
    url: str
    host: str
    registered: str  # registered domain (eTLD+1), the host itself for IPs
    label: str  # registered domain without its suffix (icbc-vip for icbc-vip.top)
    subdomain: str
    tld: str
    path: str
    query: str
    port: int | None
    scheme: str


_HOST_CHARS = re.compile(r"^[a-z0-9._-]+$")


def is_ip(host: str) -> bool:
    """A bare IPv4 or IPv6 address (``urlsplit`` gives IPv6 hosts without their brackets)."""
    if _IPV4.match(host):
        return True
    if ":" in host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True
    return False


def ascii_host(host: str) -> str:
    """The host in ASCII: internationalised labels as punycode (``xn--``); raises UnicodeError for
    an empty or over-long label."""
    return host.encode("idna").decode("ascii").lower()


def parse_url(value: object) -> ParsedUrl:
    """Split a URL or bare host into the parts the features need; raises ValidationError if unusable."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"URL {value!r} is empty or not text; give a URL or host name", value=value)
    raw = with_scheme(value.strip().lower())  # as a browser reads it, like the record normaliser
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValidationError(f"URL {value!r} cannot be parsed (bad port or brackets)", value=value) from None
    host = (parts.hostname or "").rstrip(".")
    if not host or " " in host:
        raise ValidationError(f"URL {value!r} has no host name", value=value)
    if not is_ip(host):  # one form per host: IDN → punycode, as the record normaliser stores it
        try:
            ascii_name = ascii_host(host)
        except UnicodeError:
            raise ValidationError(
                f"URL {value!r} has an invalid host name {host!r} (an empty or over-long label)", value=value
            ) from None
        if ascii_name != host:
            raw = raw.replace(parts.hostname or host, ascii_name, 1)
            host = ascii_name
        if not _HOST_CHARS.match(host):
            raise ValidationError(
                f"URL {value!r} has characters no host name can have ({host!r})", value=value
            )
    if is_ip(host):
        return ParsedUrl(raw, host, host, host, "", "", parts.path, parts.query, port, parts.scheme)
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _SECOND_LEVEL:
        n_suffix = 2
    else:
        n_suffix = 1 if len(labels) >= 2 else 0
    registered = ".".join(labels[-(n_suffix + 1) :])
    label = labels[-(n_suffix + 1)] if len(labels) > n_suffix else host
    subdomain = ".".join(labels[: -(n_suffix + 1)])
    tld = ".".join(labels[-n_suffix:]) if n_suffix else ""
    return ParsedUrl(
        raw, host, registered, label, subdomain, tld, parts.path, parts.query, port, parts.scheme
    )


@lru_cache(maxsize=4096)
def unicode_label(label: str) -> str:
    """What a person sees: a punycode (``xn--``) label decoded to Unicode (left as it is if it is not
    valid punycode)."""
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label


def unicode_host(host: str) -> str:
    """The host with every punycode label decoded (``xn--fiqs8s856bruk.xn--fiqs8s`` → ``中国银行.中国``)."""
    if "xn--" not in host:
        return host
    return ".".join(unicode_label(part) for part in host.split("."))


def fold_lookalikes(text: str) -> str:
    """Cyrillic / Greek / full-width letters that look Latin → the Latin letter (``аррӏе`` → ``apple``)."""
    if text.isascii():
        return text
    return normalize("NFKC", text).lower().translate(_FOLD_CONFUSABLES)


def _script(char: str) -> str:
    return _char_name(char, "UNKNOWN").split(" ", 1)[0]


def mixed_script(label: str) -> bool:
    """A label that passes for Latin but is not: Latin mixed with Cyrillic / Greek / … letters
    (``pаypal`` with a Cyrillic а), or made only of non-Latin letters that all look Latin (``аррӏе``).
    A Chinese label, or Chinese with Latin, is not."""
    if label.isascii():
        return False
    letters = [c for c in label if c.isalpha()]
    scripts = {_script(c) for c in letters}
    if "LATIN" in scripts and scripts & _LOOKALIKE_SCRIPTS:
        return True
    return bool(letters) and scripts <= _LOOKALIKE_SCRIPTS and all(c in _CONFUSABLES for c in letters)


def _ascii_part(label: str) -> str:
    """The ASCII characters of a label (randomness and entropy are measured on these: a Chinese
    label is not random-looking)."""
    return label if label.isascii() else "".join(c for c in label if c.isascii())


def entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _randomness(label: str) -> float:
    """0–1: long consonant runs, few vowels and letter/digit switches look machine-made."""
    letters = [c for c in label if c.isalpha()]
    if len(label) < 6 or not letters:
        return 0.0
    vowel_share = sum(c in _VOWELS for c in letters) / len(letters)
    run = longest = 0
    for c in label:
        run = run + 1 if c.isalpha() and c not in _VOWELS else 0
        longest = max(longest, run)
    switches = sum(a.isdigit() != b.isdigit() for a, b in itertools.pairwise(label))
    score = (longest >= 5) * 0.4 + (vowel_share < 0.2) * 0.3 + min(switches, 4) * 0.075
    return float(min(score, 1.0))


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, giving up (returning ``limit + 1``) once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


@lru_cache(maxsize=1)
def _brand_bigrams() -> dict[str, frozenset[str]]:
    return {key: _bigrams(key) for key in BRANDS}


def _near(token: str, key: str, limit: int) -> bool:
    """Edit distance ≤ limit, with a cheap bigram filter first (one edit breaks at most two bigrams)."""
    if abs(len(token) - len(key)) > limit:
        return False
    shared = len(_bigrams(token) & _brand_bigrams()[key])
    if shared < len(key) - 1 - 2 * limit:
        return False
    return edit_distance(token, key, limit) <= limit


@lru_cache(maxsize=1)
def _official() -> frozenset[str]:
    return frozenset(d for domains in BRANDS.values() for d in domains)


def _is_official(registered: str, host: str) -> bool:
    official = _official()
    return registered in official or host in official or host.endswith(".gov.cn") or host == "gov.cn"


@lru_cache(maxsize=1)
def _brand_index() -> tuple[re.Pattern[str], frozenset[str], dict[str, list[str]]]:
    """Regex over the longer brand keys, the short keys, and bigram → keys for the edit-distance filter."""
    long_keys = sorted((k for k in BRANDS if len(k) >= 4), key=len, reverse=True)
    short = frozenset(k for k in BRANDS if len(k) < 4)  # jd, qq, boc …: whole tokens only
    index: dict[str, list[str]] = {}
    for key in long_keys:
        if key.isalpha() and len(key) >= 5:
            for gram in _bigrams(key):
                index.setdefault(gram, []).append(key)
    return re.compile("|".join(map(re.escape, long_keys))), short, index


def _lookalike_keys(token: str) -> list[str]:
    """Brand keys within edit distance 1 (2 for long keys) of ``token``."""
    _, _, index = _brand_index()
    shared: Counter[str] = Counter()
    for gram in _bigrams(token):
        shared.update(index.get(gram, ()))
    out = []
    for key, n in shared.items():
        limit = 1 if len(key) < 8 else 2
        if key != token and n >= len(key) - 1 - 2 * limit and _near(token, key, limit):
            out.append(key)
    return out


def brand_signals(p: ParsedUrl) -> tuple[dict[str, float], str | None]:
    """Brand impersonation signals and the brand they point to."""
    out = {"brand_in_domain": 0.0, "brand_lookalike": 0.0, "brand_in_subdomain": 0.0, "brand_in_path": 0.0}
    if _is_official(p.registered, p.host):
        return out, next((b for b, ds in BRANDS.items() if p.registered in ds), "gov")
    regex, short, _ = _brand_index()
    shown = unicode_label(p.label)
    label = fold_lookalikes(shown)  # аррӏе → apple; an ASCII label is left as it is
    tokens = [t for t in re.split(r"[-_.]", label) if t]
    found: dict[str, str] = {}
    in_label = [k for k in regex.findall(label) if k != label] + [t for t in tokens if t in short]
    if in_label:
        found["brand_in_domain"] = in_label[0]
    folded = label.translate(_HOMOGLYPHS).replace("rn", "m").replace("vv", "w")
    if folded in BRANDS and folded != shown:
        found["brand_lookalike"] = folded
    elif label in BRANDS and p.registered not in BRANDS[label]:
        found["brand_lookalike"] = label  # right name, wrong suffix: icbc.top, alipay.vip
    else:
        for token in {*tokens, folded}:
            near = _lookalike_keys(token) if len(token) >= 4 else []
            if near:
                found["brand_lookalike"] = near[0]
                break
    if p.subdomain:
        subdomain = fold_lookalikes(unicode_host(p.subdomain))
        sub = regex.findall(subdomain) + [t for t in subdomain.split(".") if t in short]
        if sub:
            found["brand_in_subdomain"] = sub[0]
    path_hit = regex.search(p.path)
    if path_hit:
        found["brand_in_path"] = path_hit.group(0)
    for name in found:
        out[name] = 1.0
    brand = next(iter(found.values()), None)
    return out, brand


def url_features(p: ParsedUrl) -> tuple[np.ndarray, str | None]:
    """The :data:`FEATURES` vector of one parsed URL and the brand it relates to (if any)."""
    ip = is_ip(p.host)
    brand, brand_key = brand_signals(p) if not ip else ({}, None)
    # lengths, hyphens, digits, randomness on what a person sees (中国银行.中国, not xn--fiqs8s856bruk…)
    host = unicode_host(p.host)
    label = unicode_label(p.label)
    plain = _ascii_part(fold_lookalikes(label))
    text = host + p.path + "?" + p.query
    values = {
        "url_length": math.log1p(len(p.url) - len(p.host) + len(host)),
        "host_length": math.log1p(len(host)),
        "host_dots": min(host.count("."), 6),
        "host_hyphens": min(host.count("-"), 5),
        "host_digit_ratio": sum(c.isdigit() for c in host) / max(len(host), 1),
        "host_entropy": entropy(plain) / 4.0,
        "label_random": _randomness(plain),
        "subdomain_depth": min(p.subdomain.count(".") + 1 if p.subdomain else 0, 6),
        "path_length": math.log1p(len(p.path)),
        "path_depth": min(p.path.count("/"), 8),
        "query_params": min(p.query.count("&") + 1 if p.query else 0, 8),
        "has_at": float("@" in p.url.split("://", 1)[-1]),
        "is_ip": float(ip),
        "punycode": float("xn--" in p.host),
        "suspicious_tld": float(p.tld.rsplit(".", 1)[-1] in SUSPICIOUS_TLDS),
        "shortener": float(p.host in SHORTENERS or p.registered in SHORTENERS),
        "nonstandard_port": float(p.port not in (None, 80, 443)),
        "https": float(p.scheme == "https"),
        "risky_words": float(min(sum(w in text for w in _WORDS), 4)),
        "official_brand": float(_is_official(p.registered, p.host)),
        "fake_gov": float(not ip and "gov" in re.split(r"[-.]", host) and not host.endswith("gov.cn")
                          and not p.tld.endswith(("gov.tw", "gov.hk", "gov.uk", "gov"))),
        "digits_in_label": float(any(c.isdigit() for c in label) and any(c.isalpha() for c in label)),
        "long_label": float(len(label) > 20),
        "mixed_script": float(mixed_script(label)),
    }  # fmt: skip
    values.update(brand)
    return np.array([values.get(f, 0.0) for f in FEATURES], dtype=float), brand_key


def feature_message(name: str) -> str:
    return _MESSAGES.get(name, name.replace("_", " "))
