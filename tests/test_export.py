"""Exports: one flat row per record, no personal data unless asked, CSV and Parquet that read
back as the rows, streaming in bounded memory, and ``custservice export`` end to end."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custservice import (
    SATISFACTION_10,
    Case,
    Channel,
    Customer,
    CustServiceError,
    Factor,
    Feedback,
    FixedClock,
    Interaction,
    ValidationError,
    open_store,
)
from custservice.export import (
    export_columns,
    export_rows,
    write_csv,
    write_parquet,
)
from custservice.testing import strategies as cst

RECORDS = {
    "cases": cst.cases(),
    "interactions": cst.interactions(),
    "customers": cst.customers(),
}
ARROW = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    dt.date: pa.date32(),
    dt.datetime: pa.timestamp("us", tz="UTC"),
}


def kind_and_records(max_size: int = 5) -> st.SearchStrategy[tuple[str, list[Any]]]:
    return st.sampled_from(sorted(RECORDS)).flatmap(
        lambda kind: st.tuples(st.just(kind), st.lists(RECORDS[kind], max_size=max_size))
    )


def without_personal_data(record: Any) -> Any:
    """The record with every personal field changed or emptied."""
    if isinstance(record, Customer):
        return attrs.evolve(
            record,
            name="someone else",
            email=None,
            phone=None,
            birthday=None,
            timezone=None,
            likes=frozenset(),
            dislikes=frozenset(),
            hobbies=frozenset(),
        )
    if isinstance(record, Interaction):
        fb = record.feedback
        return attrs.evolve(
            record,
            topic=None,
            feedback=None if fb is None else attrs.evolve(fb, comment=None),
        )
    return attrs.evolve(record, subject="another subject")


def as_text(value: Any) -> str:
    """A value as the documented CSV form writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        assert value.utcoffset() == dt.timedelta(0)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# -- no personal data unless asked


@given(kind_and_records())
def test_rows_hold_no_personal_data_unless_asked(drawn: tuple[str, list[Any]]) -> None:
    kind, records = drawn
    personal = set(export_columns(kind, personal_data=True)) - set(export_columns(kind))  # type: ignore[arg-type]
    rows = list(export_rows(records, kind=kind))  # type: ignore[arg-type]
    scrubbed = list(
        export_rows([without_personal_data(r) for r in records], kind=kind)  # type: ignore[arg-type]
    )
    # Nothing in a row depends on personal data, and no personal column is there.
    assert rows == scrubbed
    assert all(not personal & row.keys() for row in rows)
    full = list(export_rows(records, kind=kind, personal_data=True))  # type: ignore[arg-type]
    assert all(personal <= row.keys() for row in full)


def test_the_personal_columns_are_the_expected_ones() -> None:
    def personal(kind: Any) -> set[str]:
        return set(export_columns(kind, personal_data=True)) - set(export_columns(kind))

    assert personal("customers") == {
        "name",
        "email",
        "phone",
        "birthday",
        "timezone",
        "likes",
        "dislikes",
        "hobbies",
    }
    assert personal("interactions") == {"topic", "feedback_comment"}
    assert personal("cases") == {"subject"}


@given(cst.customers())
def test_personal_data_is_exported_when_asked(customer: Customer) -> None:
    row = next(export_rows([customer], kind="customers", personal_data=True))
    assert (row["name"], row["email"], row["phone"]) == (
        customer.name,
        customer.email,
        customer.phone,
    )
    assert row["birthday"] == customer.birthday


# -- the shape of a row


@given(kind_and_records())
def test_every_row_has_the_columns_in_order_and_their_types(
    drawn: tuple[str, list[Any]],
) -> None:
    kind, records = drawn
    rows = list(export_rows(records, kind=kind))  # type: ignore[arg-type]
    names = sorted({n for r in records for n in getattr(r, "attributes", {})})
    for row in rows:
        fixed = export_columns(kind)  # type: ignore[arg-type]
        assert list(row)[: len(fixed)] == list(fixed)
        assert list(row)[len(fixed) :] == [f"attributes.{n}" for n in names]
        for column, kind_ in fixed.items():
            value = row[column]
            assert value is None or isinstance(value, kind_), column
            if isinstance(value, dt.datetime):
                assert value.utcoffset() == dt.timedelta(0)


