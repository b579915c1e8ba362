"""OutboxMailer: the embedded default Mailer, writing each message as a .eml file."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final

from market_ai.adapters.smtp.mime import build_mime, sender_domain

if TYPE_CHECKING:
    from market_ai.domain.mail import EmailMessage

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(message_id: str) -> str:
    """`<job-{uuid}@domain>` -> `job-{uuid}.eml`, anything a file system may dislike replaced."""
    return _UNSAFE.sub("_", message_id.strip("<>").partition("@")[0]) + ".eml"


class OutboxMailer:
    """Writes `<data dir>/outbox/<message id>.eml`; any mail client opens them.

    The name comes from the Message-ID (so from the job id): a resend replaces the same
    file instead of adding a twin. Written to a temporary file and renamed, so a reader (or
    a crash) never sees half a message.
    """

    def __init__(self, outbox: Path, mail_from: str) -> None:
        self.outbox = outbox
        self._from = mail_from

    @property
    def sender_domain(self) -> str:
        """MAIL_FROM's domain."""
        return sender_domain(self._from)

    async def send(self, message: EmailMessage, *, message_id: str) -> None:
        """Write the file off the event loop (disks can be slow)."""
        data = build_mime(message, mail_from=self._from, message_id=message_id).as_bytes()
        await asyncio.to_thread(self._write, file_name(message_id), data)

    def _write(self, name: str, data: bytes) -> None:
        self.outbox.mkdir(mode=0o700, parents=True, exist_ok=True)  # emails: the owner's only
        fd, temp = tempfile.mkstemp(dir=self.outbox, prefix=".sending-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temp).replace(self.outbox / name)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
