"""Email routes: ask for a send about a campaign (202 + job)."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from market_ai.domain.mail_service import MailService
from market_ai.entrypoints.http.analysis_schemas import EmailIn
from market_ai.entrypoints.http.auth import SignedIn
from market_ai.entrypoints.http.job_schemas import JobOut, accepted
from market_ai.entrypoints.http.params import CampaignId, IdempotencyKey
from market_ai.entrypoints.http.problem_docs import problem_responses

Mail = NamedDependency[MailService]


class EmailController(Controller):
    """Emails about the signed-in user's campaign; another user's campaign reads as 404."""

    path = "/campaigns/{campaign_id:uuid}/emails"
    tags = ["email"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=202, responses=problem_responses(404, 409, 413, 422))
    async def send_email(
        self,
        mail: Mail,
        request: SignedIn,
        campaign_id: CampaignId,
        data: JSONBody[EmailIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobOut]:
        """202 with the job to poll; its result carries the Message-ID once sent."""
        job = await mail.request(
            request.user,
            campaign_id,
            to=data.to,
            subject=data.subject,
            body=data.body,
            content_id=data.content_id,
            idempotency_key=idempotency_key,
        )
        return accepted(job)
