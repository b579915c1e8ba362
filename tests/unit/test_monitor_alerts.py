"""The monitor's words: one verdict line, and an alert only when the state changes."""

from __future__ import annotations

from market_ai.entrypoints.monitor import Check, alert, verdict

BASE = "https://api.example.com"
UP = Check("up", (), "ready in 12 ms")
DEAD = Check("warn", ("2 dead jobs",), "ready in 12 ms")
DOWN = Check("down", ("database fail (OperationalError)",), "ready answered 503")


def test_the_verdict_is_one_line_with_state_figures_and_problems() -> None:
    assert verdict(BASE, UP) == f"UP {BASE}: ready in 12 ms"
    assert verdict(BASE, DOWN) == (
        f"DOWN {BASE}: ready answered 503 (database fail (OperationalError))"
    )


def test_a_steady_state_says_nothing() -> None:
    assert alert(BASE, None, UP) is None  # starting on a healthy service
    assert alert(BASE, UP, UP) is None
    assert alert(BASE, DOWN, Check("down", ("redis fail",), "ready answered 503")) is None


def test_changes_say_what_changed() -> None:
    assert alert(BASE, UP, DEAD) == (
        f":warning: market-ai WARN: {BASE} was up, is warn — now: 2 dead jobs"
    )
    assert alert(BASE, DEAD, DOWN) == (
        f":red_circle: market-ai DOWN: {BASE} was warn, is down"
        " — now: database fail (OperationalError)"
    )
    assert alert(BASE, DOWN, UP) == (
        f":large_green_circle: market-ai RECOVERED: {BASE} was down, is up"
        " — cleared: database fail (OperationalError)"
    )
    assert alert(BASE, None, DOWN) is not None  # starting on a broken service alerts
