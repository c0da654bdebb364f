"""A custservice storage backend that keeps a whole store in one JSON file (``jsonfile://``).

Open one with ``open_store("jsonfile:///relative/path.json")`` or
``open_store("jsonfile:////absolute/path.json")`` (four slashes: the
scheme's three, then the root of the path). A missing file is an empty
store; the file is written when the first change commits.

Deliberately simple: the store is held in memory behind one lock, and each
committed transaction rewrites the file (a temporary file, then renamed
over the old one, so a crash leaves the old file or the new one, never half
of one). A transaction remembers the store as it was when it began and
puts that back if it fails. Threads may share a store; two stores must not
have one file open at once (each would overwrite the other's changes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import unquote, urlsplit

import attrs
from custservice import (
    Case,
    ChangeEvent,
    ConcurrencyError,
    Customer,
    CustServiceError,
    DuplicateError,
    Interaction,
    NotFound,
    StorageError,
    ValidationError,
    from_dict,
    to_dict,
)

__all__ = ["FORMAT", "JsonFileStore", "open_jsonfile_store"]

FORMAT = "custservice-jsonfile"
"""The ``format`` field of every file this backend writes."""

R = TypeVar("R", Customer, Interaction, Case)


def open_jsonfile_store(url: str) -> JsonFileStore:
    """Open the store a ``jsonfile://`` URL names (the ``jsonfile`` entry point).

    Raises:
        StorageError: the URL is malformed, or the file is not a store of this backend.
    """
    parts = urlsplit(url)
    if parts.scheme != "jsonfile" or parts.netloc or parts.query or len(parts.path) < 2:
        raise StorageError(
            f"malformed jsonfile URL {url!r}: expected jsonfile:///path/to/file.json"
        )
    return JsonFileStore(unquote(parts.path[1:]))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _micros(at: dt.datetime) -> int:
    # The instant, not the wall clock (two times of one zone compare by wall clock in
    # Python, wrong in the hour when clocks go back), and exact: a float timestamp
    # loses microseconds in far years.
    return dt.datetime.__sub__(at, _EPOCH) // _MICROSECOND


def _opened_at(record: Customer | Interaction | Case) -> int:
    return _micros(record.created_at if isinstance(record, Customer) else record.opened_at)


def _owner(record: Customer | Interaction | Case) -> uuid.UUID:
    return record.id if isinstance(record, Customer) else record.customer_id


def _bound(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if getattr(value, "utcoffset", lambda: None)() is None:
        raise ValidationError("expected a timezone-aware datetime", field=field)
    return _micros(value)


class _Records(Generic[R]):
    """One kind of record: a dict of records and their ``to_dict`` forms, keyed by id."""

    def __init__(self, store: JsonFileStore, cls: type[R], kind: str) -> None:
        self._store = store
        self._cls: type[R] = cls
        self._kind = kind
        self.rows: dict[uuid.UUID, R] = {}
        self.plain: dict[uuid.UUID, dict[str, Any]] = {}

    def add(self, record: R) -> R:
        """Store a new record at version 1."""
        with self._store.transaction():
            return self._add(record)

    def add_many(self, records: Iterable[R]) -> int:
        """Store many new records, all or nothing (even inside a transaction)."""
        with self._store.transaction(), self._store._savepoint():
            added = 0
            for record in records:
                self._add(record)
                added += 1
            return added

    def get(self, id: uuid.UUID) -> R:
        """The stored record with this id."""
        if not isinstance(id, uuid.UUID):
            raise ValidationError("expected a UUID", field="id")
        with self._store._reading():
            try:
                return self.rows[id]
            except KeyError:
                raise NotFound(self._kind, id) from None

    def save(self, record: R) -> R:
        """Store a changed record if its version is the stored one; returns it at version + 1."""
        self._check(record)
        with self._store.transaction():
            current = self.rows.get(record.id)
            if current is None:
                raise NotFound(self._kind, record.id)
            if current.version != record.version:
                raise ConcurrencyError(self._kind, record.id, record.version, current.version)
            if _owner(record) != _owner(current):
                raise ValidationError(
                    "a record cannot move to another customer", field="customer_id"
                )
            return self._put(record, record.version + 1, "save")

    def count(self) -> int:
        """How many records are stored."""
        with self._store._reading():
            return len(self.rows)

    def all(self) -> Iterator[R]:
        """Every record, oldest first (ties by id)."""
        with self._store._reading():
            rows = sorted(self.rows.values(), key=lambda r: (_opened_at(r), r.id.int))
        return self._store._while_open(rows)

    def for_customer(
        self, customer_id: uuid.UUID, since: Any = None, until: Any = None
    ) -> Iterator[R]:
        """A customer's records, oldest first; the window is ``since <= opened_at < until``."""
        if not isinstance(customer_id, uuid.UUID):
            raise ValidationError("expected a UUID", field="customer_id")
        low, high = _bound(since, "since"), _bound(until, "until")
        with self._store._reading():
            rows = [
                r
                for r in self.rows.values()
                if _owner(r) == customer_id
                and (low is None or _opened_at(r) >= low)
                and (high is None or _opened_at(r) < high)
            ]
        rows.sort(key=lambda r: (_opened_at(r), r.id.int))
        return self._store._while_open(rows)

    def _load(self, data: dict[str, Any]) -> None:
        record = from_dict(self._cls, data)
        self.rows[record.id] = record
        self.plain[record.id] = data

    def _check(self, record: object) -> None:
        if not isinstance(record, self._cls):
            raise ValidationError(
                f"expected a {self._cls.__name__}, got {type(record).__name__}", field="record"
            )

    def _add(self, record: R) -> R:
        self._check(record)
        if record.id in self.rows:
            raise DuplicateError(self._kind, record.id)
        if self._kind != "customer" and _owner(record) not in self._store.customers.rows:
            raise NotFound("customer", _owner(record))
        return self._put(record, 1, "add")

    def _put(self, record: R, version: int, action: str) -> R:
        stored = attrs.evolve(record, version=version)
        self.rows[stored.id] = stored
        self.plain[stored.id] = to_dict(stored)
        self._store._record(self._kind, action, stored.id, _owner(stored), version)
        return stored


