"""In-process adapters: the embedded defaults and the fakes library users test with."""

from market_ai.adapters.memory.campaigns import InMemoryCampaignRepository
from market_ai.adapters.memory.metrics import InMemoryMetricsRepository
from market_ai.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork

__all__ = [
    "InMemoryCampaignRepository",
    "InMemoryMetricsRepository",
    "InMemoryStore",
    "InMemoryUnitOfWork",
]
