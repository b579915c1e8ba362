"""Structured logging, configured once per process: JSON in production, readable in development."""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec
import structlog
from structlog.types import EventDict, Processor

_JSON = msgspec.json.Encoder(enc_hook=repr)  # what JSON cannot hold is logged as its repr


def render_json(_logger: Any, _method: str, event: EventDict) -> bytes:  # noqa: ANN401
    """One JSON object per event, as bytes: msgspec encodes in C, with no str in between."""
    return _JSON.encode(event)


def _render_json_text(logger: Any, method: str, event: EventDict) -> str:  # noqa: ANN401
    return render_json(logger, method, event).decode()


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Route structlog and the standard library through one renderer on stdout.

    JSON (production) goes out as bytes, one write and flush per line: the access log is a
    line per request at INFO, so it is the hot path; flushing each line keeps a crash from
    losing what was already logged.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    processors: list[Processor]
    stdlib_tail: list[Processor]
    if json:
        binary = getattr(sys.stdout, "buffer", None)  # absent when stdout was swapped for text
        render = render_json if binary is not None else _render_json_text
        processors = [*shared, structlog.processors.format_exc_info, render]
        factory: Any = (
            structlog.BytesLoggerFactory(binary)
            if binary is not None
            else structlog.PrintLoggerFactory(sys.stdout)
        )
        stdlib_tail = [structlog.processors.format_exc_info, _render_json_text]
    else:
        console = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        processors = [*shared, structlog.dev.set_exc_info, console]
        factory = structlog.PrintLoggerFactory(sys.stdout)
        stdlib_tail = [console]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *stdlib_tail],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
