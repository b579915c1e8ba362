"""market-ai: the backend of a marketing-AI dashboard, usable as a library.

from market_ai import build_container, start, stop, CampaignDraft, Channel

container = build_container()
await start(container)
service = container.campaign_service()
campaign = await service.create("user-1", CampaignDraft(name="Launch", channel=Channel.EMAIL))
await stop(container)
"""

from market_ai.container import Container, build_container, start, stop
from market_ai.domain.campaign_service import (
    UNSET,
    CampaignChanges,
    CampaignDraft,
    CampaignService,
    Page,
)
from market_ai.domain.campaigns import Campaign, CampaignStatus, Channel
from market_ai.domain.errors import (
    BudgetExceeded,
    Conflict,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    Unauthenticated,
    Unavailable,
)
from market_ai.settings import AppEnv, Settings, SettingsError, load_settings

__all__ = [
    "UNSET",
    "AppEnv",
    "BudgetExceeded",
    "Campaign",
    "CampaignChanges",
    "CampaignDraft",
    "CampaignService",
    "CampaignStatus",
    "Channel",
    "Conflict",
    "Container",
    "DomainError",
    "IllegalTransition",
    "InvalidInput",
    "NotFound",
    "Page",
    "QuotaExceeded",
    "Settings",
    "SettingsError",
    "Unauthenticated",
    "Unavailable",
    "build_container",
    "load_settings",
    "start",
    "stop",
]
