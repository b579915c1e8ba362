"""Rate limiting at the edge: who a request counts against, 429s and RateLimit-* headers."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import structlog
from litestar import Request
from litestar.enums import ScopeType

from market_ai.domain.errors import DomainError, Unavailable
from market_ai.domain.rate_limit import Rate, RateDecision, RateLimiter
from market_ai.entrypoints.http.auth import bearer_token, remember_subject
from market_ai.entrypoints.http.problems import problem

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from market_ai.container import Container
    from market_ai.domain.ports import TokenVerifier

log = structlog.get_logger(__name__)

RATE_LIMIT_OPT: Final = "rate_limit"
CAMPAIGN_CREATE: Final = "campaign_create"
EXEMPT_PREFIXES: Final = ("/health", "/schema", "/metrics")  # probes, docs, scrapers
LOG_EVERY_SECONDS: Final = 10.0
HEADERS: Final = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"]


def limited_by(name: str) -> dict[str, str]:
    """Handler `opt` that adds the named rate to the default one (e.g. campaign creation)."""
    return {RATE_LIMIT_OPT: name}


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    candidate = text.strip()
    if candidate.startswith("[") and "]" in candidate:  # [2001:db8::1]:443
        candidate = candidate[1 : candidate.index("]")]
    elif candidate.count(":") == 1:  # 203.0.113.7:443
        candidate = candidate.partition(":")[0]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(scope: Scope, trusted_hops: int) -> str:
    """The client as the last trusted proxy saw it, as a bucket name.

    Each trusted proxy appends the address it received from to X-Forwarded-For, so the
    entry `trusted_hops` from the right is the first one no client could have written;
    everything left of it is the client's own say and ignored. With fewer entries than
    hops, or a malformed one, the socket peer is used. IPv6 clients count per /64, the
    block one subscriber gets, so rotating addresses inside it buys no fresh bucket.
    """
    peer = scope.get("client")
    text = peer[0] if peer else "unknown"
    if trusted_hops > 0:
        entries = [e for h in _header_values(scope, b"x-forwarded-for") for e in h.split(",")]
        if len(entries) >= trusted_hops:
            text = entries[-trusted_hops].strip() if _parse_ip(entries[-trusted_hops]) else text
    address = _parse_ip(text)
    if address is None:
        return text[:64]
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


async def identity(scope: Scope, trusted_hops: int) -> str:
    """`user:<sub>` for a token the app's verifier accepts, else `ip:<client>`.

    Only a verified subject picks a user's bucket, so a forged token cannot spend (or
    reset) someone else's allowance; a request whose token fails counts against its
    address, which is what bounds token guessing.
    """
    authorization = _header_values(scope, b"authorization")
    token = bearer_token(authorization[0] if authorization else "")
    verifier: TokenVerifier | None = scope["app"].state.get("token_verifier")
    if token is not None and verifier is not None:
        try:
            subject = await verifier.verify(token)
        except DomainError:
            pass
        else:
            remember_subject(scope, subject)
            return "user:" + subject
    return "ip:" + client_address(scope, trusted_hops)


def rate_headers(decision: RateDecision, rate: Rate) -> list[tuple[bytes, bytes]]:
    """RateLimit-* as in the IETF httpapi draft, with the window in whole seconds."""
    window = max(round(rate.window_seconds), 1)
    return [
        (b"ratelimit-limit", str(decision.limit).encode()),
        (b"ratelimit-remaining", str(decision.remaining).encode()),
        (b"ratelimit-reset", str(decision.reset_seconds).encode()),
        (b"ratelimit-policy", f"{rate.limit};w={window}".encode()),
    ]


@dataclass
class _FailureLog:
    """Logs a store outage once per interval with a count, not once per request."""

    interval: float = LOG_EVERY_SECONDS
    _next_at: float = 0.0
    _suppressed: int = field(default=0)

    def report(self, error: Unavailable, *, fail_open: bool) -> None:
        now = time.monotonic()
        if now < self._next_at:
            self._suppressed += 1
            return
        log.warning(
            "rate_limit.store_unavailable",
            error=error.message,
            action="allowed" if fail_open else "refused",
            suppressed_since_last=self._suppressed,
        )
        self._next_at, self._suppressed = now + self.interval, 0


class RateLimitMiddleware:
    """Counts every non-exempt request against its identity's bucket(s) before routing on.

    It runs outside the /api auth middleware so that requests which end up 401 still
    count (against their address); it verifies the token itself to find the user, which
    costs one extra signature check and no I/O. When the store fails, `fail_open` lets
    the request through (logged, see README) or answers 503.
    """

    def __init__(
        self,
        limiter: Callable[[], RateLimiter],
        default: Rate,
        named: Mapping[str, Rate],
        *,
        trusted_hops: int = 0,
        fail_open: bool = True,
    ) -> None:
        self._provide = limiter
        self._limiter: RateLimiter | None = None
        self._default = default
        self._named = dict(named)
        self._hops = trusted_hops
        self._fail_open = fail_open
        self._failures = _FailureLog()

    def __call__(self, app: ASGIApp) -> ASGIApp:
        """Wrap one route's stack (Litestar calls this once per route)."""

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope["path"]
            if scope["type"] != ScopeType.HTTP or path.startswith(EXEMPT_PREFIXES):
                await app(scope, receive, send)
                return
            await self._limit(app, scope, receive, send)

        return middleware

    def _rates(self, scope: Scope) -> list[tuple[str, Rate]]:
        rates = [("default", self._default)]
        if name := scope["route_handler"].opt.get(RATE_LIMIT_OPT):
            rates.append((name, self._named[name]))
        return rates

    async def _limit(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        if self._limiter is None:
            self._limiter = self._provide()
        who = await identity(scope, self._hops)
        checks = self._rates(scope)
        try:
            decisions = [
                (await self._limiter.hit(f"{name}:{who}", rate), rate) for name, rate in checks
            ]
        except Unavailable as error:
            self._failures.report(error, fail_open=self._fail_open)
            if self._fail_open:
                await app(scope, receive, send)
                return
            detail = "rate limiting is unavailable; try again shortly"
            response = problem(503, detail, slug="unavailable", headers={"Retry-After": "5"})
            await response.to_asgi_response(None, Request(scope))(scope, receive, send)
            return
        if denied := [pair for pair in decisions if not pair[0].allowed]:
            await _too_many(scope, receive, send, *max(denied, key=lambda p: p[0].reset_after))
            return
        extra = rate_headers(*min(decisions, key=lambda pair: pair[0].remaining))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await app(scope, receive, send_with_headers)


async def _too_many(
    scope: Scope, receive: Receive, send: Send, decision: RateDecision, rate: Rate
) -> None:
    """429 as problem details, with Retry-After and the RateLimit-* of the rate that denied."""
    headers = {name.decode(): value.decode() for name, value in rate_headers(decision, rate)}
    headers["Retry-After"] = str(decision.reset_seconds)
    detail = (
        f"rate limit of {rate.limit} requests per {rate.window_seconds:g}s exceeded; "
        f"retry in {decision.reset_seconds}s"
    )
    response = problem(429, detail, slug="rate-limited", headers=headers)
    await response.to_asgi_response(None, Request(scope))(scope, receive, send)


def rate_limiting(container: Container) -> list[RateLimitMiddleware]:
    """The app's rate-limit middleware from settings; none at all when switched off."""
    settings = container.settings()
    if not settings.rate_limit_enabled:
        return []
    named = {CAMPAIGN_CREATE: Rate.parse(settings.rate_limit_campaign_create)}
    return [
        RateLimitMiddleware(
            container.rate_limiter,
            Rate.parse(settings.rate_limit_default),
            named,
            trusted_hops=settings.trusted_proxy_hops,
            fail_open=settings.rate_limit_fail_open,
        )
    ]
