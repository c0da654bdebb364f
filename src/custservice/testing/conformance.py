"""The conformance kit: every behaviour a storage backend must have, as a pytest base class.

A backend author subclasses :class:`StoreConformance` in their own test
suite, overrides the ``store`` fixture so that it yields a fresh, empty
store, and declares what the backend can do with the capability flags::

    import pytest
    from custservice import open_store
    from custservice.testing import StoreConformance


    class TestMyStore(StoreConformance):
        survives_reopen = True

        @pytest.fixture
        def store(self, tmp_path):
            with open_store(f"mystore:///{tmp_path}/data") as store:
                yield store

        @pytest.fixture
        def reopen(self, tmp_path):
            return lambda: open_store(f"mystore:///{tmp_path}/data")

pytest then runs the whole behavioural suite against the backend: small
tests, one per behaviour, named for what they check, and a Hypothesis
stateful test that runs random sequences of operations against the backend
and against the in-memory reference (``memory://``) and compares every
answer. The guide "Writing a storage backend" explains what each failure
means.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import pendulum
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from .. import errors
from .._records import replace
from .._time import FixedClock, micros
from ..cases import Case
from ..customers import Customer
from ..enums import Channel
from ..errors import (
    ConcurrencyError,
    CustServiceError,
    DuplicateError,
    NotFound,
    StorageError,
    ValidationError,
)
from ..interactions import Interaction
from ..serialization import from_dict, to_dict
from ..storage.memory import MemoryStore
from ..storage.protocols import (
    ChangeEvent,
    CustomerRepository,
    EventFeed,
    LinkedRepository,
    Store,
)
from . import strategies as cst

__all__ = ["StoreConformance"]

Record = Customer | Interaction | Case

KINDS = ("customers", "interactions", "cases")
LINKED = ("interactions", "cases")
_KIND_NAME = {"customers": "customer", "interactions": "interaction", "cases": "case"}

T0 = pendulum.datetime(2026, 1, 5, 9)
"""The instant the kit's hand-written records open at (or around)."""

THREAD_JOIN_SECONDS = 120.0
"""How long a thread of the thread tests may take before it counts as stuck (a deadlock)."""

# Opening times that a backend must keep exactly: the two 01:30 of a night
# when clocks go back, a half-hour DST zone, a zone at +12:45, a fixed offset.
TRICKY_TIMES = (
    "2026-11-01T01:30:00-04:00[America/New_York]",
    "2026-11-01T01:30:00-05:00[America/New_York]",
    "2026-04-05T01:45:00+11:00[Australia/Lord_Howe]",
    "2026-04-05T01:45:00+10:30[Australia/Lord_Howe]",
    "2026-01-05T21:45:00+13:45[Pacific/Chatham]",
    "2026-01-05T09:00:00+05:45",
    "2026-01-05T09:00:00.000001+00:00[UTC]",
)


# --- records the focused tests build ------------------------------------------------------


def _customer(
    name: str = "Ada Lovelace", *, at: dt.datetime | None = None, **profile: Any
) -> Customer:
    return Customer.new(name, clock=FixedClock(at or T0), **profile)


def _interaction(
    customer_id: uuid.UUID, *, at: dt.datetime | None = None, id: uuid.UUID | None = None
) -> Interaction:
    return Interaction.open(customer_id, Channel.PHONE, clock=FixedClock(at or T0), id=id)


def _case(
    customer_id: uuid.UUID,
    subject: str = "Refund",
    *,
    at: dt.datetime | None = None,
    id: uuid.UUID | None = None,
) -> Case:
    return Case.open(customer_id, subject, clock=FixedClock(at or T0), id=id)


def _linked(kind: str, customer_id: uuid.UUID, **options: Any) -> Interaction | Case:
    if kind == "interactions":
        return _interaction(customer_id, **options)
    return _case(customer_id, **options)


def _new(store: Store, kind: str) -> Record:
    """A new, unstored record of ``kind``; for a linked kind its customer is stored first."""
    if kind == "customers":
        return _customer()
    owner = store.customers.add(_customer("Owner"))
    return _linked(kind, owner.id)


def _owner(record: Record) -> uuid.UUID:
    return record.id if isinstance(record, Customer) else record.customer_id


def _repo(store: Store, kind: str) -> Any:
    return getattr(store, kind)


def _changed(record: Any, note: str) -> Any:
    """The record with one ordinary change, made the way an application makes it."""
    if isinstance(record, Customer):
        return record.with_profile(segment=note)
    if isinstance(record, Interaction):
        return replace(record, topic=note)
    return replace(record, subject=note)


def _entries(store: Store, position: int = 0) -> list[tuple[Any, ...]]:
    """The feed after ``position`` without positions: what changed, about whom, in order."""
    return [_entry(e) for e in store.events.since(position)]


def _entry(event: ChangeEvent) -> tuple[Any, ...]:
    return (event.kind, event.action, event.record_id, event.customer_id, event.version)


def _plain(value: Any) -> Any:
    """A value in a form that compares everything a backend must keep.

    Records compare by their ``to_dict`` form, which keeps each time's zone
    and offset (``==`` on times compares instants only); feed entries compare
    without their position, which only has to increase.
    """
    if isinstance(value, Customer | Interaction | Case):
        return (type(value).__name__, to_dict(value))
    if isinstance(value, ChangeEvent):
        return _entry(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _library_error(exc: CustServiceError) -> str:
    """The name of the library's own class of an error (a backend may raise a subclass)."""
    for cls in type(exc).__mro__:
        if cls.__module__ == errors.__name__:
            return cls.__name__
    return type(exc).__name__  # pragma: no cover - every CustServiceError has one


def _outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    """What an operation returned, or which error it raised (and about what)."""
    try:
        return ("returned", _plain(fn()))
    except CustServiceError as exc:
        return ("raised", _library_error(exc), getattr(exc, "kind", None), getattr(exc, "id", None))
    except Exception as exc:
        # Not one of the library's errors: a driver error that escaped, or a bug.
        return ("raised a non-library error", f"{type(exc).__module__}.{type(exc).__qualname__}")


def _short(value: Any) -> str:
    """A one-line summary of an outcome's value: records by kind, id and opening time."""
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and value[0] in ("Customer", "Interaction", "Case")
        and isinstance(value[1], dict)
    ):
        kind, data = value
        opened = data.get("opened_at", data.get("created_at"))
        return f"{kind} {data.get('id')} v{data.get('version')} opened {opened}"
    if isinstance(value, list) and value and value[0] in ("returned", "raised"):
        return _describe(tuple(value))
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, dict) and "customer" in value:
        return (
            f"export of {_short(value['customer'] and ('Customer', value['customer']))} "
            f"with {len(value.get('interactions', []))} interaction(s), "
            f"{len(value.get('cases', []))} case(s)"
        )
    return repr(value)


def _describe(outcome: tuple[Any, ...]) -> str:
    if outcome[0] == "returned":
        return f"returned {_short(outcome[1])}"
    return f"{outcome[0]} " + " ".join(str(part) for part in outcome[1:] if part is not None)


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    """Where two plain values first differ, as ``path: a != b``."""
    if type(a) is not type(b):
        return f"{path or 'the value'}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    elif isinstance(a, list | tuple):
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return _first_difference(x, y, f"{path}[{index}]")
        if len(a) != len(b):
            return f"{path or 'the value'}: {len(a)} items != {len(b)} items"
    return f"{path or 'the value'}: {a!r} != {b!r}"


class _Boom(Exception):
    """Raised inside a transaction to make it fail."""


def _fail_inside_transaction(store: Store, body: Callable[[], object]) -> None:
    """Run ``body`` in a transaction, then fail it with an exception."""

    def run() -> None:
        with store.transaction():
            body()
            raise _Boom

    with pytest.raises(_Boom):
        run()


def _populate(store: Store, name: str, *, at: pendulum.DateTime = T0) -> Customer:
    """A stored customer with three interactions (added out of order) and a case saved once."""
    someone = store.customers.add(_customer(name, at=at))
    store.interactions.add_many(_interaction(someone.id, at=at.add(minutes=m)) for m in (20, 0, 10))
    case = store.cases.add(_case(someone.id, at=at))
    store.cases.save(case.advance("open", at=at))
    return someone


def _counts(store: Store) -> tuple[int, int, int]:
    return (store.customers.count(), store.interactions.count(), store.cases.count())


def _run_threads(work: Callable[[int], None], n: int) -> list[BaseException]:
    """Run ``work(k)`` in ``n`` threads; the errors they raised (a stuck thread is one)."""
    errors_seen: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            work(k)
        except BaseException as exc:
            errors_seen.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=THREAD_JOIN_SECONDS)
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        errors_seen.append(AssertionError(f"{stuck} thread(s) never finished: a deadlock?"))
    return errors_seen


# --- the kit ------------------------------------------------------------------------------


