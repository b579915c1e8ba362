"""The verified-token cache: served only inside the token's window, by exact text, bounded."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from market_ai.adapters.auth import clerk
from market_ai.adapters.auth.clerk import ClerkTokenVerifier
from market_ai.adapters.auth.jwks import StaticSigningKey
from market_ai.adapters.auth.local_key import LocalKeyTokens
from market_ai.adapters.auth.verified_tokens import (
    Verified,
    VerifiedTokenCache,
    validity_window,
)
from market_ai.domain.errors import Unauthenticated
from tests.tokens import ISSUER, ORIGIN, rsa_key, sign, tampered

NOW = 1_800_000_000.0


class Clock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, at: float = NOW) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def entry(
    subject: str = "alice", *, not_before: float = NOW - 10, expires: float = NOW + 60
) -> Verified:
    return Verified(subject, "kid-1", object(), not_before, expires)


def test_an_entry_is_served_inside_its_window_only() -> None:
    clock = Clock()
    cache = VerifiedTokenCache(now=clock)
    cache.put("t", entry(expires=NOW + 60))
    assert cache.get("t") is not None
    clock.at = NOW + 59.9
    assert cache.get("t") is not None
    clock.at = NOW + 60
    assert cache.get("t") is None, "served at exp: the token would outlive itself"
    assert len(cache) == 0, "an expired entry is dropped when met"


def test_an_entry_is_not_served_before_not_before() -> None:
    clock = Clock()
    cache = VerifiedTokenCache(now=clock)
    cache.put("t", entry(not_before=NOW - 1))
    clock.at = NOW - 5  # the wall clock was set back
    assert cache.get("t") is None


def test_an_entry_already_outside_its_window_is_not_kept() -> None:
    cache = VerifiedTokenCache(now=Clock())
    cache.put("late", entry(expires=NOW - 1))  # accepted only thanks to the leeway
    cache.put("early", entry(not_before=NOW + 1))
    assert len(cache) == 0


def test_the_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = VerifiedTokenCache(3, now=Clock())
    for name in ("a", "b", "c"):
        cache.put(name, entry(name))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", entry("d"))
    assert len(cache) == 3
    assert cache.get("b") is None, "b was the least recently used"
    assert [cache.get(n) is not None for n in ("a", "c", "d")] == [True, True, True]


def test_long_tokens_and_a_zero_size_are_never_kept() -> None:
    cache = VerifiedTokenCache(now=Clock(), max_token_length=10)
    cache.put("x" * 11, entry())
    assert len(cache) == 0
    off = VerifiedTokenCache(0, now=Clock())
    off.put("t", entry())
    assert len(off) == 0


def test_lookups_are_by_exact_text() -> None:
    cache = VerifiedTokenCache(now=Clock())
    cache.put("abc.def.ghi", entry())
    assert cache.get("abc.def.ghj") is None
    assert cache.get("abc.def.gh") is None
    assert cache.get("abc.def.ghi") is not None


@pytest.mark.parametrize(
    ("claims", "window"),
    [
        ({"exp": 200, "nbf": 100, "iat": 90}, (70.0, 200.0)),
        ({"exp": 200, "iat": 120}, (90.0, 200.0)),
        ({"exp": 200.9, "nbf": 100.7}, (70.0, 200.0)),  # whole seconds, as PyJWT reads them
        ({"exp": 200}, (-math.inf, 200.0)),
        ({"nbf": 100}, None),
        ({"exp": "200"}, None),
        ({"exp": True}, None),
        ({"exp": 200, "nbf": "soon"}, None),
        ({"exp": math.inf}, None),
    ],
)
def test_the_window_runs_from_nbf_and_iat_less_leeway_to_exp(
    claims: dict[str, Any], window: tuple[float, float] | None
) -> None:
    assert validity_window(claims, 30) == window


class CountingDecode:
    """Counts PyJWT's full decodes (signature included) made by the verifiers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
        self.calls = 0
        real: Callable[..., Any] = jwt.decode

        def decode(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module.jwt, "decode", decode)


class SwappableKey:
    """A key source whose key for a kid can be replaced, or withdrawn, between requests."""

    def __init__(self, key: rsa.RSAPublicKey) -> None:
        self.key: rsa.RSAPublicKey | None = key

    async def key_for(self, kid: str | None) -> rsa.RSAPublicKey:
        _ = kid
        if self.key is None:
            raise Unauthenticated("invalid token: unknown signing key")
        return self.key

    async def aclose(self) -> None:
        return None


