"""Tracing the money of reported cases: find each victim's payments, then :func:`trace_funds`.

A victim's payments (hop 0) are transfers out of the victim's own accounts (``accounts.owner_id =
cases.victim_id``) in the ``window_days`` before the report into a fraud account: see
:func:`case_sources` for the rules. Cash-out merchants are the accounts whose ``merchant_category``
is ``gold`` or ``crypto_otc`` (plus transfers on channel ``crypto_otc`` or to a wallet).
"""

from __future__ import annotations

import pandas as pd

from fanzha.engine.base import Engine
from fanzha.errors import NotFoundError
from fanzha.graph.trace import MatchRule, TraceResult, trace_funds

# the key prefix of the payments traced alongside the ones asked for (never a normalised ID number)
OTHER_VICTIM = "\x00other:"
CASHOUT_CATEGORIES = {"gold": "gold", "crypto_otc": "crypto", "jewellery": "gold"}


def case_sources(
    engine: Engine,
    case_ids: list[str] | None = None,
    *,
    window_days: int = 30,
    pass_through_hours: float = 2.0,
) -> pd.DataFrame:
    """``victim_id, case_id, transfer_id, amount_fen, at, to_account, reason`` of the victims' payments.

    A transfer out of the victim's own account in the ``window_days`` before the report (not to
    another account of the victim's) is a payment to the fraud when its receiving account is
    (reason) ``named`` by this case, ``named_elsewhere`` (by another case), ``same_owner`` (its
    owner also owns an account some case names: the card farmer's other cards), or
    ``pass_through`` (a personal account that moved at least half of the amount on within
    ``pass_through_hours``: 快进快出). Victims know only some of the accounts they paid; the last
    three rules find the others.
    """
    for table in ("cases", "accounts", "transfers"):
        if not engine.has_table(table):
            raise NotFoundError(f"table {table!r} is needed to find victims' payments; land it first")
    engine.register("__case_filter", pd.DataFrame({"case_id": list(case_ids or [])}, dtype=object))
    if case_ids:
        unknown = _not_in_cases(engine, "case_id", case_ids)
        if unknown:
            raise NotFoundError(f"unknown case id(s) {unknown}: not in table cases; check the ids")
    where = "WHERE case_id IN (SELECT case_id FROM __case_filter)" if case_ids else ""
    outflow = 'SELECT from_account AS account, amount_fen, "at" FROM transfers' + (
        ' UNION ALL SELECT account, amount_fen, "at" FROM withdrawals'
        if engine.has_table("withdrawals")
        else ""
    )
    window = f"INTERVAL '{int(window_days)} days'"
    # the accounts a victim pays from: her own, and those the report names as hers to pay from
    # (paid_from: a parent's card for a minor — no record ties them to her otherwise)
    named_payers = (
        """ UNION SELECT case_id, account FROM (
                SELECT case_id, unnest(paid_from) AS account FROM cases {where}) n"""
        if "paid_from" in engine.query("SELECT * FROM cases LIMIT 0").column_names
        else ""
    ).format(where=where)
    engine.execute(
        f"""CREATE OR REPLACE TEMP TABLE __paid AS
        WITH c AS (SELECT case_id, victim_id, reported_at, suspect_accounts FROM cases {where}),
        payers AS (SELECT c.case_id, va.account_no AS account FROM c JOIN accounts va ON va.owner_id = c.victim_id
                   {named_payers})
        SELECT c.victim_id, c.case_id, c.reported_at, c.suspect_accounts, t.transfer_id, t.amount_fen,
               t."at", t.to_account
        FROM c JOIN payers p ON p.case_id = c.case_id
        JOIN transfers t ON t.from_account = p.account"""
    )
    # a separate statement on purpose: with the time range in the same query DuckDB joins cases ×
    # transfers on time first (a range join ~100x slower than these equality joins)
    engine.execute(
        f"""CREATE OR REPLACE TEMP TABLE __cand AS
        SELECT p.victim_id, p.case_id, p.transfer_id, p.amount_fen, p."at", p.to_account,
               list_contains(p.suspect_accounts, p.to_account) AS named
        FROM __paid p LEFT JOIN accounts own ON own.account_no = p.to_account
        WHERE p."at" <= p.reported_at AND p."at" >= p.reported_at - {window}
          -- a move between the victim's own accounts pays nobody: the payment is the one after it
          AND own.owner_id IS DISTINCT FROM p.victim_id"""
    )
    seconds = int(float(pass_through_hours) * 3600)
    return engine.frame(
        f"""
        WITH named_all AS (SELECT DISTINCT unnest(suspect_accounts) AS account FROM cases),
        named_owner AS (SELECT DISTINCT a.owner_id FROM accounts a JOIN named_all n ON a.account_no = n.account
                        WHERE a.owner_id IS NOT NULL),
        outflow AS (SELECT o.* FROM ({outflow}) o WHERE o.account IN (SELECT to_account FROM __cand)),
        passed AS (
            SELECT cand.transfer_id, sum(o.amount_fen) AS out_fen
            -- one row per payment: __cand has one per case of the victim, each outflow counts once
            FROM (SELECT DISTINCT transfer_id, to_account, "at" FROM __cand) cand
            JOIN outflow o ON o.account = cand.to_account
            WHERE o."at" > cand."at" AND o."at" <= cand."at" + INTERVAL '{seconds} seconds'
            GROUP BY cand.transfer_id),
        flagged AS (
            SELECT cand.*, na.account IS NOT NULL AS elsewhere, no.owner_id IS NOT NULL AS same_owner,
                   coalesce(ra.account_type, 'personal') = 'personal' AND p.out_fen * 2 >= cand.amount_fen AS passes
            FROM __cand cand
            LEFT JOIN accounts ra ON ra.account_no = cand.to_account
            LEFT JOIN named_all na ON na.account = cand.to_account
            LEFT JOIN named_owner no ON no.owner_id = ra.owner_id
            LEFT JOIN passed p ON p.transfer_id = cand.transfer_id)
        SELECT DISTINCT ON (transfer_id) victim_id, case_id, transfer_id, amount_fen, "at", to_account,
               CASE WHEN named THEN 'named' WHEN elsewhere THEN 'named_elsewhere'
                    WHEN same_owner THEN 'same_owner' ELSE 'pass_through' END AS reason
        FROM flagged WHERE named OR elsewhere OR same_owner OR coalesce(passes, false)
        -- a payment of a victim with several cases: the case naming its account, then the first case
        -- id (a fixed rule: every engine and every run gives it to the same case)
        ORDER BY transfer_id, named DESC, case_id
        """
    ).sort_values(["case_id", "at"], ignore_index=True)


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
    match_rule: MatchRule | None = None,
) -> tuple[TraceResult, pd.DataFrame]:
    """Trace the victims of ``case_ids`` (all cases when None); returns the result and the sources.
    ``match_rule``: the rule of ``method="match"`` (default :class:`MatchRule`).

    A victim's trace does not depend on what else is asked for: the replay always carries every
    reported case's payments in the window and the result is then cut to the victims asked for. An
    account's ledger needs the money that reached it before the victim's (FIFO, proportional) and
    the match rule needs the other victims' parcels to tell them apart."""
    every = case_sources(engine, None, window_days=window_days)
    if case_ids is None and victim_ids is None:
        sources = context = every
    else:
        sources = case_sources(engine, case_ids, window_days=window_days) if case_ids else every
        if victim_ids is not None:
            unknown = _not_in_cases(engine, "victim_id", victim_ids)
            if unknown:
                raise NotFoundError(
                    f"victim(s) {unknown} are the victim of no reported case; check the ID numbers"
                )
            sources = sources[sources.victim_id.isin(victim_ids)]
        if case_ids and sources.empty:
            if victim_ids is not None:  # the cases may have payments, only not of these victims
                raise NotFoundError(
                    f"no payments of victims {victim_ids[:3]} found in cases {case_ids[:3]}: a victim's "
                    "payments count in her own cases; check which cases each victim reported"
                )
            raise NotFoundError(
                f"no payments found for cases {case_ids[:3]}: the victim's accounts must pay an account the case names"
            )
        # the other payments ride along; those of an asked-for victim in cases not asked for under a
        # key of their own, so they are not counted as hers
        others = every[~every.transfer_id.isin(set(sources.transfer_id))].copy()
        hers = others.victim_id.isin(set(sources.victim_id))
        others.loc[hers, "victim_id"] = OTHER_VICTIM + others.loc[hers, "victim_id"].astype(str)
        context = pd.concat([sources, others], ignore_index=True)
    # only money movements after the first payment can carry victims' money; ``match`` also needs
    # the parcels that reached the mules shortly before (its window), to tell them apart
    start = context["at"].min() if len(context) else pd.Timestamp.now(tz="UTC")
    lead = (match_rule or MatchRule()).hours if method == "match" else None
    if lead:
        start -= pd.Timedelta(hours=lead)
    transfers = engine.frame(
        'SELECT transfer_id, from_account, to_account, amount_fen, "at", channel, wallet FROM transfers '
        'WHERE "at" >= $start OR "at" IS NULL',  # records without a time: rejected by trace_funds
        {"start": start},
    )
    withdrawals = (
        engine.frame(
            'SELECT withdrawal_id, account, amount_fen, "at", atm_id FROM withdrawals WHERE "at" >= $start '
            'OR "at" IS NULL',
            {"start": start},
        )
        if engine.has_table("withdrawals")
        else None
    )
    result = trace_funds(
        transfers,
        withdrawals,
        context[["victim_id", "transfer_id"]].drop_duplicates("transfer_id"),
        method=method,
        max_hops=max_hops,
        max_hours=max_hours,
        cashout_accounts=cashout_accounts(engine),
        match_rule=match_rule,
    )
    if context is not sources:
        result = result.of_victims(set(sources.victim_id), set(sources.transfer_id))
    return result, sources


def _not_in_cases(engine: Engine, column: str, ids: list[str]) -> str:
    """The ids that no case has in ``column``, listed for a message ("" when all are known)."""
    engine.register("__id_filter", pd.DataFrame({"id": list(ids)}, dtype=object))
    sql = f"SELECT DISTINCT {column} AS id FROM cases WHERE {column} IN (SELECT id FROM __id_filter)"
    known = set(engine.frame(sql).id)
    unknown = [i for i in dict.fromkeys(ids) if i not in known]
    if not unknown:
        return ""
    return f"{unknown[:5]}{' …' if len(unknown) > 5 else ''} ({len(unknown)} of {len(set(ids))})"
