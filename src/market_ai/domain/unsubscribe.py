"""Unsubscribe links: HMAC-signed (owner, address) tokens, and the use case behind the route."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from market_ai.domain.errors import InvalidInput
from market_ai.domain.mail import check_address

if TYPE_CHECKING:
    from market_ai.domain.ports import Clock, UnitOfWorkFactory

TOKEN_MAX: Final = 1_024  # an owner id and an address, encoded, with room to spare
_BAD: Final = "is not a valid unsubscribe link"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Unsubscription:
    """Whom a link speaks for: this owner must stop mailing this address."""

    owner_id: str
    address: str


class UnsubscribeLinks:
    """Signs and checks the token in `<base>/unsubscribe/<token>`.

    The token carries the owner and the address in the clear (the recipient knows both)
    and an HMAC-SHA256 over them, so only this deployment can mint one and nobody can
    unsubscribe another address or suppress on another owner's list.
    """

    def __init__(self, key: bytes, base_url: str) -> None:
        self._key = key
        self._base = base_url.rstrip("/")

    def _mac(self, payload: str) -> str:
        digest = hmac.new(self._key, b"unsubscribe:" + payload.encode(), hashlib.sha256)
        return _b64(digest.digest())

    def token(self, owner_id: str, address: str) -> str:
        """The signed token for (owner, address)."""
        payload = _b64(json.dumps([owner_id, address], separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def url(self, owner_id: str, address: str) -> str:
        """The public link a message's List-Unsubscribe header carries."""
        return f"{self._base}/unsubscribe/{self.token(owner_id, address)}"

    def read(self, token: str) -> Unsubscription:
        """The (owner, address) of a genuine token; InvalidInput("token") for anything else."""
        payload, dot, mac = token.partition(".")
        if len(token) > TOKEN_MAX or not dot:
            raise InvalidInput("token", _BAD)
        # Bytes: compare_digest refuses non-ASCII str, and a path can carry anything.
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            raise InvalidInput("token", _BAD)
        try:
            owner_id, address = json.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error):
            raise InvalidInput("token", _BAD) from None
        if not isinstance(owner_id, str) or not isinstance(address, str):
            raise InvalidInput("token", _BAD)
        return Unsubscription(owner_id, check_address("token", address))


class UnsubscribeService:
    """The public unsubscribe route's use cases: no sign-in, the signed token is the proof."""

    def __init__(
        self, unit_of_work: UnitOfWorkFactory, clock: Clock, links: UnsubscribeLinks
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._links = links

    def check(self, token: str) -> Unsubscription:
        """What the confirmation page shows; changes nothing (link scanners GET links)."""
        return self._links.read(token)

    async def unsubscribe(self, token: str) -> Unsubscription:
        """Add the address to the owner's suppression list; doing it twice is harmless."""
        found = self._links.read(token)
        async with self._uow() as uow:
            await uow.email_suppressions.add(found.owner_id, found.address, self._clock.now())
            await uow.commit()
        return found
