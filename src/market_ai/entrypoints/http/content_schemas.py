"""Wire models of content generation: the request body, a stored variant, the header key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from market_ai.domain.campaigns import AUDIENCE_MAX
from market_ai.domain.content import (
    EXTRA_BRIEF_MAX,
    TONE_MAX,
    VARIANTS_MAX,
    ContentKind,
    ContentRequest,
    ContentVariant,
)
from market_ai.domain.spend import micros_to_usd


class ContentIn(msgspec.Struct, forbid_unknown_fields=True):
    """What to write. `audience` overrides the campaign's; `brief` adds to its brief."""

    kind: ContentKind
    tone: Annotated[str, msgspec.Meta(min_length=1, max_length=TONE_MAX)] = "friendly"
    variants: Annotated[int, msgspec.Meta(ge=1, le=VARIANTS_MAX)] = 1
    audience: Annotated[str, msgspec.Meta(max_length=AUDIENCE_MAX)] | None = None
    brief: Annotated[str, msgspec.Meta(max_length=EXTRA_BRIEF_MAX)] | None = None

    def to_domain(self) -> ContentRequest:
        """The checked domain request (blank text is refused there, naming the field)."""
        return ContentRequest.of(
            kind=self.kind.value,
            tone=self.tone,
            variants=self.variants,
            audience=self.audience,
            brief=self.brief,
        )


class ContentOut(msgspec.Struct):
    """A stored variant with what it cost; `model` is `offline` for the free generator."""

    id: UUID
    job_id: UUID
    index: int
    kind: ContentKind
    tone: str
    text: str
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    tool_calls: int
    cost_usd: str
    cited_file_ids: list[str]
    created_at: datetime

    @classmethod
    def of(cls, v: ContentVariant) -> ContentOut:
        """Cost as an exact decimal string, never a float."""
        return cls(
            id=v.id,
            job_id=v.job_id,
            index=v.index,
            kind=v.kind,
            tone=v.tone,
            text=v.text,
            model=v.model,
            input_tokens=v.input_tokens,
            cached_tokens=v.cached_tokens,
            output_tokens=v.output_tokens,
            reasoning_tokens=v.reasoning_tokens,
            tool_calls=v.tool_calls,
            cost_usd=str(micros_to_usd(v.cost_micros)),
            cited_file_ids=list(v.cited_file_ids),
            created_at=v.created_at,
        )
