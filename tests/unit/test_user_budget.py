"""The per-user AI budget ships on: USD 5 a UTC day unless an operator says otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from market_ai.container.content import spend_policy
from market_ai.settings import SettingsError, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def budget(**env: Any) -> tuple[int | None, str]:
    settings = load_settings(_env_file=None, **env)
    policy = spend_policy(settings)
    return policy.user_limit_micros, policy.period


def test_with_nothing_set_each_user_may_spend_five_dollars_a_day() -> None:
    # was (None, "month"): no limit at all but USD 10 a request and 100 requests a minute
    assert budget() == (5_000_000, "day")
    assert budget(user_budget_usd="  ") == (5_000_000, "day")  # blank is not "unlimited"


def test_an_operator_raises_it_or_turns_it_off_explicitly() -> None:
    assert budget(user_budget_usd="50", user_budget_period="day") == (50_000_000, "day")
    assert budget(user_budget_usd="unlimited") == (None, "day")
    # USER_BUDGET_USD set alone keeps the period it always had: a monthly budget stays one
    assert budget(user_budget_usd="150") == (150_000_000, "month")


@pytest.mark.parametrize("value", ["-1", "lots", "NaN"])
def test_a_bad_budget_fails_at_start_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="USER_BUDGET_USD"):
        load_settings(_env_file=None, user_budget_usd=value)


def test_the_deploy_files_set_the_daily_budget() -> None:
    render = yaml.safe_load((REPO_ROOT / "deploy/render.yaml").read_text(encoding="utf-8"))
    shared = {
        entry["key"]: entry.get("value")
        for group in render["envVarGroups"]
        for entry in group["envVars"]
    }
    assert (shared["USER_BUDGET_USD"], shared["USER_BUDGET_PERIOD"]) == ("5.00", "day")
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text(encoding="utf-8"))
    env = compose["x-env"]
    assert env["USER_BUDGET_USD"] == "${USER_BUDGET_USD:-5.00}"
    assert env["USER_BUDGET_PERIOD"] == "${USER_BUDGET_PERIOD:-day}"