def test_a_case_row() -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/London"))
    minutes = lambda n: pendulum.duration(minutes=n)  # noqa: E731
    case = Case.open(
        Customer.new("Ada", clock=clock).id,
        "Refund for Ada",
        clock=clock,
        channel=Channel.EMAIL,
        priority="high",
        tags={"refund", "vip, eu"},
        attributes={"order": 1042, "due": pendulum.date(2026, 3, 9)},
    )
    opened = clock.now()
    case = case.advance("open", at=clock.advance(minutes(1)))
    case = case.record_update(at=clock.advance(minutes(4)), from_customer=True)
    case = case.record_update(at=clock.advance(minutes(5)))
    case = case.advance("solve", at=clock.advance(minutes(10)))
    case = case.advance("reopen", at=clock.advance(minutes(10)))
    case = case.advance("solve", at=clock.advance(minutes(30)))
    case = case.assign("ana", at=clock.advance(minutes(1)), team="billing")
    row = next(export_rows([case], kind="cases"))
    assert row["opened_at"] == opened
    assert str(row["opened_at"].tzinfo) == "UTC"
    assert (row["status"], row["priority"], row["channel"]) == ("solved", "high", "email")
    assert (row["assignee"], row["team"], row["assignments"]) == ("ana", "billing", 1)
    assert row["tags"] == '["refund","vip, eu"]'
    assert (row["updates"], row["replies"], row["reopens"]) == (2, 1, 1)
    assert row["first_reply_seconds"] == 10 * 60.0
    assert row["resolution_seconds"] == 60 * 60.0  # to the latest solve
    assert row["attributes.order"] == 1042
    assert row["attributes.due"] == dt.date(2026, 3, 9)
    assert "subject" not in row


def test_an_interaction_row_has_feedback_and_its_verdicts() -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))
    call = Interaction.open(Customer.new("Ada", clock=clock).id, Channel.PHONE, clock=clock)
    call = call.advance("receive", at=clock.advance(pendulum.duration(seconds=90)))
    call = call.advance("understand", at=clock.now()).advance("help", at=clock.now())
    call = call.resolve(at=clock.advance(pendulum.duration(minutes=5)))
    call = call.record_feedback(
        Feedback(
            9,
            SATISFACTION_10,
            at=clock.now(),
            comment="Ada was thrilled",
            ratings={Factor.SPEED: 5},
        )
    )
    row = next(export_rows([call], kind="interactions"))
    assert (row["wait_seconds"], row["resolution_seconds"]) == (90.0, 390.0)
    assert row["first_contact_resolution"] is True
    assert (row["feedback_score"], row["feedback_verdict"]) == (9, "delighted")
    assert (row["ratings.speed"], row["factor_verdicts.speed"]) == (5, "dissatisfied")
    assert row["ratings.attitude"] is None
    assert row["feedback_scale"] == "satisfaction_10"
    assert "feedback_comment" not in row
    assert (
        next(export_rows([call], kind="interactions", personal_data=True))["feedback_comment"]
        == "Ada was thrilled"
    )


# -- attribute columns


def _case_with(customer: Customer | None = None, **attributes: Any) -> Case:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))
    customer = customer or Customer.new("Ada", clock=clock)
    return Case.open(customer.id, "x", clock=clock, attributes=attributes)


def test_discovered_attribute_columns_take_one_type_each() -> None:
    cases = [
        _case_with(n=1, mixed=True, when=pendulum.datetime(2026, 1, 1, 12, tz="Asia/Tokyo")),
        _case_with(n=2.5, mixed="yes", only_none=None),
    ]
    rows = list(export_rows(cases, kind="cases"))
    assert [r["attributes.n"] for r in rows] == [1.0, 2.5]
    assert [r["attributes.mixed"] for r in rows] == ["true", "yes"]
    assert rows[0]["attributes.when"] == pendulum.datetime(2026, 1, 1, 3, tz="UTC")
    assert [r["attributes.only_none"] for r in rows] == [None, None]
    assert list(rows[0])[-4:] == [f"attributes.{n}" for n in ("mixed", "n", "only_none", "when")]


def test_declared_attributes_are_the_only_ones_and_must_fit() -> None:
    cases = [_case_with(order=7, region="eu"), _case_with(order=8.5)]
    row = next(export_rows(iter(cases), kind="cases", attributes={"region": str}))
    assert [c for c in row if c.startswith("attributes.")] == ["attributes.region"]
    assert export_columns("cases", attributes={"order": float})["attributes.order"] is float
    with pytest.raises(ValidationError) as info:
        list(export_rows(cases, kind="cases", attributes={"order": int}))
    assert info.value.field == "attributes.order"
    with pytest.raises(ValidationError) as info:
        export_rows(cases, kind="cases", attributes={"order": list})
    assert info.value.field == "attributes.order"


