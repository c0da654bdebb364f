"""Plain data and JSON for every domain object, with an exact round trip.

One cattrs converter, built on first use (so importing ``custservice`` does
not pay for cattrs), with hooks for pendulum types: datetimes as ISO 8601
with the zone name in brackets, durations as ISO 8601 durations, dates as
ISO dates. Bad input gives one :class:`~custservice.ValidationError` that
lists every problem with its path: ``$``, then ``.name`` for a field or a key
that is a plain name, ``[3]`` for a position in a list and ``["gold tier"]``
for any other key (``$.lifecycle.history[1].at``, ``$.ratings.speed``).

Every hook reads the whole of its value before it gives up, and raises one
``ValidationError`` whose paths are relative to that value; the hook above
puts its own step in front. A collection of the wrong shape (text or an
object where a list belongs, anything but an object where an object belongs)
is refused as a whole, never read item by item.
"""

from __future__ import annotations

import collections.abc as abc
import datetime as dt
import enum
import functools
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, get_args, get_origin

import pendulum

from . import _time
from .errors import Problem, ValidationError

__all__ = ["from_dict", "from_json", "to_dict", "to_json"]

T = TypeVar("T")

_HOOKS: list[Callable[[Any], None]] = []


def register(configure: Callable[[Any], None]) -> Callable[[Any], None]:
    """Add a function that configures the converter when it is first built.

    Modules whose types need hooks of their own register them here, so the
    one converter knows every domain type without importing them all eagerly.
    """
    _HOOKS.append(configure)
    _converter.cache_clear()
    return configure


def to_dict(obj: object) -> Any:
    """``obj`` as plain data: dicts, lists, strings, numbers, ``None``.

    Examples:
        >>> to_dict(SATISFACTION_10)["high"]
        10
    """
    return _converter().unstructure(obj)


def from_dict(cls: type[T], data: object) -> T:
    """Rebuild a ``cls`` from the plain data :func:`to_dict` gave.

    Raises:
        ValidationError: ``data`` does not describe a valid ``cls``; every
            problem is listed with its path from the top (``$``).
    """
    try:
        return _converter().structure(data, cls)  # type: ignore[no-any-return]
    except RecursionError:
        raise ValidationError("input nested too deeply", field="$") from None
    except Exception as exc:
        raise ValidationError(_problems(exc, "$")) from None


def to_json(obj: object) -> str:
    """``obj`` as a JSON document."""
    return json.dumps(to_dict(obj), ensure_ascii=False, separators=(",", ":"))


def from_json(cls: type[T], text: str | bytes) -> T:
    """Rebuild a ``cls`` from :func:`to_json` output.

    Raises:
        ValidationError: the text is not JSON, or does not describe a valid ``cls``.
    """
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ValidationError(f"not valid JSON ({exc})", field="$") from None
    return from_dict(cls, data)


def _problems(exc: BaseException, path: str) -> list[Problem]:
    """``exc`` as problems, each path put after ``path``.

    Args:
        exc: what reading a value raised: a ``ValidationError`` (its paths
            relative to that value), one of cattrs' exception groups, or any
            other error.
        path: the path of the value that was read.
    """
    from cattrs.errors import (
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )

    if isinstance(exc, ValidationError):
        return [Problem(_join(path, p.path), p.message) for p in exc.problems]
    if isinstance(exc, RecursionError):
        return [Problem(path, "input nested too deeply")]
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        out = [q for e, note in with_notes for q in _problems(e, _join(path, note.name))]
        return out + [q for e in without for q in _problems(e, path)]
    if isinstance(exc, IterableValidationError):
        indexed, rest = exc.group_exceptions()
        found = [q for e, n in indexed for q in _problems(e, _join(path, _step(n.index)))]
        return found + [q for e in rest for q in _problems(e, path)]
    if isinstance(exc, BaseExceptionGroup):
        return [q for e in exc.exceptions for q in _problems(e, path)]
    if isinstance(exc, ForbiddenExtraKeysError):
        return [Problem(path, _unexpected(exc.extra_fields))]
    if isinstance(exc, KeyError):
        return [Problem(path, "required field missing")]
    return [Problem(path, f"invalid value ({type(exc).__name__}: {exc})"[:300])]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEAD = re.compile(r"[^.\[]*")


