"""Development identity: RS256 tokens signed by a key kept in the data directory.

It lets a newcomer use the API with no identity provider; production refuses to start
without one (see Settings), so this never guards real users.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from market_ai.adapters.auth.claims import subject_of
from market_ai.adapters.auth.token_errors import token_error
from market_ai.adapters.auth.verified_tokens import Verified, VerifiedTokenCache, validity_window
from market_ai.domain.errors import Unauthenticated

ISSUER: Final = "market-ai-local"
KEY_FILE: Final = "local-signing-key.pem"


def load_or_create_key(data_dir: Path) -> rsa.RSAPrivateKey:
    """Read the local signing key, creating it (mode 0600) on first use.

    Several processes may start at once on a fresh directory (`serve --workers 2`): each
    writes its key to a file of its own, then links it into place. The link either
    succeeds or finds the name taken; it never shows a half-written file, so the loser
    reads the winner's complete key and every process signs with the same one.
    """
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if _publish(path, pem):
            return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TypeError(f"{path} does not hold an RSA private key")
    return loaded


def _publish(path: Path, pem: bytes) -> bool:
    """Put `pem` at `path` atomically; False when another process got there first."""
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(staged, path)
    except FileExistsError:
        return False
    finally:
        staged.unlink(missing_ok=True)
    return True


class LocalKeyTokens:
    """Issues and verifies development tokens with the local key.

    Verified tokens are remembered until their `exp`, like ClerkTokenVerifier's.
    """

    def __init__(
        self,
        data_dir: Path,
        leeway_seconds: int = 30,
        verified: VerifiedTokenCache | None = None,
    ) -> None:
        self._key = load_or_create_key(data_dir)
        self._public = self._key.public_key()
        self._leeway = leeway_seconds
        self._verified = VerifiedTokenCache() if verified is None else verified

    def issue(self, user_id: str, ttl: timedelta = timedelta(hours=12)) -> str:
        """Sign a token whose subject is `user_id`."""
        now = datetime.now(UTC)
        claims = {"sub": user_id, "iss": ISSUER, "iat": now, "nbf": now, "exp": now + ttl}
        return jwt.encode(claims, self._key, algorithm="RS256")

    async def verify(self, token: str) -> str:
        """Check signature (RS256 only), issuer and times; return the subject.

        The subject rules and failure messages are production's (`claims`), so what passes
        here passes there and no message quotes the token.
        """
        if (known := self._verified.get(token)) is not None:
            return known.subject
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise Unauthenticated(token_error(error)) from None
        subject = subject_of(claims)
        if (window := validity_window(claims, self._leeway)) is not None:
            self._verified.put(token, Verified(subject, None, self._public, *window))
        return subject
