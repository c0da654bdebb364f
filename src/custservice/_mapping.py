"""The read-only mapping every mapping field of a public value holds."""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, TypeVar, final, overload

__all__ = ["FrozenMap", "freeze", "own"]

K = TypeVar("K")
V_co = TypeVar("V_co", covariant=True)
D = TypeVar("D")


@final
class FrozenMap(Mapping[K, V_co]):
    """An immutable mapping: read like a dict, never changed.

    ``types.MappingProxyType`` is read-only too, but it can be neither
    pickled nor deep-copied, so a value holding one cannot be copied or
    returned from a worker process. A ``FrozenMap`` pickles and copies to an
    equal value, equals any mapping with the same items (a ``dict`` too),
    and is hashable when its values are.

    Args:
        items: a mapping, or ``(key, value)`` pairs, to copy.

    Raises:
        TypeError: on any attempt to change it (``m[k] = v``, ``del m[k]``).

    Examples:
        >>> from custservice._mapping import FrozenMap
        >>> m = FrozenMap({"a": 1})
        >>> m["a"], m == {"a": 1}
        (1, True)
    """

    __slots__ = ("_data",)

    _data: dict[K, V_co]

    def __init__(self, items: Mapping[K, V_co] | Iterable[tuple[K, V_co]] = ()) -> None:
        self._data = dict(items)

    def __getitem__(self, key: K) -> V_co:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    @overload
    def get(self, key: K, /) -> V_co | None: ...

    @overload
    def get(self, key: K, /, default: V_co | D) -> V_co | D: ...

    def get(self, key: K, /, default: object = None) -> object:
        return self._data.get(key, default)

    # The dict's own views: as read-only as the mapping, and iterated at C speed.
    def keys(self) -> KeysView[K]:
        return self._data.keys()

    def values(self) -> ValuesView[V_co]:
        return self._data.values()

    def items(self) -> ItemsView[K, V_co]:
        return self._data.items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FrozenMap):
            return self._data == other._data
        if isinstance(other, dict):
            return self._data == other
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._data,))

    def __copy__(self) -> FrozenMap[K, V_co]:
        return self  # immutable: a copy would be indistinguishable


def own(data: dict[K, V_co]) -> FrozenMap[K, V_co]:
    """``data`` made read-only without copying it; the caller must not keep or change it."""
    frozen: FrozenMap[K, V_co] = object.__new__(FrozenMap)
    frozen._data = data
    return frozen


def freeze(value: object) -> Any:
    """A mapping as a :class:`FrozenMap` (copied unless it is one); anything else as it is.

    For attrs converters: a value of the wrong kind is left for the class's
    own checks to report.
    """
    if isinstance(value, FrozenMap):
        return value
    if isinstance(value, Mapping):
        return own(dict(value.items()))
    return value
