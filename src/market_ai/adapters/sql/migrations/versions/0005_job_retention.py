"""Partial indexes: health figures over unfinished jobs, retention over finished rows.

Revision ID: 0005
Revises: 0004
Create Date: 2025-01-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNFINISHED = sa.text("status <> 'succeeded'")
_SUCCEEDED = sa.text("status = 'succeeded'")
_CLOSED = sa.text("status <> 'reserved'")


def upgrade() -> None:
    """Add the indexes (expand only: code of revision 0004 does not need them)."""
    op.create_index(
        "ix_jobs_unfinished_status_run_after",
        "jobs",
        ["status", "run_after"],
        postgresql_where=_UNFINISHED,
        sqlite_where=_UNFINISHED,
    )
    op.create_index(
        "ix_jobs_succeeded_finished",
        "jobs",
        ["finished_at"],
        postgresql_where=_SUCCEEDED,
        sqlite_where=_SUCCEEDED,
    )
    op.create_index(
        "ix_spend_ledger_closed",
        "spend_ledger",
        ["closed_at"],
        postgresql_where=_CLOSED,
        sqlite_where=_CLOSED,
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_spend_ledger_closed", table_name="spend_ledger")
    op.drop_index("ix_jobs_succeeded_finished", table_name="jobs")
    op.drop_index("ix_jobs_unfinished_status_run_after", table_name="jobs")
