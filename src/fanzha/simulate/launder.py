"""Laundering (跑分) and the per-episode money-path truth.

Each victim payment lands in a layer-1 account and leaves within minutes (快进快出), split over
layer-2 accounts at other banks, relayed to layer 3, then cashed out: ATM withdrawals in other
places (at most 20,000 yuan each, two per card and day), USDT bought over the counter (a transfer
to an OTC trader's account carrying the gang's TRON wallet) or gold. A debit scheduled after the
window's end or after the account was frozen does not happen: the money stays ``held``.
"""

from __future__ import annotations

import numpy as np

from fanzha.simulate import ids
from fanzha.simulate.episodes import Episode, Ids, Payment, fraud_transfer
from fanzha.simulate.population import DAY, Population
from fanzha.simulate.records import Rows

OTC_BATCH = 12 * 3600  # a layer-3 account buys USDT at most once per half day


class Launderer:
    def __init__(
        self,
        rng: np.random.Generator,
        pop: Population,
        ident: Ids,
        rows: Rows,
        truth: Rows,
        freeze: dict[int, int],
        end_s: int,
    ):
        self.rng, self.pop, self.ident, self.rows, self.truth = rng, pop, ident, rows, truth
        self.freeze, self.end_s = freeze, end_s
        self.first_used: dict[int, int] = {}
        self.wallet_first: dict[str, int] = {}  # wallets that really received USDT
        self.otc_queue: list[tuple[int, int, int, str, Episode, int, int]] = []

    def blocked(self, account: int, at: int) -> bool:
        return at >= self.end_s or at >= self.freeze.get(account, 1 << 62)

    def episode(self, ep: Episode) -> None:
        for p in ep.payments:
            self._victim_payment(ep, p)
            self._move(ep, p.to, p.amount, p.at, hop=1, layer=1)

    # -- records -------------------------------------------------------------------------------
    def _transfer(
        self,
        ep: Episode,
        frm: int,
        to: int,
        amount: int,
        at: int,
        hop: int,
        step: str,
        channel: str = "mobile",
        memo: str | None = None,
        wallet: str | None = None,
    ) -> str:
        tid = fraud_transfer(
            self.ident, self.rows, self.truth, ep, frm, to, amount, at, step, channel, memo, wallet
        )
        self._path(ep, hop, "transfer", tid, frm, to, amount, at)
        if step in ("test_payment", "victim_payment", "layering"):
            self.first_used[to] = min(self.first_used.get(to, at), at)
        return tid

    def _path(
        self, ep: Episode, hop: int, kind: str, rid: str, frm: int, to: int | None, amount: int, at: int
    ) -> None:
        self.truth.add(
            "money_paths",
            episode_id=ep.eid,
            victim_id=self.pop.id_number[ep.victim].as_py(),
            hop=hop,
            record_kind=kind,
            record_id=rid,
            from_account=str(frm),
            to_account=None if to is None else str(to),
            amount_fen=amount,
            at=at,
        )

    def _hold(self, ep: Episode, account: int, amount: int) -> None:
        if amount > 0:
            self.truth.add("held", episode_id=ep.eid, account=str(account), amount_fen=amount)

    def _victim_payment(self, ep: Episode, p: Payment) -> None:
        from fanzha.simulate.episodes import MEMOS

        memos = MEMOS.get(ep.typ.code, (None,))
        memo = memos[int(self.rng.integers(len(memos)))]
        elderly = self.pop.age[ep.victim] >= 60
        channel = "counter" if elderly and p.amount >= 5_000_000 and self.rng.random() < 0.4 else "mobile"
        if ep.typ.code in ("cod_parcel", "food_delivery", "fake_shopping"):
            channel = "third_party"
        p.transfer_id = self._transfer(ep, p.frm, p.to, p.amount, p.at, 0, p.step, channel, memo)

    # -- layering ------------------------------------------------------------------------------
    def _split(self, amount: int, k: int) -> list[int]:
        if amount < 200_000 or k == 1:
            return [amount]
        w = self.rng.uniform(0.5, 1.5, size=k)
        parts = [int(amount * x / w.sum()) // 100 * 100 for x in w[:-1]]
        parts = [p for p in parts if p > 0]
        return [*parts, amount - sum(parts)]

    def _move(self, ep: Episode, account: int, amount: int, at: int, hop: int, layer: int) -> None:
        gang = ep.gang
        if layer >= 3:
            self._cashout(ep, account, amount, at, hop)
            return
        delay = int(self.rng.integers(60, 30 * 60)) if layer == 1 else int(self.rng.integers(120, 90 * 60))
        t = at + delay
        if self.blocked(account, t):
            self._hold(ep, account, amount)
            return
        targets = gang.layers[layer + 1]
        parts = self._split(
            amount, int(self.rng.integers(1, 4)) if layer == 1 else int(self.rng.integers(1, 3))
        )
        for part in parts:
            to = self._other_bank(account, targets)
            self._transfer(ep, account, to, part, t, hop, "layering")
            self._move(ep, to, part, t, hop + 1, layer + 1)
            t += int(self.rng.integers(5, 240))

    def _other_bank(self, account: int, targets: list[int]) -> int:
        """Prefer a next-layer account at another bank (cross-bank relay)."""
        head = account // 10**10
        others = [a for a in targets if a // 10**10 != head] or targets
        return others[int(self.rng.integers(len(others)))]

    def _cashout(self, ep: Episode, account: int, amount: int, at: int, hop: int) -> None:
        methods = list(ep.typ.cashout)
        probs = np.array([ep.typ.cashout[m] for m in methods])
        method = methods[int(self.rng.choice(len(methods), p=probs / probs.sum()))]
        t = at + int(self.rng.integers(600, 8 * 3600))
        if self.blocked(account, t):
            self._hold(ep, account, amount)
            return
        if method == "otc":  # batched: see flush_otc
            self.otc_queue.append((account, t // OTC_BATCH, t, ep.eid, ep, amount, hop))
        elif method == "gold":
            shop = int(self.pop.gold_shops[int(self.rng.integers(len(self.pop.gold_shops)))])
            self._transfer(ep, account, shop, amount, t, hop, "cashout_gold", "counter", "黄金饰品")
        else:
            self._atm(ep, account, amount, t, hop)

    def flush_otc(self) -> None:
        """USDT purchases: a layer-3 account buys once per half day with everything it has collected.

        One transfer then carries several victims' money (merge); money_paths gives each victim's
        portion, and the truth row's episode_id is null when the transfer mixes episodes.
        """
        groups: dict[tuple[int, int], list[tuple[int, int, int, str, Episode, int, int]]] = {}
        for item in sorted(self.otc_queue, key=lambda x: (x[1], x[0], x[2], x[3])):
            groups.setdefault((item[1], item[0]), []).append(item)
        for (_bucket, account), items in groups.items():
            t = max(i[2] for i in items) + int(self.rng.integers(60, 1800))
            if self.blocked(account, t):
                for _a, _b, _t, _e, ep, amount, _h in items:
                    self._hold(ep, account, amount)
                continue
            first = items[0][4]
            otc = int(self.pop.otc_merchants[int(self.rng.integers(len(self.pop.otc_merchants)))])
            wallet = first.gang.wallets[int(self.rng.integers(len(first.gang.wallets)))]
            total = sum(i[5] for i in items)
            tid = self.ident.next("TX", t)
            self.rows.add(
                "transfers",
                transfer_id=tid,
                from_account=str(account),
                to_account=str(otc),
                amount_fen=total,
                at=t,
                channel="crypto_otc",
                memo="USDT",
                wallet=wallet,
            )
            episodes = {i[3] for i in items}
            self.truth.add(
                "transfers",
                transfer_id=tid,
                is_fraud=True,
                episode_id=first.eid if len(episodes) == 1 else None,
                gang_id=first.gang.gid,
                step="cashout_otc",
            )
            for _a, _b, _t, _e, ep, amount, hop in items:
                self._path(ep, hop, "transfer", tid, account, otc, amount, t)
            self.wallet_first[wallet] = min(self.wallet_first.get(wallet, t), t)

    def _report_in(self, ep: Episode, cashier: int, region: int, atm: int | str, t: int) -> None:
        """The cashier (取现人员) phones his handler from the ATM's city: a co-location trace."""
        handler = ep.gang.dealers[0] if len(ep.gang.cashiers) < 2 else ep.gang.cashiers[0]
        if handler == cashier:
            handler = ep.gang.cashiers[-1] if ep.gang.cashiers[-1] != cashier else ep.gang.dealers[0]
        at = t + int(self.rng.integers(30, 600))
        if at >= self.end_s or self.pop.phone[cashier] == 0 or self.pop.phone[handler] == 0:
            return
        self.rows.add(
            "calls",
            caller=str(int(self.pop.phone[cashier])),
            callee=str(int(self.pop.phone[handler])),
            start_at=at,
            duration_s=int(self.rng.integers(15, 120)),
            direction="out",
            city=str(region),
            cell_id=f"{region}-{str(atm).rsplit('-', 1)[-1]:0>4}",
            imei=str(int(self.pop.imei[cashier])) if self.pop.imei[cashier] else None,
            is_fraud=True,
            episode_id=None,
            gang_id=ep.gang.gid,
        )

    def _atm(self, ep: Episode, account: int, amount: int, t: int, hop: int) -> None:
        left, n_today = amount, 0
        cashier = ep.gang.cashiers[int(self.rng.integers(len(ep.gang.cashiers)))] if ep.gang.cashiers else -1
        while left >= 10_000:
            if n_today == 2:  # daily ATM limit of a card: come back tomorrow
                t += DAY + int(self.rng.integers(-3600, 3600))
                n_today = 0
            if self.blocked(account, t):
                break
            take = min(left // 10_000 * 10_000, int(self.rng.integers(50, 201)) * 10_000)
            region = int(ids.BIRTH_REGIONS[int(self.rng.integers(len(ids.BIRTH_REGIONS)))])
            wid = self.ident.next("WD", t)
            atm = f"ATM-{int(self.rng.integers(len(ids.BANKS)))}-{region}-{int(self.rng.integers(1, 60))}"
            self.rows.add(
                "withdrawals",
                withdrawal_id=wid,
                account=str(account),
                amount_fen=take,
                at=t,
                atm_id=atm,
                location=str(region),
            )
            self.truth.add(
                "withdrawals", withdrawal_id=wid, is_fraud=True, episode_id=ep.eid, gang_id=ep.gang.gid
            )
            self._path(ep, hop, "withdrawal", wid, account, None, take, t)
            if cashier >= 0 and self.rng.random() < 0.5:
                self._report_in(ep, cashier, region, atm, t)
            left -= take
            n_today += 1
            t += int(self.rng.integers(300, 2400))
        self._hold(ep, account, left)
