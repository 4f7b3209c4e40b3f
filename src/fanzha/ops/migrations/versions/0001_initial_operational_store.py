"""initial operational store

Revision ID: 0001
Revises:
Create Date: 2026-11-21 08:05:10.357472
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # the chain starts at seq 0 with the all-zero hash; appends lock this row
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=256), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=True),
        sa.Column("subject_id", sa.String(length=256), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "fund_commands",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=True),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("bank", sa.String(length=64), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("root_id", sa.String(length=64), nullable=True),
        sa.Column("hop", sa.Integer(), nullable=False),
        sa.Column("victim_ids", sa.JSON(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("officer", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("respond_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_fen", sa.BigInteger(), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), nullable=True),
        sa.Column("moved_on_fen", sa.BigInteger(), nullable=False),
        sa.Column("next_hops", sa.JSON(), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["fund_commands.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fund_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_commands_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_commands_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_commands_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_commands_root_id"), ["root_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_commands_status"), ["status"], unique=False)

    op.create_table(
        "list_entries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.Column("match", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("live_key", sa.String(length=64), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=128), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("live_key"),
    )
    with op.batch_alter_table("list_entries", schema=None) as batch_op:
        batch_op.create_index("ix_list_lookup", ["kind", "value"], unique=False)

    op.create_table(
        "person_profiles",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("earlier_victim", sa.Boolean(), nullable=False),
        sa.Column("family_contacts", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "refund_plans",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active_key", sa.String(length=48), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("pool_fen", sa.BigInteger(), nullable=False),
        sa.Column("claimed_fen", sa.BigInteger(), nullable=False),
        sa.Column("eligible_fen", sa.BigInteger(), nullable=False),
        sa.Column("returned_fen", sa.BigInteger(), nullable=False),
        sa.Column("calculation", sa.JSON(), nullable=False),
        sa.Column("calculation_hash", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("executed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key"),
    )
    with op.batch_alter_table("refund_plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_plans_account"), ["account"], unique=False)

    op.create_table(
        "trace_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("victim_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column("hop", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("victim_id", "account", "transfer_id", name="uq_trace_link"),
    )
    with op.batch_alter_table("trace_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trace_links_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_trace_links_victim_id"), ["victim_id"], unique=False)

    op.create_table(
        "warnings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("episode_key", sa.String(length=128), nullable=False),
        sa.Column("open_key", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("amount_at_stake_fen", sa.BigInteger(), nullable=False),
        sa.Column("vulnerability", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("family_alerted", sa.Boolean(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact_channel", sa.String(length=16), nullable=True),
        sa.Column("officer", sa.String(length=128), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("merged_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key"),
    )
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warnings_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_warnings_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_warnings_tier"), ["tier"], unique=False)

    op.create_table(
        "bank_receipts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("held_fen", sa.BigInteger(), nullable=False),
        sa.Column("balance_fen", sa.BigInteger(), nullable=True),
        sa.Column("moved_on_fen", sa.BigInteger(), nullable=False),
        sa.Column("next_hops", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["command_id"],
            ["fund_commands.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bank_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bank_receipts_command_id"), ["command_id"], unique=False)

    op.create_table(
        "fund_command_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["command_id"],
            ["fund_commands.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fund_command_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_command_events_command_id"), ["command_id"], unique=False)

    op.create_table(
        "fund_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunded_fen", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("active_key", sa.String(length=48), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["command_id"],
            ["fund_commands.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key"),
        sa.UniqueConstraint("command_id"),
    )
    with op.batch_alter_table("fund_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_holds_account"), ["account"], unique=False)

    op.create_table(
        "list_appeals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("appellant", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["list_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("list_appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_appeals_entry_id"), ["entry_id"], unique=False)

    op.create_table(
        "refund_allocations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.String(length=64), nullable=False),
        sa.Column("victim_id", sa.String(length=64), nullable=False),
        sa.Column("claimed_fen", sa.BigInteger(), nullable=False),
        sa.Column("eligible_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["refund_plans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "victim_id", name="uq_refund_victim"),
    )
    with op.batch_alter_table("refund_allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refund_allocations_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "warning_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("warning_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("officer", sa.String(length=128), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["warning_id"],
            ["warnings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("warning_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warning_events_warning_id"), ["warning_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("warning_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warning_events_warning_id"))

    op.drop_table("warning_events")
    with op.batch_alter_table("refund_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_allocations_plan_id"))

    op.drop_table("refund_allocations")
    with op.batch_alter_table("list_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_list_appeals_entry_id"))

    op.drop_table("list_appeals")
    with op.batch_alter_table("fund_holds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_holds_account"))

    op.drop_table("fund_holds")
    with op.batch_alter_table("fund_command_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_command_events_command_id"))

    op.drop_table("fund_command_events")
    with op.batch_alter_table("bank_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bank_receipts_command_id"))

    op.drop_table("bank_receipts")
    with op.batch_alter_table("warnings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warnings_tier"))
        batch_op.drop_index(batch_op.f("ix_warnings_status"))
        batch_op.drop_index(batch_op.f("ix_warnings_person_id"))

    op.drop_table("warnings")
    with op.batch_alter_table("trace_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trace_links_victim_id"))
        batch_op.drop_index(batch_op.f("ix_trace_links_account"))

    op.drop_table("trace_links")
    with op.batch_alter_table("refund_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refund_plans_account"))

    op.drop_table("refund_plans")
    op.drop_table("person_profiles")
    with op.batch_alter_table("list_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_list_lookup")

    op.drop_table("list_entries")
    with op.batch_alter_table("fund_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_commands_status"))
        batch_op.drop_index(batch_op.f("ix_fund_commands_root_id"))
        batch_op.drop_index(batch_op.f("ix_fund_commands_parent_id"))
        batch_op.drop_index(batch_op.f("ix_fund_commands_case_id"))
        batch_op.drop_index(batch_op.f("ix_fund_commands_account"))

    op.drop_table("fund_commands")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
