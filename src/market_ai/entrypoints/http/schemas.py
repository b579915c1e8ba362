"""Wire models: what the API accepts and returns. Unknown fields are refused, not ignored."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec

from market_ai.domain.campaign_service import CampaignChanges, CampaignDraft
from market_ai.domain.campaigns import (
    AUDIENCE_MAX,
    BRIEF_MAX,
    NAME_MAX,
    Campaign,
    CampaignStatus,
    Channel,
)

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX)]
Money = Annotated[
    Decimal, msgspec.Meta(description="decimal string, >= 0, 2 places", examples=["1500.00"])
]
Currency = Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{3}$", examples=["USD"])]
Audience = Annotated[str, msgspec.Meta(max_length=AUDIENCE_MAX)]
Brief = Annotated[str, msgspec.Meta(max_length=BRIEF_MAX)]


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new campaign."""

    name: Name
    channel: Channel
    budget: Money = Decimal("0.00")
    currency: Currency = "USD"
    status: CampaignStatus = CampaignStatus.DRAFT
    starts_on: date | None = None
    ends_on: date | None = None
    audience: Audience | None = None
    brief: Brief | None = None

    def to_domain(self) -> CampaignDraft:
        """Hand the request to the use case, which applies the business rules."""
        return CampaignDraft(
            name=self.name,
            channel=self.channel,
            budget=self.budget,
            currency=self.currency,
            status=self.status,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            audience=self.audience,
            brief=self.brief,
        )


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: absent fields stay as they are; null clears an optional field."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    channel: Channel | msgspec.UnsetType = msgspec.UNSET
    status: CampaignStatus | msgspec.UnsetType = msgspec.UNSET
    budget: Money | msgspec.UnsetType = msgspec.UNSET
    currency: Currency | msgspec.UnsetType = msgspec.UNSET
    starts_on: date | msgspec.UnsetType | None = msgspec.UNSET
    ends_on: date | msgspec.UnsetType | None = msgspec.UNSET
    audience: Audience | msgspec.UnsetType | None = msgspec.UNSET
    brief: Brief | msgspec.UnsetType | None = msgspec.UNSET

    def to_domain(self) -> CampaignChanges:
        """Translate msgspec's UNSET into the domain's."""
        given = {
            field: value
            for field in self.__struct_fields__
            if (value := getattr(self, field)) is not msgspec.UNSET
        }
        return CampaignChanges(**given)


class CampaignOut(msgspec.Struct):
    """A campaign as the API shows it; money is a decimal string, never a float."""

    id: UUID
    name: str
    channel: Channel
    status: CampaignStatus
    budget: Decimal
    currency: str
    starts_on: date | None
    ends_on: date | None
    audience: str | None
    brief: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        """Project the entity onto the wire (the owner id is never shown)."""
        return cls(
            id=campaign.id,
            name=campaign.name,
            channel=campaign.channel,
            status=campaign.status,
            budget=campaign.budget,
            currency=campaign.currency,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
            audience=campaign.audience,
            brief=campaign.brief,
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
            version=campaign.version,
        )
