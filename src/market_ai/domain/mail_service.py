"""Email use cases: ask for a send (a job) and send it (the handler), at most once per record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from market_ai.domain.content import ContentVariant
from market_ai.domain.errors import InvalidInput, NotFound
from market_ai.domain.job_registry import SEND_EMAIL, JobResult
from market_ai.domain.job_service import JobService
from market_ai.domain.jobs import Job, JobContext, PermanentJobError
from market_ai.domain.mail import (
    EmailDelivery,
    EmailMessage,
    Mailer,
    check_body,
    check_recipients,
    check_subject,
    message_id,
)
from market_ai.domain.ports import Clock, UnitOfWorkFactory

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

    Delivery is at least once with a narrow window: the handler records the send only after
    the server accepted it, so a crash between the two (or a lost acknowledgement) sends
    again, with the same Message-ID. Every other redelivery finds the record and skips.
    """

    def __init__(
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        jobs: JobService,
        mailer: Mailer,
        content_lookup: ContentLookup,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._jobs = jobs
        self._mailer = mailer
        self._content = content_lookup

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
        job.
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
            await uow.commit()
        self._jobs.notify()
        return job

    async def _content_text(self, owner_id: str, campaign_id: UUID, content_id: UUID) -> str:
        variant = await self._content(owner_id, campaign_id, content_id)
        if variant is None:
            raise InvalidInput("content_id", "no such content for this campaign")
        return body_of(variant.text)

    async def run(self, ctx: JobContext) -> JobResult:
        """The `send_email` handler: skip if recorded, else send, then record.

        The Message-ID derives from the job id, so every attempt of one job sends the same
        message identity.
        """
        try:
            campaign_id = UUID(str(ctx.payload["campaign_id"]))
            message = EmailMessage(
                to=tuple(ctx.payload["to"]),
                subject=ctx.payload["subject"],
                body=ctx.payload["body"],
                request_id=ctx.request_id,
            )
        except (KeyError, TypeError, ValueError, InvalidInput) as error:
            raise PermanentJobError(f"bad send_email payload: {error}") from error
        async with self._uow() as uow:
            done = await uow.email_deliveries.get(ctx.job_id)
            if done is None and await uow.campaigns.get(ctx.owner_id, campaign_id) is None:
                raise PermanentJobError("campaign not found (deleted since the request?)")
        if done is not None:
            return _result(done, resent=False)
        mid = message_id(ctx.job_id, self._mailer.sender_domain)
        await self._mailer.send(message, message_id=mid)
        delivery = EmailDelivery(
            job_id=ctx.job_id,
            campaign_id=campaign_id,
            owner_id=ctx.owner_id,
            message_id=mid,
            recipients=message.to,
            subject=message.subject,
            sent_at=self._clock.now(),
        )
        async with self._uow() as uow:
            recorded = await uow.email_deliveries.record(delivery)
            await uow.commit()
        return _result(recorded, resent=True)


def _result(delivery: EmailDelivery, *, resent: bool) -> dict[str, Any]:
    return {
        "message_id": delivery.message_id,
        "recipients": len(delivery.recipients),
        "sent_at": delivery.sent_at.isoformat(),
        "sent_by_this_attempt": resent,
    }
