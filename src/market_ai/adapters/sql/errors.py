"""Why the database cannot be served from yet, in words an operator can act on."""

from __future__ import annotations


class DatabaseNotReady(RuntimeError):  # noqa: N818 - reads as the condition
    """Start-up must stop here: serving would only turn this into failed requests."""


class DatabaseUnreachable(DatabaseNotReady):
    """No connection could be made (server down, wrong host, bad credentials)."""


class SchemaOutOfDate(DatabaseNotReady):
    """The schema lacks migrations this version needs; `market-ai migrate` applies them."""

    def __init__(self, current: str | None, head: str) -> None:
        super().__init__(
            f"database schema is at {current or 'empty'}, this version needs {head}: "
            "run `market-ai migrate`"
        )
        self.current = current
        self.head = head
