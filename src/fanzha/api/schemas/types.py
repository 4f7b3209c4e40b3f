"""Identifier types that normalise at the boundary (fanzha.records.normalise) and fail as 422, never 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictInt

from fanzha.records import normalise as n


def _safe(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Turn every failure of a normaliser into a ValueError, which pydantic reports as a 422."""

    def check(value: Any) -> Any:
        try:
            return fn(value)
        except ValueError:
            raise
        except (OverflowError, OSError, TypeError, UnicodeError) as exc:
            raise ValueError(f"{value!r} cannot be read: {exc}") from None

    return check


def _time(value: datetime) -> datetime:
    return n.normalise_time(value)


# a real-time decision is about something happening now: the parties' clocks may differ by minutes,
# not hours (a payment dated 20 h ahead slid that payer's velocity windows to the future and wiped
# the payments before it from the 1 h counters)
DECISION_CLOCK_SKEW = timedelta(minutes=5)
# ... and a decision is not about last year either: one payment dated 2001 made its payee "known"
# (first paid long ago), so a 600,000-yuan payment to it minutes later proceeded instead of waiting
DECISION_MAX_AGE = timedelta(hours=24)


def _decision_time(value: datetime) -> datetime:
    moment = n.normalise_time(value)
    ahead = moment - datetime.now(UTC)
    if ahead > DECISION_CLOCK_SKEW:
        raise ValueError(
            f"time {moment.isoformat()} is {int(ahead.total_seconds() // 60)} min in the future; a decision "
            f"is about an event now (clock skew up to {int(DECISION_CLOCK_SKEW.total_seconds() // 60)} min "
            "is accepted): check the sender's clock and time zone (naive times are Asia/Shanghai)"
        )
    if -ahead > DECISION_MAX_AGE:
        raise ValueError(
            f"time {moment.isoformat()} is {int(-ahead.total_seconds() // 3600)} h in the past; a decision "
            f"is about an event now (late by up to {int(DECISION_MAX_AGE.total_seconds() // 3600)} h is "
            "accepted): send older records to /v1/ingest, not to a decision"
        )
    return moment


Phone = Annotated[
    str,
    Field(min_length=3, max_length=32, examples=["13800138000"]),
    AfterValidator(_safe(n.normalise_phone)),
]
Account = Annotated[
    str,
    Field(min_length=10, max_length=40, examples=["6222020200112233445"]),
    AfterValidator(_safe(n.normalise_account)),
]
Url = Annotated[
    str,
    Field(min_length=4, max_length=2048, examples=["http://example.com/login"]),
    AfterValidator(_safe(n.normalise_url)),
]
Host = Annotated[str, Field(min_length=3, max_length=253), AfterValidator(_safe(n.normalise_host))]
IdNumber = Annotated[str, Field(min_length=15, max_length=20), AfterValidator(_safe(n.normalise_id_number))]
Text = Annotated[
    str,
    Field(min_length=1, max_length=2000),
    AfterValidator(_safe(lambda v: n.normalise_text(v, max_chars=2000))),
]
ShortText = Annotated[
    str,
    Field(min_length=1, max_length=200),
    AfterValidator(_safe(lambda v: n.normalise_text(v, max_chars=200))),
]
Moment = Annotated[
    datetime, AfterValidator(_safe(_time)), Field(description="ISO-8601; naive times are Asia/Shanghai")
]
DecisionMoment = Annotated[
    datetime,
    AfterValidator(_safe(_decision_time)),
    Field(
        description="ISO-8601; naive times are Asia/Shanghai; at most 5 minutes ahead of the server and "
        "24 hours behind it"
    ),
]
AmountFen = Annotated[StrictInt, Field(gt=0, le=n.MAX_FEN, description="integer fen (1 yuan = 100 fen)")]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
# fund-control command ids are the caller's idempotency keys: "A510/stop/1", and escalate() names the
# next hop "<command>>hop:<account>"; any printable text up to the column's 64 characters
CommandKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
