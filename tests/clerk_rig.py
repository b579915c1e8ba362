"""Helpers shared by the Clerk tests (their fixtures are in tests/integration/clerk/)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
