"""The checks every token verifier shares: what a subject may be, and what a failure may say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import jwt

from market_ai.domain.errors import Unauthenticated

MAX_SUBJECT_LENGTH: Final = 255  # the owner columns' width: a longer id could not be stored

_REASONS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidIssuerError, "token from another issuer"),
    (jwt.InvalidAudienceError, "token for another audience"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
    (jwt.InvalidSignatureError, "bad signature"),
)


def reason(error: jwt.PyJWTError) -> str:
    """A fixed phrase for a PyJWT failure.

    PyJWT's own messages quote the token (a `crit` extension's name, a claim's value); ours
    reach a response header, where a quoted CR/LF would be illegal, and logs.
    """
    for kind, phrase in _REASONS:
        if isinstance(error, kind):
            return phrase
    return "malformed or unverifiable"


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
