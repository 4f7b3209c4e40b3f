"""Self-made URL corpus for the default URL model: legitimate URLs of well-known sites and scam URLs
built the way scammers build them (brand look-alikes on cheap TLDs, random names, IP hosts,
shorteners, brand names in sub-domains and paths, gambling and investment site names).
"""

from __future__ import annotations

import string

import numpy as np
import pandas as pd

from fanzha.texts.urllex import BRANDS, SHORTENERS, SUSPICIOUS_TLDS

LEGIT_SITES = [
    "baidu.com",
    "sina.com.cn",
    "163.com",
    "sohu.com",
    "qq.com",
    "zhihu.com",
    "bilibili.com",
    "weibo.com",
    "douban.com",
    "ifeng.com",
    "people.com.cn",
    "xinhuanet.com",
    "cctv.com",
    "gov.cn",
    "chinanews.com.cn",
    "csdn.net",
    "github.com",
    "gitee.com",
    "aliyun.com",
    "tencent.com",
    "huawei.com",
    "mi.com",
    "vivo.com.cn",
    "oppo.com",
    "lenovo.com.cn",
    "ctrip.com",
    "12306.cn",
    "ele.me",
    "dianping.com",
    "meituan.com",
    "jd.com",
    "taobao.com",
    "tmall.com",
    "suning.com",
    "vip.com",
    "kuaishou.com",
    "douyin.com",
    "toutiao.com",
    "xiaohongshu.com",
    "autohome.com.cn",
    "58.com",
    "ganji.com",
    "lianjia.com",
    "anjuke.com",
    "zhaopin.com",
    "51job.com",
    "youku.com",
    "iqiyi.com",
    "wikipedia.org",
    "python.org",
    "microsoft.com",
    "apple.com",
    "google.com",
    "amazon.com",
    "nytimes.com",
    "bbc.co.uk",
    "reuters.com",
    "stackoverflow.com",
    "mozilla.org",
    "w3.org",
    "cnn.com",
    "yahoo.com",
    "linkedin.com",
    "netflix.com",
    "paypal.com",
    "ebay.com",
    "pku.edu.cn",
    "tsinghua.edu.cn",
    "fudan.edu.cn",
    "zju.edu.cn",
    "sjtu.edu.cn",
    "moe.gov.cn",
    "mps.gov.cn",
    "chinatax.gov.cn",
    "beijing.gov.cn",
    "shanghai.gov.cn",
    "nhc.gov.cn",
    "pbc.gov.cn",
    "cbirc.gov.cn",
    "court.gov.cn",
    "spp.gov.cn",
]
_LEGIT_SUB = [
    "www",
    "www",
    "m",
    "news",
    "mail",
    "pay",
    "help",
    "service",
    "passport",
    "",
    "",
    "static",
    "open",
]
_LEGIT_PATHS = [
    "/",
    "/index.html",
    "/news/2024/{n}.html",
    "/article/{n}",
    "/search?q={w}",
    "/help/{w}",
    "/product/{n}.html",
    "/u/{n}",
    "/about",
    "/s?wd={w}",
    "/video/BV{r}",
    "/item/{n}.html",
]
_SCAM_WORDS = [
    "vip",
    "kefu",
    "secure",
    "login",
    "verify",
    "app",
    "pay",
    "service",
    "95588",
    "online",
    "gov",
    "cn",
    "tk",
    "hk",
    "yz",
    "zx",
    "cs",
    "safe",
    "user",
    "center",
    "refund",
    "tuikuan",
    "licai",
    "touzi",
]
_SCAM_PATHS = [
    "/",
    "/login",
    "/index.php",
    "/h5/#/register?code={r}",
    "/download.html",
    "/m/index.html",
    "/verify?id={n}",
    "/pay/{r}",
    "/app.apk",
    "/#/pages/login",
    "/kefu",
    "/?invite={r}",
]
_GAMBLE = [
    "bet",
    "casino",
    "yule",
    "dubo",
    "baijiale",
    "caipiao",
    "amcp",
    "hg",
    "ag",
    "bbin",
    "pj",
    "xpj",
    "jinsha",
    "weinisi",
    "yongli",
    "huangguan",
    "ky",
    "qipai",
    "sports",
]
_INVEST = [
    "coin",
    "usdt",
    "ex",
    "finance",
    "crypto",
    "trade",
    "gold",
    "fx",
    "licai",
    "capital",
    "invest",
    "wealth",
]
_HOMO = {"o": "0", "l": "1", "i": "1", "e": "3", "a": "4", "s": "5", "b": "8", "g": "9", "m": "rn"}


