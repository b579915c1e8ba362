"""What a refused token is told: our words for PyJWT's errors, never the library's text.

PyJWT's messages quote decoder internals (`'utf-8' codec can't decode byte 0xb7 ...`) and
reach response bodies and headers, so every verifier names the failed check from here.
"""

from __future__ import annotations

from typing import Final

import jwt

MALFORMED: Final = "malformed token"

_REASONS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidIssuerError, "token from another issuer"),
    (jwt.InvalidAudienceError, "token for another audience"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
    (jwt.InvalidSignatureError, "bad signature"),  # a DecodeError too: checked before it
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.DecodeError, MALFORMED),
)


def token_error(error: jwt.PyJWTError) -> str:
    """The message of the 401 a token refused by PyJWT gets."""
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return reason if reason == MALFORMED else f"invalid token: {reason}"
    return "invalid token: unverifiable"
