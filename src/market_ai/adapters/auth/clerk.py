"""Clerk session tokens (or any RS256 issuer's), verified locally: no call to Clerk per request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from market_ai.adapters.auth.claims import subject_of
from market_ai.adapters.auth.token_errors import MALFORMED, token_error
from market_ai.adapters.auth.verified_tokens import Verified, VerifiedTokenCache, validity_window
from market_ai.domain.errors import Unauthenticated

ALGORITHM: Final = "RS256"


class SigningKeys(Protocol):
    """Finds the public key a token names; JwksKeySet and StaticSigningKey are the two kinds."""

    async def key_for(self, kid: str | None) -> rsa.RSAPublicKey:
        """The key for `kid`; Unauthenticated when unknown, Unavailable when unreachable."""
        ...

    async def aclose(self) -> None:
        """Release network clients."""
        ...


class ClerkTokenVerifier:
    """The TokenVerifier for production: signature, times, issuer and authorized party.

    - Only RS256 is accepted, checked on the header before any key is looked up, and the
      key handed to PyJWT is an RSA key object: `alg: none` and HS256 signed with the
      public key as a shared secret (the classic confusion attack) both fail.
    - `exp` is required; `exp`, `nbf` and `iat` are checked with `leeway_seconds` of skew.
    - `iss` must equal the configured issuer exactly.
    - `azp` (the browser origin that obtained the token), when present, must be one of
      `authorized_parties` (ALLOWED_ORIGINS). With none configured, a token naming any
      party is refused: no browser origin is trusted until an operator lists it.
    - `aud`, when present, refuses the token: no audience is configured, and a token minted
      for another API of the same issuer must not open this one.
    - `sub` is the user id (`subject_of`: non-blank, at most 255 printable characters).
    Messages say what failed, never what the token contained (they reach response headers).

    A token that passed is remembered by its exact text until its `exp` (VerifiedTokenCache),
    so a client's next requests skip the signature check; each hit still asks the key
    source for the token's key and is served only if it is the very key that verified it,
    so key rotation and retirement apply to remembered tokens as to new ones.
    """

    def __init__(
        self,
        keys: SigningKeys,
        *,
        issuer: str,
        authorized_parties: Iterable[str] = (),
        leeway_seconds: int = 30,
        verified: VerifiedTokenCache | None = None,
    ) -> None:
        self._keys = keys
        self._verified = VerifiedTokenCache() if verified is None else verified
        self._issuer = issuer
        self._parties = frozenset(party.rstrip("/") for party in authorized_parties)
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> str:
        """Return the token's subject, or raise Unauthenticated saying which check failed."""
        known = self._verified.get(token)
        if known is not None:
            if await self._keys.key_for(known.kid) is known.key:
                return known.subject
            self._verified.discard(token)  # its key was rotated out: verify against the new one
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated(MALFORMED) from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(f"invalid token: algorithm must be {ALGORITHM}")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("invalid token: malformed key id")
        key = await self._keys.key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "sub"], "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(token_error(error)) from None
        self._check_party(claims.get("azp"))
        _check_status(claims.get("sts"))
        subject = subject_of(claims)
        if (window := validity_window(claims, self._leeway)) is not None:
            self._verified.put(token, Verified(subject, kid, key, *window))
        return subject

    async def aclose(self) -> None:
        """Close what the key source opened (the JWKS HTTP client)."""
        await self._keys.aclose()

    def _check_party(self, azp: object) -> None:
        if azp is None:
            return
        if not isinstance(azp, str) or azp.rstrip("/") not in self._parties:
            raise Unauthenticated("invalid token: authorized party (azp) not allowed")


def _check_status(status: object) -> None:
    """Refuse a session that is not active yet (`sts: pending`: a required step unfinished).

    Clerk's own SDKs treat such a session as signed out; tokens without the claim are active.
    """
    if status is not None and status != "active":
        raise Unauthenticated("invalid token: the session is not active")
