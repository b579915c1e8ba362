"""Run every benchmark and print its figures (`nox -s bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Each benchmark is its own script, so one can be run alone with its own options."""
    for script in ("http_load.py", "rate_limit.py", "cache.py", "jobs.py", "public_routes.py"):
        print(f"== {script}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *sys.argv[1:]], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
