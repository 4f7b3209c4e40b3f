"""Fund tracing (资金流向溯源): follow each victim's money hop by hop, in time order, with amounts.

Every transfer and withdrawal touching the accounts reachable from the victims' payments is replayed
in time order (ties: transfers before withdrawals, then record id). Each account keeps the money it
holds as *portions* labelled ``(victim, hop)``; money that is not traced (legitimate inflows, the
account's own balance) is the *clean* portion. An outflow draws from the portions by one of two rules:

``fifo`` (先进先出)
    portions leave in the order they arrived; an outflow larger than everything observed in the
    account is completed from the account's unobserved opening balance (clean money).
``lifo`` (后进先出)
    the latest arrival leaves first: pass-through mules (快进快出) forward what just came in, and on
    simulated laundering this rule locates the most of each victim's money (docs/graph.md);
``match`` (金额匹配)
    mules forward parcels whole: an outflow of exactly the amount of a portion that arrived within
    the last 72 hours (among the last 64 portions; the latest such) takes that portion; else one
    equal to the sum of 2–8 parcels of that window — traced portions and untraced parcels alike
    (consolidation: several victims' parcels, reported or not, leave in one transfer or
    withdrawal; several sets fit: the one with the fewest parcels, of equal parcels the latest);
    else a part of the latest parcel that covers the outflow alone (a split); otherwise as
    ``lifo``. An outflow that cuts parcels (ATM notes, a split, ``lifo``) leaves whole the
    parcels that the account's next outflow takes whole (look-ahead: the records show they were
    still there). Each outflow is *decoded* with the account's next two outflows (within 72 h)
    in view: among every explanation that fits it (a parcel of its amount, a parcel rounded down
    to notes, a set of parcels, a split, other money), the first step of the assignment that
    explains the most of those outflows by whole parcels, sums or notes, then cuts the fewest
    parcels, then comes first in the order above (a bounded search; the greedy steps above when
    the budget runs out or nothing follows). When other parcels fit as well as the chosen ones,
    the victims' money concerned is listed as *ambiguous* (:attr:`TraceResult.ambiguous`).
    :class:`MatchRule` sets the window, the hours, the parts, the decoding;
``proportional`` (按比例)
    every portion contributes in proportion to its share of the observed balance at that moment;
    the split is exact in fen by largest remainders (ties broken by victim, then hop), so the parts
    always add up to the outflow.

A victim's payment (a *source* transfer, hop 0) is wholly the victim's money. Money is never created
or lost: per victim, ``paid = held + cashed out + untraced`` where *held* is what is still in an
account at the end (the stop-pay / freeze targets), *cashed out* is what left through an ATM or
counter withdrawal, a crypto OTC transfer (channel ``crypto_otc`` or a wallet address) or a transfer
to a cash-out merchant (gold …), and *untraced* is what moved on beyond ``max_hops`` or later than
``max_hours`` after the victim's first payment (the last account and the transfer are reported).
Cash-outs are terminal and are recorded even past the limits, because the money is known to be gone.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from fanzha.errors import ConfigError, ValidationError
from fanzha.records.normalise import MAX_FEN

METHODS = ("fifo", "lifo", "match", "proportional")
CLEAN = -1  # victim code of untraced / legitimate money
CHANGE = 1  # fifth item of a lot: the change of a parcel rounded down to ATM notes (MatchRule.change)
TRANSFER_COLUMNS = ("transfer_id", "from_account", "to_account", "amount_fen", "at")
WITHDRAWAL_COLUMNS = ("withdrawal_id", "account", "amount_fen", "at")
FLOW_COLUMNS = ["victim_id", "hop", "transfer_id", "from_account", "to_account", "amount_fen", "at"]
HOLDING_COLUMNS = ["victim_id", "account", "amount_fen"]
CASHOUT_COLUMNS = ["victim_id", "kind", "record_id", "account", "amount_fen", "at", "counterparty"]
UNTRACED_COLUMNS = ["victim_id", "account", "record_id", "to_account", "amount_fen", "at", "reason"]
AMBIGUOUS_COLUMNS = ["victim_id", "record_id", "account", "amount_fen", "at", "taken"]
CANDIDATE_COLUMNS = ["victim_id", "account", "amount_fen", "reason", "new_place", "record_id", "at"]


@dataclass
class TraceResult:
    """``flows``: one row per (victim, transfer) portion; ``holdings``: victim money still in an
    account; ``cashouts``: victim money gone (kind ``cash`` | ``crypto`` | ``gold`` | other merchant
    category); ``untraced``: money that left past the hop / time limit (not followed further)."""

    flows: pd.DataFrame
    holdings: pd.DataFrame
    cashouts: pd.DataFrame
    untraced: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=UNTRACED_COLUMNS))
    sources: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["victim_id", "amount_fen"]))
    method: str = "fifo"
    unmatched_sources: list[str] = field(default_factory=list)
    # match: victims' money whose place depends on the choice among several combinations of parcels
    # that fit a consolidated outflow (the records cannot decide): ``taken`` by the outflow, or
    # left in the account (a parcel of another combination that fits)
    ambiguous: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=AMBIGUOUS_COLUMNS))
    # match: the alternative placements of the ambiguous money (冻结候选): where a victim's parcel
    # would be had the ambiguous outflow been read the other way — ``stays`` in ``account`` (the
    # outflow took another parcel), ``moves`` to ``account`` (the outflow, a transfer, took it) or
    # ``cashed_out`` from ``account`` (the outflow, a withdrawal or cash-out transfer, took it);
    # one row per (victim, ambiguous record, account, reason). ``new_place``: the other reading
    # names another account than the trace for that step (the outflow is a transfer to another
    # account; when it cashes out, both readings name the paying account). Not part of the totals.
    candidates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CANDIDATE_COLUMNS))

    def per_victim(self) -> pd.DataFrame:
        """paid / held / cashed_out / untraced fen per victim (paid = held + cashed_out + untraced);
        ``ambiguous_fen``: how much of it is placed by a choice among combinations that fit."""
        paid = self.sources.groupby("victim_id")["amount_fen"].sum().rename("paid_fen")
        parts = [
            paid,
            self.holdings.groupby("victim_id")["amount_fen"].sum().rename("held_fen"),
            self.cashouts.groupby("victim_id")["amount_fen"].sum().rename("cashed_out_fen"),
            self.untraced.groupby("victim_id")["amount_fen"].sum().rename("untraced_fen"),
            self.ambiguous.groupby("victim_id")["amount_fen"].sum().rename("ambiguous_fen"),
        ]
        out = pd.concat(parts, axis=1).fillna(0).astype("int64")
        out.index.name = "victim_id"
        return out.reset_index()

    def of_victims(self, victims: set[str], transfer_ids: set[str]) -> TraceResult:
        """The part of this result that is the money of ``victims`` paid by ``transfer_ids``."""

        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[frame.victim_id.isin(victims)].reset_index(drop=True)

        return TraceResult(
            flows=keep(self.flows),
            holdings=keep(self.holdings),
            cashouts=keep(self.cashouts),
            untraced=keep(self.untraced),
            sources=keep(self.sources),
            method=self.method,
            unmatched_sources=[t for t in self.unmatched_sources if t in transfer_ids],
            ambiguous=keep(self.ambiguous),
            candidates=keep(self.candidates),
        )

    def check_conservation(self) -> None:
        """Raise :class:`ValidationError` if any victim's money was created or lost."""
        table = self.per_victim()
        bad = table[table.paid_fen != table.held_fen + table.cashed_out_fen + table.untraced_fen]
        if len(bad):
            raise ValidationError(f"money not conserved for victims {list(bad.victim_id[:5])}")


def _frame(data: Any, columns: Iterable[str], what: str) -> pd.DataFrame:
    if data is None:
        return pd.DataFrame({c: [] for c in columns})
    frame = data.to_pandas() if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame) else data
    frame = pd.DataFrame(frame)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"{what} lacks columns {missing}; it needs {list(columns)}")
    return frame


def _micros(values: pd.Series, what: str) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    stamps = pd.to_datetime(values, utc=True)
    if stamps.isna().any():
        raise ValidationError(
            f"{what}.at has {int(stamps.isna().sum())} missing times; every record needs one"
        )
    return stamps.dt.as_unit("us").astype("int64").to_numpy()


def _keys(frame: pd.DataFrame, id_col: str, columns: Iterable[str], what: str) -> None:
    """Record ids and accounts must be present, and ids unique (a missing account would become one
    phantom account ``None`` that merges every such record)."""
    for col in (id_col, *columns):
        missing = frame[col].isna()
        if missing.any():
            first = int(np.flatnonzero(missing.to_numpy())[0])
            which = f" (first: {frame[id_col].iloc[first]!r})" if col != id_col else f" (first: row {first})"
            raise ValidationError(
                f"{what}.{col} is missing in {int(missing.sum())} record(s){which}; fix or drop those records"
            )
    dup = frame[id_col].astype(str).duplicated()
    if dup.any():
        raise ValidationError(
            f"{what} has {int(dup.sum())} duplicate {id_col} value(s) (first: {frame[id_col][dup].iloc[0]!r}); "
            "deduplicate before tracing"
        )


