"""The OpenAPI schema promises the problem answers every /api route can give."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

PROBLEM = "application/problem+json"


async def _schema(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


async def test_every_api_operation_declares_the_edge_problems(
    client: AsyncTestClient[Litestar],
) -> None:
    paths = (await _schema(client))["paths"]
    api = {
        (m, p): op for p, item in paths.items() if p.startswith("/api/") for m, op in item.items()
    }
    assert api
    for (method, path), operation in api.items():
        for status in ("400", "401", "429", "503"):
            declared = operation["responses"].get(status)
            assert declared is not None, f"{method.upper()} {path} does not declare {status}"
            assert PROBLEM in declared["content"], f"{method.upper()} {path} {status}"


async def test_routes_with_an_id_declare_404_and_bodies_declare_413(
    client: AsyncTestClient[Litestar],
) -> None:
    paths = (await _schema(client))["paths"]
    for path, item in paths.items():
        for method, operation in item.items():
            if "{" in path and path.startswith("/api/"):
                assert "404" in operation["responses"], f"{method.upper()} {path}"
            if "requestBody" in operation:
                assert "413" in operation["responses"], f"{method.upper()} {path}"


async def test_problem_details_schema_matches_what_the_api_sends(
    client: AsyncTestClient[Litestar],
) -> None:
    schema = await _schema(client)
    problem = schema["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "urn:market-ai:problem:invalid-input" in problem["properties"]["type"]["description"]
    assert "invalid-params" in problem["properties"]
    answer = await client.get("/api/campaigns")  # a real problem, to compare with the schema
    assert answer.status_code == 401
    assert set(answer.json()) >= set(problem["required"])