def _join(path: str, sub: str) -> str:
    """``sub``, a path relative to ``path``, put after it.

    ``$`` and ``name`` give ``$.name``; ``$.history`` and ``[1].at`` give
    ``$.history[1].at``; an empty ``sub`` is ``path`` itself.
    """
    if not sub:
        return path
    if not path or sub.startswith("["):
        return path + sub
    return f"{path}.{sub}"


def _step(key: object) -> str:
    """The path step to a mapping's entry (or a list's item): ``speed`` for a key
    that is a plain name, ``["gold tier"]`` for other text (written as JSON
    writes it, so no key can be mistaken for a path), ``[3]`` for a number."""
    if isinstance(key, str):
        return key if _NAME.fullmatch(key) else f"[{json.dumps(key, ensure_ascii=False)}]"
    return f"[{key!r}]"


def _unexpected(keys: Iterable[object]) -> str:
    # Keys of any type can come in, not only strings: name them all as text.
    return f"unexpected fields: {', '.join(sorted(map(str, keys)))}"


class _Unread:
    """Stands for a field that could not be read, when a record is built only to
    learn what its rules say about the other fields; no rule accepts it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unread>"


_UNREAD: Any = _Unread()


def _rules(build: Callable[..., object], values: dict[str, Any], failed: set[str]) -> list[Problem]:
    """What the rules of ``build`` say about the fields that did read.

    When some fields could not be read, a record is not built, but its rules
    may still find problems in the other fields: they are listed now rather
    than after the first ones are fixed. The fields in ``failed`` hold their
    default or a placeholder; what the rules say about those is dropped, as
    their own problems are already listed.

    Args:
        build: the record's class, or whatever builds it from keyword arguments.
        values: the keyword arguments: every field that read, and placeholders.
        failed: the names of the fields that could not be read.
    """
    try:
        build(**values)
    except ValidationError as exc:
        return [p for p in exc.problems if _head(p.path) not in failed]
    except Exception:  # a rule tripped over a placeholder: nothing more to learn
        return []
    return []


def _head(path: str) -> str:
    match = _HEAD.match(path)
    return match.group() if match else path


def _diagnosis(
    cls: type,
    data: Mapping[Any, Any],
    error: Any,
    fields: list[tuple[Any, Callable[[Any, Any], Any]]],
) -> ValidationError:
    """Every problem of a record whose generated structuring failed.

    Args:
        cls: the record's class.
        data: the object it was read from.
        error: the ``ClassValidationError`` that cattrs raised, holding each
            failed field's error with a note naming the field.
        fields: each ``attrs`` field that ``__init__`` takes, with the hook that reads it.
    """
    import attrs
    from cattrs.errors import ForbiddenExtraKeysError

    with_notes, without = error.group_exceptions()
    failed = {note.name for _, note in with_notes}
    if not failed and len(without) == 1 and not isinstance(without[0], ForbiddenExtraKeysError):
        refused = without[0]  # every field read, and the class refused them together
        return (
            refused
            if isinstance(refused, ValidationError)
            else ValidationError(_problems(refused, ""))
        )
    problems: list[Problem] = []
    for exc, note in with_notes:
        if note.name in data:
            problems.extend(_problems(exc, note.name))
        else:
            problems.append(Problem(note.name, "required field missing"))
    for exc in without:
        problems.extend(_problems(exc, ""))
    values: dict[str, Any] = {}
    for field, hook in fields:
        if field.name in failed:
            if field.default is attrs.NOTHING:
                values[field.alias] = _UNREAD
        elif field.name in data:
            try:
                values[field.alias] = hook(data[field.name], field.type)
            except Exception:  # read well a moment ago; if not now, ask the rules nothing
                return ValidationError(problems)
    return ValidationError(problems + _rules(cls, values, failed))


# --- collections ---------------------------------------------------------------
# cattrs reads any iterable as a list and anything with ``.items()`` as a
# mapping: "chess" became {'c', 'h', 'e', 's'}, and an object where a list
# belongs became its keys. These hooks refuse a value of the wrong shape as a
# whole, then read every item, naming each one that is wrong.

_SEQUENCES: frozenset[Any] = frozenset({list, tuple, abc.Sequence, abc.MutableSequence})
_SETS: frozenset[Any] = frozenset({set, frozenset, abc.Set, abc.MutableSet})
_MAPPINGS: frozenset[Any] = frozenset({dict, abc.Mapping, abc.MutableMapping})
_NOT_LISTS = (str, bytes, bytearray, memoryview, Mapping)


def _is_collection(t: Any) -> bool:
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
    problems = _problems(exc, f"[{done}]")
    for i in range(done + 1, len(items)):
        read, item_type = reads(i)
        try:
            read(items[i], item_type)
        except Exception as more:  # one item's error, whatever it is: go on to the next
            problems.extend(_problems(more, f"[{i}]"))
    return ValidationError(problems)


def _collection_hook(conv: Any, t: Any) -> Callable[[object, object], Any]:
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
                where = "" if stage == 0 else _step(key)
                problems.extend(_problems(exc, where))
                if stage == 1:  # the key was wrong: its value may be wrong too
                    try:
                        read_value(item, value_type)
                    except Exception as also:
                        problems.extend(_problems(also, where))
                elif stage == 0:  # the mapping itself could not be read through
                    break
                stage = 0
            else:
                break
        if problems:
            raise ValidationError(problems)
        return out

    return structure


_POSITION = re.compile(r"\[([0-9]+)\]")


def _chain_problems(conv: Any, data: list[Any] | tuple[Any, ...]) -> list[Problem]:
    """What a history's own rules say about the changes around those that did not read.

    A history checks each change against the one before it (it starts where
    that one ended, and not earlier), so every run of changes that did read
    is checked on its own: only the pairs that touch an unread change are left
    out, instead of every check waiting until the unread ones are fixed.

    Args:
        conv: the converter.
        data: the history's items as given, at least one of which did not read.
    """
    from .lifecycle import History, StateChange

    read: list[StateChange | None] = []
    for item in data:
        try:
            read.append(conv.structure(item, StateChange))
        except Exception:  # already listed with its path
            read.append(None)
    problems: list[Problem] = []
    start = 0
    while start < len(read):
        end = start
        while end < len(read) and read[end] is not None:
            end += 1
        if end - start > 1:
            try:
                History(read[start:end])  # type: ignore[arg-type]
            except ValidationError as exc:
                for p in exc.problems:
                    # Positions in the run, as positions in the whole history.
                    at = _POSITION.match(p.path)
                    if at is not None:
                        path = f"[{int(at.group(1)) + start}]{p.path[at.end() :]}"
                        problems.append(Problem(path, p.message))
        start = end + 1
    return problems


# --- hooks -------------------------------------------------------------------


def _structure_datetime(value: object, _: object) -> pendulum.DateTime:
    if isinstance(value, dt.datetime):
        return _time.aware(value, "")
    return _time.parse_datetime(value, "")


def _structure_date(value: object, _: object) -> pendulum.Date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pendulum.Date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            pass
        else:
            return pendulum.Date(d.year, d.month, d.day)
    raise ValidationError("expected an ISO 8601 date such as '2026-02-28'")


def _structure_time(value: object, _: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            t = dt.time.fromisoformat(value)
        except ValueError:
            pass
        else:
            if t.tzinfo is None:
                return t
    raise ValidationError("expected a time of day such as '08:30'")


def _structure_duration(value: object, _: object) -> pendulum.Duration:
    if isinstance(value, dt.timedelta):
        return _time.duration(value, "")
    return _time.parse_duration(value, "")


def _structure_uuid(value: object, _: object) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValidationError("expected a UUID string")


def _structure_str(value: object, _: object) -> str:
    # cattrs would call str() on anything; a number where text belongs is an error.
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"expected a whole number, got {type(value).__name__}")
    return value


def _structure_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"expected true or false, got {type(value).__name__}")
    return value


def _structure_float(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _structure_level(value: object, _: object) -> Any:
    # A band level is a number, or a duration written as an ISO 8601 string.
    if isinstance(value, str):
        return _time.parse_duration(value, "")
    if isinstance(value, bool) or not isinstance(value, int | float | dt.timedelta):
        raise ValidationError("expected a number or an ISO 8601 duration")
    return value


def _is_set_type(t: Any) -> bool:
    return t in (set, frozenset) or get_origin(t) in (set, frozenset)


def _sorted(items: list[Any]) -> list[Any]:
    # Sets serialize sorted, so equal sets always give identical text.
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


@functools.cache
def _record_lifecycles() -> dict[type, Any]:
    """The lifecycle each record's stored history must fit.

    Only restored data needs this check: objects built by the library's own
    verbs are correct by construction, so their constructors skip this walk
    of the whole history.
    """
    from .cases import Case
    from .customers import Customer
    from .interactions import Interaction
    from .lifecycles import CASE_LIFECYCLE, CUSTOMER_LIFECYCLE, INTERACTION_CYCLE

    return {
        Customer: CUSTOMER_LIFECYCLE,
        Interaction: INTERACTION_CYCLE,
        Case: CASE_LIFECYCLE,
    }


@functools.cache
def _converter() -> Any:
    import attrs
    import cattrs
    from cattrs.errors import ClassValidationError
    from cattrs.gen import make_dict_structure_fn, override

    from . import enums
    from ._validation import member
    from .expectations import ExpectationBand, Expectations, metric_key

    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    conv.register_unstructure_hook(dt.datetime, _time.format_datetime)
    conv.register_structure_hook(pendulum.DateTime, _structure_datetime)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.date, lambda d: d.isoformat())
    conv.register_structure_hook(pendulum.Date, _structure_date)
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(dt.time, lambda t: t.isoformat())
    conv.register_structure_hook(dt.time, _structure_time)
    conv.register_unstructure_hook(dt.timedelta, _time.format_duration)
    conv.register_structure_hook(pendulum.Duration, _structure_duration)
    conv.register_structure_hook(dt.timedelta, _structure_duration)
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_structure_hook(uuid.UUID, _structure_uuid)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_unstructure_hook_func(
        _is_set_type, lambda value: _sorted([conv.unstructure(v) for v in value])
    )
    # StrEnum before str: cattrs would otherwise pass members through as they are.
    conv.register_unstructure_hook(enum.StrEnum, lambda v: v.value)
    conv.register_unstructure_hook(enum.Enum, lambda v: v.value)
    conv.register_structure_hook(enum.StrEnum, lambda v, t: member(t, v, ""))
    conv.register_structure_hook(enum.Enum, lambda v, t: member(t, v, ""))

    # Registered after cattrs' own, so these are asked first.
    conv.register_structure_hook_factory(_is_collection, lambda t: _collection_hook(conv, t))

    from .lifecycle import Lifecycle, LifecycleState

    def fitting(lifecycle: Lifecycle) -> Callable[[object, object], LifecycleState]:
        # Checked as the field is read, so a history that does not fit is listed
        # with the record's other problems, not after they are fixed.
        def structure(data: object, _: object) -> LifecycleState:
            return lifecycle.validate(conv.structure(data, LifecycleState))

        return structure

    def attrs_structure_factory(cls: type) -> Callable[[object, object], Any]:
        lifecycle = _record_lifecycles().get(cls)
        own = {} if lifecycle is None else {"lifecycle": fitting(lifecycle)}
        overrides: dict[str, Any] = {name: override(struct_hook=h) for name, h in own.items()}
        generated: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls,
            conv,
            _cattrs_forbid_extra_keys=True,
            _cattrs_detailed_validation=True,
            **overrides,
        )
        fields: list[tuple[Any, Callable[[Any, Any], Any]]] = []

        def field_hooks() -> list[tuple[Any, Callable[[Any, Any], Any]]]:
            if not fields:
                attrs.resolve_types(cls)
                fields.extend(
                    (a, own.get(a.name) or conv.get_structure_hook(a.type))
                    for a in attrs.fields(cls)
                    if a.init
                )
            return fields

        def structure(data: object, target: object) -> Any:
            if not isinstance(data, Mapping):
                raise ValidationError(f"expected an object, got {type(data).__name__}")
            try:
                return generated(data, target)
            except ClassValidationError as exc:
                # Only on bad input: read again what did read, and ask the rules about it.
                raise _diagnosis(cls, data, exc, field_hooks()) from None

        return structure

    conv.register_structure_hook_factory(attrs.has, attrs_structure_factory)

    def structure_metric(value: object, _: object) -> enums.Metric | str:
        return metric_key(value, "")

    def unstructure_band(band: ExpectationBand) -> dict[str, Any]:
        return {
            "factor": band.factor.value,
            "metric": str(band.metric),
            "adequate": conv.unstructure(band.adequate),
            "desired": conv.unstructure(band.desired),
            "better": band.better,
        }

    band_fields = ("factor", "metric", "adequate", "desired", "better")
    band_readers: tuple[tuple[str, Callable[[object], Any]], ...] = (
        ("factor", lambda v: member(enums.Factor, v, "")),
        ("metric", lambda v: metric_key(v, "")),
        ("adequate", lambda v: _structure_level(v, None)),
        ("desired", lambda v: _structure_level(v, None)),
        ("better", lambda v: v),  # the class says what is allowed
    )

    def structure_band(data: object, _: object) -> ExpectationBand:
        if not isinstance(data, Mapping):
            raise ValidationError(f"expected an object, got {type(data).__name__}")
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        failed: set[str] = set()
        for key, read in band_readers:
            if key not in data:
                if key != "better":
                    problems.append(Problem(key, "required field missing"))
                    failed.add(key)
                    values[key] = _UNREAD
                continue
            try:
                values[key] = read(data[key])
            except Exception as exc:  # whatever a reader raises is a problem of that field
                problems.extend(_problems(exc, key))
                failed.add(key)
                values[key] = _UNREAD
        extra = [k for k in data if k not in band_fields]
        if extra:
            problems.append(Problem("", _unexpected(extra)))
        if not problems:
            return ExpectationBand(**values)
        raise ValidationError(problems + _rules(ExpectationBand, values, failed))

    def unstructure_expectations(value: Expectations) -> dict[str, Any]:
        return {
            "defaults": [unstructure_band(b) for b in value.defaults.values()],
            "segments": {
                name: [unstructure_band(b) for b in bands.values()]
                for name, bands in value.segments.items()
            },
        }

    band_list = list[ExpectationBand]

    def structure_expectations(data: object, _: object) -> Expectations:
        if not isinstance(data, Mapping):
            raise ValidationError(f"expected an object, got {type(data).__name__}")
        problems: list[Problem] = []
        extra = [k for k in data if k not in ("defaults", "segments")]
        if extra:
            problems.append(Problem("", _unexpected(extra)))
        defaults: list[ExpectationBand] | None = None
        try:
            defaults = conv.structure(data.get("defaults", []), band_list)
        except Exception as exc:  # whatever the hooks raise is a problem at its path
            problems.extend(_problems(exc, "defaults"))
        segments: dict[str, list[ExpectationBand]] = {}
        given = data.get("segments", {})
        if not isinstance(given, Mapping):
            problems.append(Problem("segments", f"expected an object, got {type(given).__name__}"))
            given = {}
        for name, bands in given.items():
            # Each segment on its own, so one bad segment hides nothing of the others.
            where = _join("segments", _step(name))
            try:
                segments[_structure_str(name, None)] = conv.structure(bands, band_list)
            except Exception as exc:  # whatever the hooks raise is a problem at its path
                problems.extend(_problems(exc, where))
        refused: ValidationError | None = None
        if not problems and defaults is not None:
            try:
                return Expectations(defaults=defaults, segments=segments)
            except ValidationError as exc:
                refused = exc  # find which part broke which rule, below
        if defaults is not None:
            problems.extend(_rules(Expectations, {"defaults": defaults}, set()))
        for name, bands in segments.items():
            where = _join("segments", _step(name))
            found = _rules(Expectations, {"segments": {name: bands}}, set())
            problems.extend(Problem(where, p.message) for p in found)
        raise ValidationError(problems) if problems or refused is None else refused

    conv.register_unstructure_hook(ExpectationBand, unstructure_band)
    conv.register_structure_hook(ExpectationBand, structure_band)
    conv.register_unstructure_hook(Expectations, unstructure_expectations)
    conv.register_structure_hook(Expectations, structure_expectations)
    conv.register_structure_hook(enums.Metric | str, structure_metric)

    from .lifecycle import History, State, StateChange, _state_from_data, _state_to_data

    # A state is text, or a member of a plain enum written as {"enum": ..., "name": ...}.
    conv.register_unstructure_hook(State, _state_to_data)
    conv.register_structure_hook(State, lambda data, _: _state_from_data(data))
    conv.register_unstructure_hook(History, lambda h: [conv.unstructure(c) for c in h])
    changes = list[StateChange]

    def structure_history(data: object, _: object) -> History:
        try:
            read = conv.structure(data, changes)
        except ValidationError as exc:
            if isinstance(data, list | tuple):  # some changes did not read
                raise ValidationError([*exc.problems, *_chain_problems(conv, data)]) from None
            raise
        return History(read)

    conv.register_structure_hook(History, structure_history)
    for configure in _HOOKS:
        configure(conv)
    return conv