def _amounts(values: pd.Series, what: str) -> np.ndarray:
    arr = values.to_numpy()
    if len(arr) and pd.isna(values).any():
        raise ValidationError(
            f"{what}.amount_fen is missing in {int(pd.isna(values).sum())} record(s); every record needs one"
        )
    if len(arr) and not np.issubdtype(arr.dtype, np.integer):
        raise ValidationError(
            f"{what}.amount_fen must be integer fen (got dtype {values.dtype}); never floats"
        )
    if len(arr) and arr.min() < 0:
        raise ValidationError(f"{what}.amount_fen has negative values (min {arr.min()}); amounts are ≥ 0")
    if len(arr) and arr.max() > MAX_FEN:  # as ingest: beyond any real transfer, and sums must not wrap
        raise ValidationError(
            f"{what}.amount_fen has implausibly large values (max {arr.max()} fen > {MAX_FEN}); "
            "amounts are integer fen — check the unit"
        )
    return arr.astype(np.int64, copy=False) if len(arr) else np.zeros(0, dtype=np.int64)


def _source_map(sources: Any, transfer_ids: pd.Series) -> tuple[dict[int, str], list[str]]:
    """transfer row → victim id; and the source ids that match no transfer."""
    if isinstance(sources, Mapping):
        frame = pd.DataFrame({"transfer_id": list(sources), "victim_id": list(sources.values())})
    else:
        frame = _frame(sources, ("victim_id", "transfer_id"), "sources")
    dup = frame[frame.duplicated("transfer_id", keep=False)]
    if len(dup) and dup.groupby("transfer_id")["victim_id"].nunique().max() > 1:
        raise ValidationError(
            f"source transfer {dup.transfer_id.iloc[0]!r} is given for several victims; give each payment once"
        )
    frame = frame.drop_duplicates("transfer_id")
    index = pd.Index(transfer_ids.astype(str))
    if not index.is_unique:
        raise ValidationError("transfers has duplicate transfer_id values; deduplicate before tracing")
    pos = index.get_indexer(frame.transfer_id.astype(str))
    unmatched = [str(t) for t, p in zip(frame.transfer_id, pos, strict=True) if p < 0]
    mapping = {int(p): str(v) for p, v in zip(pos, frame.victim_id, strict=True) if p >= 0}
    return mapping, unmatched


def _reachable(frm: np.ndarray, to: np.ndarray, n: int, starts: np.ndarray) -> np.ndarray:
    """Accounts reachable from ``starts`` along transfer direction (ignoring time), as a mask.

    One breadth-first search from a virtual root (node ``n``) linked to every start."""
    rows = np.concatenate([frm, np.full(len(starts), n)])
    cols = np.concatenate([to, starts])
    graph = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n + 1, n + 1))
    order = csgraph.breadth_first_order(graph, n, directed=True, return_predecessors=False)
    mask = np.zeros(n, dtype=bool)
    mask[order[order < n]] = True
    return mask


def _sums(items: list[tuple[int, int]], target: int, max_parts: int) -> Iterator[list[int]]:
    """Every set of 2 … ``max_parts`` items whose amounts add up to ``target`` exactly (indices).

    Depth-first over the amounts in decreasing order (ties: the later position first — of two
    parcels of one amount the latest leaves, as with single parcels), pruned by the largest sum
    still reachable, so most searches end at once; solutions come in that order."""
    ranked = sorted(items, key=lambda x: (-x[0], -x[1]))
    amounts = [a for a, _ in ranked]
    if sum(amounts[:max_parts]) < target:
        return

    def search(start: int, left: int, slots: int) -> Iterator[list[int]]:
        for j in range(start, len(ranked)):
            a = amounts[j]
            if a > left:
                continue
            if sum(amounts[j : j + slots]) < left:
                return  # even the largest remaining amounts cannot reach it
            if a == left:
                yield [ranked[j][1]]
            elif slots > 1:
                for rest in search(j + 1, left - a, slots - 1):
                    yield [ranked[j][1], *rest]

    for found in search(0, target, max_parts):
        if len(found) >= 2:
            yield found


def _subset_sum(
    items: list[tuple[int, int]], target: int, max_parts: int, fewest: bool = False
) -> list[int] | None:
    """Indices of 2 … ``max_parts`` items whose amounts add up to ``target`` exactly, or None:
    the first set in :func:`_sums` order; ``fewest``: the first of those with the fewest items."""
    return _consolidation(items, target, max_parts, fewest, alternatives=0)[0]


def _consolidation(
    items: list[tuple[int, int]], target: int, max_parts: int, fewest: bool = True, alternatives: int = 8
) -> tuple[list[int] | None, list[int]]:
    """The combination of parcels taken for a consolidated outflow (see :func:`_subset_sum`), and
    the parcels of other combinations of 2 … ``max_parts`` parcels that fit too (among the first
    ``alternatives`` in :func:`_sums` order), not in the chosen one: when there are any, the records
    leave the choice *ambiguous*."""
    found: list[int] | None = None
    if fewest:
        for k in range(2, max_parts + 1):
            found = next(_sums(items, target, k), None)
            if found is not None:
                break
    else:
        found = next(_sums(items, target, max_parts), None)
    if found is None:
        return None, []
    chosen = set(found)
    others: set[int] = set()
    for sol in islice(_sums(items, target, max_parts), alternatives):
        if set(sol) != chosen:
            others.update(i for i in sol if i not in chosen)
    return found, sorted(others)


@dataclass(frozen=True)
class MatchRule:
    """How ``match`` recognises forwarded parcels (see :meth:`_Ledger._take_match`)."""

    window: int = 64  # last lots of the account considered
    hours: float | None = 72.0  # only lots that arrived this recently (None: any age)
    oldest_first: bool = False  # several lots of the outflow's amount: the oldest (else the latest)
    max_parts: int = 8  # ≥ 2: also sums of up to this many lots (1: single lots only)
    max_lots: int = 12  # traced lots searched for sums (the most recent)
    dormant_hours: float | None = None  # traced lots older than this leave only by a match
    # untraced inflows (unreported victims' parcels, legitimate payments) keep their identity as
    # clean lots, also those that reached the account before any traced money: an outflow of
    # exactly their amount takes them, not a traced parcel (False: the former rule, where clean
    # money was one undifferentiated balance)
    clean_parcels: bool = True
    clean_memory: int = 16  # clean parcels remembered per account without traced money
    # ATMs pay out whole notes: a mule emptying a parcel at an ATM withdraws it rounded down to
    # this many fen (100 yuan); a withdrawal that equals a lot rounded down takes it from that lot
    # (the change stays; several such lots: the one leaving the least change, then the latest).
    # None: withdrawals match like transfers.
    atm_note: int | None = 10_000
    # consolidation: the sums also use the clean parcels (an unreported victim's parcel bought
    # USDT in the same transfer as ours); False: traced lots only
    clean_in_sums: bool = True
    # several combinations fit: the one with the fewest parcels (then the first with the largest
    # parcels); False: the first with the largest parcels
    fewest_parts: bool = True
    # no parcel nor set of parcels fits: a part of one lot that covers the outflow alone (a mule
    # splitting a parcel), "latest" or "smallest" (the least left); None: lifo over the lots
    cover: str | None = "latest"
    # look-ahead: a parcel that the account's next outflow takes whole was not cut just before it.
    # When an outflow is not explained by whole parcels (ATM notes, a split, lifo), the account's
    # next outflow within ``reserve_hours`` is read with the whole-parcel steps (one parcel of its
    # amount, else a consolidation, over the parcels there now and those arriving before it); the
    # parcels it takes are *reserved*: the outflow takes other money (another candidate parcel,
    # else the other lots latest first, else the unobserved opening balance). ``reserve_outflows``
    # > 1 reads further outflows, up to the first that no whole parcels explain (measured worse:
    # spurious sums far ahead). None: no look-ahead (the rule before 21 Nov, 12:15 UTC)
    reserve_hours: float | None = 72.0
    reserve_outflows: int = 1
    # per-account decoding (round 5): each outflow's choice among every explanation that fits it
    # (parcels of its amount, parcels rounded down to notes, sets of parcels, a split, other money)
    # is the first step of the assignment that explains the most of the account's outflows over
    # the next ``decode_outflows`` within ``reserve_hours`` (whole parcels, sums, ATM notes),
    # then the fewest cut parcels, then the greedy order; a search of at most ``decode_budget``
    # nodes, else the greedy rule. False: the greedy rule with its look-ahead
    decode: bool = True
    decode_outflows: int = 2
    decode_budget: int = 2_000
    decode_sums: int = 4  # sets of parcels tried per outflow (fewest parcels first)
    decode_atm: bool = True  # later withdrawals may be explained by a parcel rounded down
    decode_atm_cut: bool = False  # a parcel rounded down counts as a cut parcel
    # change of a parcel rounded down at the ATM (less than one note) stays in the account (the
    # mule took what the ATM could pay): the other-money steps (lifo, after the whole-parcel steps)
    # never take it — the other lots, else the unobserved opening balance pay ("never"); "last":
    # they take it after every other lot (measured worse); None: a lot like any other (round 5).
    # Whole-parcel steps (its amount, a sum, a split) still may.
    change: str | None = "never"
    # decoding: of readings that explain as many outflows with as few cut parcels, the one that
    # moves the fewest parcels (a consolidation of two parcels rather than four), then the greedy order
    decode_fewest: bool = False
    # the change of a parcel rounded down at the ATM is no parcel of a sum (consolidation) either:
    # it stays out of the sets of parcels and of the last ``max_lots`` parcels searched for them
    # (greedy step 3, decoding, look-ahead); True: it is a parcel like any other (round 6)
    sum_change: bool = False
    # a parcel emptied over several ATM visits (round 8): cash-out mules withdraw a parcel up to the
    # daily limit, then the rest at the next visit. A withdrawal of whole notes that leaves of one
    # parcel exactly what the account's next outflow — a withdrawal within ``visit_hours`` — takes
    # rounded down to notes is a first visit to that parcel (greedy: after one parcel rounded down,
    # before the sums if ``visit_first``; decoding: an explanation, not a cut). The second visit
    # then takes the rest of that parcel first. None: off (the rule before round 8)
    visit_hours: float | None = 48.0
    visit_first: bool = True
    # decoding: a first visit counts as an explained outflow (True), or the two visits together as
    # one (False: one parcel cashed out)
    visit_counts: bool = False
    # a parcel drained at the ATM over days (round 9): a cashier empties a big parcel in whole notes
    # up to the card's daily limit, day after day, past ``hours``. A withdrawal that cuts a parcel
    # (notes, a first visit, a split) restarts that parcel's clock, so the next withdrawals still
    # see it; False: a parcel leaves the window ``hours`` after it arrived (the rule before round 9)
    drain: bool = True
    # one parcel of the outflow's amount and a set of other parcels that sums to it fit alike: the
    # choice (the one parcel) is reported as ambiguous, the set's parcels as its other reading (冻结候选).
    # False: only other parcels of the same amount made it ambiguous (the rule before the tenth
    # session; where the money is placed is the same either way)
    set_ties_ambiguous: bool = True
    # a parcel that a later outflow of the account takes whole — one outflow of exactly its amount
    # within ``reserve_hours``, however many outflows come between — is not taken by other money
    # (lifo, greedy or decoded) before it: the owner's own spending comes from the other lots or
    # the unobserved opening balance (a card farmer paying 1,300 yuan from the card took a
    # 469-yuan parcel that left whole to an OTC merchant four hours later). An inflow of that
    # amount arriving before the outflow explains it instead. False: the rule before the twelfth
    # session (only the parcels of the next outflows were reserved)
    reserve_exact: bool = True

    @property
    def hours_us(self) -> int | None:
        return None if self.hours is None else int(self.hours * 3_600_000_000)


