"""Bearer authentication for /api: the token's subject becomes the request's user id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from market_ai.domain.errors import Unauthenticated

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

    from market_ai.domain.ports import TokenVerifier


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Every request under the router it guards must carry `Authorization: Bearer <JWT>`."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:  # type: ignore[type-arg]
        """Verify the token with the configured verifier; anything wrong is a 401."""
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("missing bearer token")
        verifier: TokenVerifier = connection.app.state["token_verifier"]
        try:
            user_id = await verifier.verify(token.strip())
        except Unauthenticated as error:
            raise NotAuthorizedException(error.message) from None
        return AuthenticationResult(user=user_id, auth=token)
