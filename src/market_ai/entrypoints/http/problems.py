"""RFC 9457 problem details for every error the API answers, so clients parse one shape."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Final

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException

from market_ai.domain.errors import (
    BudgetExceeded,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthenticated,
    Unavailable,
)

PROBLEM_JSON: Final = "application/problem+json"
log = structlog.get_logger(__name__)

_DOMAIN_STATUS: Final[dict[type[DomainError], tuple[int, str]]] = {
    NotFound: (404, "not-found"),
    Conflict: (409, "conflict"),
    PreconditionFailed: (412, "precondition-failed"),
    PreconditionRequired: (428, "precondition-required"),
    InvalidInput: (422, "invalid-input"),
    BudgetExceeded: (422, "budget-exceeded"),
    Unauthenticated: (401, "unauthenticated"),
    Unavailable: (503, "unavailable"),
}


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    invalid_params: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """Build a problem response; `slug` names a problem type specific to this API."""
    body: dict[str, Any] = {
        "type": f"urn:market-ai:problem:{slug}" if slug else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if invalid_params:
        body["invalid-params"] = invalid_params
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _www_authenticate(detail: str) -> dict[str, str]:
    reason = detail.replace('"', "'")
    return {
        "WWW-Authenticate": (
            f'Bearer realm="market-ai", error="invalid_token", error_description="{reason}"'
        )
    }


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    """Map a domain error onto its HTTP status."""
    for kind in type(exc).__mro__:
        if kind in _DOMAIN_STATUS:
            status, slug = _DOMAIN_STATUS[kind]
            break
    else:
        status, slug = 400, "domain-error"
    if isinstance(exc, InvalidInput):
        params = [{"name": exc.field, "reason": exc.reason}]
        return problem(status, exc.message, slug=slug, invalid_params=params)
    if isinstance(exc, Unauthenticated):
        return problem(status, exc.message, slug=slug, headers=_www_authenticate(exc.message))
    headers = {"Retry-After": "5"} if isinstance(exc, Unavailable) else None
    return problem(status, exc.message, slug=slug, headers=headers)


_UNKNOWN_FIELD: Final = re.compile(r"(?:unknown|missing required) field `([^`]+)`")
_AT_PATH: Final = re.compile(r"at `\$\.([^`]+)`")


def _param_name(item: dict[str, Any]) -> str:
    """The field a client should fix: msgspec puts it in the message for nested errors."""
    message = str(item.get("message", ""))
    for pattern in (_UNKNOWN_FIELD, _AT_PATH):
        if found := pattern.search(message):
            return found.group(1)
    key = item.get("key")
    return "body" if not key or key == "data" else str(key)


def validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """Name every bad field, whether it came from the body, the path or the query."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    params = [
        {"name": _param_name(item), "reason": str(item.get("message", exc.detail))}
        for item in extra
        if isinstance(item, dict)
    ]
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or exc.detail
    return problem(400, detail, slug="validation", invalid_params=params or None)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Framework errors (404 route, 405, 413, 401) in the same shape."""
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.update(_www_authenticate(exc.detail))
    return problem(exc.status_code, exc.detail, headers=headers or None)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Log the bug with its traceback; tell the client nothing internal."""
    log.error("request.failed", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return problem(500, "the server hit an unexpected error; it has been logged")


EXCEPTION_HANDLERS: Final = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "problem"]
