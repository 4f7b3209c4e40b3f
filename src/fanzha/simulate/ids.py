"""Vectorised generators of realistic, *unique* identifiers.

Uniqueness without a lookup set: every identifier class draws consecutive integers from its own
counter and maps them through an affine bijection ``(a·i + b) mod 10^k`` (``a`` coprime with 10),
so numbers look random but never collide. Check digits are real (ID MOD 11-2, Luhn for bank cards
and IMEIs), so every value passes the foundation's normalisers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# county-level division codes (GB/T 2260) used as ID birthplaces: (code, province short name)
BIRTH_REGIONS = np.array(
    [
        510104,
        510105,
        510106,
        510107,
        510108,
        510112,
        510113,
        510114,
        510115,
        510116,
        510181,
        510182,
        510183,
        510184,
        511002,
        511102,
        511302,
        511402,
        511502,
        511602,
        510302,
        510402,
        510502,
        510603,
        510703,
        510802,
        510902,
        500101,
        500103,
        500105,
        500106,
        500112,
        530102,
        520102,
        610113,
        420106,
        430104,
        440106,
        440305,
        110105,
        310115,
        320102,
        330106,
        370102,
        410105,
        350203,
        450103,
        130102,
        210102,
        230103,
        360102,
        340104,
        620102,
        650102,
        140105,
        150102,
        220102,
        120101,
        460106,
        640104,
    ],
    dtype=np.int64,
)
# residence districts of the simulated city (成都) and their weights
CITY_REGIONS = np.array(
    [510104, 510105, 510106, 510107, 510108, 510112, 510113, 510114, 510115, 510116], dtype=np.int64
)
CITY_REGION_WEIGHTS = np.array([0.09, 0.09, 0.11, 0.14, 0.10, 0.11, 0.08, 0.10, 0.09, 0.09])

# mobile number prefixes by carrier (cmcc, cucc, ctcc, cbn, mvno)
CARRIER_PREFIXES: dict[str, tuple[int, ...]] = {
    "cmcc": (134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 182, 183, 187, 188, 198),
    "cucc": (130, 131, 132, 155, 156, 166, 175, 176, 185, 186),
    "ctcc": (133, 149, 153, 173, 177, 180, 181, 189, 191, 199),
    "cbn": (192,),
    "mvno": (162, 165, 167, 170, 171),
}
CARRIER_NAMES = ("cmcc", "cucc", "ctcc", "cbn", "mvno")
CARRIER_ZH = {"cmcc": "移动", "cucc": "联通", "ctcc": "电信", "cbn": "广电", "mvno": "虚商"}

# banks: (name, 6-digit BIN of a debit card)
BANKS = (
    ("中国工商银行", 622202),
    ("中国建设银行", 621700),
    ("中国农业银行", 622848),
    ("中国银行", 621661),
    ("交通银行", 622260),
    ("招商银行", 621483),
    ("中国邮政储蓄银行", 621799),
    ("兴业银行", 622909),
    ("成都农商银行", 623190),
    ("成都银行", 622368),
)
BANK_WEIGHTS = np.array([0.2, 0.17, 0.15, 0.1, 0.07, 0.08, 0.09, 0.05, 0.05, 0.04])

# handset type allocation codes (TAC, 8 digits) with brand/model
HANDSETS = (
    (86123405, "华为", "Mate 60"),
    (86498104, "华为", "nova 11"),
    (86807206, "小米", "Redmi K70"),
    (86921505, "小米", "14"),
    (35391811, "苹果", "iPhone 14"),
    (35847712, "苹果", "iPhone 15"),
    (86712303, "OPPO", "Reno 11"),
    (86033506, "vivo", "X100"),
    (86554107, "荣耀", "Magic 6"),
    (86290904, "realme", "GT5"),
)
SIMFARM_DEVICES = (
    (86200001, "GoIP", "GoIP-32"),
    (86200002, "SK", "SK-128 猫池"),
    (86200003, "DBL", "GoIP-16"),
)

SURNAMES = np.array(
    list(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    )
)
GIVEN = np.array(
    list(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯婷雪琳欣怡晨阳思雨子涵梓轩浩然一诺佳豪俊杰"
    )
)

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.array(list("10X98765432"))
_AFFINE_A = 73_939_133  # odd, not a multiple of 5: a bijection modulo any power of ten


class Counter:
    """Consecutive integers per identifier class (disjoint ranges → unique identifiers)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, name: str, n: int) -> np.ndarray:
        start = self._next.get(name, 0)
        self._next[name] = start + n
        return np.arange(start, start + n, dtype=np.int64)


def scramble(i: np.ndarray, modulus: int, offset: int = 12_345_677) -> np.ndarray:
    """Bijective, random-looking map of ``i`` (< modulus, a power of ten) onto 0 … modulus-1."""
    return (i.astype(np.int64) % modulus * (_AFFINE_A % modulus) + offset) % modulus


