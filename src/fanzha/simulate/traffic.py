"""Ordinary daily traffic in array form: calls, SMS, transfers and ATM withdrawals of one day.

Nothing here loops over rows. Callers are drawn by activity, callees from stable social circles
(household, a fixed set of friends), service hubs and strangers; couriers and riders make many short
calls to strangers (the legitimate look-alike of a SIM farm); banks and couriers send most SMS;
salaries arrive on pay day, bills around the 5th–10th, shop payments go to merchants and to the
payment platforms' pooled accounts. Times follow a daytime curve in Asia/Shanghai.

Phone cards use mobile data (流量) most days, heavily for the young and for riders, little or none
on the feature phones many elderly people keep; each card is topped up (充值) once a month, from its
owner's account, in cash at a counter or with a voucher, and some employers pay their staff's cards
in one batch (集团代付, the legitimate look-alike of a card dealer keeping cards alive).

Account holders log in to mobile banking from their own handset and home network (登录日志), to a
second account of theirs from the same handset; an elderly holder often has a child of the household
do it on the child's phone (one handset, two owners: the legitimate look-alike of a gang's phone
running many mule accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.records.contracts import TOPUP_CHANNELS
from fanzha.simulate import ids
from fanzha.simulate.population import OCC, SERVICE_NUMBERS, SMS_SENDERS, Population, ts_us
from fanzha.taxonomy.typologies import legit_sms_lines, render

# relative call volume per local hour 0–23
HOURLY = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1.2, 3, 5, 6.5, 7, 7, 6, 5.5, 6, 6.5, 6.5, 6, 5.5, 5.5, 5, 4, 3, 2]
)
HOURLY = HOURLY / HOURLY.sum()
PERSONAL_SMS = (
    "晚上回家吃饭吗",
    "到了给我打电话",
    "明天开会改到十点",
    "妈，我这周末回来看您",
    "好的，收到",
    "钱已经转你了，查收一下",
    "孩子今天放学我去接",
    "周末一起吃饭？",
    "快递帮我拿一下",
    "路上注意安全",
)


@dataclass(frozen=True)
class Rates:
    """Per person and day (people with a phone / an account)."""

    calls: float = 1.6
    courier_calls: float = 12.0  # per courier or rider
    hub_sms: float = 0.7
    personal_sms: float = 0.3
    shop_payments: float = 0.30
    family_transfers: float = 0.03
    bills: float = 0.03
    platform_payouts: float = 0.015
    withdrawals: float = 0.015


EXTRA_TOPUPS_PER_DAY = 0.01  # top-ups beyond the monthly one, per card and day
ACCOUNT_PAID = ("app", "online", "auto_debit", "third_party")  # top-up channels paid from an account


class Traffic:
    """Generates one day of ordinary records for a population (deterministic per ``rng``)."""

    def __init__(self, pop: Population, rng: np.random.Generator, rates: Rates | None = None):
        self.pop, self.rates = pop, rates or Rates()
        act = pop.activity / pop.activity.sum()
        self.caller_cdf = np.cumsum(act)
        self.phones = np.flatnonzero(pop.phone > 0)
        self.holders = np.flatnonzero(pop.account > 0)
        self.couriers = np.flatnonzero(
            np.isin(pop.occupation, [OCC["快递员"], OCC["外卖骑手"]]) & (pop.phone > 0)
        )
        # colleagues: people with a phone grouped by employer, for work calls on weekdays
        workers = np.flatnonzero((pop.employer >= 0) & (pop.phone > 0))
        self.by_employer = workers[np.argsort(pop.employer[workers], kind="stable")]
        emp = pop.employer[self.by_employer]
        n_emp = int(pop.employer.max()) + 1 if len(pop.employer) else 0
        self.emp_start = np.searchsorted(emp, np.arange(n_emp))
        self.emp_count = np.searchsorted(emp, np.arange(n_emp), side="right") - self.emp_start
        self.services = np.array([int(s) for s in SERVICE_NUMBERS], dtype=np.int64)
        self.senders = np.array([int(s) for s in SMS_SENDERS], dtype=np.int64)
        self.home_cell = rng.integers(1, 400, size=pop.n)
        self.hub_texts = pa.array([render(line, rng) for line in legit_sms_lines()[:6] for _ in range(40)])
        self.personal_texts = pa.array(list(PERSONAL_SMS) + list(legit_sms_lines()[6:]))
        self._card_habits(rng)

    def _card_habits(self, rng: np.random.Generator) -> None:
        """Per person: daily data (median KB, share of days used), the monthly top-up habit and how
        often they log in to mobile banking."""
        pop, n = self.pop, self.pop.n
        elderly, young = pop.age >= 60, pop.age < 30
        feature_phone = (pop.imei == 0) | (elderly & (rng.random(n) < 0.35))
        median_mb = np.where(young, 1500.0, np.where(elderly, 200.0, 800.0))
        median_mb = median_mb * np.where(np.isin(pop.occupation, [OCC["快递员"], OCC["外卖骑手"]]), 1.6, 1.0)
        self.data_kb = np.where(feature_phone, 0.0, median_mb * 1024 * rng.lognormal(0.0, 0.8, size=n))
        self.data_days = np.where(elderly, 0.7, np.where(young, 0.97, 0.92))
        self.topup_day = rng.integers(1, 29, size=n)
        self.topup_fen = np.where(
            elderly,
            rng.choice([2000, 3000, 5000], size=n, p=[0.3, 0.4, 0.3]),
            rng.choice([3000, 5000, 10000, 20000], size=n, p=[0.15, 0.4, 0.35, 0.1]),
        )
        channels = np.array(TOPUP_CHANNELS)
        self.topup_channel = np.where(
            elderly,
            rng.choice(channels, size=n, p=[0.25, 0.05, 0.45, 0.1, 0.1, 0.05, 0.0]),
            rng.choice(channels, size=n, p=[0.5, 0.1, 0.08, 0.04, 0.2, 0.03, 0.05]),
        )
        paid_from_account = np.isin(self.topup_channel, ACCOUNT_PAID)
        self.topup_channel = np.where(paid_from_account & (pop.account == 0), "counter", self.topup_channel)
        # 集团代付: some employers top up every employee's card on one day, in one batch
        n_emp = max(len(pop.employers), 1)
        pays = rng.random(n_emp) < 0.15
        self.employer_pays = pays[np.clip(pop.employer, 0, n_emp - 1)] & (pop.employer >= 0)
        self.employer_topup_day = rng.integers(1, 6, size=n_emp)
        self.employer_topup_fen = rng.choice([5000, 10000], size=n_emp)
        # mobile-banking logins per day: from once a month to every day; the elderly far less
        rate = 0.2 * rng.lognormal(0.0, 0.9, size=n) * np.where(pop.age >= 65, 0.3, 1.0)
        self.login_rate = np.minimum(rate, 1.0)

    # -- helpers -------------------------------------------------------------------------------
    def _times(
        self, rng: np.random.Generator, day_start: int, n: int, hours: np.ndarray = HOURLY
    ) -> np.ndarray:
        hour = rng.choice(24, size=n, p=hours)
        return day_start + hour * 3600 + rng.integers(0, 3600, size=n)

    def _friend(self, rng: np.random.Generator, who: np.ndarray) -> np.ndarray:
        k = (who * 7 + rng.integers(0, 10, size=len(who))) % len(self.pop.friend_offsets)
        return (who + self.pop.friend_offsets[k]) % self.pop.n

    def _household(self, rng: np.random.Generator, who: np.ndarray) -> np.ndarray:
        return np.clip(who + rng.choice([-2, -1, 1, 2], size=len(who)), 0, self.pop.n - 1)

    # -- calls ---------------------------------------------------------------------------------
    def _colleague(self, rng: np.random.Generator, who: np.ndarray) -> np.ndarray:
        emp = self.pop.employer[who]
        ok = emp >= 0
        e = np.where(ok, emp, 0)
        count = np.where(ok, self.emp_count[e], 0)
        pick = self.emp_start[e] + (rng.random(len(who)) * np.maximum(count, 1)).astype(np.int64)
        pick = np.minimum(pick, max(len(self.by_employer) - 1, 0))
        colleague = self.by_employer[pick] if len(self.by_employer) else who
        return np.where(ok & (count > 1), colleague, who)

    def calls(self, rng: np.random.Generator, day_start: int, weekend: bool = False) -> pa.Table:
        pop, r = self.pop, self.rates
        n = rng.poisson(r.calls * len(self.phones) * (0.9 if weekend else 1.0))
        caller = np.minimum(np.searchsorted(self.caller_cdf, rng.random(n)), pop.n - 1)
        # friend, household, service hub, stranger, colleague (work calls: weekdays only)
        p = [0.5, 0.27, 0.1, 0.13, 0.0] if weekend else [0.42, 0.2, 0.13, 0.13, 0.12]
        kind = rng.choice(5, size=n, p=p)
        callee_idx = np.where(kind == 0, self._friend(rng, caller), self._household(rng, caller))
        callee_idx = np.where(kind == 3, self.phones[rng.integers(len(self.phones), size=n)], callee_idx)
        callee_idx = np.where(kind == 4, self._colleague(rng, caller), callee_idx)
        callee = pop.phone[callee_idx]
        callee = np.where(kind == 2, self.services[rng.integers(len(self.services), size=n)], callee)
        duration = np.minimum(rng.lognormal(4.2, 1.0, size=n), 7200).astype(np.int32)
        duration = np.where(kind == 2, rng.lognormal(5.0, 0.6, size=n), duration)
        duration = np.where(kind == 3, rng.lognormal(3.0, 1.0, size=n), duration)
        # couriers and riders: many short calls to strangers, almost no inbound (hub_legit)
        m = rng.poisson(r.courier_calls * len(self.couriers))
        c_caller = (
            self.couriers[rng.integers(len(self.couriers), size=m)]
            if len(self.couriers)
            else np.zeros(0, int)
        )
        c_callee = pop.phone[self.phones[rng.integers(len(self.phones), size=len(c_caller))]]
        c_dur = np.where(rng.random(len(c_caller)) < 0.15, 0, rng.integers(8, 70, size=len(c_caller)))
        caller = np.concatenate([caller, c_caller])
        callee = np.concatenate([callee, c_callee])
        duration = np.concatenate([duration, c_dur]).astype(np.int32)
        caller_phone = pop.phone[caller]
        keep = (callee > 0) & (callee != caller_phone)
        caller, callee, duration = caller[keep], callee[keep], duration[keep]
        start = self._times(rng, day_start, len(caller))
        cell = pc.binary_join_element_wise(
            ids.to_str(pop.region[caller]), ids.to_str(self.home_cell[caller] + 1000), "-"
        )
        return pa.table(
            {
                "caller": ids.to_str(pop.phone[caller]),
                "callee": ids.to_str(callee),
                "start_at": ts_us(start),
                "duration_s": pa.array(duration, pa.int32()),
                "direction": pa.array(np.full(len(caller), "out")),
                "city": ids.to_str(pop.region[caller]),
                "cell_id": cell,
                "imei": ids.to_str(pop.imei[caller]),
            }
        )

    # -- sms -----------------------------------------------------------------------------------
    def sms(self, rng: np.random.Generator, day_start: int) -> pa.Table:
        pop, r = self.pop, self.rates
        nh = rng.poisson(r.hub_sms * len(self.phones))
        np_ = rng.poisson(r.personal_sms * len(self.phones))
        hub_sender = self.senders[rng.integers(len(self.senders), size=nh)]
        hub_receiver = pop.phone[self.phones[rng.integers(len(self.phones), size=nh)]]
        p_sender = self.phones[rng.integers(len(self.phones), size=np_)]
        p_recv_idx = np.where(
            rng.random(np_) < 0.5, self._friend(rng, p_sender), self._household(rng, p_sender)
        )
        p_receiver = pop.phone[p_recv_idx]
        sender = np.concatenate([hub_sender, pop.phone[p_sender]])
        receiver = np.concatenate([hub_receiver, p_receiver])
        imei = np.concatenate([np.zeros(nh, np.int64), pop.imei[p_sender]])
        text = pa.concat_arrays(
            [
                self.hub_texts.take(pa.array(rng.integers(len(self.hub_texts), size=nh))),
                self.personal_texts.take(pa.array(rng.integers(len(self.personal_texts), size=np_))),
            ]
        )
        keep = (receiver > 0) & (receiver != sender)
        sent = self._times(rng, day_start, int(keep.sum()))
        return pa.table(
            {
                "sender": ids.to_str(sender[keep]),
                "receiver": ids.to_str(receiver[keep]),
                "sent_at": ts_us(sent),
                "text": text.filter(pa.array(keep)),
                "imei": pc.if_else(
                    pa.array(imei[keep] > 0), ids.to_str(imei[keep]), pa.scalar(None, pa.string())
                ),
            }
        )

    # -- money ---------------------------------------------------------------------------------
    def transfers(self, rng: np.random.Generator, day_start: int, local_day: int) -> pa.Table:
        """Ordinary transfers of the day; ``local_day`` is the day of the month (salary on the 10th)."""
        pop, r = self.pop, self.rates
        h = self.holders
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, str, str | None]] = []

        def payer(k: int) -> np.ndarray:
            return pop.account[h[rng.integers(len(h), size=k)]]

        k = rng.poisson(r.shop_payments * len(h))
        pools = np.array([pop.pooled["alipay_pool"], pop.pooled["tenpay_pool"], pop.pooled["unionpay_pool"]])
        to = np.where(
            rng.random(k) < 0.55,
            pools[rng.integers(3, size=k)],
            pop.merchants[rng.integers(len(pop.merchants), size=k)],
        )
        parts.append((payer(k), to, _yuan(rng, k, 45, 1.0), "third_party", None))
        k = rng.poisson(r.family_transfers * len(h))
        src = h[rng.integers(len(h), size=k)]
        dst = np.where(rng.random(k) < 0.5, self._household(rng, src), self._friend(rng, src))
        parts.append(
            (pop.account[src], pop.account[dst], _yuan(rng, k, 500, 1.0, step=100), "mobile", "生活费")
        )
        if 5 <= local_day <= 10:
            k = rng.poisson(r.bills * len(h) * 4)
            utils = np.array([pop.pooled[x] for x in ("state_grid", "water", "gas", "telecom_bill")])
            parts.append(
                (payer(k), utils[rng.integers(4, size=k)], _yuan(rng, k, 120, 0.6), "online", "缴费")
            )
        k = rng.poisson(r.platform_payouts * len(h))
        parts.append(
            (np.full(k, pop.pooled["alipay_pool"]), payer(k), _yuan(rng, k, 300, 1.0), "third_party", "提现")
        )
        if local_day == 10:
            workers = np.flatnonzero((pop.employer >= 0) & (pop.account > 0))
            parts.append(
                (
                    pop.employers[pop.employer[workers]],
                    pop.account[workers],
                    _yuan(rng, len(workers), 6500, 0.45),
                    "online",
                    "代发工资",
                )
            )
        owners = pop.merchant_owner
        settle = owners[rng.random(len(owners)) < 0.3]
        parts.append(
            (
                pop.merchants[np.searchsorted(owners, settle)],
                pop.account[settle],
                _yuan(rng, len(settle), 3000, 0.8),
                "online",
                "结算",
            )
        )
        frm = np.concatenate([p[0] for p in parts])
        to = np.concatenate([p[1] for p in parts])
        amount = np.concatenate([p[2] for p in parts])
        channel = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
        memo = pa.concat_arrays([pa.array([p[4]] * len(p[0]), pa.string()) for p in parts])
        keep = (frm > 0) & (to > 0) & (frm != to)
        n = int(keep.sum())
        hours = np.where(np.arange(24) >= 8, HOURLY, HOURLY / 3)
        return pa.table(
            {
                "from_account": ids.to_str(frm[keep]),
                "to_account": ids.to_str(to[keep]),
                "amount_fen": pa.array(amount[keep], pa.int64()),
                "at": ts_us(self._times(rng, day_start, n, hours / hours.sum())),
                "channel": pa.array(channel[keep]),
                "memo": memo.filter(pa.array(keep)),
                "wallet": pa.nulls(n, pa.string()),
            }
        )

    def withdrawals(self, rng: np.random.Generator, day_start: int) -> pa.Table:
        pop = self.pop
        k = rng.poisson(self.rates.withdrawals * len(self.holders))
        who = self.holders[rng.integers(len(self.holders), size=k)]
        amount = (
            np.maximum(np.round(rng.lognormal(np.log(800), 0.7, size=k) / 100), 1).astype(np.int64) * 10_000
        )
        atm = pc.binary_join_element_wise(
            pa.scalar("ATM"),
            ids.to_str(pop.bank[who]),
            ids.to_str(pop.region[who]),
            ids.to_str(rng.integers(1, 60, size=k)),
            "-",
        )
        return pa.table(
            {
                "account": ids.to_str(pop.account[who]),
                "amount_fen": pa.array(amount),
                "at": ts_us(self._times(rng, day_start, k)),
                "atm_id": atm,
                "location": ids.to_str(pop.region[who]),
            }
        )

    # -- bank logins ----------------------------------------------------------------------------------
    def logins(self, rng: np.random.Generator, day_start: int) -> pa.Table:
        """Mobile-banking logins of the day: main accounts, second accounts, the elderly's by a child."""
        pop = self.pop
        who = self.holders[rng.random(len(self.holders)) < self.login_rate[self.holders]]
        accounts = pop.account[who]
        extra = rng.random(len(pop.extra_accounts)) < 0.08
        who = np.concatenate([who, pop.extra_owner[extra]])
        accounts = np.concatenate([accounts, pop.extra_accounts[extra]])
        child = np.minimum(who + 1, pop.n - 1)  # the next member of the household, when there is one
        helped = (
            (pop.age[who] >= 65)
            & (pop.household[child] == pop.household[who])
            & (pop.age[child] < 50)
            & (pop.imei[child] > 0)
            & (rng.random(len(who)) < 0.5)
        )
        device = np.where(helped, pop.imei[child], pop.imei[who])
        keep = device > 0
        who, accounts, device = who[keep], accounts[keep], device[keep]
        h = pop.household[who]
        ip = pc.binary_join_element_wise(
            pa.scalar("182"), *(ids.to_str(h // 250**k % 250 + 1) for k in range(3)), "."
        )
        return pa.table(
            {
                "account": ids.to_str(accounts),
                "at": ts_us(self._times(rng, day_start, len(who))),
                "imei": ids.to_str(device),
                "ip": ip,
                "city": ids.to_str(pop.region[who]),
            }
        )

    # -- phone cards: data usage and top-ups -----------------------------------------------------------
    def data_usage(self, rng: np.random.Generator, day_start: int) -> pa.Table:
        """Each card's mobile data of the day (one row per card with any use)."""
        who = self.phones[
            (self.data_kb[self.phones] > 0) & (rng.random(len(self.phones)) < self.data_days[self.phones])
        ]
        kb = np.maximum(self.data_kb[who] * rng.lognormal(0.0, 0.6, size=len(who)), 1).astype(np.int64)
        return pa.table(
            {
                "number": ids.to_str(self.pop.phone[who]),
                "start_at": ts_us(np.full(len(who), day_start)),
                "kb": pa.array(kb, pa.int64()),
            }
        )

    def topups(self, rng: np.random.Generator, day_start: int, local_day: int) -> pa.Table:
        """Top-ups of the day: each owner on their day of the month; employers' batches on theirs."""
        pop = self.pop
        phones = self.phones
        due = (self.topup_day[phones] == local_day) & ~self.employer_pays[phones]
        own = phones[due | (rng.random(len(phones)) < EXTRA_TOPUPS_PER_DAY)]  # + the odd extra top-up
        staff = phones[self.employer_pays[phones]]
        staff = staff[self.employer_topup_day[pop.employer[staff]] == local_day]
        staff = staff[np.argsort(pop.employer[staff], kind="stable")]
        channel = self.topup_channel[own]
        from_account = np.isin(channel, ACCOUNT_PAID)
        at = self._times(rng, day_start, len(own))
        at = np.where(channel == "auto_debit", day_start + 2 * 3600 + rng.integers(0, 3600, len(own)), at)
        emp = pop.employer[staff]
        batch_at = day_start + 10 * 3600 + (emp * 7919) % 14_400  # one batch per employer, seconds apart
        rank = np.arange(len(staff)) - np.searchsorted(emp, emp)
        payer = np.concatenate([np.where(from_account, pop.account[own], 0), pop.employers[emp]])
        return pa.table(
            {
                "number": ids.to_str(pop.phone[np.concatenate([own, staff])]),
                "amount_fen": pa.array(
                    np.concatenate([self.topup_fen[own], self.employer_topup_fen[emp]]), pa.int64()
                ),
                "at": ts_us(np.concatenate([at, batch_at + 3 * rank])),
                "channel": pa.array(np.concatenate([channel, np.full(len(staff), "online")])),
                "payer_account": pc.if_else(
                    pa.array(payer > 0), ids.to_str(payer), pa.scalar(None, pa.string())
                ),
            }
        )


def _yuan(rng: np.random.Generator, n: int, median: float, sigma: float, step: int = 1) -> np.ndarray:
    """Log-normal amounts in fen; ``step`` rounds to whole multiples of that many yuan."""
    yuan = rng.lognormal(np.log(median), sigma, size=n)
    if step > 1:
        return np.maximum(np.round(yuan / step), 1).astype(np.int64) * step * 100
    fen = np.round(yuan * 100).astype(np.int64)
    return np.maximum(fen, 100)