@dataclass
class _Future:
    """The replayed events in order, indexed per account, for the look-ahead of :class:`MatchRule`
    (``reserve_hours``): ``pos[starts[a]:starts[a + 1]]`` are the positions of the events that move
    money out of or into account ``a``, in order."""

    payer: np.ndarray
    payee: np.ndarray  # -1 for withdrawals
    amount: np.ndarray
    at: np.ndarray
    starts: np.ndarray
    pos: np.ndarray

    @classmethod
    def build(
        cls, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray, at: np.ndarray, n_acc: int
    ) -> _Future:
        n = len(payer)
        into = np.flatnonzero((payee >= 0) & (payee != payer))
        key = np.concatenate([payer, payee[into]]).astype(np.int64) * (n + 1)
        key += np.concatenate([np.arange(n, dtype=np.int64), into])
        key.sort()  # by account, then position (one integer key sorts faster than lexsort)
        starts = np.searchsorted(key, np.arange(n_acc + 1, dtype=np.int64) * (n + 1))
        return cls(payer, payee, amount, at, starts, (key % (n + 1)).astype(np.int32))


class _Ledger:
    """Per-account portions of traced money; untraced accounts keep only a clean balance."""

    def __init__(self, n_accounts: int, method: str, match: MatchRule | None = None) -> None:
        self.lifo = method in ("lifo", "match")
        self.match = method == "match"
        self.rule = match or MatchRule()
        self.now = 0  # time of the event being replayed (µs): new lots carry it
        self.method = "fifo" if self.lifo else method  # lifo keeps the same lot queue, taken from the end
        self.clean = [0] * n_accounts
        self.state: dict[int, Any] = {}
        # traced fen per account with portions: the state collapses to a clean balance at zero
        # (a counter, not a scan of the portion list on every outflow: mixed accounts hold many)
        self.traced: dict[int, int] = {}
        # match: recent clean parcels (amount, time) of accounts without traced money
        self.parcels = self.match and self.rule.clean_parcels
        # (amounts, arrival times): two short lists (≤ clean_memory), the amount lookup runs in C
        self.recent: dict[int, tuple[list[int], list[int]]] = {}
        # match: the last outflow was a consolidation that another combination of parcels fits too;
        # its parts (victim, record row, account, fen) are listed by the replay
        self.ambiguous = False
        self.ambiguous_left: list[tuple[int, int]] = []  # (victim, fen) of the other sets' traced parcels
        # (victim, record row, account, fen, taken: 1 | left in the account: 0)
        self.ambiguous_parts: list[tuple[int, int, int, int, int]] = []
        # per ambiguous part: the account its record moves money to, -1 if it cashes out (set after)
        self.ambiguous_dest: np.ndarray = np.zeros(0, dtype=np.int64)
        # match look-ahead (MatchRule.reserve_hours): the events in order and the position of the
        # event being replayed
        self.future: _Future | None = None
        self.pos = 0
        self._reserved_now: set[int] | None = None
        self._atm_cut = int(self.rule.decode_atm_cut)
        # keys (positions in the account's lots) of change lots kept out of sums (MatchRule.sum_change)
        self._no_sum: set[int] = set()
        # MatchRule.visit_hours: account -> (the lot a first ATM visit cut, the fen the next visit takes)
        self._visit: dict[int, tuple[list[int], int]] = {}
        self._visit_now: tuple[list[int], int] | None = None

    def clean_in(self, account: int, amount: int) -> None:
        """Untraced money reaching an account that holds no traced money."""
        self.clean[account] += amount
        if self.parcels and amount > 0:
            q = self.recent.get(account)
            if q is None:
                self.recent[account] = ([amount], [self.now])
            else:
                q[0].append(amount)
                q[1].append(self.now)
                if len(q[0]) > self.rule.clean_memory:
                    del q[0][0], q[1][0]

    def clean_out(self, account: int, amount: int) -> None:
        """Money leaving an account that holds no traced money (its clean parcels, by the match rule)."""
        left = self.clean[account] - amount
        self.clean[account] = left if left > 0 else 0
        q = self.recent.get(account) if self.parcels else None
        if q is not None and q[0]:
            self.spend(q, amount)

    @staticmethod
    def spend(q: tuple[list[int], list[int]], amount: int) -> None:
        """Remove ``amount`` from remembered clean parcels: one of exactly that amount, else the latest."""
        amounts, times = q
        if amount in amounts:  # a parcel of exactly this amount leaves whole
            i = amounts.index(amount)
            del amounts[i]
            del times[i]
            return
        rem = amount
        while rem and amounts:  # else the latest first (as lifo)
            last = amounts[-1]
            if last <= rem:
                rem -= last
                amounts.pop()
                times.pop()
            else:
                amounts[-1] = last - rem
                rem = 0

    def _opening(self, account: int) -> list[list[int]]:
        """The lots of an account that receives traced money for the first time: its unobserved
        opening balance, then (match) the clean parcels that arrived within the window."""
        opening = self.clean[account]
        self.clean[account] = 0
        lots: list[list[int]] = []
        q = self.recent.pop(account, None)
        if q:
            hours = self.rule.hours_us
            lots = [
                [CLEAN, 0, a, t] for a, t in zip(*q, strict=True) if hours is None or t >= self.now - hours
            ]
            while lots and sum(lot[2] for lot in lots) > opening:  # spent earlier: oldest gone first
                lots.pop(0)
            opening -= sum(lot[2] for lot in lots)
        return ([[CLEAN, 0, opening, 0]] if opening else []) + lots

    def add(self, account: int, victim: int, hop: int, amount: int) -> None:
        if amount <= 0:
            return
        st = self.state.get(account)
        if victim == CLEAN:
            if st is None:
                self.clean_in(account, amount)
            elif self.method == "fifo":
                if st and st[-1][0] == CLEAN and not self.parcels:
                    st[-1][2] += amount
                else:
                    st.append([CLEAN, 0, amount, self.now])
                    w = self.rule.window + 1
                    if (
                        self.parcels
                        and len(st) > w + 1
                        and st[-w][0] == CLEAN
                        and st[-w - 1][0] == CLEAN
                        and len(st[-w - 1]) == 4  # not the change of notes (MatchRule.change)
                    ):
                        # out of the match window a clean lot is only a balance: merge it (short ledgers)
                        st[-w - 1][2] += st[-w][2]
                        del st[-w]
            else:
                st[(CLEAN, 0)] = st.get((CLEAN, 0), 0) + amount
            return
        if st is None:
            st_new: Any
            if self.method == "fifo":
                st_new = deque(self._opening(account))
            else:
                opening = self.clean[account]
                self.clean[account] = 0
                st_new = {(CLEAN, 0): opening} if opening else {}
            self.state[account] = st = st_new
        self.traced[account] = self.traced.get(account, 0) + amount
        if self.method == "fifo":
            st.append([victim, hop, amount, self.now])
        else:
            st[(victim, hop)] = st.get((victim, hop), 0) + amount

    def take(self, account: int, amount: int, atm: bool = False) -> list[tuple[int, int, int]]:
        """Remove ``amount`` from the account; returns the (victim, hop, fen) portions it consisted of.
        ``atm``: the outflow is a cash withdrawal (see :attr:`MatchRule.atm_note`)."""
        st = self.state.get(account)
        if st is None:
            self.clean_out(account, amount)
            return []
        self.ambiguous = False
        if self.method == "fifo":
            self._reserved_now = None
            # a first ATM visit to a parcel before this withdrawal (MatchRule.visit_hours)
            self._visit_now = self._visit.pop(account, None) if atm and self._visit else None
            matched = None
            if self.match and self.rule.decode and self.future is not None:
                matched = self._take_decoded(st, amount, account, atm)
            if matched is None and self.match:
                matched = self._take_match(st, amount, account, atm)
            if matched is not None:
                out = matched
            else:
                dormant = self.rule.dormant_hours if self.match else None
                if dormant is not None:
                    out = self._take_lifo_awake(st, amount, self.now - int(dormant * 3_600_000_000))
                elif self.match and (self._reserve(st, account) or self.rule.change):
                    out = self._take_lifo_skip(st, amount, self._reserve(st, account), self.rule.change)
                else:
                    out = self._take_end(st, amount, newest=self.lifo)
        else:
            out = self._take_prop(st, amount)
        if out:
            left = self.traced[account] - sum(part for _v, _h, part in out)
            self.traced[account] = left
            if not left:
                self._collapse(account, st)
        return out

    @staticmethod
    def _take_end(st: deque[list[int]], amount: int, newest: bool) -> list[tuple[int, int, int]]:
        """FIFO (oldest lots first) or LIFO (``newest``): consume lots from one end of the ledger."""
        out: list[tuple[int, int, int]] = []
        rem = amount
        end = -1 if newest else 0
        while rem and st:
            lot = st[end]
            if lot[2] <= rem:
                if newest:
                    st.pop()
                else:
                    st.popleft()
                rem -= lot[2]
                if lot[0] != CLEAN:
                    out.append((lot[0], lot[1], lot[2]))
            else:
                lot[2] -= rem
                if lot[0] != CLEAN:
                    out.append((lot[0], lot[1], rem))
                rem = 0
        return out  # any remainder came from the unobserved opening balance (clean)

    def _reserve(self, st: deque[list[int]], account: int) -> set[int]:
        """The lots (positions in ``st``) that the account's next outflow takes whole (see
        :attr:`MatchRule.reserve_hours`); computed once per outflow, only when a step needs it."""
        if self._reserved_now is None:
            self._reserved_now = self._look_ahead(st, account)
            self._reserved_now |= self._exact_ahead(st, account, self._reserved_now)
        return self._reserved_now

    def _exact_ahead(self, st: deque[list[int]], account: int, taken: set[int]) -> set[int]:
        """The parcels (positions in ``st``, not in ``taken``) that a later outflow of the account
        within ``reserve_hours`` takes whole: one outflow of exactly a parcel's amount, the latest
        such parcel, unless an inflow of that amount arrives in between or a ``taken`` parcel of
        that amount explains it (see :attr:`MatchRule.reserve_exact`)."""
        rule, fut, ahead = self.rule, self.future, self._ahead(account)
        if fut is None or ahead is None or not rule.reserve_exact:
            return set()
        k, hi, limit = ahead
        hours = rule.hours_us
        first = max(0, len(st) - rule.window)
        free = [i for i in range(first, len(st)) if st[i][3] > 0 and i not in taken]
        # outflows of a parcel's amount already explained: by a parcel arriving before them, or
        # by a parcel ``taken`` (reserved by the reading of the next outflows)
        explained: dict[int, int] = {}
        for i in taken:
            explained[st[i][2]] = explained.get(st[i][2], 0) + 1
        reserved: set[int] = set()
        for at, amt, payer in self._events(fut, k, hi):
            if at > limit:
                break
            if payer != account:
                explained[amt] = explained.get(amt, 0) + 1
            elif explained.get(amt):
                explained[amt] -= 1
            else:
                since = at - hours if hours is not None else None
                for i in reversed(free):
                    if st[i][2] == amt and (since is None or st[i][3] >= since) and i not in reserved:
                        reserved.add(i)
                        break
        return reserved

    def _ahead(self, account: int) -> tuple[int, int, int] | None:
        """Where the account's events after the one being replayed start and end in ``future.pos``,
        and the time limit of the look-ahead (``reserve_hours``); None when there is none."""
        rule, fut = self.rule, self.future
        if fut is None or rule.reserve_hours is None:
            return None
        lo, hi = int(fut.starts[account]), int(fut.starts[account + 1])
        k = lo + int(np.searchsorted(fut.pos[lo:hi], self.pos, side="right"))
        return (k, hi, self.now + int(rule.reserve_hours * 3_600_000_000)) if k < hi else None

    def _look_ahead(self, st: deque[list[int]], account: int) -> set[int]:
        rule, fut, ahead = self.rule, self.future, self._ahead(account)
        if fut is None or ahead is None or rule.reserve_outflows < 1:
            return set()
        k, hi, limit = ahead
        hours = rule.hours_us
        # parcels now in the account: [amount, arrival, position in st] (not the opening balance)
        lots = [
            [st[i][2], st[i][3], i] for i in range(max(0, len(st) - rule.window), len(st)) if st[i][3] > 0
        ]
        reserved: set[int] = set()
        outs = 0
        for at, amt, payer in self._events(fut, k, hi):
            if at > limit:
                break
            if payer != account:  # money coming in: a parcel (its owner does not matter here)
                if amt > 0:
                    lots.append([amt, at, -1])
                continue
            since = at - hours if hours is not None else None
            recent = [x for x in range(len(lots)) if since is None or lots[x][1] >= since]
            equal = [x for x in recent if lots[x][0] == amt]
            fit: list[int] | None
            if equal:
                fit = [equal[-1]]
            else:
                parts = [
                    x
                    for x in recent
                    if 0 < lots[x][0] < amt
                    and (rule.sum_change or lots[x][2] < 0 or len(st[lots[x][2]]) == 4)
                ][-rule.max_lots :]
                fit = (
                    _consolidation(
                        [(lots[x][0], x) for x in parts], amt, rule.max_parts, rule.fewest_parts, 0
                    )[0]
                    if rule.max_parts >= 2 and len(parts) > 1
                    else None
                )
            if fit is None:  # an outflow that cuts parcels: what follows it is not predictable
                break
            reserved.update(lots[x][2] for x in fit if lots[x][2] >= 0)
            gone = set(fit)
            lots = [lot for x, lot in enumerate(lots) if x not in gone]
            outs += 1
            if outs >= rule.reserve_outflows:
                break
        return reserved

    @staticmethod
    def _events(fut: _Future, k: int, hi: int, chunk: int = 16) -> Iterator[tuple[int, int, int]]:
        """(time, fen, payer) of the account's events ``k …`` (``hi`` excluded), read in chunks."""
        while k < hi:
            seg = fut.pos[k : min(hi, k + chunk)]
            yield from zip(
                fut.at[seg].tolist(), fut.amount[seg].tolist(), fut.payer[seg].tolist(), strict=True
            )
            k += chunk
            chunk *= 4

    @staticmethod
    def _take_lifo_skip(
        st: deque[list[int]], amount: int, reserved: set[int], change: str | None = None
    ) -> list[tuple[int, int, int]]:
        """``lifo`` over the lots that are not ``reserved`` (positions in ``st``); the rest of the
        outflow comes from the unobserved opening balance (clean), not from reserved parcels.
        ``change`` (:attr:`MatchRule.change`): the change left by ATM notes is skipped too, and
        ("last") taken only when the other lots do not cover the outflow."""
        out: list[tuple[int, int, int]] = []
        rem = amount
        cut: list[int] = []  # positions emptied, deleted at the end (positions stay valid)
        passes = (False, True) if change == "last" else (False,)
        for second in passes:
            for i in range(len(st) - 1, -1, -1):
                if not rem:
                    break
                lot = st[i]
                is_change = change is not None and len(lot) > 4
                if i in reserved or is_change != second:
                    continue
                if lot[2] <= rem:
                    rem -= lot[2]
                    if lot[0] != CLEAN and lot[2]:
                        out.append((lot[0], lot[1], lot[2]))
                    lot[2] = 0
                    cut.append(i)
                else:
                    lot[2] -= rem
                    if lot[0] != CLEAN:
                        out.append((lot[0], lot[1], rem))
                    rem = 0
        for i in sorted(cut, reverse=True):
            del st[i]
        return out

    def _take_match(
        self, st: deque[list[int]], amount: int, account: int = -1, atm: bool = False
    ) -> list[tuple[int, int, int]] | None:
        """Parcels forwarded whole: among the last ``window`` lots that arrived within ``hours``,
        one lot of exactly the outflow (the latest such; ``oldest_first``: the oldest), else (ATM)
        a lot rounded down to whole notes, else a combination of up to ``max_parts`` of the last
        ``max_lots`` parcels summing to it exactly (a mule consolidating parcels into one transfer
        or withdrawal; ``clean_in_sums``: clean parcels count too, the unobserved opening balance
        never; ``fewest_parts``: the set with the fewest parcels), else (``cover``) a part of
        the latest lot that covers the outflow alone; sets :attr:`ambiguous` when other lots fit
        as well. None when nothing fits (the caller takes lifo)."""
        rule = self.rule
        since = self.now - rule.hours_us if rule.hours_us is not None else None
        lo = max(0, len(st) - rule.window)
        recent = [i for i in range(lo, len(st)) if since is None or st[i][3] >= since]
        equal = [i for i in recent if st[i][2] == amount]
        if equal:
            pick = equal[0] if rule.oldest_first else equal[-1]
            lot = st[pick]
            # parcels of the same amount but another owner (a victim, or clean money) fit too, or
            # (set_ties_ambiguous) a set of other parcels
            others = [i for i in equal if st[i][0] != lot[0]]
            if rule.set_ties_ambiguous and rule.max_parts >= 2:
                parts = self._sum_parts(st, recent, amount)
                combo = _subset_sum([(st[i][2], i) for i in parts], amount, rule.max_parts, rule.fewest_parts)
                if combo and any(st[i][0] != lot[0] for i in combo):
                    others += combo
            self._note_others(sorted(set(others)), st)
            del st[pick]
            return [(lot[0], lot[1], lot[2])] if lot[0] != CLEAN else []
        note = rule.atm_note
        visit = self._visit_now
        if atm and note:
            notes = [i for i in recent if st[i][2] > amount and st[i][2] // note * note == amount]
            if notes and self.future is not None:  # not a parcel the next outflow takes whole
                reserved = self._reserve(st, account)
                notes = [i for i in notes if i not in reserved]
            if notes:  # the least change left behind (then the latest)
                pick = min(notes, key=lambda i: (st[i][2], -i))
                if visit is not None and visit[1] == amount:  # the second visit to a parcel
                    pick = next((i for i in notes if st[i] is visit[0]), pick)
                self._note_others([i for i in notes if i != pick], st)  # the change stays elsewhere
                lot = st[pick]
                self._cut(lot, amount, atm)
                if len(lot) == 4:
                    lot.append(CHANGE)  # the change of the notes (see MatchRule.change)
                return [(lot[0], lot[1], amount)] if lot[0] != CLEAN else []
        if atm and note and rule.visit_first:
            out = self._take_visit(st, amount, account, recent)
            if out is not None:
                return out
        if rule.max_parts >= 2:
            parts = self._sum_parts(st, recent, amount)
            combo, others = (
                _consolidation([(st[i][2], i) for i in parts], amount, rule.max_parts, rule.fewest_parts)
                if len(parts) > 1
                else (None, [])
            )
            if combo is not None:
                self._note_others(others, st)  # other parcels fit too: they stay, by this choice
                out = [(st[i][0], st[i][1], st[i][2]) for i in sorted(combo) if st[i][0] != CLEAN]
                for i in sorted(combo, reverse=True):
                    del st[i]
                return out
        if atm and note and not rule.visit_first:
            out = self._take_visit(st, amount, account, recent)
            if out is not None:
                return out
        if rule.cover:  # a part of one parcel (a split): one lot that covers the outflow alone
            covering = [i for i in recent if st[i][3] > 0 and st[i][2] > amount]
            if covering and self.future is not None:
                reserved = self._reserve(st, account)
                covering = [i for i in covering if i not in reserved]
            if covering:
                pick = covering[-1] if rule.cover == "latest" else min(covering, key=lambda i: (st[i][2], -i))
                lot = st[pick]
                self._cut(lot, amount, atm)
                return [(lot[0], lot[1], amount)] if lot[0] != CLEAN else []
        return None

    def _sum_parts(self, st: deque[list[int]], recent: list[int], amount: int) -> list[int]:
        """The lots a consolidation may sum: the last ``max_lots`` of ``recent`` below ``amount``,
        traced ones and (``clean_in_sums``) clean ones with an arrival, not the opening balance."""
        rule = self.rule
        if rule.clean_in_sums:
            parts = [
                i
                for i in recent
                if st[i][3] > 0 and 0 < st[i][2] < amount and (rule.sum_change or len(st[i]) == 4)
            ]
        else:
            parts = [i for i in recent if st[i][0] != CLEAN and st[i][2] < amount]
        return parts[-rule.max_lots :]

    def _cut(self, lot: list[int], amount: int, atm: bool) -> None:
        """Take ``amount`` out of ``lot``; a withdrawal restarts its clock (:attr:`MatchRule.drain`)."""
        lot[2] -= amount
        if atm and self.rule.drain and lot[3] > 0:
            lot[3] = self.now

    def _next_visit(self, account: int) -> int | None:
        """(:attr:`MatchRule.visit_hours`) the fen of the account's next outflow if it is a
        withdrawal within ``visit_hours``, else None."""
        rule, fut = self.rule, self.future
        if fut is None or rule.visit_hours is None:
            return None
        lo, hi = int(fut.starts[account]), int(fut.starts[account + 1])
        k = lo + int(np.searchsorted(fut.pos[lo:hi], self.pos, side="right"))
        limit = self.now + int(rule.visit_hours * 3_600_000_000)
        while k < hi:
            e = int(fut.pos[k])
            if int(fut.at[e]) > limit:
                return None
            if int(fut.payer[e]) == account:
                return int(fut.amount[e]) if fut.payee[e] < 0 else None
            k += 1
        return None

    def _take_visit(
        self, st: deque[list[int]], amount: int, account: int, recent: list[int]
    ) -> list[tuple[int, int, int]] | None:
        """A first ATM visit to a parcel (see :attr:`MatchRule.visit_hours`): whole notes, and the
        parcel's rest rounded down to notes is the account's next outflow, a withdrawal."""
        rule = self.rule
        note = rule.atm_note
        if not note or rule.visit_hours is None or amount % note:
            return None
        nxt = self._next_visit(account)
        if nxt is None:
            return None
        fits = [
            i
            for i in recent
            if st[i][3] > 0
            and len(st[i]) == 4
            and st[i][2] > amount
            and (st[i][2] - amount) // note * note == nxt
        ]
        if fits and self.future is not None:
            reserved = self._reserve(st, account)
            fits = [i for i in fits if i not in reserved]
        if not fits:
            return None
        pick = min(fits, key=lambda i: (st[i][2], -i))
        self._note_others([i for i in fits if i != pick], st)
        lot = st[pick]
        self._cut(lot, amount, True)
        self._visit[account] = (lot, nxt)
        return [(lot[0], lot[1], amount)] if lot[0] != CLEAN else []

    def _upcoming(self, account: int) -> list[tuple[int, int, int]]:
        """The account's events after the one being replayed, within ``reserve_hours`` and up to
        its ``decode_outflows``-th outflow: (time, fen, kind) with kind 0 inflow, 1 transfer out,
        2 withdrawal."""
        rule, fut, ahead = self.rule, self.future, self._ahead(account)
        if fut is None or ahead is None:
            return []
        k, hi, limit = ahead
        out: list[tuple[int, int, int]] = []
        outs = 0
        while k < hi and outs < rule.decode_outflows:
            seg = fut.pos[k : min(hi, k + 16)]
            for at, amt, payer, payee in zip(
                fut.at[seg].tolist(),
                fut.amount[seg].tolist(),
                fut.payer[seg].tolist(),
                fut.payee[seg].tolist(),
                strict=True,
            ):
                if at > limit:
                    return out
                if payer != account:
                    out.append((at, amt, 0))
                else:
                    out.append((at, amt, 2 if payee < 0 else 1))
                    outs += 1
                    if outs >= rule.decode_outflows:
                        return out
            k += 16
        return out

    def _fits(
        self,
        lots: list[tuple[int, int, int]],
        amount: int,
        at: int,
        atm: bool,
        sums: int,
        nxt: int | None = None,
    ) -> Iterator[tuple[list[int], int]]:
        """Explanations of an outflow by whole parcels (indices into ``lots`` of (fen, arrival,
        key)), in the greedy order, with their kind: one parcel of its amount (latest first; 0),
        (``atm``) one parcel rounded down to notes (least change first; 1), (``atm``, ``nxt``: the
        fen of the account's next outflow, a withdrawal within ``visit_hours``) a first visit to a
        parcel whose rest the next visit takes rounded down (3; before the sums if ``visit_first``),
        up to ``sums`` sets of parcels (fewest first; 0)."""
        rule = self.rule
        hours = rule.hours_us
        recent = [x for x in range(len(lots)) if hours is None or lots[x][1] >= at - hours]
        seen: set[int] = set()
        for x in reversed(recent):
            if lots[x][0] == amount and amount not in seen:
                seen.add(amount)  # parcels of one amount are alike here: the latest
                yield [x], 0
        note = rule.atm_note
        if atm and note:
            notes = [x for x in recent if lots[x][0] > amount and lots[x][0] // note * note == amount]
            for x in sorted(notes, key=lambda x: (lots[x][0], -x)):
                yield [x], 1
        visits = atm and note and nxt is not None and amount % note == 0
        if visits and rule.visit_first:
            yield from self._visits(lots, recent, amount, nxt)
        if rule.max_parts >= 2 and sums > 0:
            skip = self._no_sum
            parts = [
                x for x in recent if lots[x][1] > 0 and 0 < lots[x][0] < amount and lots[x][2] not in skip
            ][-rule.max_lots :]
            if len(parts) > 1:
                items = [(lots[x][0], x) for x in parts]
                n = 0
                for k in range(2, rule.max_parts + 1):
                    for sol in _sums(items, amount, k):
                        if len(sol) == k:
                            yield sol, 0
                            n += 1
                            if n >= sums:
                                break
                    if n >= sums:
                        break
        if visits and not rule.visit_first:
            yield from self._visits(lots, recent, amount, nxt)

    def _visits(
        self, lots: list[tuple[int, int, int]], recent: list[int], amount: int, nxt: int | None
    ) -> Iterator[tuple[list[int], int]]:
        note = self.rule.atm_note or 1
        skip = self._no_sum
        fits = [
            x
            for x in recent
            if lots[x][1] > 0
            and lots[x][0] > amount
            and lots[x][2] not in skip
            and (lots[x][0] - amount) // note * note == nxt
        ]
        for x in sorted(fits, key=lambda x: (lots[x][0], -x)):
            yield [x], 3

    def _best_future(
        self, lots: list[tuple[int, int, int]], events: list[tuple[int, int, int]], e: int, budget: list[int]
    ) -> tuple[int, int, int, frozenset[int]]:
        """The most outflows of ``events[e:]`` that whole parcels (or notes) explain in a row,
        then the fewest cut parcels, then (``decode_fewest``) the fewest parcels moved:
        (explained, -cuts, -parcels, keys of the lots it takes)."""
        while e < len(events) and events[e][2] == 0:
            at, amt, _ = events[e]
            if amt > 0:
                lots = [*lots, (amt, at, -1)]
            e += 1
        if e >= len(events):
            return 0, 0, 0, frozenset()
        budget[0] -= 1
        if budget[0] < 0:
            return 0, 0, 0, frozenset()
        at, amt, kind = events[e]
        best = (0, 0, 0, frozenset[int]())
        fewest = self.rule.decode_fewest
        atm = kind == 2 and self.rule.decode_atm
        nxt = self._visit_next(events, e + 1, at, amt) if atm else None
        for fit, kind_fit in self._fits(lots, amt, at, atm, self.rule.decode_sums, nxt):
            cut = kind_fit == 1
            if kind_fit:
                x = fit[0]
                rest = [*lots]
                rest[x] = (lots[x][0] - amt, lots[x][1], lots[x][2])
            else:
                gone = set(fit)
                rest = [lot for x, lot in enumerate(lots) if x not in gone]
            sub = self._best_future(rest, events, e + 1, budget)
            first = kind_fit == 3 and not self.rule.visit_counts  # the pair explains one parcel
            score = (sub[0] + 1 - first, sub[1] - cut * self._atm_cut, sub[2] - len(fit) * fewest)
            if score > best[:3]:
                keys = frozenset(lots[x][2] for x in fit if lots[x][2] >= 0)
                best = (score[0], score[1], score[2], sub[3] | keys)
            if budget[0] < 0:
                break
        return best

    def _visit_next(self, events: list[tuple[int, int, int]], e: int, at: int, amount: int) -> int | None:
        """The fen of the first outflow of ``events[e:]`` if it is a withdrawal within
        ``visit_hours`` of ``at`` (:attr:`MatchRule.visit_hours`) and ``amount`` is whole notes,
        else None."""
        hours, note = self.rule.visit_hours, self.rule.atm_note
        if hours is None or not note or amount % note:
            return None
        limit = at + int(hours * 3_600_000_000)
        for t, amt, kind in events[e:]:
            if t > limit:
                return None
            if kind:
                return amt if kind == 2 else None
        return None

    def _take_decoded(
        self, st: deque[list[int]], amount: int, account: int, atm: bool
    ) -> list[tuple[int, int, int]] | None:
        """:attr:`MatchRule.decode`: the outflow's explanation chosen with the account's next
        outflows in view (see there); None: the greedy rule decides (nothing ahead to read, or
        the search budget ran out)."""
        rule = self.rule
        events = self._upcoming(account)
        if not any(kind for _at, _amt, kind in events):
            return None
        lo = max(0, len(st) - rule.window)
        lots = [(st[i][2], st[i][3], i) for i in range(lo, len(st))]
        self._no_sum = set() if rule.sum_change else {i for i in range(lo, len(st)) if len(st[i]) == 5}
        # candidates in the greedy order: (indices into lots, kind) — kind 0 whole, 1 notes, 2 split
        nxt = self._visit_next(events, 0, self.now, amount) if atm else None
        cands = list(self._fits(lots, amount, self.now, atm, 8, nxt))
        visit = self._visit_now
        if visit is not None and visit[1] == amount:  # the second visit to a parcel: its rest first
            first = [c for c in cands if c[1] == 1 and st[lots[c[0][0]][2]] is visit[0]]
            cands = first + [c for c in cands if c not in first]
        hours = rule.hours_us
        since = self.now - hours if hours is not None else None
        if rule.cover:
            covering = [x for x in range(len(lots)) if lots[x][1] > 0 and lots[x][0] > amount]
            covering = [x for x in covering if since is None or lots[x][1] >= since]
            order = (
                reversed(covering)
                if rule.cover == "latest"
                else sorted(covering, key=lambda x: (lots[x][0], -x))
            )
            cands.extend(([x], 2) for x in order)
        budget = [rule.decode_budget]
        best: tuple[int, int, int] | None = None
        fewest = rule.decode_fewest
        pick: tuple[list[int], int] | None = None
        ties: list[tuple[list[int], int]] = []
        for fit, kind in cands:
            if kind == 0:
                gone = set(fit)
                rest = [lot for x, lot in enumerate(lots) if x not in gone]
            else:
                x = fit[0]
                rest = [*lots]
                rest[x] = (lots[x][0] - amount, lots[x][1], lots[x][2])
            sub = self._best_future(rest, events, 0, budget)
            score = (
                sub[0] + (kind != 2 and (kind != 3 or rule.visit_counts)),
                sub[1] - (kind == 2) - (kind == 1) * self._atm_cut,
                sub[2] - len(fit) * fewest,
            )
            if best is None or score > best:
                best, pick, ties = score, (fit, kind), []
            elif score == best:
                ties.append((fit, kind))
        # other money (lifo past the parcels the best reading of the next outflows takes whole)
        plain = self._best_future(lots, events, 0, budget)
        if budget[0] < 0:
            return None
        if best is None or (plain[0], plain[1] - 1, plain[2]) > best:
            keep = set(plain[3])
            return self._take_lifo_skip(st, amount, keep | self._exact_ahead(st, account, keep), rule.change)
        assert pick is not None
        fit, kind = pick
        idx = [lots[x][2] for x in fit]
        others = sorted({lots[x][2] for f, k in ties if k == kind for x in f} - set(idx))
        if kind == 0:
            chosen = st[idx[0]]
            if len(idx) == 1:
                # parcels of the same amount but another owner fit too, or (set_ties_ambiguous) sets
                # of parcels that fit as well, not all of the chosen parcel's owner
                sets = [[lots[x][2] for x in f] for f, k in ties if k == 0 and len(f) > 1]
                others = [
                    i
                    for f in sets
                    if rule.set_ties_ambiguous and any(st[i][0] != chosen[0] for i in f)
                    for i in f
                ] + [
                    lots[x][2]
                    for x in range(len(lots))
                    if lots[x][0] == amount
                    and lots[x][2] != idx[0]
                    and st[lots[x][2]][0] != chosen[0]
                    and (since is None or lots[x][1] >= since)
                ]
            self._note_others(sorted(set(others)), st)
            out = [(st[i][0], st[i][1], st[i][2]) for i in sorted(idx) if st[i][0] != CLEAN]
            for i in sorted(idx, reverse=True):
                del st[i]
            return out
        lot = st[idx[0]]
        if kind == 1:
            self._note_others(others, st)
            if len(lot) == 4:
                lot.append(CHANGE)  # the change of the notes (see MatchRule.change)
        elif kind == 3 and nxt is not None:
            self._note_others(others, st)
            self._visit[account] = (lot, nxt)  # the next visit takes the rest
        self._cut(lot, amount, atm)
        return [(lot[0], lot[1], amount)] if lot[0] != CLEAN else []

    def _note_others(self, others: list[int], st: deque[list[int]]) -> None:
        """Other lots fit the outflow as well as the chosen ones: the choice is ambiguous; the
        traced ones among them stay in the account by this choice (listed as not taken)."""
        if others:
            self.ambiguous = True
            self.ambiguous_left = [(st[i][0], st[i][2]) for i in others if st[i][0] != CLEAN]

    @staticmethod
    def _take_lifo_awake(st: deque[list[int]], amount: int, since: int) -> list[tuple[int, int, int]]:
        """``lifo`` over the clean lots and the traced lots that arrived after ``since``; the rest
        of the outflow comes from the unobserved opening balance (clean), not from dormant parcels."""
        out: list[tuple[int, int, int]] = []
        rem = amount
        i = len(st) - 1
        while rem and i >= 0:
            lot = st[i]
            if lot[0] != CLEAN and lot[3] < since:
                i -= 1
                continue
            if lot[2] <= rem:
                del st[i]
                rem -= lot[2]
                if lot[0] != CLEAN:
                    out.append((lot[0], lot[1], lot[2]))
            else:
                lot[2] -= rem
                if lot[0] != CLEAN:
                    out.append((lot[0], lot[1], rem))
                rem = 0
            i -= 1
        return out

    @staticmethod
    def _take_prop(st: dict[tuple[int, int], int], amount: int) -> list[tuple[int, int, int]]:
        total = sum(st.values())
        if amount >= total:
            out = [(k[0], k[1], v) for k, v in st.items() if k[0] != CLEAN and v]
            st.clear()
            return out
        keys = sorted(st)
        shares = [amount * st[k] // total for k in keys]
        rests = [amount * st[k] % total for k in keys]
        short = amount - sum(shares)
        # largest remainder: the `short` keys with the biggest remainders get one more fen
        for i in sorted(range(len(keys)), key=lambda i: (-rests[i], i))[:short]:
            shares[i] += 1
        out = []
        for k, s in zip(keys, shares, strict=True):
            if not s:
                continue
            left = st[k] - s
            if left:
                st[k] = left
            else:
                del st[k]
            if k[0] != CLEAN:
                out.append((k[0], k[1], s))
        return out

    def _collapse(self, account: int, st: Any) -> None:
        """Drop the portion list (no traced money is left), keeping the clean balance."""
        items = st if self.method == "fifo" else [[k[0], k[1], v] for k, v in st.items()]
        self.clean[account] = sum(lot[2] for lot in items)  # all clean now
        if self.parcels:  # the recent clean parcels stay recognisable
            kept = [lot for lot in items if lot[3] > 0 and lot[2] > 0][-self.rule.clean_memory :]
            self.recent[account] = ([lot[2] for lot in kept], [lot[3] for lot in kept])
        del self.state[account]
        del self.traced[account]

    def holdings(self) -> list[tuple[int, int, int]]:
        rows: dict[tuple[int, int], int] = {}
        for account, st in self.state.items():
            items = st if self.method == "fifo" else [[k[0], k[1], v] for k, v in st.items()]
            for victim, _hop, amt, *_ in items:
                if victim != CLEAN and amt:
                    rows[(victim, account)] = rows.get((victim, account), 0) + amt
        return [(v, a, amt) for (v, a), amt in rows.items()]


def _cash_kinds(tr: pd.DataFrame, cashout_accounts: Mapping[str, str] | None) -> list[str | None]:
    kinds = pd.Series([None] * len(tr), index=tr.index, dtype=object)
    if cashout_accounts:
        kinds = tr.to_account.astype(str).map(dict(cashout_accounts)).astype(object)
        kinds = kinds.where(kinds.notna(), None)
    if "channel" in tr.columns:
        kinds = kinds.mask(tr.channel.astype(object) == "crypto_otc", "crypto")
    if "wallet" in tr.columns:
        kinds = kinds.mask(tr.wallet.notna() & (tr.wallet.astype(object) != ""), "crypto")
    return [None if k is None or k != k else str(k) for k in kinds.tolist()]


def trace_funds(
    transfers: Any,
    withdrawals: Any,
    sources: Any,
    *,
    method: str = "fifo",
    max_hops: int = 10,
    max_hours: float | None = 720.0,
    cashout_accounts: Mapping[str, str] | None = None,
    match_rule: MatchRule | None = None,
) -> TraceResult:
    """Trace victims' money through ``transfers`` / ``withdrawals`` (DataFrames or Arrow tables).

    ``sources``: the victims' payments, a frame with ``victim_id, transfer_id`` (or a mapping
    transfer_id → victim_id). ``cashout_accounts``: account → kind for cash-out merchants
    (``gold``, ``crypto`` …) whose receipts count as money gone. See the module doc for the rules.
    """
    if method not in METHODS:
        raise ConfigError(f"method {method!r} is unknown; use one of {METHODS}")
    if max_hops < 0:
        raise ConfigError(f"max_hops {max_hops} must be ≥ 0")
    if max_hours is not None:
        if not max_hours >= 0:  # also NaN
            raise ConfigError(f"max_hours {max_hours} must be ≥ 0 (None: no limit)")
        if max_hours * 3_600_000_000 >= 2**62:  # infinite or beyond any record time: no limit
            max_hours = None
    tr = _frame(transfers, TRANSFER_COLUMNS, "transfers").reset_index(drop=True)
    wd = _frame(withdrawals, WITHDRAWAL_COLUMNS, "withdrawals").reset_index(drop=True)
    _keys(tr, "transfer_id", ("from_account", "to_account"), "transfers")
    # a transfer from an account to itself moves no money: not replayed (no hop, no flow)
    self_moves = tr.from_account.to_numpy() == tr.to_account.to_numpy()
    _keys(wd, "withdrawal_id", ("account",), "withdrawals")
    src, unmatched = _source_map(sources, tr.transfer_id)
    codes, accounts = pd.factorize(
        pd.concat([tr.from_account, tr.to_account, wd.account], ignore_index=True).astype(str)
    )
    n_t, n_acc = len(tr), len(accounts)
    t_from, t_to, w_acc = codes[:n_t], codes[n_t : 2 * n_t], codes[2 * n_t :]
    t_at, w_at = _micros(tr["at"], "transfers"), _micros(wd["at"], "withdrawals")
    t_amt, w_amt = _amounts(tr.amount_fen, "transfers"), _amounts(wd.amount_fen, "withdrawals")

    victims = sorted(set(src.values()))
    vcode = {v: i for i, v in enumerate(victims)}
    src_rows = np.fromiter(src.keys(), dtype=np.int64, count=len(src))
    t_victim = np.full(n_t, CLEAN, dtype=np.int64)
    t_victim[src_rows] = [vcode[src[int(r)]] for r in src_rows]
    start = np.full(len(victims), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(start, t_victim[src_rows], t_at[src_rows])
    horizon = (start + int(max_hours * 3_600_000_000)) if max_hours is not None else None

    # only events touching accounts the victims' money can reach matter
    live = (
        _reachable(t_from, t_to, n_acc, np.unique(t_to[src_rows])) if len(src_rows) else np.zeros(n_acc, bool)
    )
    t_keep = np.flatnonzero((live[t_from] | live[t_to] | (t_victim >= 0)) & ~(self_moves & (t_victim < 0)))
    w_keep = np.flatnonzero(live[w_acc])
    # the replay reads plain lists of the kept rows only (local row numbers), mapped back after
    n_tk = len(t_keep)
    ev_at = np.concatenate([t_at[t_keep], w_at[w_keep]])
    ev_kind = np.concatenate([np.zeros(n_tk, np.int8), np.ones(len(w_keep), np.int8)])
    ev_row = np.concatenate([np.arange(n_tk), np.arange(len(w_keep))])
    order = np.lexsort((np.concatenate([t_keep, w_keep]), ev_kind, ev_at))

    ledger = _Ledger(n_acc, method, match_rule)
    if ledger.match and ledger.rule.reserve_hours is not None:
        is_t, rows_o = ev_kind[order] == 0, ev_row[order]
        payer = np.empty(len(order), np.int64)
        payee = np.full(len(order), -1, np.int64)
        amount = np.empty(len(order), np.int64)
        payer[is_t], payer[~is_t] = t_from[t_keep][rows_o[is_t]], w_acc[w_keep][rows_o[~is_t]]
        payee[is_t] = t_to[t_keep][rows_o[is_t]]
        amount[is_t], amount[~is_t] = t_amt[t_keep][rows_o[is_t]], w_amt[w_keep][rows_o[~is_t]]
        ledger.future = _Future.build(payer, payee, amount, ev_at[order], n_acc)
    columns = _Columns(
        t_from[t_keep].tolist(),
        t_to[t_keep].tolist(),
        t_at[t_keep].tolist(),
        t_amt[t_keep].tolist(),
        t_victim[t_keep].tolist(),
        _cash_kinds(tr.iloc[t_keep], cashout_accounts),
        w_acc[w_keep].tolist(),
        w_amt[w_keep].tolist(),
        w_at[w_keep].tolist(),
    )
    limits = (max_hops, horizon.tolist() if horizon is not None else None)
    flows, cash, lost = _replay(ev_kind[order].tolist(), ev_row[order].tolist(), columns, ledger, limits)
    # local rows → record rows (withdrawals after the transfers: n_t + withdrawal row)
    record_of = np.concatenate([t_keep, n_t + w_keep]).astype(np.int64)
    flows = [(v, h, int(t_keep[r]), amt) for v, h, r, amt in flows]
    cash = [(v, k, int(record_of[r]), a, amt) for v, k, r, a, amt in cash]
    lost = [(v, a, int(t_keep[r]), amt, why) for v, a, r, amt, why in lost]
    # candidates: where each ambiguous part would be under the other reading (-1: cashed out there)
    amb = np.asarray(ledger.ambiguous_parts, dtype=np.int64).reshape(-1, 5)
    by_t = amb[:, 1] < n_tk
    dest = np.full(len(amb), -1, dtype=np.int64)
    if by_t.any():
        t_rows = amb[by_t, 1]
        cashed = np.fromiter((columns.cash_kind[r] is not None for r in t_rows), bool, len(t_rows))
        dest[by_t] = np.where(cashed, -1, t_to[t_keep[t_rows]])
    ledger.ambiguous_dest = dest
    ledger.ambiguous_parts = [(v, int(record_of[r]), a, amt, k) for v, r, a, amt, k in ledger.ambiguous_parts]
    micros = np.concatenate([t_at, w_at])
    return _result(tr, wd, accounts, victims, method, unmatched, src, flows, cash, lost, ledger, micros)


@dataclass
class _Columns:
    """The record columns the replay reads, as plain lists (fast scalar access)."""

    t_from: list[int]
    t_to: list[int]
    t_at: list[int]
    t_amt: list[int]
    t_victim: list[int]
    cash_kind: list[str | None]
    w_acc: list[int]
    w_amt: list[int]
    w_at: list[int]


def _replay(
    kinds: list[int], rows: list[int], c: _Columns, ledger: _Ledger, limits: tuple[int, list[int] | None]
) -> tuple[
    list[tuple[int, int, int, int]],
    list[tuple[int, str, int, int, int]],
    list[tuple[int, int, int, int, str]],
]:
    """Replay the events in order; returns flows (victim, hop, transfer row, fen), cash-outs
    (victim, kind, record row — withdrawals after the transfers —, account, fen) and untraced
    portions (victim, account, transfer row, fen, reason)."""
    max_hops, horizon = limits
    state, clean, n_t = ledger.state, ledger.clean, len(c.t_from)  # local rows
    parcels = ledger.parcels
    recent, spend, memory = ledger.recent, ledger.spend, ledger.rule.clean_memory
    recent_get = recent.get
    flows: list[tuple[int, int, int, int]] = []
    cash: list[tuple[int, str, int, int, int]] = []
    lost: list[tuple[int, int, int, int, str]] = []
    ambiguous = ledger.ambiguous_parts
    for pos, (kind, row) in enumerate(zip(kinds, rows, strict=True)):
        if kind == 1:  # withdrawal: whatever traced money it takes is cashed out
            a, amt = c.w_acc[row], c.w_amt[row]
            ledger.now = c.w_at[row]
            ledger.pos = pos
            if a not in state:
                if parcels:
                    ledger.clean_out(a, amt)
                else:
                    left = clean[a] - amt
                    clean[a] = left if left > 0 else 0
                continue
            for pv, _hop, part in ledger.take(a, amt, atm=True):
                cash.append((pv, "cash", n_t + row, a, part))
                if ledger.ambiguous:
                    ambiguous.append((pv, n_t + row, a, part, 1))
            if ledger.ambiguous:
                ambiguous.extend((pv, n_t + row, a, part, 0) for pv, part in ledger.ambiguous_left)
            continue
        a, b, amt, out = c.t_from[row], c.t_to[row], c.t_amt[row], c.cash_kind[row]
        ledger.now = c.t_at[row]
        v = c.t_victim[row]
        if v != CLEAN:  # the victim's own payment: hop 0, wholly theirs
            flows.append((v, 0, row, amt))
            if out:
                cash.append((v, out, row, a, amt))
            else:
                ledger.add(b, v, 0, amt)
            continue
        if a not in state:  # fast path: no traced money in the payer; only balances move
            left = clean[a] - amt
            clean[a] = left if left > 0 else 0
            if parcels:  # (ledger.clean_out / clean_in inlined: the hottest lines of the replay)
                q = recent_get(a)
                if q is not None and q[0]:
                    spend(q, amt)
            if b in state:
                ledger.add(b, CLEAN, 0, amt)
            else:
                clean[b] += amt
                if parcels and amt > 0:
                    q = recent_get(b)
                    if q is None:
                        recent[b] = ([amt], [c.t_at[row]])
                    else:
                        q[0].append(amt)
                        q[1].append(c.t_at[row])
                        if len(q[0]) > memory:
                            del q[0][0], q[1][0]
            continue
        followed = 0
        ledger.pos = pos
        for pv, hop, part in ledger.take(a, amt):
            if ledger.ambiguous:
                ambiguous.append((pv, row, a, part, 1))
            if out:
                flows.append((pv, hop + 1, row, part))
                cash.append((pv, out, row, a, part))
            elif hop + 1 > max_hops:
                lost.append((pv, a, row, part, "max_hops"))
            elif horizon is not None and c.t_at[row] > horizon[pv]:
                lost.append((pv, a, row, part, "max_hours"))
            else:
                flows.append((pv, hop + 1, row, part))
                ledger.add(b, pv, hop + 1, part)
                followed += part
        if ledger.ambiguous:
            ambiguous.extend((pv, row, a, part, 0) for pv, part in ledger.ambiguous_left)
        if not out:  # the rest reaches b as untraced (clean) money
            if b in state or not parcels:
                ledger.add(b, CLEAN, 0, amt - followed)
            else:
                ledger.clean_in(b, amt - followed)
    return flows, cash, lost


def _stamps(micros: np.ndarray) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(micros, dtype=np.int64), unit="us", utc=True))


def _result(
    tr: pd.DataFrame,
    wd: pd.DataFrame,
    accounts: pd.Index,
    victims: list[str],
    method: str,
    unmatched: list[str],
    src: dict[int, str],
    flows: list[tuple[int, int, int, int]],
    cash: list[tuple[int, str, int, int, int]],
    lost: list[tuple[int, int, int, int, str]],
    ledger: _Ledger,
    micros: np.ndarray,
) -> TraceResult:
    """Vectorised assembly of the output frames from the integer event records."""
    vic = np.asarray(victims, dtype=object)
    acc = np.asarray(accounts, dtype=object)
    n_t = len(tr)
    atm = wd.atm_id if "atm_id" in wd.columns else pd.Series([None] * len(wd), dtype=object)

    def gather(column: pd.Series, rows: np.ndarray) -> np.ndarray:
        # only the rows the result names become Python objects (not millions of transfer ids)
        return column.take(rows).to_numpy(dtype=object) if len(rows) else np.zeros(0, dtype=object)

    def tid(rows: np.ndarray) -> np.ndarray:
        return gather(tr.transfer_id, rows)

    def record_ids(rows: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), dtype=object)
        is_t = rows < n_t
        out[is_t] = gather(tr.transfer_id, rows[is_t])
        out[~is_t] = gather(wd.withdrawal_id, rows[~is_t] - n_t)
        return out

    def counter(rows: np.ndarray) -> np.ndarray:
        out = np.empty(len(rows), dtype=object)
        is_t = rows < n_t
        out[is_t] = gather(tr.to_account, rows[is_t])
        out[~is_t] = gather(atm, rows[~is_t] - n_t)
        return out

    f = np.asarray(flows, dtype=np.int64).reshape(-1, 4)
    flow_df = pd.DataFrame(
        {
            "victim_id": vic[f[:, 0]],
            "hop": f[:, 1],
            "transfer_id": tid(f[:, 2]),
            "from_account": gather(tr.from_account, f[:, 2]),
            "to_account": gather(tr.to_account, f[:, 2]),
            "amount_fen": f[:, 3],
            "at": _stamps(micros[f[:, 2]]),
        },
        columns=FLOW_COLUMNS,
    )
    c = np.asarray([(x[0], x[2], x[3], x[4]) for x in cash], dtype=np.int64).reshape(-1, 4)
    cash_df = pd.DataFrame(
        {
            "victim_id": vic[c[:, 0]],
            "kind": np.asarray([x[1] for x in cash], dtype=object),
            "record_id": record_ids(c[:, 1]),
            "account": acc[c[:, 2]],
            "amount_fen": c[:, 3],
            "at": _stamps(micros[c[:, 1]]),
            "counterparty": counter(c[:, 1]),
        },
        columns=CASHOUT_COLUMNS,
    )
    h = np.asarray(ledger.holdings(), dtype=np.int64).reshape(-1, 3)
    hold_df = pd.DataFrame(
        {"victim_id": vic[h[:, 0]], "account": acc[h[:, 1]], "amount_fen": h[:, 2]}, columns=HOLDING_COLUMNS
    ).sort_values(["victim_id", "amount_fen"], ascending=[True, False], ignore_index=True)
    lo = np.asarray([x[:4] for x in lost], dtype=np.int64).reshape(-1, 4)
    lost_df = pd.DataFrame(
        {
            "victim_id": vic[lo[:, 0]],
            "account": acc[lo[:, 1]],
            "record_id": tid(lo[:, 2]),
            "to_account": gather(tr.to_account, lo[:, 2]),
            "amount_fen": lo[:, 3],
            "at": _stamps(micros[lo[:, 2]]),
            "reason": np.asarray([x[4] for x in lost], dtype=object),
        },
        columns=UNTRACED_COLUMNS,
    )
    rows = np.fromiter(src.keys(), dtype=np.int64, count=len(src))
    src_df = pd.DataFrame(
        {
            "victim_id": list(src.values()),
            "transfer_id": tid(rows),
            "amount_fen": tr.amount_fen.to_numpy()[rows].astype(np.int64),
        }
    )
    am = np.asarray(ledger.ambiguous_parts, dtype=np.int64).reshape(-1, 5)
    amb_df = pd.DataFrame(
        {
            "victim_id": vic[am[:, 0]],
            "record_id": record_ids(am[:, 1]),
            "account": acc[am[:, 2]],
            "amount_fen": am[:, 3],
            "at": _stamps(micros[am[:, 1]]),
            "taken": am[:, 4].astype(bool),
        },
        columns=AMBIGUOUS_COLUMNS,
    )
    cand_df = _candidates(amb_df, am, ledger.ambiguous_dest, acc)
    return TraceResult(flow_df, hold_df, cash_df, lost_df, src_df, method, unmatched, amb_df, cand_df)


def _candidates(amb_df: pd.DataFrame, am: np.ndarray, dest: np.ndarray, acc: np.ndarray) -> pd.DataFrame:
    """The other reading of each ambiguous part (see :attr:`TraceResult.candidates`): a part the
    outflow took would have stayed in the paying account; a part it left there would have moved
    to the outflow's payee, or been cashed out from the paying account (withdrawal, cash-out
    transfer). Only the first step of the other reading: later outflows are not replayed."""
    if not len(amb_df):
        return pd.DataFrame({c: [] for c in CANDIDATE_COLUMNS}).astype(
            {"amount_fen": "int64", "new_place": bool}
        )
    taken = am[:, 4] == 1
    moves = ~taken & (dest >= 0)
    where = np.where(moves, dest, am[:, 2])
    reason = np.where(taken, "stays", np.where(moves, "moves", "cashed_out")).astype(object)
    new_place = (dest >= 0) & (dest != am[:, 2])
    frame = pd.DataFrame(
        {
            "victim_id": amb_df.victim_id.to_numpy(),
            "account": acc[where],
            "amount_fen": am[:, 3],
            "reason": reason,
            "new_place": new_place,
            "record_id": amb_df.record_id.to_numpy(),
            "at": amb_df["at"],
        }
    )
    keys = ["victim_id", "account", "reason", "new_place", "record_id", "at"]
    out = frame.groupby(keys, sort=False, as_index=False).amount_fen.sum()
    return out[CANDIDATE_COLUMNS].sort_values(
        ["victim_id", "amount_fen"], ascending=[True, False], ignore_index=True
    )
