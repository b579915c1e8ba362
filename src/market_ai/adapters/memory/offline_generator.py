"""The offline generator: useful, deterministic copy from the campaign's own fields, for free."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from market_ai.domain.content import ContentKind, Subject
from market_ai.domain.content_ports import Generation, GenerationRejected
from market_ai.domain.spend import Usage

if TYPE_CHECKING:
    from market_ai.domain.content import Prompt
    from market_ai.domain.content_ports import CallLimits

OFFLINE_MODEL: Final = "offline"
_OPENERS: Final = ("Meet", "Discover", "Say hello to", "Introducing", "Get ready for")
_CALLS: Final = ("Learn more", "Start today", "See how", "Join now", "Find out more")


def _first_sentence(text: str | None, limit: int = 160) -> str:
    if not text:
        return ""
    sentence = text.strip().split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def write(subject: Subject, variant: int) -> str:
    """Copy for `subject`; the variant picks the opener and call to action, nothing random."""
    opener = _OPENERS[variant % len(_OPENERS)]
    call = _CALLS[variant % len(_CALLS)]
    name = subject.campaign_name
    audience = subject.audience or "you"
    point = _first_sentence(subject.extra_brief) or _first_sentence(subject.campaign_brief)
    pitch = f"{point}." if point else f"Made for {audience}."
    if subject.kind is ContentKind.EMAIL:
        return (
            f"Subject: {opener} {name}\n\n"
            f"Hi there,\n\n{opener} {name}, made for {audience}. {pitch}\n\n"
            f"{call}: reply to this email or visit our site.\n"
        )
    if subject.kind is ContentKind.SOCIAL_POST:
        return f"{opener} {name}! {pitch} {call} 👉"[:280]
    if subject.kind is ContentKind.AD_COPY:
        return f"{name[:30]}\n{f'{pitch} {call}.'[:90]}"
    return f"{opener} {name}\n{pitch} {call}."


class OfflineContentGenerator:
    """The embedded default when no OPENAI_API_KEY is set: every result says `offline`."""

    @property
    def priced(self) -> bool:
        """Offline copy costs nothing, so it is neither estimated nor reserved."""
        return False

    async def generate(self, prompt: Prompt, limits: CallLimits) -> Generation:  # noqa: ARG002
        """Write from the subject's fields; zero usage, model `offline`."""
        if prompt.subject is None:
            raise GenerationRejected("offline copy is written from a campaign subject; none given")
        return Generation(
            text=write(prompt.subject, prompt.variant_index),
            model=OFFLINE_MODEL,
            usage=Usage(),
        )
