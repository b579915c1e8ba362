"""Content variants, per-user spend budgets and the spend ledger (one row per model-call attempt).

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the three tables (expand only: code of revision 0002 never reads them)."""
    op.create_table(
        "content_variants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("variant_index", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("tone", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=False),
        sa.Column("tool_calls", sa.Integer(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("cited_file_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_variants")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_content_variants_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "variant_index >= 0 AND input_tokens >= 0 AND cached_tokens >= 0"
            " AND output_tokens >= 0 AND reasoning_tokens >= 0 AND tool_calls >= 0"
            " AND cost_micros >= 0",
            name=op.f("ck_content_variants_non_negative"),
        ),
        sa.UniqueConstraint("job_id", "variant_index", name=op.f("uq_content_variants_job_id")),
    )
    op.create_index(
        op.f("ix_content_variants_campaign_created"),
        "content_variants",
        ["campaign_id", "created_at"],
    )
    op.create_table(
        "spend_budgets",
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
        sa.Column("reserved_micros", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "period", name=op.f("pk_spend_budgets")),
        sa.CheckConstraint(
            "spent_micros >= 0 AND reserved_micros >= 0",
            name=op.f("ck_spend_budgets_non_negative"),
        ),
    )
    op.create_table(
        "spend_ledger",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reserved_micros", sa.BigInteger(), nullable=False),
        sa.Column("actual_micros", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spend_ledger")),
        sa.CheckConstraint(
            "status IN ('reserved', 'settled', 'released', 'expired')",
            name=op.f("ck_spend_ledger_status_known"),
        ),
        sa.CheckConstraint(
            "reserved_micros >= 0 AND (actual_micros IS NULL OR actual_micros >= 0)",
            name=op.f("ck_spend_ledger_non_negative"),
        ),
    )
    op.create_index(
        op.f("ix_spend_ledger_status_expires"), "spend_ledger", ["status", "expires_at"]
    )
    op.create_index(op.f("ix_spend_ledger_job"), "spend_ledger", ["job_id", "attempt"])


def downgrade() -> None:
    """Drop the three tables and their indexes."""
    op.drop_index(op.f("ix_spend_ledger_job"), table_name="spend_ledger")
    op.drop_index(op.f("ix_spend_ledger_status_expires"), table_name="spend_ledger")
    op.drop_table("spend_ledger")
    op.drop_table("spend_budgets")
    op.drop_index(op.f("ix_content_variants_campaign_created"), table_name="content_variants")
    op.drop_table("content_variants")
