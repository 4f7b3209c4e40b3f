"""Self-made URL corpus for the default URL model: legitimate URLs of well-known sites and scam URLs
built the way scammers build them (brand look-alikes on cheap TLDs, random names, IP hosts,
shorteners, brand names in sub-domains and paths, gambling and investment site names).

Internationalised domain names (中文域名) on both sides: Chinese-named banks, companies, media and
government sites under .中国 / .公司 / .网络 / .政务 / .com / .cn as legitimate, homograph phishing
(the known brands spelled with Cyrillic / Greek look-alike letters) and Chinese-named customer-service,
refund and gambling sites on cheap TLDs as scams.
"""

from __future__ import annotations

import string

import numpy as np
import pandas as pd

from fanzha.texts.urllex import _CONFUSABLES, BRANDS, SHORTENERS, SUSPICIOUS_TLDS

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


# ------------------------------------------------------------------- IDNs (中文域名)
_IDN_ORGS = [
    "中国银行", "工商银行", "中国工商银行", "建设银行", "农业银行", "招商银行", "交通银行", "邮储银行",
    "中信银行", "光大银行", "民生银行", "兴业银行", "平安银行", "浦发银行", "华夏银行", "北京银行",
    "上海银行", "中国移动", "中国联通", "中国电信", "中国邮政", "中国石化", "中国石油", "国家电网",
    "中国平安", "中国人寿", "淘宝", "天猫", "京东", "百度", "腾讯", "阿里巴巴", "新浪", "网易", "搜狐",
    "人民网", "新华网", "央视网", "中国日报", "光明网", "北京大学", "清华大学", "复旦大学", "浙江大学",
    "中国国际航空", "东方航空", "南方航空", "中国铁路", "顺丰速运", "中国知网", "华为", "小米", "联想",
]  # fmt: skip
_IDN_SUFFIXES = ["中国", "中国", "公司", "网络", "com", "cn", "com", "cn"]
_IDN_PLACES = [
    "北京", "上海", "天津", "重庆", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "苏州", "郑州",
    "长沙", "青岛", "厦门", "宁波", "合肥", "福州", "济南", "昆明", "沈阳", "大连", "南宁", "贵阳", "兰州",
    "海口", "太原", "浙江", "江苏", "广东", "四川", "湖北", "山东", "河南", "福建", "云南", "江西",
]  # fmt: skip
_IDN_GOV = ["人民政府", "市人民政府", "公安局", "税务局", "市场监督管理局", "人力资源和社会保障局", "政务服务网",
            "卫生健康委员会", "教育局", "医疗保障局", "住房公积金管理中心", "发展和改革委员会", "统计局"]  # fmt: skip
_IDN_NAMES = ["华信", "东方", "恒达", "金桥", "新锐", "联创", "宏远", "天成", "中联", "博雅", "云帆", "瑞丰",
              "安和", "嘉禾", "鼎盛", "启明", "星河", "立信", "海纳", "长青"]  # fmt: skip
_IDN_TRADES = [
    "科技",
    "贸易",
    "物流",
    "餐饮",
    "文化",
    "教育",
    "建筑",
    "医药",
    "传媒",
    "电子",
    "律师事务所",
    "酒店",
]
_IDN_SCAM_WORDS = ["客服", "退款", "理赔", "贷款", "额度", "刷单", "兼职", "积分兑换", "安全中心", "验证",
                   "冻结解除", "征信修复", "中奖", "补贴", "投资理财", "返利"]  # fmt: skip
