"""A bounded memory of tokens already verified, so a client's next request skips the RSA math."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

MAX_ENTRIES: Final = 4096
MAX_TOKEN_LENGTH: Final = 8192  # longer tokens are verified every time, never kept


@dataclass(frozen=True, slots=True)
class Verified:
    """What one full verification established, and the window in which it still holds.

    `key` is the public key object the signature was checked with: a hit is served only
    while the key source still hands out that very object for `kid`, so a retired or
    rotated key sends the token back through full verification.
    """

    subject: str
    kid: str | None
    key: object
    not_before: float
    expires: float


def _seconds(value: object) -> int | None:
    """A time claim as PyJWT reads it (whole seconds, `int()`), or None if not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value)


def validity_window(claims: Mapping[str, object], leeway: float) -> tuple[float, float] | None:
    """(not_before, expires) of verified claims: the span in which a hit may be served.

    It starts when `nbf` and `iat` both hold (with the verifier's leeway, as PyJWT checks
    them) and ends at `exp` itself, without leeway: past `exp` every request goes through
    full verification again, which alone decides about the leeway. None when a time claim
    is missing or not a number (then the token is not kept).
    """
    expires = _seconds(claims.get("exp"))
    if expires is None:
        return None
    starts: list[int] = []
    for name in ("nbf", "iat"):
        if name in claims:
            start = _seconds(claims[name])
            if start is None:
                return None
            starts.append(start)
    return (max(starts) - leeway if starts else -math.inf, float(expires))


class VerifiedTokenCache:
    """Verified tokens keyed by their exact text, least recently used first out.

    The key is the whole token, so a token differing in any byte (a tampered signature,
    an edited claim) is a miss and is verified in full. Entries are never served outside
    their window: an expired one is dropped when met. Failures are never kept: a bad token
    costs a full verification every time, which the rate limit (per address) bounds.
    Its methods never await, so the requests of one event loop cannot interleave inside
    them; an instance is not meant to be shared between threads.
    """

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        *,
        max_token_length: int = MAX_TOKEN_LENGTH,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._entries: OrderedDict[str, Verified] = OrderedDict()
        self._max_entries = max_entries
        self._max_token_length = max_token_length
        self._now = now
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> Verified | None:
        """The entry for exactly `token`, if its window holds now."""
        entry = self._entries.get(token)
        if entry is None:
            self.misses += 1
            return None
        now = self._now()
        if not entry.not_before <= now < entry.expires:
            del self._entries[token]  # expired (or the clock went back before nbf)
            self.misses += 1
            return None
        self._entries.move_to_end(token)
        self.hits += 1
        return entry

    def put(self, token: str, entry: Verified) -> None:
        """Remember a successful verification, evicting the least recently used beyond the cap."""
        if self._max_entries <= 0 or len(token) > self._max_token_length:
            return
        if not entry.not_before <= self._now() < entry.expires:
            return  # accepted only thanks to the leeway: not worth keeping
        self._entries[token] = entry
        self._entries.move_to_end(token)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, token: str) -> None:
        """Forget one token (its key changed)."""
        self._entries.pop(token, None)
