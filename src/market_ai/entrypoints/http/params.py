"""Request parameters several routes share: paging, the campaign id, Idempotency-Key."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar.params import FromPath, HeaderParameter, QueryParameter

from market_ai.domain.campaign_service import PER_PAGE_MAX
from market_ai.domain.jobs import IDEMPOTENCY_KEY_MAX

CampaignId = FromPath[UUID]
PageNumber = Annotated[int, QueryParameter(ge=1, le=1_000_000, description="1-based page number")]
PerPage = Annotated[int, QueryParameter(ge=1, le=PER_PAGE_MAX, description="items per page")]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        max_length=IDEMPOTENCY_KEY_MAX,
        description="repeat a request with the same key (same user) to get the same job back",
    ),
]
