"""Campaign use cases: what a user can do with their campaigns."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Final, Generic, TypeVar
from uuid import UUID

from market_ai.domain.campaigns import (
    AUDIENCE_MAX,
    BRIEF_MAX,
    Campaign,
    CampaignStatus,
    Channel,
    check_budget,
    check_currency,
    check_flight,
    check_name,
    check_text,
)
from market_ai.domain.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from market_ai.domain.ports import CampaignRepository, Clock, UnitOfWorkFactory
from market_ai.domain.read_cache import ReadCache

PER_PAGE_MAX: Final = 100
T = TypeVar("T")
# A save misses only when another writer committed since the read, so with N writers racing
# on one campaign each misses at most N - 1 times: this many attempts lets a burst of up to
# 32 concurrent writers all land (one process has at most DB_POOL_MAX_SIZE in flight).
_SAVE_ATTEMPTS: Final = 32


class _Unset:
    """Marks a field a partial update leaves alone (None is a value: it clears the field)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    """What a user gives to create a campaign."""

    name: str
    channel: Channel
    budget: Decimal = Decimal("0.00")
    currency: str = "USD"
    status: CampaignStatus = CampaignStatus.DRAFT
    starts_on: date | None = None
    ends_on: date | None = None
    audience: str | None = None
    brief: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignChanges:
    """A partial update: fields left UNSET keep their current value."""

    name: str | _Unset = UNSET
    channel: Channel | _Unset = UNSET
    status: CampaignStatus | _Unset = UNSET
    budget: Decimal | _Unset = UNSET
    currency: str | _Unset = UNSET
    starts_on: date | _Unset | None = UNSET
    ends_on: date | _Unset | None = UNSET
    audience: str | _Unset | None = UNSET
    brief: str | _Unset | None = UNSET

    def checked(self) -> dict[str, object]:
        """Return the set fields, validated and normalised like a draft's."""
        given = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if not isinstance(getattr(self, f.name), _Unset)
        }
        return {name: _check_field(name, value) for name, value in given.items()}


def _check_field(name: str, value: object) -> object:
    """Apply the same rule a draft's field gets."""
    if name == "name":
        return check_name(str(value))
    if name == "budget":
        return check_budget(value)  # type: ignore[arg-type]
    if name == "currency":
        return check_currency(str(value))
    if name in {"audience", "brief"}:
        limit = AUDIENCE_MAX if name == "audience" else BRIEF_MAX
        return check_text(name, None if value is None else str(value), limit)
    return value


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and where it sits in the whole."""

    items: Sequence[T]
    total: int
    page: int
    per_page: int


def check_page(page: int, per_page: int) -> None:
    """Pages start at 1; pages are bounded so one request cannot read the whole table."""
    if page < 1:
        raise InvalidInput("page", "must be 1 or more")
    if not 1 <= per_page <= PER_PAGE_MAX:
        raise InvalidInput("per_page", f"must be between 1 and {PER_PAGE_MAX}")


class CampaignService:
    """Create, read, change and remove a user's campaigns."""

    def __init__(
        self, unit_of_work: UnitOfWorkFactory, clock: Clock, reads: ReadCache | None = None
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._reads = reads

    async def create(self, owner_id: str, draft: CampaignDraft) -> Campaign:
        """Validate and store a new campaign."""
        if draft.status not in {CampaignStatus.DRAFT, CampaignStatus.ACTIVE}:
            raise InvalidInput("status", "a new campaign starts as draft or active")
        check_flight(draft.starts_on, draft.ends_on)
        now = self._clock.now()
        campaign = Campaign(
            owner_id=owner_id,
            name=check_name(draft.name),
            channel=Channel(draft.channel),
            status=draft.status,
            budget=check_budget(draft.budget),
            currency=check_currency(draft.currency),
            starts_on=draft.starts_on,
            ends_on=draft.ends_on,
            audience=check_text("audience", draft.audience, AUDIENCE_MAX),
            brief=check_text("brief", draft.brief, BRIEF_MAX),
            created_at=now,
            updated_at=now,
        )
        async with self._uow() as uow:
            await uow.campaigns.add(campaign)
            await uow.commit()
        return campaign

    async def get(self, owner_id: str, campaign_id: UUID) -> Campaign:
        """Return the owner's campaign; anyone else's is NotFound."""
        async with self._uow() as uow:
            return await _must_get(uow.campaigns, owner_id, campaign_id)

    async def list(
        self,
        owner_id: str,
        *,
        page: int = 1,
        per_page: int = 20,
        status: CampaignStatus | None = None,
        channel: Channel | None = None,
    ) -> Page[Campaign]:
        """Return one page of the owner's campaigns, newest first."""
        check_page(page, per_page)
        async with self._uow() as uow:
            items, total = await uow.campaigns.list(
                owner_id,
                offset=(page - 1) * per_page,
                limit=per_page,
                status=status,
                channel=channel,
            )
        return Page(items=items, total=total, page=page, per_page=per_page)

    async def update(
        self,
        owner_id: str,
        campaign_id: UUID,
        changes: CampaignChanges,
        *,
        if_version: Collection[int] | None = None,
    ) -> Campaign:
        """Apply a partial update to the latest version.

        Saves are optimistic (compare-and-set on `version`): a concurrent writer makes the
        save miss, and the change is re-applied to the fresh row, so no write is lost.
        With `if_version` (If-Match) the change applies only to one of those versions: the
        compare-and-set makes the check atomic with the write, so a writer that slips in
        between makes this one fail with PreconditionFailed, never overwrite it.
        """
        values = changes.checked()
        for _ in range(_SAVE_ATTEMPTS):
            async with self._uow() as uow:
                current = await _must_get(uow.campaigns, owner_id, campaign_id)
                _check_version(current, if_version)
                updated = current.revised(self._clock.now(), **values)
                if await uow.campaigns.save(updated):
                    await uow.commit()
                    await self._invalidate(campaign_id)
                    return updated
        raise Conflict("the campaign is being changed by someone else; try again")

    async def archive(self, owner_id: str, campaign_id: UUID) -> Campaign:
        """Archive a campaign: it keeps its data but can no longer change status."""
        return await self.update(
            owner_id, campaign_id, CampaignChanges(status=CampaignStatus.ARCHIVED)
        )

    async def delete(
        self, owner_id: str, campaign_id: UUID, *, if_version: Collection[int] | None = None
    ) -> None:
        """Remove a campaign and what hangs off it.

        With `if_version`, the row is first saved by compare-and-set in the same unit of
        work: that write holds the row until the commit, so a concurrent update either
        lands before (and this delete fails its check) or finds the row gone.
        """
        async with self._uow() as uow:
            if if_version is not None:
                current = await _must_get(uow.campaigns, owner_id, campaign_id)
                _check_version(current, if_version)
                if not await uow.campaigns.save(current.revised(self._clock.now())):
                    raise PreconditionFailed("the campaign changed since that version")
            if not await uow.campaigns.delete(owner_id, campaign_id):
                raise NotFound("campaign not found")
            await uow.commit()
        await self._invalidate(campaign_id)

    async def _invalidate(self, campaign_id: UUID) -> None:
        if self._reads is not None:
            await self._reads.invalidate(campaign_id)


def _check_version(current: Campaign, if_version: Collection[int] | None) -> None:
    if if_version is not None and current.version not in if_version:
        raise PreconditionFailed(f"the campaign is at version {current.version} now")


async def _must_get(repository: CampaignRepository, owner_id: str, campaign_id: UUID) -> Campaign:
    campaign = await repository.get(owner_id, campaign_id)
    if campaign is None:
        raise NotFound("campaign not found")
    return campaign
