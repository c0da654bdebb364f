"""What a field's type is in the plain-data form: one walk over types, for every reader.

The converter writes a value by its type; :func:`shape` says which of the
plain-data forms a type takes, so the fast codec's generated functions
(``_codegen``) and the JSON Schema (``_schema``) read the classes the same
way. A type that has no plain-data form raises ``TypeError`` naming the field.
"""

from __future__ import annotations

import collections.abc as abc
import datetime as dt
import enum
import functools
import operator
import types
import uuid
from typing import Any, Literal, NamedTuple, Union, get_args, get_origin

import attrs
import pendulum

from .._desk import ATTRIBUTE_TYPES
from ..lifecycle import History, State
from ..pipelines import CasePipeline

__all__ = ["Shape", "init_fields", "shape"]

_SEQUENCES = frozenset({tuple, list, abc.Sequence, abc.MutableSequence})
_SETS = frozenset({frozenset, set, abc.Set, abc.MutableSet})
_MAPPINGS = frozenset({dict, abc.Mapping, abc.MutableMapping})
_NONE = type(None)
_TEXT_KEYS = frozenset({"text", "member", "name"})


class Shape(NamedTuple):
    """The plain-data form of a type.

    ``kind`` is one of:

    - ``"text"``: a string (``args``: the allowed values of a ``Literal``, or empty);
    - ``"flag"``, ``"whole"``, ``"number"``: ``true``/``false``, an integer, any number;
    - ``"instant"``, ``"day"``, ``"time"``, ``"span"``, ``"id"``: text as the converter
      writes datetimes (zone in brackets), dates, times of day, durations and UUIDs;
    - ``"member"``: an enum's value (``args``: the enum, whose values are text);
    - ``"name"``: a member of a text enum or any other name (``args``: the enum);
    - ``"state"``: a lifecycle state (text, or ``{"enum": ..., "name": ...}``);
    - ``"attribute"``: a custom attribute's value (dates and instants tagged);
    - ``"level"``: a number, or a duration as text;
    - ``"optional"``: ``null`` or a value (``args``: the value's type);
    - ``"list"``: ``args`` the collection's origin and the items' type;
    - ``"tuple"``: a list of so many items (``args``: their types);
    - ``"set"``: a sorted list of distinct items (``args``: the origin and the items' type);
    - ``"mapping"``: an object (``args``: the origin, the keys' and the values' types);
    - ``"history"``: the list of a lifecycle position's changes;
    - ``"pipeline"``: a case pipeline, written as its name;
    - ``"record"``: an attrs class, written as its fields (``args``: the class).
    """

    kind: str
    args: tuple[Any, ...] = ()


def shape(tp: Any, where: str) -> Shape:
    """The plain-data form of ``tp``, the type of field ``where`` (``"Case.tags"``).

    Raises:
        TypeError: ``tp`` has no plain-data form; the message names ``where``.
    """
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, types.UnionType):
        return _union(args, where)
    if origin is Literal and all(isinstance(a, str) for a in args):
        return Shape("text", args)
    simple = _SIMPLE.get(tp)
    if simple is not None:
        return Shape(simple)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if all(isinstance(m.value, str) for m in tp):
            return Shape("member", (tp,))
        raise TypeError(f"the stored form cannot hold {where}: {tp!r} has values other than text")
    if tp is History:
        return Shape("history")
    if tp is CasePipeline:
        return Shape("pipeline")
    if origin is tuple and args and args[-1] is not Ellipsis:
        return Shape("tuple", args)
    if origin in _SEQUENCES:
        return Shape("list", (origin, args[0] if args else Any))
    if origin in _SETS and args:
        return Shape("set", (origin, args[0]))
    if origin in _MAPPINGS and len(args) == 2:
        if shape(args[0], f"{where} keys").kind not in _TEXT_KEYS:
            raise TypeError(f"the stored form cannot hold {where}: its keys are not text")
        return Shape("mapping", (origin, *args))
    if isinstance(tp, type) and attrs.has(tp):
        return Shape("record", (tp,))
    raise TypeError(f"the stored form cannot hold {where}: {tp!r}")


_SIMPLE: dict[Any, str] = {
    str: "text",
    bool: "flag",
    int: "whole",
    float: "number",
    pendulum.DateTime: "instant",
    dt.datetime: "instant",
    pendulum.Date: "day",
    dt.date: "day",
    dt.time: "time",
    pendulum.Duration: "span",
    dt.timedelta: "span",
    uuid.UUID: "id",
}


def _union(args: tuple[Any, ...], where: str) -> Shape:
    options = [a for a in args if a is not _NONE]
    if len(options) < len(args):  # optional: null, or the value
        return Shape("optional", (functools.reduce(operator.or_, options),))
    if set(options) == set(get_args(State)):
        return Shape("state")
    enums = [a for a in options if isinstance(a, type) and issubclass(a, enum.StrEnum)]
    if len(enums) == 1 and set(options) == {enums[0], str}:  # a member, or any other name
        return Shape("name", (enums[0],))
    if set(options) == ATTRIBUTE_TYPES:  # a custom attribute: dates and instants tagged
        return Shape("attribute")
    if set(options) == {int, float, dt.timedelta}:  # a number, or a duration as text
        return Shape("level")
    raise TypeError(f"the stored form cannot hold {where}: {' | '.join(map(repr, args))}")


def init_fields(cls: type) -> list[Any]:
    """The fields of ``cls`` that ``__init__`` takes, their types resolved: the keys the
    converter writes and reads, in this order."""
    attrs.resolve_types(cls)
    return [f for f in attrs.fields(cls) if f.init]
