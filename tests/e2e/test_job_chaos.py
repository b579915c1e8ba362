"""Chaos: real `market-ai worker` processes, a real Redis and Postgres, and things breaking.

Every test owns a Redis server (noeviction, no persistence) and a fresh Postgres database,
and checks the job system's promise with a recording handler (tests/chaos_handlers.py):
every enqueued job ends `succeeded` (or `dead` for the poison job), each has exactly one
effect, and re-executions are visible in `chaos_runs` but never as a second effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
import redis
from sqlalchemy.engine import make_url

from market_ai.adapters.redis.client import create_redis
from market_ai.adapters.redis.queue import RedisJobQueue
from market_ai.adapters.sql.engine import create_engine
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork
from market_ai.domain.clock import SystemClock
from market_ai.domain.job_relay import JobRelay
from tests.chaos_handlers import prepare
from tests.conftest import make_settings
from tests.servers import RedisServer

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
REPO = Path(__file__).resolve().parents[2]
LEASE = 2.0
COUNTERS = "market-ai:job-counters"
STREAM = "market-ai:jobs"
WORKERS = "market-ai:workers"


class RelayCrashedError(Exception):
    """Stands for the relay's process dying after XADD, before its transaction commits."""


@dataclass
class Rig:
    """One test's servers, environment and worker processes."""

    tmp: Path
    redis: RedisServer
    database_url: str
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def libpq_url(self) -> str:
        url = make_url(self.database_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )

    def enqueue(self, job_type: str, payload: dict[str, Any], count: int = 1) -> list[str]:
        result = self.cli(
            "jobs", "enqueue", job_type, "--payload", json.dumps(payload), "--count", str(count)
        )
        assert result.returncode == 0, result.stderr
        ids = result.stdout.split()
        assert len(ids) == count
        return ids

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker-{len(self.workers)}.log").open("ab")
        with log:
            child = subprocess.Popen(
                [*CLI, "worker", "--concurrency", str(concurrency)],
                env=self.env,
                cwd=self.tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(child)
        return child

    def logs(self) -> str:
        tails = []
        for path in sorted(self.tmp.glob("worker-*.log")):
            lines = path.read_text(errors="replace").splitlines()[-15:]
            tails.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(tails)

    def rows(self, query: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.libpq_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        found = self.rows("SELECT id::text, status FROM jobs WHERE id = ANY(%s::uuid[])", [ids])
        return dict(found)

    def settled(self, ids: Sequence[str], status: str = "succeeded") -> bool:
        return list(self.statuses(ids).values()).count(status) == len(ids)

    def runs(self, job_id: str) -> list[tuple[int, int]]:
        """(attempt, pid) of each execution of the job, in order."""
        query = "SELECT attempt, pid FROM chaos_runs WHERE job_id = %s ORDER BY at"
        return [(a, p) for a, p in self.rows(query, [job_id])]

    def counters(self) -> dict[str, int]:
        with redis.Redis.from_url(self.redis.url) as client:
            raw: dict[bytes, bytes] = client.hgetall(COUNTERS)
        return {name.decode(): int(value) for name, value in raw.items()}

    def live_workers(self) -> int:
        with redis.Redis.from_url(self.redis.url) as client:
            return int(client.zcard(WORKERS))

    def wait(self, check: Callable[[], bool], timeout: float, what: str) -> float:
        """Poll `check` until true; how long it took. Fails with the workers' logs."""
        started = time.monotonic()
        while not check():
            if time.monotonic() - started > timeout:
                pytest.fail(f"{what}: not within {timeout:.0f} s\n{self.logs()}")
            time.sleep(0.05)
        return time.monotonic() - started

    def replace(self, child: subprocess.Popen[bytes], concurrency: int = 2) -> None:
        """What a supervisor does: a worker that died is started again."""
        child.wait(timeout=10)
        self.workers.remove(child)
        self.start_worker(concurrency)

    def live(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]


@dataclass(frozen=True)
class Tally:
    jobs: int
    runs: int
    effects: int
    absorbed: int  # executions that found their effect already written

    @property
    def reexecutions(self) -> int:
        return self.runs - self.jobs


def exactly_once(rig: Rig, ids: Sequence[str]) -> Tally:
    """Every job succeeded, each has one effect, and no effect exists for anything else."""
    statuses = rig.statuses(ids)
    assert sorted(statuses) == sorted(ids), "lost job rows"
    not_done = {i: s for i, s in statuses.items() if s != "succeeded"}
    assert not not_done, f"jobs not succeeded: {not_done}"
    effects = rig.rows("SELECT job_id::text FROM chaos_effects")
    assert sorted(e for (e,) in effects) == sorted(ids), "lost or stray effects"
    runs = rig.rows("SELECT job_id::text, count(*) FROM chaos_runs GROUP BY job_id")
    assert all(count >= 1 for _, count in runs)
    results = rig.rows(
        "SELECT count(*) FROM jobs WHERE id = ANY(%s::uuid[]) AND result->>'written' = 'false'",
        [ids],
    )
    tally = Tally(
        jobs=len(ids), runs=sum(c for _, c in runs), effects=len(effects), absorbed=results[0][0]
    )
    assert tally.runs >= tally.effects
    return tally


@pytest.fixture
def rig(tmp_path: Path, fresh_postgres_url: str) -> Iterator[Rig]:
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as server:
        made = Rig(tmp_path, server, fresh_postgres_url, {})
        made.env = {
            **keep,
            "PYTHONPATH": str(REPO),
            "MARKET_AI_DATA_DIR": str(tmp_path),
            "DATABASE_URL": fresh_postgres_url,
            "REDIS_URL": server.url,
            "LOG_LEVEL": "WARNING",
            "JOB_HANDLER_MODULES": "tests.chaos_handlers",
            "CHAOS_DATABASE_URL": made.libpq_url,
            "JOB_LEASE_SECONDS": str(LEASE),
            "JOB_REPUBLISH_AFTER_SECONDS": "10",
            "WORKER_GRACE_SECONDS": "5",
        }
        migrated = made.cli("migrate")
        assert migrated.returncode == 0, migrated.stderr
        prepare(made.libpq_url)
        try:
            yield made
        finally:
            for child in made.workers:
                if child.poll() is None:
                    child.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=10)


def say(line: str) -> None:
    """The figures a chaos run measured (shown with `pytest -s` or `-rP`)."""
    sys.stdout.write(f"\n{line}\n")


def kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)


