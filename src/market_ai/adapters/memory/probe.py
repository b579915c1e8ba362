"""A probe for in-memory adapters: always ready, since there is nothing to reach."""

from __future__ import annotations


class InMemoryHealthProbe:
    """Stands in for the database when storage is in memory."""

    name = "database"

    async def check(self) -> None:
        """Nothing to reach; always answers."""
