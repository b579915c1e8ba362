"""Per-recipient email deliveries, the daily recipient quota and the suppression list.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add three tables (expand only: the previous code never reads them)."""
    op.create_table(
        "email_recipients",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("detail", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'deferred', 'refused', 'suppressed')",
            name=op.f("ck_email_recipients_status_known"),
        ),
        sa.PrimaryKeyConstraint("job_id", "address", name=op.f("pk_email_recipients")),
    )
    op.create_table(
        "email_quota",
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.CheckConstraint("recipients >= 0", name=op.f("ck_email_quota_non_negative")),
        sa.PrimaryKeyConstraint("owner_id", "day", name=op.f("pk_email_quota")),
    )
    op.create_table(
        "email_suppressions",
        sa.Column("owner_id", sa.String(255), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "address", name=op.f("pk_email_suppressions")),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("email_suppressions")
    op.drop_table("email_quota")
    op.drop_table("email_recipients")
