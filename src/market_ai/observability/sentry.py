"""Sentry: unhandled HTTP and worker errors and dead jobs, with no PII and no secrets.

Importing this module imports sentry-sdk: only processes with SENTRY_DSN set do it. Events
carry no request (no body, headers, cookies or user: the SDK's Litestar integration is
not enabled and `send_default_pii` is off) and pass through the same rule as logs: the
values of secret settings, passwords in URLs and bearer tokens never leave the process.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import sentry_sdk
import structlog
from pydantic import SecretStr

from market_ai.domain.request_ids import current_request_id

if TYPE_CHECKING:
    from uuid import UUID

    from market_ai.domain.jobs import Job
    from market_ai.settings import Settings

FILTERED: Final = "[Filtered]"
_BEARER: Final = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_REPORTED_LEVELS: Final = frozenset({"error", "critical", "exception"})
_TAGS: Final = ("request_id", "job_id", "job_type")


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Every secret setting's value, and the password of every URL setting (longest first)."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(text, str):
            continue
        if isinstance(value, SecretStr) and len(text) >= 4:  # noqa: PLR2004 - not a word
            found.add(text)
        if "://" in text and (password := urlsplit(text).password):
            found.add(password)
    return tuple(sorted(found, key=len, reverse=True))


def scrub(value: Any, secrets: tuple[str, ...]) -> Any:  # noqa: ANN401 - any JSON-like event part
    """The same structure with secrets and bearer tokens replaced by [Filtered]."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, FILTERED)
        return _BEARER.sub(f"Bearer {FILTERED}", value)
    if isinstance(value, Mapping):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value


def _report_errors(_logger: Any, method: str, event: MutableMapping[str, Any]) -> Any:  # noqa: ANN401
    """A structlog processor: error lines (with their exception, if any) become events."""
    if method not in _REPORTED_LEVELS:
        return event
    event = structlog.contextvars.merge_contextvars(_logger, method, event)  # the request id
    exc_info = event.get("exc_info")
    if exc_info is True:
        exc_info = sys.exc_info()
    error = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    with sentry_sdk.new_scope() as scope:
        for tag in _TAGS:
            if event.get(tag):
                scope.set_tag(tag, str(event[tag]))
        extras = {k: v for k, v in event.items() if k not in {"exc_info", "event", *_TAGS}}
        scope.set_context(
            "log", {k: repr(v) if not isinstance(v, str) else v for k, v in extras.items()}
        )
        if isinstance(error, BaseException):
            sentry_sdk.capture_exception(error)
        else:
            sentry_sdk.capture_message(str(event.get("event")), level="error")
    return event


def init_sentry(settings: Settings, *, component: str) -> None:
    """Start the SDK (release APP_VERSION, environment APP_ENV) and report error log lines."""
    if settings.sentry_dsn is None:
        return
    secrets = secret_values(settings)

    def before_send(event: Any, _hint: Any) -> Any:  # noqa: ANN401 - the SDK's event dict
        event.pop("request", None)
        event.pop("user", None)
        return scrub(event, secrets)

    def before_breadcrumb(crumb: Any, _hint: Any) -> Any:  # noqa: ANN401
        return scrub(crumb, secrets)

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        release=settings.app_version,
        environment=settings.app_env.value,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        auto_enabling_integrations=False,  # no framework hooks: they would attach requests
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )
    sentry_sdk.set_tag("component", component)
    config = structlog.get_config()
    processors = list(config["processors"])
    if _report_errors not in processors:  # first: before exc_info is rendered to text
        processors.insert(0, _report_errors)
        structlog.configure(processors=processors)


class SentryJobObserver:
    """A job that goes dead is an event: someone must look at it."""

    def started(self, job: Job) -> None:
        """Nothing to report."""

    def finished(self, job: Job, outcome: str, run_seconds: float) -> None:
        """Nothing to report: deaths come through `died`."""

    def died(self, job_id: UUID, job_type: str | None, error: str) -> None:
        """One event per dead job, tagged with the job and the request that enqueued it."""
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("job_id", str(job_id))
            scope.set_tag("job_type", job_type or "unknown")
            if request_id := current_request_id():
                scope.set_tag("request_id", request_id)
            scope.set_context("job", {"id": str(job_id), "type": job_type, "error": error})
            sentry_sdk.capture_message(f"job {job_type or job_id} is dead", level="error")
