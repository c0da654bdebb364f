"""Privacy: personal data stays out of reprs, messages and logs, and forget leaves no trace.

Personal data here is a customer's email, phone and birthday (and name, which
``repr`` leaves out as well). The values used are distinctive, so finding one
cannot be a coincidence.

- ``repr`` and ``str`` of every object a customer's data passes through
  hold none of it.
- Every error an operation on a customer can raise, printed with its whole
  traceback (as a logger prints it), holds none of it, on every backend,
  including the error for a row changed behind the library's back.
- Logging captured at DEBUG, from every logger, through a full demo run of the
  command line (which simulates customers with emails and birthdays into a
  store, then reports on it) holds none of it.
- After ``forget``, no byte of the customer's name, emails (every one they
  ever had), phone numbers or birthday is left in the SQLite file, even when
  another connection held a snapshot open while it was forgotten, nor in any
  PostgreSQL table or the change feed.

Already proved elsewhere: ``repr`` of random customers
(``tests/test_customers.py``), errors for bad personal data repeat no value
(``tests/test_customers.py``), forgotten name and email leave the SQLite file
(``tests/test_sqlite.py``) and the PostgreSQL tables (``tests/test_postgres.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sqlite3
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests._reliability import SERVER, drop_schema, new_schema, pg_admin, with_options

from custservice import (
    Case,
    Channel,
    Customer,
    CustServiceError,
    FixedClock,
    Interaction,
    NotFound,
    Store,
    from_dict,
    from_json,
    open_store,
    to_dict,
    to_json,
)
from custservice._records import replace
from custservice.cli import main
from custservice.storage.sql.sqlite import sqlite_store as SQLiteStore

T0 = pendulum.datetime(2026, 1, 5, 9)


class Personal:
    """A customer's personal data, and every form it could be written in."""

    def __init__(self, name: str, email: str, phone: str, birthday: dt.date) -> None:
        self.name, self.email, self.phone, self.birthday = name, email, phone, birthday

    def forms(self, *, name: bool = True) -> list[str]:
        b = self.birthday
        dates = [b.isoformat(), f"{b.year}, {b.month}, {b.day}", b.strftime("%d/%m/%Y")]
        return [*([self.name] if name else []), self.email, self.phone, *dates]

    def found_in(self, text: str, *, name: bool = True) -> list[str]:
        return [form for form in self.forms(name=name) if form in text]

    def profile(self) -> dict[str, Any]:
        return {"email": self.email, "phone": self.phone, "birthday": self.birthday}


personal_data = st.builds(
    Personal,
    st.from_regex(r"Zq[a-z]{8,12} Xy[a-z]{8,12}", fullmatch=True),
    st.from_regex(r"[a-z]{8,12}\.[a-z]{8,12}@example\.org", fullmatch=True),
    st.from_regex(r"\+44 20 [0-9]{4} [0-9]{4}", fullmatch=True),
    # Birthdays before 1990, records from 2026: no record time reads like a birthday.
    st.dates(dt.date(1900, 1, 1), dt.date(1989, 12, 31)).map(
        lambda d: pendulum.date(d.year, d.month, d.day)
    ),
)
ZEB = Personal(
    "Zebedee Quillfeather",
    "zebedee.quillfeather@example.org",
    "+44 20 7946 0958",
    dt.date(1987, 3, 14),
)


def shown(value: object) -> str:
    """Everything a program usually shows of a value: its repr and str."""
    return f"{value!r}\n{value}"


def printed(exc: BaseException) -> str:
    """An exception as a logger prints it: the whole traceback, causes and contexts included."""
    return "".join(traceback.format_exception(exc))


# --- repr and str ----------------------------------------------------------------------------


