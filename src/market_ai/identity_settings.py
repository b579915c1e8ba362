"""Identity-provider settings: where token-signing keys come from and which issuer to trust."""

from __future__ import annotations

from typing import Any, Final, Self
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

MIN_RSA_BITS: Final = 2048
_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_OPTIONAL: Final = (
    "clerk_secret_key",
    "clerk_domain",
    "clerk_jwt_key",
    "clerk_jwks_url",
    "clerk_issuer",
)


def load_rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    r"""Parse CLERK_JWT_KEY; a key that cannot verify RS256 must stop start-up, not a request.

    Dashboards hand the PEM out on several lines; pasted into one env var the line breaks
    often arrive as literal `\\n`, so those are turned back into newlines first.
    """
    text = pem.strip().replace("\\n", "\n")
    try:
        key = serialization.load_pem_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("expected a PEM public key (-----BEGIN PUBLIC KEY----- ...)") from None
    if not isinstance(key, rsa.RSAPublicKey):
        # ValueError, not TypeError: pydantic reports only ValueError as a bad setting
        raise ValueError("expected an RSA public key: tokens are verified as RS256")  # noqa: TRY004
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key of {key.key_size} bits is too short (at least {MIN_RSA_BITS})")
    return key


class IdentitySettings(BaseSettings):
    """Clerk (or any RS256 issuer) settings; `Settings` inherits them, env names stay flat.

    Keys come from CLERK_JWT_KEY (PEM, no network), else CLERK_JWKS_URL, else
    `https://$CLERK_DOMAIN/.well-known/jwks.json`. The issuer is CLERK_ISSUER, else
    `https://$CLERK_DOMAIN`; a key or JWKS URL without either is refused, because a token
    verified against a key but not pinned to an issuer is a weaker check than it looks.
    """

    clerk_secret_key: SecretStr | None = None
    clerk_domain: str | None = None
    clerk_jwt_key: SecretStr | None = None
    clerk_jwks_url: str | None = None
    clerk_issuer: str | None = None
    auth_leeway_seconds: int = Field(default=30, ge=0, le=600)

    @field_validator(*_OPTIONAL, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:  # noqa: ANN401 - raw env input
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("clerk_domain")
    @classmethod
    def _bare_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host = value.strip().removeprefix("https://").rstrip("/")
        parts = urlsplit(f"https://{host}")
        if not parts.hostname or parts.path or parts.query or " " in host:
            raise ValueError(f"expected a host name such as clerk.example.com, got {value!r}")
        return host

    @field_validator("clerk_jwks_url")
    @classmethod
    def _https_unless_loopback(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        loopback_http = parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS
        if not parts.hostname or (parts.scheme != "https" and not loopback_http):
            raise ValueError("expected an https:// URL (http:// only on localhost)")
        return value.strip()

    @field_validator("clerk_jwt_key")
    @classmethod
    def _rsa_pem(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            load_rsa_public_key(value.get_secret_value())
        return value

    @field_validator("clerk_issuer")
    @classmethod
    def _trimmed(cls, value: str | None) -> str | None:
        return None if value is None else value.strip()

    @model_validator(mode="after")
    def _issuer_known(self) -> Self:
        if self.identity_provider_configured and self.expected_issuer is None:
            raise ValueError(
                "CLERK_ISSUER is required with CLERK_JWT_KEY or CLERK_JWKS_URL "
                "unless CLERK_DOMAIN is set (tokens must name a trusted issuer)"
            )
        return self

    @property
    def identity_provider_configured(self) -> bool:
        """Whether tokens come from a real identity provider rather than the local dev key."""
        return bool(self.clerk_domain or self.clerk_jwt_key or self.clerk_jwks_url)

    @property
    def expected_issuer(self) -> str | None:
        """The exact `iss` every token must carry."""
        if self.clerk_issuer is not None:
            return self.clerk_issuer
        return None if self.clerk_domain is None else f"https://{self.clerk_domain}"

    @property
    def jwks_endpoint(self) -> str | None:
        """Where signing keys are fetched when no PEM key is given."""
        if self.clerk_jwks_url is not None:
            return self.clerk_jwks_url
        if self.clerk_domain is None:
            return None
        return f"https://{self.clerk_domain}/.well-known/jwks.json"