def _rand(rng: np.random.Generator, chars: str, low: int, high: int) -> str:
    return "".join(rng.choice(list(chars), int(rng.integers(low, high + 1))))


def _fill(path: str, rng: np.random.Generator) -> str:
    return (
        path.replace("{n}", str(rng.integers(1000, 9_999_999)))
        .replace("{w}", _rand(rng, string.ascii_lowercase, 3, 8))
        .replace("{r}", _rand(rng, string.ascii_letters + string.digits, 5, 10))
    )


def _legit(rng: np.random.Generator) -> str:
    site = LEGIT_SITES[int(rng.integers(len(LEGIT_SITES)))]
    sub = _LEGIT_SUB[int(rng.integers(len(_LEGIT_SUB)))]
    host = f"{sub}.{site}" if sub else site
    scheme = "https://" if rng.random() < 0.8 else "http://"
    return scheme + host + _fill(_LEGIT_PATHS[int(rng.integers(len(_LEGIT_PATHS)))], rng)


def _scam(rng: np.random.Generator) -> str:
    tlds = [*sorted(SUSPICIOUS_TLDS), "com", "cn", "net", "cc", "com.cn"]
    tld = tlds[int(rng.integers(len(tlds)))]
    brands = list(BRANDS)
    brand = brands[int(rng.integers(len(brands)))]
    word = _SCAM_WORDS[int(rng.integers(len(_SCAM_WORDS)))]
    kind = int(rng.integers(9))
    if kind == 0:
        host = f"{brand}-{word}.{tld}" if rng.random() < 0.5 else f"{brand}{word}.{tld}"
    elif kind == 1:
        chars = list(brand)
        spots = [i for i, c in enumerate(chars) if c in _HOMO]
        if spots:
            i = spots[int(rng.integers(len(spots)))]
            chars[i] = _HOMO[chars[i]]
        host = "".join(chars) + "." + tld
    elif kind == 2:
        host = f"{brand}.com.{_rand(rng, string.ascii_lowercase, 4, 8)}.{tld}"
    elif kind == 3:
        host = _rand(rng, string.ascii_lowercase + string.digits, 5, 12) + "." + tld
    elif kind == 4:
        host = ".".join(str(int(rng.integers(1, 255))) for _ in range(4))
        if rng.random() < 0.5:
            host += f":{int(rng.choice([8080, 8888, 8000, 9999, 6666]))}"
    elif kind == 5:
        short = sorted(SHORTENERS)[int(rng.integers(len(SHORTENERS)))]
        return f"http://{short}/{_rand(rng, string.ascii_letters + string.digits, 4, 8)}"
    elif kind == 6:
        g = _GAMBLE[int(rng.integers(len(_GAMBLE)))]
        host = (
            f"{rng.integers(100, 99999)}{g}.{tld}"
            if rng.random() < 0.5
            else f"www.{g}{rng.integers(10, 9999)}.{tld}"
        )
    elif kind == 7:
        inv = _INVEST[int(rng.integers(len(_INVEST)))]
        host = f"{_rand(rng, string.ascii_lowercase, 2, 5)}{inv}.{tld}"
    else:
        host = f"{_rand(rng, string.ascii_lowercase, 4, 9)}.{tld}"
        return f"http://{host}/{brand}/{word}{_fill(_SCAM_PATHS[int(rng.integers(len(_SCAM_PATHS)))], rng)}"
    if rng.random() < 0.3 and kind != 4:
        host = ["m.", "www.", "h5.", "app.", "wap."][int(rng.integers(5))] + host
    scheme = "https://" if rng.random() < 0.4 else "http://"
    return scheme + host + _fill(_SCAM_PATHS[int(rng.integers(len(_SCAM_PATHS)))], rng)


def generate_url_corpus(seed: int = 20240601, n: int = 3000) -> pd.DataFrame:
    """``url, label`` rows: ``n`` legitimate (label 0) and ``n`` scam-like (label 1) URLs."""
    rng = np.random.default_rng(seed)
    rows = [(_legit(rng), 0) for _ in range(n)] + [(_scam(rng), 1) for _ in range(n)]
    return pd.DataFrame(rows, columns=["url", "label"]).drop_duplicates("url").reset_index(drop=True)
