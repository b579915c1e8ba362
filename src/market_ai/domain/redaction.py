"""Scrubbing configured secrets out of text that is stored or logged (job errors above all)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

MASK: Final = "***"
# Shorter values would mask ordinary words; a secret that short protects nothing anyway.
SHORTEST_SECRET: Final = 4


class SecretRedactor:
    """Replaces every configured secret in a text with `***`, longest first.

    Errors from providers and servers may quote what they were sent (a gateway echoing the
    API key, an SMTP server its login): whatever a handler raised passes through here before
    it reaches a job row or a log line.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {s for s in secrets if len(s) >= SHORTEST_SECRET}
        self._secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """`text` with each secret masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
