"""The JSON Schema (draft 2020-12) of a class's ``to_dict`` form, built from its fields.

Every class is read through :func:`~._shapes.shape`, the walk over types the
stored form's codec uses too, so a field added to a class is in its schema
without more work, and a type with no plain-data form raises ``TypeError``
naming the field. Where the converter has a layout of its own, the schema
follows it: expectations as their default bands and each segment's bands
(``_expectations``), conditions in their own form (``_policies``), and a
record's lifecycle position, whose states and events must be those of the
record's own lifecycle (``_lifecycles``).

Objects list their keys: ``required`` holds the fields without a default
(``from_dict`` reads a missing one at its default), and no other key is
allowed. Instants, dates, times of day, durations and UUIDs are text with
the pattern of what the converter writes.

The schema checks the shape of the data. The classes' own rules (text that
is not blank, a known time zone, a score on its scale, a history whose
changes follow on from each other) are still :func:`from_dict`'s to check.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ..pipelines import CASE_PIPELINE, CasePipeline
from ._policies import condition_schema
from ._shapes import init_fields, shape

__all__ = ["json_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"

_DATE = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_CLOCK = "([01][0-9]|2[0-3]):[0-5][0-9]"
_SECONDS = ":[0-5][0-9](\\.[0-9]{1,6})?"
_OFFSET = f"(Z|[+-]{_CLOCK}(:[0-5][0-9](\\.[0-9]{{6}})?)?)"
_ZONE = "(\\[[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*\\])?"

INSTANT = f"^{_DATE}T{_CLOCK}{_SECONDS}{_OFFSET}{_ZONE}$"
"""An instant as the converter writes it: ISO 8601 with its UTC offset, then the
zone's IANA name in brackets when it has one (``2026-03-01T09:00:00+01:00[Europe/Paris]``)."""
DAY = f"^{_DATE}$"
"""A date: ``2026-02-28``."""
TIME = f"^{_CLOCK}({_SECONDS})?$"
"""A time of day without a zone: ``08:30`` or ``08:30:00``."""
SPAN = "^-?P(?!$)([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\\.[0-9]{1,6})?S)?)?$"
"""An ISO 8601 duration in days, hours, minutes and seconds: ``P1DT2H0.5S``."""
UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
"""A UUID in its usual text: ``0190a5c6-3b1e-7f00-8000-0000000000a1``."""

_INSTANT = {"type": "string", "pattern": INSTANT}
_SIMPLE: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "flag": {"type": "boolean"},
    "whole": {"type": "integer"},
    "number": {"type": "number"},
    "instant": _INSTANT,
    "day": {"type": "string", "format": "date", "pattern": DAY},
    "time": {"type": "string", "pattern": TIME},
    "span": {"type": "string", "pattern": SPAN},
    "id": {"type": "string", "format": "uuid", "pattern": UUID},
}


