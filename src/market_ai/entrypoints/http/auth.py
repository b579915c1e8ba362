"""Bearer authentication for /api: the token's subject becomes the request's user id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from market_ai.domain.errors import Unauthenticated

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Scope

    from market_ai.domain.ports import TokenVerifier

SignedIn = Request[str, Any, Any]
"""A request that passed `require_bearer`: `request.user` is the verified subject (user id).

Handlers take it as `request: SignedIn` rather than the user id as a dependency of its
own: a handler with two dependencies makes Litestar resolve them in an anyio task group,
two tasks per request, which costs more than the rest of a cheap handler.
"""

VERIFIED: Final = "market_ai.verified_subject"
"""Scope-state key where the first verification of this request's token is kept."""


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def remember_subject(scope: Scope, subject: str) -> None:
    """Keep a verified subject for this request, so the token is checked once, not twice."""
    scope.setdefault("state", {})[VERIFIED] = subject


async def require_bearer(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard for every /api route: a valid bearer token, or a 401 problem.

    A guard (not a middleware) so the 401 is answered inside the route, through the same
    exception handlers, request id and rate-limit headers as every other answer.
    """
    state: dict[str, Any] = connection.scope.get("state", {})
    subject = state.get(VERIFIED)
    if not isinstance(subject, str):
        token = bearer_token(connection.headers.get("authorization", ""))
        if token is None:
            raise NotAuthorizedException("missing bearer token")
        verifier: TokenVerifier = connection.app.state["token_verifier"]
        try:
            subject = await verifier.verify(token)
        except Unauthenticated as error:
            raise NotAuthorizedException(error.message) from None
    connection.scope["user"] = subject
