"""The README's route table and the OpenAPI schema list the same routes, so neither drifts."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient

README = Path(__file__).resolve().parents[2] / "README.md"
ROUTE_ROW = re.compile(r"^\| `([A-Z/]+) (/[^`?]*)[^`]*` \|", re.MULTILINE)
# Routes the schema leaves out: the docs page itself, and the operators' scrape route
# (served only with metrics on; tests/unit/test_prometheus_metrics.py covers it).
NOT_IN_SCHEMA = {("GET", "/schema"), ("GET", "/metrics")}


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
    documented = readme_routes() - NOT_IN_SCHEMA
    assert served - documented == set(), "routes missing from the README's table"
    assert documented - served == set(), "README routes the app does not serve"
