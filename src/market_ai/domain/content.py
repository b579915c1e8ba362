"""Content requests, stored variants and the prompt built from a campaign."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from market_ai.domain.campaigns import AUDIENCE_MAX, Campaign
from market_ai.domain.errors import InvalidInput

TONE_MAX: Final = 100
EXTRA_BRIEF_MAX: Final = 2_000
VARIANTS_MAX: Final = 5


class ContentKind(StrEnum):
    """What to write; each kind has its own instructions (length, shape)."""

    EMAIL = "email"
    SOCIAL_POST = "social_post"
    AD_COPY = "ad_copy"
    LANDING_HEADLINE = "landing_headline"


KIND_GUIDE: Final = {
    ContentKind.EMAIL: "a marketing email: a subject line, then a body of at most 150 words",
    ContentKind.SOCIAL_POST: "a social media post of at most 280 characters",
    ContentKind.AD_COPY: "ad copy: a headline of at most 30 characters and 90 of description",
    ContentKind.LANDING_HEADLINE: "a landing page headline and a one-sentence subheadline",
}


# Control characters other than tab and line breaks: NUL cannot be stored (Postgres text
# refuses it) and the rest have no place in a brief, so they are refused before any call.
_CONTROL: Final = frozenset(chr(c) for c in [*range(0x20), 0x7F]) - {"\t", "\n", "\r"}


def _bounded(name: str, value: str | None, limit: int, *, required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(name, "must be text")
    if value is not None and not _CONTROL.isdisjoint(value):
        raise InvalidInput(name, "must not contain NUL or other control characters")
    if value is None or not value.strip():
        if required:
            raise InvalidInput(name, "must not be blank")
        return None
    trimmed = value.strip()
    if len(trimmed) > limit:
        raise InvalidInput(name, f"must be at most {limit} characters")
    return trimmed


@dataclass(frozen=True, slots=True)
class ContentRequest:
    """What a user asks for; built only through `of`, so every instance obeys the rules."""

    kind: ContentKind
    tone: str
    variants: int = 1
    audience: str | None = None
    brief: str | None = None

    @classmethod
    def of(
        cls,
        *,
        kind: str,
        tone: str = "friendly",
        variants: int = 1,
        audience: str | None = None,
        brief: str | None = None,
    ) -> ContentRequest:
        """Check every field, naming the one that is wrong."""
        try:
            checked_kind = ContentKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in ContentKind)
            raise InvalidInput("kind", f"must be one of {allowed}") from None
        if isinstance(variants, bool) or not 1 <= variants <= VARIANTS_MAX:
            raise InvalidInput("variants", f"must be between 1 and {VARIANTS_MAX}")
        return cls(
            kind=checked_kind,
            tone=_bounded("tone", tone, TONE_MAX, required=True) or "",
            variants=variants,
            audience=_bounded("audience", audience, AUDIENCE_MAX),
            brief=_bounded("brief", brief, EXTRA_BRIEF_MAX),
        )

    def to_payload(self, campaign_id: UUID) -> dict[str, Any]:
        """The job payload: references and choices, never the campaign itself."""
        return {
            "campaign_id": str(campaign_id),
            "kind": self.kind.value,
            "tone": self.tone,
            "variants": self.variants,
            "audience": self.audience,
            "brief": self.brief,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> ContentRequest:
        """Back from the job row (checked again: rows outlive code versions)."""
        return cls.of(
            kind=str(payload.get("kind")),
            tone=str(payload.get("tone") or ""),
            variants=int(payload.get("variants", 1)),
            audience=payload.get("audience"),
            brief=payload.get("brief"),
        )


@dataclass(frozen=True, slots=True)
class Subject:
    """The campaign facts and choices a generator writes from (offline ones use them directly)."""

    campaign_name: str
    channel: str
    kind: ContentKind
    tone: str
    audience: str | None
    campaign_brief: str | None
    extra_brief: str | None


@dataclass(frozen=True, slots=True)
class Prompt:
    """What is sent: `instructions` and `input` are the whole text the worst case counts.

    `subject` is the copywriting brief offline generators write from; prompts that are not
    copy (an analysis summary) have none.
    """

    instructions: str
    input: str
    subject: Subject | None = None
    variant_index: int = 0

    @property
    def texts(self) -> tuple[str, str]:
        """Every text sent to the model (their bytes bound the input tokens)."""
        return (self.instructions, self.input)


def build_prompt(campaign: Campaign, request: ContentRequest, variant_index: int) -> Prompt:
    """Instructions first and identical across variants, so the provider can cache them."""
    subject = Subject(
        campaign_name=campaign.name,
        channel=campaign.channel.value,
        kind=request.kind,
        tone=request.tone,
        audience=request.audience or campaign.audience,
        campaign_brief=campaign.brief,
        extra_brief=request.brief,
    )
    instructions = (
        "You are a senior marketing copywriter. Write "
        f"{KIND_GUIDE[request.kind]}. Use only facts from the campaign and the brand's "
        "documents; never invent prices, dates or claims. Answer with the copy only."
    )
    lines = [
        f"Campaign: {subject.campaign_name}",
        f"Channel: {subject.channel}",
        f"Tone: {subject.tone}",
        f"Audience: {subject.audience or 'general'}",
    ]
    if subject.campaign_brief:
        lines.append(f"Campaign brief: {subject.campaign_brief}")
    if subject.extra_brief:
        lines.append(f"Extra brief: {subject.extra_brief}")
    lines.append(f"Variant {variant_index + 1}: make it distinct from the other variants.")
    return Prompt(instructions, "\n".join(lines), subject, variant_index)


@dataclass(frozen=True, slots=True)
class ContentVariant:
    """One stored piece of copy with what it cost; (job_id, index) is unique."""

    id: UUID
    job_id: UUID
    index: int
    campaign_id: UUID
    owner_id: str
    kind: ContentKind
    tone: str
    text: str
    model: str
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    tool_calls: int
    cost_micros: int
    created_at: datetime
    cited_file_ids: tuple[str, ...] = field(default=())
