"""The in-memory state behind every decision: lists, risk scores, who owns what, and recent history.

Nothing here touches a disk or a database on the request path. Loaders (:mod:`fanzha.decide.sources`)
build new snapshots in the background and swap them in with one assignment, so a request sees either
the old or the new snapshot, never half of one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fanzha.decide.velocity import Velocity

LIST_STATUSES = ("block", "allow", "watch")
NEW_PAYEE_WINDOW_S = 86_400.0  # "new payees in the last 24 h" (feature payer_new_payees_24h)


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One identifier's resolved list status (precedence already applied by the list owner)."""

    status: str  # block | allow | watch
    label: str = ""  # 反诈名片 label for allow-listed callers, or the risk label
    source: str = ""
    list_id: str = ""


@dataclass(frozen=True, slots=True)
class RiskScore:
    probability: float
    tier: str
    top_reason: str = ""


@dataclass
class Lists:
    """Identifiers by typed key (``phone:…``, ``account:…``, ``url:<host>``) → resolved entry.

    ``host_resolver`` (set when suffix entries exist) resolves a host against exact and suffix
    entries together with the list owner's precedence; answers are cached per host.
    """

    entries: dict[str, ListEntry] = field(default_factory=dict)
    version: str = "none"
    host_resolver: Callable[[str], ListEntry | None] | None = None
    _hosts: dict[str, ListEntry | None] = field(default_factory=dict)
    # URLs listed as themselves (list kind ``url``) → resolved together with their host's entries
    urls: dict[str, ListEntry | None] = field(default_factory=dict)

    def get(self, key: str) -> ListEntry | None:
        if self.host_resolver is not None and key.startswith("url:"):
            host = key[4:]
            if host not in self._hosts:
                if len(self._hosts) > 100_000:
                    self._hosts.clear()
                self._hosts[host] = self.host_resolver(host)
            return self._hosts[host]
        return self.entries.get(key)

    def get_url(self, url: str, host: str) -> ListEntry | None:
        """A normalised URL: its own list entries and its host's, with the list owner's precedence."""
        if url in self.urls:
            return self.urls[url]
        return self.get(f"url:{host}")


@dataclass
class Scores:
    numbers: dict[str, RiskScore] = field(default_factory=dict)
    accounts: dict[str, RiskScore] = field(default_factory=dict)
    numbers_version: str = "none"
    accounts_version: str = "none"


@dataclass
class Directory:
    """Who owns which phone cards and accounts (real-name registration, 实名制)."""

    phone_owner: dict[str, str] = field(default_factory=dict)
    account_owner: dict[str, str] = field(default_factory=dict)
    account_bank: dict[str, str] = field(default_factory=dict)
    account_type: dict[str, str] = field(default_factory=dict)  # personal / corporate / merchant / pooled
    account_opened: dict[str, float] = field(default_factory=dict)  # epoch seconds
    cards_of: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # id → phone cards
    version: str = "none"


class _FirstPaid:
    """One payer's recent first payments to a payee, in time order (see :meth:`Memory.new_payees`)."""

    __slots__ = ("head", "times")

    def __init__(self) -> None:
        self.times: list[float] = []
        self.head = 0  # times before it are past the window

    def add(self, t: float, window_s: float) -> None:
        times = self.times
        times.append(t)
        start = t - window_s
        head = self.head
        while times[head] < start:
            head += 1
        if head > 64 and head * 2 > len(times):
            del times[:head]
            head = 0
        self.head = head

    def since(self, start: float) -> int:
        return len(self.times) - bisect_left(self.times, start, self.head)