def test_a_one_shot_iterator_needs_declared_attributes() -> None:
    with pytest.raises(ValidationError) as info:
        export_rows(iter([_case_with()]), kind="cases")
    assert info.value.field == "attributes"
    assert len(list(export_rows(iter([_case_with()]), kind="cases", attributes={}))) == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: export_rows([], kind="tickets"), "kind"),  # type: ignore[arg-type]
        (lambda: list(export_rows([_case_with()], kind="interactions")), "source"),
        (lambda: export_rows([], kind="customers", attributes={"a": str}), "attributes"),
        (lambda: export_rows(42, kind="cases"), "source"),  # type: ignore[arg-type]
        (lambda: write_parquet([], io.BytesIO(), kind="cases", batch_size=0), "batch_size"),
    ],
)
def test_bad_arguments_are_validation_errors_naming_the_field(call: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field == field


# -- files that read back as the rows


@given(kind_and_records(), st.booleans())
def test_csv_reads_back_as_the_rows(drawn: tuple[str, list[Any]], personal: bool) -> None:
    kind, records = drawn
    out = io.StringIO(newline="")
    written = write_csv(records, out, kind=kind, personal_data=personal)  # type: ignore[arg-type]
    rows = list(export_rows(records, kind=kind, personal_data=personal))  # type: ignore[arg-type]
    assert written == len(rows)
    out.seek(0)
    reader = csv.DictReader(out)
    expected = export_columns(kind, personal_data=personal)  # type: ignore[arg-type]
    assert reader.fieldnames is not None
    assert reader.fieldnames[: len(expected)] == list(expected)
    assert list(reader) == [{k: as_text(v) for k, v in row.items()} for row in rows]


@given(kind_and_records(), st.booleans(), st.integers(1, 3))
def test_parquet_reads_back_as_the_rows_types_included(
    drawn: tuple[str, list[Any]], personal: bool, batch_size: int
) -> None:
    kind, records = drawn
    out = io.BytesIO()
    write_parquet(records, out, kind=kind, personal_data=personal, batch_size=batch_size)  # type: ignore[arg-type]
    rows = list(export_rows(records, kind=kind, personal_data=personal))  # type: ignore[arg-type]
    table = pq.read_table(io.BytesIO(out.getvalue()))
    columns = export_columns(kind, personal_data=personal)  # type: ignore[arg-type]
    for name, kind_ in columns.items():
        assert table.schema.field(name).type == ARROW[kind_]
    assert table.num_rows == len(rows)
    assert table.to_pylist() == rows
    for back, row in zip(table.to_pylist(), rows, strict=True):
        for name, value in row.items():
            assert type(back[name]) is type(value) or isinstance(value, type(back[name])), name


def test_a_store_exports_what_its_records_export(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'desk.db'}") as store:
        ada = store.customers.add(Customer.new("Ada", clock=FixedClock(pendulum.now())))
        case = store.cases.add(_case_with(ada, order=7))
        store.cases.add(_case_with(ada, region="eu"))
        rows = list(export_rows(store, kind="cases"))
        # A store's rows lead with the tenant (None: these records are of no tenant).
        assert rows == [
            {"tenant": None} | row for row in export_rows(list(store.cases.all()), kind="cases")
        ]
        [row] = [r for r in rows if r["id"] == str(case.id)]
        assert row["version"] == 1
        assert [c for c in row if c.startswith("attributes.")] == [
            "attributes.order",
            "attributes.region",
        ]


def test_parquet_without_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(CustServiceError, match=r"custservice\[arrow\]"):
        write_parquet([], io.BytesIO(), kind="cases")


# -- bounded memory


class Stream:
    """``n`` interactions made on the fly, every time it is read (so it can be read twice)."""

    def __init__(self, n: int) -> None:
        clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))
        base = Interaction.open(
            Customer.new("Ada", clock=clock).id, Channel.CHAT, clock=clock, attributes={"sku": "x"}
        )
        base = base.advance("receive", at=clock.advance(pendulum.duration(minutes=2)))
        self.samples = [attrs.evolve(base, tags=frozenset({f"t{i}"})) for i in range(10)]
        self.n = n

    def __iter__(self) -> Iterator[Interaction]:
        for i in range(self.n):
            yield self.samples[i % 10]


class Sink(io.RawIOBase):
    """Takes bytes and keeps none."""

    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size