class _Events:
    """The change feed."""

    def __init__(self, store: JsonFileStore) -> None:
        self._store = store
        self.log: list[ChangeEvent] = []

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        """Entries after ``position``, in order."""
        with self._store._reading():
            return self._store._while_open([e for e in self.log if e.position > position])

    def latest(self) -> int:
        """The newest position (0 when there is none)."""
        with self._store._reading():
            return self._store._position


class JsonFileStore:
    """A store kept in one JSON file; see the module documentation.

    Args:
        path: the file; a missing file is an empty store.

    Raises:
        StorageError: the file exists but is not a store of this backend, or
            its directory does not exist.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._lock = threading.RLock()
        self._depth = 0
        self._closed = False
        self._position = 0
        self._customers: _Records[Customer] = _Records(self, Customer, "customer")
        self._interactions: _Records[Interaction] = _Records(self, Interaction, "interaction")
        self._cases: _Records[Case] = _Records(self, Case, "case")
        self._events = _Events(self)
        if not self._path.parent.is_dir():
            raise StorageError(f"cannot open {self._path}: no such directory")
        if self._path.exists():
            self._load()

    @property
    def customers(self) -> _Records[Customer]:
        """The customers."""
        return self._customers

    @property
    def interactions(self) -> _Records[Interaction]:
        """The interactions."""
        return self._interactions

    @property
    def cases(self) -> _Records[Case]:
        """The cases."""
        return self._cases

    @property
    def events(self) -> _Events:
        """The change feed."""
        return self._events

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing; an inner block joins the outer one. Holds the lock until it ends."""
        with self._lock:
            self._check_open()
            outermost = self._depth == 0
            before = self._snapshot() if outermost else None
            self._depth += 1
            try:
                yield
                if outermost:
                    self._write()
            except BaseException:
                if before is not None:
                    self._restore(before)
                raise
            finally:
                self._depth -= 1

    def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer, their records and their feed entries; add one ``forget`` entry."""
        if not isinstance(customer_id, uuid.UUID):
            raise ValidationError("expected a UUID", field="customer_id")
        with self.transaction():
            if customer_id not in self._customers.rows:
                raise NotFound("customer", customer_id)
            for records in (self._customers, self._interactions, self._cases):
                for record_id in [i for i, r in records.rows.items() if _owner(r) == customer_id]:
                    del records.rows[record_id]
                    del records.plain[record_id]
            self._events.log = [e for e in self._events.log if e.customer_id != customer_id]
            self._record("customer", "forget", customer_id, customer_id, None)

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, in ``to_dict`` form."""
        with self._reading():
            customer = self._customers.get(customer_id)
            return {
                "customer": self._customers.plain[customer.id],
                "interactions": [
                    self._interactions.plain[r.id]
                    for r in self._interactions.for_customer(customer_id)
                ],
                "cases": [self._cases.plain[r.id] for r in self._cases.for_customer(customer_id)],
            }

    def close(self) -> None:
        """Close the store; later operations raise ``StorageError``. Closing twice is harmless."""
        self._closed = True

    def __enter__(self) -> JsonFileStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JsonFileStore({str(self._path)!r})"

    # -- internals ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")

    @contextmanager
    def _reading(self) -> Iterator[None]:
        with self._lock:
            self._check_open()
            yield

    def _while_open(self, rows: list[Any]) -> Iterator[Any]:
        """``rows`` one by one; an iterator resumed after ``close`` raises ``StorageError``."""
        for row in rows:
            self._check_open()
            yield row
        self._check_open()

    def _record(
        self,
        kind: Any,
        action: Any,
        record_id: uuid.UUID,
        customer_id: uuid.UUID,
        version: int | None,
    ) -> None:
        self._position += 1
        self._events.log.append(
            ChangeEvent(self._position, kind, action, record_id, customer_id, version)
        )

    def _kinds(self) -> dict[str, _Records[Any]]:
        return {
            "customers": self._customers,
            "interactions": self._interactions,
            "cases": self._cases,
        }

    def _snapshot(self) -> tuple[Any, ...]:
        # Records are immutable, so copies of the dicts are a complete snapshot.
        return (
            {key: (dict(k.rows), dict(k.plain)) for key, k in self._kinds().items()},
            list(self._events.log),
            self._position,
        )

    def _restore(self, snapshot: tuple[Any, ...]) -> None:
        tables, log, position = snapshot
        for key, records in self._kinds().items():
            records.rows, records.plain = tables[key]
        self._events.log, self._position = log, position

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        before = self._snapshot()
        try:
            yield
        except BaseException:
            self._restore(before)
            raise

    def _write(self) -> None:
        document = {
            "format": FORMAT,
            "version": 1,
            "position": self._position,
            **{key: list(records.plain.values()) for key, records in self._kinds().items()},
            "events": [
                [e.position, e.kind, e.action, str(e.record_id), str(e.customer_id), e.version]
                for e in self._events.log
            ],
        }
        temporary = None
        try:
            fd, temporary = tempfile.mkstemp(dir=self._path.parent, prefix=self._path.name)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out)
            os.replace(temporary, self._path)
        except OSError as exc:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
            raise StorageError(f"cannot write {self._path}: {exc}") from exc

    def _load(self) -> None:
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise StorageError(f"{self._path} is not a {FORMAT} store")
            if document.get("version") != 1:
                raise StorageError(f"{self._path} has format version {document.get('version')!r}")
            for key, records in self._kinds().items():
                for data in document[key]:
                    records._load(data)
            self._events.log = [
                ChangeEvent(p, kind, action, uuid.UUID(rid), uuid.UUID(cid), version)
                for p, kind, action, rid, cid, version in document["events"]
            ]
            self._position = int(document["position"])
        except StorageError:
            raise
        except (CustServiceError, OSError, ValueError, KeyError, TypeError) as exc:
            # A ValidationError here means the file was changed by hand.
            raise StorageError(f"cannot read {self._path}: {type(exc).__name__}: {exc}") from exc
