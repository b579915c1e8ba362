"""How settings become pool sizes and libpq options (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from market_ai.adapters.sql.engine import connect_args, pool_options
from tests.conftest import make_settings

PG = "postgresql+psycopg://app@db.example/market_ai"


@pytest.mark.parametrize(
    ("low", "high", "kept", "overflow"),
    [(5, 20, 5, 15), (2, 4, 2, 2), (4, 4, 4, 0), (0, 3, 1, 2)],
)
def test_the_pool_keeps_the_minimum_and_never_exceeds_the_maximum(
    tmp_path: Path, low: int, high: int, kept: int, overflow: int
) -> None:
    settings = make_settings(tmp_path, db_pool_min_size=low, db_pool_max_size=high)
    options = pool_options(settings)
    assert (options["pool_size"], options["max_overflow"]) == (kept, overflow)
    assert options["pool_size"] + options["max_overflow"] == high
    assert options["pool_pre_ping"] is False  # idle connections are pinged at checkout


@pytest.mark.parametrize(("pool_timeout", "wait"), [(30, 10), (8, 4), (3, 2), (0.5, 2), (90, 10)])
def test_connecting_gets_half_the_pool_timeout_within_libpq_bounds(
    tmp_path: Path, pool_timeout: float, wait: int
) -> None:
    settings = make_settings(tmp_path, database_url=PG, db_pool_timeout=pool_timeout)
    args = connect_args(settings, make_url(PG))
    assert (args["connect_timeout"], args["tcp_user_timeout"]) == (wait, wait * 1000)
    assert args["keepalives"] == 1


def test_statement_timeout_joins_the_urls_own_options_and_url_settings_win(
    tmp_path: Path,
) -> None:
    url = make_url(f"{PG}?options=endpoint%3Dep-1&connect_timeout=7")
    args = connect_args(make_settings(tmp_path, db_statement_timeout=1.5), url)
    assert args["options"] == "endpoint=ep-1 -c statement_timeout=1500"
    assert "connect_timeout" not in args  # the URL's 7 s reaches libpq untouched
    assert args["application_name"] == "market-ai"
