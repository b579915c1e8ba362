"""`lazy("module:name")`: an adapter is imported when the container first builds it.

Settings select one adapter per port; importing every candidate at start would load the
OpenAI SDK with no key set, Redis on the embedded default, and so on: memory and start-up
time spent on code the process never runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy(path: str) -> Callable[..., Any]:
    """A stand-in for `module:name` that imports it on its first call, then calls it."""
    module_name, _, name = path.partition(":")
    target: Callable[..., Any] | None = None

    def build(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - whatever the target returns
        nonlocal target
        if target is None:
            target = getattr(importlib.import_module(module_name), name)
        return target(*args, **kwargs)

    build.__qualname__ = build.__name__ = path
    return build
