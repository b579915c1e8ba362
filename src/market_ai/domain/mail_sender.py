"""The send_email handler: one message per recipient, each recorded before the next goes out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from market_ai.domain.errors import InvalidInput, Unavailable
from market_ai.domain.jobs import JobContext, PermanentJobError
from market_ai.domain.mail import EmailMessage, RecipientRefused, recipient_message_id
from market_ai.domain.mail_ledger import FINAL, DeliveryStatus, RecipientDelivery

if TYPE_CHECKING:
    from market_ai.domain.job_registry import JobResult
    from market_ai.domain.mail import EmailDelivery, Mailer
    from market_ai.domain.ports import Clock, UnitOfWorkFactory
    from market_ai.domain.unsubscribe import UnsubscribeLinks

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
# About 19 s in all: outlasts a database restart or failover, and ends well inside the
# job's 30 s lease, so no other worker takes the job (and sends again) while we wait.
RECORD_RETRY_DELAYS: Final = (0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0)
LISTED_MAX: Final = 10  # addresses named in one last_error line


class RecipientsDeferred(Exception):  # noqa: N818 - reads as the condition
    """Some recipients got a 4xx: the job is retried for them alone (the rest are recorded)."""

    def __init__(self, addresses: Sequence[str]) -> None:
        named = ", ".join(addresses[:LISTED_MAX])
        more = f" and {len(addresses) - LISTED_MAX} more" if len(addresses) > LISTED_MAX else ""
        super().__init__(
            f"{len(addresses)} recipient(s) deferred by the mail server (4xx), "
            f"retrying only them: {named}{more}"
        )
        self.addresses = tuple(addresses)


class MailSender:
    """Sends a job's message to each recipient whose row is not final yet.

    Delivery is at least once per recipient with a narrow window: a row turns `sent` only
    after the server accepted that message. The write is retried in process (about 19 s)
    when the database is unreachable, so a short outage no longer makes the job resend
    to everyone; a crash in the window resends one message, with the same Message-ID.
    """

    def __init__(  # noqa: PLR0913 - the ports and policies a send is made of
        self,
        unit_of_work: UnitOfWorkFactory,
        clock: Clock,
        mailer: Mailer,
        links: UnsubscribeLinks,
        *,
        record_delays: Sequence[float] = RECORD_RETRY_DELAYS,
        sleep: Sleep | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._clock = clock
        self._mailer = mailer
        self._links = links
        self._delays = tuple(record_delays)
        self._sleep = sleep or asyncio.sleep

    async def run(self, ctx: JobContext) -> JobResult:
        """Skip final rows and suppressed addresses, send the rest, record each as it goes."""
        campaign_id, message = _parse(ctx)
        async with self._uow() as uow:
            legacy = await uow.email_deliveries.get(ctx.job_id)
            rows = dict(await uow.email_recipients.of_job(ctx.job_id))
            sent_any = any(r.status is DeliveryStatus.SENT for r in rows.values())
            if (
                legacy is None
                and not sent_any
                and await uow.campaigns.get(ctx.owner_id, campaign_id) is None
            ):
                raise PermanentJobError("campaign not found (deleted since the request?)")
            skipped = await uow.email_suppressions.among(ctx.owner_id, message.to)
        if legacy is not None:  # sent whole by an earlier version, before per-recipient rows
            return _legacy_result(legacy)
        unsettled = [a for a in message.to if a not in rows or rows[a].status not in FINAL]
        newly_skipped = [
            self._row(ctx, a, DeliveryStatus.SUPPRESSED) for a in unsettled if a in skipped
        ]
        if newly_skipped:
            await self._record(newly_skipped)
            rows.update((r.address, r) for r in newly_skipped)
        sent_now = 0
        for address in (a for a in unsettled if a not in skipped):
            row = await self._send_one(ctx, message, address)
            await self._record([row])
            rows[address] = row
            sent_now += row.status is DeliveryStatus.SENT
        deferred = [a for a in message.to if rows[a].status is DeliveryStatus.DEFERRED]
        if deferred:
            raise RecipientsDeferred(deferred)
        return _result([rows[a] for a in message.to], sent_now)

    async def _send_one(
        self, ctx: JobContext, message: EmailMessage, address: str
    ) -> RecipientDelivery:
        copy = EmailMessage(
            to=(address,),
            subject=message.subject,
            body=message.body,
            request_id=ctx.request_id,
            unsubscribe_url=self._links.url(ctx.owner_id, address),
        )
        row = self._row(ctx, address, DeliveryStatus.SENT)
        try:
            await self._mailer.send(copy, message_id=row.message_id)
        except RecipientRefused as refused:
            status = DeliveryStatus.REFUSED if refused.permanent else DeliveryStatus.DEFERRED
            return self._row(ctx, address, status, str(refused))
        return row

    def _row(
        self, ctx: JobContext, address: str, status: DeliveryStatus, detail: str | None = None
    ) -> RecipientDelivery:
        mid = recipient_message_id(ctx.job_id, address, self._mailer.sender_domain)
        return RecipientDelivery(
            ctx.job_id, address, ctx.owner_id, status, mid, self._clock.now(), detail
        )

    async def _record(self, rows: Sequence[RecipientDelivery]) -> None:
        """Write the rows, retrying while the database is unreachable, then give up (raise)."""
        for wait in (*self._delays, None):
            try:
                async with self._uow() as uow:
                    for row in rows:
                        await uow.email_recipients.record(row)
                    await uow.commit()
            except Unavailable:
                if wait is None:
                    raise
                log.warning("mail.record_retry %s in=%.1fs", rows[0].job_id, wait)
                await self._sleep(wait)
            else:
                return


def _parse(ctx: JobContext) -> tuple[UUID, EmailMessage]:
    try:
        campaign_id = UUID(str(ctx.payload["campaign_id"]))
        message = EmailMessage(
            to=tuple(ctx.payload["to"]),
            subject=ctx.payload["subject"],
            body=ctx.payload["body"],
        )
    except (KeyError, TypeError, ValueError, InvalidInput) as error:
        raise PermanentJobError(f"bad send_email payload: {error}") from error
    return campaign_id, message


def _result(rows: Sequence[RecipientDelivery], sent_now: int) -> dict[str, Any]:
    """What the job row shows: counts, and every address that did not get the message."""
    sent = [r for r in rows if r.status is DeliveryStatus.SENT]
    return {
        "recipients": len(rows),
        "sent": len(sent),
        "sent_by_this_attempt": sent_now,
        "skipped": [r.address for r in rows if r.status is DeliveryStatus.SUPPRESSED],
        "refused": [
            {"address": r.address, "reason": r.detail}
            for r in rows
            if r.status is DeliveryStatus.REFUSED
        ],
        "message_ids": {r.address: r.message_id for r in sent},
    }


def _legacy_result(delivery: EmailDelivery) -> dict[str, Any]:
    return {
        "recipients": len(delivery.recipients),
        "sent": len(delivery.recipients),
        "sent_by_this_attempt": 0,
        "skipped": [],
        "refused": [],
        "message_ids": dict.fromkeys(delivery.recipients, delivery.message_id),
    }
