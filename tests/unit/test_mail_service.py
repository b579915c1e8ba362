"""MailService requests and the message rules: validation naming the field, content, keys."""

from __future__ import annotations

from uuid import uuid4

import pytest

from market_ai.adapters.memory.content import InMemoryContentStore
from market_ai.domain.errors import Conflict, InvalidInput, NotFound
from market_ai.domain.job_registry import SEND_EMAIL
from market_ai.domain.jobs import JobContext, PermanentJobError
from market_ai.domain.mail import (
    RECIPIENTS_MAX,
    SUBJECT_MAX,
    EmailMessage,
    check_address,
    check_recipients,
    check_subject,
)
from market_ai.domain.mail_service import ContentLookup, MailService
from market_ai.domain.unsubscribe import UnsubscribeLinks
from tests.content_rig import variant
from tests.mail_fakes import RecordingMailer
from tests.service_rig import ServiceRig, context


@pytest.fixture
def rig() -> ServiceRig:
    return ServiceRig()


@pytest.fixture
def mailer() -> RecordingMailer:
    return RecordingMailer()


LINKS = UnsubscribeLinks(b"k" * 32, "https://api.example.com")


def service(
    rig: ServiceRig, mailer: RecordingMailer, lookup: ContentLookup | None = None
) -> MailService:
    return MailService(
        rig.uow, rig.clock, rig.jobs, mailer, lookup or InMemoryContentStore().get, links=LINKS
    )


@pytest.mark.parametrize(
    "address",
    ["a@example.com", "first.last+tag@mail.example.co.uk", "o'brien@example.io", "x@a-b.example"],
)
def test_ordinary_addresses_pass(address: str) -> None:
    assert check_address("to[0]", address) == address


@pytest.mark.parametrize(
    "address",
    [
        "plain",
        "@example.com",
        "a@",
        "a@localhost",  # no dot: not a deliverable public domain
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@example.123",
        "a b@example.com",
        "a@example.com\r\nBcc: victim@example.com",
        "Name <a@example.com>",
        '"quoted"@example.com',
        "a@[127.0.0.1]",
        f"{'x' * 65}@example.com",
        f"a@{'x' * 250}.com",
    ],
)
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_address("to[3]", address)
    assert error.value.field == "to[3]"


def test_recipients_name_the_bad_index_and_are_bounded() -> None:
    with pytest.raises(InvalidInput) as error:
        check_recipients(["ok@example.com", "broken", "also@bad"])
    assert error.value.field == "to[1]"
    for count in (0, RECIPIENTS_MAX + 1):
        with pytest.raises(InvalidInput, match="between 1 and 50"):
            check_recipients([f"u{i}@example.com" for i in range(count)])
    assert check_recipients(["A@Example.COM", "A@example.com"]) == ("A@example.com",)


@pytest.mark.parametrize(
    "subject", ["Hi\r\nBcc: all@example.com", "a\nb", "tab\there", "", " ", "x" * (SUBJECT_MAX + 1)]
)
def test_subjects_stay_on_one_bounded_line(subject: str) -> None:
    with pytest.raises(InvalidInput) as error:
        check_subject(subject)
    assert error.value.field == "subject"


def test_a_message_checks_itself() -> None:
    with pytest.raises(InvalidInput, match="body"):
        EmailMessage(to=("a@example.com",), subject="Hi", body="   ")


async def test_request_validates_then_enqueues_the_whole_message(
    rig: ServiceRig, mailer: RecordingMailer
) -> None:
    campaign = await rig.campaign()
    job = await service(rig, mailer).request(
        "alice", campaign.id, to=["ops@example.com"], subject=" Weekly ", body="Figures."
    )
    assert job.type == SEND_EMAIL
    assert job.payload == {
        "campaign_id": str(campaign.id),
        "to": ["ops@example.com"],
        "subject": "Weekly",
        "body": "Figures.",
    }
    assert mailer.sent == []  # nothing goes out before a worker runs the job


