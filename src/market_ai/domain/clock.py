"""Time as a port, so rules about dates and timeouts can be tested without sleeping."""

from __future__ import annotations

from datetime import UTC, date, datetime


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)

    def today(self) -> date:
        """Return the current UTC date."""
        return self.now().date()


class FixedClock:
    """A clock that moves only when told; for tests and reproducible reports."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        """Return the fixed time."""
        return self.at

    def today(self) -> date:
        """Return the fixed date."""
        return self.at.date()
