"""Cache and conditional-request settings: how long computed reads live, where they live."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings


class CacheSettings(BaseSettings):
    """CACHE_*, REQUIRE_IF_MATCH; `Settings` inherits them, env names stay flat.

    `auto` shares the cache through Redis when REDIS_URL is set and keeps it in the process
    otherwise (the embedded default is one process; `serve --workers N` without Redis turns
    it off, as processes could not tell each other about writes).
    """

    cache_backend: Literal["auto", "redis", "memory", "off"] = "auto"
    cache_ttl_seconds: float = Field(default=300.0, gt=0, le=86_400)
    cache_claim_seconds: float = Field(default=2.0, gt=0, le=60)
    cache_timeout_seconds: float = Field(default=0.25, gt=0, le=10)
    require_if_match: bool = False

    @model_validator(mode="after")
    def _redis_needs_a_url(self) -> Self:
        if self.cache_backend == "redis" and getattr(self, "redis_url", None) is None:
            raise ValueError("CACHE_BACKEND=redis needs REDIS_URL")
        return self
