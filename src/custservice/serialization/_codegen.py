"""Encoders and decoders of the stored form, generated from the classes' own fields.

For each class the stored form holds (a record, and the classes inside it),
Python source is written once from ``attrs.fields`` and compiled, as cattrs'
``make_dict_unstructure_fn`` does: one function writes an object's JSON text
field after field, another builds the object from ``json.loads`` output.
A field's type says how its value is written (``_Writer.kind``); a type the
codec cannot write raises ``TypeError`` when the codec is built, so a new
field is either written or refused, never silently left out.

Keys are the fields' names, in the classes' order, and only the fields that
``__init__`` takes: the converter's own layout, so the text is ``to_json``'s.
A field with a default is read with ``dict.get``: text stored before the
field existed has no key for it and takes the default (the default's own
JSON data, decoded as any value of the field is).
A class with fields ``__init__`` does not take (derived ones, such as a
band's ``lower``) is rebuilt through its constructor, which derives them;
any other is built without running its checks: only text the library wrote
is decoded here. A lifecycle position is written through the lifecycle
module's named functions (:func:`~custservice.lifecycle.state_entries`,
:func:`~custservice.lifecycle.restore_state`), whose arguments must be the
position's fields.
"""

from __future__ import annotations

import collections.abc as abc
import datetime as dt
import enum
import inspect
import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, get_args

import attrs
import pendulum

from .._history import Entry
from .._mapping import own
from ..lifecycle import (
    History,
    LifecycleState,
    StateChange,
    restore_state,
    state_entries,
)
from ..pipelines import known_pipeline
from . import _texts
from ._shapes import Shape, init_fields, shape

__all__ = ["Generated", "generate"]

_SETS = frozenset({frozenset, set, abc.Set})
_MAPPINGS = frozenset({dict, abc.Mapping})
_INTERNED_AT_MOST = 256
"""Distinct values of a small class kept for reuse (scales are few; this guards odd data)."""


class Generated(NamedTuple):
    """The functions generated for one record class."""

    columns: Callable[[Any, int], tuple[str, str, int, str]]
    """``(record, version)`` to its id, its owner's id, its opening instant in
    microseconds, and its row text: the JSON text without what those columns and
    the version hold, and without the fields at their defaults."""
    text: Callable[[Any, int], str]
    """``(record, version)`` to its whole JSON text with that version (``to_json``'s)."""
    decode: Callable[[dict[str, Any], dict[str, Any]], Any]
    """``(json.loads output, seen)`` to the record."""


class _Kind(NamedTuple):
    """How one type is written and read: expressions over ``$v``, the value.

    ``encode`` gives the value's JSON text; ``decode`` the value, from what
    ``json.loads`` gave for it (``seen`` is in scope there).
    """

    encode: str
    decode: str
    simple: bool = False  # text, numbers or flags: a class of only these can be interned


_SIMPLE_KINDS: dict[str, _Kind] = {
    "text": _Kind("quote($v)", "$v", simple=True),
    "flag": _Kind('("true" if $v else "false")', "$v", simple=True),
    "whole": _Kind("_int($v)", "$v", simple=True),
    "number": _Kind("number_text($v)", "$v", simple=True),
    "instant": _Kind("instant_text($v)", "(seen.get($v) or read_instant($v, seen))"),
    "day": _Kind("day_text($v)", "read_day($v)"),
    "span": _Kind("span_text($v)", "read_span($v)"),
    "state": _Kind(
        "(quote($v) if isinstance($v, _str) else state_text($v))",
        "($v if $v.__class__ is _str else read_state($v))",
    ),
    "attribute": _Kind("attribute_text($v)", "read_attribute($v, seen)"),  # dates, instants tagged
    "level": _Kind(  # a number, or a duration as text
        "(span_text($v) if isinstance($v, _timedelta) else number_text($v))",
        "(read_span($v) if $v.__class__ is _str else $v)",
    ),
}
"""How the values of the plain-data forms that need no names of their own are written
and read."""