def test_killed_workers_lose_no_job_and_write_no_effect_twice(rig: Rig) -> None:
    ids = [
        job_id
        for seconds in (0.05, 0.1, 0.15, 0.2)
        for job_id in rig.enqueue("record", {"seconds": seconds}, count=50)
    ]
    rig.start_worker()
    rig.start_worker()
    kills = 0
    deadline = time.monotonic() + 120
    while not rig.settled(ids):
        assert time.monotonic() < deadline, f"jobs stuck: {rig.statuses(ids)}\n{rig.logs()}"
        time.sleep(1.0)
        busy = {pid for (pid,) in rig.rows("SELECT pid FROM chaos_runs")}
        victims = [w for w in rig.live() if w.pid in busy]  # started jobs: killed mid-job
        if kills < 8 and victims:
            kill(victims[0])
            kills += 1
            rig.replace(victims[0])
    tally = exactly_once(rig, ids)
    say(f"kill -9: {tally}, kills={kills}, re-executions={tally.reexecutions}")
    assert kills >= 5
    assert tally.reexecutions > 0  # the kills did interrupt jobs


def test_a_killed_workers_long_job_is_reclaimed_within_two_leases(rig: Rig) -> None:
    workers = [rig.start_worker(), rig.start_worker()]
    rig.wait(lambda: rig.live_workers() == 2, 60, "both workers heartbeating")
    [job] = rig.enqueue("record", {"seconds": 4 * LEASE})
    rig.wait(lambda: len(rig.runs(job)) == 1, 30, "the long job starting")
    time.sleep(LEASE)  # its lease has been renewed since
    [(_, pid)] = rig.runs(job)
    [victim] = [w for w in workers if w.pid == pid]
    [survivor] = [w for w in workers if w.pid != pid]
    kill(victim)
    killed_at = time.monotonic()
    # The dead worker's last renewal, as it wrote it: its lease end minus one lease.
    [(lease_end,)] = rig.rows("SELECT lease_expires_at FROM jobs WHERE id = %s", [job])
    rig.wait(lambda: len(rig.runs(job)) == 2, 4 * LEASE, "the reclaim")
    observed = time.monotonic() - killed_at
    [(restarted,)] = rig.rows("SELECT started_at FROM jobs WHERE id = %s", [job])
    reclaim = (restarted - (lease_end - timedelta(seconds=LEASE))).total_seconds()
    say(
        f"reclaim: {reclaim:.2f} s after the last renewal, seen {observed:.2f} s after "
        f"kill -9 (lease {LEASE} s, stated bound 1.5 x lease + {min(1, LEASE / 6):.2f} s)"
    )
    assert reclaim <= 2 * LEASE  # the stated bound, measured on the rows' own clock
    assert rig.runs(job) == [(1, victim.pid), (2, survivor.pid)]
    rig.wait(lambda: rig.settled([job]), 30, "the reclaimed job finishing")
    exactly_once(rig, [job])
    assert rig.counters()["reclaimed"] == 1


