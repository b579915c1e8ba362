"""In-memory campaign repository: writes are staged until its unit of work commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from market_ai.domain.errors import Conflict

if TYPE_CHECKING:
    from market_ai.adapters.memory.unit_of_work import InMemoryStore
    from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel


class InMemoryCampaignRepository:
    """Reads see committed rows plus this unit of work's own staged writes."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._staged: dict[UUID, Campaign | None] = {}
        self._added: set[UUID] = set()

    def _current(self, campaign_id: UUID) -> Campaign | None:
        if campaign_id in self._staged:
            return self._staged[campaign_id]
        return self._store.campaigns.get(campaign_id)

    async def add(self, campaign: Campaign) -> None:
        """Stage a new campaign."""
        if self._current(campaign.id) is not None:
            raise Conflict(f"campaign {campaign.id} already exists")
        self._staged[campaign.id] = campaign
        self._added.add(campaign.id)

    async def get(self, owner_id: str, campaign_id: UUID) -> Campaign | None:
        """Return the owner's campaign, or None."""
        campaign = self._current(campaign_id)
        return campaign if campaign is not None and campaign.owner_id == owner_id else None

    async def list(
        self,
        owner_id: str,
        *,
        offset: int,
        limit: int,
        status: CampaignStatus | None = None,
        channel: Channel | None = None,
    ) -> tuple[Sequence[Campaign], int]:
        """Return one page of the owner's campaigns, newest first, and the total."""
        ids = set(self._store.campaigns) | set(self._staged)
        rows = [
            c
            for c in (self._current(i) for i in ids)
            if c is not None
            and c.owner_id == owner_id
            and (status is None or c.status is status)
            and (channel is None or c.channel is channel)
        ]
        rows.sort(key=lambda c: (c.created_at, c.id.bytes), reverse=True)
        return rows[offset : offset + limit], len(rows)

    async def save(self, campaign: Campaign) -> bool:
        """Stage the next version if nobody moved past the one it was made from."""
        current = self._current(campaign.id)
        if current is None or current.owner_id != campaign.owner_id:
            return False
        if current.version != campaign.version - 1:
            return False
        self._staged[campaign.id] = campaign
        return True

    async def delete(self, owner_id: str, campaign_id: UUID) -> bool:
        """Stage the removal of the owner's campaign."""
        if await self.get(owner_id, campaign_id) is None:
            return False
        self._staged[campaign_id] = None
        return True

    def commit(self) -> None:
        """Apply staged writes; a row changed by another unit of work since is a Conflict."""
        for campaign_id, campaign in self._staged.items():
            stored = self._store.campaigns.get(campaign_id)
            if campaign_id in self._added:
                # An add is new whatever its version; another unit of work may have added it.
                if stored is not None:
                    raise Conflict(f"campaign {campaign_id} already exists")
            elif campaign is not None and (
                stored is None or stored.version != campaign.version - 1
            ):
                raise Conflict("the campaign was changed concurrently; try again")
        for campaign_id, campaign in self._staged.items():
            if campaign is None:
                self._store.campaigns.pop(campaign_id, None)
                self._store.metrics.pop(campaign_id, None)  # cascade, like the SQL FK
            else:
                self._store.campaigns[campaign_id] = campaign
        self._staged.clear()
        self._added.clear()

    def rollback(self) -> None:
        """Forget staged writes."""
        self._staged.clear()
        self._added.clear()
