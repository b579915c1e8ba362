"""The composition root: the only place where settings choose adapters.

One sub-container per concern, each stating the providers it needs from the others as
`Dependency` placeholders; `root.Container` wires them and exposes the flat provider names.

    infrastructure  clock, storage (SQL or memory), engine, units of work, Redis client
    health          database and readiness probes, HealthService
    http_edge       bearer-token verifier, rate limiter
    jobs            queue, job-type registry, retry policy, JobService, JobMonitor
    mail            mailer (SMTP or the local outbox)
    content         generator, content store, spend ledger, prices, spend guard, summaries
    services        the use cases
"""

from market_ai.container.content import (
    GeneratorKind,
    generator_kind,
    openai_generator,
    spend_policy,
    summary_spend_policy,
)
from market_ai.container.http_edge import IdentityKind, clerk_verifier, identity_kind
from market_ai.container.infrastructure import QueueKind, StorageKind, queue_kind, storage_kind
from market_ai.container.mail import MailKind, mail_kind, outbox_path, smtp_mailer
from market_ai.container.root import Container, build_container, start, stop

__all__ = [
    "Container",
    "GeneratorKind",
    "IdentityKind",
    "MailKind",
    "QueueKind",
    "StorageKind",
    "build_container",
    "clerk_verifier",
    "generator_kind",
    "identity_kind",
    "mail_kind",
    "openai_generator",
    "outbox_path",
    "queue_kind",
    "smtp_mailer",
    "spend_policy",
    "start",
    "stop",
    "storage_kind",
    "summary_spend_policy",
]