def test_redis_restarted_and_emptied_mid_run_loses_no_job(rig: Rig) -> None:
    rig.env["JOB_REPUBLISH_AFTER_SECONDS"] = "2"  # the reconciler's pass: every second
    ids = rig.enqueue("record", {"seconds": 0.05}, count=150)
    workers = [rig.start_worker(), rig.start_worker()]

    def effects() -> int:
        return int(rig.rows("SELECT count(*) FROM chaos_effects")[0][0])

    rig.wait(lambda: effects() >= 20, 60, "jobs flowing")
    rig.redis.stop()  # no AOF, no snapshot: the stream and its pending entries are gone
    time.sleep(1.0)
    rig.redis.start()
    more = rig.enqueue("record", {"seconds": 0.05}, count=100)
    rig.wait(lambda: effects() >= 200, 60, "jobs flowing after the restart")
    with redis.Redis.from_url(rig.redis.url) as client:
        client.flushall()  # as after a failover to a replica that had nothing
    rig.wait(lambda: rig.settled(ids + more), 60, "every job finishing")
    assert [w.poll() for w in workers] == [None, None]  # the workers rode it out
    tally = exactly_once(rig, ids + more)
    say(f"redis restart + flushall: {tally}, counters after flush={rig.counters()}")


async def publish_then_crash(rig: Rig) -> int:
    """Run the real relay, whose process 'dies' after XADD and before marking published."""
    engine = create_engine(make_settings(rig.tmp, database_url=rig.database_url))
    client = create_redis(rig.redis.url)
    queue = RedisJobQueue(client)

    class CrashAfterPublish:
        def __getattr__(self, name: str) -> Any:
            return getattr(queue, name)

        async def publish(self, job_ids: Sequence[UUID]) -> None:
            await queue.publish(job_ids)
            raise RelayCrashedError

    relay = JobRelay(
        unit_of_work=lambda: SqlUnitOfWork(engine),
        queue=CrashAfterPublish(),
        clock=SystemClock(),
        republish_after=timedelta(seconds=60),
        lease=timedelta(seconds=LEASE),
    )
    try:
        with pytest.raises(RelayCrashedError):
            await relay.relay_once()
        return await queue.stream_length()
    finally:
        await client.aclose()
        await engine.dispose()


