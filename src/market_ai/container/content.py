"""Content: what writes copy and summaries, where the results are kept, and what they may cost.

OPENAI_API_KEY chooses OpenAI or the offline generator, and analyses are summarised by the
same choice: OpenAI under the spend rules content generation follows (a reservation per
attempt), or, on the embedded default, sentences from the figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dependency_injector import containers, providers

from market_ai.container.lazy import lazy
from market_ai.domain.analysis_summary import ModelSummaryWriter, summary_policy
from market_ai.domain.spend import usd_to_micros
from market_ai.domain.spend_guard import SpendGuard, SpendMeter, SpendPolicy

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from market_ai.adapters.openai.generator import OpenAIContentGenerator
    from market_ai.container.infrastructure import StorageKind
    from market_ai.domain.ports import Clock
    from market_ai.settings import Settings

GeneratorKind = Literal["openai", "offline"]


def generator_kind(settings: Settings) -> GeneratorKind:
    """OPENAI_API_KEY selects OpenAI; without it the offline generator (labelled, free)."""
    return "openai" if settings.openai_api_key is not None else "offline"


def openai_generator(settings: Settings) -> OpenAIContentGenerator:
    """The SDK client from OPENAI_API_KEY, OPENAI_BASE_URL and OPENAI_TIMEOUT_SECONDS."""
    from market_ai.adapters.openai.generator import (  # noqa: PLC0415 - only with a key
        OpenAIContentGenerator,
        create_client,
    )

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return OpenAIContentGenerator(
        create_client(key, settings.openai_base_url, settings.openai_timeout_seconds)
    )


def spend_policy(settings: Settings) -> SpendPolicy:
    """The bounds of every call and the limits spend is held to, from settings."""
    return SpendPolicy(
        model=settings.default_model,
        max_output_tokens=settings.openai_max_output_tokens,
        max_tool_calls=settings.openai_max_tool_calls,
        request_limit_micros=usd_to_micros(settings.max_budget_per_request),
        user_limit_micros=settings.user_budget_micros,
        period=settings.budget_period,
        call_timeout_seconds=settings.openai_timeout_seconds,
        vector_store_id=settings.openai_vector_store_id,
        max_results=settings.file_search_max_results,
        chunk_tokens=settings.file_search_chunk_tokens,
    )


def summary_spend_policy(settings: Settings) -> SpendPolicy:
    """The content policy narrowed for analysis summaries (short output, no file_search)."""
    return summary_policy(spend_policy(settings))


def spend_meter(settings: Settings) -> SpendMeter | None:
    """With metrics on, every answered AI call counts its tokens and USD by model."""
    if not settings.metrics_on:
        return None
    from market_ai.observability.metrics import record_spend  # noqa: PLC0415

    return record_spend


class Content(containers.DeclarativeContainer):
    """Generator, content store, spend ledger, price table, spend guard, summary writer."""

    settings: providers.Dependency[Settings] = providers.Dependency()
    clock: providers.Dependency[Clock] = providers.Dependency()
    storage: providers.Dependency[StorageKind] = providers.Dependency()
    engine: providers.Dependency[AsyncEngine] = providers.Dependency()

    content_generator_kind = providers.Callable(generator_kind, settings)
    content_generator = providers.Selector(
        content_generator_kind,
        openai=providers.Singleton(openai_generator, settings),
        offline=providers.Singleton(
            lazy("market_ai.adapters.memory.offline_generator:OfflineContentGenerator")
        ),
    )
    content_store = providers.Selector(
        storage,
        sql=providers.Singleton(lazy("market_ai.adapters.sql.content:SqlContentStore"), engine),
        memory=providers.Singleton(lazy("market_ai.adapters.memory.content:InMemoryContentStore")),
    )
    spend_ledger = providers.Selector(
        storage,
        sql=providers.Singleton(lazy("market_ai.adapters.sql.spend_ledger:SqlSpendLedger"), engine),
        memory=providers.Singleton(lazy("market_ai.adapters.memory.content:InMemorySpendLedger")),
    )
    price_table = providers.Singleton(settings.provided.price_table.call())
    spend_guard = providers.Factory(
        SpendGuard,
        ledger=spend_ledger,
        prices=price_table,
        clock=clock,
        policy=providers.Singleton(spend_policy, settings),
        meter=providers.Singleton(spend_meter, settings),
    )
    summary_writer = providers.Selector(
        content_generator_kind,
        openai=providers.Factory(
            ModelSummaryWriter,
            generator=content_generator,
            guard=providers.Factory(
                SpendGuard,
                ledger=spend_ledger,
                prices=price_table,
                clock=clock,
                policy=providers.Singleton(summary_spend_policy, settings),
                meter=providers.Singleton(spend_meter, settings),
            ),
        ),
        offline=providers.Singleton(
            lazy("market_ai.adapters.memory.offline_summary:OfflineSummaryWriter")
        ),
    )
