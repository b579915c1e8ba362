"""Email use cases: ask for a send (a job, within the daily quota) and send it (the handler)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final
from uuid import UUID

from market_ai.domain.content import ContentVariant
from market_ai.domain.errors import InvalidInput, NotFound, QuotaExceeded
from market_ai.domain.job_registry import SEND_EMAIL, JobResult
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import Job, JobContext
from market_ai.domain.mail import (
    Mailer,
    check_body,
    check_recipients,
    check_subject,
    recipient_message_id,
)
from market_ai.domain.mail_ledger import DeliveryStatus, RecipientDelivery, quota_resets_at
from market_ai.domain.mail_sender import RECORD_RETRY_DELAYS, MailSender, Sleep
from market_ai.domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from market_ai.domain.unsubscribe import UnsubscribeLinks

QUOTA_SETTING: Final = "EMAIL_RECIPIENTS_PER_DAY"

ContentLookup = Callable[[str, UUID, UUID], Awaitable[ContentVariant | None]]
"""(owner_id, campaign_id, content_id) -> the stored variant, or None when it is not theirs
(another user's, another campaign's, or none at all): `ContentStore.get`."""


def body_of(copy: str) -> str:
    """The copy without a leading `Subject:` line.

    Generated email copy opens with its own subject line; the subject belongs in the header
    the request sets, not at the top of the body.
    """
    first, newline, rest = copy.partition("\n")
    if newline and first.strip().lower().startswith("subject:") and rest.strip():
        return rest.lstrip("\n")
    return copy


class MailService:
    """Emails about a user's campaign; another user's campaign reads as NotFound.

    A request reserves its recipients against the owner's daily quota in the transaction
    that writes the job, as one pending row per recipient: the rows are the reservation
    (a replayed Idempotency-Key adds none, so it reserves nothing twice) and the delivery
    record the handler (`MailSender`) keeps per address. Addresses on the owner's
    suppression list are not counted: they will never be mailed, so they cost the
    sender's reputation nothing, and counting them would let old unsubscribes eat the
    quota of the addresses that still want mail.
    """

    def __init__(  # noqa: PLR0913 - the ports and limits a send is made of
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        jobs: JobService,
        mailer: Mailer,
        content_lookup: ContentLookup,
        *,
        links: UnsubscribeLinks,
        recipients_per_day: int = 500,
        record_delays: Sequence[float] = RECORD_RETRY_DELAYS,
        sleep: Sleep | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._jobs = jobs
        self._mailer = mailer
        self._content = content_lookup
        self._limit = recipients_per_day
        self._sender = MailSender(
            unit_of_work, clock, mailer, links, record_delays=record_delays, sleep=sleep
        )

    async def request(  # noqa: PLR0913 - the fields of a send request
        self,
        owner_id: str,
        campaign_id: UUID,
        *,
        to: Sequence[object],
        subject: object,
        body: str | None = None,
        content_id: UUID | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Validate now (a 4xx names the field), send later; the body travels in the job row.

        A content id is resolved to its text here, so the job sends what the user chose even
        if the content changes later, and so a foreign content id fails the request, not the
        job. Over the daily quota it is QuotaExceeded and nothing is written.
        """
        recipients, title = check_recipients(to), check_subject(subject)
        if (body is None) == (content_id is None):
            raise InvalidInput("body", "give exactly one of body or content_id")
        async with self._uow() as uow:
            if await uow.campaigns.get(owner_id, campaign_id) is None:
                raise NotFound("campaign not found")
        if content_id is not None:
            body = await self._content_text(owner_id, campaign_id, content_id)
        assert body is not None  # noqa: S101 - one of the two was given, checked above
        payload: dict[str, Any] = {
            "campaign_id": str(campaign_id),
            "to": list(recipients),
            "subject": title,
            "body": check_body(body),
        }
        if content_id is not None:
            payload["content_id"] = str(content_id)
        async with self._uow() as uow:
            if await uow.campaigns.get(owner_id, campaign_id) is None:
                raise NotFound("campaign not found")
            job = await self._jobs.enqueue_request(
                uow, owner_id, SEND_EMAIL, payload, idempotency_key=idempotency_key
            )
            await self._reserve(uow, job, recipients)
            await uow.commit()
        self._jobs.notify()
        return job

    async def _reserve(self, uow: UnitOfWork, job: Job, recipients: Sequence[str]) -> None:
        """Plan one row per recipient; count the new pending ones against today's quota."""
        now = self._clock.now()
        skipped = await uow.email_suppressions.among(job.owner_id, recipients)
        domain = self._mailer.sender_domain

        def rows(status: DeliveryStatus, addresses: Sequence[str]) -> list[RecipientDelivery]:
            return [
                RecipientDelivery(
                    job.id, a, job.owner_id, status, recipient_message_id(job.id, a, domain), now
                )
                for a in addresses
            ]

        wanted = [a for a in recipients if a not in skipped]
        new = await uow.email_recipients.plan(rows(DeliveryStatus.PENDING, wanted))
        await uow.email_recipients.plan(rows(DeliveryStatus.SUPPRESSED, sorted(skipped)))
        if new == 0:
            return
        day = self._clock.today()
        total = None
        if new <= self._limit:
            total = await uow.email_quota.reserve(job.owner_id, day, new, self._limit)
        if total is None:
            resets_at = quota_resets_at(day)
            wait = math.ceil((resets_at - now).total_seconds())
            raise QuotaExceeded(QUOTA_SETTING, self._limit, resets_at, max(wait, 1))

    async def _content_text(self, owner_id: str, campaign_id: UUID, content_id: UUID) -> str:
        variant = await self._content(owner_id, campaign_id, content_id)
        if variant is None:
            raise InvalidInput("content_id", "no such content for this campaign")
        return body_of(variant.text)

    async def run(self, ctx: JobContext) -> JobResult:
        """The `send_email` handler: one message per recipient not yet settled."""
        return await self._sender.run(ctx)
