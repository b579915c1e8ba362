"""RFC 9457 problem details for every error the API answers, so clients parse one shape."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Final

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.params import ParameterKwarg

from market_ai.domain.errors import (
    BudgetExceeded,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    QuotaExceeded,
    Unauthenticated,
    Unavailable,
)
from market_ai.entrypoints.http import problem_types
from market_ai.entrypoints.http.problem_types import BY_SLUG, for_status

PROBLEM_JSON: Final = "application/problem+json"
log = structlog.get_logger(__name__)

_DOMAIN_STATUS: Final[dict[type[DomainError], tuple[int, str]]] = {
    NotFound: (404, "not-found"),
    Conflict: (409, "conflict"),
    PreconditionFailed: (412, "precondition-failed"),
    PreconditionRequired: (428, "precondition-required"),
    InvalidInput: (422, "invalid-input"),
    BudgetExceeded: (422, "budget-exceeded"),
    QuotaExceeded: (429, "quota-exceeded"),
    Unauthenticated: (401, "unauthenticated"),
    Unavailable: (503, "unavailable"),
}
BODY: Final = "body"  # how invalid-params names the request body as a whole
BODY_REQUIRED: Final = "a JSON body is required"


def problem(  # noqa: PLR0913 - RFC 9457's members, all but status and detail optional
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    invalid_params: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """Build a problem response; `slug` names its type (problem_types), else the status does."""
    kind = BY_SLUG[slug] if slug else for_status(status)
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if invalid_params:
        body["invalid-params"] = invalid_params
    body.update(extensions or {})
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
    else:  # a use case refused on purpose, for a reason with no mapping of its own yet
        status, slug = 422, "invalid-input"
    if isinstance(exc, InvalidInput):
        params = [{"name": exc.field, "reason": exc.reason}]
        return problem(status, exc.message, slug=slug, invalid_params=params)
    if isinstance(exc, Unauthenticated):
        return problem(status, exc.message, slug=slug, headers=_www_authenticate(exc.message))
    if isinstance(exc, Conflict) and exc.field:
        params = [{"name": exc.field, "reason": exc.message}]
        return problem(status, exc.message, slug=slug, invalid_params=params)
    if isinstance(exc, QuotaExceeded):
        facts = {"quota": exc.quota, "limit": exc.limit, "resets_at": exc.resets_at.isoformat()}
        retry = {"Retry-After": str(exc.retry_after)}
        return problem(status, exc.message, slug=slug, headers=retry, extensions=facts)
    headers = {"Retry-After": "5"} if isinstance(exc, Unavailable) else None
    return problem(status, exc.message, slug=slug, headers=headers)


_UNKNOWN_FIELD: Final = re.compile(r"(?:unknown|missing required) field `([^`]+)`")
_AT_PATH: Final = re.compile(r"at `\$\.([^`]+)`")


def _param_name(request: Request[Any, Any, Any], item: dict[str, Any]) -> str:
    """The field a client should fix: msgspec puts it in the message for nested errors."""
    message = str(item.get("message", ""))
    for pattern in (_UNKNOWN_FIELD, _AT_PATH):
        if found := pattern.search(message):
            return found.group(1)
    key = item.get("key")
    if not key or key == "data":
        return BODY
    if item.get("source") in {"header", "query", "cookie"}:
        return _wire_name(request, str(key))
    return str(key)


def _wire_name(request: Request[Any, Any, Any], key: str) -> str:
    """A parameter as the client sends it (`Idempotency-Key`), not as the handler calls it."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get(key)
    definition = getattr(parameter, "kwarg_definition", None)
    name = definition.name if isinstance(definition, ParameterKwarg) else None
    return name or key


def _reason(item: dict[str, Any], default: str) -> str:
    """Litestar reports a missing body as a KeyError on its internal `data` argument."""
    message = str(item.get("message", default))
    return BODY_REQUIRED if item.get("key") == "data" and message == "'data'" else message


def validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    """Name every bad field, whether it came from the body, the path or the query."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    params = [
        {"name": _param_name(request, item), "reason": _reason(item, exc.detail)}
        for item in extra
        if isinstance(item, dict)
    ]
    detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or exc.detail
    return problem(400, detail, slug="validation", invalid_params=params or None)


def _at_fault(request: Request[Any, Any, Any], exc: HTTPException) -> dict[str, str] | None:
    """The part of the request a framework error blames, for `invalid-params`."""
    if isinstance(exc, NotAuthorizedException):
        return {"name": "Authorization", "reason": exc.detail}
    if isinstance(exc.__cause__, SerializationException):  # the body did not decode
        return {"name": BODY, "reason": exc.detail}
    if exc.detail.startswith("Invalid content-length"):  # Litestar's words for a bad header
        return {"name": "Content-Length", "reason": "must be a whole number of bytes"}
    if exc.status_code == problem_types.BODY_TOO_LARGE.status:
        limit = request.route_handler.resolve_request_max_body_size()
        return {"name": BODY, "reason": f"must be at most {limit} bytes"}
    return None


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Framework errors (bad JSON, 404 route, 405, 413, 401) in the same shape as ours."""
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.update(_www_authenticate(exc.detail))
    fault = _at_fault(request, exc)
    detail = f"{BODY}: {fault['reason']}" if fault and fault["name"] == BODY else exc.detail
    return problem(
        exc.status_code,
        detail,
        invalid_params=[fault] if fault else None,
        headers=headers or None,
    )


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
