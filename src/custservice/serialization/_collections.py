"""Structure hooks for lists, tuples, sets and mappings that refuse a value of the wrong shape.

cattrs reads any iterable as a list and anything with ``.items()`` as a
mapping: "chess" became {'c', 'h', 'e', 's'}, and an object where a list
belongs became its keys. These hooks refuse a value of the wrong shape as a
whole, then read every item, naming each one that is wrong.
"""

from __future__ import annotations

import collections.abc as abc
from collections.abc import Callable, Mapping
from typing import Any, get_args, get_origin

from ..errors import Problem, ValidationError
from ._paths import path_step, problems_of

__all__ = ["collection_hook", "is_collection"]


_SEQUENCES: frozenset[Any] = frozenset({list, tuple, abc.Sequence, abc.MutableSequence})
_SETS: frozenset[Any] = frozenset({set, frozenset, abc.Set, abc.MutableSet})
_MAPPINGS: frozenset[Any] = frozenset({dict, abc.Mapping, abc.MutableMapping})
_NOT_LISTS = (str, bytes, bytearray, memoryview, Mapping)


def is_collection(t: Any) -> bool:
    """Whether ``t`` is a list, tuple, set or mapping type (``tuple[Handoff, ...]``)."""
    origin = get_origin(t) or t
    return origin in _SEQUENCES or origin in _SETS or origin in _MAPPINGS


def _items(value: object, *, unordered: bool) -> list[Any] | tuple[Any, ...]:
    """The items of a list in the input (or of a set, where order does not matter).

    Raises:
        ValidationError: ``value`` is text, bytes, a mapping, an unordered
            collection where order matters, or no collection at all.
    """
    kind = type(value)
    if kind is list or kind is tuple:
        return value  # type: ignore[return-value]
    if not isinstance(value, _NOT_LISTS) and isinstance(
        value, abc.Sequence | abc.Set if unordered else abc.Sequence
    ):
        return list(value)
    raise ValidationError(f"expected a list, got {kind.__name__}")


def _rest(
    exc: Exception,
    items: list[Any] | tuple[Any, ...],
    done: int,
    reads: Callable[[int], tuple[Callable[[Any, Any], Any], Any]],
) -> ValidationError:
    """Item ``done`` raised ``exc``: every problem of it and of the items after it.

    Args:
        exc: what reading item ``done`` raised.
        items: all the items.
        done: how many items read well before it.
        reads: for a position, the hook that reads the item there and its type.
    """
    problems = problems_of(exc, f"[{done}]")
    for i in range(done + 1, len(items)):
        read, item_type = reads(i)
        try:
            read(items[i], item_type)
        except Exception as more:  # one item's error, whatever it is: go on to the next
            problems.extend(problems_of(more, f"[{i}]"))
    return ValidationError(problems)


def collection_hook(conv: Any, t: Any) -> Callable[[object, object], Any]:
    """The structure hook of a list, tuple, set or mapping type.

    Item hooks are looked up on first use, so a record type that holds
    itself (a scorecard's groups) needs no special case.

    Args:
        conv: the converter, to find the hooks of the items.
        t: the collection type (``tuple[Handoff, ...]``, ``frozenset[str]``, ...).
    """
    origin = get_origin(t) or t
    args = get_args(t)
    if origin in _MAPPINGS:
        return _mapping_hook(conv, *(args or (Any, Any)))
    if origin is tuple and args and args[-1] is not Ellipsis:
        return _fixed_tuple_hook(conv, args)
    item_type = args[0] if args else Any
    unordered = origin in _SETS
    build: Callable[[list[Any]], Any]
    if unordered:
        build = set if origin in (set, abc.MutableSet) else frozenset
    elif origin in (list, abc.MutableSequence):
        build = _same
    else:
        build = tuple
    hooks: list[Callable[[Any, Any], Any]] = []

    def structure(value: object, _: object) -> Any:
        items: list[Any] | tuple[Any, ...]
        if type(value) is list or type(value) is tuple:
            items = value
        else:
            items = _items(value, unordered=unordered)
        if not hooks:
            hooks.append(conv.get_structure_hook(item_type))
        read = hooks[0]
        out: list[Any] = []
        append = out.append
        try:
            for item in items:
                append(read(item, item_type))
        except Exception as exc:  # name this item's problem, and every later one's
            raise _rest(exc, items, len(out), lambda _: (read, item_type)) from None
        return build(out)

    return structure


def _same(items: list[Any]) -> list[Any]:
    return items


def _fixed_tuple_hook(conv: Any, types: tuple[Any, ...]) -> Callable[[object, object], Any]:
    """The structure hook of a tuple of so many items of given types (``tuple[time, time]``)."""
    size = len(types)
    hooks: list[Callable[[Any, Any], Any]] = []

    def structure(value: object, _: object) -> tuple[Any, ...]:
        items: list[Any] | tuple[Any, ...]
        if type(value) is list or type(value) is tuple:
            items = value
        else:
            items = _items(value, unordered=False)
        if len(items) != size:
            raise ValidationError(f"expected a list of {size} items, got {len(items)}")
        if not hooks:
            hooks.extend(conv.get_structure_hook(t) for t in types)
        out: list[Any] = []
        try:
            for i in range(size):  # by position: faster here than zip over three sequences
                out.append(hooks[i](items[i], types[i]))
        except Exception as exc:  # name this item's problem, and every later one's
            raise _rest(exc, items, len(out), lambda i: (hooks[i], types[i])) from None
        return tuple(out)

    return structure


def _mapping_hook(conv: Any, key_type: Any, value_type: Any) -> Callable[[object, object], Any]:
    """The structure hook of a mapping type (``Mapping[Factor, int]``).

    A wrong key and a wrong value are both named, at the entry's path.
    """
    hooks: list[Callable[[Any, Any], Any]] = []

    def structure(value: object, _: object) -> dict[Any, Any]:
        if not isinstance(value, Mapping):
            raise ValidationError(f"expected an object, got {type(value).__name__}")
        if not hooks:
            hooks.extend((conv.get_structure_hook(key_type), conv.get_structure_hook(value_type)))
        read_key, read_value = hooks
        out: dict[Any, Any] = {}
        problems: list[Problem] = []
        rest = iter(value.items())
        key: object = None
        item: object = None
        stage = 0  # 1 while the key is read, 2 while its value is
        while True:
            try:
                for key, item in rest:
                    stage = 1
                    read = read_key(key, key_type)
                    stage = 2
                    out[read] = read_value(item, value_type)
                stage = 0
            except Exception as exc:  # one entry's error, whatever it is: go on to the next
                where = "" if stage == 0 else path_step(key)
                problems.extend(problems_of(exc, where))
                if stage == 1:  # the key was wrong: its value may be wrong too
                    try:
                        read_value(item, value_type)
                    except Exception as also:
                        problems.extend(problems_of(also, where))
                elif stage == 0:  # the mapping itself could not be read through
                    break
                stage = 0
            else:
                break
        if problems:
            raise ValidationError(problems)
        return out

    return structure
