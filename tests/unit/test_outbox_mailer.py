"""OutboxMailer: one readable .eml per job in the data directory, written atomically."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from uuid import uuid4

from market_ai.adapters.memory.outbox_mailer import OutboxMailer, file_name
from market_ai.domain.mail import EmailMessage, Mailer, message_id

MESSAGE = EmailMessage(
    to=("ops@example.com", "cfo@example.com"),
    subject="Spring launch: week 2 — réservé",
    body="Spend is on pace.\nROAS 2.5.\n",
)


def _mailer(tmp_path: Path) -> OutboxMailer:
    mailer: Mailer = OutboxMailer(tmp_path / "outbox", "market-ai <noreply@example.com>")
    assert isinstance(mailer, OutboxMailer)
    return mailer


async def test_a_send_writes_one_eml_named_after_the_message_id(tmp_path: Path) -> None:
    mailer = _mailer(tmp_path)
    job_id = uuid4()
    mid = message_id(job_id, mailer.sender_domain)
    await mailer.send(MESSAGE, message_id=mid)
    [written] = (tmp_path / "outbox").iterdir()
    assert written.name == file_name(mid) == f"job-{job_id}.eml"
    parsed = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == mid
    assert parsed["From"] == "market-ai <noreply@example.com>"
    assert parsed["To"] == "ops@example.com, cfo@example.com"
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["Date"] is not None
    body = parsed.get_body()
    assert body is not None
    assert body.get_content() == MESSAGE.body


async def test_a_resend_replaces_the_same_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    mailer = _mailer(tmp_path)
    mid = message_id(uuid4(), mailer.sender_domain)
    await mailer.send(MESSAGE, message_id=mid)
    await mailer.send(MESSAGE, message_id=mid)
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == [file_name(mid)]


def test_file_names_keep_to_safe_characters() -> None:
    assert file_name("<../job 1@example.com>") == ".._job_1.eml"
