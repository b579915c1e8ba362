"""The configured secrets, as they may appear in an error text: what job errors are scrubbed of."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

if TYPE_CHECKING:
    from market_ai.settings import Settings


def secret_values(settings: Settings) -> list[str]:
    """Every secret field whole, a secret URL's user and password, and URL passwords.

    Users and passwords come raw and percent-decoded; DATABASE_URL and REDIS_URL add only
    their passwords (their users are ordinary words such as `postgres`).
    """
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
            found += [text, *_url_credentials(text, users=True)]
    for url in (settings.database_url, settings.redis_url):
        if url is not None:
            found += _url_credentials(url, users=False)
    return [value for value in found if value]


def _url_credentials(url: str, *, users: bool) -> list[str]:
    """A URL's password (and user, if asked), as written and percent-decoded."""
    try:
        raw = urlsplit(url).netloc.rpartition("@")[0]
    except ValueError:
        return []
    user, _, password = raw.partition(":")
    pieces = [password, *([user] if users else [])]
    return [form for piece in pieces if piece for form in {piece, unquote(piece)}]
