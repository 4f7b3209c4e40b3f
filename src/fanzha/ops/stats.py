"""Effectiveness statistics: dissuasion by tier and channel, time to contact, the money funnel.

Effectiveness = dissuaded / closed warnings (closed = dissuaded + victimised + unreachable), the
way the MIIT 12381 system reports it (about 60 %). Time to contact = contacted_at − issued_at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import func, select

from fanzha.ops.models import FundCommand, FundHold, RefundPlan, WarningTask
from fanzha.ops.store import Store

OUTCOMES = ("dissuaded", "victimised", "unreachable")


@dataclass
class Rate:
    total: int = 0
    closed: int = 0
    dissuaded: int = 0
    victimised: int = 0
    unreachable: int = 0

    @property
    def effectiveness(self) -> float | None:
        return self.dissuaded / self.closed if self.closed else None


@dataclass
class WarningStats:
    by_tier: dict[str, Rate] = field(default_factory=dict)
    by_channel: dict[str, Rate] = field(default_factory=dict)
    minutes_to_contact: dict[str, dict[str, float]] = field(
        default_factory=dict
    )  # tier → median, p90, on_time
    overall: Rate = field(default_factory=Rate)


def _count(rate: Rate, status: str) -> None:
    rate.total += 1
    if status in OUTCOMES:
        rate.closed += 1
        setattr(rate, status, getattr(rate, status) + 1)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


def warning_stats(
    store: Store, *, since: datetime | None = None, until: datetime | None = None
) -> WarningStats:
    """Aggregate warnings issued in [since, until) (aggregates only: no personal data, not logged)."""
    query = select(
        WarningTask.tier,
        WarningTask.status,
        WarningTask.contact_channel,
        WarningTask.issued_at,
        WarningTask.contacted_at,
        WarningTask.deadline_at,
    )
    if since:
        query = query.where(WarningTask.issued_at >= since)
    if until:
        query = query.where(WarningTask.issued_at < until)
    stats = WarningStats()
    waits: dict[str, list[float]] = {}
    on_time: dict[str, int] = {}
    with store.transaction() as session:
        for tier, status, channel, issued, contacted, deadline in session.execute(query):
            _count(stats.overall, status)
            _count(stats.by_tier.setdefault(tier, Rate()), status)
            if contacted is not None:
                _count(stats.by_channel.setdefault(channel or "unknown", Rate()), status)
                waits.setdefault(tier, []).append((contacted - issued).total_seconds() / 60)
                on_time[tier] = on_time.get(tier, 0) + int(contacted <= deadline)
    for tier, values in waits.items():
        stats.minutes_to_contact[tier] = {
            "median": median(values),
            "p90": _p90(values),
            "on_time_share": on_time[tier] / len(values),
            "n": len(values),
        }
    return stats


@dataclass
class Funnel:
    warned: int
    contacted: int
    dissuaded: int
    victimised: int
    stop_commands: int
    stopped_fen: int
    freeze_commands: int
    frozen_fen: int
    returned_fen: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def funnel(store: Store) -> Funnel:
    """warned → contacted → dissuaded; stopped → frozen → returned (fen). Aggregates only."""
    with store.transaction() as session:
        by_status = dict(
            session.execute(select(WarningTask.status, func.count()).group_by(WarningTask.status)).all()
        )
        held = dict(
            session.execute(
                select(FundHold.kind, func.coalesce(func.sum(FundHold.amount_fen), 0)).group_by(FundHold.kind)
            ).all()
        )
        kinds = dict(session.execute(select(FundCommand.kind, func.count()).group_by(FundCommand.kind)).all())
        contacted = session.execute(select(func.count(WarningTask.contacted_at))).scalar_one()
        returned = session.execute(
            select(func.coalesce(func.sum(RefundPlan.returned_fen), 0)).where(RefundPlan.status == "executed")
        ).scalar_one()
    return Funnel(
        warned=sum(by_status.values()),
        contacted=contacted,
        dissuaded=by_status.get("dissuaded", 0),
        victimised=by_status.get("victimised", 0),
        stop_commands=kinds.get("stop_payment", 0),
        stopped_fen=int(held.get("stop_payment", 0)),
        freeze_commands=kinds.get("freeze", 0),
        frozen_fen=int(held.get("freeze", 0)),
        returned_fen=int(returned),
    )
