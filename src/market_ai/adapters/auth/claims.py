"""The subject rule every token verifier shares (what a failure may say is in token_errors)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from market_ai.domain.errors import Unauthenticated

MAX_SUBJECT_LENGTH: Final = 255  # the owner columns' width: a longer id could not be stored


def subject_of(claims: Mapping[str, object]) -> str:
    """`sub` as the user id: a non-blank string of at most 255 printable characters."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthenticated("invalid token: no subject")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise Unauthenticated("invalid token: subject too long")
    if not subject.isprintable():
        raise Unauthenticated("invalid token: subject holds control characters")
    return subject