async def test_request_refusals_name_the_field(rig: ServiceRig, mailer: RecordingMailer) -> None:
    campaign = await rig.campaign()
    mail = service(rig, mailer)
    cases = [
        ({"to": ["a@example.com", "nope"], "subject": "Hi", "body": "x"}, "to[1]"),
        ({"to": ["a@example.com"], "subject": "Hi\r\nX-Evil: 1", "body": "x"}, "subject"),
        ({"to": ["a@example.com"], "subject": "Hi"}, "body"),
        ({"to": ["a@example.com"], "subject": "Hi", "body": "x", "content_id": uuid4()}, "body"),
        ({"to": ["a@example.com"], "subject": "Hi", "content_id": uuid4()}, "content_id"),
    ]
    for fields, name in cases:
        with pytest.raises(InvalidInput) as error:
            await mail.request("alice", campaign.id, **fields)  # type: ignore[arg-type]
        assert error.value.field == name
    with pytest.raises(NotFound):
        await mail.request("mallory", campaign.id, to=["a@example.com"], subject="s", body="b")
    assert rig.store.jobs == {}


async def test_a_content_id_is_resolved_to_the_owners_text(
    rig: ServiceRig, mailer: RecordingMailer
) -> None:
    campaign, other = await rig.campaign(), await rig.campaign()
    store = InMemoryContentStore()
    mine = variant(campaign.id, "alice", text="Generated copy.")
    elsewhere = variant(other.id, "alice")
    bobs = variant(campaign.id, "bob")  # a row that names alice's campaign but is not hers
    for stored in (mine, elsewhere, bobs):
        await store.add(stored)
    mail = service(rig, mailer, store.get)

    job = await mail.request(
        "alice", campaign.id, to=["a@example.com"], subject="s", content_id=mine.id
    )

    assert job.payload["body"] == "Generated copy."
    assert job.payload["content_id"] == str(mine.id)
    for foreign in (uuid4(), elsewhere.id, bobs.id):
        with pytest.raises(InvalidInput, match="no such content") as error:
            await mail.request(
                "alice", campaign.id, to=["a@example.com"], subject="s", content_id=foreign
            )
        assert error.value.field == "content_id"
    assert list(rig.store.jobs) == [job.id]


@pytest.mark.parametrize(
    ("copy", "body"),
    [
        ("Subject: Spring is here\n\nHello there.\nBye.", "Hello there.\nBye."),
        ("subject:Sale\nBody line", "Body line"),
        ("No subject line.\nSubject: not first", "No subject line.\nSubject: not first"),
        ("Subject: only a subject", "Subject: only a subject"),  # nothing else to send
    ],
)
async def test_an_email_copys_own_subject_line_stays_out_of_the_body(
    rig: ServiceRig, mailer: RecordingMailer, copy: str, body: str
) -> None:
    campaign = await rig.campaign()
    store = InMemoryContentStore()
    await store.add(generated := variant(campaign.id, "alice", text=copy))
    mail = service(rig, mailer, store.get)
    job = await mail.request(
        "alice", campaign.id, to=["a@example.com"], subject="s", content_id=generated.id
    )
    assert job.payload["body"] == body


async def test_an_idempotency_key_returns_the_first_job_and_refuses_another_message(
    rig: ServiceRig, mailer: RecordingMailer
) -> None:
    campaign = await rig.campaign()
    mail = service(rig, mailer)
    fields = {"to": ["a@example.com"], "subject": "s", "body": "b"}
    first = await mail.request("alice", campaign.id, idempotency_key="k", **fields)  # type: ignore[arg-type]
    again = await mail.request("alice", campaign.id, idempotency_key="k", **fields)  # type: ignore[arg-type]
    assert again.id == first.id
    with pytest.raises(Conflict):
        await mail.request(
            "alice",
            campaign.id,
            idempotency_key="k",
            to=["a@example.com"],
            subject="s",
            body="other",
        )
    assert len(rig.store.jobs) == 1


async def test_bad_payloads_and_deleted_campaigns_are_permanent(
    rig: ServiceRig, mailer: RecordingMailer
) -> None:
    campaign = await rig.campaign()
    mail = service(rig, mailer)
    bad = JobContext(uuid4(), 1, "alice", SEND_EMAIL, {"campaign_id": str(campaign.id)})
    with pytest.raises(PermanentJobError, match="payload"):
        await mail.run(bad)
    job = await mail.request("alice", campaign.id, to=["a@example.com"], subject="s", body="b")
    await rig.delete(campaign)
    with pytest.raises(PermanentJobError, match="campaign not found"):
        await mail.run(context(job))
    assert mailer.sent == []
