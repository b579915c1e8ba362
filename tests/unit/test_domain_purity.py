"""The domain imports no framework, driver or outer layer: it stays testable and portable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import market_ai.domain

DOMAIN_DIR = Path(market_ai.domain.__file__).parent
FORBIDDEN = (
    "litestar",
    "sqlalchemy",
    "redis",
    "openai",
    "psycopg",
    "aiosqlite",
    "hypercorn",
    "structlog",
    "dependency_injector",
    "pydantic",
    "pydantic_settings",
    "msgspec",
    "httpx",
    "jwt",
    "market_ai.adapters",
    "market_ai.entrypoints",
    "market_ai.container",
    "market_ai.settings",
)


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


def forbidden_imports(source: str, package: str = "market_ai.domain") -> list[str]:
    """Every module `source` imports that the domain must not (relative imports resolved)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            modules = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.extend(m for m in modules if _is_forbidden(m))
    return found


def _domain_files() -> list[Path]:
    return sorted(DOMAIN_DIR.rglob("*.py"))


def test_the_scan_finds_the_domain_modules() -> None:
    names = {p.name for p in _domain_files()}
    assert {"__init__.py", "campaigns.py", "campaign_service.py", "ports.py", "errors.py"} <= names


@pytest.mark.parametrize("path", _domain_files(), ids=lambda p: p.name)
def test_domain_module_imports_nothing_forbidden(path: Path) -> None:
    package = ".".join(["market_ai", "domain", *path.relative_to(DOMAIN_DIR).parent.parts])
    assert forbidden_imports(path.read_text(encoding="utf-8"), package) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import sqlalchemy",
        "import redis.asyncio as r",
        "from litestar import Litestar",
        "from pydantic_settings import BaseSettings",
        "from market_ai.adapters.sql.campaigns import SqlCampaignRepository",
        "from market_ai import settings",
        "from market_ai import container as c",
        "from .. import entrypoints",
        "if TYPE_CHECKING:\n    from msgspec import Struct",
        "def f() -> None:\n    import jwt",
    ],
)
def test_the_scanner_catches_forbidden_imports(snippet: str) -> None:
    assert forbidden_imports(snippet) != []


@pytest.mark.parametrize(
    "snippet",
    [
        "import asyncio",
        "from decimal import Decimal",
        "from market_ai.domain.errors import NotFound",
        "from . import errors",
        "import redistribute",
        "import jwtlike",
        "from market_ai import domain",
    ],
)
def test_the_scanner_lets_allowed_imports_through(snippet: str) -> None:
    assert forbidden_imports(snippet) == []
