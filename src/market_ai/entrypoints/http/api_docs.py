"""The OpenAPI documents and docs pages, rendered once per process instead of per request.

Litestar keeps the schema but renders its YAML (70-90 ms of blocking CPU) and the pages
again for every request; the routes are public and not rate limited, so a burst of them
stalled every other answer, `/health` included. The schema cannot change while the
process runs, so each rendering is kept after the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin

if TYPE_CHECKING:
    from litestar import Request, Router


class RenderedOnce(OpenAPIRenderPlugin):
    """Wraps one of Litestar's render plugins and keeps its first rendering."""

    def __init__(self, inner: OpenAPIRenderPlugin) -> None:
        super().__init__(path=inner.paths, media_type=inner.media_type)
        self._inner = inner
        self._rendered: bytes | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The same bytes every time: the schema and the app's routes are fixed."""
        if self._rendered is None:
            self._rendered = self._inner.render(request, openapi_schema)
        return self._rendered

    def receive_router(self, router: Router) -> None:
        """Let the inner plugin add its routes (Swagger's OAuth2 redirect page)."""
        self._inner.receive_router(router)


def api_docs(title: str, version: str) -> OpenAPIConfig:
    """Litestar's default documents and pages at /schema, each rendered once."""
    defaults = OpenAPIConfig(title=title, version=version, path="/schema")
    plugins = [RenderedOnce(plugin) for plugin in defaults.render_plugins]
    config = OpenAPIConfig(title=title, version=version, path="/schema", render_plugins=plugins)
    index = list(defaults.render_plugins).index(defaults.default_plugin)  # type: ignore[arg-type]
    config.default_plugin = plugins[index]  # the page /schema serves (ReDoc), as before
    return config
