"""A real `market-ai serve` on deploy/hypercorn.toml: slow headers are cut, idle keep-alive not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_app import serving
from tests.slow_clients import connect, dribble, request_on

pytestmark = pytest.mark.e2e
CONFIG = str(Path(__file__).parents[2] / "deploy" / "hypercorn.toml")
HEADER_TIMEOUT = 2.0


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    with serving(
        tmp_path,
        "--config",
        CONFIG,
        "--workers",
        "1",
        DATABASE_URL="memory://",
        HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
    ) as url:
        yield url


def test_dribbled_headers_are_cut_at_the_deadline(base: str) -> None:
    """Hypercorn alone kept these open for keep_alive_timeout (75 s), whatever the dribble."""
    closed_after = dribble(base, connections=50, seconds=HEADER_TIMEOUT + 8)
    assert None not in closed_after, f"{closed_after.count(None)} of 50 still open"
    assert min(c for c in closed_after if c is not None) >= HEADER_TIMEOUT - 0.5


def test_an_idle_kept_alive_connection_outlives_the_header_deadline(base: str) -> None:
    with connect(base) as sock:
        assert request_on(sock) == b"HTTP/1.1 200 "
        time.sleep(HEADER_TIMEOUT + 1.5)  # idle between requests: keep_alive_timeout rules
        assert request_on(sock) == b"HTTP/1.1 200 "
        assert request_on(sock) == b"HTTP/1.1 200 "