def json_schema(cls: type, *, pipelines: Iterable[CasePipeline] = ()) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the :func:`to_dict` form of a ``cls``.

    For OpenAPI documents and for checking payloads before :func:`from_dict`:
    each object lists its keys, those without a default are ``required`` and
    no other key is allowed; enums are their values; instants, dates and
    durations are text with the pattern of what :func:`to_dict` writes; the
    classes nested in ``cls`` are under ``$defs``. A payload the schema
    refuses, :func:`from_dict` refuses too; the classes' own rules (text
    that is not blank, a known time zone, a score on its scale) are still
    :func:`from_dict`'s to check. Each call returns a new ``dict``.

    A case's ``pipeline`` is the built-in one's name (``"case"``, or no key)
    or the name of one of ``pipelines``, and its ``lifecycle`` a position in
    that pipeline's lifecycle.

    Args:
        cls: a class :func:`from_dict` reads (``Customer``, ``Interaction``,
            ``Case``, ``Feedback``, ...).
        pipelines: the :class:`~custservice.CasePipeline` s, besides
            ``CASE_PIPELINE``, whose cases the schema accepts.

    Raises:
        TypeError: ``cls`` is not such a class, or a field's type has no
            plain-data form; the message names the field.

    Examples:
        >>> schema = json_schema(Case)
        >>> schema["properties"]["priority"]["enum"]
        ['low', 'normal', 'high', 'urgent']
        >>> "subject" in schema["required"], schema["additionalProperties"]
        (True, False)
    """
    chosen = tuple(pipelines)
    if not all(isinstance(p, CasePipeline) for p in chosen):
        raise TypeError("pipelines must be CasePipeline objects")
    return copy.deepcopy(_built(cls, chosen))


@functools.lru_cache(maxsize=64)
def _built(cls: type, pipelines: tuple[CasePipeline, ...]) -> dict[str, Any]:
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise TypeError(f"json_schema takes a class that from_dict reads, got {cls!r}")
    builder = _Builder(cls, pipelines)
    body = builder.body(cls)
    schema: dict[str, Any] = {"$schema": DIALECT, "title": cls.__name__, **body}
    if builder.defs:
        schema["$defs"] = dict(sorted(builder.defs.items()))
    return schema


class _Builder:
    """The schema of one class, and the ``$defs`` of the classes inside it."""

    def __init__(self, root: type, pipelines: tuple[CasePipeline, ...] = ()) -> None:
        from ..expectations import Expectations
        from ..policies.conditions import Condition
        from ._lifecycles import record_lifecycles

        self.root = root
        self.pipelines = pipelines
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[object, str] = {}
        self.lifecycles = record_lifecycles()
        self.layouts: dict[type, Callable[[], dict[str, Any]]] = {
            Expectations: self.expectations,
            Condition: lambda: condition_schema(lambda: self.record(Condition)),
        }

    # -- classes -------------------------------------------------------------------

    def ref(self, key: object, name: str, build: Any) -> dict[str, Any]:
        """A reference to the definition ``key`` (named ``name`` if free), built once."""
        if key == self.root:
            return {"$ref": "#"}
        found = self.names.get(key)
        if found is None:
            found = name
            n = 2
            while found in self.defs:
                found, n = f"{name}{n}", n + 1
            self.names[key] = found
            self.defs[found] = {}  # taken now: a class may hold itself
            self.defs[found] = build()
        return {"$ref": f"#/$defs/{found}"}

    def body(self, cls: type) -> dict[str, Any]:
        """The schema of an object of ``cls`` as the converter writes it."""
        layout = self.layouts.get(cls)
        if layout is not None:
            return layout()
        lifecycle = self.lifecycles.get(cls)
        special = {}
        if callable(lifecycle):  # a case: the lifecycle of the pipeline it names
            return self.case(cls)
        if lifecycle is not None:
            special["lifecycle"] = self.position(lifecycle)
        return self.fields(cls, special)

    def case(self, cls: type) -> dict[str, Any]:
        """A case: its ``pipeline`` names the built-in one or one of :attr:`pipelines`, and
        its ``lifecycle`` is a position in that pipeline's lifecycle (the built-in one's
        without a name)."""
        chosen = {CASE_PIPELINE.name: CASE_PIPELINE}
        for pipeline in self.pipelines:
            chosen.setdefault(pipeline.name, pipeline)
        positions = {name: self.position(p.lifecycle) for name, p in chosen.items()}
        special: dict[str, dict[str, Any]] = {
            "pipeline": {"type": "string", "enum": list(positions)},
            "lifecycle": positions[CASE_PIPELINE.name],
        }
        if len(positions) > 1:
            special["lifecycle"] = {"anyOf": list(positions.values())}
        out = self.fields(cls, special)
        if len(positions) > 1:
            out["allOf"] = [
                {
                    "if": {"not": {"required": ["pipeline"]}},
                    "then": {"properties": {"lifecycle": positions[CASE_PIPELINE.name]}},
                },
                *(
                    {
                        "if": {
                            "properties": {"pipeline": {"const": name}},
                            "required": ["pipeline"],
                        },
                        "then": {"properties": {"lifecycle": position}},
                    }
                    for name, position in positions.items()
                ),
            ]
        return out

    def fields(self, cls: type, special: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """An object of the fields ``__init__`` takes (some with schemas of their own)."""
        properties: dict[str, Any] = {}
        required = []
        for field in init_fields(cls):
            where = f"{cls.__qualname__}.{field.name}"
            found = special.get(field.name)
            properties[field.name] = self.of(field.type, where) if found is None else found
            if field.default is attrs.NOTHING:
                required.append(field.name)
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def record(self, cls: type) -> dict[str, Any]:
        return self.ref(cls, cls.__name__, lambda: self.body(cls))

    def position(self, lifecycle: Any) -> dict[str, Any]:
        """A lifecycle position whose states and events are those of ``lifecycle``."""
        from ..lifecycle import LifecycleState, StateChange
        from ._lifecycles import state_to_data

        states = {"enum": [state_to_data(s) for s in lifecycle.states]}
        events = {"type": "string", "enum": list(lifecycle.events)}
        title = lifecycle.name.title()

        def change() -> dict[str, Any]:
            return self.fields(StateChange, {"event": events, "source": states, "target": states})

        def position() -> dict[str, Any]:
            changes = self.ref((StateChange, lifecycle), f"{title}StateChange", change)
            history = {"type": "array", "items": changes}
            return self.fields(LifecycleState, {"current": states, "history": history})

        return self.ref((LifecycleState, lifecycle), f"{title}LifecycleState", position)

    def expectations(self) -> dict[str, Any]:
        """Expectations as the converter writes them: the default bands, and each
        segment's bands (both may be left out)."""
        from ..expectations import ExpectationBand

        bands = {"type": "array", "items": self.record(ExpectationBand)}
        return {
            "type": "object",
            "properties": {
                "defaults": bands,
                "segments": {"type": "object", "additionalProperties": bands},
            },
            "additionalProperties": False,
        }

    # -- values --------------------------------------------------------------------

    def of(self, tp: Any, where: str) -> dict[str, Any]:
        """The schema of a value of type ``tp`` (the type of field ``where``)."""
        form = shape(tp, where)
        simple = _SIMPLE.get(form.kind)
        if simple is not None and not form.args:
            return dict(simple)
        match form.kind:
            case "text":  # a Literal
                return {"type": "string", "enum": list(form.args)}
            case "member":
                return {"type": "string", "enum": [m.value for m in form.args[0]]}
            case "name":  # a member, or any other name
                return {"type": "string", "examples": [m.value for m in form.args[0]]}
            case "optional":
                return _nullable(self.of(form.args[0], where))
            case "state":
                return self.ref("State", "State", _state)
            case "attribute":
                return self.ref("AttributeValue", "AttributeValue", _attribute)
            case "level":  # a number, or a duration as text
                return {"anyOf": [{"type": "number"}, dict(_SIMPLE["span"])]}
            case "list":
                return {"type": "array", "items": self.of(form.args[1], f"{where}[]")}
            case "tuple":
                items = [self.of(t, f"{where}[{i}]") for i, t in enumerate(form.args)]
                n = len(items)
                return {
                    "type": "array",
                    "prefixItems": items,
                    "items": False,
                    "minItems": n,
                    "maxItems": n,
                }
            case "set":  # written as a sorted list
                item = self.of(form.args[1], f"{where}[]")
                return {"type": "array", "items": item, "uniqueItems": True}
            case "mapping":
                _, key_type, value_type = form.args
                out: dict[str, Any] = {
                    "type": "object",
                    "additionalProperties": self.of(value_type, f"{where} values"),
                }
                key = self.of(key_type, f"{where} keys")
                if "enum" in key:
                    out["propertyNames"] = {"enum": key["enum"]}
                return out
            case "history":
                from ..lifecycle import StateChange

                return {"type": "array", "items": self.record(StateChange)}
            case "record":
                return self.record(form.args[0])
        raise TypeError(f"json_schema cannot describe {where}: {tp!r}")  # pragma: no cover


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or ``null``."""
    kind = schema.get("type")
    if isinstance(kind, str) and "$ref" not in schema and "anyOf" not in schema:
        out = {**schema, "type": [kind, "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [schema, {"type": "null"}]}


def _state() -> dict[str, Any]:
    """A lifecycle state: text, or a member of a plain enum named by its enum and name."""
    member = {
        "type": "object",
        "properties": {"enum": {"type": "string"}, "name": {"type": "string"}},
        "required": ["enum", "name"],
        "additionalProperties": False,
    }
    return {"anyOf": [{"type": "string"}, member]}


def _attribute() -> dict[str, Any]:
    """A custom attribute's value: text, a number, true or false, or a date or an instant
    tagged as ``{"date": ...}`` or ``{"datetime": ...}`` (``null`` is the field type's)."""

    def tagged(key: str, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {key: value},
            "required": [key],
            "additionalProperties": False,
        }

    return {
        "anyOf": [
            {"type": ["string", "number", "boolean"]},
            tagged("date", dict(_SIMPLE["day"])),
            tagged("datetime", dict(_INSTANT)),
        ]
    }
