"""OpenAPI declarations of the problem-details answers, so the schema tells the whole truth."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from litestar.openapi.datastructures import ResponseSpec

from market_ai.entrypoints.http.problem_types import PROBLEM_TYPES, VALIDATION
from market_ai.entrypoints.http.problems import PROBLEM_JSON


class InvalidParam(msgspec.Struct):
    """One field a client should fix."""

    name: str
    reason: str


class ProblemDetails(msgspec.Struct):
    """RFC 9457 problem details, as every error of this API is shaped."""

    type: Annotated[
        str,
        msgspec.Meta(
            description="what went wrong, one of: " + ", ".join(k.uri for k in PROBLEM_TYPES),
            examples=[VALIDATION.uri],
        ),
    ]
    title: str
    status: int
    detail: str
    invalid_params: list[InvalidParam] | msgspec.UnsetType = msgspec.field(
        default=msgspec.UNSET, name="invalid-params"
    )


_WHY: Final = {
    400: "The request does not match the schema (undecodable, wrong type or shape; named)",
    401: "Missing, expired or invalid bearer token",
    404: "No such resource for this user (another user's reads as absent)",
    409: "The resource changed concurrently or clashes with its current state",
    412: "If-Match names a version that is no longer current: nothing was changed",
    413: "Request body larger than MAX_BODY_BYTES",
    422: "Well-formed but breaks a business rule (the field is named)",
    428: "This deployment requires If-Match (REQUIRE_IF_MATCH) on this write",
    429: "Rate limit or daily quota exceeded: see Retry-After (and RateLimit-* headers)",
    503: "A dependency cannot answer now; retry after Retry-After seconds",
}
EDGE: Final = (400, 401, 429, 503)  # any /api route can answer these, whatever it does


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers of an /api route: the edge's own plus the route's `statuses`.

    Declared per route (Litestar has no router-wide `responses`); a unit test checks that
    every /api operation carries the edge's, so a new route cannot forget them.
    """
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            media_type=PROBLEM_JSON,
            description=_WHY[status],
            generate_examples=False,
        )
        for status in sorted({*EDGE, *statuses})
    }
