"""The offline summary: deterministic sentences from the analysis figures, labelled `offline`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from market_ai.adapters.memory.offline_summary import OfflineSummaryWriter, describe
from market_ai.domain.analysis import analyse
from market_ai.domain.analysis_service import SummaryWriter
from market_ai.domain.campaigns import Campaign, Channel
from market_ai.domain.jobs import JobContext
from market_ai.domain.metrics import DailyMetrics
from tests.service_rig import NOW, row

MAR1 = date(2026, 3, 1)
TEN_DAYS = [row(MAR1 + timedelta(days=n)) for n in range(10)]  # USD 10 spent, 25 earned a day
ACTIVITY = (
    "Spring launch spent USD 100.00 and earned USD 250.00 from 20 conversions over 10 days "
    "with figures (2026-03-01 to 2026-03-10), a ROAS of 2.50."
)
WEEK = (
    "Over the last 7 days spend changed by +133.33% and ROAS by +0.00% against the 7 days "
    "before (7 and 3 of 7 days with figures)."
)

_writer: SummaryWriter = OfflineSummaryWriter()  # the offline writer satisfies the port


def campaign(**values: Any) -> Campaign:
    return Campaign(
        owner_id="alice",
        name="Spring launch",
        channel=Channel.SEARCH,
        created_at=NOW,
        updated_at=NOW,
        **values,
    )


def summary(rows: Sequence[DailyMetrics], **values: Any) -> str:
    made = campaign(**values)
    return describe(made, analyse(made, rows, NOW.date()))


def march(budget: str) -> dict[str, Any]:
    return {"budget": Decimal(budget), "starts_on": MAR1, "ends_on": date(2026, 3, 30)}


def test_behind_pace_it_says_what_daily_spend_would_use_the_budget() -> None:
    assert summary(TEN_DAYS, **march("3000.00")) == (
        f"{ACTIVITY} It is pacing at 10.00% of the USD 1000.00 expected by now, on course for "
        f"USD 300.00 of its USD 3000.00 budget. {WEEK} To use the budget by the end, raise "
        "daily spend toward USD 145.00."
    )


def test_ahead_of_pace_it_says_what_daily_spend_stays_within_it() -> None:
    text = summary(TEN_DAYS, **march("150.00"))
    assert "It is pacing at 200.00% of the USD 50.00 expected by now" in text
    assert text.endswith("To stay within budget, bring daily spend down toward USD 2.50.")


def test_on_pace_a_falling_roas_is_pointed_out() -> None:
    falling = [row(MAR1 + timedelta(days=n), revenue="25" if n < 3 else "12") for n in range(10)]
    text = summary(falling, **march("300.00"))
    assert "and ROAS by -52.00%" in text
    assert text.endswith("ROAS is falling: compare the recent days with the best day, 2026-03-01.")
    steady = summary(TEN_DAYS, **march("300.00"))
    assert steady.endswith("Spend is on pace: keep the current course.")


@pytest.mark.parametrize(
    ("rows", "values", "expected"),
    [
        (
            [],
            {},
            (
                "Spring launch has no figures recorded from 2026-02-09 to 2026-03-10. Pacing "
                "cannot be judged without flight start and end dates. Give the campaign flight "
                "dates to see how its spend paces against the budget."
            ),
        ),
        (
            [],
            {
                "budget": Decimal("300.00"),
                "starts_on": date(2026, 4, 1),
                "ends_on": date(2026, 4, 30),
            },
            (
                "Spring launch has no figures yet: its flight starts on 2026-04-01. Spread evenly "
                "over the flight, the USD 300.00 budget is USD 10.00 a day."
            ),
        ),
        (
            TEN_DAYS[:8],
            {"budget": Decimal("120.00"), "starts_on": MAR1, "ends_on": date(2026, 3, 8)},
            (
                "Spring launch spent USD 80.00 and earned USD 200.00 from 16 conversions over 8 "
                "days with figures (2026-03-01 to 2026-03-08), a ROAS of 2.50. The flight has "
                "ended with 66.67% of its USD 120.00 budget spent. Over the last 7 days spend "
                "changed by +600.00% and ROAS by +0.00% against the 7 days before (7 and 1 of 7 "
                "days with figures)."
            ),
        ),
        (
            TEN_DAYS,
            {"starts_on": MAR1, "ends_on": date(2026, 3, 30)},
            (
                f"{ACTIVITY} With a zero budget there is no pace to judge. {WEEK} Set a budget to "
                "see how spend paces against it."
            ),
        ),
    ],
    ids=["no-flight-no-figures", "not-started", "ended", "zero-budget"],
)
def test_every_pacing_state_reads_as_sentences(
    rows: list[DailyMetrics], values: dict[str, Any], expected: str
) -> None:
    assert summary(rows, **values) == expected


async def test_the_writer_labels_its_summary_offline_and_repeats_itself() -> None:
    made = campaign(currency="EUR", **march("3000.00"))
    report = analyse(made, TEN_DAYS, NOW.date())
    ctx = JobContext(uuid4(), 1, "alice", "analyze_campaign")
    first = await OfflineSummaryWriter().write(ctx, made, report)
    assert first == (describe(made, report), "offline")
    assert "EUR 100.00" in first[0]
    assert await OfflineSummaryWriter().write(ctx, made, report) == first
