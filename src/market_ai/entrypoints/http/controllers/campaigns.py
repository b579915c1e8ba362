"""Campaign routes: translate HTTP to CampaignService calls and back."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from market_ai.domain.campaign_service import CampaignService
from market_ai.domain.campaigns import CampaignStatus, Channel
from market_ai.entrypoints.http.auth import SignedIn
from market_ai.entrypoints.http.conditional import (
    campaign_etag,
    conditional_get,
    if_match_versions,
)
from market_ai.entrypoints.http.params import CampaignId, PageNumber, PerPage
from market_ai.entrypoints.http.problem_docs import problem_responses
from market_ai.entrypoints.http.rate_limit import CAMPAIGN_CREATE, limited_by
from market_ai.entrypoints.http.schemas import CampaignCreate, CampaignOut, CampaignUpdate

Campaigns = NamedDependency[CampaignService]


class CampaignController(Controller):
    """The signed-in user's campaigns; another user's id reads as 404."""

    path = "/campaigns"
    tags = ["campaigns"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", responses=problem_responses(), middleware=[conditional_get])
    async def list_campaigns(
        self,
        campaigns: Campaigns,
        request: SignedIn,
        page: PageNumber = 1,
        per_page: PerPage = 20,
        status: FromQuery[CampaignStatus | None] = None,
        channel: FromQuery[Channel | None] = None,
    ) -> Response[list[CampaignOut]]:
        """Newest first; X-Total-Count and X-Page-Number tell the client where it is."""
        result = await campaigns.list(
            request.user, page=page, per_page=per_page, status=status, channel=channel
        )
        return Response(
            [CampaignOut.of(c) for c in result.items],
            headers={"X-Total-Count": str(result.total), "X-Page-Number": str(result.page)},
        )

    @post(
        "/",
        responses=problem_responses(413, 422),
        opt=limited_by(CAMPAIGN_CREATE),  # RATE_LIMIT_CAMPAIGN_CREATE on top of the default
    )
    async def create_campaign(
        self, campaigns: Campaigns, request: SignedIn, data: JSONBody[CampaignCreate]
    ) -> Response[CampaignOut]:
        """201 with Location pointing at the new campaign."""
        campaign = await campaigns.create(request.user, data.to_domain())
        return Response(
            CampaignOut.of(campaign),
            status_code=201,
            headers={
                "Location": f"/api/campaigns/{campaign.id}",
                "ETag": campaign_etag(campaign.version),
            },
        )

    @get("/{campaign_id:uuid}", responses=problem_responses(404), middleware=[conditional_get])
    async def get_campaign(
        self, campaigns: Campaigns, request: SignedIn, campaign_id: CampaignId
    ) -> Response[CampaignOut]:
        """One campaign; its ETag is its version, the tag PATCH and DELETE take in If-Match."""
        campaign = await campaigns.get(request.user, campaign_id)
        return Response(CampaignOut.of(campaign), headers={"ETag": campaign_etag(campaign.version)})

    @patch("/{campaign_id:uuid}", responses=problem_responses(404, 409, 412, 413, 422, 428))
    async def update_campaign(
        self,
        campaigns: Campaigns,
        request: SignedIn,
        campaign_id: CampaignId,
        data: JSONBody[CampaignUpdate],
    ) -> Response[CampaignOut]:
        """Change some fields; status moves must follow the lifecycle.

        With If-Match, only the version it names is changed (else 412, nothing changed).
        """
        versions = if_match_versions(request)
        campaign = await campaigns.update(
            request.user, campaign_id, data.to_domain(), if_version=versions
        )
        return Response(CampaignOut.of(campaign), headers={"ETag": campaign_etag(campaign.version)})

    @delete("/{campaign_id:uuid}", responses=problem_responses(404, 412, 428))
    async def delete_campaign(
        self, campaigns: Campaigns, request: SignedIn, campaign_id: CampaignId
    ) -> None:
        """Remove the campaign (204); with If-Match, only the version it names."""
        versions = if_match_versions(request)
        await campaigns.delete(request.user, campaign_id, if_version=versions)