class Memory:
    """Recent history the decisions learn from as they go: counters, risky contacts, warnings, pairs."""

    def __init__(self, horizon_s: float = 86_400.0) -> None:
        self.calls = Velocity((3600.0,))  # per calling number, other = callee
        self.sms = Velocity((3600.0,))  # per sending number, other = receiver
        self.outflow = Velocity((3600.0, 86_400.0))  # per payer account, other = payee
        self.inflow = Velocity((3600.0, 86_400.0))  # per payee account, other = payer
        self.pairs = Velocity((86_400.0,))  # per (payer, payee)
        self.pair_first_seen: dict[tuple[str, str], float] = {}
        # payer → the times of its first payments to each payee within NEW_PAYEE_WINDOW_S, kept while
        # the payments arrive in time order (payers seen out of order are in _unordered and walk
        # their outflow instead): a platform paying thousands of new payees a day counted them all
        # again on every payment, so its day cost the square of its payees
        self._first_paid: dict[str, _FirstPaid] = {}
        self._unordered: set[str] = set()
        # person key → recent risky contacts (t, risk, identifier, channel); newest last
        self.contacts: dict[str, deque[tuple[float, float, str, str]]] = {}
        self.warned: dict[str, float] = {}  # person key → last time warned
        # contacts and warnings older than this are swept every SWEEP_EVERY writes (the fusion and
        # warned windows of the rules are minutes): a long-running service kept every person it
        # ever saw. ``pair_first_seen`` is the payees' history ("new payee") and stays.
        self.horizon_s = horizon_s
        self._writes = 0
        self._latest = float("-inf")

    SWEEP_EVERY = 65_536

    def add_contact(self, person: str, t: float, risk: float, ident: str, channel: str) -> None:
        q = self.contacts.get(person)
        if q is None:
            q = self.contacts[person] = deque(maxlen=16)
        q.append((t, risk, ident, channel))
        self._wrote(t)

    def mark_warned(self, person: str, t: float) -> None:
        self.warned[person] = t
        self._wrote(t)

    def _wrote(self, t: float) -> None:
        self._latest = max(self._latest, t)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            self.sweep(self._latest)

    def sweep(self, now: float) -> None:
        """Forget the contacts and warnings older than ``horizon_s`` before ``now``."""
        limit = now - self.horizon_s
        self.contacts = {p: q for p, q in self.contacts.items() if q and max(c[0] for c in q) >= limit}
        self.warned = {p: t for p, t in self.warned.items() if t >= limit}

    def latest_contact(
        self, persons: tuple[str, ...], t: float, window_s: float, channels: frozenset[str]
    ) -> tuple[float, float, str, str] | None:
        """The riskiest contact in the window across the person's keys (ties → the newest)."""
        best: tuple[float, float, str, str] | None = None
        for person in persons:
            for contact in self.contacts.get(person, ()):
                if (
                    contact[3] in channels
                    and 0 <= t - contact[0] <= window_s
                    and (best is None or (contact[1], contact[0]) > (best[1], best[0]))
                ):
                    best = contact
        return best

    def last_warned(self, persons: tuple[str, ...], t: float) -> float | None:
        times = [self.warned[p] for p in persons if p in self.warned and self.warned[p] <= t]
        return max(times) if times else None

    def learn_pair(self, payer: str, payee: str, t: float, *, paid: bool = False) -> None:
        """Remember when ``payer`` first paid ``payee``. ``paid``: the payment was also added to
        :attr:`outflow` (the decision engine's path), which :meth:`new_payees` relies on."""
        first = self.pair_first_seen.get((payer, payee))
        if first is None or t < first:
            self.pair_first_seen[(payer, payee)] = t
            firsts = self._first_paid.get(payer)
            if first is None and paid and (firsts is None or t >= firsts.times[-1]):
                if firsts is None:
                    firsts = self._first_paid[payer] = _FirstPaid()
                firsts.add(t, NEW_PAYEE_WINDOW_S)
            else:  # a first time out of order, or a pair not paid through outflow: walk instead
                self._unordered.add(payer)

    def new_payees(self, payer: str, t: float) -> int:
        """Distinct payees ``payer`` first paid in the ``NEW_PAYEE_WINDOW_S`` up to ``t`` among those it
        paid in that window. In time order (``t`` not before any payment learnt, the payer's first
        times learnt in order) every such payee is still in the payer's outflow window, so this is
        the count of first times since ``t - window``, a binary search; otherwise the outflow window
        is walked."""
        start = t - NEW_PAYEE_WINDOW_S
        if t >= self.outflow.newest and payer not in self._unordered:
            firsts = self._first_paid.get(payer)
            return firsts.since(start) if firsts is not None else 0
        seen = self.pair_first_seen
        payees = self.outflow.others(payer, t, NEW_PAYEE_WINDOW_S)
        return sum(1 for p in payees if t - seen.get((payer, str(p)), t) <= NEW_PAYEE_WINDOW_S)


@dataclass
class RiskState:
    lists: Lists = field(default_factory=Lists)
    scores: Scores = field(default_factory=Scores)
    directory: Directory = field(default_factory=Directory)
    memory: Memory = field(default_factory=Memory)

    # person keys: the owner's ID when the directory knows it, so a call to one's phone and a payment
    # from one's account meet (fusion across telecom and bank), else the identifier itself
    def person_of_phone(self, phone: str) -> str:
        owner = self.directory.phone_owner.get(phone)
        return f"id:{owner}" if owner else f"phone:{phone}"

    def person_of_account(self, account: str) -> str:
        owner = self.directory.account_owner.get(account)
        return f"id:{owner}" if owner else f"account:{account}"

    def number_score(self, phone: str) -> RiskScore | None:
        return self.scores.numbers.get(phone)

    def account_score(self, account: str) -> RiskScore | None:
        return self.scores.accounts.get(account)

    def versions(self) -> dict[str, str]:
        return {
            "lists": self.lists.version,
            "numbers": self.scores.numbers_version,
            "accounts": self.scores.accounts_version,
            "directory": self.directory.version,
        }
