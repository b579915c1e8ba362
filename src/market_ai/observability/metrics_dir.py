"""Where the processes of one instance write their metrics, so a scrape sums them all.

prometheus-client's multiprocess mode reads PROMETHEUS_MULTIPROC_DIR when it is imported:
the serving parent makes a fresh directory before it starts any worker process (which
inherits it), and removes it when the instance stops, so counts never carry over from a
previous start. This module must not import prometheus-client itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def instance_metrics_dir() -> Iterator[Path]:
    """A fresh directory (inside $PROMETHEUS_MULTIPROC_DIR when set) for this start only."""
    parent = os.environ.get(ENV)
    if parent:
        Path(parent).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="market-ai-metrics-", dir=parent or None))
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        if parent:
            os.environ[ENV] = parent
        else:
            os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)