class _Kit:
    """What every part of the kit shares: the fixtures to override and the capability flags."""

    thread_safe: ClassVar[bool] = True
    """One store can be shared by the threads of a process (a web application's).

    Set it to ``False`` for a backend whose documentation says a store
    belongs to one thread; the thread tests are then not collected for it.
    """

    survives_reopen: ClassVar[bool] = False
    """What a store holds is still there after it is closed and opened again.

    Set it to ``True`` for a backend that keeps data anywhere but in the
    store object (a file, a server), and override the ``reopen`` fixture.
    """

    tenants: ClassVar[bool] = True
    """The store keeps tenants apart: ``store.scoped(tenant)`` (see
    :class:`~custservice.storage.protocols.TenantScoped`).

    Set it to ``False`` for a backend without tenants; the tenant tests are
    then not collected for it.
    """

    shared_between_stores: ClassVar[bool] = False
    """Several stores can be open on the same data at once (as several processes do).

    Each sees what the others commit, and a save from a stale version
    through any of them is a ``ConcurrencyError``. Needs the ``reopen``
    fixture.
    """

    hypothesis_settings: ClassVar[settings | None] = None
    """Settings for the kit's Hypothesis tests; ``None`` means the loaded profile.

    With ``None`` the kit takes the current profile (so ``max_examples``
    follows it) with no deadline, at most 25 steps per stateful run, and
    without the ``explain`` phase.
    """

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        """A fresh, empty store of the backend under test; override it in the subclass.

        Yield the store and close it afterwards. The kit's tests may close it
        first: closing twice must be harmless. Define it as a method of the
        subclass: a ``store`` fixture in a ``conftest.py`` is hidden by this one.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override the `store` fixture to yield a fresh store; "
            "define it as a method of the class (one in conftest.py is hidden by this one)"
        )

    @pytest.fixture
    def reopen(self) -> Callable[[], Store]:
        """A callable that opens another store on the same data as ``store``; override it.

        Only the tests of ``survives_reopen`` and ``shared_between_stores``
        use it. Each call opens a new store; the test closes it.
        """
        raise NotImplementedError(
            f"{type(self).__name__} declares survives_reopen or shared_between_stores, "
            "so it must override the `reopen` fixture"
        )

    def _reopener(self, request: pytest.FixtureRequest, flag: str) -> Callable[[], Store]:
        opener: Callable[[], Store] = request.getfixturevalue("reopen")
        return opener

    examples_at_most: ClassVar[int | None] = None
    """At most this many examples per Hypothesis test (``None``: the profile's number).

    For a variant of a backend the kit already runs in full (the same engine
    reached another way), to keep the suite's time in bounds. Ignored when
    :attr:`hypothesis_settings` is set.
    """

    def _settings(self) -> settings:
        if self.hypothesis_settings is not None:
            return self.hypothesis_settings
        current = settings()
        examples = current.max_examples
        if self.examples_at_most is not None:
            examples = min(examples, self.examples_at_most)
        return settings(
            current,
            max_examples=examples,
            deadline=None,
            stateful_step_count=min(current.stateful_step_count, 25),
            # The explain phase traces every line; on a failing stateful run it
            # costs minutes and adds little to the shrunk steps.
            phases=[phase for phase in current.phases if phase is not Phase.explain],
            suppress_health_check=[
                *current.suppress_health_check,
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        )


class _Records(_Kit):
    """add, get, count, add_many and the checks on their input."""

    def test_the_store_follows_the_protocols(self, store: Store) -> None:
        """The store and its parts are what ``custservice.storage.protocols`` describes."""
        assert isinstance(store, Store)
        assert isinstance(store.customers, CustomerRepository)
        assert isinstance(store.interactions, LinkedRepository)
        assert isinstance(store.cases, LinkedRepository)
        assert isinstance(store.events, EventFeed)

    def test_a_fresh_store_is_empty(self, store: Store) -> None:
        """The ``store`` fixture gives an empty store: no records, an empty feed at 0."""
        assert _counts(store) == (0, 0, 0)
        for kind in KINDS:
            assert list(_repo(store, kind).all()) == []
        assert store.events.latest() == 0
        assert list(store.events.since()) == []

    @pytest.mark.parametrize("kind", KINDS)
    def test_add_stores_the_record_at_version_1(self, store: Store, kind: str) -> None:
        """``add`` returns the record at version 1; the caller's copy is untouched."""
        record = _new(store, kind)
        stored = _repo(store, kind).add(record)
        assert record.version == 0
        assert stored == replace(record, version=1)
        assert to_dict(stored) == to_dict(replace(record, version=1))
        assert _plain(_repo(store, kind).get(record.id)) == _plain(stored)

    @pytest.mark.parametrize("text", TRICKY_TIMES)
    def test_times_read_back_with_their_zone_and_offset(self, store: Store, text: str) -> None:
        """An ambiguous wall time (DST fold), an odd offset or a fixed offset reads back exactly."""
        at = from_dict(pendulum.DateTime, text)
        ada = store.customers.add(_customer(at=at))
        call = store.interactions.add(_interaction(ada.id, at=at))
        for stored, got in (
            (ada, store.customers.get(ada.id)),
            (call, store.interactions.get(call.id)),
        ):
            assert to_dict(got) == to_dict(stored)
        got_call = store.interactions.get(call.id)
        assert got_call.opened_at.isoformat() == at.isoformat()
        assert got_call.opened_at.fold == at.fold

    def test_every_record_reads_back_exactly(self, store: Store) -> None:
        """Any customer, interaction or case the strategies make is read back as it was added."""

        @self._settings()
        @given(st.one_of(cst.customers(), cst.interactions(), cst.cases()))
        def check(record: Record) -> None:
            if isinstance(record, Customer):
                kind, record = "customers", replace(record, id=uuid.uuid4())
            else:
                kind = "interactions" if isinstance(record, Interaction) else "cases"
                owner = store.customers.add(_customer("Owner"))
                record = replace(record, id=uuid.uuid4(), customer_id=owner.id)
            stored = _repo(store, kind).add(record)
            assert _plain(stored) == _plain(replace(record, version=1))
            assert _plain(_repo(store, kind).get(record.id)) == _plain(stored)

        check()

    @pytest.mark.parametrize("kind", KINDS)
    def test_get_of_an_id_not_stored_is_not_found(self, store: Store, kind: str) -> None:
        """``get`` of an unknown id raises ``NotFound`` naming the kind and the id."""
        missing = uuid.uuid4()
        with pytest.raises(NotFound) as raised:
            _repo(store, kind).get(missing)
        assert (raised.value.kind, raised.value.id) == (_KIND_NAME[kind], missing)

    @pytest.mark.parametrize("kind", KINDS)
    def test_adding_a_stored_id_again_is_a_duplicate_error(self, store: Store, kind: str) -> None:
        """A second ``add`` with the same id raises ``DuplicateError`` and changes nothing."""
        record = _new(store, kind)
        stored = _repo(store, kind).add(record)
        latest = store.events.latest()
        with pytest.raises(DuplicateError) as raised:
            _repo(store, kind).add(_changed(record, "other"))
        assert (raised.value.kind, raised.value.id) == (_KIND_NAME[kind], record.id)
        assert _plain(_repo(store, kind).get(record.id)) == _plain(stored)
        assert store.events.latest() == latest

    @pytest.mark.parametrize("kind", LINKED)
    def test_a_record_of_a_customer_not_stored_is_not_found(self, store: Store, kind: str) -> None:
        """An interaction or case of an unknown customer raises ``NotFound`` for the customer."""
        stranger = uuid.uuid4()
        with pytest.raises(NotFound) as raised:
            _repo(store, kind).add(_linked(kind, stranger))
        assert (raised.value.kind, raised.value.id) == ("customer", stranger)
        assert _repo(store, kind).count() == 0
        assert store.events.latest() == 0

    def test_ids_are_unique_within_a_kind_not_across_kinds(self, store: Store) -> None:
        """An interaction may have the same id as a customer: each kind has its own ids."""
        ada = store.customers.add(_customer())
        bob = store.customers.add(_customer("Bob"))
        echo = store.interactions.add(_interaction(bob.id, id=ada.id))
        case = store.cases.add(_case(bob.id, id=ada.id))
        assert store.interactions.get(ada.id) == echo
        assert store.cases.get(ada.id) == case
        store.forget(ada.id)
        assert store.interactions.get(echo.id) == echo
        assert store.cases.get(case.id) == case
        assert _entries(store) == [
            ("customer", "add", bob.id, bob.id, 1),
            ("interaction", "add", echo.id, bob.id, 1),
            ("case", "add", case.id, bob.id, 1),
            ("customer", "forget", ada.id, ada.id, None),
        ]

    def test_count_counts_each_kind(self, store: Store) -> None:
        """``count`` is the number of records of its own kind."""
        ada = store.customers.add(_customer())
        store.customers.add(_customer("Bob"))
        store.interactions.add_many(_interaction(ada.id) for _ in range(3))
        store.cases.add(_case(ada.id))
        assert _counts(store) == (2, 3, 1)

    @pytest.mark.parametrize("kind", KINDS)
    def test_add_many_stores_every_record(self, store: Store, kind: str) -> None:
        """``add_many`` takes any iterable (a generator too) and returns how many it stored."""
        owner = store.customers.add(_customer("Owner"))
        records: list[Any] = [
            _customer(f"C{n}") if kind == "customers" else _linked(kind, owner.id) for n in range(5)
        ]
        before = _repo(store, kind).count()
        assert _repo(store, kind).add_many(r for r in records) == 5
        assert _repo(store, kind).count() == before + 5
        for record in records:
            assert _plain(_repo(store, kind).get(record.id)) == _plain(replace(record, version=1))
        assert _entries(store, 1) == [
            (_KIND_NAME[kind], "add", r.id, owner.id if kind != "customers" else r.id, 1)
            for r in records
        ]
        assert _repo(store, kind).add_many([]) == 0

    @pytest.mark.parametrize("failure", ["stored before", "twice in the batch", "no customer"])
    def test_add_many_is_all_or_nothing(self, store: Store, failure: str) -> None:
        """One bad record in a batch fails it whole, and the error names that record."""
        ada = store.customers.add(_customer())
        existing = store.interactions.add(_interaction(ada.id))
        fresh = [_interaction(ada.id) for _ in range(4)]
        error: type[CustServiceError]
        if failure == "stored before":
            batch, error, culprit = [*fresh[:3], existing, fresh[3]], DuplicateError, existing.id
        elif failure == "twice in the batch":
            batch, error, culprit = [*fresh, fresh[1]], DuplicateError, fresh[1].id
        else:
            stranger = _interaction(uuid.uuid4())
            batch, error, culprit = [*fresh, stranger], NotFound, stranger.customer_id
        latest = store.events.latest()
        with pytest.raises(error) as raised:
            store.interactions.add_many(batch)
        assert getattr(raised.value, "id", None) == culprit
        assert store.interactions.count() == 1
        assert store.events.latest() == latest
        for record in fresh:
            with pytest.raises(NotFound):
                store.interactions.get(record.id)

    def test_input_of_the_wrong_type_is_a_validation_error(self, store: Store) -> None:
        """A non-UUID id, a record of another kind, a naive window bound: ``ValidationError``."""
        ada = store.customers.add(_customer())
        with pytest.raises(ValidationError):
            store.customers.get("not a uuid")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.interactions.add(_customer("Bob"))  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            store.customers.add_many([_customer("Cy"), "not a customer"])  # type: ignore[list-item]
        with pytest.raises(ValidationError):
            store.customers.save(_case(ada.id))  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            list(store.cases.for_customer(ada.id, since=dt.datetime(2026, 1, 5)))
        with pytest.raises(ValidationError):
            list(store.cases.for_customer(ada.id, until=dt.datetime(2026, 1, 5)))
        assert _counts(store) == (1, 0, 0)
        assert store.events.latest() == 1


class _Saving(_Kit):
    """save and optimistic concurrency."""

    @pytest.mark.parametrize("kind", KINDS)
    def test_save_stores_the_change_at_the_next_version(self, store: Store, kind: str) -> None:
        """``save`` returns the record at ``version + 1`` and ``get`` reads that back."""
        stored = _repo(store, kind).add(_new(store, kind))
        saved = _repo(store, kind).save(_changed(stored, "first"))
        assert saved.version == 2
        assert stored.version == 1
        assert _plain(saved) == _plain(replace(_changed(stored, "first"), version=2))
        assert _plain(_repo(store, kind).get(stored.id)) == _plain(saved)
        again = _repo(store, kind).save(_changed(saved, "second"))
        assert again.version == 3
        assert _plain(_repo(store, kind).get(stored.id)) == _plain(again)

    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("offset", [-1, 1], ids=["older", "newer"])
    def test_a_save_from_another_version_is_a_concurrency_error(
        self, store: Store, kind: str, offset: int
    ) -> None:
        """A save from a version other than the stored one raises ``ConcurrencyError``.

        The error carries the version the caller had and the one stored; the
        stored record and the feed stay as they were.
        """
        stored = _repo(store, kind).add(_new(store, kind))
        saved = _repo(store, kind).save(_changed(stored, "first"))
        latest = store.events.latest()
        attempt = replace(_changed(saved, "lost"), version=saved.version + offset)
        with pytest.raises(ConcurrencyError) as raised:
            _repo(store, kind).save(attempt)
        assert (raised.value.kind, raised.value.id) == (_KIND_NAME[kind], stored.id)
        assert (raised.value.expected, raised.value.actual) == (saved.version + offset, 2)
        assert _plain(_repo(store, kind).get(stored.id)) == _plain(saved)
        assert store.events.latest() == latest

    def test_two_writers_from_the_same_version_one_wins(self, store: Store) -> None:
        """Two copies read at one version: the first save wins, the second is refused."""
        ada = store.customers.add(_customer())
        first = store.customers.save(ada.with_profile(segment="vip"))
        with pytest.raises(ConcurrencyError):
            store.customers.save(ada.with_profile(segment="smb"))
        assert store.customers.get(ada.id) == first
        assert store.customers.get(ada.id).segment == "vip"

    @pytest.mark.parametrize("kind", KINDS)
    def test_saving_a_record_not_stored_is_not_found(self, store: Store, kind: str) -> None:
        """``save`` of a record that was never added raises ``NotFound``."""
        record = _new(store, kind)
        with pytest.raises(NotFound) as raised:
            _repo(store, kind).save(replace(record, version=1))
        assert (raised.value.kind, raised.value.id) == (_KIND_NAME[kind], record.id)
        assert _repo(store, kind).count() == 0

    @pytest.mark.parametrize("kind", LINKED)
    def test_a_record_cannot_move_to_another_customer(self, store: Store, kind: str) -> None:
        """A save that changes ``customer_id`` is a ``ValidationError``.

        A stale version is reported first, as ``ConcurrencyError``.
        """
        ada = store.customers.add(_customer())
        bob = store.customers.add(_customer("Bob"))
        stored = _repo(store, kind).add(_linked(kind, ada.id))
        with pytest.raises(ValidationError):
            _repo(store, kind).save(replace(stored, customer_id=bob.id))
        with pytest.raises(ConcurrencyError):
            _repo(store, kind).save(replace(stored, customer_id=bob.id, version=7))
        assert _repo(store, kind).get(stored.id) == stored
        assert list(_repo(store, kind).for_customer(bob.id)) == []


class _Ordering(_Kit):
    """for_customer and all: order, windows, streaming."""

    @pytest.mark.parametrize("kind", LINKED)
    def test_for_customer_is_oldest_first_by_opening_time(self, store: Store, kind: str) -> None:
        """Records come oldest first by opening *instant*, whatever order they were added in.

        Times are in assorted zones (so wall-clock order is not instant
        order), and ids run against time (so id order is not time order).
        """
        ada = store.customers.add(_customer())
        times = [
            T0.add(hours=3).in_timezone("Asia/Kathmandu"),
            T0.subtract(hours=2).in_timezone("Pacific/Chatham"),
            T0.add(hours=1).in_timezone("America/New_York"),
            T0.in_timezone("Europe/Paris"),
            T0.add(days=400),
            T0.subtract(days=400).in_timezone("America/Sao_Paulo"),
        ]
        ids = sorted((uuid.uuid4() for _ in times), reverse=True)
        by_time = sorted(zip(times, ids, strict=True), key=lambda p: micros(p[0]))
        records = [_linked(kind, ada.id, at=at, id=i) for at, i in by_time]
        # added in neither time order nor id order
        for index in (2, 5, 0, 3, 1, 4):
            _repo(store, kind).add(records[index])
        got = [r.id for r in _repo(store, kind).for_customer(ada.id)]
        assert got == [r.id for r in records], "not oldest first by opening time"

    @pytest.mark.parametrize("kind", LINKED)
    def test_order_and_windows_are_exact_to_the_microsecond_in_far_years(
        self, store: Store, kind: str
    ) -> None:
        """Opening times a microsecond apart keep their order and windows in any year.

        (A float ``timestamp()`` cannot tell microseconds apart from about the
        year 2242 on: order by whole microseconds, as the SQL backends do.)
        """
        ada = store.customers.add(_customer())
        base = pendulum.datetime(9000, 6, 1, 12, tz="UTC")
        zones = ("Asia/Kathmandu", "America/New_York", "UTC")
        times = [base.add(microseconds=k).in_timezone(zones[k]) for k in range(3)]
        ids = sorted((uuid.uuid4() for _ in times), reverse=True)
        records = [_linked(kind, ada.id, at=at, id=i) for at, i in zip(times, ids, strict=True)]
        for index in (1, 2, 0):
            _repo(store, kind).add(records[index])

        def window(**bounds: Any) -> list[uuid.UUID]:
            return [r.id for r in _repo(store, kind).for_customer(ada.id, **bounds)]

        a, b, c = (r.id for r in records)
        assert window() == [a, b, c], "not ordered by the exact instant"
        assert window(since=times[1], until=times[2]) == [b]
        assert window(until=times[1]) == [a]
        assert window(since=times[2]) == [c]

    @pytest.mark.parametrize("kind", LINKED)
    def test_records_opened_at_the_same_instant_are_ordered_by_id(
        self, store: Store, kind: str
    ) -> None:
        """Ties in opening time (the same instant, in any zone) are broken by id, smallest first."""
        ada = store.customers.add(_customer())
        zones = ["UTC", "Asia/Kolkata", "America/New_York", "Europe/London", "Pacific/Chatham"]
        records = [_linked(kind, ada.id, at=T0.in_timezone(z)) for z in zones]
        records += [_linked(kind, ada.id, at=T0.add(seconds=1)) for _ in range(3)]
        _repo(store, kind).add_many(reversed(records))
        expected = sorted(records, key=lambda r: (micros(r.opened_at), r.id.int))
        got = [r.id for r in _repo(store, kind).for_customer(ada.id)]
        assert got == [r.id for r in expected], "ties not ordered by id"

    @pytest.mark.parametrize("kind", LINKED)
    def test_the_window_is_since_inclusive_until_exclusive(self, store: Store, kind: str) -> None:
        """``since <= opened_at < until``, compared as instants, to the microsecond."""
        ada = store.customers.add(_customer())
        for h in range(6):
            _repo(store, kind).add(_linked(kind, ada.id, at=T0.add(hours=h)))

        def hours(**window: Any) -> list[int]:
            rows = _repo(store, kind).for_customer(ada.id, **window)
            return [round((r.opened_at - T0).total_seconds() / 3600) for r in rows]

        paris, kathmandu = "Europe/Paris", "Asia/Kathmandu"
        assert hours() == [0, 1, 2, 3, 4, 5]
        assert hours(since=T0.add(hours=2)) == [2, 3, 4, 5]
        assert hours(until=T0.add(hours=2).in_timezone(paris)) == [0, 1]
        assert hours(since=T0.add(hours=1).in_timezone(kathmandu), until=T0.add(hours=4)) == [
            1,
            2,
            3,
        ]
        assert hours(since=T0.add(hours=1, microseconds=1)) == [2, 3, 4, 5]
        assert hours(until=T0.add(hours=1, microseconds=1)) == [0, 1]
        assert hours(since=T0.add(hours=4), until=T0.add(hours=4)) == []
        assert hours(since=T0.add(hours=5), until=T0.add(hours=1)) == []
        assert hours(since=None, until=None) == [0, 1, 2, 3, 4, 5]

    @pytest.mark.parametrize("kind", LINKED)
    def test_order_and_windows_go_by_instant_when_clocks_go_back(
        self, store: Store, kind: str
    ) -> None:
        """When clocks go back, 01:30 happens twice: order and windows still follow instants.

        (Python compares two times of one zone by wall clock, ignoring the
        fold: compare ``timestamp()`` values or UTC times instead.)
        """
        ada = store.customers.add(_customer())
        first, between, second = (
            from_dict(pendulum.DateTime, text)
            for text in (
                "2026-11-01T01:30:00-04:00[America/New_York]",  # 05:30 UTC
                "2026-11-01T01:45:00-04:00[America/New_York]",  # 05:45 UTC
                "2026-11-01T01:30:00-05:00[America/New_York]",  # 06:30 UTC
            )
        )
        ids = sorted((uuid.uuid4() for _ in range(3)), reverse=True)
        records = [
            _linked(kind, ada.id, at=at, id=i)
            for at, i in zip((first, between, second), ids, strict=True)
        ]
        for index in (2, 0, 1):
            _repo(store, kind).add(records[index])

        def window(**bounds: Any) -> list[uuid.UUID]:
            return [r.id for r in _repo(store, kind).for_customer(ada.id, **bounds)]

        a, b, c = (r.id for r in records)
        assert window() == [a, b, c], "not ordered by instant across the fold"
        assert window(since=second) == [c]
        assert window(until=second) == [a, b]
        assert window(since=between, until=second) == [b]
        assert window(since=first, until=between) == [a]

    @pytest.mark.parametrize("kind", LINKED)
    def test_for_customer_gives_only_that_customers_records(self, store: Store, kind: str) -> None:
        """Other customers' records are never included; an unknown customer has none."""
        ada = store.customers.add(_customer())
        bob = store.customers.add(_customer("Bob"))
        ours = [_repo(store, kind).add(_linked(kind, ada.id)) for _ in range(2)]
        _repo(store, kind).add(_linked(kind, bob.id))
        assert {r.id for r in _repo(store, kind).for_customer(ada.id)} == {r.id for r in ours}
        assert list(_repo(store, kind).for_customer(uuid.uuid4())) == []

    @pytest.mark.parametrize("kind", KINDS)
    def test_all_is_every_record_oldest_first(self, store: Store, kind: str) -> None:
        """``all`` gives every record of the kind, oldest first by opening time, ties by id."""
        owners = [store.customers.add(_customer(f"Owner {n}", at=T0)) for n in range(2)]
        records: list[Any] = []
        for n, offset in enumerate((5, -3, 0, 0, 9, -3)):
            at = T0.add(hours=offset).in_timezone(["UTC", "Asia/Kolkata"][n % 2])
            if kind == "customers":
                records.append(_customer(f"C{n}", at=at))
            else:
                records.append(_linked(kind, owners[n % 2].id, at=at))
        _repo(store, kind).add_many(records)
        if kind == "customers":
            records += owners
        expected = sorted(
            records,
            key=lambda r: (
                micros(r.created_at if kind == "customers" else r.opened_at),
                r.id.int,
            ),
        )
        assert [r.id for r in _repo(store, kind).all()] == [r.id for r in expected]

    def test_iterating_streams_and_writes_may_happen_meanwhile(self, store: Store) -> None:
        """``for_customer``, ``all`` and ``since`` return iterators; writing while one is
        half-read neither fails nor blocks."""
        ada = store.customers.add(_customer())
        store.interactions.add_many(_interaction(ada.id, at=T0.add(minutes=m)) for m in range(6))
        iterators: list[Iterator[Any]] = [
            store.interactions.for_customer(ada.id),
            store.interactions.all(),
            store.customers.all(),
            store.events.since(0),
        ]
        firsts = []
        for it in iterators:
            assert isinstance(it, Iterator)
            firsts.append(next(it))
        first = firsts[0]
        store.interactions.save(first.advance("receive", at=T0.add(hours=1)))
        store.interactions.add(_interaction(ada.id, at=T0.add(days=1)))
        with store.transaction():
            store.cases.add(_case(ada.id))
        for it in iterators:
            list(it)  # finishing each iterator works
        assert next(store.interactions.for_customer(ada.id)).id == first.id


class _Transactions(_Kit):
    """transaction(): all or nothing, nesting, errors caught inside."""

    def test_a_transaction_lands_every_change_when_it_ends(self, store: Store) -> None:
        """Changes made in a block are all stored when it ends, and seen inside it."""
        with store.transaction():
            ada = store.customers.add(_customer())
            call = store.interactions.add(_interaction(ada.id))
            saved = store.interactions.save(call.advance("receive", at=T0))
            assert store.interactions.get(call.id) == saved
            assert [r.id for r in store.interactions.for_customer(ada.id)] == [call.id]
            assert store.customers.count() == 1
        assert store.customers.get(ada.id) == ada
        assert store.interactions.get(call.id) == saved
        assert [e[1] for e in _entries(store)] == ["add", "add", "save"]

    def test_an_exception_in_a_transaction_undoes_every_change(self, store: Store) -> None:
        """A block that raises leaves records, counts and the feed exactly as before it."""
        ada = _populate(store, "Ada")
        before = (_counts(store), store.export(ada.id), _entries(store), store.events.latest())

        def changes() -> None:
            bob = store.customers.add(_customer("Bob"))
            store.interactions.add(_interaction(bob.id))
            store.cases.add_many([_case(bob.id), _case(bob.id)])
            store.customers.save(store.customers.get(ada.id).with_profile(segment="vip"))
            store.forget(ada.id)

        _fail_inside_transaction(store, changes)
        after = (_counts(store), store.export(ada.id), _entries(store), store.events.latest())
        assert after == before
        # the feed goes on from where it was
        cy = store.customers.add(_customer("Cy"))
        new = list(store.events.since(before[3]))
        assert [_entry(e) for e in new] == [("customer", "add", cy.id, cy.id, 1)]
        assert new[0].position > before[3]

    def test_a_nested_transaction_joins_the_outer_one(self, store: Store) -> None:
        """An inner block's changes are undone when the outer block fails."""

        def changes() -> None:
            store.customers.add(_customer("Bob"))
            with store.transaction():
                store.customers.add(_customer("Cy"))
            assert store.customers.count() == 2

        _fail_inside_transaction(store, changes)
        assert store.customers.count() == 0
        assert store.events.latest() == 0
        with store.transaction():
            with store.transaction():
                ada = store.customers.add(_customer())
            store.interactions.add(_interaction(ada.id))
        assert _counts(store) == (1, 1, 0)

    def test_an_error_caught_inside_a_transaction_does_not_undo_it(self, store: Store) -> None:
        """An operation that fails inside a block, when caught there, spoils nothing else."""
        with store.transaction():
            ada = store.customers.add(_customer())
            with pytest.raises(DuplicateError):
                store.customers.add(ada)
            with pytest.raises(NotFound):
                store.interactions.add(_interaction(uuid.uuid4()))
            with pytest.raises(ConcurrencyError):
                store.customers.save(replace(ada, version=5))
            with pytest.raises(NotFound):
                store.forget(uuid.uuid4())
            store.interactions.add(_interaction(ada.id))
        assert _counts(store) == (1, 1, 0)
        assert [e[1] for e in _entries(store)] == ["add", "add"]

    def test_a_failed_add_many_inside_a_transaction_undoes_only_itself(self, store: Store) -> None:
        """``add_many`` is all or nothing even inside a block, and the block goes on."""
        ada = store.customers.add(_customer())
        existing = store.interactions.add(_interaction(ada.id))
        with store.transaction():
            case = store.cases.add(_case(ada.id))
            fresh = _interaction(ada.id)
            with pytest.raises(DuplicateError):
                store.interactions.add_many([fresh, existing])
            with pytest.raises(NotFound):
                store.interactions.get(fresh.id)
        assert store.cases.get(case.id) == case
        assert (store.interactions.count(), store.cases.count()) == (1, 1)
        assert [e[0] for e in _entries(store)] == ["customer", "interaction", "case"]


class _Forgetting(_Kit):
    """forget and export: erasure and data portability."""

    def test_forget_removes_the_customer_and_every_record_of_theirs(self, store: Store) -> None:
        """Nothing of a forgotten customer is readable through any repository."""
        bob = _populate(store, "Bob")
        ada = _populate(store, "Ada")
        theirs = {kind: [r.id for r in _repo(store, kind).for_customer(ada.id)] for kind in LINKED}
        bobs = store.export(bob.id)
        store.forget(ada.id)
        with pytest.raises(NotFound):
            store.customers.get(ada.id)
        for kind, ids in theirs.items():
            assert ids
            for record_id in ids:
                with pytest.raises(NotFound):
                    _repo(store, kind).get(record_id)
            assert list(_repo(store, kind).for_customer(ada.id)) == []
            assert not {r.id for r in _repo(store, kind).all()} & set(ids)
        assert ada.id not in {c.id for c in store.customers.all()}
        assert _counts(store) == (1, 3, 1)
        assert store.export(bob.id) == bobs

    def test_forget_replaces_their_feed_entries_with_one_forget_entry(self, store: Store) -> None:
        """A forgotten customer's entries leave the feed; one ``forget`` entry is added last.

        Other customers' entries keep their positions.
        """
        bob = _populate(store, "Bob")
        kept = [(e.position, _entry(e)) for e in store.events.since(0)]
        ada = _populate(store, "Ada")
        latest = store.events.latest()
        store.forget(ada.id)
        entries = list(store.events.since(0))
        assert [(e.position, _entry(e)) for e in entries[:-1]] == kept
        last = entries[-1]
        assert _entry(last) == ("customer", "forget", ada.id, ada.id, None)
        assert last.position > latest
        assert store.events.latest() == last.position
        assert {e.customer_id for e in entries} == {bob.id, ada.id}

    def test_forget_of_a_customer_not_stored_is_not_found(self, store: Store) -> None:
        """``forget`` of an unknown or already forgotten customer raises ``NotFound``."""
        ada = _populate(store, "Ada")
        for customer_id in (uuid.uuid4(), ada.id):
            if customer_id == ada.id:
                store.forget(ada.id)
            latest = store.events.latest()
            with pytest.raises(NotFound) as raised:
                store.forget(customer_id)
            assert (raised.value.kind, raised.value.id) == ("customer", customer_id)
            assert store.events.latest() == latest

    def test_export_is_everything_about_the_customer_in_to_dict_form(self, store: Store) -> None:
        """``export`` gives the customer and their interactions and cases, oldest first,
        as ``to_dict`` gives them: plain data, ready for JSON."""
        ada = _populate(store, "Ada", at=T0.in_timezone("Asia/Kolkata"))
        _populate(store, "Bob")
        ada = store.customers.save(ada.with_profile(email="ada@example.com", hobbies={"chess"}))
        exported = store.export(ada.id)
        assert exported == {
            "customer": to_dict(ada),
            "interactions": [to_dict(r) for r in store.interactions.for_customer(ada.id)],
            "cases": [to_dict(r) for r in store.cases.for_customer(ada.id)],
        }
        assert [c["version"] for c in exported["cases"]] == [2]
        assert len(exported["interactions"]) == 3
        assert json.loads(json.dumps(exported)) == exported

    def test_export_of_a_customer_not_stored_is_not_found(self, store: Store) -> None:
        """``export`` of an unknown or forgotten customer raises ``NotFound``."""
        with pytest.raises(NotFound):
            store.export(uuid.uuid4())
        ada = _populate(store, "Ada")
        store.forget(ada.id)
        with pytest.raises(NotFound):
            store.export(ada.id)


class _Feed(_Kit):
    """events: the change feed."""

    def test_every_change_is_in_the_feed_in_commit_order(self, store: Store) -> None:
        """Each add and save is one ``ChangeEvent``: kind, action, ids and the new version."""
        ada = store.customers.add(_customer())
        call = store.interactions.add(_interaction(ada.id))
        case = store.cases.add(_case(ada.id))
        store.cases.save(case.advance("open", at=T0))
        store.customers.save(ada.with_profile(segment="vip"))
        store.interactions.save(call.advance("receive", at=T0))
        entries = list(store.events.since(0))
        assert all(isinstance(e, ChangeEvent) for e in entries)
        assert [_entry(e) for e in entries] == [
            ("customer", "add", ada.id, ada.id, 1),
            ("interaction", "add", call.id, ada.id, 1),
            ("case", "add", case.id, ada.id, 1),
            ("case", "save", case.id, ada.id, 2),
            ("customer", "save", ada.id, ada.id, 2),
            ("interaction", "save", call.id, ada.id, 2),
        ]
        positions = [e.position for e in entries]
        assert positions == sorted(set(positions)), "positions must increase"
        assert positions[0] > 0

    def test_a_reader_resumes_from_any_position(self, store: Store) -> None:
        """``since(p)`` is exactly the entries after ``p``; ``latest()`` is the newest position."""
        _populate(store, "Ada")
        entries = list(store.events.since(0))
        assert store.events.latest() == entries[-1].position
        assert _entries(store) == [_entry(e) for e in store.events.since()]
        for index, event in enumerate(entries):
            assert list(store.events.since(event.position)) == entries[index + 1 :]
        assert list(store.events.since(store.events.latest())) == []
        # a reader that saw everything so far sees exactly what comes next
        seen = store.events.latest()
        bob = store.customers.add(_customer("Bob"))
        assert _entries(store, seen) == [("customer", "add", bob.id, bob.id, 1)]
        assert store.events.latest() > seen

    def test_a_failed_change_leaves_no_entry(self, store: Store) -> None:
        """Refused operations (duplicate, unknown customer, stale save, ...) record nothing."""
        ada = store.customers.add(_customer())
        before = (list(store.events.since(0)), store.events.latest())
        attempts: list[Callable[[], object]] = [
            lambda: store.customers.add(ada),
            lambda: store.interactions.add(_interaction(uuid.uuid4())),
            lambda: store.customers.save(replace(ada, version=3)),
            lambda: store.cases.save(replace(_case(ada.id), version=1)),
            lambda: store.forget(uuid.uuid4()),
            lambda: store.interactions.add_many([_interaction(ada.id), _interaction(uuid.uuid4())]),
        ]
        for attempt in attempts:
            with pytest.raises(CustServiceError):
                attempt()
        assert (list(store.events.since(0)), store.events.latest()) == before


class _Closing(_Kit):
    """close() and the context manager."""

    def test_a_closed_store_refuses_every_operation_with_storage_error(self, store: Store) -> None:
        """After ``close``, every operation raises ``StorageError``; closing again is harmless."""
        ada = store.customers.add(_customer())
        store.close()
        store.close()
        operations: list[Callable[[], object]] = [
            lambda: store.customers.get(ada.id),
            lambda: store.customers.add(_customer("Bob")),
            lambda: store.customers.save(ada.with_profile(segment="vip")),
            lambda: store.customers.count(),
            lambda: list(store.interactions.all()),
            lambda: list(store.cases.for_customer(ada.id)),
            lambda: list(store.events.since(0)),
            lambda: store.events.latest(),
            lambda: store.forget(ada.id),
            lambda: store.export(ada.id),
            lambda: store.transaction().__enter__(),
        ]
        for operation in operations:
            with pytest.raises(StorageError):
                operation()

    def test_an_iterator_begun_before_close_raises_storage_error_after_it(
        self, store: Store
    ) -> None:
        """An iterator of ``all``, ``for_customer`` or ``since`` made before ``close``, read
        or not, raises ``StorageError`` at its next step after it, like any other use of a
        closed store: no backend goes on serving rows it read ahead."""
        ada = _populate(store, "Ada")
        store.cases.add(_case(ada.id, at=T0.add(hours=1)))  # two of each kind, at least
        _populate(store, "Bob", at=T0.add(days=1))
        makers: dict[str, Callable[[], Iterator[Any]]] = {
            "customers.all": store.customers.all,
            "interactions.all": store.interactions.all,
            "cases.all": store.cases.all,
            "interactions.for_customer": lambda: store.interactions.for_customer(ada.id),
            "cases.for_customer": lambda: store.cases.for_customer(ada.id),
            "events.since": lambda: store.events.since(0),
        }
        begun: list[tuple[str, int, Iterator[Any]]] = []
        for name, make in makers.items():
            length = sum(1 for _ in make())
            for read in range(length):  # every position but the end
                iterator = make()
                for _ in range(read):
                    next(iterator)
                begun.append((name, read, iterator))
        store.close()
        for name, read, iterator in begun:
            try:
                next(iterator)
            except StorageError:
                continue
            pytest.fail(f"{name} ({read} read before close) went on after close")

    def test_a_store_is_a_context_manager_that_closes_it(self, store: Store) -> None:
        """``with store as s`` gives the store itself and closes it at the end."""
        with store as entered:
            assert entered is store
            entered.customers.add(_customer())
        with pytest.raises(StorageError):
            store.customers.count()


class _Threads(_Kit):
    """One store shared by threads (``thread_safe``)."""

    def test_threads_sharing_a_store_lose_no_change(self, store: Store) -> None:
        """Threads adding, saving one record in turn and using transactions lose nothing."""
        counter = store.customers.add(_customer("Counter"))
        n, rounds = 4, 15
        saves = [0] * n
        added = [0] * n

        def work(k: int) -> None:
            mine = store.customers.add(_customer(f"Thread {k}"))
            for r in range(rounds):
                latest = store.customers.get(counter.id)
                try:
                    store.customers.save(latest.with_profile(segment=f"{k}-{r}"))
                    saves[k] += 1
                except ConcurrencyError:
                    pass
                if r % 3 == 0:
                    with store.transaction():
                        store.interactions.add(_interaction(mine.id))
                        store.cases.add(_case(mine.id))
                    added[k] += 1
                if r % 5 == 0:
                    _fail_inside_transaction(
                        store, lambda: store.interactions.add(_interaction(mine.id))
                    )
                assert len(list(store.interactions.for_customer(mine.id))) == added[k]

        assert _run_threads(work, n) == []
        assert _counts(store) == (n + 1, sum(added), sum(added))
        assert store.customers.get(counter.id).version == 1 + sum(saves)
        entries = list(store.events.since(0))
        assert len(entries) == 1 + n + sum(saves) + 2 * sum(added)
        positions = [e.position for e in entries]
        assert positions == sorted(set(positions))
        assert store.events.latest() == positions[-1]

    def test_a_transaction_belongs_to_the_thread_that_opened_it(self, store: Store) -> None:
        """Another thread's writes are not part of a block, nor undone with it, and it
        never reads the block's changes if the block fails."""
        inside, outside = _customer("Inside"), _customer("Outside")
        seen: list[tuple[Any, ...]] = []
        errors_seen: list[BaseException] = []

        def other() -> None:
            try:
                store.customers.add(outside)
                seen.append(_outcome(lambda: store.customers.get(inside.id)))
            except BaseException as exc:
                errors_seen.append(exc)

        worker = threading.Thread(target=other, daemon=True)

        def changes() -> None:
            store.customers.add(inside)
            worker.start()
            # A store that serialises transactions makes the other thread wait for
            # this block; one that does not lets it run now. Either way the block
            # then fails, and the other thread's work must not go with it.
            worker.join(timeout=0.5)

        _fail_inside_transaction(store, changes)
        worker.join(timeout=THREAD_JOIN_SECONDS)
        assert not worker.is_alive(), "the other thread never finished: a deadlock?"
        assert errors_seen == []
        assert store.customers.get(outside.id) == replace(outside, version=1)
        with pytest.raises(NotFound):
            store.customers.get(inside.id)
        assert seen == [("raised", "NotFound", "customer", inside.id)]

    def test_a_half_read_iterator_blocks_no_other_thread(self, store: Store) -> None:
        """An iterator left half-read in one thread does not stop another thread writing."""
        ada = store.customers.add(_customer())
        store.interactions.add_many(_interaction(ada.id, at=T0.add(minutes=m)) for m in range(6))
        rows = store.interactions.for_customer(ada.id)
        first = next(rows)

        def write(k: int) -> None:
            store.interactions.add(_interaction(ada.id, at=T0.add(days=1)))
            store.interactions.save(store.interactions.get(first.id).advance("receive", at=T0))

        assert _run_threads(write, 1) == []
        assert len([first, *rows]) >= 6
        assert store.interactions.count() == 7


class _Reopening(_Kit):
    """Data kept outside the store object (``survives_reopen``, ``shared_between_stores``)."""

    def test_everything_survives_close_and_reopen(
        self, store: Store, request: pytest.FixtureRequest
    ) -> None:
        """Records, versions, the feed and erasures are all there after reopening."""
        reopen = self._reopener(request, "survives_reopen")
        ada = _populate(store, "Ada")
        bob = _populate(store, "Bob")
        exported = store.export(ada.id)
        feed = list(store.events.since(0))
        counts = _counts(store)
        store.close()
        with reopen() as again:
            assert again.export(ada.id) == exported
            assert list(again.events.since(0)) == feed
            assert again.events.latest() == feed[-1].position
            assert _counts(again) == counts
            again.forget(bob.id)
            cy = again.customers.add(_customer("Cy"))
        with reopen() as third:
            with pytest.raises(NotFound):
                third.customers.get(bob.id)
            assert third.customers.get(cy.id) == cy
            assert _entries(third)[-2:] == [
                ("customer", "forget", bob.id, bob.id, None),
                ("customer", "add", cy.id, cy.id, 1),
            ]

    def test_stores_on_the_same_data_see_each_others_commits(
        self, store: Store, request: pytest.FixtureRequest
    ) -> None:
        """What one store commits, another open on the same data reads; not before."""
        reopen = self._reopener(request, "shared_between_stores")
        with reopen() as other:
            ada = store.customers.add(_customer())
            assert other.customers.get(ada.id) == ada
            with store.transaction():
                bob = store.customers.add(_customer("Bob"))
                assert other.customers.count() == 1
                with pytest.raises(NotFound):
                    other.customers.get(bob.id)
            assert other.customers.count() == 2
            call = other.interactions.add(_interaction(ada.id))
            assert store.interactions.get(call.id) == call
            assert list(store.events.since(0)) == list(other.events.since(0))

    def test_a_stale_save_through_another_store_is_a_concurrency_error(
        self, store: Store, request: pytest.FixtureRequest
    ) -> None:
        """Two stores on the same data: the second save from one version is refused."""
        reopen = self._reopener(request, "shared_between_stores")
        with reopen() as other:
            ada = store.customers.add(_customer())
            theirs = other.customers.save(other.customers.get(ada.id).with_profile(segment="a"))
            with pytest.raises(ConcurrencyError) as raised:
                store.customers.save(ada.with_profile(segment="b"))
            assert (raised.value.expected, raised.value.actual) == (1, 2)
            assert store.customers.get(ada.id) == theirs


class _Tenants(_Kit):
    """Tenants kept apart (``tenants``)."""

    def test_a_tenant_sees_only_its_own_records(self, store: Store) -> None:
        north, south = _scope(store, "north"), _scope(store, "south")
        ada = north.customers.add(_customer("Ada"))
        call = north.interactions.add(_interaction(ada.id))
        bo = south.customers.add(_customer("Bo"))
        for other, record_id in ((south, ada.id), (north, bo.id)):
            with pytest.raises(NotFound):
                other.customers.get(record_id)
        with pytest.raises(NotFound):
            south.interactions.get(call.id)
        assert _counts(north) == (1, 1, 0)
        assert _counts(south) == (1, 0, 0)
        assert [c.id for c in north.customers.all()] == [ada.id]
        assert list(south.interactions.for_customer(ada.id)) == []
        assert [i.id for i in north.interactions.for_customer(ada.id)] == [call.id]

    def test_a_tenant_cannot_write_to_another_tenants_records(self, store: Store) -> None:
        north, south = _scope(store, "north"), _scope(store, "south")
        ada = north.customers.add(_customer("Ada"))
        with pytest.raises(NotFound):
            south.customers.save(ada.with_profile(segment="stolen"))
        with pytest.raises(NotFound):
            south.interactions.add(_interaction(ada.id))
        with pytest.raises(NotFound):
            south.cases.add_many([_case(ada.id)])
        with pytest.raises(NotFound):
            south.forget(ada.id)
        with pytest.raises(NotFound):
            south.export(ada.id)
        assert north.customers.get(ada.id) == ada
        assert north.export(ada.id)["customer"] == to_dict(ada)

    def test_the_unscoped_store_sees_every_tenant_and_writes_none(self, store: Store) -> None:
        north = _scope(store, "north")
        ada = north.customers.add(_customer("Ada", at=T0.add(hours=1)))
        bo = store.customers.add(_customer("Bo", at=T0.add(hours=2)))
        assert store.customers.get(ada.id) == ada
        assert [c.id for c in store.customers.all()] == [bo.id, ada.id]  # no tenant's first
        assert store.customers.count() == 2
        with pytest.raises(NotFound):
            north.customers.get(bo.id)
        with pytest.raises(NotFound):  # its records are the tenant's, written in its scope
            store.interactions.add(_interaction(ada.id))
        saved = store.customers.save(ada.with_profile(segment="vip"))
        assert north.customers.get(ada.id) == saved  # the save kept the record's tenant
        store.forget(ada.id)
        assert north.customers.count() == 0

    def test_each_record_comes_with_its_tenant(self, store: Store) -> None:
        north, south = _scope(store, "north"), _scope(store, "south")
        ada = north.customers.add(_customer("Ada", at=T0.add(hours=1)))
        bo = store.customers.add(_customer("Bo", at=T0.add(hours=2)))
        cy = south.customers.add(_customer("Cy"))
        call = north.interactions.add(_interaction(ada.id))
        everyone = _tenant_records(store, "customer")
        assert [(t, c.id) for t, c in everyone] == [
            (None, bo.id),
            ("north", ada.id),
            ("south", cy.id),
        ]
        assert [c for _, c in everyone] == list(store.customers.all())  # as all() reads them
        assert [(t, i.id) for t, i in _tenant_records(north, "interaction")] == [("north", call.id)]
        assert _tenant_records(south, "interaction") == []
        assert _tenant_records(store, "case") == []
        with pytest.raises(ValidationError) as raised:
            _tenant_records(store, "customers")
        assert raised.value.field == "kind"

    def test_each_tenant_reads_its_own_feed_at_global_positions(self, store: Store) -> None:
        north, south = _scope(store, "north"), _scope(store, "south")
        ada = north.customers.add(_customer("Ada"))
        bo = south.customers.add(_customer("Bo"))
        north.customers.save(ada.with_profile(segment="vip"))
        everything = list(store.events.since(0))
        assert [(e.record_id, e.tenant) for e in everything] == [
            (ada.id, "north"),
            (bo.id, "south"),
            (ada.id, "north"),
        ]
        assert list(north.events.since(0)) == [everything[0], everything[2]]
        assert list(south.events.since(0)) == [everything[1]]
        assert north.events.latest() == everything[2].position
        assert south.events.latest() == everything[1].position
        assert list(south.events.since(everything[1].position)) == []
        north.forget(ada.id)
        assert [(e.action, e.tenant) for e in north.events.since(0)] == [("forget", "north")]
        assert list(south.events.since(0)) == [everything[1]]

    def test_the_same_id_may_be_stored_by_two_tenants(self, store: Store) -> None:
        north, south = _scope(store, "north"), _scope(store, "south")
        ada = _customer("Ada")
        north.customers.add(ada)
        south.customers.add(ada.with_profile(segment="south"))
        assert north.customers.get(ada.id).segment is None
        assert south.customers.get(ada.id).segment == "south"
        with pytest.raises(DuplicateError):
            north.customers.add(ada)

    def test_a_scope_shares_its_stores_transactions(self, store: Store) -> None:
        north = _scope(store, "north")

        def both_then_fail() -> None:
            with store.transaction():
                north.customers.add(_customer("Ada"))
                store.customers.add(_customer("Bo"))
                raise _Boom

        with pytest.raises(_Boom):
            both_then_fail()
        assert _counts(store) == (0, 0, 0)
        with north.transaction():
            north.customers.add(_customer("Ada"))
            store.customers.add(_customer("Bo"))
        assert (north.customers.count(), store.customers.count()) == (1, 2)

    def test_closing_a_scope_leaves_its_store_open(self, store: Store) -> None:
        with _scope(store, "north") as north:
            north.customers.add(_customer("Ada"))
        with pytest.raises(StorageError):
            north.customers.count()
        assert store.customers.count() == 1
        store.close()
        with pytest.raises(StorageError):
            _scope(store, "north").customers.count()

    @pytest.mark.parametrize("bad", ["", "x" * 101, 7, None, "nul\x00"])
    def test_a_tenant_is_named_by_1_to_100_characters(self, store: Store, bad: Any) -> None:
        with pytest.raises(ValidationError) as raised:
            _scope(store, bad)
        assert raised.value.field == "tenant"
        assert _scope(store, "x" * 100).customers.count() == 0

    def test_a_tenants_store_reaches_no_other_tenant(self, store: Store) -> None:
        north = _scope(store, "north")
        assert _scope(north, "north").customers.count() == 0
        with pytest.raises(ValidationError):
            _scope(north, "south")

    def test_tenants_stay_apart_whatever_they_do(self, store: Store) -> None:
        """Random interleavings of two tenants' operations: neither ever sees, counts,
        exports, forgets or receives feed entries of the other's records."""
        machine: Any = lambda: TenantMachine(store)  # noqa: E731 (a factory is accepted)
        kit = self._settings()
        # Bounded: the reference machine already runs every operation at length, and a
        # variant of a backend (examples_at_most) runs the code its own kit runs in full.
        runs = TENANT_RUNS if self.examples_at_most is None else TENANT_RUNS // 4
        run_state_machine_as_test(
            machine, settings=settings(kit, max_examples=min(kit.max_examples, runs))
        )


def _scope(store: Any, tenant: Any) -> Store:
    scoped: Store = store.scoped(tenant)
    return scoped


def _tenant_records(store: Any, kind: str) -> list[tuple[str | None, Any]]:
    return list(store.tenant_records(kind))


class _AgainstReference(_Kit):
    """The stateful test: random operations, every answer compared with ``memory://``."""

    def test_answers_like_the_memory_reference(self, store: Store) -> None:
        """Random sequences of every operation give the same answers as the reference.

        A failure prints the steps that led to it, shrunk to the fewest.
        The same store serves every sequence: it is emptied with ``forget``
        between them (so a broken ``forget`` fails here too).
        """
        machine: Any = lambda: ReferenceMachine(store)  # noqa: E731 (a factory is accepted)
        kit = self._settings()
        runs = min(kit.max_examples, REFERENCE_RUNS)
        run_state_machine_as_test(machine, settings=settings(kit, max_examples=runs))


class StoreConformance(
    _Records,
    _Saving,
    _Ordering,
    _Transactions,
    _Forgetting,
    _Feed,
    _Closing,
    _Threads,
    _Reopening,
    _Tenants,
    _AgainstReference,
):
    """The behavioural suite every storage backend must pass, as a pytest base class.

    Subclass it in a test module (name the subclass ``Test...`` so pytest
    collects it), override the ``store`` fixture to yield a fresh, empty
    store, and set the capability flags that hold for the backend. Every
    test is a method named for the behaviour it checks; a failure names the
    behaviour that is broken.

    Attributes:
        thread_safe: one store may be shared by threads (default ``True``).
        tenants: ``store.scoped(tenant)`` keeps tenants apart (default ``True``).
        survives_reopen: data is still there after close and reopen
            (default ``False``; needs the ``reopen`` fixture).
        shared_between_stores: several stores may be open on the same data
            at once, as several processes do (default ``False``; needs the
            ``reopen`` fixture).
        hypothesis_settings: settings for the Hypothesis tests; by default the
            loaded profile, with no deadline and at most 25 steps per run.
        examples_at_most: a bound on the profile's examples per test, for a
            variant of a backend whose own kit runs in full (default ``None``).

    Examples:
        >>> import pytest
        >>> from custservice import open_store
        >>> class TestMemory(StoreConformance):
        ...     @pytest.fixture
        ...     def store(self):
        ...         with open_store("memory://") as store:
        ...             yield store
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A behaviour the backend does not declare is not collected for it: it
        # is no part of that backend's contract, so it is neither run nor skipped.
        super().__init_subclass__(**kwargs)
        for flag, names in _NEEDS.items():
            for name in names:
                if name not in cls.__dict__:  # the author's own version stays
                    setattr(cls, name, _KIT_TESTS[name] if getattr(cls, flag) else None)


# --- the state machine ---------------------------------------------------------------------

#
# The machine mostly draws plain records: what it checks is what the store does
# with them. One record in ten is a rich one from the strategies (profiles,
# histories, feedback), which cost far more to draw and to shrink; the round
# trip of rich records is test_every_record_reads_back_exactly's job. Opening
# times cluster on a few instants, in many zones and around the night when New
# York's clocks go back, so that ties and bounds that fall on a record are common.

MOMENTS = (
    T0,
    T0.add(hours=1),
    pendulum.datetime(2026, 11, 1, 5, 30),  # 01:30 in New York, the first time
    pendulum.datetime(2026, 11, 1, 5, 45),  # 01:45, between the two
    pendulum.datetime(2026, 11, 1, 6, 30),  # 01:30 again, an hour later
)
"""Instants (UTC) that the state machine's records often open at."""

_IN_A_ZONE = st.builds(
    lambda at, zone: at.in_timezone(zone),
    st.sampled_from(MOMENTS),
    st.sampled_from(["UTC", "America/New_York", "Asia/Kathmandu", "Pacific/Chatham"]),
)
TIMES: st.SearchStrategy[pendulum.DateTime] = st.one_of(_IN_A_ZONE, cst.aware_datetimes())
_SEGMENTS = st.none() | st.sampled_from(["vip", "smb"])
_TOPICS = st.none() | st.sampled_from(["refund", "login", "delivery"])
_NAMES = st.sampled_from(["Ada", "Bo", "Chidi", "Dana"])
_CHANNELS = st.sampled_from(Channel)


@st.composite
def _plain_customers(draw: st.DrawFn) -> Customer:
    return Customer.new(
        draw(_NAMES),
        clock=FixedClock(draw(TIMES)),
        id=draw(cst.ids()),
        segment=draw(_SEGMENTS),
    )


@st.composite
def _plain_interactions(draw: st.DrawFn, customer_id: uuid.UUID) -> Interaction:
    at = draw(TIMES)
    record = Interaction.open(
        customer_id, draw(_CHANNELS), clock=FixedClock(at), id=draw(cst.ids()), topic=draw(_TOPICS)
    )
    if draw(st.booleans()):
        record = record.advance("receive", at=at.add(minutes=5))
    return record


@st.composite
def _plain_cases(draw: st.DrawFn, customer_id: uuid.UUID) -> Case:
    at = draw(TIMES)
    record = Case.open(customer_id, draw(_NAMES), clock=FixedClock(at), id=draw(cst.ids()))
    if draw(st.booleans()):
        record = record.advance("open", at=at.add(minutes=5))
    return record


def _mostly(plain: st.SearchStrategy[Any], rich: st.SearchStrategy[Any]) -> Any:
    # Shrinks towards the plain records (the smaller numbers).
    return st.integers(0, 9).flatmap(lambda n: rich if n == 9 else plain)


CUSTOMERS: st.SearchStrategy[Customer] = _mostly(_plain_customers(), cst.customers())
"""Customers for the state machine: plain ones, and now and then a rich one."""


def _linked_records(kind: str, customer_id: uuid.UUID) -> Any:
    """Interactions or cases of one customer, for the state machine."""
    if kind == "interactions":
        return _mostly(_plain_interactions(customer_id), cst.interactions(customer_id=customer_id))
    return _mostly(_plain_cases(customer_id), cst.cases(customer_id=customer_id))


def _records_of(kind: str, customer_id: uuid.UUID, *, max_size: int) -> Any:
    """A strategy for lists of interactions or cases of one customer."""
    return st.lists(_linked_records(kind, customer_id), max_size=max_size)


def _empty(store: Store) -> str:
    """Forget every customer; what is left over afterwards (``""`` when nothing is)."""
    for customer in list(store.customers.all()):
        store.forget(customer.id)
    left = []
    for kind in KINDS:
        count = _repo(store, kind).count()
        listed = sum(1 for _ in _repo(store, kind).all())
        if count or listed:
            left.append(f"{kind}: count() {count}, all() {listed}")
    return "; ".join(left)


class ReferenceMachine(RuleBasedStateMachine):
    """Random operations on a store and on a fresh ``memory://`` store; every answer must agree.

    Records are compared in their ``to_dict`` form, errors by the library's
    error class and the ``kind`` and ``id`` they name, the change feed entry
    by entry (positions need only increase, and stay put). Between runs the
    store is emptied with ``forget``; its feed is then compared from the
    position it had reached.

    Args:
        store: the store under test, shared by every run.
    """

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.reference = MemoryStore()
        self.failed = False
        left = _empty(store)
        if left:
            raise AssertionError(f"the store could not be emptied with forget: {left} remain")
        self.start = store.events.latest()
        self.records: dict[tuple[str, uuid.UUID], Any] = {}
        self.gone: dict[tuple[str, uuid.UUID], Any] = {}
        self.seen: dict[int, tuple[Any, ...]] = {}

    # -- comparing ----------------------------------------------------------------------

    def both(self, what: str, op: Callable[[Store], Any]) -> tuple[Any, ...]:
        """Run ``op`` on the reference, then on the store; they must answer alike."""
        expected = _outcome(lambda: op(self.reference))
        got = _outcome(lambda: op(self.store))
        if got != expected:
            self.failed = True
            raise AssertionError(
                f"{what}\n  the store     {_describe(got)}\n  the reference {_describe(expected)}"
                f"\n  first difference (store != reference) at {_first_difference(got, expected)}"
            )
        return expected

    def known(self, record: Any) -> None:
        """Keep the latest stored copy of a record, to save or re-add it later."""
        kind = {Customer: "customers", Interaction: "interactions", Case: "cases"}[type(record)]
        self.records[(kind, record.id)] = record
        self.gone.pop((kind, record.id), None)

    def forgotten(self, customer_id: uuid.UUID) -> None:
        """Move a forgotten customer's records out of the live ones."""
        for key, record in list(self.records.items()):
            if _owner(record) == customer_id:
                self.gone[key] = self.records.pop(key)

    @property
    def customer_ids(self) -> list[uuid.UUID]:
        """The customers stored now."""
        return sorted(i for (k, i) in self.records if k == "customers")

    def owner_id(self, data: st.DataObject) -> uuid.UUID:
        """A customer with records, a stored customer, or (rarely) a forgotten or unknown id."""
        busy = sorted({_owner(r) for (k, _), r in self.records.items() if k != "customers"})
        pick = data.draw(st.integers(0, 9), label="which customer")
        if busy and pick < 5:
            return data.draw(st.sampled_from(busy), label="customer with records")
        if self.customer_ids and pick < 9:
            return data.draw(st.sampled_from(self.customer_ids), label="customer")
        forgotten = sorted(i for (k, i) in self.gone if k == "customers")
        choose_forgotten: bool = data.draw(st.booleans(), label="forgotten")
        if forgotten and choose_forgotten:
            return data.draw(st.sampled_from(forgotten), label="forgotten customer")
        return data.draw(cst.ids(), label="unknown customer")

    def pick(self, data: st.DataObject, kind: str | None = None) -> tuple[str, Any] | None:
        """A stored record (most of the time) or a forgotten one, of ``kind`` or any kind."""
        live = sorted(key for key in self.records if kind in (None, key[0]))
        gone = sorted(key for key in self.gone if kind in (None, key[0]))
        if gone and (not live or data.draw(st.integers(0, 9), label="forgotten") == 0):
            key = data.draw(st.sampled_from(gone), label="forgotten record")
            return key[0], self.gone[key]
        if live:
            key = data.draw(st.sampled_from(live), label="record")
            return key[0], self.records[key]
        return None

    def bound(self, data: st.DataObject, label: str) -> dt.datetime | None:
        """A window bound: none, any time, or exactly a stored record's opening time."""
        openings = [r.opened_at for (kind, _), r in self.records.items() if kind != "customers"]
        choice = data.draw(
            st.sampled_from(["none", "none", "exact", "exact", "any"]), label=f"{label} kind"
        )
        if choice == "none":
            return None
        if choice == "exact" and openings:
            at: dt.datetime = data.draw(st.sampled_from(openings), label=label)
            zone = data.draw(cst.timezones(), label=f"{label} zone")
            return pendulum.instance(at).in_timezone(zone)
        drawn: dt.datetime = data.draw(cst.aware_datetimes(), label=label)
        return drawn

    def adding(self, kind: str, records: Iterable[Any], op: Callable[[Store], Any]) -> None:
        records = list(records)
        result = self.both(f"{kind}: adding {len(records)} record(s)", op)
        if result[0] == "returned":
            for record in records:
                self.known(replace(record, version=1))

    # -- rules --------------------------------------------------------------------------

    @initialize(data=st.data())
    def seed(self, data: st.DataObject) -> None:
        """Start with a few customers, some with interactions and cases."""
        people = data.draw(st.lists(CUSTOMERS, min_size=1, max_size=2), label="customers")
        self.adding("customers", people, lambda s: s.customers.add_many(people))
        for person in people:
            for kind in LINKED:
                records = data.draw(_records_of(kind, person.id, max_size=2), label=kind)

                def add_many(s: Store, kind: str = kind, records: list[Any] = records) -> int:
                    return int(_repo(s, kind).add_many(records))

                self.adding(kind, records, add_many)

    @rule(record=CUSTOMERS)
    def add_customer(self, record: Customer) -> None:
        """customers.add of a new (or, rarely, a re-drawn) customer."""
        self.adding("customers", [record], lambda s: s.customers.add(record))

    @rule(data=st.data(), kind=st.sampled_from(LINKED))
    def add_linked(self, data: st.DataObject, kind: str) -> None:
        """interactions.add or cases.add, for a known or unknown customer."""
        owner = self.owner_id(data)
        record = data.draw(_linked_records(kind, owner), label=kind)
        self.adding(kind, [record], lambda s: _repo(s, kind).add(record))

    @rule(data=st.data(), kind=st.sampled_from(KINDS), duplicate=st.booleans())
    def add_many(self, data: st.DataObject, kind: str, duplicate: bool) -> None:
        """add_many of a few records, sometimes with one of them twice."""
        if kind == "customers":
            records: list[Any] = data.draw(st.lists(CUSTOMERS, max_size=3), label=kind)
        else:
            owner = self.owner_id(data)
            records = data.draw(_records_of(kind, owner, max_size=3), label=kind)
        if duplicate and records:
            records.append(data.draw(st.sampled_from(records), label="again"))
        self.adding(kind, records, lambda s: _repo(s, kind).add_many(records))

    @rule(data=st.data(), how=st.sampled_from(["current", "older", "newer", "moved", "re-add"]))
    def save(self, data: st.DataObject, how: str) -> None:
        """save from the stored version, a stale or future one, to another customer; or re-add."""
        picked = self.pick(data)
        if picked is None:
            return
        kind, record = picked
        if how == "re-add":
            self.adding(kind, [record], lambda s: _repo(s, kind).add(record))
            return
        changed = _changed(record, data.draw(st.sampled_from(["vip", "smb", "x"]), label="note"))
        if how == "moved" and kind != "customers" and self.customer_ids:
            changed = replace(changed, customer_id=data.draw(st.sampled_from(self.customer_ids)))
        elif how in ("older", "newer"):
            changed = replace(changed, version=changed.version + (-1 if how == "older" else 1))
        result = self.both(f"{kind}: save ({how})", lambda s: _repo(s, kind).save(changed))
        if result[0] == "returned":
            self.known(replace(changed, version=changed.version + 1))

    @rule(data=st.data(), kind=st.sampled_from(KINDS))
    def get(self, data: st.DataObject, kind: str) -> None:
        """get of a stored or forgotten record's id, or of an id never stored."""
        picked = self.pick(data, kind)
        known: bool = data.draw(st.integers(0, 4), label="known") > 0
        if picked is not None and known:
            record_id = picked[1].id
        else:
            record_id = data.draw(cst.ids(), label="unknown id")
        self.both(f"{kind}: get", lambda s: _repo(s, kind).get(record_id))

    @rule(data=st.data())
    def forget(self, data: st.DataObject) -> None:
        """forget a known customer (perhaps already forgotten) or an unknown one."""
        owner = self.owner_id(data)
        if self.both("forget", lambda s: s.forget(owner))[0] == "returned":
            self.forgotten(owner)

    @rule(data=st.data(), kind=st.sampled_from(LINKED))
    def for_customer(self, data: st.DataObject, kind: str) -> None:
        """for_customer with no window, or bounds at or between opening times."""
        owner = self.owner_id(data)
        since, until = self.bound(data, "since"), self.bound(data, "until")
        self.both(
            f"{kind}: for_customer(since={since}, until={until})",
            lambda s: list(_repo(s, kind).for_customer(owner, since, until)),
        )

    @rule(data=st.data())
    def export(self, data: st.DataObject) -> None:
        """export of a known customer (perhaps forgotten) or an unknown one."""
        owner = self.owner_id(data)
        self.both("export", lambda s: s.export(owner))

    @rule(kind=st.sampled_from(KINDS))
    def everything(self, kind: str) -> None:
        """all() of one kind."""
        self.both(f"{kind}: all", lambda s: list(_repo(s, kind).all()))

    @rule(data=st.data())
    def transaction_that_fails(self, data: st.DataObject) -> None:
        """A block that adds, saves and forgets, catches an error, then raises: nothing lands."""
        record = data.draw(CUSTOMERS, label="customer")
        linked = data.draw(_linked_records("cases", record.id), label="case")
        owner = self.owner_id(data)

        def attempt(s: Store) -> list[Any]:
            inner: list[Any] = []
            try:
                with s.transaction():
                    inner.append(_outcome(lambda: s.customers.add(record)))
                    inner.append(_outcome(lambda: s.cases.add(linked)))
                    inner.append(_outcome(lambda: s.forget(owner)))
                    inner.append(_outcome(lambda: s.customers.add(record)))
                    raise _Boom
            except _Boom:
                inner.append("rolled back")
            return inner

        self.both("a transaction that fails", attempt)

    @rule(data=st.data())
    def transaction_that_commits(self, data: st.DataObject) -> None:
        """A block of several changes, with a failure caught inside it: the rest lands."""
        record = data.draw(CUSTOMERS, label="customer")
        calls = data.draw(_records_of("interactions", record.id, max_size=2), label="calls")
        owner = self.owner_id(data)

        def attempt(s: Store) -> list[Any]:
            inner: list[Any] = []
            with s.transaction():
                inner.append(_outcome(lambda: s.customers.add(record)))
                inner.append(_outcome(lambda: s.interactions.add_many([*calls, *calls[:1]])))
                inner.append(_outcome(lambda: s.interactions.add_many(calls)))
                inner.append(_outcome(lambda: list(s.interactions.for_customer(record.id))))
                inner.append(_outcome(lambda: s.export(owner)))
            return inner

        result = self.both("a transaction that commits", attempt)
        if result[0] == "returned" and result[1][0][0] == "returned":
            self.known(replace(record, version=1))
            if result[1][2][0] == "returned":
                for call in calls:
                    self.known(replace(call, version=1))

    @rule(data=st.data())
    def feed_from_a_position(self, data: st.DataObject) -> None:
        """events.since(p) from a position in the feed, or any position: the entries after p."""
        entries = list(self.store.events.since(self.start))
        positions = [self.start, *(e.position for e in entries)]
        # Draw from what the reference holds, so the same steps draw the same data
        # (the store's own positions go on from earlier runs).
        size = len(list(self.reference.events.since(0)))
        if data.draw(st.booleans(), label="a position in the feed") and size < len(positions):
            p = positions[data.draw(st.integers(0, size), label="index")]
        else:
            p = self.start + data.draw(st.integers(0, size + 2), label="offset")
        got = list(self.store.events.since(p))
        expected = [e for e in entries if e.position > p]
        if got != expected:
            self.failed = True
            raise AssertionError(f"events.since({p}) gave {got!r}, the feed holds {expected!r}")

    # -- after every step ---------------------------------------------------------------

    @invariant()
    def counts_agree(self) -> None:
        """count() of every kind."""
        self.both("count() of customers, interactions, cases", _counts)

    @invariant()
    def feed_agrees(self) -> None:
        """The feed: the same entries as the reference, at increasing positions that stay put."""
        got = list(self.store.events.since(self.start))
        expected = list(self.reference.events.since(0))
        problem = ""
        positions = [e.position for e in got]
        if [_entry(e) for e in got] != [_entry(e) for e in expected]:
            problem = "the entries differ from the reference's"
        elif positions != sorted(set(positions)) or any(p <= self.start for p in positions):
            problem = "positions do not increase"
        elif self.store.events.latest() != (positions[-1] if positions else self.start):
            problem = f"latest() is {self.store.events.latest()}, not the newest position"
        else:
            newest_seen = max(self.seen, default=self.start)
            for e in got:
                if e.position in self.seen and self.seen[e.position] != _entry(e):
                    problem = (
                        f"position {e.position} was given to another entry: a reader that "
                        "had read up to it would miss the new one"
                    )
                elif e.position not in self.seen and e.position <= newest_seen:
                    problem = (
                        f"a new entry appeared at position {e.position}, behind {newest_seen}: "
                        "a reader resuming from its last position would miss it"
                    )
        if problem:
            self.failed = True
            raise AssertionError(
                f"change feed: {problem}\n  store: {[(e.position, *_entry(e)) for e in got]}\n"
                f"  reference: {[(e.position, *_entry(e)) for e in expected]}"
            )
        self.seen = {e.position: _entry(e) for e in got}

    def teardown(self) -> None:
        """Empty the store for the next run; a store that cannot be emptied fails this one."""
        self.reference.close()
        try:
            left = _empty(self.store)
        except Exception:
            if self.failed:
                return
            raise
        if left and not self.failed:
            raise AssertionError(f"forget left records behind when emptying the store: {left}")


TENANTS = ("north", "south")
REFERENCE_RUNS = 100
"""At most this many sequences of the reference machine per store (of up to 25 steps each):
every operation, on every backend and each of its variants, in time the suite can give."""

TENANT_RUNS = 12
"""At most this many runs of the tenant machine per backend."""


class TenantMachine(RuleBasedStateMachine):
    """Two tenants' operations interleaved on one store, checked against a model of what
    each tenant wrote: neither ever sees, counts, exports, forgets or receives feed
    entries of the other's records.

    Args:
        store: the store under test, shared by every run (emptied between runs).
    """

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.start = store.events.latest()
        # Per tenant: the stored records by kind and id, and the customers forgotten.
        self.model: dict[str, dict[str, dict[uuid.UUID, Any]]] = {
            t: {kind: {} for kind in KINDS} for t in TENANTS
        }

    def scope(self, tenant: str) -> Store:
        return _scope(self.store, tenant)

    def owners(self, tenant: str) -> list[uuid.UUID]:
        return sorted(self.model[tenant]["customers"])

    @rule(tenant=st.sampled_from(TENANTS), record=_plain_customers())
    def add_customer(self, tenant: str, record: Customer) -> None:
        """A tenant adds a customer (perhaps with an id the other tenant holds)."""
        mine = self.model[tenant]["customers"]
        if record.id in mine:
            with pytest.raises(DuplicateError):
                self.scope(tenant).customers.add(record)
            return
        mine[record.id] = self.scope(tenant).customers.add(record)

    @rule(data=st.data(), tenant=st.sampled_from(TENANTS), kind=st.sampled_from(LINKED))
    def add_linked(self, data: st.DataObject, tenant: str, kind: str) -> None:
        """A tenant adds an interaction or case for its own customer, or the other's."""
        other = TENANTS[1 - TENANTS.index(tenant)]
        choices = [(tenant, c) for c in self.owners(tenant)]
        choices += [(other, c) for c in self.owners(other)]
        if not choices:
            return
        whose, owner = data.draw(st.sampled_from(choices), label="customer")
        record = data.draw(_linked_records(kind, owner), label=kind)
        repository = _repo(self.scope(tenant), kind)
        if record.id in self.model[tenant][kind]:
            with pytest.raises(DuplicateError):  # checked first, as the reference does
                repository.add(record)
        elif whose != tenant and owner not in self.model[tenant]["customers"]:
            with pytest.raises(NotFound):
                repository.add(record)
        else:
            self.model[tenant][kind][record.id] = repository.add(record)

    @rule(data=st.data(), tenant=st.sampled_from(TENANTS), kind=st.sampled_from(KINDS))
    def save_or_reach_across(self, data: st.DataObject, tenant: str, kind: str) -> None:
        """A tenant saves one of its records, or tries to get or save the other's."""
        other = TENANTS[1 - TENANTS.index(tenant)]
        whose = data.draw(st.sampled_from(TENANTS), label="whose record")
        records = self.model[whose][kind]
        if not records:
            return
        record = records[data.draw(st.sampled_from(sorted(records)), label="id")]
        repository = _repo(self.scope(tenant), kind)
        if whose == tenant:
            saved = repository.save(_changed(record, tenant))
            records[record.id] = saved
        elif record.id not in self.model[tenant][kind]:
            with pytest.raises(NotFound):
                repository.get(record.id)
            with pytest.raises(NotFound):
                repository.save(record)
        assert whose in (tenant, other)

    @rule(data=st.data(), tenant=st.sampled_from(TENANTS))
    def forget_or_export(self, data: st.DataObject, tenant: str) -> None:
        """A tenant forgets or exports one of its customers, or tries the other's."""
        whose = data.draw(st.sampled_from(TENANTS), label="whose customer")
        owners = self.owners(whose)
        if not owners:
            return
        owner = data.draw(st.sampled_from(owners), label="customer")
        scoped = self.scope(tenant)
        if whose != tenant and owner not in self.model[tenant]["customers"]:
            with pytest.raises(NotFound):
                scoped.export(owner)
            with pytest.raises(NotFound):
                scoped.forget(owner)
            return
        mine = self.model[tenant]
        if data.draw(st.booleans(), label="forget"):
            scoped.forget(owner)
            del mine["customers"][owner]
            for kind in LINKED:
                for rid in [r for r, rec in mine[kind].items() if rec.customer_id == owner]:
                    del mine[kind][rid]
        else:
            exported = scoped.export(owner)
            assert exported["customer"] == to_dict(mine["customers"][owner])
            for kind in LINKED:
                got = sorted(r["id"] for r in exported[kind])
                want = sorted(str(r.id) for r in mine[kind].values() if r.customer_id == owner)
                assert got == want, kind

    @invariant()
    def each_tenant_sees_exactly_its_own(self) -> None:
        """count(), all() and for_customer of each tenant: its records, none of the other's."""
        for tenant in TENANTS:
            scoped = self.scope(tenant)
            for kind in KINDS:
                mine = self.model[tenant][kind]
                repository = _repo(scoped, kind)
                assert repository.count() == len(mine), (tenant, kind)
                assert {r.id: r for r in repository.all()} == mine, (tenant, kind)
            for owner in self.owners(tenant):
                for kind in LINKED:
                    want = sorted(
                        r.id for r in self.model[tenant][kind].values() if r.customer_id == owner
                    )
                    got = sorted(r.id for r in _repo(scoped, kind).for_customer(owner))
                    assert got == want, (tenant, kind)
        total = tuple(sum(len(self.model[t][kind]) for t in TENANTS) for kind in KINDS)
        assert _counts(self.store) == total
        for kind in KINDS:  # the unscoped store says whose each record is
            tagged = sorted((t, r.id) for t, r in _tenant_records(self.store, _KIND_NAME[kind]))
            assert tagged == sorted((t, rid) for t in TENANTS for rid in self.model[t][kind])

    @invariant()
    def each_tenants_feed_is_its_own(self) -> None:
        """A tenant's feed: entries of its tenant only, about its own records, in order; the
        whole feed is the two merged."""
        feeds = {t: list(self.scope(t).events.since(self.start)) for t in TENANTS}
        for tenant, entries in feeds.items():
            assert all(e.tenant == tenant for e in entries), tenant
            live = {rid for kind in KINDS for rid in self.model[tenant][kind]}
            for e in entries:
                assert e.action == "forget" or e.record_id in live, (tenant, e)
        merged = sorted((e for f in feeds.values() for e in f), key=lambda e: e.position)
        assert list(self.store.events.since(self.start)) == merged

    def teardown(self) -> None:
        """Empty the store for the next run."""
        for customer in list(self.store.customers.all()):
            self.store.forget(customer.id)


_NEEDS = {
    "thread_safe": (
        "test_threads_sharing_a_store_lose_no_change",
        "test_a_transaction_belongs_to_the_thread_that_opened_it",
        "test_a_half_read_iterator_blocks_no_other_thread",
    ),
    "survives_reopen": ("test_everything_survives_close_and_reopen",),
    "tenants": tuple(name for name in vars(_Tenants) if name.startswith("test_")),
    "shared_between_stores": (
        "test_stores_on_the_same_data_see_each_others_commits",
        "test_a_stale_save_through_another_store_is_a_concurrency_error",
    ),
}
"""The focused tests each capability flag brings in."""

_KIT_TESTS = {name: getattr(StoreConformance, name) for names in _NEEDS.values() for name in names}
