"""The README's "Try the API" walk, run verbatim against a live `market-ai serve`.

Only the address changes (the test's server listens on a free port), so the README cannot
drift from what the service does: a renamed field, a changed default or a new required
header fails here.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_app import serving

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- try-the-api -->\n```sh\n(.*?)```\n<!-- /try-the-api -->", re.DOTALL)
README_ADDRESS = "http://localhost:8000"


def readme_walk() -> str:
    found = BLOCK.search(README.read_text(encoding="utf-8"))
    assert found is not None, "README.md has no marked Try the API block"
    return found.group(1)


def _as_in_a_checkout(root: Path) -> None:
    """`.venv/bin/market-ai`, as the quick start's install leaves it, for this interpreter."""
    script = root / ".venv" / "bin" / "market-ai"
    script.parent.mkdir(parents=True)
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m market_ai.entrypoints.cli "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_the_readme_walk_runs_as_written(tmp_path: Path) -> None:
    walk = readme_walk()
    assert walk.count(README_ADDRESS) == 1, "the walk names the address once, in API="
    data_dir = tmp_path / ".market-ai"  # the default data dir of a checkout
    data_dir.mkdir()
    _as_in_a_checkout(tmp_path)
    keep = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    with serving(data_dir) as base:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walk.replace(README_ADDRESS, base)],
            cwd=tmp_path,
            env={**keep, "LOG_LEVEL": "WARNING"},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    out = result.stdout
    assert result.returncode == 0, f"{result.stderr}\n{out}"
    assert "urn:market-ai:problem" not in out, out  # every step succeeded
    assert '"from":"2025-03-01","to":"2025-03-31"' in out  # the flight, not the last 30 days
    assert '"spend":"100.50"' in out  # the two days' total
    assert "x-total-count: 1" in out.lower()
    assert '"summary_model":"offline"' in out
    assert '"message_ids":{' in out  # one message per recipient, each with its own id
    [mail] = (data_dir / "outbox").iterdir()
    assert out.rstrip().endswith(mail.name)
    assert "Subject: Spring launch" in mail.read_text()
