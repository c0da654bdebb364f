"""Analytics on an async store: the same functions, awaited.

``await scorecard(async_store, by="channel")`` runs :func:`scorecard` on the
blocking store the async one drives, through
:meth:`~custservice.storage.asynchronous.AsyncStore.run_sync`: on a SQL store
in SQLAlchemy's greenlets, so its every wait for the database is awaited
and the event loop goes on meanwhile. Each analysis is written once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from ..storage.asynchronous import AsyncStore

__all__ = ["accepts_async_store"]

S = TypeVar("S")
P = ParamSpec("P")
T = TypeVar("T")


class _Analysis(Generic[S, P, T]):
    """An analysis taking a store (or what else it takes) first, or an async store,
    whose result is then awaited."""

    def __init__(self, fn: Callable[Concatenate[S, P], T]) -> None:
        self._fn = fn
        functools.update_wrapper(self, fn)

    @overload
    def __call__(
        self, source: AsyncStore, /, *args: P.args, **kwargs: P.kwargs
    ) -> Coroutine[Any, Any, T]: ...

    @overload
    def __call__(self, source: S, /, *args: P.args, **kwargs: P.kwargs) -> T: ...

    def __call__(self, source: Any, /, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, AsyncStore):
            blocking = cast(S, source.sync)  # what the analysis reads: a store
            return source.run_sync(functools.partial(self._fn, blocking, *args, **kwargs))
        return self._fn(source, *args, **kwargs)

    def __repr__(self) -> str:
        return repr(self._fn)

    def __reduce__(self) -> str:
        # Pickled by name, as the function it wraps would be: it is what its module holds.
        return self._fn.__qualname__


def accepts_async_store(fn: Callable[Concatenate[S, P], T]) -> _Analysis[S, P, T]:
    """Let ``fn``, an analysis of a store given first, take an :class:`AsyncStore` too.

    Given one, the call returns a coroutine of ``fn``'s result, run on the
    blocking store the async one drives without blocking the event loop.
    """
    return _Analysis(fn)