@given(who=personal_data)
def test_repr_and_str_of_everything_around_a_customer_hold_no_personal_data(
    who: Personal,
) -> None:
    clock = FixedClock(T0)
    ada = Customer.new(who.name, clock=clock, **who.profile())
    ada = ada.advance("acquire", at=T0.add(days=1), reason="signed up")
    call = Interaction.open(ada.id, Channel.EMAIL, clock=clock, topic="order")
    case = Case.open(ada.id, "Refund", clock=clock)
    with open_store("memory://") as store:
        stored = store.customers.add(ada)
        store.interactions.add(call)
        store.cases.add(case)
        saved = store.customers.save(stored.with_profile(segment="vip"))
        things: list[object] = [
            ada,
            stored,
            saved,
            ada.lifecycle,
            ada.lifecycle.history,
            *ada.lifecycle.history,
            call,
            case,
            store,
            *store.events.since(0),
        ]
        for thing in things:
            assert who.found_in(shown(thing)) == [], type(thing).__name__


# --- errors ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    conn = pg_admin()
    yield conn
    conn.close()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'privacy.db'}"
    else:
        admin = request.getfixturevalue("admin")
        schema = new_schema()
        yield with_options(SERVER, schema=schema)
        drop_schema(admin, schema)


def failures(store: Store, who: Personal) -> Iterator[tuple[str, Callable[[], object]]]:
    """Operations on a customer holding ``who``'s data, each of which raises a library error."""
    clock = FixedClock(T0)
    ada = store.customers.add(Customer.new(who.name, clock=clock, **who.profile()))
    other = store.customers.add(Customer.new("Other", clock=clock))
    call = store.interactions.add(Interaction.open(ada.id, Channel.PHONE, clock=clock))
    stale = ada.with_profile(email="new." + who.email)
    store.customers.save(ada.with_profile(segment="vip"))
    bad_email = who.email.replace("@", " at ")
    bad_phone = who.phone.replace("+", "phone ")
    data = to_dict(ada)
    yield "duplicate", lambda: store.customers.add(ada)
    yield "stale save", lambda: store.customers.save(stale)
    yield (
        "unknown",
        lambda: store.customers.save(Customer.new(who.name, clock=clock, **who.profile())),
    )
    yield "bad email", lambda: ada.with_profile(email=bad_email)
    yield "bad phone", lambda: ada.with_profile(phone=bad_phone)
    yield "bad birthday", lambda: ada.with_profile(birthday=who.birthday.isoformat())
    yield "bad new", lambda: Customer.new(who.name, clock=clock, email=bad_email, phone=bad_phone)
    yield "from_dict email", lambda: from_dict(Customer, {**data, "email": bad_email})
    yield "from_dict phone", lambda: from_dict(Customer, {**data, "phone": bad_phone})
    yield (
        "from_dict birthday",
        lambda: from_dict(Customer, {**data, "birthday": who.birthday.isoformat() + "x"}),
    )
    yield "from_dict many", lambda: from_dict(Customer, {**data, "email": 7, "phone": [who.phone]})
    yield "from_json cut", lambda: from_json(Customer, to_json(ada)[:-9])
    yield "move", lambda: store.interactions.save(replace(call, customer_id=other.id))
    yield "forget", lambda: (store.forget(ada.id), store.forget(ada.id))
    yield "get forgotten", lambda: store.customers.get(ada.id)
    yield "export forgotten", lambda: store.export(ada.id)


