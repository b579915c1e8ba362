"""The README's route table and the OpenAPI schema list the same routes, so neither drifts."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

README = Path(__file__).resolve().parents[2] / "README.md"
ROUTE_ROW = re.compile(r"^\| `([A-Z/]+) (/[^`?]*)[^`]*` \|", re.MULTILINE)
DOCS_ONLY = {("GET", "/schema")}  # the docs page itself is not an operation of the schema


def _shape(path: str) -> str:
    """`/api/campaigns/{campaign_id}` and `/api/campaigns/{id}` are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path.rstrip("/") or "/")


def readme_routes() -> set[tuple[str, str]]:
    section = README.read_text().split("## HTTP API", 1)[1].split("\n## ", 1)[0]
    return {
        (method, _shape(path))
        for methods, path in ROUTE_ROW.findall(section)
        for method in methods.split("/")
    }


async def test_every_route_of_the_schema_is_in_the_readme_table_and_no_other(
    client: AsyncTestClient[Litestar],
) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    served = {(method.upper(), _shape(path)) for path, item in paths.items() for method in item}
    documented = readme_routes() - DOCS_ONLY
    assert served - documented == set(), "routes missing from the README's table"
    assert documented - served == set(), "README routes the app does not serve"
