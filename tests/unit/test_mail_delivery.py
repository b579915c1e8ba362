"""The send_email handler: one message per recipient, recorded as it goes, never sent twice."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from market_ai.adapters.smtp.mime import build_mime
from market_ai.domain.errors import Unavailable
from market_ai.domain.jobs import Job
from market_ai.domain.mail import EmailDelivery, EmailMessage, recipient_message_id
from market_ai.domain.mail_ledger import DeliveryStatus
from market_ai.domain.mail_sender import RecipientsDeferred
from market_ai.domain.mail_service import MailService
from market_ai.domain.unsubscribe import UnsubscribeLinks
from tests.mail_fakes import Outage, RecordingMailer
from tests.service_rig import NOW, ServiceRig, context

LINKS = UnsubscribeLinks(b"k" * 32, "https://api.example.com")
TO = ["ops@example.com", "cfo@example.org", "ceo@example.net"]


class Rig(ServiceRig):
    """A ServiceRig whose mail service may lose its database for a few commits."""

    def __init__(self) -> None:
        super().__init__()
        self.mailer = RecordingMailer()
        self.outage = Outage(self.store)
        self.slept: list[float] = []
        self.mail = MailService(
            self.outage,
            self.clock,
            self.jobs,
            self.mailer,
            lambda *_: _none(),
            links=LINKS,
            record_delays=(0.1, 0.2, 0.4),
            sleep=self._sleep,
        )

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def job(self, to: list[str] = TO) -> Job:
        campaign = await self.campaign()
        return await self.mail.request("alice", campaign.id, to=to, subject="s", body="Hello.")

    def statuses(self, job: Job) -> dict[str, DeliveryStatus]:
        return {a: r.status for (j, a), r in self.store.email_recipients.items() if j == job.id}


async def _none() -> None:
    return None


@pytest.fixture
def rig() -> Rig:
    return Rig()


async def test_each_recipient_gets_a_message_of_their_own(rig: Rig) -> None:
    job = await rig.job()
    result = await rig.mail.run(context(job))
    assert [message.to for _, message in rig.mailer.sent] == [(a,) for a in TO]
    ids = [mid for mid, _ in rig.mailer.sent]
    assert ids == [recipient_message_id(job.id, a, "example.com") for a in TO]
    assert len(set(ids)) == len(TO)
    assert result is not None
    assert result["sent"] == len(TO)
    assert result["sent_by_this_attempt"] == len(TO)
    assert result["message_ids"] == dict(zip(TO, ids, strict=True))
    assert set(rig.statuses(job).values()) == {DeliveryStatus.SENT}


async def test_every_message_carries_a_one_click_unsubscribe_link_for_its_recipient(
    rig: Rig,
) -> None:
    job = await rig.job()
    await rig.mail.run(context(job))
    for mid, message in rig.mailer.sent:
        assert message.unsubscribe_url is not None
        token = message.unsubscribe_url.rpartition("/")[2]
        assert LINKS.read(token).address == message.to[0]
        assert LINKS.read(token).owner_id == "alice"
        mime = message_from_bytes(
            build_mime(message, mail_from="noreply@example.com", message_id=mid).as_bytes(),
            policy=policy.default,
        )
        assert mime["List-Unsubscribe"] == f"<{message.unsubscribe_url}>"
        assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mime["To"] == message.to[0]


async def test_a_redelivered_job_sends_nothing_again(rig: Rig) -> None:
    job = await rig.job()
    await rig.mail.run(context(job))
    again = await rig.mail.run(context(job, attempt=2))
    assert len(rig.mailer.sent) == len(TO)
    assert again is not None
    assert again["sent"] == len(TO)
    assert again["sent_by_this_attempt"] == 0


async def test_a_record_that_fails_for_a_moment_is_retried_in_process_not_resent(
    rig: Rig,
) -> None:
    """Issue 9: the server accepted, the database blinked: no second message."""
    job = await rig.job()
    rig.outage.commits = 2  # the first recipient's record fails twice, then the database is back
    result = await rig.mail.run(context(job))
    assert rig.mailer.addresses() == TO  # once each
    assert rig.outage.failed == 2
    assert rig.slept == [0.1, 0.2]
    assert result is not None
    assert result["sent"] == len(TO)


async def test_a_record_that_keeps_failing_gives_up_and_the_retry_resends_only_that_one(
    rig: Rig,
) -> None:
    job = await rig.job()
    real_send = rig.mailer.send

    async def send(message: EmailMessage, *, message_id: str) -> None:
        await real_send(message, message_id=message_id)
        if message.to == (TO[1],):
            rig.outage.commits = 4  # down for longer than the three retries

    rig.mailer.send = send  # type: ignore[method-assign]
    with pytest.raises(Unavailable):
        await rig.mail.run(context(job))
    rig.mailer.send = real_send  # type: ignore[method-assign]
    assert rig.statuses(job)[TO[0]] is DeliveryStatus.SENT
    assert rig.statuses(job)[TO[1]] is DeliveryStatus.PENDING

    await rig.mail.run(context(job, attempt=2))

    assert rig.mailer.addresses() == [TO[0], TO[1], TO[1], TO[2]]  # only the one in flight again
    resent = [mid for mid, m in rig.mailer.sent if m.to == (TO[1],)]
    assert resent[0] == resent[1]  # the same Message-ID: the duplicate is identifiable


async def test_a_4xx_recipient_is_named_retried_alone_and_the_rest_stay_sent(rig: Rig) -> None:
    job = await rig.job()
    rig.mailer.refuse = {TO[1]: 452}
    with pytest.raises(RecipientsDeferred, match=TO[1]) as deferred:
        await rig.mail.run(context(job))
    assert deferred.value.addresses == (TO[1],)
    assert rig.mailer.addresses() == [TO[0], TO[2]]
    assert rig.statuses(job)[TO[1]] is DeliveryStatus.DEFERRED
    rig.mailer.refuse = {}
    result = await rig.mail.run(context(job, attempt=2))
    assert rig.mailer.addresses() == [TO[0], TO[2], TO[1]]
    assert result is not None
    assert result["sent"] == len(TO)
    assert result["sent_by_this_attempt"] == 1


async def test_a_5xx_recipient_shows_in_the_result_and_is_not_retried(rig: Rig) -> None:
    job = await rig.job()
    rig.mailer.refuse = {TO[0]: 550}
    result = await rig.mail.run(context(job))
    assert result is not None
    assert result["refused"] == [
        {"address": TO[0], "reason": "SMTP server refused the recipient (550)"}
    ]
    assert result["sent"] == len(TO) - 1
    await rig.mail.run(context(job, attempt=2))
    assert rig.mailer.addresses() == TO[1:]


async def test_a_suppressed_address_is_skipped_and_reported(rig: Rig) -> None:
    job = await rig.job()
    async with rig.uow() as uow:  # unsubscribed after the request, before the send
        await uow.email_suppressions.add("alice", TO[2].upper(), NOW)
        await uow.commit()
    result = await rig.mail.run(context(job))
    assert rig.mailer.addresses() == TO[:2]
    assert result is not None
    assert result["skipped"] == [TO[2]]
    assert rig.statuses(job)[TO[2]] is DeliveryStatus.SUPPRESSED


async def test_a_job_sent_whole_by_the_previous_version_is_not_sent_again(rig: Rig) -> None:
    job = await rig.job()
    rig.store.email_recipients.clear()  # a job enqueued before per-recipient rows existed
    rig.store.email_deliveries[job.id] = EmailDelivery(
        job.id, job.id, "alice", "<job-x@example.com>", tuple(TO), "s", NOW
    )
    result = await rig.mail.run(context(job))
    assert rig.mailer.sent == []
    assert result is not None
    assert result["sent"] == len(TO)
