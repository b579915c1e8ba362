"""Content routes: ask for copy (202 + job) and list what was written for a campaign."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from market_ai.domain.content_service import ContentService
from market_ai.entrypoints.http.auth import SignedIn
from market_ai.entrypoints.http.conditional import conditional_get
from market_ai.entrypoints.http.content_schemas import ContentIn, ContentOut
from market_ai.entrypoints.http.job_schemas import JobOut, accepted
from market_ai.entrypoints.http.params import CampaignId, IdempotencyKey, PageNumber, PerPage
from market_ai.entrypoints.http.problem_docs import problem_responses

Content = NamedDependency[ContentService]


class ContentController(Controller):
    """Copy for the signed-in user's campaign; another user's campaign reads as 404."""

    path = "/campaigns/{campaign_id:uuid}/content"
    tags = ["content"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=202, responses=problem_responses(404, 409, 413, 422))
    async def request_content(
        self,
        content: Content,
        request: SignedIn,
        campaign_id: CampaignId,
        data: JSONBody[ContentIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobOut]:
        """202 with the job to poll; 422 when the worst case cannot fit a budget."""
        job = await content.request(
            request.user, campaign_id, data.to_domain(), idempotency_key=idempotency_key
        )
        return accepted(job)

    @get("/", cache=False, responses=problem_responses(404), middleware=[conditional_get])
    async def list_content(
        self,
        content: Content,
        request: SignedIn,
        campaign_id: CampaignId,
        page: PageNumber = 1,
        per_page: PerPage = 20,
    ) -> Response[list[ContentOut]]:
        """Newest first; X-Total-Count and X-Page-Number tell the client where it is."""
        result = await content.list(request.user, campaign_id, page=page, per_page=per_page)
        return Response(
            [ContentOut.of(v) for v in result.items],
            headers={"X-Total-Count": str(result.total), "X-Page-Number": str(result.page)},
        )
