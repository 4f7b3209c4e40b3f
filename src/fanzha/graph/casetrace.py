"""Tracing the money of reported cases: find each victim's payments, then :func:`trace_funds`.

A victim's payments (hop 0) are the transfers out of the victim's own accounts (``accounts.owner_id
= cases.victim_id``) into an account the case names (``suspect_accounts``), made in the
``window_days`` before the report. Cash-out merchants are the accounts whose ``merchant_category``
is ``gold`` or ``crypto_otc`` (plus transfers on channel ``crypto_otc`` or to a wallet).
"""

from __future__ import annotations

import pandas as pd

from fanzha.engine.base import Engine
from fanzha.errors import NotFoundError
from fanzha.graph.trace import TraceResult, trace_funds

CASHOUT_CATEGORIES = {"gold": "gold", "crypto_otc": "crypto", "jewellery": "gold"}


def case_sources(engine: Engine, case_ids: list[str] | None = None, *, window_days: int = 30) -> pd.DataFrame:
    """``victim_id, case_id, transfer_id, amount_fen, at`` of the victims' payments."""
    for table in ("cases", "accounts", "transfers"):
        if not engine.has_table(table):
            raise NotFoundError(f"table {table!r} is needed to find victims' payments; land it first")
    engine.register("__case_filter", pd.DataFrame({"case_id": list(case_ids or [])}, dtype=object))
    where = "WHERE c.case_id IN (SELECT case_id FROM __case_filter)" if case_ids else ""
    return engine.frame(
        f"""
        WITH named AS (SELECT case_id, victim_id, reported_at, unnest(suspect_accounts) AS account
                       FROM cases c {where})
        SELECT DISTINCT n.victim_id, n.case_id, t.transfer_id, t.amount_fen, t."at"
        FROM named n
        JOIN accounts va ON va.owner_id = n.victim_id
        JOIN transfers t ON t.from_account = va.account_no AND t.to_account = n.account
        WHERE t."at" <= n.reported_at AND t."at" >= n.reported_at - INTERVAL '{int(window_days)} days'
        ORDER BY n.case_id, t."at"
        """
    )


def cashout_accounts(engine: Engine) -> dict[str, str]:
    if not engine.has_table("accounts"):
        return {}
    cats = ", ".join(f"'{c}'" for c in CASHOUT_CATEGORIES)
    frame = engine.frame(
        f"SELECT account_no, merchant_category FROM accounts WHERE merchant_category IN ({cats})"
    )
    return {a: CASHOUT_CATEGORIES[c] for a, c in zip(frame.account_no, frame.merchant_category, strict=True)}


def trace_cases(
    engine: Engine,
    case_ids: list[str] | None = None,
    *,
    victim_ids: list[str] | None = None,
    method: str = "fifo",
    max_hops: int = 10,
    max_hours: float | None = 720.0,
    window_days: int = 30,
) -> tuple[TraceResult, pd.DataFrame]:
    """Trace the victims of ``case_ids`` (all cases when None); returns the result and the sources."""
    sources = case_sources(engine, case_ids, window_days=window_days)
    if victim_ids is not None:
        sources = sources[sources.victim_id.isin(victim_ids)]
    if case_ids and sources.empty:
        raise NotFoundError(
            f"no payments found for cases {case_ids[:3]}: the victim's accounts must pay an account the case names"
        )
    # only money movements after the first payment can carry victims' money
    start = sources["at"].min() if len(sources) else pd.Timestamp.now(tz="UTC")
    transfers = engine.frame(
        'SELECT transfer_id, from_account, to_account, amount_fen, "at", channel, wallet FROM transfers '
        'WHERE "at" >= $start',
        {"start": start},
    )
    withdrawals = (
        engine.frame(
            'SELECT withdrawal_id, account, amount_fen, "at", atm_id FROM withdrawals WHERE "at" >= $start',
            {"start": start},
        )
        if engine.has_table("withdrawals")
        else None
    )
    result = trace_funds(
        transfers,
        withdrawals,
        sources[["victim_id", "transfer_id"]].drop_duplicates("transfer_id"),
        method=method,
        max_hops=max_hops,
        max_hours=max_hours,
        cashout_accounts=cashout_accounts(engine),
    )
    return result, sources
