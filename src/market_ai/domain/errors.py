"""Domain errors: what went wrong in business terms; entrypoints map them to their protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):  # noqa: N818 - reads as the condition, like HTTP's
    """The resource does not exist, or belongs to someone else (never reveal which)."""


class Conflict(DomainError):  # noqa: N818
    """The request clashes with the current state (a concurrent change, a duplicate).

    `field` names the part of the request at fault, when one is (an Idempotency-Key).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PreconditionFailed(DomainError):  # noqa: N818
    """The client's copy is not the current one (If-Match): nothing was changed."""


class PreconditionRequired(DomainError):  # noqa: N818
    """Writers must say which version they change (If-Match) and this one did not."""


class InvalidInput(DomainError):  # noqa: N818
    """A value breaks a rule; `field` names it so a client can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class IllegalTransition(InvalidInput):
    """A status change the campaign lifecycle does not allow."""


class BudgetExceeded(DomainError):  # noqa: N818
    """A model call would, or did, spend more than it is allowed to."""


class Unavailable(DomainError):  # noqa: N818
    """A dependency (database, queue) cannot answer now; retrying later may work."""


class Unauthenticated(DomainError):  # noqa: N818
    """No valid identity came with the request."""


class QuotaExceeded(DomainError):  # noqa: N818
    """A per-user quota is used up until `resets_at`; `quota` names the setting behind it."""

    def __init__(self, quota: str, limit: int, resets_at: datetime, retry_after: int) -> None:
        super().__init__(f"{quota} quota of {limit} is used up until {resets_at.isoformat()}")
        self.quota = quota
        self.limit = limit
        self.resets_at = resets_at
        self.retry_after = retry_after
