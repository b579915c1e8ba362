"""Content variants on SQLAlchemy Core: one row per (job, variant index), inserted once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from market_ai.adapters.sql.tables import content_variants
from market_ai.domain.content import ContentKind, ContentVariant
from market_ai.domain.errors import Unavailable

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.engine import RowMapping
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

UNREACHABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One short transaction; an unreachable database is Unavailable (retry later)."""
    try:
        async with engine.begin() as conn:
            yield conn
    except UNREACHABLE as error:
        raise Unavailable("the database cannot be reached") from error


def insert_for(conn: AsyncConnection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _to_row(v: ContentVariant) -> dict[str, Any]:
    return {
        "id": v.id,
        "job_id": v.job_id,
        "variant_index": v.index,
        "campaign_id": v.campaign_id,
        "owner_id": v.owner_id,
        "kind": v.kind.value,
        "tone": v.tone,
        "text": v.text,
        "model": v.model,
        "input_tokens": v.input_tokens,
        "cached_tokens": v.cached_tokens,
        "output_tokens": v.output_tokens,
        "reasoning_tokens": v.reasoning_tokens,
        "tool_calls": v.tool_calls,
        "cost_micros": v.cost_micros,
        "cited_file_ids": list(v.cited_file_ids),
        "created_at": v.created_at,
    }


def _from_row(r: RowMapping) -> ContentVariant:
    return ContentVariant(
        id=r["id"],
        job_id=r["job_id"],
        index=r["variant_index"],
        campaign_id=r["campaign_id"],
        owner_id=r["owner_id"],
        kind=ContentKind(r["kind"]),
        tone=r["tone"],
        text=r["text"],
        model=r["model"],
        input_tokens=r["input_tokens"],
        cached_tokens=r["cached_tokens"],
        output_tokens=r["output_tokens"],
        reasoning_tokens=r["reasoning_tokens"],
        tool_calls=r["tool_calls"],
        cost_micros=r["cost_micros"],
        created_at=r["created_at"],
        cited_file_ids=tuple(r["cited_file_ids"] or ()),
    )


class SqlContentStore:
    """Each write is its own short transaction: a stored variant survives a later failure."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, variant: ContentVariant) -> bool:
        """INSERT ... ON CONFLICT (job_id, variant_index) DO NOTHING RETURNING id.

        RETURNING says whether the row went in: psycopg reports rowcount -1 for this INSERT.
        """
        async with transaction(self._engine) as conn:
            statement = (
                insert_for(conn)(content_variants)
                .values(_to_row(variant))
                .on_conflict_do_nothing(index_elements=["job_id", "variant_index"])
                .returning(content_variants.c.id)
            )
            inserted = (await conn.execute(statement)).first()
        return inserted is not None

    async def for_job(self, job_id: UUID) -> Sequence[ContentVariant]:
        """The job's variants by index."""
        query = (
            select(content_variants)
            .where(content_variants.c.job_id == job_id)
            .order_by(content_variants.c.variant_index)
        )
        async with transaction(self._engine) as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_from_row(r) for r in rows]

    async def list(
        self, owner_id: str, campaign_id: UUID, *, offset: int, limit: int
    ) -> tuple[Sequence[ContentVariant], int]:
        """Newest first, then by index; the owner filter keeps tenants apart here too."""
        where = (content_variants.c.owner_id == owner_id) & (
            content_variants.c.campaign_id == campaign_id
        )
        page = (
            select(content_variants)
            .where(where)
            .order_by(content_variants.c.created_at.desc(), content_variants.c.variant_index)
            .offset(offset)
            .limit(limit)
        )
        count = select(func.count()).select_from(content_variants).where(where)
        async with transaction(self._engine) as conn:
            rows = (await conn.execute(page)).mappings().all()
            total = (await conn.execute(count)).scalar_one()
        return [_from_row(r) for r in rows], int(total)

    async def get(
        self, owner_id: str, campaign_id: UUID, content_id: UUID
    ) -> ContentVariant | None:
        """By primary key, with the owner and campaign in the same WHERE: no cross-tenant read."""
        query = select(content_variants).where(
            (content_variants.c.id == content_id)
            & (content_variants.c.owner_id == owner_id)
            & (content_variants.c.campaign_id == campaign_id)
        )
        async with transaction(self._engine) as conn:
            row = (await conn.execute(query)).mappings().one_or_none()
        return None if row is None else _from_row(row)
