"""Job rules without any adapter: backoff bounds and jitter, the registry, input checks."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from market_ai.domain.errors import InvalidInput
from market_ai.domain.job_registry import (
    ANALYZE_CAMPAIGN,
    GENERATE_CONTENT,
    NOOP,
    SEND_EMAIL,
    JobRegistry,
    acknowledge,
    default_registry,
    noop,
)
from market_ai.domain.jobs import (
    ERROR_MAX,
    PAYLOAD_MAX_BYTES,
    Job,
    JobContext,
    JobStatus,
    PermanentJobError,
    RetryPolicy,
    UnknownJobType,
    check_idempotency_key,
    check_payload,
    check_result,
    check_type,
    describe_error,
)
from tests.job_fakes import RecordingHandler

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_job(**changes: object) -> Job:
    values: dict[str, object] = {
        "id": uuid4(),
        "owner_id": "alice",
        "type": "noop",
        "payload": {},
        "status": JobStatus.QUEUED,
        "attempt": 0,
        "max_attempts": 5,
        "created_at": NOW,
        "run_after": NOW,
    }
    values.update(changes)
    return Job(**values)  # type: ignore[arg-type]


def test_backoff_ceiling_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60)
    assert [policy.ceiling(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert policy.ceiling(10_000) == 60  # no overflow on absurd attempt numbers


def test_full_jitter_draws_below_the_ceiling() -> None:
    assert RetryPolicy(base_seconds=2, cap_seconds=60, rand=lambda: 0.5).delay(3) == timedelta(
        seconds=4
    )
    assert RetryPolicy(rand=lambda: 0.0).delay(1) == timedelta(0)
    seeded = random.Random(7)  # noqa: S311 - jitter, not secrecy
    policy = RetryPolicy(base_seconds=1, cap_seconds=30, rand=seeded.random)
    delays = [policy.delay(4).total_seconds() for _ in range(500)]
    assert all(0 <= d < 8 for d in delays)
    assert len({round(d, 3) for d in delays}) > 400  # spread out, not synchronised
    assert max(delays) > 7
    assert min(delays) < 1


def test_the_default_policy_is_random() -> None:
    policy = RetryPolicy()
    assert len({policy.delay(5) for _ in range(20)}) > 1


async def test_registry_maps_types_to_handlers() -> None:
    registry = JobRegistry()
    handler = RecordingHandler()
    registry.register("resize_image", handler)
    assert registry.handler("resize_image") is handler
    assert "resize_image" in registry
    assert list(registry) == ["resize_image"]
    with pytest.raises(UnknownJobType) as unknown:
        registry.handler("nope")
    assert unknown.value.field == "type"
    with pytest.raises(ValueError, match="already registered"):
        registry.register("resize_image", handler)
    registry.register("resize_image", noop, replace=True)
    assert registry.handler("resize_image") is noop
    with pytest.raises(InvalidInput):
        registry.register("Bad Type", noop)


def test_the_default_registry_knows_the_issue_job_types() -> None:
    registry = default_registry()
    assert list(registry) == sorted([ANALYZE_CAMPAIGN, GENERATE_CONTENT, NOOP, SEND_EMAIL])


def test_extra_handler_modules_register_their_types() -> None:
    registry = default_registry(["tests.job_fakes"])
    assert {"record", "flaky"} <= set(registry)
    with pytest.raises(ValueError, match="no register"):
        default_registry(["tests.unit.test_jobs_domain"])
    with pytest.raises(ModuleNotFoundError):
        default_registry(["tests.no_such_module"])


async def test_placeholder_handlers_echo_the_payload_and_say_so() -> None:
    ctx = JobContext(uuid4(), 2, "alice", SEND_EMAIL, {"to": "a@example.com"})
    assert await acknowledge(ctx) == {
        "placeholder": True,
        "type": SEND_EMAIL,
        "attempt": 2,
        "echo": {"to": "a@example.com"},
    }
    assert await noop(ctx) == {"job_id": str(ctx.job_id), "attempt": 2}


@pytest.mark.parametrize("bad", ["", "A", "with space", "dash-ed", "x" * 65])
def test_job_types_are_short_snake_case(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_type(bad)
    assert check_type("send_email_2") == "send_email_2"


def test_idempotency_keys_are_bounded_and_not_blank() -> None:
    assert check_idempotency_key(None) is None
    assert check_idempotency_key("order-42") == "order-42"
    for bad in ["", "  ", "k" * 201]:
        with pytest.raises(InvalidInput):
            check_idempotency_key(bad)


def test_payloads_are_bounded_json_objects() -> None:
    assert check_payload(None) == {}
    assert check_payload({"n": 1, "tags": ("a", "b")}) == {"n": 1, "tags": ["a", "b"]}
    with pytest.raises(InvalidInput, match="JSON"):
        check_payload({"when": NOW})
    with pytest.raises(InvalidInput, match="JSON"):
        check_payload({"x": float("nan")})
    with pytest.raises(InvalidInput, match="bytes"):
        check_payload({"blob": "x" * PAYLOAD_MAX_BYTES})


def test_results_must_be_json() -> None:
    assert check_result(None) is None
    assert check_result({"ids": (1, 2)}) == {"ids": [1, 2]}
    with pytest.raises(PermanentJobError, match="not JSON"):
        check_result({"when": NOW})


def test_claimable_means_due_and_waiting_or_running_on_an_expired_lease() -> None:
    later = NOW + timedelta(seconds=5)
    assert make_job().claimable(NOW)
    assert not make_job(run_after=later).claimable(NOW)
    assert make_job(status=JobStatus.FAILED, run_after=NOW).claimable(later)
    running = make_job(status=JobStatus.RUNNING, attempt=1, lease_expires_at=later)
    assert not running.claimable(NOW)
    assert running.claimable(later + timedelta(microseconds=1))
    assert not make_job(status=JobStatus.SUCCEEDED).claimable(later)
    assert not make_job(status=JobStatus.DEAD).claimable(later)


def test_errors_are_stored_as_one_bounded_line() -> None:
    assert describe_error(RuntimeError("boom\ntraceback...")) == "RuntimeError: boom"
    assert describe_error(KeyError()) == "KeyError"
    assert len(describe_error(ValueError("x" * 10_000))) == ERROR_MAX
