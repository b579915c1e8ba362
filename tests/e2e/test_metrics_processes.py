"""Metrics across real processes: `serve --workers 2` sums its workers; the worker's own port."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_cli_serve import CLI, clean_env, wait_until_up
from tests.e2e.test_cli_worker import cli, job_env, process, terminate, wait_for
from tests.servers import RedisServer, free_port

TOKEN = "scrape-me-please-0123456789"


def counted(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_two_serve_workers_read_as_one_instance(tmp_path: Path) -> None:
    port = free_port()
    shared = tmp_path / "prometheus"
    env = clean_env(
        tmp_path, PORT=str(port), METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(shared)
    )
    # The signing key first: two workers starting on a fresh data dir race to create it.
    subprocess.run([*CLI, "token", "--user", "x"], env=env, capture_output=True, check=True)
    child = subprocess.Popen([*CLI, "serve", "--workers", "2"], env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, child)
        [instance_dir] = list(shared.iterdir())  # one fresh directory for this start

        def get(path: str) -> int:  # a connection each, 8 at once: both workers take some
            return httpx.get(f"{base}{path}", timeout=10).status_code

        with ThreadPoolExecutor(8) as pool:
            # Warm up on another route until both workers have served (and written samples).
            wait_for(
                lambda: (
                    set(pool.map(get, ["/health"] * 16)) == {200}
                    and len(list(instance_dir.glob("counter_*.db"))) == 2
                )
            )
            assert set(pool.map(get, ["/health/detailed"] * 200)) == {200}
        scrape = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scrape.status_code == 200, scrape.text
    finally:
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0
    total = counted(
        scrape.text, "market_ai_http_requests_total", route="/health/detailed", status="200"
    )
    assert total == 200
    assert list(shared.iterdir()) == []  # removed when the instance stopped


def test_the_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    port = free_port()
    with RedisServer(config={"maxmemory-policy": "noeviction"}) as redis:  # a worker needs it
        _worker_metrics(tmp_path, job_env(tmp_path, METRICS_TOKEN=TOKEN, REDIS_URL=redis.url), port)


def _worker_metrics(tmp_path: Path, env: dict[str, str], port: int) -> None:
    assert cli(env, "migrate").returncode == 0
    [job_id] = cli(env, "jobs", "enqueue", "record", "--payload", "{}").stdout.split()
    with process(env, "worker", "--metrics-port", str(port)) as worker:
        url = f"http://127.0.0.1:{port}/metrics"

        def succeeded() -> bool:
            try:
                response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
            except httpx.TransportError:
                return False
            name = "market_ai_jobs_total"
            return counted(response.text, name, type="record", outcome="succeeded") == 1

        wait_for(succeeded)
        assert httpx.get(url).status_code == 401
        text = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).text
        assert counted(text, "market_ai_job_queue_wait_seconds_count", type="record") == 1
        assert counted(text, "market_ai_jobs_dead") == 0
        assert terminate(worker) == 0
    with sqlite3.connect(tmp_path / "market-ai.db") as db:
        [(request_id,)] = db.execute(
            "SELECT request_id FROM jobs WHERE id = ?", (job_id.replace("-", ""),)
        )
    assert re.fullmatch("[0-9a-f]{32}", request_id)  # the CLI gives its jobs a request id too
