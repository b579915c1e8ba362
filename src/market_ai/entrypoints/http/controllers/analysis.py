"""Campaign analysis routes: start one (202 + job) and read the latest."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency

from market_ai.domain.analysis_service import AnalysisService
from market_ai.entrypoints.http.analysis_schemas import AnalysisOut
from market_ai.entrypoints.http.auth import SignedIn
from market_ai.entrypoints.http.conditional import conditional_get
from market_ai.entrypoints.http.job_schemas import JobOut, accepted
from market_ai.entrypoints.http.params import CampaignId, IdempotencyKey
from market_ai.entrypoints.http.problem_docs import problem_responses

Analyses = NamedDependency[AnalysisService]


class AnalysisController(Controller):
    """Analyses of the signed-in user's campaign; another user's campaign reads as 404."""

    path = "/campaigns/{campaign_id:uuid}/analysis"
    tags = ["analysis"]  # noqa: RUF012 - Litestar reads this class attribute

    @post("/", status_code=202, responses=problem_responses(404, 409, 422))
    async def request_analysis(
        self,
        analyses: Analyses,
        request: SignedIn,
        campaign_id: CampaignId,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobOut]:
        """202 with the job to poll; GET this path once it succeeded."""
        job = await analyses.request(request.user, campaign_id, idempotency_key=idempotency_key)
        return accepted(job)

    @get("/", cache=False, responses=problem_responses(404), middleware=[conditional_get])
    async def latest_analysis(
        self, analyses: Analyses, request: SignedIn, campaign_id: CampaignId
    ) -> AnalysisOut:
        """The most recent analysis; 404 until one has finished."""
        return AnalysisOut.of(await analyses.latest(request.user, campaign_id))
