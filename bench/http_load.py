"""HTTP throughput side by side: the origin stack, the bare floor and market-ai on each server.

Every stack is one server process pinned to core 0; wrk (Debian package `wrk`) runs pinned to
core 1 with `-t1 -c64`; all share one Postgres, rate limits off. Rounds are interleaved:
each round measures every route on every stack in turn, so a neighbour's load on a shared
machine hits all stacks alike, and the table shows the median of the rounds with the ratio
to the origin and to the bare app on the same server. Routes: GET /health, GET a page of 20
campaigns (market-ai: authenticated, owner-scoped, counted) and POST a campaign.

Then: the list for an owner with 50,000 campaigns against one with 100 (interleaved, on the
first server), resident memory of each market-ai process after the rounds, and start-up
time (spawn to first /health 200), embedded SQLite included.

The origin stack and the bare app come from `--peers DIR` (env BENCH_PEERS; default
../shared/peers/seed_stack, relative to where the command runs), run by `--peer-python`
(env BENCH_PEER_PYTHON), an interpreter with their requirements. Postgres is a throwaway
server unless BENCH_DATABASE_URL names one that may be filled. `--in-process` prints the
app's own CPU per request instead (bench/app_cost.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]  # this checkout's app; bench.*, tests.servers

from bench.app_cost import in_process  # noqa: E402
from bench.stacks import (  # noqa: E402
    Stack,
    libpq,
    market_ai,
    market_ai_env,
    peer,
    pinned,
    prepare_origin_database,
    running,
)

from tests.servers import PostgresServer, terminate  # noqa: E402

CLI = [sys.executable, "-m", "market_ai.entrypoints.cli"]
BODY = '{"name": "bench", "channel": "search", "budget": "10.00"}'
POST_SCRIPT = f"""
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""
ROUTES = ("GET /health", "GET /api/campaigns (20)", "POST /api/campaigns")
Sample = tuple[float, float, float, int]  # req/s, p50 ms, p99 ms, non-2xx + errors


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(url: str, args: argparse.Namespace, token: str | None, post: Path | None) -> Sample:
    """One wrk run on core 1: requests/s, p50, p99 and failed answers."""
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    command += ["--timeout", "10s"]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    if post is not None:
        command += ["-s", str(post)]
    out = subprocess.run(
        pinned(1, [*command, url]), check=True, capture_output=True, text=True
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    bad = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|timeout) (\d+)", out))
    bad += sum(int(n) for n in re.findall(r"(?:connect|read|write) (\d+)", out))
    return (
        float(rps.group(1)) if rps else 0.0,
        _ms(p50.group(1)) if p50 else 0.0,
        _ms(p99.group(1)) if p99 else 0.0,
        bad,
    )


def _url(stack: Stack, route: str) -> str:
    return stack.base + {"GET /health": "/health", "POST /api/campaigns": "/api/campaigns"}.get(
        route, stack.listing
    )


def rounds(stacks: list[Stack], args: argparse.Namespace) -> dict[tuple[str, str], list[Sample]]:
    """Every route on every stack, round after round (interleaved)."""
    post = Path(tempfile.mkdtemp(prefix="market-ai-bench-")) / "post.lua"
    post.write_text(POST_SCRIPT)
    warm = argparse.Namespace(**{**vars(args), "seconds": 2})
    for stack in stacks:
        wrk(stack.base + stack.listing, warm, stack.token, None)
    samples: dict[tuple[str, str], list[Sample]] = {}
    for number in range(1, args.rounds + 1):
        for route in ROUTES:
            for stack in stacks:
                script = post if route.startswith("POST") else None
                sample = wrk(_url(stack, route), args, stack.token, script)
                samples.setdefault((stack.name, route), []).append(sample)
                print(f"round {number} {stack.name:<28} {route:<24} {sample[0]:>8.0f}", flush=True)
    return samples


def report(stacks: list[Stack], samples: dict[tuple[str, str], list[Sample]]) -> None:
    """Medians of the rounds and their ratios to the origin and to bare on the same server."""
    print(f"\n{'stack':<28} {'route':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}", end="")
    print(f" {'failed':>7} {'/origin':>8} {'/bare':>6}")

    def median(name: str, route: str, index: int) -> float:
        runs = samples.get((name, route), [])
        return statistics.median(s[index] for s in runs) if runs else 0.0

    for route in ROUTES:
        for stack in stacks:
            rps, p50, p99 = (median(stack.name, route, i) for i in range(3))
            failed = sum(s[3] for s in samples[(stack.name, route)])
            origin = median("origin/gunicorn", route, 0)
            bare = median(f"bare/{stack.server}", route, 0)
            print(
                f"{stack.name:<28} {route:<24} {rps:>8.0f} {p50:>8.1f} {p99:>8.1f} {failed:>7}",
                end="",
            )
            print(f" {rps / origin if origin else 0:>8.2f} {rps / bare if bare else 0:>6.2f}")


