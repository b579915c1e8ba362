"""JWKS parsing and fetching bounds: which keys are kept, how much is read, and from where."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from market_ai.adapters.auth.jwks import (
    MAX_DOCUMENT_BYTES,
    MAX_KEYS,
    JwksKeySet,
    new_http_client,
    parse_jwks,
)
from market_ai.domain.clock import FixedClock
from market_ai.domain.errors import Unauthenticated, Unavailable
from tests.tokens import jwk, rsa_key

URL = "https://clerk.example.test/.well-known/jwks.json"


def document(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"keys": list(entries)}).encode()


def key_set(handler: Any) -> JwksKeySet:
    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=False)

    return JwksKeySet(URL, FixedClock(datetime.now(UTC)), client_factory=client)


def test_only_rs256_signing_keys_of_2048_bits_are_kept() -> None:
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    entries = [
        jwk("good", rsa_key("clerk-1")),
        {**jwk("enc", rsa_key("clerk-1")), "use": "enc"},
        {**jwk("ps256", rsa_key("clerk-1")), "alg": "PS256"},
        {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
        json.loads(RSAAlgorithm.to_jwk(short.public_key())) | {"kid": "short"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        {"kty": "RSA", "n": "AA", "e": "AQAB"},  # no kid
        "not an object",
    ]
    assert list(parse_jwks(document(*entries))) == ["good"]


def test_a_private_jwk_is_reduced_to_its_public_half() -> None:
    private = json.loads(RSAAlgorithm.to_jwk(rsa_key("clerk-1"))) | {"kid": "oops"}
    key = parse_jwks(document(private))["oops"]
    assert isinstance(key, rsa.RSAPublicKey)


def test_at_most_max_keys_are_kept() -> None:
    entries = [jwk(f"k{i}", rsa_key("clerk-1")) for i in range(MAX_KEYS + 5)]
    assert len(parse_jwks(document(*entries))) == MAX_KEYS


@pytest.mark.parametrize("body", [b"[]", b"{}", b"not json", b'{"keys": 1}', b"\xff"])
def test_a_body_that_is_no_key_set_is_an_error(body: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - every shape of garbage is one ValueError
        parse_jwks(body)


async def test_an_oversized_document_is_not_read_to_the_end() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b" " * (MAX_DOCUMENT_BYTES + 1))

    keys = key_set(handler)
    with pytest.raises(Unavailable):
        await keys.key_for("kid-1")
    assert keys.fetches == 1


async def test_a_redirect_is_not_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "clerk.example.test":
            return httpx.Response(302, headers={"Location": "https://evil.example.test/jwks"})
        return httpx.Response(200, content=document(jwk("kid-1", rsa_key("stranger"))))

    with pytest.raises(Unavailable):
        await key_set(handler).key_for("kid-1")
    assert seen == [URL]


async def test_a_token_without_kid_is_refused_before_any_fetch() -> None:
    keys = key_set(lambda _: httpx.Response(500))
    with pytest.raises(Unauthenticated, match="kid"):
        await keys.key_for(None)
    assert keys.fetches == 0


async def test_the_default_client_is_bounded_and_made_only_on_first_fetch() -> None:
    client = new_http_client()
    try:
        assert client.timeout.read == 5.0
        assert client.timeout.connect == 5.0
        assert not client.follow_redirects
    finally:
        await client.aclose()
    keys = JwksKeySet(URL, FixedClock(datetime.now(UTC)))
    assert keys._client is None
    await keys.aclose()  # closing before any fetch is fine
