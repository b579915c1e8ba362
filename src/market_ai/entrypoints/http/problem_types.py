"""The problem types this API answers with: one list, so clients can switch on `type`.

Every error is `application/problem+json` whose `type` is one of these URNs; the README's
table is checked against this list. 400 and 422 split on purpose: a 400 request did not
match the schema (it never reached a rule), a 422 one did and broke a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PREFIX: Final = "urn:market-ai:problem:"


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One kind of error: its slug (the URN's last part), its status and when it happens."""

    slug: str
    status: int
    when: str

    @property
    def uri(self) -> str:
        """The `type` member of the problem document."""
        return PREFIX + self.slug


VALIDATION: Final = ProblemType(
    "validation",
    400,
    "the request does not match the schema: malformed JSON or UTF-8, a missing body, "
    "a wrong type, an unknown field, a bad path, query or header value",
)
UNAUTHENTICATED: Final = ProblemType(
    "unauthenticated", 401, "the bearer token is missing, malformed, expired or refused"
)
NOT_FOUND: Final = ProblemType("not-found", 404, "no such route, or no such resource for this user")
METHOD_NOT_ALLOWED: Final = ProblemType(
    "method-not-allowed", 405, "the route exists but not with this method (see `Allow`)"
)
CONFLICT: Final = ProblemType(
    "conflict", 409, "the resource changed concurrently, or an Idempotency-Key was reused"
)
PRECONDITION_FAILED: Final = ProblemType(
    "precondition-failed", 412, "If-Match names a version that is no longer current"
)
PRECONDITION_REQUIRED: Final = ProblemType(
    "precondition-required", 428, "this deployment requires If-Match (REQUIRE_IF_MATCH)"
)
BODY_TOO_LARGE: Final = ProblemType("body-too-large", 413, "the body exceeds MAX_BODY_BYTES")
INVALID_INPUT: Final = ProblemType(
    "invalid-input", 422, "the request is well-formed but a value breaks a rule"
)
BUDGET_EXCEEDED: Final = ProblemType(
    "budget-exceeded", 422, "the AI work's worst case does not fit a spending limit"
)
RATE_LIMITED: Final = ProblemType(
    "rate-limited", 429, "the client's allowance is spent (see `Retry-After`)"
)
QUOTA_EXCEEDED: Final = ProblemType(
    "quota-exceeded", 429, "a daily quota is spent (see `limit`, `resets_at` and `Retry-After`)"
)
INTERNAL: Final = ProblemType("internal", 500, "a bug; it has been logged")
UNAVAILABLE: Final = ProblemType(
    "unavailable", 503, "a dependency cannot answer now (see `Retry-After`)"
)

PROBLEM_TYPES: Final = (
    VALIDATION,
    UNAUTHENTICATED,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    CONFLICT,
    PRECONDITION_FAILED,
    BODY_TOO_LARGE,
    INVALID_INPUT,
    BUDGET_EXCEEDED,
    PRECONDITION_REQUIRED,
    RATE_LIMITED,
    QUOTA_EXCEEDED,
    INTERNAL,
    UNAVAILABLE,
)
BY_SLUG: Final = {kind.slug: kind for kind in PROBLEM_TYPES}
_BY_STATUS: Final = {kind.status: kind for kind in reversed(PROBLEM_TYPES)}  # first one wins


def for_status(status: int) -> ProblemType:
    """The type an answer of `status` has when nothing more specific is known.

    A status with no type of its own (a framework's 415, say) falls back to its class:
    validation for 4xx, internal for 5xx, so no answer leaves the list.
    """
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return VALIDATION if status < 500 else INTERNAL  # noqa: PLR2004 - the 4xx/5xx boundary
