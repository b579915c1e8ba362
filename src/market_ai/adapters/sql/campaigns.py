"""Campaign repository on SQLAlchemy Core, scoped by owner in every statement."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from market_ai.adapters.sql.tables import campaign_counts, campaigns
from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel
from market_ai.domain.errors import Conflict

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy import Row, Select
    from sqlalchemy.ext.asyncio import AsyncConnection

_CENTS = Decimal(100)


def _to_row(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "owner_id": campaign.owner_id,
        "name": campaign.name,
        "channel": campaign.channel.value,
        "status": campaign.status.value,
        "budget_minor": int(campaign.budget * _CENTS),
        "currency": campaign.currency,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "audience": campaign.audience,
        "brief": campaign.brief,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
        "version": campaign.version,
    }


_TOTAL = "total_matching"


def list_statements(
    *, status: CampaignStatus | None, channel: Channel | None
) -> tuple[Select[Any], Select[Any]]:
    """One page (newest first) with the filter's total on each row, and the total alone.

    The total is a sum over `campaign_counts` (kept by triggers), not a count over the
    owner's rows: a page costs the same with 100 campaigns or 100,000. Both read in one
    statement, so page and total come from the same snapshot.
    """
    match = [campaigns.c.owner_id == bindparam("owner_id")]
    counted = [campaign_counts.c.owner_id == bindparam("owner_id")]
    if status is not None:
        match.append(campaigns.c.status == bindparam("status"))
        counted.append(campaign_counts.c.status == bindparam("status"))
    if channel is not None:
        match.append(campaigns.c.channel == bindparam("channel"))
        counted.append(campaign_counts.c.channel == bindparam("channel"))
    total = select(func.coalesce(func.sum(campaign_counts.c.n), 0)).where(*counted)
    page = (
        select(campaigns, total.scalar_subquery().label(_TOTAL))
        .where(*match)
        .order_by(campaigns.c.created_at.desc(), campaigns.c.id.desc())
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )
    return page, total


def _from_row(row: Row[Any]) -> Campaign:
    m = row._mapping  # noqa: SLF001 - SQLAlchemy's public mapping accessor
    return Campaign(
        id=m["id"],
        owner_id=m["owner_id"],
        name=m["name"],
        channel=Channel(m["channel"]),
        status=CampaignStatus(m["status"]),
        budget=(Decimal(m["budget_minor"]) / _CENTS).quantize(Decimal("0.01")),
        currency=m["currency"],
        starts_on=m["starts_on"],
        ends_on=m["ends_on"],
        audience=m["audience"],
        brief=m["brief"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        version=m["version"],
    )


class SqlCampaignRepository:
    """Runs inside its unit of work's connection and transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection

    async def add(self, campaign: Campaign) -> None:
        """Insert a new campaign; an id already taken is a Conflict, as in every adapter."""
        try:
            await self._conn.execute(insert(campaigns).values(_to_row(campaign)))
        except IntegrityError as error:
            raise Conflict(f"campaign {campaign.id} already exists") from error

    async def get(self, owner_id: str, campaign_id: UUID) -> Campaign | None:
        """Return the owner's campaign, or None."""
        result = await self._conn.execute(
            select(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.owner_id == owner_id)
        )
        row = result.first()
        return None if row is None else _from_row(row)

    async def list(
        self,
        owner_id: str,
        *,
        offset: int,
        limit: int,
        status: CampaignStatus | None = None,
        channel: Channel | None = None,
    ) -> tuple[Sequence[Campaign], int]:
        """Return one page (newest first) and the owner's total under the same filter."""
        page, total = list_statements(status=status, channel=channel)
        params = {"owner_id": owner_id, "status": status, "channel": channel}
        params = {k: getattr(v, "value", v) for k, v in params.items()}
        rows = (await self._conn.execute(page, {**params, "offset": offset, "limit": limit})).all()
        if rows:
            found = rows[0][-1]
        elif offset == 0:
            found = 0
        else:
            found = await self._conn.scalar(total, params)
        return [_from_row(row) for row in rows], int(found or 0)

    async def save(self, campaign: Campaign) -> bool:
        """Compare-and-set on version: the UPDATE matches only the version it was read at."""
        values = _to_row(campaign)
        for key in ("id", "owner_id", "created_at"):
            values.pop(key)
        result = await self._conn.execute(
            update(campaigns)
            .where(
                campaigns.c.id == campaign.id,
                campaigns.c.owner_id == campaign.owner_id,
                campaigns.c.version == campaign.version - 1,
            )
            .values(values)
        )
        return result.rowcount == 1

    async def delete(self, owner_id: str, campaign_id: UUID) -> bool:
        """Delete the owner's campaign."""
        result = await self._conn.execute(
            delete(campaigns).where(campaigns.c.id == campaign_id, campaigns.c.owner_id == owner_id)
        )
        return result.rowcount == 1
