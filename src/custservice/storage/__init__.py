"""Storage: protocols every backend follows, the backend registry, and the built-in backends.

Backend modules (``memory``, ``sqlite``, ``postgres``) are imported only
when their URL scheme is first opened.
"""

from .migration import metadata, migrate
from .protocols import (
    ChangeEvent,
    CustomerRepository,
    EventFeed,
    LinkedRepository,
    Repository,
    Store,
)
from .registry import available_backends, open_store

__all__ = [
    "ChangeEvent",
    "CustomerRepository",
    "EventFeed",
    "LinkedRepository",
    "Repository",
    "Store",
    "available_backends",
    "metadata",
    "migrate",
    "open_store",
]
