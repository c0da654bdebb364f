"""Plain data and JSON for every domain object, with an exact round trip.

One cattrs converter, built on first use (so importing ``custservice`` does
not pay for cattrs), with hooks for pendulum types: datetimes as ISO 8601
with the zone name in brackets, durations as ISO 8601 durations, dates as
ISO dates. Bad input gives one :class:`~custservice.ValidationError` that
lists every problem with its path (``$.ratings.speed``).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_origin

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
    """Flatten cattrs' exception groups into problems with paths."""
    from cattrs.errors import (
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )

    if isinstance(exc, ValidationError):
        return [
            Problem(
                f"{path}.{p.path}" if p.path and not p.path.startswith("$") else path, p.message
            )
            for p in exc.problems
        ]
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        out = [q for e, note in with_notes for q in _problems(e, f"{path}.{note.name}")]
        return out + [q for e in without for q in _problems(e, path)]
    if isinstance(exc, IterableValidationError):
        indexed, rest = exc.group_exceptions()
        found = [q for e, n in indexed for q in _problems(e, _index(path, n.index))]
        return found + [q for e in rest for q in _problems(e, path)]
    if isinstance(exc, BaseExceptionGroup):
        return [q for e in exc.exceptions for q in _problems(e, path)]
    if isinstance(exc, ForbiddenExtraKeysError):
        # Keys of any type can come in, not only strings: name them all as text.
        extra = ", ".join(sorted(map(str, exc.extra_fields)))
        return [Problem(path, f"unexpected fields: {extra}")]
    if isinstance(exc, KeyError):
        return [Problem(path, "required field missing")]
    return [Problem(path, f"invalid value ({type(exc).__name__}: {exc})"[:300])]


def _index(path: str, index: object) -> str:
    return f"{path}.{index}" if isinstance(index, str) else f"{path}[{index!r}]"


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
def _restored_checks() -> dict[type, Callable[[Any], None]]:
    """Checks that only restored data needs: a stored history must fit its lifecycle.

    (Objects built by the library's own verbs are correct by construction, so
    their constructors skip this walk of the whole history.)
    """
    from .cases import Case
    from .customers import Customer
    from .interactions import Interaction
    from .lifecycle import Lifecycle
    from .lifecycles import CASE_LIFECYCLE, CUSTOMER_LIFECYCLE, INTERACTION_CYCLE

    def fits(lifecycle: Lifecycle) -> Callable[[Any], None]:
        def check(record: Any) -> None:
            try:
                lifecycle.validate(record.lifecycle)
            except ValidationError as exc:
                raise exc.within("lifecycle") from None

        return check

    return {
        Customer: fits(CUSTOMER_LIFECYCLE),
        Interaction: fits(INTERACTION_CYCLE),
        Case: fits(CASE_LIFECYCLE),
    }


@functools.cache
def _converter() -> Any:
    import attrs
    import cattrs
    from cattrs.gen import make_dict_structure_fn

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

    def attrs_structure_factory(cls: type) -> Callable[[object, object], Any]:
        generated: Callable[[Any, Any], Any] = make_dict_structure_fn(
            cls, conv, _cattrs_forbid_extra_keys=True, _cattrs_detailed_validation=True
        )

        check = _restored_checks().get(cls)

        def structure(data: object, target: object) -> Any:
            if not isinstance(data, Mapping):
                raise ValidationError(f"expected an object, got {type(data).__name__}")
            obj = generated(data, target)
            if check is not None:
                check(obj)
            return obj

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

    def structure_band(data: object, _: object) -> ExpectationBand:
        if not isinstance(data, Mapping):
            raise ValidationError("expected an object")
        extra = set(data) - {"factor", "metric", "adequate", "desired", "better"}
        if extra:
            raise ValidationError(f"unexpected fields: {', '.join(sorted(map(str, extra)))}")
        missing = [k for k in ("factor", "metric", "adequate", "desired") if k not in data]
        if missing:
            raise ValidationError([Problem(k, "required field missing") for k in missing])
        problems: list[Problem] = []
        levels = {}
        for key in ("adequate", "desired"):
            try:
                levels[key] = _structure_level(data[key], None)
            except ValidationError as exc:
                problems.extend(exc.within(key).problems)
        if problems:
            raise ValidationError(problems)
        return ExpectationBand(
            data["factor"],
            structure_metric(data["metric"], None),
            adequate=levels["adequate"],
            desired=levels["desired"],
            better=data.get("better", "lower"),
        )

    def unstructure_expectations(value: Expectations) -> dict[str, Any]:
        return {
            "defaults": [unstructure_band(b) for b in value.defaults.values()],
            "segments": {
                name: [unstructure_band(b) for b in bands.values()]
                for name, bands in value.segments.items()
            },
        }

    def structure_expectations(data: object, _: object) -> Expectations:
        if not isinstance(data, Mapping):
            raise ValidationError("expected an object")
        defaults = conv.structure(data.get("defaults", []), list[ExpectationBand])
        segments = conv.structure(data.get("segments", {}), dict[str, list[ExpectationBand]])
        return Expectations(defaults=defaults, segments=segments)

    conv.register_unstructure_hook(ExpectationBand, unstructure_band)
    conv.register_structure_hook(ExpectationBand, structure_band)
    conv.register_unstructure_hook(Expectations, unstructure_expectations)
    conv.register_structure_hook(Expectations, structure_expectations)
    conv.register_structure_hook(enums.Metric | str, structure_metric)

    from .lifecycle import History, StateChange

    conv.register_unstructure_hook(History, lambda h: [conv.unstructure(c) for c in h])
    conv.register_structure_hook(
        History, lambda data, _: History(conv.structure(data, list[StateChange]))
    )
    for configure in _HOOKS:
        configure(conv)
    return conv
