"""Test-only identity provider: RSA keys, JWKS documents and tokens, honest and forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://clerk.example.test"
ORIGIN = "https://app.example.test"


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One 2048-bit key per name per run: generating keys is the slow part."""
    _ = name
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    """The PEM form operators paste into CLERK_JWT_KEY."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def jwk(kid: str, key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The public half as a JWKS entry, the way Clerk publishes it."""
    entry: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**entry, "kid": kid, "use": "sig", "alg": "RS256"}


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid Clerk-like session payload; `None` values remove the claim."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "sub": "user_alice",
        "iss": ISSUER,
        "azp": ORIGIN,
        "iat": now,
        "nbf": now - timedelta(seconds=5),
        "exp": now + timedelta(minutes=5),
        "sid": "sess_1",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def sign(key: rsa.RSAPrivateKey, kid: str | None = "kid-1", **overrides: Any) -> str:
    """An RS256 token, as the identity provider would issue it."""
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, default=lambda d: int(d.timestamp())).encode())


def unsigned(kid: str = "kid-1", **overrides: Any) -> str:
    """`alg: none`: a token that claims to need no signature."""
    header = {"alg": "none", "typ": "JWT", "kid": kid}
    return f"{_segment(header)}.{_segment(claims(**overrides))}."


def hmac_with_public_key(key: rsa.RSAPrivateKey, kid: str = "kid-1", **overrides: Any) -> str:
    """HS256 keyed with the public PEM: passes a verifier that lets the token pick the alg."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{_segment(header)}.{_segment(claims(**overrides))}"
    secret = public_pem(key).encode()
    digest = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(digest)}"


def tampered(token: str, **changes: Any) -> str:
    """The same signature over a payload someone edited (e.g. a different `sub`)."""
    head, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    return f"{head}.{_b64(json.dumps(body).encode())}.{signature}"


@dataclass
class KeyRing:
    """What the fake identity provider publishes; tests edit it to rotate keys."""

    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)

    def document(self) -> bytes:
        """The JWKS JSON body."""
        return json.dumps({"keys": [jwk(kid, key) for kid, key in self.keys.items()]}).encode()