@given(who=personal_data)
@settings(
    max_examples=min(25, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_errors_about_a_customer_hold_no_personal_data(url: str, who: Personal) -> None:
    seen = 0
    with open_store(url) as store:
        for what, operation in failures(store, who):
            with pytest.raises(CustServiceError) as raised:
                operation()
            assert who.found_in(printed(raised.value)) == [], what
            seen += 1
    assert seen == 16


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_row_changed_behind_the_librarys_back_is_reported_without_its_data(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The decoder's own message quotes the text it could not read: it is not passed on."""
    clock = FixedClock(T0)
    ada = Customer.new(ZEB.name, clock=clock, **ZEB.profile())
    broken = to_json(replace(ada, version=1)).replace(
        ZEB.birthday.isoformat(), ZEB.birthday.isoformat() + "x"
    )
    schema = ""
    if backend == "sqlite":
        path = tmp_path / "changed.db"
        url = f"sqlite:///{path}"
        with open_store(url) as store:
            store.customers.add(ada)
        conn = sqlite3.connect(path)
        conn.execute("UPDATE customers SET data = ?", (broken,))
        conn.commit()
        conn.close()
    else:
        admin = request.getfixturevalue("admin")
        schema = new_schema()
        url = with_options(SERVER, schema=schema)
        with open_store(url) as store:
            store.customers.add(ada)
        admin.execute(f'UPDATE "{schema}".customers SET data = %s', (broken,))
    try:
        with open_store(url) as store:
            for read in (lambda: store.customers.get(ada.id), lambda: list(store.customers.all())):
                with pytest.raises(CustServiceError, match="could not be read") as raised:
                    read()
                assert ZEB.found_in(printed(raised.value)) == []
    finally:
        if schema:
            drop_schema(request.getfixturevalue("admin"), schema)


# --- logs ---------------------------------------------------------------------------------------


class Everything(logging.Handler):
    """Keeps every record, as text, the way a log file would show it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextlib.contextmanager
def captured_logs() -> Iterator[Everything]:
    """Every log record of every logger, at DEBUG."""
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    loggers = [logging.getLogger(name) for name in logging.root.manager.loggerDict]
    levels = [logger.level for logger in loggers]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for logger, old in zip(loggers, levels, strict=True):
            logger.setLevel(old)


def test_reading_and_writing_at_debug_level_logs_no_stored_data(url: str) -> None:
    # SQLAlchemy logs every row it fetches once its logger is at DEBUG; a store's never do.
    who = Personal("Ada Lovelace", "ada.l@example.org", "+441234567890", dt.date(1815, 12, 10))
    with captured_logs() as logs, open_store(url) as store:
        logging.getLogger("custservice.privacy-test").debug("capture works")
        ada = store.customers.add(Customer.new(who.name, clock=FixedClock(T0), **who.profile()))
        assert store.customers.get(ada.id) == ada
        assert list(store.customers.all()) == [ada]
        store.export(ada.id)
    text = "\n".join(logs.lines)
    assert "custservice.privacy-test DEBUG capture works" in text
    assert who.found_in(text) == []


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_full_demo_run_logs_no_personal_data(
    backend: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    schema = ""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'demo.db'}"
    else:
        request.getfixturevalue("admin")  # a server, or a visible skip
        schema = new_schema()
        url = with_options(SERVER, schema=schema)
    try:
        with captured_logs() as logs:
            logging.getLogger("custservice.privacy-test").debug("capture works")
            code = main(["demo", "--store", url, "--customers", "60", "--seed", "11"])
            output = capsys.readouterr()
            with open_store(url) as store:
                people = list(store.customers.all())
                with contextlib.suppress(CustServiceError):
                    store.customers.add(people[0])  # an error, logged by nobody, for good measure
        assert code == 0, output.err
        assert "custservice.privacy-test DEBUG capture works" in logs.lines
        text = "\n".join([*logs.lines, output.err])
        emails = [p.email for p in people if p.email]
        birthdays = [p.birthday.isoformat() for p in people if p.birthday]
        phones = [p.phone for p in people if p.phone]
        assert len(people) == 60
        assert emails  # the check can fail
        assert birthdays
        assert emails[0] in json.dumps([to_dict(p) for p in people])
        assert [e for e in emails if e in text] == []
        assert [b for b in birthdays if b in text] == []
        assert [p for p in phones if p in text] == []
    finally:
        if schema:
            drop_schema(request.getfixturevalue("admin"), schema)


# --- forget ---------------------------------------------------------------------------------------


def file_bytes(path: Path) -> bytes:
    """The database file and, if present, its WAL."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def found_bytes(who: Personal, data: bytes, extra: list[str]) -> list[str]:
    return [form for form in [*who.forms(), *extra] if form.encode() in data]


def test_forget_erases_every_version_from_the_sqlite_file_despite_a_reader(
    tmp_path: Path,
) -> None:
    """Old emails and phones from earlier saves go too; a reader's snapshot only delays it."""
    path = tmp_path / "forget.db"
    clock = FixedClock(T0)
    old_emails = [f"old{k}.{ZEB.email}" for k in range(3)]
    old_phones = [f"+44 20 7946 000{k}" for k in range(3)]
    with SQLiteStore(path) as store:
        store.customers.add_many(
            Customer.new(f"Other {n}", clock=clock, email=f"other{n}@example.com")
            for n in range(40)
        )
        zeb = store.customers.add(
            Customer.new(
                ZEB.name, clock=clock, email=old_emails[0], phone=old_phones[0], likes={"tea"}
            )
        )
        for k in (1, 2):
            zeb = store.customers.save(zeb.with_profile(email=old_emails[k], phone=old_phones[k]))
        zeb = store.customers.save(zeb.with_profile(**ZEB.profile()))
        store.interactions.add_many(
            Interaction.open(zeb.id, Channel.CHAT, clock=clock) for _ in range(30)
        )
    gone = [*old_emails, *old_phones]
    assert found_bytes(ZEB, file_bytes(path), gone) != []  # the check can fail

    # A long busy timeout: forget must not wait for the reader to empty the WAL (it would
    # hold the store's lock all that time); the last connection to close empties it.
    with SQLiteStore(path, busy_timeout=600) as store:
        reader = sqlite3.connect(path)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM customers").fetchone() == (41,)
        forgetting = threading.Thread(target=store.forget, args=(zeb.id,))
        forgetting.start()
        forgetting.join(60)
        assert not forgetting.is_alive()
        with pytest.raises(NotFound):
            store.customers.get(zeb.id)
        reader.execute("COMMIT")
        reader.close()
    data = file_bytes(path)
    assert found_bytes(ZEB, data, gone) == []
    assert b"other7@example.com" in data
    with SQLiteStore(path) as store:
        assert store.customers.count() == 40


def test_forget_inside_a_transaction_leaves_nothing_in_any_postgres_table(admin: Any) -> None:
    schema = new_schema()
    clock = FixedClock(T0)
    old = "old." + ZEB.email
    try:
        with open_store(with_options(SERVER, schema=schema)) as store:
            zeb = store.customers.add(Customer.new(ZEB.name, clock=clock, email=old))
            zeb = store.customers.save(zeb.with_profile(**ZEB.profile()))
            store.cases.add(Case.open(zeb.id, "Refund", clock=clock))
            keep = store.customers.add(Customer.new("Kept", clock=clock, email="kept@example.com"))

            def everything() -> str:
                tables = admin.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                    (schema,),
                ).fetchall()
                return json.dumps(
                    [
                        r[0]
                        for (table,) in tables
                        for r in admin.execute(f'SELECT t::text FROM "{schema}"."{table}" AS t')
                    ]
                )

            assert found_bytes(ZEB, everything().encode(), [old]) != []  # the check can fail
            with store.transaction():
                store.interactions.add(Interaction.open(keep.id, Channel.CHAT, clock=clock))
                store.forget(zeb.id)
                store.customers.save(keep.with_profile(segment="vip"))
            text = everything()
            assert found_bytes(ZEB, text.encode(), [old]) == []
            assert "kept@example.com" in text
            assert [e.action for e in store.events.since(0) if e.customer_id == zeb.id] == [
                "forget"
            ]
    finally:
        drop_schema(admin, schema)


def test_the_feed_keeps_only_the_id_of_a_forgotten_customer() -> None:
    """A forgotten customer's id is all that remains: it is not personal data of itself."""
    with open_store("memory://") as store:
        zeb = store.customers.add(Customer.new(ZEB.name, clock=FixedClock(T0), **ZEB.profile()))
        store.forget(zeb.id)
        (entry,) = store.events.since(0)
        assert (entry.action, entry.record_id, entry.customer_id) == ("forget", zeb.id, zeb.id)
        assert isinstance(entry.record_id, uuid.UUID)
        assert ZEB.found_in(shown(entry)) == []
