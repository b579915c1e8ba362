"""The request id that enqueued each job (one id from the click to the inbox).

Revision ID: 0009
Revises: 0008
Create Date: 2025-01-09 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A nullable column (expand only: older code never reads it, older rows have none)."""
    op.add_column("jobs", sa.Column("request_id", sa.String(128), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    op.drop_column("jobs", "request_id")
