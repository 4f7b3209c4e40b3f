"""The fraud supply chain: card farmers (卡农) → card dealers (卡头/卡商) → gangs.

Card farmers (young, often students or unemployed) open phone cards and bank accounts in bursts: a
dealer brings several farmers to the same outlet or branch on the same day and activates everything
from his own handset and IP. Gangs put the phone cards into SIM farms (猫池/GOIP: one device, many
SIMs) and churn them every few days; the bank cards become their mule layers (跑分: layer 1 receives
victims' money, layers 2–3 relay it across banks, then cash-out via ATM, USDT OTC or gold).
Gangs also register chat / platform accounts and scam URLs, and hire cashiers (取现人员).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from fanzha.errors import ConfigError
from fanzha.simulate import ids
from fanzha.simulate.population import DAY, Population, ts_us
from fanzha.simulate.records import Rows

FARM_REGIONS = np.array([530102, 450103, 350203, 460106, 440305, 510107], dtype=np.int64)
URL_WORDS = ("hjcf", "ztcx", "yhjr", "bdkf", "gxjy", "xyd", "jsdk", "tbzq", "dyrw", "wph", "hxcm", "qqfl")
URL_TLDS = ("vip", "top", "xyz", "cc", "app", "net", "com")
VOIP_PREFIXES = ("855", "856", "63", "95", "852")  # Cambodia, Laos, Philippines, Myanmar, Hong Kong
APP_PLATFORMS = (("wechat", "wxid_"), ("qq", "qq"), ("douyin", "dy"), ("xianyu", "xy"), ("game", "gm"))


@dataclass
class Sim:
    number: int
    device: int
    farmer: int
    dealer: int
    carrier: str
    opened: int
    active_from: int
    active_to: int


@dataclass
class Gang:
    gid: str
    types: list[str]
    farm_region: int
    dealers: list[int] = field(default_factory=list)
    devices: list[int] = field(default_factory=list)
    sims: list[Sim] = field(default_factory=list)
    layers: dict[int, list[int]] = field(default_factory=dict)  # mule layer → accounts
    account_owner: dict[int, tuple[int, int, int]] = field(
        default_factory=dict
    )  # acct → farmer, dealer, bank
    apps: list[tuple[str, str, int, int]] = field(default_factory=list)  # platform, id, phone, farmer
    urls: list[str] = field(default_factory=list)
    wallets: list[str] = field(default_factory=list)
    cashiers: list[int] = field(default_factory=list)
    voip: list[str] = field(default_factory=list)  # spoofed / international numbers of internet calls
    l1_window: dict[int, tuple[int, int]] = field(default_factory=dict)  # layer-1 account → use window
    handed_over: dict[int, int] = field(default_factory=dict)  # account → when the dealer passes it on

    def receiving_account(self, rng: np.random.Generator, t: int) -> int:
        """A layer-1 account in use at ``t`` (else the one whose window is nearest)."""
        l1 = self.layers[1]
        live = [a for a in l1 if self.l1_window[a][0] <= t < self.l1_window[a][1]]
        if live:
            return live[int(rng.integers(len(live)))]
        return min(l1, key=lambda a: min(abs(self.l1_window[a][0] - t), abs(self.l1_window[a][1] - t)))

    def sim_at(self, rng: np.random.Generator, t: int) -> Sim:
        """A SIM of the gang active at ``t`` (else the one whose window is nearest)."""
        live = [s for s in self.sims if s.active_from <= t < s.active_to]
        if live:
            return live[int(rng.integers(len(live)))]
        return min(self.sims, key=lambda s: min(abs(s.active_from - t), abs(s.active_to - t)))


class PeoplePicker:
    """Draws distinct people for supply-chain roles (a person plays at most one such role)."""

    def __init__(self, pop: Population, rng: np.random.Generator):
        self.pop, self.rng = pop, rng
        self.taken = np.zeros(pop.n, dtype=bool)
        self.traits = pop.traits()

    def pick(self, k: int, weights: np.ndarray) -> list[int]:
        w = np.where(self.taken, 0.0, weights)
        if w.sum() <= 0:
            w = np.where(self.taken, 0.0, (self.pop.account > 0).astype(float))
        if w.sum() <= 0:
            raise ConfigError(
                f"a city of {self.pop.n:,} people is too small for the gangs of this --fraud-rate over these "
                "--days (every account holder already has a role in one); raise --people or lower "
                "--fraud-rate or --days"
            )
        k = min(k, int((w > 0).sum()))
        chosen = self.rng.choice(self.pop.n, size=k, replace=False, p=w / w.sum())
        self.taken[chosen] = True
        return [int(c) for c in chosen]


def build_gangs(
    rng: np.random.Generator,
    pop: Population,
    counter: ids.Counter,
    picker: PeoplePicker,
    type_codes: list[str],
    *,
    n_gangs: int,
    episodes_per_gang: float,
    sims_active_per_gang: int,
    start_s: int,
    end_s: int,
    rows: Rows,
) -> list[Gang]:
    pop_t = picker.traits
    young = (pop.age >= 18) & (pop.age <= 30) & (pop.account > 0) & (pop.phone > 0)
    farmer_w = young * (1 + 3 * pop_t["student"] + 3 * pop_t["unemployed"])
    dealer_w = ((pop.age >= 22) & (pop.age <= 45) & (pop.account > 0) & (pop.phone > 0)) * (
        1 + pop.male * 2.0
    )
    cashier_w = young * pop.male * (1 + 2 * pop_t["unemployed"])
    dealers = picker.pick(max(1, round(n_gangs * 0.7)), dealer_w.astype(float))
    dealer_device = dict(
        zip(
            dealers,
            ids.imeis(
                counter, rng.integers(len(ids.HANDSETS), size=len(dealers)), ids.HANDSETS, "handset"
            ).tolist(),
            strict=True,
        )
    )
    _device_rows(rows, dealer_device.values(), start_s - 200 * DAY, ids.HANDSETS)
    gangs = []
    for g in range(n_gangs):
        types = [type_codes[g % len(type_codes)]]
        extra = rng.choice(type_codes, size=int(rng.integers(0, 3)), replace=False)
        types += [t for t in extra.tolist() if t not in types]
        gang = Gang(f"G{g + 1:04d}", types, int(FARM_REGIONS[rng.integers(len(FARM_REGIONS))]))
        gang.dealers = [
            dealers[int(i)] for i in rng.choice(len(dealers), size=min(2, len(dealers)), replace=False)
        ]
        n_l1 = 4 + int(episodes_per_gang // 3)
        n_l2, n_l3 = 2 + int(episodes_per_gang // 8), 2 + int(episodes_per_gang // 12)
        span = max(1, (end_s - start_s) // DAY)
        n_sims = sims_active_per_gang * (1 + int(np.ceil(span / 5.5)))
        n_accounts = n_l1 + n_l2 + n_l3
        n_farmers = max(2, int(np.ceil(n_sims / 4.5)), int(np.ceil(n_accounts / 2.5)))
        farmers = picker.pick(n_farmers, farmer_w.astype(float))
        accounts = _open_accounts(rng, pop, counter, gang, farmers, dealer_device, n_accounts, start_s, rows)
        gang.layers = {1: accounts[:n_l1], 2: accounts[n_l1 : n_l1 + n_l2], 3: accounts[n_l1 + n_l2 :]}
        # receiving (layer-1) cards are "burned" fast: each collects victims' money for 4–10 days
        span = end_s - start_s
        for i, a in enumerate(gang.layers[1]):
            lo = start_s + span * i // n_l1 - int(rng.integers(0, 3 * DAY))
            gang.l1_window[a] = (lo, lo + int(rng.integers(4 * DAY, 10 * DAY)))
        _open_sims(
            rng, counter, gang, farmers, dealer_device, n_sims, sims_active_per_gang, start_s, end_s, rows
        )
        _register_apps(rng, pop, counter, gang, start_s, rows)
        gang.urls = _scam_urls(rng, gang, start_s, rows)
        gang.wallets = ids.tron_wallets(rng, int(rng.integers(1, 3)))
        gang.cashiers = picker.pick(int(rng.integers(1, 4)), cashier_w.astype(float))
        gang.voip = [
            f"+{VOIP_PREFIXES[int(rng.integers(len(VOIP_PREFIXES)))]}{int(rng.integers(10**7, 10**8))}"
            for _ in range(2)
        ]
        gangs.append(gang)
    return gangs


def _device_rows(
    rows: Rows, imeis: object, first_seen: int, models: tuple[tuple[int, str, str], ...]
) -> None:
    for imei in imeis:  # type: ignore[attr-defined]
        tac = int(imei) // 10**7
        brand, model = next(((b, m) for t, b, m in models if t == tac), ("", ""))
        rows.add("devices", imei=str(imei), brand=brand or None, model=model or None, first_seen=first_seen)


def _open_accounts(
    rng: np.random.Generator,
    pop: Population,
    counter: ids.Counter,
    gang: Gang,
    farmers: list[int],
    dealer_device: dict[int, int],
    n_accounts: int,
    start_s: int,
    rows: Rows,
) -> list[int]:
    """Burst openings: per batch one dealer, one day, one branch per bank, his IP and handset."""
    out: list[int] = []
    own_sold: set[int] = set()
    fi = 0
    while len(out) < n_accounts:
        dealer = gang.dealers[int(rng.integers(len(gang.dealers)))]
        day = start_s - int(rng.integers(3, 60)) * DAY + 3600
        if rng.random() < 0.2:  # farmers also sell old, dormant cards that suddenly come alive
            day = start_s - int(rng.integers(365, 1800)) * DAY + 3600
        ip = f"117.{rng.integers(130, 190)}.{rng.integers(0, 255)}.{rng.integers(2, 254)}"
        region = int(pop.region[farmers[fi % len(farmers)]])
        batch = farmers[fi : fi + int(rng.integers(2, 5))] or [farmers[fi % len(farmers)]]
        fi = (fi + len(batch)) % max(1, len(farmers))
        for farmer in batch:
            if pop.account[farmer] > 0 and farmer not in own_sold and rng.random() < 0.25:
                # the farmer also sells his own everyday card (it keeps its ordinary history)
                own_sold.add(farmer)
                gang.account_owner[int(pop.account[farmer])] = (farmer, dealer, int(pop.bank[farmer]))
                gang.handed_over[int(pop.account[farmer])] = day + DAY * (1 + int(pop.account[farmer]) % 4)
                out.append(int(pop.account[farmer]))
            k = int(rng.integers(1, 4))
            banks = rng.choice(len(ids.BANKS), size=k, replace=False)
            numbers = ids.bank_cards(counter, banks)
            for bank, number in zip(banks.tolist(), numbers.tolist(), strict=True):
                opened = day + int(rng.integers(0, 6 * 3600))
                online = rng.random() < 0.5
                rows.add(
                    "accounts",
                    account_no=str(number),
                    bank=ids.BANKS[bank][0],
                    owner_id=farmer,
                    account_type="personal",
                    opened_at=opened,
                    status="active",
                    branch=f"{ids.BANKS[bank][0]}{_district_name(region)}支行",
                    open_ip=ip if online else None,
                    open_imei=str(dealer_device[dealer]) if online else None,
                    merchant_category=None,
                )
                gang.account_owner[number] = (farmer, dealer, bank)
                gang.handed_over[number] = opened + DAY * (1 + number % 4)
                out.append(number)
    return out[:n_accounts]


def _district_name(region: int) -> str:
    from fanzha.simulate.population import DISTRICT_ZH

    return DISTRICT_ZH.get(region, "高新")


def _open_sims(
    rng: np.random.Generator,
    counter: ids.Counter,
    gang: Gang,
    farmers: list[int],
    dealer_device: dict[int, int],
    n_sims: int,
    active: int,
    start_s: int,
    end_s: int,
    rows: Rows,
) -> None:
    n_dev = max(1, int(np.ceil(active / 12)))
    models = rng.integers(len(ids.SIMFARM_DEVICES), size=n_dev)
    gang.devices = ids.imeis(counter, models, ids.SIMFARM_DEVICES, "simfarm").tolist()
    _device_rows(rows, gang.devices, start_s - 40 * DAY, ids.SIMFARM_DEVICES)
    carriers = rng.choice(len(ids.CARRIER_NAMES), size=n_sims, p=[0.35, 0.25, 0.2, 0.05, 0.15])
    numbers = ids.mobiles(counter, rng, carriers)
    # staggered activity windows: each slot runs SIMs back to back, 3–8 days each
    slot_time = [start_s - int(rng.integers(0, 4 * DAY)) for _ in range(active)]
    for i in range(n_sims):
        slot = i % active
        a = slot_time[slot]
        b = a + int(rng.integers(3 * DAY, 8 * DAY))
        slot_time[slot] = b
        farmer = farmers[(i // 4) % len(farmers)]
        dealer = gang.dealers[(i // 4) % len(gang.dealers)]
        batch_day = a - int(rng.integers(2, 12)) * DAY
        opened = batch_day - (batch_day % DAY) + 2 * 3600 + (i % 4) * 600 + int(rng.integers(0, 300))
        sim = Sim(
            int(numbers[i]),
            gang.devices[i % n_dev],
            farmer,
            dealer,
            ids.CARRIER_NAMES[int(carriers[i])],
            opened,
            a,
            b,
        )
        gang.sims.append(sim)
        closed = b + int(rng.integers(0, 2 * DAY))
        rows.add(
            "phone_cards",
            number=str(sim.number),
            owner_id=farmer,
            carrier=sim.carrier,
            card_type="personal",
            opened_at=opened,
            closed_at=closed if closed < end_s else None,
            status="closed" if closed < end_s else "active",
            outlet=f"{ids.CARRIER_ZH[sim.carrier]}代理点{int(dealer) % 97:02d}号",
            open_imei=str(dealer_device[dealer]),
        )


def _register_apps(
    rng: np.random.Generator, pop: Population, counter: ids.Counter, gang: Gang, start_s: int, rows: Rows
) -> None:
    from fanzha.simulate.static import app_account_id

    k = int(rng.integers(3, 8))
    idx = counter.take("app", k)
    for j in range(k):
        platform, prefix = APP_PLATFORMS[int(rng.integers(len(APP_PLATFORMS)))]
        if gang.types[0] == "game_trade":
            platform, prefix = "game", "gm"
        sim = gang.sims[j % len(gang.sims)]
        account_id = app_account_id(prefix, idx[j : j + 1])[0].as_py()
        registered = min(sim.active_from, start_s) - int(rng.integers(1, 20)) * DAY
        rows.add(
            "app_accounts",
            platform=platform,
            account_id=account_id,
            phone=str(sim.number),
            owner_id=sim.farmer,
            registered_at=registered,
        )
        gang.apps.append((platform, account_id, sim.number, sim.farmer))


def _scam_urls(rng: np.random.Generator, gang: Gang, start_s: int, rows: Rows) -> list[str]:
    urls = []
    for k in range(int(rng.integers(2, 5))):
        word, tld = URL_WORDS[int(rng.integers(len(URL_WORDS)))], URL_TLDS[int(rng.integers(len(URL_TLDS)))]
        host = f"{word}{int(gang.gid[1:]) * 10 + k}.{tld}"  # gang number in the host: never collides
        if rng.random() < 0.4:
            host = "www." + host
        path = ("/", "/download", "/h5/#/register?code=" + str(int(rng.integers(1000, 9999))), "/app.apk")[
            int(rng.integers(4))
        ]
        url = f"https://{host}{path}" if rng.random() < 0.6 else f"http://{host}{path}"
        rows.add(
            "urls",
            url=url,
            host=host,
            first_seen=start_s - int(rng.integers(0, 15)) * DAY,
            source="platform_report",
        )
        urls.append(url)
    return urls


def card_upkeep(
    rng: np.random.Generator, gangs: list[Gang], pop: Population, start_s: int, end_s: int
) -> tuple[pa.Table, pa.Table]:
    """Top-ups and data usage of the gangs' phone cards: (topups, data_usage) tables.

    The dealer keeps a batch of new cards alive (养卡) with one small top-up each from his own
    account, minutes apart, soon after opening; the gang tops a card up once more, through a
    third-party service or a voucher with no account behind it, when the card goes into the SIM
    farm. A SIM-farm box places calls and uses almost no data: most of its cards show none, some a
    few hundred KB of signalling on the days they are live; a few cards sit in phones of a
    group-control rack (群控) and use tens of MB a day.
    """
    top: dict[str, list[Any]] = {k: [] for k in ("number", "amount_fen", "at", "channel", "payer_account")}
    usage: dict[str, list[int]] = {"number": [], "start_at": [], "kb": []}
    for gang in gangs:
        for i, sim in enumerate(gang.sims):
            upkeep = sim.opened - sim.opened % DAY + 5 * 3600 + (sim.dealer % 60) * 60 + (i % 4) * 90
            live = sim.active_from - int(rng.integers(0, 6 * 3600))
            payer = int(pop.account[sim.dealer])
            for at, fen, channel, account in (
                (upkeep, int(rng.choice([1000, 2000, 3000])), "online", payer),
                (live, int(rng.choice([5000, 10000])), str(rng.choice(["third_party", "voucher"])), 0),
            ):
                top["number"].append(str(sim.number))
                top["amount_fen"].append(fen)
                top["at"].append(at)
                top["channel"].append(channel if account or channel != "online" else "agent")
                top["payer_account"].append(str(account) if account else None)
            kind = rng.random()  # 70 %: no data; 15 %: signalling; 15 %: a phone in a 群控 rack
            if kind >= 0.7:
                first = start_s + max(0, sim.active_from - start_s) // DAY * DAY
                for day in range(first, min(sim.active_to, end_s), DAY):
                    usage["number"].append(sim.number)
                    usage["start_at"].append(day)
                    kb = rng.integers(50, 800) if kind < 0.85 else rng.lognormal(np.log(80 * 1024), 1.0)
                    usage["kb"].append(int(kb))
    n = len(top["number"])
    topups = pa.table(
        {
            "topup_id": pa.array([f"TUG{k:08d}" for k in range(n)]),
            "number": pa.array(top["number"], pa.string()),
            "amount_fen": pa.array(top["amount_fen"], pa.int64()),
            "at": ts_us(np.array(top["at"], dtype=np.int64)),
            "channel": pa.array(top["channel"], pa.string()),
            "payer_account": pa.array(top["payer_account"], pa.string()),
        }
    )
    data = pa.table(
        {
            "number": ids.to_str(np.array(usage["number"], dtype=np.int64)),
            "start_at": ts_us(np.array(usage["start_at"], dtype=np.int64)),
            "kb": pa.array(usage["kb"], pa.int64()),
        }
    )
    return topups, data


def mule_logins(
    rng: np.random.Generator,
    gangs: list[Gang],
    pop: Population,
    counter: ids.Counter,
    start_s: int,
    end_s: int,
) -> pa.Table:
    """Mobile-banking logins to the accounts a gang bought (跑分): from the day the dealer hands an
    account over, on 20–80 % of the days, from one of the gang's two or three operator handsets and its
    network in the far-away farm city — whether or not money moves yet. The dealer's unsold stock
    is never logged in to. Call last: the handsets take IMEI serials after every other device."""
    cols: dict[str, list[Any]] = {k: [] for k in ("account", "at", "imei", "ip", "city")}
    for gi, gang in enumerate(gangs):
        models = rng.integers(len(ids.HANDSETS), size=int(rng.integers(2, 4)))
        phones = ids.imeis(counter, models, ids.HANDSETS, "handset")
        for accounts in gang.layers.values():
            for a in accounts:
                first = start_s + max(0, gang.handed_over[a] - start_s) // DAY * DAY
                rate = rng.uniform(0.2, 0.8)  # how often the gang checks this account
                for day in range(first, end_s, DAY):
                    if rng.random() < rate:
                        cols["account"].append(str(a))
                        cols["at"].append(day + int(rng.integers(8 * 3600, 23 * 3600)))
                        cols["imei"].append(str(phones[a % len(phones)]))
                        cols["ip"].append(f"113.{gang.farm_region % 250}.{gi % 250}.{a % 7 + 2}")
                        cols["city"].append(str(gang.farm_region))
    return pa.table(
        {
            "account": pa.array(cols["account"], pa.string()),
            "at": ts_us(np.array(cols["at"], dtype=np.int64)),
            "imei": pa.array(cols["imei"], pa.string()),
            "ip": pa.array(cols["ip"], pa.string()),
            "city": pa.array(cols["city"], pa.string()),
        }
    )
