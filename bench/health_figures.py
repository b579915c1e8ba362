"""Job figures of /health/detailed against finished history: milliseconds per read.

Starts a throwaway Postgres (or uses BENCH_DATABASE_URL, whose jobs table it empties),
migrates it, fills `--finished` succeeded jobs and a few waiting ones, VACUUM ANALYZEs,
then times `figures()` (the query /health/detailed runs) and prints the median and p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.servers, when run as a script

from market_ai.adapters.sql.engine import create_engine, migrate_database  # noqa: E402
from market_ai.adapters.sql.unit_of_work import SqlUnitOfWork  # noqa: E402
from market_ai.settings import Settings  # noqa: E402
from tests.servers import PostgresServer  # noqa: E402

FILL = """
    INSERT INTO jobs (id, owner_id, type, payload, status, attempt, max_attempts,
                      created_at, run_after, finished_at)
    SELECT gen_random_uuid(), 'bench', 'noop', '{}', CAST(:status AS varchar), 1, 5,
           now(), now(), CASE WHEN CAST(:status AS varchar) = 'succeeded' THEN now() END
    FROM generate_series(1, :count)
"""


async def measure(url: str, finished: int, reads: int) -> list[float]:
    """Fill the table, then time `reads` figure reads (milliseconds each)."""
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(_env_file=None, data_dir=Path(data_dir), database_url=url)
        engine = create_engine(settings)
        try:
            await migrate_database(engine)
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM jobs"))
                await conn.execute(text(FILL), {"status": "succeeded", "count": finished})
                await conn.execute(text(FILL), {"status": "queued", "count": 20})
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.execute(text("VACUUM ANALYZE jobs"))
            took: list[float] = []
            for _ in range(reads):
                started = time.perf_counter()
                async with SqlUnitOfWork(engine) as uow:
                    await uow.jobs.figures()
                took.append((time.perf_counter() - started) * 1000)
            return took
        finally:
            await engine.dispose()


def main() -> None:
    """Parse arguments, run, print one line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--finished", type=int, default=300_000)
    parser.add_argument("--reads", type=int, default=50)
    args = parser.parse_args()
    configured = os.environ.get("BENCH_DATABASE_URL")
    if configured:
        took = asyncio.run(measure(configured, args.finished, args.reads))
    else:
        with PostgresServer() as server:
            took = asyncio.run(measure(server.url, args.finished, args.reads))
    p95 = statistics.quantiles(took, n=20)[-1]
    print(
        f"finished={args.finished} figures(): median {statistics.median(took):.2f} ms,"
        f" p95 {p95:.2f} ms over {args.reads} reads"
    )


if __name__ == "__main__":
    main()
