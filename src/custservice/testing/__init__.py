"""Tools for testing code built on ``custservice``, and for plugin authors.

- :mod:`custservice.testing.strategies`: Hypothesis strategies for every
  domain object, for your own property tests. Needs ``hypothesis``.
- :class:`StoreConformance`: the conformance kit, a pytest base class that
  checks a storage backend keeps the whole storage contract. Needs
  ``pytest`` and ``hypothesis``; it is imported when first used, so
  ``from custservice.testing import strategies`` works without pytest.
- :class:`AsyncStoreConformance`: the same kit, on an async store.

``custservice`` itself never imports this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .async_conformance import AsyncStoreConformance
    from .conformance import StoreConformance

__all__ = ["AsyncStoreConformance", "StoreConformance", "strategies"]


def __getattr__(name: str) -> Any:
    if name == "AsyncStoreConformance":
        from .async_conformance import AsyncStoreConformance

        return AsyncStoreConformance
    if name == "StoreConformance":
        from .conformance import StoreConformance

        return StoreConformance
    if name == "strategies":
        return importlib.import_module(".strategies", __name__)
    raise AttributeError(f"module 'custservice.testing' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
