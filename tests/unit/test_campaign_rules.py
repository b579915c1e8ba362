"""The rules every campaign obeys: names, channels, money, currencies, flights, lifecycle."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from market_ai.domain.campaigns import (
    NAME_MAX,
    TRANSITIONS,
    Campaign,
    CampaignStatus,
    Channel,
    check_budget,
    check_currency,
    check_flight,
    check_name,
    check_transition,
)
from market_ai.domain.errors import IllegalTransition, InvalidInput

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEGAL = sorted((a, b) for a, targets in TRANSITIONS.items() for b in targets)
ILLEGAL = sorted(
    (a, b)
    for a, b in itertools.product(CampaignStatus, repeat=2)
    if a is not b and b not in TRANSITIONS[a]
)


def _campaign(**values: object) -> Campaign:
    base = Campaign(
        owner_id="u1", name="Launch", channel=Channel.EMAIL, created_at=NOW, updated_at=NOW
    )
    return replace(base, **values)  # type: ignore[arg-type]


# names


@pytest.mark.parametrize(
    ("given", "kept"),
    [("Launch", "Launch"), ("  Spring sale \n", "Spring sale"), ("x" * NAME_MAX, "x" * NAME_MAX)],
)
def test_names_are_trimmed_and_kept(given: str, kept: str) -> None:
    assert check_name(given) == kept


def test_name_length_counts_after_trimming() -> None:
    assert check_name(f"  {'n' * NAME_MAX}  ") == "n" * NAME_MAX


@pytest.mark.parametrize("given", ["", "   ", "\t\n", "x" * (NAME_MAX + 1)])
def test_blank_or_long_names_are_refused_naming_the_field(given: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_name(given)
    assert caught.value.field == "name"


# channels


def test_channels_are_the_agreed_set() -> None:
    assert {c.value for c in Channel} == {"email", "social", "search", "display", "video", "other"}


def test_channel_parses_its_wire_value_and_refuses_others() -> None:
    assert Channel("social") is Channel.SOCIAL
    with pytest.raises(ValueError, match="fax"):
        Channel("fax")


# budgets


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("1.5", "1.50"),
        ("0", "0.00"),
        ("-0", "0.00"),
        (" 12.34 ", "12.34"),
        ("1E+2", "100.00"),
        (Decimal(7), "7.00"),
        (250, "250.00"),
        ("999999999999.99", "999999999999.99"),
    ],
)
def test_budgets_are_exact_money_with_two_places(given: Decimal | int | str, kept: str) -> None:
    budget = check_budget(given)
    assert isinstance(budget, Decimal)
    assert str(budget) == kept


@pytest.mark.parametrize(
    "given",
    ["1.234", "0.001", "-0.01", "-5", "NaN", "sNaN", "Infinity", "-Infinity", "1e12", "1E+400"],
)
def test_bad_budgets_are_refused_naming_the_field(given: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_budget(given)
    assert caught.value.field == "budget"


@pytest.mark.parametrize("given", ["ten", "", "1,50", "$5"])
def test_non_numbers_are_refused_as_budget(given: str) -> None:
    with pytest.raises(InvalidInput, match="budget: must be a decimal number"):
        check_budget(given)


# currencies


@pytest.mark.parametrize(("given", "kept"), [("USD", "USD"), ("eur", "EUR"), (" jpy ", "JPY")])
def test_currencies_are_iso_4217_and_upper_cased(given: str, kept: str) -> None:
    assert check_currency(given) == kept


@pytest.mark.parametrize("given", ["XYZ", "US", "USDD", "", "€"])
def test_unknown_currencies_are_refused(given: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_currency(given)
    assert caught.value.field == "currency"


# flight dates


@pytest.mark.parametrize(
    ("starts_on", "ends_on"),
    [
        (None, None),
        (date(2025, 1, 1), None),
        (None, date(2025, 1, 1)),
        (date(2025, 1, 1), date(2025, 1, 1)),
        (date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_a_campaign_may_end_on_or_after_its_start(
    starts_on: date | None, ends_on: date | None
) -> None:
    check_flight(starts_on, ends_on)


def test_a_campaign_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_flight(date(2025, 1, 2), date(2025, 1, 1))
    assert caught.value.field == "ends_on"


# lifecycle


def test_the_lifecycle_is_the_agreed_one() -> None:
    """A change to TRANSITIONS is a product decision: this spells out the agreed table."""
    s = CampaignStatus
    agreed = {
        s.DRAFT: {s.ACTIVE, s.ARCHIVED},
        s.ACTIVE: {s.PAUSED, s.COMPLETED, s.ARCHIVED},
        s.PAUSED: {s.ACTIVE, s.COMPLETED, s.ARCHIVED},
        s.COMPLETED: {s.ARCHIVED},
        s.ARCHIVED: set(),
    }
    assert agreed == TRANSITIONS


def test_the_transition_table_covers_every_status() -> None:
    assert set(TRANSITIONS) == set(CampaignStatus)
    assert LEGAL
    assert ILLEGAL
    assert TRANSITIONS[CampaignStatus.ARCHIVED] == frozenset()


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_every_legal_move_is_allowed(current: CampaignStatus, target: CampaignStatus) -> None:
    check_transition(current, target)
    assert _campaign(status=current).revised(NOW, status=target).status is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_move_is_refused(current: CampaignStatus, target: CampaignStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, target)
    assert caught.value.field == "status"
    assert str(current) in caught.value.reason
    assert str(target) in caught.value.reason
    with pytest.raises(IllegalTransition):
        _campaign(status=current).revised(NOW, status=target)


@pytest.mark.parametrize("status", list(CampaignStatus))
def test_staying_in_the_same_status_is_a_no_op(status: CampaignStatus) -> None:
    check_transition(status, status)
    assert _campaign(status=status).revised(NOW, status=status).status is status


# revisions


def test_revised_bumps_version_and_updated_at_only() -> None:
    original = _campaign(version=3)
    later = NOW + timedelta(minutes=5)
    revised = original.revised(later, name="Relaunch")
    assert revised.version == 4
    assert revised.updated_at == later
    assert revised.name == "Relaunch"
    assert (revised.id, revised.created_at, revised.owner_id) == (
        original.id,
        original.created_at,
        original.owner_id,
    )
    assert (original.version, original.name, original.updated_at) == (3, "Launch", NOW)


def test_revised_with_no_changes_still_makes_a_new_version() -> None:
    assert _campaign().revised(NOW + timedelta(seconds=1)).version == 2


def test_revised_checks_the_flight_against_the_stored_dates() -> None:
    campaign = _campaign(starts_on=date(2025, 6, 1))
    with pytest.raises(InvalidInput) as caught:
        campaign.revised(NOW, ends_on=date(2025, 5, 31))
    assert caught.value.field == "ends_on"
