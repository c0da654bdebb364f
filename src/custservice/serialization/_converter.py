"""The one cattrs converter, built on first use, and the functions that use it.

Building it imports cattrs, so ``import custservice`` does not pay for it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pendulum

from .. import _time
from ..errors import ValidationError
from ._collections import collection_hook, is_collection
from ._expectations import configure_expectations
from ._lifecycles import configure_lifecycles, fitting, record_lifecycles
from ._paths import diagnosis, problems_of
from ._policies import configure_policies
from ._scalars import (
    is_attribute_type,
    is_set_type,
    sorted_items,
    structure_attribute,
    structure_bool,
    structure_date,
    structure_datetime,
    structure_duration,
    structure_float,
    structure_int,
    structure_str,
    structure_time,
    structure_uuid,
    unstructure_attribute,
)

__all__ = ["converter", "from_dict", "from_json", "register", "to_dict", "to_json"]

T = TypeVar("T")

_HOOKS: list[Callable[[Any], None]] = []


def register(configure: Callable[[Any], None]) -> Callable[[Any], None]:
    """Add a function that configures the converter when it is first built.

    Modules whose types need hooks of their own register them here, so the
    one converter knows every domain type without importing them all eagerly.
    """
    _HOOKS.append(configure)
    converter.cache_clear()
    return configure


def to_dict(obj: object) -> Any:
    """``obj`` as plain data: dicts, lists, strings, numbers, ``None``.

    Examples:
        >>> to_dict(SATISFACTION_10)["high"]
        10
    """
    return converter().unstructure(obj)


def from_dict(cls: type[T], data: object) -> T:
    """Rebuild a ``cls`` from the plain data :func:`to_dict` gave.

    Raises:
        ValidationError: ``data`` does not describe a valid ``cls``; every
            problem is listed with its path from the top (``$``).
    """
    try:
        return converter().structure(data, cls)  # type: ignore[no-any-return]
    except RecursionError:
        raise ValidationError("input nested too deeply", field="$") from None
    except Exception as exc:
        raise ValidationError(problems_of(exc, "$")) from None


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


@functools.cache
def converter() -> Any:
    """The converter, built on first use with every hook."""
    import attrs
    import cattrs
    from cattrs.errors import ClassValidationError
    from cattrs.gen import make_dict_structure_fn, override

    from .._validation import member

    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
    conv.register_unstructure_hook(dt.datetime, _time.format_datetime)
    conv.register_structure_hook(pendulum.DateTime, structure_datetime)
    conv.register_structure_hook(dt.datetime, structure_datetime)
    conv.register_unstructure_hook(dt.date, lambda d: d.isoformat())
    conv.register_structure_hook(pendulum.Date, structure_date)
    conv.register_structure_hook(dt.date, structure_date)
    conv.register_unstructure_hook(dt.time, lambda t: t.isoformat())
    conv.register_structure_hook(dt.time, structure_time)
    conv.register_unstructure_hook(dt.timedelta, _time.format_duration)
    conv.register_structure_hook(pendulum.Duration, structure_duration)
    conv.register_structure_hook(dt.timedelta, structure_duration)
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_structure_hook(uuid.UUID, structure_uuid)
    conv.register_structure_hook(str, structure_str)
    conv.register_structure_hook(int, structure_int)
    conv.register_structure_hook(float, structure_float)
    conv.register_structure_hook(bool, structure_bool)
    conv.register_unstructure_hook_func(is_attribute_type, unstructure_attribute)
    conv.register_structure_hook_func(is_attribute_type, structure_attribute)
    conv.register_unstructure_hook_func(
        is_set_type, lambda value: sorted_items([conv.unstructure(v) for v in value])
    )
    # StrEnum before str: cattrs would otherwise pass members through as they are.
    conv.register_unstructure_hook(enum.StrEnum, lambda v: v.value)
    conv.register_unstructure_hook(enum.Enum, lambda v: v.value)
    conv.register_structure_hook(enum.StrEnum, lambda v, t: member(t, v, ""))
    conv.register_structure_hook(enum.Enum, lambda v, t: member(t, v, ""))

    # Registered after cattrs' own, so these are asked first.
    conv.register_structure_hook_factory(is_collection, lambda t: collection_hook(conv, t))

    def attrs_structure_factory(cls: type) -> Callable[[object, object], Any]:
        chosen = record_lifecycles().get(cls)
        # A case's lifecycle is its pipeline's: one reader per lifecycle, made when met.
        readers: dict[Any, tuple[Any, Any]] = {}

        def reader(lifecycle: Any) -> tuple[Any, Any]:
            found = readers.get(lifecycle)
            if found is not None:
                return found
            own = {} if lifecycle is None else {"lifecycle": fitting(conv, lifecycle)}
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

            if len(readers) > 64:  # pipelines rebuilt again and again: keep a few
                readers.clear()
            found = readers[lifecycle] = (generated, field_hooks)
            return found

        fixed = None if callable(chosen) else chosen

        def structure(data: object, target: object) -> Any:
            if not isinstance(data, Mapping):
                raise ValidationError(f"expected an object, got {type(data).__name__}")
            generated, field_hooks = reader(chosen(data) if callable(chosen) else fixed)
            try:
                return generated(data, target)
            except ClassValidationError as exc:
                # Only on bad input: read again what did read, and ask the rules about it.
                raise diagnosis(cls, data, exc, field_hooks()) from None

        return structure

    conv.register_structure_hook_factory(attrs.has, attrs_structure_factory)
    configure_expectations(conv)
    configure_lifecycles(conv)
    configure_policies(conv)
    for configure in _HOOKS:
        configure(conv)
    return conv
