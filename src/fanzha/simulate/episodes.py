"""Fraud episodes: contact → grooming → test payments → large payments → layering → cash-out.

Pass 1 (:func:`plan_episodes`) draws the typology, victim, gang, timings and payments of every
episode, and which victims report (a report freezes the accounts the victim names: 止付 blocks
debits from then on). Pass 2 (:func:`launder`) moves each payment through the gang's mule layers.
Every transfer carries one episode's money, so the money-path truth is exact: per episode
sum(hop 0) = loss = cashed out + held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from fanzha.simulate.population import DAY, Population
from fanzha.simulate.records import Rows
from fanzha.simulate.supply import Gang, Sim
from fanzha.simulate.traffic import HOURLY
from fanzha.taxonomy.typologies import Typology

CALL_TYPES = {
    "impersonate_ecommerce_cs",
    "impersonate_officials",
    "fake_credit_repair",
    "food_delivery",
    "fake_loan",
}
VOIP_TYPES = {"impersonate_officials", "impersonate_ecommerce_cs"}
MEMOS = {
    "brushing_rebate": ("垫付", "任务款", None),
    "fake_investment": ("投资款", "入金", None),
    "romance": ("转账", None),
    "fake_loan": ("解冻金", "保证金", "保险费"),
    "impersonate_ecommerce_cs": ("理赔核验", None),
    "impersonate_officials": ("资金核查", None),
    "impersonate_acquaintance": ("货款", "保证金"),
    "cod_parcel": ("代收货款",),
    "gambling": ("充值", None),
}
SHANGHAI = timedelta(hours=8)


@dataclass
class Payment:
    at: int
    amount: int  # fen
    to: int  # layer-1 account
    step: str  # test_payment | victim_payment
    frm: int = 0  # the victim's paying account
    transfer_id: str = ""


@dataclass
class Episode:
    eid: str
    typ: Typology
    victim: int
    payer: int  # account the victim pays from (a parent's for minors)
    gang: Gang
    channel: str
    started: int
    payments: list[Payment] = field(default_factory=list)
    contact_numbers: list[int | str] = field(default_factory=list)
    app: tuple[str, str] | None = None
    url: str | None = None
    reported_at: int | None = None
    case_id: str | None = None
    known_accounts: list[int] = field(default_factory=list)

    @property
    def loss(self) -> int:
        return sum(p.amount for p in self.payments)


class Ids:
    """Record ids of fraud events: distinct from ordinary ones by the 9 after the date."""

    def __init__(self) -> None:
        self.n = {"TX": 0, "WD": 0, "TP": 0}

    def next(self, prefix: str, t: int) -> str:
        self.n[prefix] += 1
        return f"{prefix}{local_date(t):%Y%m%d}9{self.n[prefix]:09d}"


def local_date(t: int) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC) + SHANGHAI


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(max(lo, 1e-3)), np.log(max(hi, 1e-3)))))


def episode_type_weights(typs: dict[str, Typology]) -> np.ndarray:
    """Episode sampling weights: reported cases follow case_weight, so divide by report_prob."""
    w = np.array([t.case_weight / t.report_prob for t in typs.values()])
    return w / w.sum()


def victim_weights(
    pop: Population, traits: dict[str, np.ndarray], t: Typology, taken: np.ndarray
) -> np.ndarray:
    payer_ok = (pop.account > 0) | (pop.account[np.clip(np.arange(pop.n) - 1, 0, None)] > 0)
    w = ((pop.age >= t.min_age) & (pop.age <= t.max_age) & (pop.phone > 0) & payer_ok & ~taken).astype(float)
    w *= np.where(pop.male, 1 - t.female_share, t.female_share)
    for trait, factor in t.prefer.items():
        if trait in traits:
            w *= np.where(traits[trait], factor, 1.0)
    return w


def draw_amounts(rng: np.random.Generator, t: Typology) -> tuple[list[int], list[int]]:
    """(test payments, large payments) in fen for one episode of typology ``t``."""
    n_test = int(rng.integers(t.test_count[0], t.test_count[1] + 1))
    tests = [int(rng.uniform(*t.test_yuan)) * 100 for _ in range(n_test)] if t.test_yuan[1] > 0 else []
    tests = [x for x in tests if x > 0]
    loss = float(
        np.clip(rng.lognormal(np.log(t.loss_median_yuan), t.loss_sigma), t.loss_min_yuan, t.loss_max_yuan)
    )
    n_pay = int(rng.integers(t.payments[0], t.payments[1] + 1))
    if t.code == "cod_parcel":
        return tests, [max(9, int(loss / 10) * 10 + 9) * 100]
    harvest = max(int(loss) * 100 - sum(tests), n_pay * 10_000)
    weights = 1.6 ** np.arange(n_pay) * rng.uniform(0.7, 1.3, size=n_pay)
    raw = harvest * weights / weights.sum()
    parts = [int(x // 10_000 * 10_000) if x >= 200_000 else int(x // 100 * 100) for x in raw[:-1]]
    parts = [max(p, 100) for p in parts]
    last = harvest - sum(parts)
    if last <= 0:
        parts = [harvest // n_pay] * (n_pay - 1)
        last = harvest - sum(parts)
    return tests, [*parts, last]


def plan_episodes(
    rng: np.random.Generator,
    pop: Population,
    typs: dict[str, Typology],
    gangs: list[Gang],
    taken: np.ndarray,
    n_episodes: int,
    start_s: int,
    end_s: int,
) -> list[Episode]:
    """Pass 1: who is defrauded, by whom, when, for how much (payments inside the window only)."""
    codes = list(typs)
    counts = rng.multinomial(n_episodes, episode_type_weights(typs))
    traits = pop.traits()
    by_type = {c: [g for g in gangs if c in g.types] or gangs for c in codes}
    episodes: list[Episode] = []
    days = max(1, (end_s - start_s) // DAY)
    for code, k in zip(codes, counts.tolist(), strict=True):
        if k == 0:
            continue
        t = typs[code]
        w = victim_weights(pop, traits, t, taken)
        if w.sum() <= 0:
            continue
        victims = rng.choice(pop.n, size=k, replace=True, p=w / w.sum())
        for v in victims.tolist():
            gang = by_type[code][int(rng.integers(len(by_type[code])))]
            day = int(rng.integers(days))
            first = start_s + day * DAY + int(rng.choice(24, p=HOURLY)) * 3600 + int(rng.integers(3600))
            payer = int(pop.account[v]) if pop.account[v] > 0 else int(pop.account[max(v - 1, 0)])
            channels = [c for c, p in t.channels.items() if p > 0]
            probs = np.array([t.channels[c] for c in channels])
            channel = channels[int(rng.choice(len(channels), p=probs / probs.sum()))]
            started = first - int(_loguniform(rng, *t.grooming_hours) * 3600)
            ep = Episode("", t, v, payer, gang, channel, started)
            tests, large = draw_amounts(rng, t)
            at = first
            for amount in tests:
                ep.payments.append(Payment(at, amount, gang.receiving_account(rng, at), "test_payment"))
                at += int(rng.integers(600, 3600))
            own = _own_accounts(pop, v) or [payer]
            for amount in large:
                if ep.payments:
                    at += int(_loguniform(rng, *t.between_payments_hours) * 3600)
                # larger sums are scraped together from the victim's other cards too
                frm = own[int(rng.integers(len(own)))] if rng.random() < 0.3 else payer
                ep.payments.append(
                    Payment(at, amount, gang.receiving_account(rng, at), "victim_payment", frm)
                )
            ep.payments = [p for p in ep.payments if p.at < end_s - 60]
            for p in ep.payments:
                p.frm = p.frm or payer
            if ep.payments:
                episodes.append(ep)
    episodes.sort(key=lambda e: (e.payments[0].at, e.victim))
    for i, ep in enumerate(episodes):
        ep.eid = f"E{i + 1:06d}"
    return episodes


def _own_accounts(pop: Population, person: int) -> list[int]:
    lo = int(np.searchsorted(pop.extra_owner, person))
    hi = int(np.searchsorted(pop.extra_owner, person, side="right"))
    main = [int(pop.account[person])] if pop.account[person] > 0 else []
    return main + [int(a) for a in pop.extra_accounts[lo:hi]]


def contact_events(rng: np.random.Generator, ep: Episode, pop: Population, start_s: int, rows: Rows) -> None:
    """Calls / SMS of contact and grooming (before the window they are not recorded)."""
    gang, t, victim_phone = ep.gang, ep.typ, int(pop.phone[ep.victim])
    first_pay = ep.payments[0].at
    url_needed = "url" in t.suspect_known or any("{url}" in line for line in t.lines("contact"))
    ep.url = gang.urls[int(rng.integers(len(gang.urls)))] if url_needed else None
    if ep.channel == "app" or "app_account" in t.suspect_known:
        platform, account_id, _phone, _farmer = gang.apps[int(rng.integers(len(gang.apps)))]
        ep.app = (platform, account_id)

    # 公检法 and 客服 gangs often call over the internet with international or spoofed numbers
    voip = (
        gang.voip[int(rng.integers(len(gang.voip)))] if t.code in VOIP_TYPES and rng.random() < 0.3 else None
    )

    def call(sim: Sim, at: int, duration: int) -> None:
        if at < start_s:
            return
        rows.add(
            "calls",
            caller=voip or str(sim.number),
            callee=str(victim_phone),
            start_at=at,
            duration_s=min(duration, 86_400),
            direction="out",
            city=None if voip else str(gang.farm_region),
            cell_id=None if voip else f"{gang.farm_region}-9{sim.device % 1000:03d}",
            imei=None if voip else str(sim.device),
            is_fraud=True,
            episode_id=ep.eid,
            gang_id=gang.gid,
        )
        ep.contact_numbers.append(voip or sim.number)

    sim = gang.sim_at(rng, ep.started)
    if ep.channel == "call":
        call(sim, ep.started, int(rng.integers(120, 1500)))
    elif ep.channel == "sms" and ep.started >= start_s:
        lines = t.lines("contact")
        text = t.render(lines[int(rng.integers(len(lines)))], rng, url=ep.url or "")
        rows.add(
            "sms",
            sender=str(sim.number),
            receiver=str(victim_phone),
            sent_at=ep.started,
            text=text,
            imei=str(sim.device),
            is_fraud=True,
            episode_id=ep.eid,
            gang_id=gang.gid,
        )
        ep.contact_numbers.append(sim.number)
    if t.code in CALL_TYPES:
        # grooming on the phone: long calls right before the payments (victim kept on the line)
        for _ in range(int(rng.integers(1, 4))):
            at = first_pay - int(rng.integers(60, 4 * 3600))
            if at > ep.started:
                call(gang.sim_at(rng, at), at, int(rng.integers(300, 3600)))


def fraud_transfer(
    ident: Ids,
    rows: Rows,
    truth: Rows,
    ep: Episode,
    frm: int,
    to: int,
    amount: int,
    at: int,
    step: str,
    channel: str = "mobile",
    memo: str | None = None,
    wallet: str | None = None,
) -> str:
    """Write one transfer of episode ``ep`` and its ground-truth row (fraud, ``step``); its id."""
    tid = ident.next("TX", at)
    rows.add(
        "transfers",
        transfer_id=tid,
        from_account=str(frm),
        to_account=str(to),
        amount_fen=amount,
        at=at,
        channel=channel,
        memo=memo,
        wallet=wallet,
    )
    truth.add("transfers", transfer_id=tid, is_fraud=True, episode_id=ep.eid, gang_id=ep.gang.gid, step=step)
    return tid


def rebates(
    rng: np.random.Generator,
    ep: Episode,
    pop: Population,
    ident: Ids,
    rows: Rows,
    truth: Rows,
    end_s: int,
    wallet_first: dict[str, int],
) -> None:
    """Brushing / gambling: the gang pays the first small tasks back with a bonus.

    The bonus is gang money, not the victim's: minutes before, an OTC trader pays CNY for the
    gang's USDT into the paying account, so no account ever goes below zero.
    """
    lo, hi = ep.typ.rebate_pct
    if hi <= 0:
        return
    payer = ep.gang.layers[2][0]
    for p in [p for p in ep.payments if p.step == "test_payment"]:
        at = p.at + int(rng.integers(120, 1800))
        if at >= end_s:
            continue
        amount = int(p.amount * (1 + rng.uniform(lo, hi) / 100))
        funded = at - int(rng.integers(60, 600))
        otc = int(pop.otc_merchants[int(rng.integers(len(pop.otc_merchants)))])
        wallet = ep.gang.wallets[int(rng.integers(len(ep.gang.wallets)))]
        fraud_transfer(
            ident,
            rows,
            truth,
            ep,
            otc,
            payer,
            amount,
            funded,
            "test_payment",
            "crypto_otc",
            "USDT卖出",
            wallet,
        )
        wallet_first[wallet] = min(wallet_first.get(wallet, funded), funded)
        fraud_transfer(
            ident, rows, truth, ep, payer, ep.payer, amount, at, "test_payment", "mobile", "佣金返还"
        )


BORROW_TYPES = {"impersonate_ecommerce_cs", "fake_credit_repair", "fake_loan"}


def credit_loans(
    rng: np.random.Generator, ep: Episode, pop: Population, ident: Ids, rows: Rows, truth: Rows, start_s: int
) -> None:
    """Victims told to "verify" or "clear" credit first borrow from a credit app, minutes before paying.

    The loan itself is a legitimate transfer (is_fraud false, step legit) — but a loan followed by a
    first transfer to a new payee is the early-warning signal the reports describe.
    """
    if ep.typ.code not in BORROW_TYPES:
        return
    lender = pop.pooled["consumer_credit"]
    for p in ep.payments:
        if p.step != "victim_payment" or p.amount < 200_000 or rng.random() > 0.6:
            continue
        at = p.at - int(rng.integers(180, 1800))
        if at < start_s:
            continue
        amount = -(-p.amount // 100_000) * 100_000  # rounded up to whole thousands of yuan
        tid = ident.next("TX", at)
        rows.add(
            "transfers",
            transfer_id=tid,
            from_account=str(lender),
            to_account=str(ep.payer),
            amount_fen=amount,
            at=at,
            channel="online",
            memo="借款放款",
            wallet=None,
        )
        truth.add("transfers", transfer_id=tid, is_fraud=False, episode_id=None, gang_id=None, step="legit")


def report_cases(
    rng: np.random.Generator, episodes: list[Episode], pop: Population, end_s: int
) -> dict[int, int]:
    """Decide who reports and when; returns freeze time per account named by a reporting victim."""
    freeze: dict[int, int] = {}
    seq = 0
    for ep in episodes:
        if rng.random() >= ep.typ.report_prob:
            continue
        at = ep.payments[-1].at + int(max(0.5, rng.lognormal(np.log(18), 1.0)) * 3600)
        if at >= end_s:
            continue
        seq += 1
        ep.reported_at = at
        ep.case_id = f"A{int(pop.region[ep.victim])}{local_date(at):%Y%m%d}{seq:05d}"
        paid = list(dict.fromkeys(p.to for p in ep.payments))
        ep.known_accounts = [a for a in paid if rng.random() < 0.85] or paid[:1]
        for a in ep.known_accounts:
            t = at + int(rng.integers(3600, 6 * 3600))
            freeze[a] = min(freeze.get(a, t), t)
    return freeze
