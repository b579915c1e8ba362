"""The live app fuzzed from its own OpenAPI schema: no 5xx, and every answer as declared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.live_app import dev_token, serving

pytestmark = pytest.mark.e2e
MAX_EXAMPLES = 50  # per operation and mode: about 20 s for the whole API on two cores
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real server on a fresh data dir, unlimited so the fuzzer is never answered 429."""
    data_dir = tmp_path_factory.mktemp("fuzz")
    token = dev_token(data_dir, "fuzz")
    with serving(data_dir, RATE_LIMIT_ENABLED="false") as base:
        yield base, token


@pytest.fixture(scope="module")
def api_schema(live_app: tuple[str, str]) -> schemathesis.BaseSchema:
    base, _ = live_app
    return schemathesis.openapi.from_url(f"{base}/schema/openapi.json", timeout=10)


# schemathesis' own pytest integration (`schemathesis.pytest.from_fixture`) does not run on
# pytest 9, so each operation's Hypothesis strategy is driven here, through its Python API.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_schema_declares(
    api_schema: schemathesis.BaseSchema, live_app: tuple[str, str], mode: GenerationMode
) -> None:
    _, token = live_app
    headers = {"Authorization": f"Bearer {token}"}
    failures: dict[str, str] = {}
    tested = 0
    for result in api_schema.get_all_operations():
        if not isinstance(result, Ok):
            failures[f"schema error {len(failures)}"] = str(result.err())
            continue
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,  # the same cases every run: a failure is a bug, never bad luck
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except Unsatisfiable:  # nothing to get wrong in a request without parameters
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        except Exception as error:  # noqa: BLE001 - collected, so one run reports every operation
            failures[operation.label] = str(error)
        tested += 1
    assert tested >= 8, "the schema lost operations"
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())