def generate(record: type, owner: str, opened: str) -> Generated:
    """The encoder and decoder of a record class, compiled from its fields.

    Args:
        record: the record's class (an attrs class).
        owner: the field holding the id of the customer it belongs to
            (``"id"`` for a customer itself).
        opened: the field holding the instant it was opened (or created) at.

    Raises:
        TypeError: a field's type is one the stored form cannot hold; the
            message names the field.
    """
    return _Writer().record(record, owner, opened)


class _Writer:
    """Source of the functions for one record, with the names it needs."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {
            "_new": object.__new__,
            "_setattr": object.__setattr__,
            "_own": own,
            "_frozenset": frozenset,
            "_tuple": tuple,
            "_timedelta": dt.timedelta,
            "_str": str,
            "_EMPTY": frozenset(),
            "_NO_MAPPING": own({}),
            "_int": int.__repr__,
            "_restore_state": restore_state,
            "_state_entries": state_entries,
            "_pipeline": _pipeline_named,
            **{name: getattr(_texts, name) for name in _texts.__all__},
        }
        self.encoders: dict[type, str] = {}
        self.state_decode = ""  # set by lifecycle()
        self.decoders: dict[type, str] = {}
        self.counter = itertools.count()

    # -- names and compiling ------------------------------------------------------

    def bind(self, value: object, hint: str) -> str:
        """A name in the namespace for ``value``."""
        name = f"_{hint}_{next(self.counter)}"
        self.namespace[name] = value
        return name

    def compile(self, lines: list[str]) -> None:
        """Run ``lines``, the source of functions, in the namespace."""
        source = "\n".join(lines) + "\n"
        exec(compile(source, "<custservice stored form>", "exec"), self.namespace)

    # -- kinds of value -------------------------------------------------------------

    def kind(self, tp: Any, where: str) -> _Kind:
        """How a value of type ``tp`` (the type of field ``where``) is written and read."""
        form = shape(tp, where)
        simple = _SIMPLE_KINDS.get(form.kind)
        if simple is not None:
            return simple
        match form:
            case Shape("optional", (inner_type,)):  # null, or the value
                inner = self.kind(inner_type, where)
                return _Kind(
                    f'("null" if $v is None else {inner.encode})',
                    "$v" if inner.decode == "$v" else f"(None if $v is None else {inner.decode})",
                    inner.simple,
                )
            case Shape("id"):  # another record's id (a record's own is written by record())
                return _Kind(
                    "(REFERENCES.get($v.int) or reference_text($v))",
                    "(seen.get($v) or read_reference($v, seen))",
                )
            case Shape("member", (cls,)):
                members = self.bind({m.value: m for m in cls}, "members")
                if issubclass(cls, enum.StrEnum):
                    return _Kind("quote($v)", f"{members}[$v]", simple=True)
                # An ordered enum: written as its value.
                return _Kind("quote($v.value)", f"{members}[$v]", simple=True)
            case Shape("name", (cls,)):  # a member, or any other name
                members = self.bind({m.value: m for m in cls}, "members")
                return _Kind("quote($v)", f"{members}.get($v, $v)")
            case Shape("pipeline"):  # by its name, found again among those built
                return _Kind("quote($v.name)", "_pipeline($v)")
            case Shape("record", (cls,)) if cls is LifecycleState:
                return _Kind('_encode_state($v, None, "")', self.state_decode)
            case Shape("record", (cls,)):
                encoder, decoder = self.encoder(cls), self.decoder(cls)
                return _Kind(f"{encoder}($v)", f"{decoder}($v, seen)")
            case Shape("list", (origin, item_type)) if origin is not abc.MutableSequence:
                return self.sequence(origin, item_type, where)
            case Shape("set", (origin, item_type)) if item_type is str and origin in _SETS:
                # Written sorted, as the converter does.
                read = "set($v)" if origin is set else "(_frozenset($v) if $v else _EMPTY)"
                return _Kind('(number_text(sorted($v)) if $v else "[]")', read)
            case Shape("mapping", (origin, key_type, value_type)) if origin in _MAPPINGS:
                return self.mapping(origin, key_type, value_type, where)
        raise TypeError(f"the stored form cannot hold {where}: {tp!r}")

    def sequence(self, origin: Any, item_type: Any, where: str) -> _Kind:
        item = self.kind(item_type, f"{where}[]")
        y = f"y{next(self.counter)}"
        build = "" if origin is list else "_tuple"
        empty = "[]" if origin is list else "()"
        return _Kind(
            f'("[" + ",".join([{_at(item.encode, y)} for {y} in $v]) + "]" if $v else "[]")',
            f"({build}([{_at(item.decode, y)} for {y} in $v]) if $v else {empty})",
        )

    def mapping(self, origin: Any, key_type: Any, value_type: Any, where: str) -> _Kind:
        key = self.kind(key_type, f"{where} keys")
        value = self.kind(value_type, f"{where} values")
        k, y = f"k{next(self.counter)}", f"y{next(self.counter)}"
        build = "dict" if origin is dict else "_own"
        # An empty read-only mapping is shared (most records have none); a dict is their own.
        empty = "{}" if origin is dict else "_NO_MAPPING"
        pairs = f'quote({k}) + ":" + {_at(value.encode, y)}'
        items = f"{{{_at(key.decode, k)}: {_at(value.decode, y)} for {k}, {y} in $v.items()}}"
        return _Kind(
            f'("{{" + ",".join([{pairs} for {k}, {y} in $v.items()]) + "}}" if $v else "{{}}")',
            f"({build}({items}) if $v else {empty})",
        )

    # -- classes ---------------------------------------------------------------------

    def encoder(self, cls: type) -> str:
        """The name of the function writing an object of ``cls`` (nested in a record)."""
        name = self.encoders.get(cls)
        if name is not None:
            return name
        name = self.encoders[cls] = f"_encode_{cls.__name__}_{next(self.counter)}"
        lines, texts = self.field_texts(cls, {})
        self.compile([f"def {name}(o):", *lines, f"    return {_object_text(texts)}"])
        return name

    def field_texts(
        self, cls: type, special: dict[str, list[str]]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """Lines setting ``t0``, ``t1``... to the JSON text of each field of ``o``, a
        ``cls``, and each field's key with the name of its text.

        Args:
            cls: the class.
            special: for some fields, the lines that write them instead of their
                type's (``$t`` standing for the name of the field's text).
        """
        lines: list[str] = []
        texts = []
        for i, field in enumerate(init_fields(cls)):
            if field.name in special:
                lines.extend(f"    {line}".replace("$t", f"t{i}") for line in special[field.name])
            else:
                kind = self.kind(field.type, f"{cls.__qualname__}.{field.name}")
                lines.append(f"    v{i} = o.{field.name}")
                lines.append(f"    t{i} = {_at(kind.encode, f'v{i}')}")
            texts.append((field.name, f"t{i}"))
        return lines, texts

    def decoder(self, cls: type, reads: dict[str, str] | None = None) -> str:
        """The name of the function building an object of ``cls`` from its JSON data.

        Args:
            cls: the class.
            reads: expressions over ``$v`` that read some fields, instead of
                their types' (a record's own id).
        """
        name = self.decoders.get(cls)
        if name is not None:
            return name
        name = self.decoders[cls] = f"_decode_{cls.__name__}_{next(self.counter)}"
        reads = reads or {}
        fields = init_fields(cls)
        lines = [f"def {name}(d, seen):"]
        kinds = [
            self.kind(f.type, f"{cls.__qualname__}.{f.name}") if f.name not in reads else None
            for f in fields
        ]
        for i, (f, k) in enumerate(zip(fields, kinds, strict=True)):
            if k is None or f.default is attrs.NOTHING:
                lines.append(f"    x{i} = d[{f.name!r}]")
            else:  # written since a later version: text written before it takes the default
                lines.append(f"    x{i} = d.get({f.name!r}, {self.default_data(f, k)})")
        values = [
            _at(reads[f.name] if k is None else k.decode, f"x{i}")
            for i, (f, k) in enumerate(zip(fields, kinds, strict=True))
        ]
        if len(fields) < len(attrs.fields(cls)):
            # It derives fields of its own: its constructor does that.
            built = self.bind(cls, cls.__name__)
            args = ", ".join(f"{f.alias}={v}" for f, v in zip(fields, values, strict=True))
            lines.append(f"    return {built}({args})")
        elif all(k is not None and k.simple for k in kinds):
            # Values of a small class repeat (a survey's scale): each is built once.
            table = self.bind({}, f"interned_{cls.__name__}")
            lines.append(f"    key = ({''.join(f'x{i}, ' for i in range(len(fields)))})")
            lines.append(f"    o = {table}.get(key)")
            lines.append("    if o is not None:")
            lines.append("        return o")
            lines.extend(self._built(cls, fields, values))
            lines.append(f"    if len({table}) < {_INTERNED_AT_MOST}:")
            lines.append(f"        {table}[key] = o")
            lines.append("    return o")
        else:
            lines.extend(self._built(cls, fields, values))
            lines.append("    return o")
        self.compile(lines)
        return name

    def default_data(self, field: Any, kind: _Kind) -> str:
        """The name of the JSON data of a field's default: what its decoder reads when the
        stored text has no key for the field."""
        return self.bind(json.loads(self.default_text(field, kind)), f"default_{field.name}")

    def default_text(self, field: Any, kind: _Kind) -> str:
        """The JSON text of a field's default."""
        default = field.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            default = default.factory()
        text: str = eval(f"lambda v: {_at(kind.encode, 'v')}", self.namespace)(default)
        return text

    def _built(self, cls: type, fields: list[Any], values: list[str]) -> list[str]:
        """Lines building ``o``, a ``cls`` whose fields are set without its checks."""
        new = self.bind(cls, cls.__name__)
        lines = [f"    o = _new({new})"]
        for field, value in zip(fields, values, strict=True):
            slot = inspect.getattr_static(cls, field.name, None)
            if inspect.ismemberdescriptor(slot):  # a slot: written through its descriptor
                setter = self.bind(slot.__set__, f"set_{field.name}")
                lines.append(f"    {setter}(o, {value})")
            else:
                lines.append(f"    _setattr(o, {field.name!r}, {value})")
        return lines

    def lifecycle(self) -> None:
        """``_encode_state`` and :attr:`state_decode`: a lifecycle position, written
        through the lifecycle module's named functions.

        Raises:
            TypeError: the position's fields are not the arguments of
                ``restore_state``, or a change's fields are not the entries
                ``state_entries`` gives.
        """
        fields = init_fields(LifecycleState)
        names = [f.name for f in fields]
        if names != list(inspect.signature(restore_state).parameters):
            raise TypeError(
                f"the stored form cannot hold LifecycleState{tuple(names)}: "
                "restore_state does not take these fields"
            )
        changes = init_fields(StateChange)
        if [f.type for f in changes] != list(get_args(Entry)):
            raise TypeError(
                f"the stored form cannot hold StateChange{tuple(f.name for f in changes)}: "
                "its fields are not the entries of a history"
            )
        kinds = {
            f.name: self.kind(f.type, f"LifecycleState.{f.name}")
            for f in fields
            if f.type is not History
        }
        entry = [self.kind(f.type, f"StateChange.{f.name}") for f in changes]
        e = [f"e{i}" for i in range(len(changes))]
        entry_text = _object_text(
            [
                (f.name, "{" + _at(k.encode, v) + "}")
                for f, k, v in zip(changes, entry, e, strict=True)
            ],
            inline=True,
        )
        lines = ["def _encode_state(o, known, known_text):"]
        texts = []
        for i, field in enumerate(fields):
            lines.append(f"    v{i} = o.{field.name}")
            if field.type is History:
                lines.append(
                    f'    t{i} = "[" + ",".join([{entry_text} '
                    f'for {", ".join(e)} in _state_entries(o)]) + "]" if v{i} else "[]"'
                )
            elif field.type is pendulum.DateTime:  # the record's own instant, written once
                encode = _at(kinds[field.name].encode, f"v{i}")
                lines.append(f"    t{i} = known_text if v{i} is known else {encode}")
            else:
                lines.append(f"    t{i} = {_at(kinds[field.name].encode, f'v{i}')}")
            texts.append((field.name, f"t{i}"))
        lines.append(f"    return {_object_text(texts)}")
        self.compile(lines)
        c = f"c{next(self.counter)}"
        read_entry = ", ".join(
            _at(k.decode, f"{c}[{f.name!r}]") for f, k in zip(changes, entry, strict=True)
        )
        args = []
        for field in fields:
            part = f"$v[{field.name!r}]"
            if field.type is History:
                args.append(f"[({read_entry}) for {c} in {part}] if {part} else ()")
            else:
                args.append(_at(kinds[field.name].decode, part))
        # An expression, not a function: read where the record is, without another call.
        self.state_decode = f"_restore_state({', '.join(args)})"

    def record(self, cls: type, owner: str, opened: str) -> Generated:
        """The functions of a top-level record: its columns and text, and its decoder."""
        self.lifecycle()
        fields = init_fields(cls)
        names = [f.name for f in fields]
        lifecycles = [i for i, f in enumerate(fields) if f.type is LifecycleState]
        if not {"id", owner, opened} <= set(names):
            raise TypeError(f"{cls.__qualname__} has no id, {owner} or {opened} field")
        if any(i < names.index(opened) for i in lifecycles):
            # Its lifecycle's instant is most often this one: written once, after it.
            raise TypeError(f"{cls.__qualname__}.{opened} must come before its lifecycle")
        owner_text = "rid" if owner == "id" else f"t{names.index(owner)}[1:-1]"
        # A record's own id, version and opening instant are columns too: written once.
        own = {
            "id": ["rid = _str(o.id)", "$t = f'\"{rid}\"'"],
            "version": ["$t = _int(version)"],
            opened: [f"at = o.{opened}", "opened = micros(at)", "$t = at_text = instant_text(at)"],
        }
        for i in lifecycles:
            own[names[i]] = [f"$t = _encode_state(o.{names[i]}, at, at_text)"]
        lines, texts = self.field_texts(cls, own)
        self.compile(["def text(o, version):", *lines, f"    return {_object_text(texts)}"])
        # The row's text leaves out what its columns hold, and each field at its default
        # (which the decoder reads when the key is missing, as for text written before the
        # field existed).
        kept = [
            (f, t)
            for f, (_, t) in zip(fields, texts, strict=True)
            if f.name not in ("id", owner, "version")
        ]
        lines.append(
            "    p = ["
            + ", ".join(f"'\"{f.name}\":' + {t}" for f, t in kept if f.default is attrs.NOTHING)
            + "]"
        )
        for f, t in kept:
            if f.default is not attrs.NOTHING:
                kind = self.kind(f.type, f"{cls.__qualname__}.{f.name}")
                default = self.bind(self.default_text(f, kind), f"default_text_{f.name}")
                lines.append(f"    if {t} != {default}:")
                lines.append(f"        p.append('\"{f.name}\":' + {t})")
        lines.insert(0, "def columns(o, version):")
        lines.append(f'    return rid, {owner_text}, opened, "{{" + ",".join(p) + "}}"')
        self.compile(lines)
        # Its own id is no other record's: not remembered for the rest of the page.
        decoder = self.decoder(cls, {"id": "read_id($v)"})
        return Generated(self.namespace["columns"], self.namespace["text"], self.namespace[decoder])


def _pipeline_named(name: str) -> Any:
    """The case pipeline built under ``name``.

    Raises:
        KeyError: no pipeline of that name is known in this process.
    """
    found = known_pipeline(name)
    if found is None:
        raise KeyError(f"unknown case pipeline {name!r}: build it before reading its cases")
    return found


def _at(template: str, name: str) -> str:
    """An expression over ``$v`` applied to ``name``."""
    return template.replace("$v", name)


def _object_text(texts: Iterable[tuple[str, str]], *, inline: bool = False) -> str:
    """An f-string writing a JSON object of the given keys and texts.

    ``texts`` pairs a key with the name of a local holding its JSON text
    (with ``inline``, with a replacement field to put there as it is).
    """
    parts = []
    for key, text in texts:
        if not key.isidentifier():
            raise TypeError(f"field name {key!r} cannot be a key of the stored form")
        parts.append(f'"{key}":' + ("" if inline else "{") + text + ("" if inline else "}"))
    return "f'{{" + ",".join(parts) + "}}'"