_IDN_GAMBLE = ["娱乐城", "棋牌", "彩票", "博彩", "百家乐", "真人娱乐", "体育投注", "澳门赌场", "捕鱼"]
# Latin letter → the Cyrillic / Greek letters that pass for it (from urllex's folding table)
_LOOKALIKE_OF: dict[str, list[str]] = {}
for _u, _latin in _CONFUSABLES.items():
    _LOOKALIKE_OF.setdefault(_latin, []).append(_u)


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _legit_idn(rng: np.random.Generator) -> str:
    kind = int(rng.integers(3))
    if kind == 0:  # an organisation's Chinese name
        host = f"{_pick(rng, _IDN_ORGS)}.{_pick(rng, _IDN_SUFFIXES)}"
    elif kind == 1:  # government (政务) domains
        host = f"{_pick(rng, _IDN_PLACES)}{_pick(rng, _IDN_GOV)}.政务"
        if rng.random() < 0.15:
            host = "中国政府网.政务"
    else:  # ordinary companies
        name = (
            _pick(rng, _IDN_PLACES) * (rng.random() < 0.5) + _pick(rng, _IDN_NAMES) + _pick(rng, _IDN_TRADES)
        )
        host = f"{name}.{_pick(rng, ['公司', '公司', '中国', '网络', 'com', 'cn'])}"
    if rng.random() < 0.3:
        host = "www." + host
    scheme = "https://" if rng.random() < 0.7 else "http://"
    return scheme + host + _fill(_pick(rng, _LEGIT_PATHS), rng)


def _homograph(rng: np.random.Generator, brand: str) -> str:
    """The brand with some (or all) letters swapped for Cyrillic / Greek look-alikes."""
    spots = [i for i, c in enumerate(brand) if c in _LOOKALIKE_OF]
    chars = list(brand)
    if not spots:
        return brand
    k = len(spots) if rng.random() < 0.4 else int(rng.integers(1, len(spots) + 1))
    for i in rng.choice(spots, size=k, replace=False):
        chars[int(i)] = _pick(rng, _LOOKALIKE_OF[brand[int(i)]])
    return "".join(chars)


def _scam_idn(rng: np.random.Generator) -> str:
    tlds = [*sorted(SUSPICIOUS_TLDS), "com", "com", "cn", "net", "cc"]
    kind = int(rng.integers(5))
    if kind <= 2:  # homograph phishing: аррӏе.com, pаypal-verify.top
        brands = [b for b in BRANDS if b.isalpha() and len(b) >= 3]
        fake = _homograph(rng, _pick(rng, brands))
        if kind == 2:
            fake += _pick(rng, ["-", ""]) + _pick(rng, _SCAM_WORDS)
        host = f"{fake}.{_pick(rng, ['com', 'com', 'com', 'cn', 'net', *sorted(SUSPICIOUS_TLDS)])}"
    elif kind == 3:  # a Chinese brand name with a customer-service / refund word on a cheap TLD
        host = f"{_pick(rng, _IDN_ORGS)}{_pick(rng, _IDN_SCAM_WORDS)}.{_pick(rng, sorted(SUSPICIOUS_TLDS))}"
    else:  # Chinese-named gambling sites
        host = f"{_pick(rng, _IDN_GAMBLE)}{int(rng.integers(1, 9999))}.{_pick(rng, tlds)}"
    if rng.random() < 0.2:
        host = _pick(rng, ["m.", "www.", "h5.", "app."]) + host
    scheme = "https://" if rng.random() < 0.4 else "http://"
    return scheme + host + _fill(_pick(rng, _SCAM_PATHS), rng)


def generate_url_corpus(seed: int = 20240601, n: int = 3000) -> pd.DataFrame:
    """``url, label`` rows: ``n`` legitimate (label 0) and ``n`` scam-like (label 1) URLs, then ``n // 10``
    of each side written as internationalised domain names (their own random stream, same seed)."""
    rng = np.random.default_rng(seed)
    rows = [(_legit(rng), 0) for _ in range(n)] + [(_scam(rng), 1) for _ in range(n)]
    idn = np.random.default_rng([seed, 1])
    rows += [(_legit_idn(idn), 0) for _ in range(n // 10)] + [(_scam_idn(idn), 1) for _ in range(n // 10)]
    return pd.DataFrame(rows, columns=["url", "label"]).drop_duplicates("url").reset_index(drop=True)
