"""Registration records of the ordinary population: phone cards, handsets, bank and app accounts, URLs.

Written once, in slices of ``chunk`` people, before the daily traffic. Opening dates lie months to
years before the simulated window, at the person's district outlet or branch.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.simulate import ids
from fanzha.simulate.population import DAY, POPULAR_DOMAINS, Population, ts_us

NULL_STR = pa.scalar(None, pa.string())


def _opt(values: np.ndarray, present: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(present), ids.to_str(values), NULL_STR)


def _district(region: np.ndarray) -> np.ndarray:
    from fanzha.simulate.population import DISTRICT_ZH

    lookup = np.array([DISTRICT_ZH.get(int(r), "高新") for r in ids.CITY_REGIONS])
    return lookup[np.searchsorted(ids.CITY_REGIONS, region)]


def opened_before(rng: np.random.Generator, pop: Population, who: np.ndarray, start_s: int) -> np.ndarray:
    """Opening times between 16th birthday (or 2005) and a month before the window."""
    birth_s = pop.birth[who].astype("datetime64[s]").astype(np.int64)
    earliest = np.maximum(birth_s + int(16 * 365.25 * DAY), 1_104_537_600)  # 2005-01-01
    latest = start_s - 30 * DAY
    earliest = np.minimum(earliest, latest - DAY)
    return earliest + (rng.random(len(who)) * (latest - earliest)).astype(np.int64)


def phone_cards(rng: np.random.Generator, pop: Population, start_s: int, lo: int, hi: int) -> pa.Table:
    who = np.arange(lo, hi)[pop.phone[lo:hi] > 0]
    opened = opened_before(rng, pop, who, start_s)
    carrier_names = np.array(ids.CARRIER_NAMES)[pop.carrier[who]]
    carrier_zh = np.array([ids.CARRIER_ZH[c] for c in ids.CARRIER_NAMES])[pop.carrier[who]]
    outlet = np.char.add(np.char.add(carrier_zh, _district(pop.region[who])), "营业厅")
    recent = opened > start_s - 2 * 365 * DAY
    return pa.table(
        {
            "number": ids.to_str(pop.phone[who]),
            "owner_id": pop.id_number.take(pa.array(who)),
            "carrier": pa.array(carrier_names),
            "card_type": pa.array(np.full(len(who), "personal")),
            "opened_at": ts_us(opened),
            "closed_at": pa.nulls(len(who), pa.timestamp("us", tz="UTC")),
            "status": pa.array(np.full(len(who), "active")),
            "outlet": pa.array(outlet),
            "open_imei": _opt(pop.imei[who], recent),
        }
    )


def devices(rng: np.random.Generator, pop: Population, start_s: int, lo: int, hi: int) -> pa.Table:
    who = np.arange(lo, hi)[pop.imei[lo:hi] > 0]
    tac = pop.imei[who] // 10**7
    tacs = np.array([t for t, _b, _m in ids.HANDSETS])
    k = np.searchsorted(tacs, tac, sorter=np.argsort(tacs))
    k = np.argsort(tacs)[np.clip(k, 0, len(tacs) - 1)]
    return pa.table(
        {
            "imei": ids.to_str(pop.imei[who]),
            "brand": pa.array(np.array([b for _t, b, _m in ids.HANDSETS])[k]),
            "model": pa.array(np.array([m for _t, _b, m in ids.HANDSETS])[k]),
            "first_seen": ts_us(start_s - rng.integers(5, 900, size=len(who)) * DAY),
        }
    )


def _account_table(
    numbers: np.ndarray,
    banks: np.ndarray,
    owner: pa.Array,
    account_type: str,
    opened: np.ndarray,
    branch_region: np.ndarray,
    category: str | None,
) -> pa.Table:
    n = len(numbers)
    bank_names = np.array([name for name, _b in ids.BANKS])[banks]
    branch = np.char.add(np.char.add(bank_names, _district(branch_region)), "支行")
    return pa.table(
        {
            "account_no": ids.to_str(numbers),
            "bank": pa.array(bank_names),
            "owner_id": owner,
            "account_type": pa.array(np.full(n, account_type)),
            "opened_at": ts_us(opened),
            "status": pa.array(np.full(n, "active")),
            "branch": pa.array(branch),
            "open_ip": pa.nulls(n, pa.string()),
            "open_imei": pa.nulls(n, pa.string()),
            "merchant_category": pa.array([category] * n, pa.string()),
        }
    )


def personal_accounts(
    rng: np.random.Generator, pop: Population, start_s: int, lo: int, hi: int, frozen: set[int] | None = None
) -> pa.Table:
    main = np.arange(lo, hi)[pop.account[lo:hi] > 0]
    sel = (pop.extra_owner >= lo) & (pop.extra_owner < hi)
    extra_owner = pop.extra_owner[sel]
    owners = np.concatenate([main, extra_owner])
    numbers = np.concatenate([pop.account[main], pop.extra_accounts[sel]])
    banks = np.concatenate([pop.bank[main], pop.extra_bank[sel]])
    opened = opened_before(rng, pop, owners, start_s)
    table = _account_table(
        numbers, banks, pop.id_number.take(pa.array(owners)), "personal", opened, pop.region[owners], None
    )
    # recent accounts opened in the bank's app carry the owner's home IP and handset
    online = (opened > start_s - 3 * 365 * DAY) & (rng.random(len(owners)) < 0.4) & (pop.imei[owners] > 0)
    octets = [ids.to_str(x) for x in (rng.integers(1, 255, size=(3, len(owners))))]
    ip = pc.binary_join_element_wise(pa.scalar("182"), *octets, ".")
    table = table.set_column(
        table.schema.get_field_index("open_ip"), "open_ip", pc.if_else(pa.array(online), ip, NULL_STR)
    )
    imei = _opt(pop.imei[owners], online)
    table = table.set_column(table.schema.get_field_index("open_imei"), "open_imei", imei)
    if frozen:  # a card farmer's own card used as a mule account and frozen after a report
        hit = np.isin(numbers, np.fromiter(frozen, dtype=np.int64))
        status = pa.array(np.where(hit, "frozen", "active"))
        table = table.set_column(table.schema.get_field_index("status"), "status", status)
    return table


def organisation_accounts(rng: np.random.Generator, pop: Population, start_s: int) -> pa.Table:
    """Employers, shops, payment-platform pools, utilities, gold shops and OTC traders."""
    parts = []
    regions = ids.CITY_REGIONS

    def add(
        numbers: np.ndarray, banks: np.ndarray, kind: str, category: str | None, owner: pa.Array | None
    ) -> None:
        n = len(numbers)
        opened = start_s - rng.integers(200, 4000, size=n) * DAY
        owner_arr = owner if owner is not None else pa.nulls(n, pa.string())
        parts.append(
            _account_table(
                numbers, banks, owner_arr, kind, opened, regions[rng.integers(len(regions), size=n)], category
            )
        )

    add(pop.employers, pop.employer_bank, "corporate", None, None)
    add(
        pop.merchants,
        pop.bank[pop.merchant_owner],
        "merchant",
        "retail",
        pop.id_number.take(pa.array(pop.merchant_owner)),
    )
    pooled = np.array(list(pop.pooled.values()), dtype=np.int64)
    add(pooled, np.zeros(len(pooled), np.int64), "pooled", "payment_platform", None)
    add(pop.gold_shops, rng.integers(len(ids.BANKS), size=len(pop.gold_shops)), "merchant", "gold", None)
    add(
        pop.otc_merchants,
        rng.integers(len(ids.BANKS), size=len(pop.otc_merchants)),
        "merchant",
        "crypto_otc",
        None,
    )
    return pa.concat_tables(parts)


APP_PLATFORMS = (
    ("wechat", "wxid_", 0.9),
    ("qq", "qq", 0.4),
    ("douyin", "dy", 0.5),
    ("taobao", "tb", 0.6),
    ("game", "gm", 0.25),
)


def app_account_id(prefix: str, idx: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(
        pa.scalar(prefix), ids.base36(ids.scramble(idx, 10**12, offset=777), 8), ""
    )


def app_accounts(
    rng: np.random.Generator, pop: Population, counter: ids.Counter, start_s: int, lo: int, hi: int
) -> pa.Table:
    who = np.arange(lo, hi)[pop.phone[lo:hi] > 0]
    parts = []
    for platform, prefix, share in APP_PLATFORMS:
        p = np.full(len(who), share)
        if platform == "game":
            p = np.where(pop.age[who] < 30, 0.6, 0.1)
        sel = who[rng.random(len(who)) < p]
        idx = counter.take("app", len(sel))
        parts.append(
            pa.table(
                {
                    "platform": pa.array(np.full(len(sel), platform)),
                    "account_id": app_account_id(prefix, idx),
                    "phone": ids.to_str(pop.phone[sel]),
                    "owner_id": pop.id_number.take(pa.array(sel)),
                    "registered_at": ts_us(opened_before(rng, pop, sel, start_s)),
                }
            )
        )
    return pa.concat_tables(parts)


def popular_urls(start_s: int) -> pa.Table:
    n = len(POPULAR_DOMAINS)
    return pa.table(
        {
            "url": pa.array([f"https://{h}/" for h in POPULAR_DOMAINS]),
            "host": pa.array(list(POPULAR_DOMAINS)),
            "first_seen": ts_us(np.full(n, start_s - 3000 * DAY)),
            "source": pa.array(["crawler"] * n),
        }
    )


def slices(n: int, chunk: int) -> Iterator[tuple[int, int]]:
    for lo in range(0, n, chunk):
        yield lo, min(n, lo + chunk)
