"""The city's population, their phone cards, handsets, bank accounts and app accounts.

Everything is held as numpy arrays (one slot per person) so that 1,000,000 people fit in a few
hundred MB and the daily traffic generator can index them without Python loops. Legitimate hubs
(bank and courier service numbers, payment platforms' pooled accounts, utilities, popular domains)
live here too: they are the high-degree identifiers a fraud detector must not confuse with fraud.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.simulate import ids

DAY = 86_400
EDUCATION = ("primary", "junior", "senior", "vocational", "bachelor", "master", "doctor", "unknown")
# occupation code → (Chinese label, victim-profile traits)
OCCUPATIONS: tuple[tuple[str, str], ...] = (
    ("学生", "student"),
    ("公司职员", "worker"),
    ("工人", "worker"),
    ("个体工商户", "merchant business_owner"),
    ("企业主", "business_owner"),
    ("财务人员", "finance_clerk worker"),
    ("教师", "worker"),
    ("公务员", "worker"),
    ("医生", "worker"),
    ("快递员", "courier worker"),
    ("外卖骑手", "courier worker"),
    ("家庭主妇", "homemaker"),
    ("无业", "unemployed"),
    ("退休", "retired"),
    ("农民", "worker"),
    ("学龄前儿童", "child"),
)
OCC = {label: i for i, (label, _t) in enumerate(OCCUPATIONS)}
DISTRICT_ZH = dict(
    zip(
        ids.CITY_REGIONS.tolist(),
        ("锦江", "青羊", "金牛", "武侯", "成华", "龙泉驿", "青白江", "新都", "温江", "双流"),
        strict=True,
    )
)
MARITAL = ("single", "married", "divorced", "widowed")
# legitimate service numbers (hub_legit): bank, courier, payment and carrier customer service
SERVICE_NUMBERS = {
    "95588": "工商银行客服",
    "95533": "建设银行客服",
    "95599": "农业银行客服",
    "95566": "中国银行客服",
    "95559": "交通银行客服",
    "95555": "招商银行客服",
    "95580": "邮储银行客服",
    "95338": "顺丰客服",
    "95311": "中通客服",
    "95554": "圆通客服",
    "95546": "韵达客服",
    "95188": "支付宝客服",
    "95017": "财付通客服",
    "10086": "中国移动客服",
    "10010": "中国联通客服",
    "10000": "中国电信客服",
}
SMS_SENDERS = {
    "10690588": "bank",
    "10690533": "bank",
    "10695338": "courier",
    "10691888": "platform",
    "10698000": "platform",
    "10690110": "antifraud",
}
POPULAR_DOMAINS = (
    "www.taobao.com",
    "www.jd.com",
    "weixin.qq.com",
    "www.douyin.com",
    "www.pinduoduo.com",
    "www.meituan.com",
    "www.12306.cn",
    "www.baidu.com",
    "www.alipay.com",
    "www.chengdu.gov.cn",
    "www.sf-express.com",
    "www.icbc.com.cn",
)
PLATFORMS = ("wechat", "qq", "douyin", "taobao", "xianyu", "game")


@dataclass
class Population:
    n: int
    id_number: pa.Array
    name: pa.Array
    birth: np.ndarray  # datetime64[D]
    age: np.ndarray
    male: np.ndarray  # bool
    region: np.ndarray  # residence district code
    occupation: np.ndarray  # index into OCCUPATIONS
    education: np.ndarray  # index into EDUCATION
    marital: np.ndarray  # index into MARITAL
    household: np.ndarray
    phone: np.ndarray  # int64 primary mobile, 0 = none
    carrier: np.ndarray
    imei: np.ndarray  # int64 handset, 0 = none
    account: np.ndarray  # int64 main bank card, 0 = none
    bank: np.ndarray  # bank index of the main card
    employer: np.ndarray  # index into employer accounts, -1 = none
    activity: np.ndarray  # relative calling activity
    family_contact: np.ndarray  # int64 phone of a relative (elderly), 0 = none
    friend_offsets: np.ndarray  # shared offsets: friends of i are (i + offsets[…]) mod n
    extra_accounts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    extra_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    extra_bank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    employers: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    employer_bank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    merchants: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # merchant accounts
    merchant_owner: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    pooled: dict[str, int] = field(default_factory=dict)  # platform/utility name → account
    gold_shops: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    otc_merchants: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def traits(self) -> dict[str, np.ndarray]:
        """Boolean masks for the victim-profile traits named in the typology library."""
        names: tuple[str, ...] = ("student", "worker", "merchant", "business_owner", "finance_clerk")
        names += ("courier", "homemaker", "unemployed", "retired")
        out = {t: np.array([t in tr.split() for _l, tr in OCCUPATIONS])[self.occupation] for t in names}
        out["elderly"] = self.age >= 60
        out["minor"] = self.age < 18
        out["single"] = self.marital == 0
        out["divorced"] = self.marital >= 2
        return out


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    # coarse 2020-census pyramid: 0–14 17 %, 15–24 11 %, 25–59 52 %, 60–89 20 %
    bands = np.array([[1, 14], [15, 24], [25, 59], [60, 89]])
    band = rng.choice(4, size=n, p=[0.17, 0.11, 0.52, 0.20])
    return rng.integers(bands[band, 0], bands[band, 1] + 1)


def _occupation(rng: np.random.Generator, age: np.ndarray, male: np.ndarray) -> np.ndarray:
    n = len(age)
    labels = [label for label, _t in OCCUPATIONS]
    adult_pool = labels[1:15]
    adult_p = np.array([0.22, 0.14, 0.08, 0.02, 0.03, 0.04, 0.04, 0.02, 0.02, 0.02, 0.07, 0.06, 0.0, 0.24])
    adult_p = adult_p / adult_p.sum()
    occ = np.array([OCC[x] for x in adult_pool])[rng.choice(len(adult_pool), size=n, p=adult_p)]
    occ = np.where(age < 6, OCC["学龄前儿童"], occ)
    occ = np.where((age >= 6) & (age < 18), OCC["学生"], occ)
    student_young = (age >= 18) & (age <= 23) & (rng.random(n) < 0.55)
    occ = np.where(student_young, OCC["学生"], occ)
    occ = np.where((age >= 60) & (rng.random(n) < 0.85), OCC["退休"], occ)
    homemaker = (occ == OCC["家庭主妇"]) & male
    occ = np.where(homemaker, OCC["公司职员"], occ)  # mostly women are recorded as 家庭主妇
    return occ


def _education(rng: np.random.Generator, age: np.ndarray, occ: np.ndarray) -> np.ndarray:
    n = len(age)
    edu = rng.choice(8, size=n, p=[0.12, 0.30, 0.17, 0.12, 0.20, 0.05, 0.01, 0.03])
    edu = np.where(age < 12, 0, edu)
    edu = np.where((age >= 12) & (age < 15), 1, edu)
    edu = np.where((age >= 15) & (age < 18), np.where(rng.random(n) < 0.6, 2, 3), edu)
    edu = np.where((occ == OCC["学生"]) & (age >= 18), 4, edu)
    return edu


def build_population(
    rng: np.random.Generator, n: int, start: np.datetime64, counter: ids.Counter
) -> Population:
    """Draw ``n`` people with consistent ID numbers, phones, handsets and bank accounts."""
    age = _ages(rng, n)
    start_day = start.astype("datetime64[D]")
    birth = start_day - (age * 365.25).astype(np.int64) - rng.integers(0, 365, size=n)
    birth = birth.astype("datetime64[D]")
    age = ((start_day - birth).astype(np.int64) // 365.25).astype(np.int64)
    male = rng.random(n) < 0.51
    seq = rng.integers(0, 500, size=n) * 2 + male.astype(np.int64)  # 17th digit odd = male
    ymd = birth.astype(object)
    yyyymmdd = np.array([d.year * 10000 + d.month * 100 + d.day for d in ymd], dtype=np.int64)
    local_born = rng.random(n) < 0.55
    birth_region = np.where(
        local_born,
        ids.BIRTH_REGIONS[rng.integers(0, 27, size=n)],  # Sichuan / Chengdu codes first
        ids.BIRTH_REGIONS[rng.integers(0, len(ids.BIRTH_REGIONS), size=n)],
    )
    id_number = ids.id_numbers(birth_region, yyyymmdd, seq, rng)
    region = ids.CITY_REGIONS[rng.choice(len(ids.CITY_REGIONS), size=n, p=ids.CITY_REGION_WEIGHTS)]
    occ = _occupation(rng, age, male)
    edu = _education(rng, age, occ)
    marital = np.where(age < 24, 0, rng.choice(4, size=n, p=[0.18, 0.70, 0.07, 0.05]))
    marital = np.where((age >= 70) & (rng.random(n) < 0.3), 3, marital)
    # households of 1–5 consecutive people (so family members are index neighbours)
    sizes = rng.choice([1, 2, 3, 4, 5], size=n // 2 + 2, p=[0.25, 0.3, 0.25, 0.13, 0.07])
    household = np.repeat(np.arange(len(sizes)), sizes)[:n]

    has_phone = (age >= 12) & ((age >= 18) | (rng.random(n) < 0.6))
    carrier = rng.choice(3, size=n, p=[0.58, 0.2, 0.22])
    phone = np.where(has_phone, ids.mobiles(counter, rng, carrier), 0)
    model = rng.integers(len(ids.HANDSETS), size=n)
    imei = np.where(has_phone, ids.imeis(counter, model, ids.HANDSETS, "handset"), 0)
    has_account = age >= 16
    bank = rng.choice(len(ids.BANKS), size=n, p=ids.BANK_WEIGHTS)
    account = np.where(has_account, ids.bank_cards(counter, bank), 0)
    activity = rng.lognormal(0.0, 0.6, size=n) * np.where(age >= 65, 0.6, 1.0) * has_phone
    # 亲情号码: the elderly register a younger relative of the household or a neighbour
    elderly = age >= 60
    relative = np.clip(np.arange(n) + rng.choice([-2, -1, 1, 2], size=n), 0, n - 1)
    family_contact = np.where(elderly & (rng.random(n) < 0.7), phone[relative], 0)
    n_emp = max(3, n // 60)
    workerish = np.isin(
        occ,
        [OCC[x] for x in ("公司职员", "工人", "财务人员", "教师", "公务员", "医生", "快递员", "外卖骑手")],
    )
    employer = np.where(workerish, rng.integers(n_emp, size=n), -1)
    pop = Population(
        n=n,
        id_number=id_number,
        name=ids.chinese_names(rng, n),
        birth=birth,
        age=age,
        male=male,
        region=region,
        occupation=occ,
        education=edu,
        marital=marital,
        household=household,
        phone=phone,
        carrier=carrier,
        imei=imei,
        account=account,
        bank=bank,
        employer=employer,
        activity=activity,
        family_contact=family_contact,
        friend_offsets=rng.integers(3, max(4, min(n - 1, 5000)), size=64),
    )
    _extra_accounts(rng, pop, counter, n_emp)
    return pop


def _extra_accounts(rng: np.random.Generator, pop: Population, counter: ids.Counter, n_emp: int) -> None:
    adults = np.flatnonzero(pop.account > 0)
    k = rng.choice([0, 1, 2], size=len(adults), p=[0.35, 0.45, 0.2])
    owners = np.repeat(adults, k)
    banks = (pop.bank[owners] + rng.integers(1, len(ids.BANKS), size=len(owners))) % len(ids.BANKS)
    pop.extra_accounts = ids.bank_cards(counter, banks)
    pop.extra_owner, pop.extra_bank = owners, banks
    pop.employer_bank = rng.choice(len(ids.BANKS), size=n_emp, p=ids.BANK_WEIGHTS)
    pop.employers = corporate_accounts(counter, n_emp)
    merchant_people = np.flatnonzero(pop.occupation == OCC["个体工商户"])
    if len(merchant_people) == 0:
        merchant_people = np.arange(min(3, pop.n))
    pop.merchant_owner = merchant_people
    pop.merchants = corporate_accounts(counter, len(merchant_people))
    names: tuple[str, ...] = ("alipay_pool", "tenpay_pool", "unionpay_pool", "state_grid", "water", "gas")
    names += (
        "telecom_bill",
        "consumer_credit",
    )  # credit apps (花呗/借呗-like): victims borrow here before paying
    pool = corporate_accounts(counter, len(names))
    pop.pooled = dict(zip(names, pool.tolist(), strict=True))
    pop.gold_shops = corporate_accounts(counter, max(2, pop.n // 50_000 + 2))
    pop.otc_merchants = corporate_accounts(counter, max(3, pop.n // 20_000 + 3))


def corporate_accounts(counter: ids.Counter, n: int) -> np.ndarray:
    """19-digit corporate / merchant settlement account numbers (unique)."""
    idx = counter.take("corporate", n)
    return 4_402_000_000_000_000_000 + ids.scramble(idx, 10**12, offset=55_555)


def ts_us(seconds: np.ndarray) -> pa.Array:
    """int64 epoch seconds → timestamp[us, UTC]."""
    return pa.array(np.asarray(seconds, dtype=np.int64) * 1_000_000, type=pa.timestamp("us", tz="UTC"))


def people_table(pop: Population, lo: int, hi: int) -> pa.Table:
    sl = slice(lo, hi)
    occ_labels = pa.array([label for label, _t in OCCUPATIONS])
    fam = pop.family_contact[sl]
    return pa.table(
        {
            "id_number": pop.id_number[lo:hi],
            "name": pop.name[lo:hi],
            "gender": pa.array(np.where(pop.male[sl], "m", "f")),
            "birth_date": pa.array(pop.birth[sl]),
            "education": pa.array(np.array(EDUCATION)[pop.education[sl]]),
            "occupation": occ_labels.take(pa.array(pop.occupation[sl])),
            "region": ids.to_str(pop.region[sl]),
            "is_student": pa.array(pop.occupation[sl] == OCC["学生"]),
            "family_contact": pc.if_else(pa.array(fam > 0), ids.to_str(fam), pa.scalar(None, pa.string())),
        }
    )
