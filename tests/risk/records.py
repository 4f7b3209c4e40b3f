"""Hand-made record sets with known feature values (golden tests) for the risk area."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

AS_OF = datetime(2026, 1, 10, tzinfo=UTC)
A, B, C, D, E, F, G, H = (f"1380000000{i}" for i in range(1, 9))
I1, I2 = "86000000000001", "86000000000002"


def t(day: int, hour: int, minute: int = 0, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def calls_table() -> pa.Table:
    rows = [
        (A, B, t(9, 10), 5, "out", "成都", I1),
        (A, C, t(9, 11), 8, "out", "成都", I1),
        (A, D, t(9, 17), 100, "out", "成都", I1),  # 01:00 Beijing time: a night call
        (A, B, t(9, 12), 20, "out", "成都", I1),
        (B, A, t(9, 13), 30, "out", "绵阳", I2),
        (A, B, t(9, 10), 5, "in", "绵阳", I2),  # the first call again, recorded on B's side
        (E, F, t(9, 10), 60, "out", "成都", I1),  # E shares A's handset: a SIM farm of 2
        (A, C, t(1, 10, month=12, year=2025), 50, "out", "成都", I1),  # outside the 30-day window
    ]
    names = ("caller", "callee", "start_at", "duration_s", "direction", "city", "imei")
    cols = list(zip(*rows, strict=True))
    types = [
        pa.string(),
        pa.string(),
        pa.timestamp("us", tz="UTC"),
        pa.int32(),
        pa.string(),
        pa.string(),
        pa.string(),
    ]
    return pa.table({n: pa.array(c, ty) for n, c, ty in zip(names, cols, types, strict=True)})


def cards_table() -> pa.Table:
    return pa.table(
        {
            "number": [A, G, H, B],
            "owner_id": ["X", "X", "X", "Y"],
            "card_type": ["personal", "personal", "iot", "personal"],
            "opened_at": pa.array(
                [t(5, 0), t(1, 0, month=6, year=2025), t(1, 0, year=2025), t(1, 0, year=2024)],
                pa.timestamp("us", tz="UTC"),
            ),
            "closed_at": pa.array(
                [None, None, t(1, 0, month=12, year=2025), None], pa.timestamp("us", tz="UTC")
            ),
            "open_imei": [I1, None, None, I2],
        }
    )


def sms_table() -> pa.Table:
    return pa.table(
        {
            "sender": [A, A, A, B],
            "receiver": [B, C, C, A],
            "sent_at": pa.array([t(9, 1), t(9, 2), t(9, 3), t(9, 4)], pa.timestamp("us", tz="UTC")),
            "text": ["x"] * 4,
        }
    )


def transfers_table() -> pa.Table:
    rows = [
        ("t1", "V1", "M", 10_000, t(9, 10, 0)),
        ("t2", "V2", "M", 20_000, t(9, 10, 30)),
        ("t3", "M", "N", 29_000, t(9, 10, 40)),  # 10 minutes after t2: 快进快出
        ("t4", "N", "P", 28_000, t(9, 20, 0)),  # 9 h 20 min after t3
        ("t5", "P", "M", 1_000, t(9, 21, 0)),  # closes the cycle M → N → P → M
    ]
    ids, src, dst, amt, at = zip(*rows, strict=True)
    return pa.table(
        {
            "transfer_id": list(ids),
            "from_account": list(src),
            "to_account": list(dst),
            "amount_fen": pa.array(amt, pa.int64()),
            "at": pa.array(at, pa.timestamp("us", tz="UTC")),
            "channel": ["mobile"] * len(ids),
        }
    )


def accounts_table() -> pa.Table:
    return pa.table(
        {
            "account_no": ["V1", "V2", "M", "N", "P", "Q"],
            "bank": ["icbc", "icbc", "abc", "ccb", "ccb", "abc"],
            "owner_id": ["o1", "o2", "o3", "o3", "o4", "o3"],
            "opened_at": pa.array([t(1, 0, year=2020)] * 2 + [t(1, 0)] * 4, pa.timestamp("us", tz="UTC")),
        }
    )


X_UNKNOWN = "13900000099"  # tops up and uses data, but has no call, SMS or card record
P_OWN, P_DEALER = "6222000000000001", "6222000000000009"


def topups_table() -> pa.Table:
    rows = [
        ("T1", A, 5000, t(5, 10), "app", P_OWN),
        ("T2", A, 3000, t(8, 10), "voucher", None),
        ("T0", A, 10000, t(1, 10, month=12, year=2025), "app", P_OWN),  # outside the window
        ("T3", E, 1000, t(6, 2), "online", P_DEALER),  # one payer keeps four cards alive
        ("T4", G, 1000, t(6, 2, 1), "online", P_DEALER),
        ("T5", B, 1000, t(6, 2, 2), "online", P_DEALER),
        ("T6", X_UNKNOWN, 1000, t(6, 2, 3), "online", P_DEALER),
    ]
    names = ("topup_id", "number", "amount_fen", "at", "channel", "payer_account")
    types = [pa.string(), pa.string(), pa.int64(), pa.timestamp("us", tz="UTC"), pa.string(), pa.string()]
    cols = list(zip(*rows, strict=True))
    return pa.table({n: pa.array(c, ty) for n, c, ty in zip(names, cols, types, strict=True)})


def data_usage_table() -> pa.Table:
    rows = [
        (A, t(7, 16), 2048),  # 16:00 UTC = midnight in Beijing: one row per Beijing day
        (A, t(8, 16), 1024),
        (A, t(9, 4), 0),  # a row with no use is not a day of use
        (A, t(9, 5), 1024),  # the same Beijing day as the row above it
        (A, t(1, 16, month=11, year=2025), 999_999),  # outside the window
        (X_UNKNOWN, t(8, 16), 500),
    ]
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "number": pa.array(cols[0], pa.string()),
            "start_at": pa.array(cols[1], pa.timestamp("us", tz="UTC")),
            "kb": pa.array(cols[2], pa.int64()),
        }
    )
