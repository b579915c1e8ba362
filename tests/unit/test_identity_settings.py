"""Identity-provider settings: the issuer and keys the app trusts, or a refusal at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from market_ai.adapters.auth.clerk import ClerkTokenVerifier
from market_ai.adapters.auth.jwks import JwksKeySet, StaticSigningKey
from market_ai.container import build_container, identity_kind
from market_ai.settings import describe_validation_error
from tests.conftest import make_settings
from tests.tokens import public_pem, rsa_key


def _error(tmp_path: Path, **values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        make_settings(tmp_path, **values)
    return describe_validation_error(caught.value)


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    "domain", ["clerk.example.com", "https://clerk.example.com", "https://clerk.example.com/"]
)
def test_clerk_domain_gives_issuer_and_jwks_url(tmp_path: Path, domain: str) -> None:
    s = make_settings(tmp_path, clerk_domain=domain)
    assert s.clerk_domain == "clerk.example.com"
    assert s.expected_issuer == "https://clerk.example.com"
    assert s.jwks_endpoint == "https://clerk.example.com/.well-known/jwks.json"


def test_an_explicit_issuer_and_jwks_url_win_over_the_domain(tmp_path: Path) -> None:
    s = make_settings(
        tmp_path,
        clerk_domain="clerk.example.com",
        clerk_issuer="https://idp.example.com/",
        clerk_jwks_url="https://idp.example.com/keys",
    )
    assert s.expected_issuer == "https://idp.example.com/"  # compared exactly, slash and all
    assert s.jwks_endpoint == "https://idp.example.com/keys"


@pytest.mark.parametrize(
    "values",
    [
        {"clerk_jwks_url": "https://idp.example.com/keys"},
        {"clerk_jwt_key": public_pem(rsa_key("settings"))},
    ],
)
def test_a_key_source_without_an_issuer_is_refused(
    tmp_path: Path, values: dict[str, object]
) -> None:
    assert "CLERK_ISSUER is required" in _error(tmp_path, **values)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://127.0.0.1:9999/.well-known/jwks.json", True),
        ("http://localhost/jwks", True),
        ("http://idp.example.com/jwks", False),
        ("ftp://idp.example.com/jwks", False),
        ("idp.example.com/jwks", False),
    ],
)
def test_jwks_url_must_be_https_except_on_loopback(
    tmp_path: Path, url: str, *, accepted: bool
) -> None:
    values = {"clerk_jwks_url": url, "clerk_issuer": "https://idp.example.com"}
    if accepted:
        assert make_settings(tmp_path, **values).jwks_endpoint == url
    else:
        assert "invalid setting CLERK_JWKS_URL: expected an https://" in _error(tmp_path, **values)


@pytest.mark.parametrize(
    ("pem", "reason"),
    [
        ("-----BEGIN PUBLIC KEY-----x", "expected a PEM public key"),
        (_pem(ec.generate_private_key(ec.SECP256R1())), "expected an RSA public key"),
        (
            _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505
            "too short",
        ),
    ],
)
def test_an_unusable_pem_key_is_refused_naming_clerk_jwt_key(
    tmp_path: Path, pem: str, reason: str
) -> None:
    message = _error(tmp_path, clerk_jwt_key=pem, clerk_issuer="https://idp.example.com")
    assert message.startswith("invalid setting CLERK_JWT_KEY:")
    assert reason in message
    assert "\n" not in message


@pytest.mark.parametrize("domain", ["clerk.example.com/path", "two words.example.com"])
def test_a_domain_with_a_path_is_refused(tmp_path: Path, domain: str) -> None:
    assert "invalid setting CLERK_DOMAIN" in _error(tmp_path, clerk_domain=domain)


def test_the_container_builds_a_jwks_verifier_from_the_domain(tmp_path: Path) -> None:
    container = build_container(make_settings(tmp_path, clerk_domain="clerk.example.com"))
    verifier = container.token_verifier()
    assert identity_kind(container.settings()) == "clerk"
    assert isinstance(verifier, ClerkTokenVerifier)
    assert isinstance(verifier._keys, JwksKeySet)
    assert verifier._keys._client is None, "no HTTP client until the first fetch"
    assert verifier._issuer == "https://clerk.example.com"


def test_the_container_prefers_a_pem_key_to_any_fetch(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, clerk_domain="clerk.example.com", clerk_jwt_key=public_pem(rsa_key("settings"))
    )
    verifier = build_container(settings).token_verifier()
    assert isinstance(verifier._keys, StaticSigningKey)
