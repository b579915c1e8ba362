"""The days a campaign's figures are read over by default: its flight, up to today."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

WINDOW_MAX_DAYS: Final = 3 * 366  # three years, leap days included: no read spans more
DEFAULT_WINDOW_DAYS: Final = 30  # without a start date, the window ad platforms open on


def flight_window(starts_on: date | None, ends_on: date | None, today: date) -> tuple[date, date]:
    """[start, end]: the flight from `starts_on` to the earlier of `ends_on` and `today`.

    A campaign that ran in March is read over March, not over the 30 days before today.
    Without a start date, the 30 days up to that end; a flight longer than WINDOW_MAX_DAYS
    keeps its latest days. The start follows the end while the flight has not begun.
    """
    end = today if ends_on is None else min(today, ends_on)
    start = starts_on or end - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
    return max(start, end - timedelta(days=WINDOW_MAX_DAYS - 1)), end
