"""`serve --workers 2` on a fresh data directory: processes racing to create the dev key."""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from market_ai.adapters.auth.local_key import KEY_FILE, load_or_create_key

pytestmark = pytest.mark.integration
PROCESSES = 4


def _public_pem(data_dir: str, start: Barrier) -> str:
    """In a child process: wait for the others, then load or create the key at once."""
    start.wait()
    key = load_or_create_key(Path(data_dir))
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


def test_processes_starting_together_share_one_complete_key(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    data_dir = tmp_path / "fresh"
    with spawn.Manager() as manager:
        start = manager.Barrier(PROCESSES)
        with spawn.Pool(PROCESSES) as pool:
            # Each child raised FileExistsError but the first (or read a half-written file).
            keys = pool.starmap(_public_pem, [(str(data_dir), start)] * PROCESSES)

    assert len(set(keys)) == 1  # every process signs with the key that was kept
    assert sorted(p.name for p in data_dir.iterdir()) == [KEY_FILE]  # no staging file left
    assert (data_dir / KEY_FILE).stat().st_mode & 0o777 == 0o600