def digits_of(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) digit matrix of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


def luhn_check(values: np.ndarray, width: int) -> np.ndarray:
    """Luhn check digit for integers of ``width`` digits (the payload without check digit)."""
    d = digits_of(values, width)[:, ::-1]  # rightmost payload digit gets doubled
    doubled = d[:, 0::2] * 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    total = doubled.sum(axis=1) + d[:, 1::2].sum(axis=1)
    return (10 - total % 10) % 10


def to_str(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, type=pa.int64()), pa.string())


def id_numbers(
    region: np.ndarray, birth_yyyymmdd: np.ndarray, seq3: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """18-character resident ID numbers (region + birth date + sequence + MOD 11-2 check).

    Sequence numbers that collide are redrawn (keeping their parity, which encodes the gender),
    so every number is unique.
    """
    seq3 = seq3.astype(np.int64).copy()
    base = region.astype(np.int64) * 10**11 + birth_yyyymmdd.astype(np.int64) * 1000
    while True:
        first17 = base + seq3
        order = np.argsort(first17, kind="stable")
        dup = np.zeros(len(first17), dtype=bool)
        dup[order[1:]] = first17[order[1:]] == first17[order[:-1]]
        if not dup.any():
            break
        seq3[dup] = rng.integers(0, 500, size=int(dup.sum())) * 2 + seq3[dup] % 2
    check = _ID_CHECK[(digits_of(first17, 17) * _ID_WEIGHTS).sum(axis=1) % 11]
    return pc.binary_join_element_wise(to_str(first17), pa.array(check), "")


def mobiles(counter: Counter, rng: np.random.Generator, carriers: np.ndarray) -> np.ndarray:
    """Unique 11-digit mobile numbers (int64) for carrier indices into CARRIER_NAMES."""
    idx = counter.take("mobile", len(carriers))
    prefix = np.empty(len(carriers), dtype=np.int64)
    for c, name in enumerate(CARRIER_NAMES):
        mask = carriers == c
        options = np.array(CARRIER_PREFIXES[name], dtype=np.int64)
        prefix[mask] = options[rng.integers(len(options), size=int(mask.sum()))]
    return prefix * 10**8 + scramble(idx, 10**8)


def bank_cards(counter: Counter, banks: np.ndarray) -> np.ndarray:
    """Unique 16-digit debit card numbers (int64): BIN of the bank + 9 digits + Luhn."""
    idx = counter.take("card", len(banks))
    bins = np.array([b for _n, b in BANKS], dtype=np.int64)[banks]
    payload = bins * 10**9 + scramble(idx, 10**9, offset=987_654_321)
    return payload * 10 + luhn_check(payload, 15)


def imeis(
    counter: Counter, models: np.ndarray, tacs: tuple[tuple[int, str, str], ...], name: str
) -> np.ndarray:
    """Unique 15-digit IMEIs (int64) with the model's TAC and a valid Luhn digit."""
    idx = np.zeros(len(models), dtype=np.int64)
    for m in np.unique(models).tolist():  # one counter per TAC: serials never repeat within a TAC
        mask = models == m
        idx[mask] = counter.take(f"{name}:{m}", int(mask.sum()))
    tac = np.array([t for t, _b, _m in tacs], dtype=np.int64)[models]
    payload = tac * 10**6 + scramble(idx, 10**6, offset=424_243)
    return payload * 10 + luhn_check(payload, 14)


def chinese_names(rng: np.random.Generator, n: int) -> pa.Array:
    """Two- or three-character Chinese names."""
    sur = pa.array(SURNAMES[rng.integers(len(SURNAMES), size=n)])
    g1 = pa.array(GIVEN[rng.integers(len(GIVEN), size=n)])
    g2 = GIVEN[rng.integers(len(GIVEN), size=n)]
    g2 = pa.array(np.where(rng.random(n) < 0.7, g2, ""))
    return pc.binary_join_element_wise(sur, g1, g2, "")


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def tron_wallets(rng: np.random.Generator, n: int) -> list[str]:
    """TRON (USDT-TRC20) addresses: ``T`` + 33 base58 characters."""
    chars = rng.integers(len(_B58), size=(n, 33))
    return ["T" + "".join(_B58[c] for c in row) for row in chars]


def base36(values: np.ndarray, width: int) -> pa.Array:
    """Fixed-width lower-case base-36 strings of non-negative integers (app account ids)."""
    alphabet = np.array(list("0123456789abcdefghijklmnopqrstuvwxyz"))
    cols = [alphabet[(values // 36**k) % 36] for k in range(width - 1, -1, -1)]
    return pc.binary_join_element_wise(*[pa.array(c) for c in cols], "")
