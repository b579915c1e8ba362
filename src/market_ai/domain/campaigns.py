"""The Campaign entity and the rules every campaign obeys, wherever it is created from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final
from uuid import UUID, uuid4

from market_ai.domain.currencies import ISO_4217
from market_ai.domain.errors import IllegalTransition, InvalidInput

NAME_MAX: Final = 200
AUDIENCE_MAX: Final = 2_000
BRIEF_MAX: Final = 10_000
BUDGET_MAX: Final = Decimal(1000000000000)  # 10^12: beyond any real campaign, fits NUMERIC(14,2)


class Channel(StrEnum):
    """Where a campaign runs."""

    EMAIL = "email"
    SOCIAL = "social"
    SEARCH = "search"
    DISPLAY = "display"
    VIDEO = "video"
    OTHER = "other"


class CampaignStatus(StrEnum):
    """Lifecycle of a campaign; only the moves in TRANSITIONS are legal."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    ARCHIVED = "archived"


TRANSITIONS: Final[dict[CampaignStatus, frozenset[CampaignStatus]]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE, CampaignStatus.ARCHIVED}),
    CampaignStatus.ACTIVE: frozenset(
        {CampaignStatus.PAUSED, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.PAUSED: frozenset(
        {CampaignStatus.ACTIVE, CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED}
    ),
    CampaignStatus.COMPLETED: frozenset({CampaignStatus.ARCHIVED}),
    CampaignStatus.ARCHIVED: frozenset(),
}


def check_name(name: str) -> str:
    """Names are trimmed, 1 to 200 characters."""
    trimmed = name.strip()
    if not trimmed:
        raise InvalidInput("name", "must not be blank")
    if len(trimmed) > NAME_MAX:
        raise InvalidInput("name", f"must be at most {NAME_MAX} characters")
    return trimmed


def check_budget(budget: Decimal | int | str) -> Decimal:
    """Budgets are exact money: non-negative, at most two decimal places."""
    try:
        value = Decimal(budget)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput("budget", "must be a decimal number") from None
    if not value.is_finite():
        raise InvalidInput("budget", "must be a finite number")
    if value < 0:
        raise InvalidInput("budget", "must be zero or more")
    if value >= BUDGET_MAX:
        raise InvalidInput("budget", f"must be less than {BUDGET_MAX}")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput("budget", "must have at most 2 decimal places")
    return value.quantize(Decimal("0.01")).copy_abs()  # "-0" is zero, not "-0.00"


def check_currency(currency: str) -> str:
    """Currencies are ISO 4217 codes; lower case is accepted and normalised."""
    code = currency.strip().upper()
    if code not in ISO_4217:
        raise InvalidInput("currency", "must be an ISO 4217 currency code such as USD")
    return code


def check_text(field_name: str, value: str | None, limit: int) -> str | None:
    """Free text is bounded so one campaign cannot fill the database or a prompt."""
    if value is None:
        return None
    trimmed = value.strip()
    if len(trimmed) > limit:
        raise InvalidInput(field_name, f"must be at most {limit} characters")
    return trimmed or None


def check_flight(starts_on: date | None, ends_on: date | None) -> None:
    """A campaign cannot end before it starts."""
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise InvalidInput("ends_on", "must be on or after starts_on")


def check_transition(current: CampaignStatus, target: CampaignStatus) -> None:
    """Refuse moves the lifecycle does not allow (staying put is always fine)."""
    if target is not current and target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise IllegalTransition(
            "status", f"cannot move from {current} to {target} (allowed: {allowed})"
        )


@dataclass(frozen=True, slots=True)
class Campaign:
    """A marketing campaign owned by one user; `version` guards against lost updates."""

    owner_id: str
    name: str
    channel: Channel
    created_at: datetime
    updated_at: datetime
    status: CampaignStatus = CampaignStatus.DRAFT
    budget: Decimal = Decimal("0.00")
    currency: str = "USD"
    starts_on: date | None = None
    ends_on: date | None = None
    audience: str | None = None
    brief: str | None = None
    version: int = 1
    id: UUID = field(default_factory=uuid4)

    def revised(self, now: datetime, **changes: object) -> Campaign:
        """Return the next version of this campaign with `changes` applied and checked."""
        updated = replace(self, **changes, updated_at=now, version=self.version + 1)  # type: ignore[arg-type]
        check_transition(self.status, updated.status)
        check_flight(updated.starts_on, updated.ends_on)
        return updated
