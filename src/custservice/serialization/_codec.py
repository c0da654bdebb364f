"""The stored form of records, written and read fast: the codec the storage backends use.

The stored form of a customer, an interaction or a case is
:func:`custservice.to_json` of it (the :func:`~custservice.to_dict` form,
compact, non-ASCII kept as is). A SQL row keeps it in two parts: the columns
of its id, its customer's id and its version, and the text of the rest, each
field at its default left out (the decoder reads a missing key as the
default, as it must for text written before a field existed). This module
writes and reads both without going through cattrs, with functions
generated from the records' own fields the first time they are needed
(:mod:`._codegen`):

- :func:`columns` writes a row's columns and text; :func:`encode` the whole
  text ``to_json`` writes;
- :func:`decode` and :func:`decode_many` build the objects from whole texts,
  :func:`decode_rows` from rows, without re-running validation (DESIGN §5: a
  validated attrs instance costs about 20× a tuple, and the library wrote
  these rows itself). Their results equal ``from_dict``'s.

``tests/test_codec.py`` checks both over the shared Hypothesis strategies,
and that every field of every stored class is written.

Text written by an earlier version, before a field with a default existed,
lacks that field's key; it decodes with the default, as ``from_dict`` does.
Only text this library wrote may be decoded here: anything else must go
through :func:`custservice.from_dict`, which checks every field.
:func:`decode` raises ``KeyError``, ``TypeError`` or ``ValueError`` (or
``AttributeError``) on text of another shape; the backends turn that into
a ``StorageError``.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus
from ..interactions import Interaction
from ..pipelines import CASE_PIPELINE, CasePipeline, known_pipeline
from ..service_levels import CaseFacts, case_state, pipeline_status, with_merges
from ._codegen import Generated, generate
from ._lifecycles import state_from_data
from ._texts import micros

__all__ = [
    "case_facts_many",
    "columns",
    "decode",
    "decode_many",
    "decode_rows",
    "encode",
    "micros",
]

R = TypeVar("R", Customer, Interaction, Case)

_RECORDS: dict[type, tuple[str, str]] = {
    Customer: ("id", "created_at"),
    Interaction: ("customer_id", "opened_at"),
    Case: ("customer_id", "opened_at"),
}
"""Each record class with the fields its rows are indexed by: the id of the customer it
belongs to, and the instant it was opened (or created) at."""

_CODECS: dict[type, Generated] = {}
_LOCK = threading.Lock()
_loads = json.loads


def columns(
    record: Customer | Interaction | Case, version: int | None = None
) -> tuple[str, str, int, str]:
    """What a SQL backend stores for ``record``: its id, its customer's id, its opening
    time in UTC microseconds, and its row text (:func:`encode`'s, without the id, the
    customer's id, the version, and the fields at their defaults).

    For a customer, the customer's id is its own id and the opening time is ``created_at``.

    Args:
        record: a customer, interaction or case (an instance of a subclass
            is stored as its base class).
        version: the version to write instead of ``record.version`` (the
            bulk path stores records as version 1 without copying them).

    Raises:
        TypeError: ``record`` is not a customer, interaction or case.
    """
    codec = _CODECS.get(type(record)) or _codec(type(record))
    return codec.columns(record, record.version if version is None else version)


def encode(record: Customer | Interaction | Case, version: int | None = None) -> str:
    """``record`` as its stored JSON text: the same text as ``to_json(record)``.

    Args:
        record: a customer, interaction or case.
        version: the version to write instead of ``record.version``.

    Raises:
        TypeError: ``record`` is not a customer, interaction or case.
    """
    codec = _CODECS.get(type(record)) or _codec(type(record))
    return codec.text(record, record.version if version is None else version)


def decode(cls: type[R], text: str | bytes) -> R:
    """Rebuild a record of type ``cls`` from text :func:`encode` wrote, without validation.

    The result equals ``from_dict(cls, json.loads(text))``.

    Raises:
        KeyError: the text does not have the shape ``encode`` writes (also
            ``TypeError``, ``ValueError``; the backends report a ``StorageError``).
    """
    build: Callable[[Any, dict[str, Any]], R] = (_CODECS.get(cls) or _codec(cls)).decode
    return build(_loads(text), {})


def decode_many(cls: type[R], texts: Iterable[str | bytes]) -> list[R]:
    """:func:`decode` for a page of rows, sharing equal values between them.

    Records read together often share values (one customer's id on every
    interaction of ``for_customer``): each distinct id or time is built once.
    """
    build: Callable[[Any, dict[str, Any]], R] = (_CODECS.get(cls) or _codec(cls)).decode
    seen: dict[str, Any] = {}
    return [build(one, seen) for one in _parsed(texts)]


def decode_rows(cls: type[R], rows: Iterable[Any]) -> list[R]:
    """:func:`decode_many` for rows of ``(text, id, customer's id, version, ...)``, the text
    as :func:`columns` writes it (or whole, as rows written before it were)."""
    base = next(c for c in _RECORDS if issubclass(cls, c))
    build: Callable[[Any, dict[str, Any]], R] = (_CODECS.get(cls) or _codec(cls)).decode
    owner = _RECORDS[base][0]
    page = rows if isinstance(rows, list) else list(rows)
    seen: dict[str, Any] = {}
    out = []
    for data, row in zip(_parsed([row[0] for row in page]), page, strict=True):
        data["id"] = row[1]
        data[owner] = row[2]
        data["version"] = row[3]
        out.append(build(data, seen))
    return out


def case_facts_many(
    texts: Iterable[str | bytes], at: int
) -> list[tuple[CaseFacts, CaseStatus, int]]:
    """What service targets read of each case of a page of rows, without building the cases.

    For each text :func:`encode` wrote of a case: its
    :class:`~custservice.service_levels.CaseFacts` at ``at`` (microseconds since 1970,
    UTC), its current status, and since when it has been in it (microseconds since
    1970). The facts equal ``CaseFacts.of(decode(Case, text), at)``.

    Raises:
        KeyError: the text does not have the shape ``encode`` writes (also
            ``TypeError``, ``ValueError``; the backends report a ``StorageError``).
    """
    out = []
    for data in _parsed(texts):
        lifecycle = data["lifecycle"]
        history = lifecycle["history"]
        name = data.get("pipeline", _BUILT_IN)
        merges = data.get("merges")
        if name == _BUILT_IN:
            current = _state(lifecycle["current"])
            first = _state(history[0]["source"]) if history else current
            changes = [
                (_micros(h["at"]), _STATES.get(h["target"]) or _state(h["target"])) for h in history
            ]
        else:  # a pipeline of the user's: each state read as the status it stands for
            status = pipeline_status(_pipeline_named(name))
            current = status(state_from_data(lifecycle["current"]))
            first = status(state_from_data(history[0]["source"])) if history else current
            changes = [(_micros(h["at"]), status(state_from_data(h["target"]))) for h in history]
        since = _micros(lifecycle["since"])
        if merges:
            steps = [(_micros(m["at"]), m["into"] is not None) for m in merges]
            changes = with_merges(first, changes, steps)
            if steps[-1][1]:  # merged now: closed since the merge
                current, since = _CLOSED, steps[-1][0]
        facts = CaseFacts(
            _micros(data["opened_at"]),
            first,
            changes,
            [(_micros(u["at"]), _flag(u["from_customer"])) for u in data.get("updates", ())],
            at,
        )
        out.append((facts, CaseStatus(current), since))
    return out


_BUILT_IN = CASE_PIPELINE.name
_CLOSED = CaseStatus.CLOSED.value


def _pipeline_named(name: object) -> CasePipeline:
    found = known_pipeline(name) if isinstance(name, str) else None
    if found is None:
        raise KeyError(f"unknown case pipeline {name!r}: build it before reading its cases")
    return found


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_fromisoformat = dt.datetime.fromisoformat


def _micros(text: str) -> int:
    """The instant of a stored instant's text, in microseconds since 1970 (UTC): its
    offset fixes the instant; the zone named after it only says how it is shown."""
    at = _fromisoformat(text.partition("[")[0])
    if at.tzinfo is None:
        raise ValueError("an instant without an offset")
    return (at - _EPOCH) // _US


# Each status's text, by itself: the states a stored case holds, read without a call.
_STATES: dict[object, str] = {s.value: case_state(s.value) for s in CaseStatus}


def _state(data: object) -> str:
    return case_state(data if type(data) is str else state_from_data(data))


def _flag(data: object) -> bool:
    if type(data) is not bool:
        raise TypeError("expected true or false")
    return data


def _parsed(texts: Iterable[str | bytes]) -> list[Any]:
    """The JSON values of a page of rows' texts, parsed together."""
    page: list[Any] = texts if isinstance(texts, list) else list(texts)
    try:
        joined = ",".join(page)
    except TypeError:  # a driver that gives bytes
        page = [text if isinstance(text, str) else text.decode() for text in page]
        joined = ",".join(page)
    # One JSON array for the page: parsed in one call (each key read once), a third faster
    # than a call per row. When the rows do not join into one value each, each row is
    # parsed alone, and the one at fault raises. (Rows rewritten so that their pieces
    # join into other records' text read as those records, as any row rewritten to hold
    # a record's text does: only text the library wrote is promised to read back.)
    try:
        data = _loads(f"[{joined}]")
    except ValueError:
        data = None
    if data is None or len(data) != len(page):
        data = [_loads(text) for text in page]
    return data  # type: ignore[no-any-return]


def _codec(kind: type) -> Generated:
    """The generated functions of a record class (or of the record class it derives from).

    Raises:
        TypeError: ``kind`` is not a customer, interaction or case.
    """
    base = next((cls for cls in _RECORDS if issubclass(kind, cls)), None)
    if base is None:
        raise TypeError(f"cannot encode a {kind.__name__}")
    with _LOCK:  # built once, by the first thread that needs it
        codec = _CODECS.get(base)
        if codec is None:
            codec = _CODECS[base] = generate(base, *_RECORDS[base])
        _CODECS[kind] = codec
    return codec