def peak(fn: Callable[[], object]) -> int:
    """The most memory ``fn`` held at once while it ran, in bytes, as tracemalloc counts."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["rows", "csv", "parquet"])
def test_memory_stays_flat_however_many_rows(fmt: str) -> None:
    def export(n: int) -> int:
        def run() -> None:
            stream = Stream(n)
            if fmt == "rows":
                for _ in export_rows(stream, kind="interactions"):
                    pass
            elif fmt == "csv":
                write_csv(stream, io.TextIOWrapper(Sink(), newline=""), kind="interactions")
            else:
                write_parquet(stream, Sink(), kind="interactions", batch_size=100)

        return peak(run)

    export(100)  # caches filled (time zones, the CSV and Arrow machinery)
    small, large = export(500), export(5_000)
    # Ten times the rows: kept rows would take 4,500 × several kilobytes more.
    assert large < small + 500_000, (small, large)


# -- the command line


def run(*args: str, first_on_path: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """``custservice export ARGS`` in a fresh interpreter."""
    env = dict(os.environ)
    if first_on_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(first_on_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "custservice.cli", "export", *args],
        capture_output=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def desk_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store with a customer, an interaction with a comment, and a case."""
    path = tmp_path_factory.mktemp("export") / "desk.db"
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/Paris"))
    with open_store(f"sqlite:///{path}") as store:
        ada = store.customers.add(
            Customer.new("Ada Lovelace", clock=clock, email="ada@example.com", segment="vip")
        )
        call = Interaction.open(ada.id, Channel.PHONE, clock=clock, topic="Ada's refund")
        call = call.record_feedback(
            Feedback(3, SATISFACTION_10, at=clock.now(), comment="call me on +44 20 7946 0000")
        )
        store.interactions.add(call)
        store.cases.add(Case.open(ada.id, "Refund for Ada", clock=clock, tags={"refund"}))
    return f"sqlite:///{path}"


def test_cli_writes_csv_to_stdout_without_personal_data(desk_file: str) -> None:
    for kind in ("customers", "interactions", "cases"):
        result = run("--store", desk_file, "--kind", kind)
        assert result.returncode == 0
        assert result.stderr == b""
        text = result.stdout.decode("utf-8")
        assert "Ada" not in text
        assert "example.com" not in text
        assert "7946 0000" not in text  # the comment's number (an id may hold "7946")
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        assert len(rows) == 1
        assert list(rows[0]) == list(export_columns(kind, with_tenant=True))
        assert rows[0]["tenant"] == ""  # of no tenant


def test_cli_writes_personal_data_when_asked(desk_file: str, tmp_path: Path) -> None:
    target = tmp_path / "customers.csv"
    result = run(
        "--store", desk_file, "--kind", "customers", "--output", str(target), "--personal-data"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"1 customers written to {target}\n"
    with target.open(encoding="utf-8", newline="") as written:
        [row] = csv.DictReader(written)
    assert (row["name"], row["email"], row["segment"]) == ("Ada Lovelace", "ada@example.com", "vip")


def test_cli_writes_parquet_to_a_file_and_to_a_pipe(desk_file: str, tmp_path: Path) -> None:
    target = tmp_path / "interactions.parquet"
    result = run("--store", desk_file, "--kind", "interactions", "--format", "parquet",
                 "--output", str(target))  # fmt: skip
    assert result.returncode == 0, result.stderr
    with open_store(desk_file) as store:
        expected = list(export_rows(store, kind="interactions"))
    assert pq.read_table(target).to_pylist() == expected
    piped = run("--store", desk_file, "--kind", "interactions", "--format", "parquet")
    assert piped.returncode == 0, piped.stderr
    assert pq.read_table(io.BytesIO(piped.stdout)).to_pylist() == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "tickets"), "invalid choice: 'tickets'"),
        (("--kind", "cases", "--format", "xlsx"), "invalid choice: 'xlsx'"),
        (("--kind", "cases", "--output", "/no/such/dir/x.csv"), "no such directory"),
    ],
)
def test_cli_bad_options_are_one_line_and_exit_2(
    desk_file: str, args: tuple[str, ...], message: str
) -> None:
    result = run("--store", desk_file, *args)
    err = result.stderr.decode()
    assert result.returncode == 2
    assert result.stdout == b""
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_cli_missing_store_is_one_line_and_hides_a_password(tmp_path: Path) -> None:
    missing = run("--store", f"sqlite:///{tmp_path / 'none.db'}", "--kind", "cases")
    assert missing.returncode == 2
    assert missing.stderr.decode().count("\n") == 1
    assert not (tmp_path / "none.db").exists()
    secret = run("--store", "postgresql://ana:s3cret@127.0.0.1:1/test", "--kind", "cases")
    err = secret.stderr.decode()
    assert secret.returncode == 2
    assert err.count("\n") == 1
    assert "s3cret" not in err


def test_cli_without_pyarrow_names_the_extra_and_leaves_no_file(
    desk_file: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "path" / "pyarrow"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('no pyarrow here')\n")
    target = tmp_path / "cases.parquet"
    result = run("--store", desk_file, "--kind", "cases", "--format", "parquet",
                 "--output", str(target), first_on_path=tmp_path / "path")  # fmt: skip
    err = result.stderr.decode()
    assert result.returncode == 2
    assert err.count("\n") == 1
    assert 'pip install "custservice[arrow]"' in err
    assert not target.exists()