def big_list(
    stack: Stack, args: argparse.Namespace, database_url: str, env: dict[str, str]
) -> None:
    """A page for an owner with 50,000 campaigns against one with 100, interleaved."""
    tokens = {}
    with psycopg.connect(libpq(database_url), autocommit=True) as conn:
        for owner, count in (("small", 100), ("big", 50_000)):
            conn.execute("DELETE FROM campaigns WHERE owner_id = %s", (owner,))
            conn.execute(
                "INSERT INTO campaigns (id, owner_id, name, channel, status, budget_minor,"
                " currency, created_at, updated_at, version) SELECT gen_random_uuid(), %s,"
                " 'c' || n, 'email', 'draft', 0, 'USD', now() - n * interval '1 second',"
                " now(), 1 FROM generate_series(1, %s) AS n",
                (owner, count),
            )
            tokens[owner] = subprocess.run(
                [*CLI, "token", "--user", owner], env=env, check=True, capture_output=True,
                text=True,
            ).stdout.strip()  # fmt: skip
        conn.execute("ANALYZE campaigns")
    runs: dict[str, list[float]] = {"small": [], "big": []}
    for _ in range(args.rounds):
        for owner, token in tokens.items():
            runs[owner].append(wrk(stack.base + stack.listing, args, token, None)[0])
    small, big = (statistics.median(runs[o]) for o in ("small", "big"))
    print(f"\nlist on {stack.name}: 100 campaigns {small:.0f} req/s, 50,000 {big:.0f} req/s,")
    print(f"ratio {big / small:.2f} (totals exact: counted by triggers, not per request)")


def _token(env: dict[str, str], user: str) -> str:
    return subprocess.run(
        [*CLI, "token", "--user", user], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def _can_run(script: Path, python: str, modules: str) -> bool:
    """The peer script exists and --peer-python has what it imports; else say why not."""
    if not script.exists():
        print(f"bench: no {script} (--peers); its rows are left out")
        return False
    found = subprocess.run([python, "-c", f"import {modules}"], capture_output=True, check=False)
    if found.returncode != 0:
        print(f"bench: {python} lacks one of {modules} (--peer-python); {script.name} left out")
    return found.returncode == 0


def start_stacks(args: argparse.Namespace, database_url: str) -> tuple[list[Stack], dict[str, str]]:
    """Origin, then bare and market-ai per server, then market-ai on SQLite on the first."""
    stacks: list[Stack] = []
    dsn = prepare_origin_database(database_url)
    peers = Path(args.peers).resolve()
    if _can_run(peers / "main.py", args.peer_python, "gunicorn, fastapi, asyncpg, slowapi"):
        stacks.append(peer("origin", "gunicorn", peers, args.peer_python, dsn))
    env = market_ai_env(Path(tempfile.mkdtemp(prefix="market-ai-bench-")), database_url, REPO)
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True)
    with psycopg.connect(libpq(database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM campaigns")
    token = _token(env, "bench")
    for server in args.servers:
        needs = f"litestar, psycopg_pool, {server}"
        if _can_run(peers / "bare_db_litestar.py", args.peer_python, needs):
            stacks.append(peer("bare", server, peers, args.peer_python, dsn))
        stacks.append(market_ai(server, CLI, env, "postgres", token))
    sqlite_env = market_ai_env(Path(tempfile.mkdtemp(prefix="market-ai-bench-")), None, REPO)
    stacks.append(
        market_ai(args.servers[0], CLI, sqlite_env, "sqlite", _token(sqlite_env, "bench"))
    )
    seeded = {s.database: s for s in stacks if s.system == "market-ai"}  # one per database
    for stack in seeded.values():
        headers = {"Authorization": f"Bearer {stack.token}"}
        for i in range(20):
            body = {"name": f"seed {i}", "channel": "email"}
            answer = httpx.post(f"{stack.base}/api/campaigns", json=body, headers=headers)
            answer.raise_for_status()
    return stacks, env


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    if url := os.environ.get("BENCH_DATABASE_URL"):
        yield url
        return
    with PostgresServer(dbname="market_ai_bench") as server:
        yield server.url


def main() -> int:
    """Start every stack, measure in interleaved rounds, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--servers", default="granian,uvicorn,hypercorn", help="comma list")
    parser.add_argument(
        "--peers", default=os.environ.get("BENCH_PEERS", "../shared/peers/seed_stack")
    )
    parser.add_argument(
        "--peer-python", default=os.environ.get("BENCH_PEER_PYTHON", sys.executable)
    )
    parser.add_argument("--in-process", action="store_true", help="the app's CPU per request")
    parser.add_argument("--requests", type=int, default=2000, help="per route, with --in-process")
    args, _ = parser.parse_known_args()  # bench/run.py hands every script the same options
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if args.in_process:
        in_process(args)
        return 0
    if shutil.which("wrk") is None:
        print("bench needs wrk (Debian package wrk)", file=sys.stderr)
        return 2
    print(
        f"{os.cpu_count()} cores; servers on core 0, wrk -t1 -c{args.connections}"
        f" -d{args.seconds}s on core 1; {args.rounds} interleaved rounds; rate limits off"
    )
    with _postgres() as database_url:
        stacks, env = start_stacks(args, database_url)
        with running(stacks):
            samples = rounds(stacks, args)
            report(stacks, samples)
            print("\nresident memory after the rounds (serving process):")
            for stack in stacks:
                print(f"  {stack.name:<28} {stack.rss_mb():>6.0f} MB")
            print("\nstart-up, spawn to first /health 200:")
            for stack in stacks:
                print(f"  {stack.name:<28} {stack.started_in:>6.2f} s")
            first = next(s for s in stacks if s.system == "market-ai")
            for stack in stacks:  # their pools would hold connections the fill needs
                if stack is not first:
                    terminate(stack.process, timeout=30)
            big_list(first, args, database_url, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