def clerk_verifier(keys: Any, cache: VerifiedTokenCache | None = None) -> ClerkTokenVerifier:
    return ClerkTokenVerifier(keys, issuer=ISSUER, authorized_parties=[ORIGIN], verified=cache)


async def test_a_second_request_with_the_same_token_skips_the_signature_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = CountingDecode(monkeypatch, clerk)
    verifier = clerk_verifier(StaticSigningKey(rsa_key("clerk-1").public_key()))
    token = sign(rsa_key("clerk-1"))
    assert await verifier.verify(token) == "user_alice"
    assert await verifier.verify(token) == "user_alice"
    assert decodes.calls == 1


async def test_a_tampered_token_is_not_served_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = CountingDecode(monkeypatch, clerk)
    verifier = clerk_verifier(StaticSigningKey(rsa_key("clerk-1").public_key()))
    token = sign(rsa_key("clerk-1"))
    assert await verifier.verify(token) == "user_alice"
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (tampered(token, sub="user_mallory"), f"{head}.{payload}.{flipped}"):
        with pytest.raises(Unauthenticated):
            await verifier.verify(forged)
    assert decodes.calls == 3, "each forgery went through full verification"


async def test_a_cached_token_is_verified_again_once_past_exp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = CountingDecode(monkeypatch, clerk)
    clock = Clock(time.time())
    cache = VerifiedTokenCache(now=clock)
    verifier = clerk_verifier(StaticSigningKey(rsa_key("clerk-1").public_key()), cache)
    exp = datetime.now(UTC) + timedelta(minutes=5)
    token = sign(rsa_key("clerk-1"), exp=exp)
    await verifier.verify(token)
    clock.at = exp.timestamp() - 1
    await verifier.verify(token)
    assert decodes.calls == 1
    clock.at = exp.timestamp()
    await verifier.verify(token)  # the real clock has not reached exp: full check passes
    assert decodes.calls == 2, "at exp the cache answers nothing"


async def test_a_cached_token_is_refused_once_it_expires() -> None:
    verifier = ClerkTokenVerifier(
        StaticSigningKey(rsa_key("clerk-1").public_key()), issuer=ISSUER, leeway_seconds=0
    )
    exp = int(time.time()) + 1
    token = sign(rsa_key("clerk-1"), exp=exp, azp=None)
    assert await verifier.verify(token) == "user_alice"
    await asyncio.sleep(max(exp - time.time(), 0) + 0.05)  # the token's last second passes
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)


async def test_a_token_accepted_only_within_the_leeway_is_not_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = CountingDecode(monkeypatch, clerk)
    verifier = clerk_verifier(StaticSigningKey(rsa_key("clerk-1").public_key()))
    token = sign(rsa_key("clerk-1"), exp=datetime.now(UTC) - timedelta(seconds=5))
    assert await verifier.verify(token) == "user_alice"
    assert await verifier.verify(token) == "user_alice"
    assert decodes.calls == 2


async def test_a_hit_needs_the_very_key_that_verified_the_token() -> None:
    keys = SwappableKey(rsa_key("clerk-1").public_key())
    verifier = clerk_verifier(keys)
    token = sign(rsa_key("clerk-1"))
    assert await verifier.verify(token) == "user_alice"
    keys.key = rsa_key("clerk-2").public_key()  # the kid now names another key
    with pytest.raises(Unauthenticated, match="bad signature"):
        await verifier.verify(token)
    keys.key = None  # the kid was retired from the key set
    with pytest.raises(Unauthenticated, match="unknown signing key"):
        await verifier.verify(token)


async def test_the_verifier_keeps_no_more_tokens_than_its_cache_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decodes = CountingDecode(monkeypatch, clerk)
    verifier = clerk_verifier(
        StaticSigningKey(rsa_key("clerk-1").public_key()), VerifiedTokenCache(2)
    )
    tokens = [sign(rsa_key("clerk-1"), sub=f"user_{n}") for n in range(3)]
    for token in tokens:
        await verifier.verify(token)
    await verifier.verify(tokens[0])  # evicted by the third
    assert decodes.calls == 4


async def test_local_tokens_are_cached_and_forgeries_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from market_ai.adapters.auth import local_key  # noqa: PLC0415

    decodes = CountingDecode(monkeypatch, local_key)
    tokens = LocalKeyTokens(tmp_path)
    token = tokens.issue("alice")
    assert await tokens.verify(token) == "alice"
    assert await tokens.verify(token) == "alice"
    assert decodes.calls == 1
    with pytest.raises(Unauthenticated):
        await tokens.verify(tampered(token, sub="mallory"))
