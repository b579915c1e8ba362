"""`market-ai monitor URL`: a deployment's health in one line, and alerts when it changes.

Checks `/health/ready` (is it serving?) and `/health/detailed` (dead jobs, jobs waiting
with no worker). Down: readiness is not 200 or the service does not answer; warn: it
serves, but the detailed report says `warn`. With `--watch`, a Slack-compatible webhook
hears only of changes (down, warn, recovered), never of a steady state.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import httpx

if TYPE_CHECKING:
    from market_ai.settings import Settings

State = Literal["up", "warn", "down"]
EXIT_DOWN: Final = 1
_ICON: Final = {"up": ":large_green_circle:", "warn": ":warning:", "down": ":red_circle:"}


@dataclass(frozen=True, slots=True)
class Check:
    """One look at the service: its state, what is wrong (stable wording), and the figures."""

    state: State
    problems: tuple[str, ...]
    summary: str


def _get(client: httpx.Client, url: str) -> tuple[int, dict[str, Any], float] | str:
    """Status, JSON body and milliseconds taken, or why there was no answer."""
    try:
        response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        return f"no answer ({type(error).__name__})"
    try:
        body = response.json()
    except ValueError:
        body = {}
    ms = response.elapsed.total_seconds() * 1000
    return response.status_code, body if isinstance(body, dict) else {}, ms


def _check_problems(body: dict[str, Any]) -> list[str]:
    problems = []
    for name, check in sorted((body.get("checks") or {}).items()):
        if isinstance(check, dict) and check.get("status") != "pass":
            error = f" ({check['error']})" if check.get("error") else ""
            problems.append(f"{name} {check.get('status', 'unknown')}{error}")
    return problems


def _job_problems(jobs: dict[str, Any]) -> list[str]:
    if jobs.get("status") == "fail":
        return [f"job figures unavailable ({jobs.get('error', 'unknown')})"]
    problems = []
    if dead := jobs.get("dead"):
        problems.append(f"{dead} dead job{'s' if dead != 1 else ''}")
    if jobs.get("queued") and not jobs.get("live_workers"):
        problems.append("jobs waiting with no live worker")
    return problems


def _summary(ready_ms: float, jobs: dict[str, Any]) -> str:
    if "queued" not in jobs:
        return f"ready in {ready_ms:.0f} ms"
    age = jobs.get("oldest_queued_age_seconds")
    oldest = f", oldest waiting {age:.0f}s" if age else ""
    return (
        f"ready in {ready_ms:.0f} ms; jobs: {jobs['queued']} queued{oldest}, "
        f"{jobs.get('dead', 0)} dead, {jobs.get('live_workers', 0)} live workers"
    )


def check(client: httpx.Client, base: str) -> Check:
    """Readiness first (serving or not), then the detailed report (warnings)."""
    ready = _get(client, f"{base}/health/ready")
    if isinstance(ready, str):
        return Check("down", (f"ready: {ready}",), "no answer")
    status, body, ready_ms = ready
    if status != 200:  # noqa: PLR2004
        problems = _check_problems(body) or [f"ready answered {status}"]
        return Check("down", tuple(problems), f"ready answered {status}")
    detailed = _get(client, f"{base}/health/detailed")
    if isinstance(detailed, str):
        return Check("down", (f"detailed: {detailed}",), "ready, but no detailed report")
    status, body, _ = detailed
    jobs = body.get("jobs")
    jobs = jobs if isinstance(jobs, dict) else {}
    problems = _check_problems(body) + _job_problems(jobs)
    state: State = "down"
    if status == 200 and body.get("status") in {"pass", "warn"}:  # noqa: PLR2004
        state = "up" if body["status"] == "pass" else "warn"
    return Check(state, tuple(problems), _summary(ready_ms, jobs))


def verdict(base: str, result: Check) -> str:
    """The one line: state, where, figures, and what is wrong."""
    wrong = f" ({'; '.join(result.problems)})" if result.problems else ""
    return f"{result.state.upper()} {base}: {result.summary}{wrong}"


def alert(base: str, before: Check | None, now: Check) -> str | None:
    """The message for a change of state, saying what changed; None when nothing did."""
    was = "up" if before is None else before.state
    if now.state == was:
        return None
    kind = "recovered" if now.state == "up" else now.state
    old = set(() if before is None else before.problems)
    new = [p for p in now.problems if p not in old]
    # A service that does not answer hides its other problems: none of them counts as cleared.
    gone = (
        []
        if now.state == "down"
        else [p for p in (before.problems if before else ()) if p not in now.problems]
    )
    changes = [*(f"now: {p}" for p in new), *(f"cleared: {p}" for p in gone)]
    detail = f" — {'; '.join(changes)}" if changes else ""
    return f"{_ICON[now.state]} market-ai {kind.upper()}: {base} was {was}, is {now.state}{detail}"


def _post(client: httpx.Client, webhook: str, text: str) -> None:
    try:
        client.post(webhook, json={"text": text}).raise_for_status()
    except httpx.HTTPError as error:
        sys.stderr.write(f"market-ai monitor: could not post the alert ({type(error).__name__})\n")


def run_monitor(args: argparse.Namespace, settings: Settings) -> int:
    """One check (exit 1 when down), or `--watch` until SIGINT/SIGTERM (exit 0)."""
    base = args.url.rstrip("/")
    hook = args.webhook or (
        settings.monitor_webhook_url.get_secret_value() if settings.monitor_webhook_url else None
    )
    stop = threading.Event()
    with httpx.Client(timeout=args.timeout, follow_redirects=False) as client:
        before: Check | None = None
        while True:
            now = check(client, base)
            sys.stdout.write(verdict(base, now) + "\n")
            sys.stdout.flush()
            if args.watch is None:
                return EXIT_DOWN if now.state == "down" else 0
            if before is None:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, lambda *_: stop.set())
            if hook and (message := alert(base, before, now)) is not None:
                _post(client, hook, message)
            before = now
            if stop.wait(args.watch):
                return 0
