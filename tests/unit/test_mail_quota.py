"""The daily recipient quota at request time, and unsubscribe links and their use case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from market_ai.adapters.memory.content import InMemoryContentStore
from market_ai.domain.errors import InvalidInput, QuotaExceeded
from market_ai.domain.mail_service import MailService
from market_ai.domain.unsubscribe import UnsubscribeLinks, UnsubscribeService
from tests.mail_fakes import RecordingMailer
from tests.service_rig import NOW, ServiceRig

LINKS = UnsubscribeLinks(b"k" * 32, "https://api.example.com/")
LIMIT = 5


def addresses(count: int, start: int = 0) -> list[str]:
    return [f"u{i}@example.com" for i in range(start, start + count)]


@pytest.fixture
def rig() -> ServiceRig:
    return ServiceRig()


def service(rig: ServiceRig) -> MailService:
    return MailService(
        rig.uow,
        rig.clock,
        rig.jobs,
        RecordingMailer(),
        InMemoryContentStore().get,
        links=LINKS,
        recipients_per_day=LIMIT,
    )


async def test_recipients_past_the_daily_quota_are_refused_naming_it_and_its_reset(
    rig: ServiceRig,
) -> None:
    campaign = await rig.campaign()
    mail = service(rig)
    await mail.request("alice", campaign.id, to=addresses(3), subject="s", body="b")
    with pytest.raises(QuotaExceeded) as refused:
        await mail.request("alice", campaign.id, to=addresses(3, 3), subject="s", body="b")
    assert refused.value.quota == "EMAIL_RECIPIENTS_PER_DAY"
    assert refused.value.limit == LIMIT
    assert refused.value.resets_at == datetime(2026, 3, 11, tzinfo=UTC)
    assert refused.value.retry_after == 15 * 3600  # NOW is 09:00 UTC
    assert len(rig.store.jobs) == 1  # the refused request wrote nothing
    await mail.request("alice", campaign.id, to=addresses(2, 3), subject="s", body="b")  # fits
    with pytest.raises(QuotaExceeded):
        await mail.request("alice", campaign.id, to=addresses(1, 9), subject="s", body="b")
    other = await rig.campaign("bob")
    await mail.request("bob", other.id, to=addresses(LIMIT), subject="s", body="b")  # per user


async def test_one_request_larger_than_the_quota_is_refused(rig: ServiceRig) -> None:
    campaign = await rig.campaign()
    with pytest.raises(QuotaExceeded):
        await service(rig).request(
            "alice", campaign.id, to=addresses(LIMIT + 1), subject="s", body="b"
        )
    assert rig.store.email_quota == {}


async def test_the_quota_resets_at_midnight_utc(rig: ServiceRig) -> None:
    campaign = await rig.campaign()
    mail = service(rig)
    await mail.request("alice", campaign.id, to=addresses(LIMIT), subject="s", body="b")
    rig.clock.at = datetime(2026, 3, 11, tzinfo=UTC)
    await mail.request("alice", campaign.id, to=addresses(LIMIT), subject="s", body="b")


async def test_a_replayed_idempotency_key_reserves_nothing_twice(rig: ServiceRig) -> None:
    campaign = await rig.campaign()
    mail = service(rig)
    for _ in range(3):
        await mail.request(
            "alice", campaign.id, to=addresses(LIMIT), subject="s", body="b", idempotency_key="k"
        )
    assert rig.store.email_quota == {("alice", NOW.date()): LIMIT}


async def test_suppressed_addresses_do_not_count(rig: ServiceRig) -> None:
    campaign = await rig.campaign()
    async with rig.uow() as uow:
        for address in addresses(3):
            await uow.email_suppressions.add("alice", address, NOW)
        await uow.commit()
    await service(rig).request("alice", campaign.id, to=addresses(LIMIT + 3), subject="s", body="b")
    assert rig.store.email_quota == {("alice", NOW.date()): LIMIT}


def test_a_link_reads_back_its_owner_and_address() -> None:
    url = LINKS.url("user_2x", "Ops@example.com")
    assert url.startswith("https://api.example.com/unsubscribe/")
    found = LINKS.read(url.rpartition("/")[2])
    assert (found.owner_id, found.address) == ("user_2x", "Ops@example.com")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        LINKS.token("alice", "a@example.com") + "x",
        LINKS.token("alice", "a@example.com").replace(".", "x."),
        UnsubscribeLinks(b"other-key" * 4, "https://x.example").token("alice", "a@example.com"),
        "x" * 5000,
        "é.ü",  # non-ASCII reaches the signature check from a URL path
        LINKS.token("alice", "a@example.com").partition(".")[0] + ".é",
    ],
)
def test_forged_or_damaged_tokens_are_refused_naming_the_token(token: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        LINKS.read(token)
    assert refused.value.field == "token"


def test_a_token_for_one_address_cannot_be_edited_into_another() -> None:
    genuine = LINKS.token("alice", "a@example.com")
    forged = (
        LINKS.token("alice", "b@example.com").partition(".")[0] + "." + genuine.partition(".")[2]
    )
    with pytest.raises(InvalidInput):
        LINKS.read(forged)


async def test_unsubscribing_suppresses_for_that_owner_only_and_twice_is_harmless(
    rig: ServiceRig,
) -> None:
    unsubscribes = UnsubscribeService(rig.uow, rig.clock, LINKS)
    token = LINKS.token("alice", "a@example.com")
    assert unsubscribes.check(token).address == "a@example.com"
    assert rig.store.email_suppressions == {}  # checking changes nothing
    await unsubscribes.unsubscribe(token)
    rig.clock.at = NOW + timedelta(hours=1)
    await unsubscribes.unsubscribe(token)
    assert rig.store.email_suppressions == {("alice", "a@example.com"): NOW}
    async with rig.uow() as uow:
        assert await uow.email_suppressions.among("bob", ["a@example.com"]) == set()
