"""The public unsubscribe route: GET confirms, POST (RFC 8058 one-click) suppresses."""

from __future__ import annotations

from html import escape
from typing import Any, Final

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from market_ai.domain.errors import InvalidInput
from market_ai.domain.unsubscribe import UnsubscribeService
from market_ai.entrypoints.http.problem_docs import problem_responses

Unsubscribes = NamedDependency[UnsubscribeService]
Token = FromPath[str]
ONE_CLICK: Final = "One-Click"
_PAGE: Final = (
    "<!doctype html><html lang=en><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width'><title>Unsubscribe</title>"
    "<body style='font-family:sans-serif;max-width:32em;margin:3em auto'>{}</body></html>"
)


def _page(inner: str) -> Response[str]:
    return Response(
        _PAGE.format(inner),
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


class UnsubscribeController(Controller):
    """No sign-in: the link's signature is the proof. A GET never changes anything.

    Mail scanners and link previews fetch GETs, so the GET only shows a button; the POST
    (the button, or the mailbox provider's one-click request) adds the address to the
    sender's suppression list. A forged or damaged token is a 422 naming `token`.
    """

    path = "/unsubscribe/{token:str}"
    tags = ["email"]  # noqa: RUF012 - Litestar reads this class attribute

    @get("/", responses=problem_responses(422), cache=False)
    async def confirm(self, unsubscribes: Unsubscribes, token: Token) -> Response[str]:
        """A page with one button that POSTs the one-click body back here."""
        found = unsubscribes.check(token)
        return _page(
            f"<p>Stop emails to <b>{escape(found.address)}</b> from this sender?</p>"
            "<form method=post><input type=hidden name=List-Unsubscribe value=One-Click>"
            "<button type=submit>Unsubscribe</button></form>"
        )

    @post("/", status_code=200, responses=problem_responses(422))
    async def unsubscribe(
        self, unsubscribes: Unsubscribes, token: Token, request: Request[Any, Any, Any]
    ) -> Response[str]:
        """RFC 8058: the body is `List-Unsubscribe=One-Click` (urlencoded or multipart)."""
        form = await request.form()
        if form.get("List-Unsubscribe") != ONE_CLICK:
            raise InvalidInput("List-Unsubscribe", f"must be {ONE_CLICK!r} (RFC 8058)")
        found = await unsubscribes.unsubscribe(token)
        return _page(
            f"<p><b>{escape(found.address)}</b> will get no more emails from this sender.</p>"
        )