def test_a_relay_killed_between_publishing_and_marking_runs_each_job_once(rig: Rig) -> None:
    ids = rig.enqueue("record", {"seconds": 0.02}, count=60)
    assert asyncio.run(publish_then_crash(rig)) == 60
    unmarked = rig.rows("SELECT count(*) FROM jobs WHERE published_at IS NULL")
    assert unmarked == [(60,)]  # rolled back: the next relay publishes them all again
    rig.start_worker(concurrency=4)
    rig.start_worker(concurrency=4)
    rig.wait(lambda: rig.settled(ids), 60, "every job finishing")
    with redis.Redis.from_url(rig.redis.url) as client:
        rig.wait(lambda: client.xlen(STREAM) == 0, 6 * LEASE, "every duplicate acked")
    tally = exactly_once(rig, ids)
    counters = rig.counters()
    say(f"relay crash: {tally}, counters={counters}")
    assert tally.runs == len(ids)  # the duplicates never reached the handler
    assert counters["duplicate_suppressed"] > 0
    assert counters["succeeded"] == len(ids)


def test_a_job_that_always_crashes_its_worker_ends_dead_and_others_flow(rig: Rig) -> None:
    rig.env["JOB_MAX_DELIVERIES"] = "3"
    ids = rig.enqueue("record", {"seconds": 0.1}, count=40)
    [poison] = rig.enqueue("crash", {})
    rig.start_worker()
    rig.start_worker()
    deaths = 0
    deadline = time.monotonic() + 90
    while rig.statuses([poison])[poison] != "dead" or not rig.settled(ids):
        assert time.monotonic() < deadline, f"{rig.statuses([poison, *ids])}\n{rig.logs()}"
        for child in list(rig.workers):
            if child.poll() is not None:
                assert child.returncode == -signal.SIGKILL
                deaths += 1
                rig.replace(child)
        time.sleep(0.1)
    tally = exactly_once(rig, ids)
    crashes = len(rig.runs(poison))
    header, *listed = rig.cli("jobs", "dead").stdout.splitlines()
    assert header.startswith("ID\tTYPE\t")
    say(f"poison: {tally}, crashed workers={deaths}, poison executions={crashes}")
    assert [line.split("\t")[0] for line in listed] == [poison]
    assert "crashes its workers" in listed[0]
    assert 3 <= crashes <= deaths + 1  # max deliveries, and it took a worker with it each time


def test_sigterm_drains_in_flight_jobs_and_hands_back_the_long_one(rig: Rig) -> None:
    rig.env["WORKER_GRACE_SECONDS"] = "3"
    first = rig.start_worker(concurrency=4)
    short = rig.enqueue("record", {"seconds": 1.0}) + rig.enqueue("record", {"seconds": 1.5})
    [long_job] = rig.enqueue("record", {"seconds": 10})
    rig.wait(lambda: all(rig.runs(j) for j in [*short, long_job]), 30, "all three running")
    first.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    assert first.wait(timeout=15) == 0
    drain = time.monotonic() - stopped_at
    assert rig.settled(short)  # finished inside the grace period
    assert rig.statuses([long_job]) == {long_job: "queued"}  # handed back, not lost
    assert not rig.rows("SELECT 1 FROM chaos_effects WHERE job_id = %s", [long_job])
    second = rig.start_worker()
    rig.wait(lambda: rig.settled([long_job]), 30, "the handed-back job finishing")
    tally = exactly_once(rig, [*short, long_job])
    say(f"sigterm drain: exited 0 after {drain:.2f} s, {tally}")
    assert drain < 3 + 3  # the grace, plus closing down
    assert rig.runs(long_job) == [(1, first.pid), (2, second.pid)]
    assert rig.rows("SELECT pid FROM chaos_effects WHERE job_id = %s", [long_job]) == [
        (second.pid,)
    ]
