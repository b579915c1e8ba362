"""Signing keys for RS256 tokens: a static PEM key, or a JWKS document cached by `kid`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Final

import httpx
import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from market_ai.domain.errors import Unauthenticated, Unavailable
from market_ai.domain.ports import Clock

log = structlog.get_logger(__name__)

MIN_RSA_BITS: Final = 2048
MAX_KEYS: Final = 16
MAX_DOCUMENT_BYTES: Final = 64 * 1024
FETCH_TIMEOUT_SECONDS: Final = 5.0
MIN_REFETCH_SECONDS: Final = 30.0
MAX_AGE_SECONDS: Final = 600.0


class InvalidJwksError(ValueError):
    """The JWKS endpoint answered with something that is not a usable key set."""


class StaticSigningKey:
    """One PEM key (CLERK_JWT_KEY): verification never touches the network."""

    def __init__(self, key: rsa.RSAPublicKey) -> None:
        self._key = key

    async def key_for(self, kid: str | None) -> rsa.RSAPublicKey:
        """The configured key, whatever `kid` the token names: there is only one to try."""
        _ = kid
        return self._key

    async def aclose(self) -> None:
        """Nothing to close."""


def new_http_client() -> httpx.AsyncClient:
    """A client that cannot hang a request: bounded timeouts, no redirects to other hosts."""
    return httpx.AsyncClient(timeout=httpx.Timeout(FETCH_TIMEOUT_SECONDS), follow_redirects=False)


def parse_jwks(document: bytes, max_keys: int = MAX_KEYS) -> dict[str, rsa.RSAPublicKey]:
    """RS256 signing keys by `kid`; other keys (EC, encryption, short RSA) are skipped."""
    body = json.loads(document)
    entries = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise InvalidJwksError("JWKS document has no 'keys' list")
    keys: dict[str, rsa.RSAPublicKey] = {}
    for entry in entries:
        if len(keys) >= max_keys:
            break
        if not _usable(entry):
            continue
        try:
            key: Any = RSAAlgorithm.from_jwk(entry)
        except (jwt.PyJWTError, ValueError, KeyError):
            continue  # one malformed entry must not hide the good ones
        public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
        if isinstance(public, rsa.RSAPublicKey) and public.key_size >= MIN_RSA_BITS:
            keys[entry["kid"]] = public
    return keys


def _usable(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("kty") == "RSA"
        and isinstance(entry.get("kid"), str)
        and entry.get("use", "sig") == "sig"
        and entry.get("alg", "RS256") == "RS256"
    )


class JwksKeySet:
    """Keys from a JWKS URL, cached by `kid`, refetched rarely and never in a storm.

    A token naming an unknown `kid` triggers one refetch (how key rotation reaches us), and
    a set older than `max_age` is refreshed on its next use (how a retired key leaves). Both
    go through one rule: at most one fetch per `min_refetch` seconds, one at a time, so a
    flood of tokens with random kids costs the identity provider one request per window.
    A failed refresh keeps the keys already known; with none known the caller gets
    Unavailable (503), because the client's token may be fine and our side is what failed.
    """

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        client_factory: Callable[[], httpx.AsyncClient] = new_http_client,
        min_refetch: float = MIN_REFETCH_SECONDS,
        max_age: float = MAX_AGE_SECONDS,
    ) -> None:
        self._url = url
        self._clock = clock
        self._client_factory = client_factory
        self._client: httpx.AsyncClient | None = None  # made on first fetch, closed by aclose
        self._min_refetch = min_refetch
        self._max_age = max_age
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key_for(self, kid: str | None) -> rsa.RSAPublicKey:
        """The key named by `kid`, refreshing the set first when it lacks it or is stale."""
        if kid is None:
            raise Unauthenticated("invalid token: no key id (kid)")
        if kid not in self._keys or self._stale():
            await self._refresh()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if self._loaded_at is None:
            raise Unavailable("the identity provider's signing keys cannot be fetched now")
        raise Unauthenticated("invalid token: unknown signing key")

    async def aclose(self) -> None:
        """Close the HTTP client if one was made; a later fetch makes a new one."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _stale(self) -> bool:
        return self._loaded_at is None or self._now() - self._loaded_at >= self._max_age

    def _may_fetch(self) -> bool:
        if self._attempted_at is None:
            return True
        elapsed = self._now() - self._attempted_at
        return elapsed >= self._min_refetch or elapsed < 0  # a clock set back must not lock us out

    async def _refresh(self) -> None:
        async with self._lock:  # waiters find the fetch done and the window closed
            if not self._may_fetch():
                return
            self._attempted_at = self._now()
            self.fetches += 1
            try:
                keys = parse_jwks(await self._download())
            except (httpx.HTTPError, ValueError) as error:
                log.warning("jwks.fetch_failed", url=self._url, error=_describe(error))
                return
            if not keys:
                log.warning("jwks.no_usable_keys", url=self._url)
                return
            self._keys, self._loaded_at = keys, self._now()
            log.info("jwks.loaded", url=self._url, kids=sorted(keys))

    async def _download(self) -> bytes:
        if self._client is None:
            self._client = self._client_factory()
        async with self._client.stream("GET", self._url) as response:
            response.raise_for_status()
            body = b""
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise InvalidJwksError(f"JWKS document larger than {MAX_DOCUMENT_BYTES} bytes")
            return body


def _describe(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
