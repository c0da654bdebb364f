"""Scorecards computed in SQL over the typed columns of a SQL store.

:func:`~custservice.analytics.scorecard` hands a store that offers
``sql_snapshot()`` (every store of the shared SQL core) to
:func:`sql_scorecard`. It reads one consistent snapshot with SQLAlchemy Core
expressions, the same for SQLite, PostgreSQL and MySQL/MariaDB, and must give
exactly the figures streaming gives. So the database returns whole numbers
only, and every rule that turns them into figures is the streaming code's
own (``_card``, ``_grouped``, ``_wait_figures``, ``_ScaleKinds``,
``_add_case`` in :mod:`.scorecard`):

- **counts** per group key, read from the typed columns of ``interactions``:
  interactions; resolved ones (``resolved_at`` set); those resolved without
  a handoff (``handoffs = 0``); handoffs; and the verdict of each factor's
  rating (``<factor>_verdict``).
- **feedback** is counted per verdict (``feedback_verdict``) and kind of
  scale: whether it counts for NPS and for CSAT. Python decides that, by the
  rule streaming applies, for each scale the query names (``NPS_SCALE`` and
  ``csat_scales``) and for every other scale; SQL only counts the verdicts
  of all feedback and of that on the named scales, each told by its name and
  four levels (``feedback_scale``, ``feedback_scale_low`` …). A score at or
  above its scale's ``adequate`` level is one whose verdict is not
  ``dissatisfied`` (``ScoreScale.classify``).
- **queue waits** (``queue_wait``, microseconds) are ranked by ``ROW_NUMBER``
  windows, in each group and in all, and only the waits at the ranks the
  median and the nearest-rank 90th percentile need come back.
- **group keys**: the channel; the root cause; the agent; the customer's
  segment (a join on each customer's segment). An agent or segment that is
  missing, empty or ``"(none)"`` counts in ``NO_GROUP``, as when streaming,
  and so do cases grouped by channel or agent; in SQL that key is ``''``,
  never NULL. Days, ISO weeks and months are cut from ``opened_at`` plus the
  time zone's UTC offset at that instant: the offsets come from Python's zone
  data (each change found to the microsecond) and go into the SQL as a
  ``CASE`` binary search, so a record falls in the period streaming puts it
  in, across every daylight-saving change.
- **service targets** need the Python engine: with targets, the cases are
  streamed from the snapshot (with their group keys) and evaluated as when
  streaming; the interactions stay in SQL.

The interactions are read in one statement, which scans them twice: once
for the counts, once to rank the waits (on SQLite, a second scan costs less
than keeping their columns in a common table expression for both). The
counts are a common table expression (materialized on SQLite and
PostgreSQL, as MySQL does by itself for one referenced twice) whose number
of waits places the ranks in all. SQLite pays for every aggregate on every
row, so the counts of the values one column takes share a sum, each in a
field of bits wide enough for the number of interactions (counted first,
from an index): three counts to a sum up to 2,097,151 interactions.

It returns ``None``, and the scorecard is streamed, when SQL cannot give the
exact answer: an engine without window functions (SQLite before 3.25, MySQL
before 8.0, MariaDB before 10.2); a grouping by period over records more than
:data:`MAX_SPAN_DAYS` apart (or at the edge of what ``datetime`` holds);
``csat_scales`` holding a scale with a level beyond 64 bits (the stored
levels are 64-bit, so such scales are not told apart in SQL); a group key
that does not read back as exactly one text (on MySQL/MariaDB, bytes that
are not UTF-8).

Dialect differences, kept in :class:`_Sql` and :class:`_IntDiv`:
MySQL/MariaDB compare and group text by collation (``utf8mb4_bin`` ignores
trailing spaces), so text keys and scale names are compared and grouped as
binary there, and its ``/`` divides as a rounded decimal, so integer
division is ``DIV`` there; the ``MATERIALIZED`` hint is written for SQLite
3.35 or later and PostgreSQL, the engines that read it; PostgreSQL text
cannot hold U+0000, so a scale named with it matches no stored feedback
there (and is never sent as a parameter).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import pendulum
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from .._time import micros
from ..cases import Case
from ..enums import CaseStatus, Factor, Verdict
from ..expectations import NPS_SCALE, ScoreScale
from ..storage import _common
from ..storage.sql.store import Snapshot
from .scorecard import (
    NO_GROUP,
    GroupBy,
    Scorecard,
    ScorecardQuery,
    WaitFigures,
    _add_attainment,
    _card,
    _grouped,
    _ScaleKinds,
    _Tally,
    _wait_figures,
)

__all__ = ["MAX_SPAN_DAYS", "snapshot_scorecard", "sql_scorecard"]

MAX_SPAN_DAYS = 250 * 366
"""The longest time span of records grouped by period in SQL; a longer one is streamed."""

_DAY = 86_400_000_000  # microseconds
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_SHIFT_DAYS = 3_700_000  # more days than year 1 to 9999: added so that a division floors
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_FACTORS = tuple(Factor)
_VERDICTS = tuple(Verdict)
_INT64 = range(-(2**63), 2**63)
_BATCH = 500
_MYSQL = frozenset({"mysql", "mariadb"})


def sql_scorecard(
    open_snapshot: Callable[[], AbstractContextManager[Snapshot]], query: ScorecardQuery
) -> Scorecard | None:
    """The scorecard of everything in a SQL store, computed in SQL from one snapshot.

    Args:
        open_snapshot: the store's ``sql_snapshot`` method.
        query: what to compute.

    Returns:
        The scorecard, with exactly the figures streaming gives, or ``None``
        when this query must be streamed (see the module documentation).

    Raises:
        StorageError: the database failed, or a stored case (read only with
            service targets) is not what the library wrote.
    """
    with open_snapshot() as snapshot:
        return snapshot_scorecard(snapshot, query)


def snapshot_scorecard(
    snapshot: Snapshot,
    query: ScorecardQuery,
    on_cases: Callable[[Sequence[Case]], None] | None = None,
    wanted: Callable[[CaseStatus, int], bool] | None = None,
) -> Scorecard | None:
    """The scorecard of what ``snapshot`` holds; ``None`` to stream it instead.

    Args:
        snapshot: an open snapshot of a SQL store's tables.
        query: what to compute.
        on_cases: with service targets, every case is read to evaluate them
            (only what the targets read of it, not the whole case), and the
            cases of each batch read that ``wanted`` accepts are passed to
            ``on_cases`` whole, so a caller needing them reads them once;
            without targets cases are only counted, and ``on_cases`` is never
            called. Batches already passed before ``None`` is returned are to
            be discarded.
        wanted: given a case's current status and since when it has been in
            it (microseconds since 1970, UTC), whether ``on_cases`` is to see
            it; every case when ``None``.

    Raises:
        StorageError: a stored case (read only with service targets) is not
            what the library wrote.
        sqlalchemy.exc.SQLAlchemyError: the database failed (the store's
            snapshot turns it into a ``StorageError``).
    """
    if query.csat_scales is not None and any(
        level not in _INT64
        for s in query.csat_scales
        for level in (s.low, s.high, s.adequate, s.desired)
    ):
        return None
    sql = _Sql(snapshot)
    if not sql.able:
        return None
    grouping = _grouping(sql, query)
    if grouping is None:
        return None
    try:
        return _run(sql, query, grouping, on_cases, wanted)
    except _Ambiguous:
        return None


class _Ambiguous(Exception):
    """A group key SQL cannot give exactly: stream instead."""


# --- what differs between engines --------------------------------------------------


class _IntDiv(FunctionElement[int]):
    """``a / b`` on integers, truncated toward zero, on every engine."""

    type = sa.BigInteger()
    name = "int_div"
    inherit_cache = True


@compiles(_IntDiv)
def _int_div(element: _IntDiv, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = element.clauses
    return f"(({compiler.process(a, **kw)}) / ({compiler.process(b, **kw)}))"


@compiles(_IntDiv, "mysql")
@compiles(_IntDiv, "mariadb")
def _int_div_mysql(element: _IntDiv, compiler: SQLCompiler, **kw: Any) -> str:
    a, b = element.clauses
    return f"(({compiler.process(a, **kw)}) DIV ({compiler.process(b, **kw)}))"


def _n(value: int) -> sa.ColumnElement[int]:
    """An integer written into the statement (offsets, bounds): no parameter, no cast."""
    text = str(int(value))
    return sa.literal_column(text if value >= 0 else f"({text})", sa.BigInteger)


_ONE = _n(1)


def _floor_div(x: sa.ColumnElement[Any], d: int) -> sa.ColumnElement[int]:
    """``floor(x / d)`` for any ``x`` of a valid datetime (µs or days): integer division
    truncates, so ``x`` is shifted up to a positive number first."""
    shift = _SHIFT_DAYS * _DAY // d + 1
    return _IntDiv(x + _n(shift * d), _n(d)) - _n(shift)


class _Sql:
    """The snapshot's tables, and how its engine reads text exactly."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.conn = snapshot.connection
        tables = snapshot.tables
        self.interactions = tables["interactions"]
        self.cases = tables["cases"]
        self.customers = tables["customers"]
        self.dialect = snapshot.dialect
        self.binary = self.dialect in _MYSQL
        self.holds_nul = self.dialect != "postgresql"
        dialect = self.conn.dialect
        version = tuple(v for v in dialect.server_version_info or () if isinstance(v, int))
        self.materialize = self.dialect == "postgresql" or (
            self.dialect == "sqlite" and version >= (3, 35)
        )
        self.filters = self.dialect == "postgresql" or (
            self.dialect == "sqlite" and version >= (3, 30)
        )
        # Window functions and common table expressions came in SQLite 3.25, MySQL 8.0
        # and MariaDB 10.2; PostgreSQL has had both for long.
        if self.dialect == "sqlite":
            self.able = version >= (3, 25)
        elif self.binary:
            self.able = version >= ((10, 2) if getattr(dialect, "is_mariadb", False) else (8, 0))
        else:
            self.able = True

    def exact(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """``column`` compared and grouped character for character."""
        return sa.cast(column, sa.LargeBinary) if self.binary else column

    def text(self, value: str) -> sa.ColumnElement[Any]:
        """``value`` to compare with an :meth:`exact` column."""
        if self.binary:
            return sa.literal(value.encode(), sa.LargeBinary)
        return sa.literal(value, sa.String)

    def decode(self, value: Any) -> str:
        """A text read back from an :meth:`exact` column."""
        if isinstance(value, bytes | bytearray | memoryview):
            try:
                return bytes(value).decode()
            except UnicodeDecodeError:
                raise _Ambiguous from None
        if not isinstance(value, str):
            raise _Ambiguous
        return value

    def keyed(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A text group key; ``''`` where streaming counts the record in ``NO_GROUP``
        (NULL, empty or ``"(none)"``), so that keys join by plain equality."""
        k = self.exact(column)
        empty = self.text("")
        return sa.case((sa.or_(k.is_(None), k == empty, k == self.text(NO_GROUP)), empty), else_=k)

    def among(
        self, aggregate: sa.FunctionElement[Any], rows: sa.ColumnElement[bool]
    ) -> sa.ColumnElement[Any]:
        """An aggregate of a value that is NULL wherever ``rows`` is false, stepped only
        on the rows where it holds: with ``FILTER`` where the engine has it, as it is
        elsewhere (MySQL, MariaDB)."""
        return aggregate.filter(rows) if self.filters else aggregate

    def cte(self, select: sa.Select[Any], name: str) -> sa.CTE:
        cte = select.cte(name)
        if self.materialize:
            cte = cte.prefix_with("MATERIALIZED", dialect=self.dialect)
        return cte


# --- what to group by --------------------------------------------------------------


class _Grouping:
    """The group key of interactions and cases as SQL, and how to read one back.

    ``interaction_key`` and ``case_key`` are expressions over ``interactions``
    and ``cases`` (joined to ``seg``, each customer's segment, when grouping by
    segment); ``refine``, when given, makes the key of a column holding one of
    them (a month from a day: the day is computed once, and the SQL stays
    shallow). A key is never NULL: for text keys ``''`` stands for
    ``NO_GROUP``, which no other key can be. ``read`` turns a key read back
    into the key text.
    """

    def __init__(
        self,
        by: GroupBy | None,
        interaction_key: sa.ColumnElement[Any],
        case_key: sa.ColumnElement[Any],
        read: Callable[[Any], str],
        *,
        segments: sa.CTE | None = None,
        refine: Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]] | None = None,
    ) -> None:
        self.by = by
        self.interaction_key = interaction_key
        self.case_key = case_key
        self.read = read
        self.segments = segments
        self.refine = refine or (lambda key: key)

    def source(self, table: sa.Table) -> sa.FromClause:
        """``table``, joined to its customers' segments when grouping by segment."""
        if self.segments is None:
            return table
        return table.outerjoin(self.segments, self.segments.c.id == table.c.customer_id)


def _grouping(sql: _Sql, q: ScorecardQuery) -> _Grouping | None:
    i, c = sql.interactions, sql.cases
    by = q.by
    none = sql.text("")

    def read(raw: Any) -> str:
        text = sql.decode(raw)
        return text or NO_GROUP

    if by is None:
        return _Grouping(None, none, none, read)
    if by is GroupBy.CHANNEL:  # enum values: never empty nor "(none)"
        return _Grouping(by, sa.func.coalesce(sql.exact(i.c.channel), none), none, read)
    if by is GroupBy.ROOT_CAUSE:
        interaction, case = (sa.func.coalesce(sql.exact(t.c.root_cause), none) for t in (i, c))
        return _Grouping(by, interaction, case, read)
    if by is GroupBy.AGENT:
        return _Grouping(by, sql.keyed(i.c.agent), none, read)
    if by is GroupBy.SEGMENT:
        customers = sql.customers
        # Each customer's segment once, so that records join to a small table.
        seg = sql.cte(
            sa.select(customers.c.id, sql.keyed(customers.c.segment).label("segment")), "seg"
        )
        segment = sa.func.coalesce(seg.c.segment, none)  # no such customer: NO_GROUP
        return _Grouping(by, segment, segment, read, segments=seg)
    return _periods(sql, q)


def _periods(sql: _Sql, q: ScorecardQuery) -> _Grouping | None:
    i, c = sql.interactions, sql.cases
    row = sql.conn.execute(
        sa.select(
            sa.select(sa.func.min(i.c.opened_at)).scalar_subquery(),
            sa.select(sa.func.max(i.c.opened_at)).scalar_subquery(),
            sa.select(sa.func.min(c.c.opened_at)).scalar_subquery(),
            sa.select(sa.func.max(c.c.opened_at)).scalar_subquery(),
        )
    ).one()
    bounds = [int(v) for v in row if v is not None]
    lo, hi = (min(bounds), max(bounds)) if bounds else (0, 0)
    if hi - lo > MAX_SPAN_DAYS * _DAY:
        return None
    offsets = _offsets(q.timezone, lo, hi)
    if offsets is None:
        return None
    values = [o for _, o in offsets]
    first, last = (lo + min(values)) // _DAY, (hi + max(values)) // _DAY

    def key(opened_at: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
        day = _floor_div(opened_at + _piecewise(opened_at, offsets), _DAY)
        if q.by is GroupBy.WEEK:
            return _n(7) * _floor_div(day + _n(3), 7) - _n(3)  # the Monday
        return day

    def month(day: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return _piecewise(day, _month_starts(first, last))

    assert q.by is not None
    read = {GroupBy.DAY: _day_key, GroupBy.WEEK: _week_key, GroupBy.MONTH: _month_key}[q.by]
    refine = month if q.by is GroupBy.MONTH else None
    return _Grouping(q.by, key(i.c.opened_at), key(c.c.opened_at), read, refine=refine)


def _piecewise(
    x: sa.ColumnElement[int], pieces: Sequence[tuple[int, int]]
) -> sa.ColumnElement[int]:
    """The value of the piece ``x`` falls in, as a balanced ``CASE`` tree: ``pieces`` are
    ``(start, value)`` sorted by start; the first piece also takes anything below it."""
    if len(pieces) == 1:
        return _n(pieces[0][1])
    mid = len(pieces) // 2
    return sa.case(
        (x < _n(pieces[mid][0]), _piecewise(x, pieces[:mid])),
        else_=_piecewise(x, pieces[mid:]),
    )


def _offsets(zone: str, lo: int, hi: int) -> list[tuple[int, int]] | None:
    """The UTC offsets (µs) of ``zone`` over ``[lo, hi]`` (UTC µs), as ``(start, offset)``
    pieces: from each start on, local time is UTC plus the offset, as Python converts."""
    try:
        pieces = [(lo, _offset(pendulum.timezone(zone), lo))]
        first = (_EPOCH + dt.timedelta(microseconds=lo)).year
        last = (_EPOCH + dt.timedelta(microseconds=hi)).year
        for year in range(first, last + 1):
            for t, value in _changes(zone, year):
                if lo < t <= hi and value != pieces[-1][1]:
                    pieces.append((t, value))
    except (OverflowError, ValueError):
        return None  # at the edge of what datetime holds: let streaming decide
    return pieces


def _offset(tz: dt.tzinfo, us: int) -> int:
    """The UTC offset of ``tz`` at ``us`` (UTC µs since 1970), in µs."""
    local = (_EPOCH + dt.timedelta(microseconds=us)).astimezone(tz)
    return local.utcoffset() // _US  # type: ignore[operator]


@functools.lru_cache(maxsize=4096)
def _changes(zone: str, year: int) -> tuple[tuple[int, int], ...]:
    """Every change of ``zone``'s UTC offset in the UTC year ``year`` (after its first
    instant, up to the next year's): ``(first µs of the new offset, new offset)``.

    The offset is sampled each day, and each change bisected to the microsecond. No
    zone's offset changes twice within a day (the closest changes in the tz database
    are four days apart), so none is missed."""
    tz = pendulum.timezone(zone)
    start = _micros_at(year)
    end = _micros_at(year + 1) if year < dt.MAXYEAR else _micros_at(year) + 365 * _DAY
    out = []
    t, value = start, _offset(tz, start)
    while t < end:
        step = min(t + _DAY, end)
        new = dt.datetime.fromtimestamp(step // 1_000_000, tz).utcoffset() // _US  # type: ignore[operator]
        if step % 1_000_000 or new != value:
            new = _offset(tz, step)
        if new != value:
            before, after = t, step  # one change in between: find its first µs
            while after - before > 1:
                mid = (before + after) // 2
                if _offset(tz, mid) == new:
                    after = mid
                else:
                    before = mid
            out.append((after, new))
            value = new
        t = step
    return tuple(out)


def _micros_at(year: int) -> int:
    return (dt.datetime(year, 1, 1, tzinfo=dt.UTC) - _EPOCH) // _US


def _month_starts(first: int, last: int) -> list[tuple[int, int]]:
    """``(day number of the 1st, year * 12 + month - 1)`` of each month from ``first`` to
    ``last`` (days since 1970-01-01)."""
    start = dt.date.fromordinal(first + _EPOCH_ORDINAL)
    end = dt.date.fromordinal(last + _EPOCH_ORDINAL)
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append((dt.date(year, month, 1).toordinal() - _EPOCH_ORDINAL, year * 12 + month - 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _day_key(day: Any) -> str:
    return dt.date.fromordinal(int(day) + _EPOCH_ORDINAL).isoformat()


def _week_key(monday: Any) -> str:
    year, week, _ = dt.date.fromordinal(int(monday) + _EPOCH_ORDINAL).isocalendar()
    return f"{year:04d}-W{week:02d}"


def _month_key(index: Any) -> str:
    year, month = divmod(int(index), 12)
    return f"{year:04d}-{month + 1:02d}"


# --- the statements ----------------------------------------------------------------


class _Packing:
    """Counts packed into sums, where SQLite pays per aggregate: one ``CASE`` and one
    ``sum`` count how often an expression takes each of several values, each count a
    field of ``bits`` bits (a sum stays within 63 bits).

    Args:
        most: the most any count can be (every interaction).
    """

    def __init__(self, most: int) -> None:
        self.bits = max(most.bit_length(), 1)
        self.per = max(63 // self.bits, 1)

    def sums(
        self,
        sql: _Sql,
        expr: sa.ColumnElement[Any],
        values: Sequence[Any],
        among: sa.ColumnElement[bool],
    ) -> list[Any]:
        """The aggregates counting the rows where ``expr`` equals each of ``values``;
        ``expr`` is NULL wherever ``among`` is false."""
        weights = [_n(1 << (self.bits * j)) for j in range(self.per)]
        return [
            sql.among(
                sa.func.sum(
                    sa.case(dict(zip(values[k : k + self.per], weights, strict=False)), value=expr)
                ),
                among,
            )
            for k in range(0, len(values), self.per)
        ]

    def width(self, values: int) -> int:
        """How many sums count that many values."""
        return -(-values // self.per)

    def counts(self, sums: Sequence[int], values: int) -> list[int]:
        """The counts of :meth:`sums` aggregates of that many values, in their order."""
        mask = (1 << self.bits) - 1
        out = [total >> (self.bits * j) & mask for total in sums for j in range(self.per)]
        return out[:values]


class _Kinds:
    """How feedback counts for NPS and for CSAT, by the rule streaming applies to each
    scale (``_ScaleKinds``), as a code, ``2 * is_nps + is_csat``: ``other`` for every
    scale the query does not name, and in ``named`` the scales it names (``NPS_SCALE``
    and ``csat_scales``) whose code differs from that, by code."""

    def __init__(self, csat_scales: frozenset[ScoreScale] | None) -> None:
        kinds = _ScaleKinds(csat_scales)
        named = {NPS_SCALE, *(csat_scales or ())}
        other = ScoreScale(0, 1, adequate=1, desired=1, name="other")
        while other in named:  # a scale equal to none named stands for the rest
            other = ScoreScale(0, 1, adequate=1, desired=1, name=f"{other.name}'")
        self.other = _code(kinds(other))
        by_code: dict[int, list[ScoreScale]] = {}
        for scale in sorted(named, key=repr):
            code = _code(kinds(scale))
            if code != self.other:
                by_code.setdefault(code, []).append(scale)
        self.named = sorted(by_code.items())


def _code(kind: tuple[ScoreScale, bool, bool]) -> int:
    _, is_nps, is_csat = kind
    return 2 * is_nps + is_csat


def _on_scales(sql: _Sql, scales: list[ScoreScale], c: Any) -> sa.ColumnElement[Any]:
    """Each interaction's feedback verdict if its scale is one of ``scales`` (by name and
    levels), else NULL."""
    name = sql.exact(c.feedback_scale)

    def same(scale: ScoreScale) -> sa.ColumnElement[bool]:
        return sa.and_(
            name.is_(None) if scale.name is None else name == sql.text(scale.name),
            c.feedback_scale_low == _n(scale.low),
            c.feedback_scale_high == _n(scale.high),
            c.feedback_scale_adequate == _n(scale.adequate),
            c.feedback_scale_desired == _n(scale.desired),
        )

    # A name the engine cannot store is on no stored feedback.
    storable = [s for s in scales if sql.holds_nul or "\x00" not in (s.name or "")]
    if not storable:
        return sa.null()
    return sa.case((sa.or_(*(same(s) for s in storable)), c.feedback_verdict))


def _interactions_sql(
    sql: _Sql, g: _Grouping, kinds: _Kinds, packing: _Packing
) -> sa.CompoundSelect[Any]:
    """One statement: the counters of each group (rows tagged 0), then the waits at the
    ranks the median and the 90th percentile need, in each group and in all (rows tagged
    1: ``(1, key, wait, rank in group, waits in group, rank in all, waits in all,
    NULL…)``).

    The counters, after the key: interactions, resolved, resolved without a handoff,
    handoffs, waits, then the packed counts of the feedback verdicts, of those on the
    scales of each code in ``kinds.named``, and of each factor's verdicts.

    The interactions are scanned twice, once for each part: cheaper than keeping their
    columns in a common table expression for both."""
    i = sql.interactions
    c = i.c
    verdicts = [v.value for v in _VERDICTS]
    feedback = [c.feedback_verdict, *(_on_scales(sql, scales, c) for _, scales in kinds.named)]
    source = sql.cte(
        sa.select(
            g.interaction_key.label("k"),
            c.resolved_at.label("res"),
            c.handoffs.label("h"),
            c.queue_wait.label("w"),
            *(v.label(f"v_{k}") for k, v in enumerate(feedback)),
            *(c[f"{f.value}_verdict"].label(f"f_{f.value}") for f in _FACTORS),
        ).select_from(g.source(i)),
        "b",
    )
    b = sa.select(
        g.refine(source.c.k).label("g"), *(col for col in source.c if col.name != "k")
    ).subquery("s")
    counts = sa.select(
        b.c.g if g.by is not None else sql.text("").label("g"),
        sa.func.count().label("n"),
        sa.func.count(b.c.res).label("res"),
        sa.func.count(sa.case((sa.and_(b.c.res.is_not(None), b.c.h == _n(0)), _ONE))),
        sa.func.sum(b.c.h),
        sa.func.count(b.c.w).label("nw"),
        *(
            aggregate
            for name in [f"v_{k}" for k in range(len(feedback))]
            + [f"f_{f.value}" for f in _FACTORS]
            for aggregate in packing.sums(sql, b.c[name], verdicts, b.c.v_0.is_not(None))
        ),
    )
    if g.by is not None:
        counts = counts.group_by(b.c.g)
    n = sql.cte(counts, "n")

    # The waits ranked in order, in each group and in all. Their number in all is summed
    # from the counts; a group's is counted by a window (a join to the counts could make
    # SQLite index the ranked waits instead).
    total = sa.select(sa.cast(sa.func.sum(n.c.nw), sa.BigInteger)).scalar_subquery()
    in_all = sa.func.row_number().over(order_by=b.c.w).label("rt")

    def at_ranks(rank: sa.ColumnElement[int], size: sa.ColumnElement[int]) -> list[Any]:
        # The ranks _wait_ranks names: size // 2 (if even), size // 2 + 1, ceil(0.9 size).
        half = _IntDiv(size, _n(2))
        return [
            rank == half,
            rank == half + _ONE,
            rank == _IntDiv(_n(9) * size + _n(9), _n(10)),
        ]

    if g.by is None:
        r = sa.select(b.c.w, in_all).where(b.c.w.is_not(None)).subquery("r")
        key: Any = sql.text("")
        in_group: list[Any] = [r.c.rt, total]
        wanted = at_ranks(r.c.rt, total)
    else:
        r = (
            sa.select(
                b.c.g,
                b.c.w,
                in_all,
                sa.func.row_number().over(partition_by=b.c.g, order_by=b.c.w).label("rg"),
                sa.func.count().over(partition_by=b.c.g).label("ng"),
            )
            .where(b.c.w.is_not(None))
            .subquery("r")
        )
        key = r.c.g
        in_group = [r.c.rg, r.c.ng]
        wanted = at_ranks(r.c.rg, r.c.ng) + at_ranks(r.c.rt, total)
    picked = sa.select(
        _n(1), key, r.c.w, *in_group, r.c.rt, total, *([sa.null()] * (len(n.c) - 6))
    ).where(sa.or_(*wanted))
    return sa.union_all(sa.select(_n(0), *n.c), picked)


def _cases_sql(sql: _Sql, g: _Grouping, rows: bool) -> sa.Select[*tuple[Any, ...]]:
    c = sql.cases
    counted = c.c.merged_into.is_(None)  # a merged case is counted under its target alone
    keyed = (
        sa.select(c.c.data, g.case_key.label("k"))
        .select_from(g.source(c))
        .where(counted)
        .subquery("c")
    )
    # The key as a column of a subquery: a constant key (one month) is never read as a
    # GROUP BY position.
    cases = sa.select(keyed.c.data, g.refine(keyed.c.k).label("g")).subquery("cases")
    if rows:
        return sa.select(cases.c.data, cases.c.g)
    if g.by is None:
        return sa.select(g.case_key, sa.func.count()).select_from(g.source(c)).where(counted)
    return sa.select(cases.c.g, sa.func.count()).group_by(cases.c.g)


# --- the scorecard -----------------------------------------------------------------


def _run(
    sql: _Sql,
    q: ScorecardQuery,
    g: _Grouping,
    on_cases: Callable[[Sequence[Case]], None] | None,
    wanted: Callable[[CaseStatus, int], bool] | None,
) -> Scorecard:
    targets = q.targets
    n_targets = len(targets)
    kinds = _Kinds(q.csat_scales)
    tallies: dict[str, _Tally] = {}
    raw_keys: dict[Any, str] = {}
    seen: set[str] = set()

    def key_of(raw: Any) -> str:
        key = raw_keys.get(raw)
        if key is None:
            key = g.read(raw)
            if key in seen:
                raise _Ambiguous  # two SQL keys would be one group
            seen.add(key)
            raw_keys[raw] = key
        return key

    def tally(raw: Any) -> _Tally:
        key = key_of(raw)
        found = tallies.get(key)
        if found is None:
            found = tallies[key] = _Tally(n_targets)
        return found

    wait_rows: list[Sequence[Any]] = []
    # Every count is at most the number of interactions: it sizes the packed fields.
    packing = _Packing(
        sql.conn.execute(sa.select(sa.func.count()).select_from(sql.interactions)).scalar_one()
    )
    for row in sql.conn.execute(_interactions_sql(sql, g, kinds, packing)):
        if row[0]:
            wait_rows.append(row[1:7])
        elif row[2]:  # an ungrouped count gives a row even with no interactions
            _add_counts(tally(row[1]), row[2:], kinds, packing)
    waits = _wait_figures_of(g, wait_rows, key_of)
    if targets:
        assert q.at is not None
        now = micros(q.at)
        streamed = sql.conn.execute(_cases_sql(sql, g, True).execution_options(yield_per=_BATCH))
        for rows in streamed.partitions():
            page = list(rows)
            chosen = []
            read = _common.read_case_facts(page, now, "database")
            for row, (facts, status, since) in zip(page, read, strict=True):
                t = tally(row[1])
                t.cases += 1
                _add_attainment(t, facts, targets)
                if on_cases is not None and (wanted is None or wanted(status, since)):
                    chosen.append(row)
            if chosen:
                assert on_cases is not None
                on_cases(_common.decode_rows(Case, "case", chosen, "database"))
    else:
        for raw, n in sql.conn.execute(_cases_sql(sql, g, False)):
            if n:
                tally(raw).cases += int(n)
    if g.by is None:
        return _card(tallies.get(NO_GROUP) or _Tally(n_targets), targets, waits=waits[None])
    return _grouped(tallies, targets, g.by, waits)


def _add_counts(t: _Tally, row: Sequence[Any], kinds: _Kinds, packing: _Packing) -> None:
    """Add one row of counters (see :func:`_interactions_sql`) to a tally."""
    n, resolved, fcr, handoffs, _, *sums = (int(v or 0) for v in row)
    t.interactions += n
    t.resolved += resolved
    t.fcr += fcr
    t.handoffs += handoffs
    width = packing.width(3)
    counted = [packing.counts(sums[k : k + width], 3) for k in range(0, len(sums), width)]
    named = len(kinds.named)
    every, on_named, factors = counted[0], counted[1 : 1 + named], counted[1 + named :]
    by_code = {kinds.other: list(every)}
    for (code, _), verdicts in zip(kinds.named, on_named, strict=True):
        by_code[code] = verdicts
        by_code[kinds.other] = [a - b for a, b in zip(by_code[kinds.other], verdicts, strict=True)]
    for code, verdicts in by_code.items():
        for rank, m in enumerate(verdicts):
            if not m:
                continue
            t.feedback += m
            t.verdicts[rank] += m
            if code & 2:  # counts for NPS
                t.nps_n += m
                if rank == 2:
                    t.promoters += m
                elif rank == 0:
                    t.detractors += m
            if code & 1:  # counts for CSAT
                t.csat_n += m
                if rank:  # at or above adequate: satisfied or delighted
                    t.csat_ok += m
    for factor, verdicts in zip(_FACTORS, factors, strict=True):
        if any(verdicts):
            found = t.factors.setdefault(factor, [0, 0, 0])
            for rank, m in enumerate(verdicts):
                found[rank] += m


def _wait_figures_of(
    g: _Grouping, rows: list[Sequence[Any]], key_of: Callable[[Any], str]
) -> dict[str | None, WaitFigures]:
    """The wait figures of every group, and of all under ``None``, from the rows of waits
    at the ranks they need: ``(key, wait, rank in group, waits in group, rank in all,
    waits in all)``."""
    at_total: dict[int, int] = {}
    at_group: dict[str, dict[int, int]] = {}
    sizes: dict[str, int] = {}
    total = 0
    for raw, w, rg, ng, rt, nt in rows:
        total = int(nt)
        at_total[int(rt)] = int(w)
        if g.by is not None:
            key = key_of(raw)
            sizes[key] = int(ng)
            at_group.setdefault(key, {})[int(rg)] = int(w)
    figures: dict[str | None, WaitFigures] = {None: _wait_figures(total, at_total.__getitem__)}
    for key, n in sizes.items():
        figures[key] = _wait_figures(n, at_group[key].__getitem__)
    return figures
