"""Scorecards computed in SQL over the typed columns of a SQL store.

:func:`~custservice.analytics.scorecard` hands a store that offers
``sql_snapshot()`` (every store of the shared SQL core) to
:func:`sql_scorecard`. It reads one consistent snapshot with SQLAlchemy Core
expressions, the same for SQLite, PostgreSQL and MySQL/MariaDB, and must give
exactly the figures streaming gives. So the database returns whole numbers
only, and every rule that turns them into figures is the streaming code's
own (``_card``, ``_grouped``, ``_ScaleKinds``, ``_add_attainment`` in
:mod:`.scorecard`, ``from_ranks`` in :mod:`.distribution`):

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
- **distributions**: the interactions' queue waits (``queue_wait``) and
  the cases' times to their first reply and to their resolution
  (``first_reply``, ``resolution``: the shared rule's, written with each
  case), all in microseconds, are ranked by ``ROW_NUMBER`` windows, in each
  group and in all, and only the values at the ranks the median and the
  nearest-rank 90th and 95th percentiles need come back; the values in each
  bucket are counted with the other counts. A merged case is counted under
  the case it went into alone (``merged_into`` is NULL).
- **group keys**: the channel; the root cause; the agent; the customer's
  segment (a join on each customer's segment); a case's priority; the team;
  the assignee (an interaction's agent); each tag (a join on the rows of the
  record's ``tags``, a JSON array, read by the engine's JSON functions). An
  agent, segment, team, assignee or tag that is missing, empty or
  ``"(none)"`` counts in ``NO_GROUP``, as when streaming, and so do cases
  grouped by channel or agent and interactions grouped by priority; in SQL
  that key is ``''``, never NULL. By tag, a record is in several groups, so
  the totals are computed ungrouped, on their own. Days, ISO weeks and
  months are cut from ``opened_at`` plus the time zone's UTC offset at that
  instant: the offsets come from Python's zone data (each change found to
  the microsecond) and go into the SQL as a ``CASE`` binary search, so a
  record falls in the period streaming puts it in, across every
  daylight-saving change.
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

The cases are read in a second statement, built the same way. It returns
``None``, and the scorecard is streamed, when SQL cannot give the
exact answer: an engine without window functions (SQLite before 3.25, MySQL
before 8.0, MariaDB before 10.2); a grouping by period over records more than
:data:`MAX_SPAN_DAYS` apart (or at the edge of what ``datetime`` holds); a
grouping by tag on an engine without the JSON functions it needs (SQLite
before 3.38, MySQL before 8.0.4, MariaDB before 10.6), or over a tag holding
U+0000 (which SQLite's JSON functions cut short);
``csat_scales`` holding a scale with a level beyond 64 bits (the stored
levels are 64-bit, so such scales are not told apart in SQL); a group key
that does not read back as exactly one text (on MySQL/MariaDB, bytes that
are not UTF-8; on PostgreSQL, a typed column's text holding U+FFFD, which
stands there for a U+0000 the column could not hold).

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
from collections.abc import Callable, Mapping, Sequence
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
from .distribution import Distribution, from_ranks, micros_of
from .scorecard import (
    NO_GROUP,
    GroupBy,
    Measured,
    Scorecard,
    ScorecardQuery,
    _add_attainment,
    _card,
    _grouped,
    _ScaleKinds,
    _Tally,
)

__all__ = ["MAX_SPAN_DAYS", "Kept", "snapshot_scorecard", "sql_scorecard"]

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
    on_cases: OnCases | None = None,
    wanted: Wanted | None = None,
    kept: Kept | None = None,
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
        kept: for several scorecards of one snapshot, the same ``dict``
            (empty at first) to each: what one counts of every interaction
            is kept there, and a later one with every interaction in one group
            (by priority, say) takes it from there instead of counting again.

    Raises:
        StorageError: a stored case (read only with service targets) is not
            what the library wrote.
        sqlalchemy.exc.SQLAlchemyError: the database failed (the store's
            snapshot turns it into a ``StorageError``).
    """
    finish = start_scorecard(snapshot, query, kept)
    return None if finish is None else finish(on_cases, wanted)


def start_scorecard(
    snapshot: Snapshot, query: ScorecardQuery, kept: Kept | None = None
) -> Finish | None:
    """Begin :func:`snapshot_scorecard`: its aggregates are read ahead, beside the
    snapshot (:meth:`~custservice.storage.sql.Snapshot.read_ahead`), while the caller
    goes on; the function returned, given ``on_cases`` and ``wanted``, finishes it
    (``None``: stream it instead).

    Scorecards begun together in one snapshot are finished in the order begun; one
    that takes what another keeps (``kept``) after it.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database failed.
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
        finish = _start(sql, query, grouping, kept)
    except _Ambiguous:
        return None

    def finished(on_cases: OnCases | None, wanted: Wanted | None) -> Scorecard | None:
        try:
            return finish(on_cases, wanted)
        except _Ambiguous:
            return None

    return finished


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


class _TagsOf(FunctionElement[Any]):
    """The tags of a ``tags`` column (a JSON array of text) as rows of a table whose
    column ``value`` holds one tag each: for a join to the record it belongs to."""

    name = "tags_of"
    inherit_cache = True


@compiles(_TagsOf)
def _tags_sqlite(element: _TagsOf, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"json_each({compiler.process(column, **kw)})"


@compiles(_TagsOf, "postgresql")
def _tags_postgresql(element: _TagsOf, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return f"json_array_elements_text(CAST({compiler.process(column, **kw)} AS JSON))"


@compiles(_TagsOf, "mysql")
@compiles(_TagsOf, "mariadb")
def _tags_mysql(element: _TagsOf, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return (
        f"JSON_TABLE({compiler.process(column, **kw)}, '$[*]' "
        "COLUMNS (value VARCHAR(200) CHARACTER SET utf8mb4 PATH '$'))"
    )


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
        self.ahead = snapshot.read_ahead
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
        # and MariaDB 10.2; PostgreSQL has had both for long. Tags are read as JSON,
        # built into SQLite from 3.38, with JSON_TABLE from MySQL 8.0.4 and MariaDB 10.6.
        mariadb = getattr(dialect, "is_mariadb", False)
        if self.dialect == "sqlite":
            self.able = version >= (3, 25)
            self.reads_tags = version >= (3, 38)
        elif self.binary:
            self.able = version >= ((10, 2) if mariadb else (8, 0))
            self.reads_tags = version >= ((10, 6) if mariadb else (8, 0, 4))
        else:
            self.able = self.reads_tags = True

    def exact(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """``column`` compared and grouped character for character."""
        return sa.cast(column, sa.LargeBinary) if self.binary else column

    def text(self, value: str) -> sa.ColumnElement[Any]:
        """``value`` to compare with an :meth:`exact` column."""
        if self.binary:
            return sa.literal(value.encode(), sa.LargeBinary)
        return sa.literal(value, sa.String)

    def decode(self, value: Any, *, typed: bool = True) -> str:
        """A text read back from an :meth:`exact` column: a typed column's unless ``typed``
        is false (a tag read from JSON)."""
        if isinstance(value, bytes | bytearray | memoryview):
            try:
                return bytes(value).decode()
            except UnicodeDecodeError:
                raise _Ambiguous from None
        if not isinstance(value, str):
            raise _Ambiguous
        if typed and not self.holds_nul and "\ufffd" in value:
            raise _Ambiguous  # PostgreSQL keeps U+0000 in a typed column as U+FFFD
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
    segment; to the rows of their tags, when grouping by tag); ``refine``, when
    given, makes the key of a column holding one of them (a month from a day:
    the day is computed once, and the SQL stays shallow). A key is never NULL:
    for text keys ``''`` stands for ``NO_GROUP``, which no other key can be.
    ``read`` turns a key read back into the key text. ``several`` says a record
    may be in several groups (by tag): then the totals are not the groups
    added up. ``whole`` names the kinds of record whose key is always
    ``NO_GROUP`` (cases by channel, interactions by priority): their figures
    in that group are those of all of them, computed ungrouped (one ranking
    instead of two).
    """

    def __init__(
        self,
        by: GroupBy | None,
        interaction_key: sa.ColumnElement[Any],
        case_key: sa.ColumnElement[Any],
        read: Callable[[Any], str],
        *,
        joined: Mapping[str, Callable[[sa.Table], sa.FromClause]] | None = None,
        refine: Callable[[sa.ColumnElement[Any]], sa.ColumnElement[Any]] | None = None,
        several: bool = False,
        whole: frozenset[str] = frozenset(),
    ) -> None:
        self.by = by
        self.interaction_key = interaction_key
        self.case_key = case_key
        self.read = read
        self.joined = joined or {}
        self.refine = refine or (lambda key: key)
        self.several = several
        self.whole = whole

    def source(self, table: sa.Table) -> sa.FromClause:
        """``table``, joined to what its key reads besides (segments, tags)."""
        join = self.joined.get(table.name)
        return table if join is None else join(table)


_CASES = frozenset({"cases"})
_INTERACTIONS = frozenset({"interactions"})


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
        channel = sa.func.coalesce(sql.exact(i.c.channel), none)
        return _Grouping(by, channel, none, read, whole=_CASES)
    if by is GroupBy.ROOT_CAUSE:
        interaction, case = (sa.func.coalesce(sql.exact(t.c.root_cause), none) for t in (i, c))
        return _Grouping(by, interaction, case, read)
    if by is GroupBy.AGENT:
        return _Grouping(by, sql.keyed(i.c.agent), none, read, whole=_CASES)
    if by is GroupBy.SEGMENT:
        customers = sql.customers
        # Each customer's segment once, so that records join to a small table.
        seg = sql.cte(
            sa.select(customers.c.id, sql.keyed(customers.c.segment).label("segment")), "seg"
        )
        segment = sa.func.coalesce(seg.c.segment, none)  # no such customer: NO_GROUP

        def with_segment(table: sa.Table) -> sa.FromClause:
            return table.outerjoin(seg, seg.c.id == table.c.customer_id)

        joined = {i.name: with_segment, c.name: with_segment}
        return _Grouping(by, segment, segment, read, joined=joined)
    if by is GroupBy.PRIORITY:  # enum values: never empty nor "(none)"
        priority = sa.func.coalesce(sql.exact(c.c.priority), none)
        return _Grouping(by, none, priority, read, whole=_INTERACTIONS)
    if by is GroupBy.TEAM:
        return _Grouping(by, sql.keyed(i.c.team), sql.keyed(c.c.team), read)
    if by is GroupBy.ASSIGNEE:
        return _Grouping(by, sql.keyed(i.c.agent), sql.keyed(c.c.assignee), read)
    if by is GroupBy.TAG:
        return _tagged(sql)
    return _periods(sql, q)


def _tagged(sql: _Sql) -> _Grouping | None:
    """Grouped by tag: each record joined to one row per tag (one with none when it has
    none), so it counts in the group of each. ``None`` when the engine cannot read the
    tags, or a tag holds U+0000 (which SQLite's JSON reading cuts short)."""
    if not sql.reads_tags:
        return None
    i, c = sql.interactions, sql.cases
    nul = sa.select(
        *(sa.exists().where(t.c.tags.contains("\\u0000", autoescape=True)) for t in (i, c))
    )
    if any(sql.conn.execute(nul).one()):
        return None
    rows = {t.name: _TagsOf(t.c.tags).table_valued("value").alias(f"{t.name}_tag") for t in (i, c)}

    def with_tags(table: sa.Table) -> sa.FromClause:
        return table.outerjoin(rows[table.name], sa.true())

    joined = {i.name: with_tags, c.name: with_tags}
    interaction, case = (sql.keyed(rows[t.name].c.value) for t in (i, c))

    def read(raw: Any) -> str:
        return sql.decode(raw, typed=False) or NO_GROUP

    return _Grouping(GroupBy.TAG, interaction, case, read, joined=joined, several=True)


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

    def bucket_sums(
        self,
        sql: _Sql,
        value: sa.ColumnElement[Any],
        bounds: Sequence[int],
        among: sa.ColumnElement[bool],
    ) -> list[Any]:
        """The aggregates counting the rows whose ``value`` falls in each bucket of
        ``bounds`` (see :class:`~custservice.analytics.Distribution`): one field per
        bucket, in order; NULL values count nowhere. ``value`` is NULL wherever ``among``
        is false."""
        edges: list[tuple[int | None, int | None]] = list(
            zip([None, *bounds], [*bounds, None], strict=True)
        )
        sums = []
        for k in range(0, len(edges), self.per):
            whens = []
            for j, (low, high) in enumerate(edges[k : k + self.per]):
                inside = [value >= _n(low)] if low is not None else []
                inside += [value < _n(high)] if high is not None else []
                if not inside:  # no bounds: every value
                    inside = [value.is_not(None)]
                whens.append((sa.and_(*inside), _n(1 << (self.bits * j))))
            sums.append(sql.among(sa.func.sum(sa.case(*whens)), among))
        return sums

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
    sql: _Sql, g: _Grouping, kinds: _Kinds, packing: _Packing, bounds: Sequence[int]
) -> tuple[sa.CompoundSelect[Any], int]:
    """One statement: the counters of each group (rows tagged 0), then the waits at the
    ranks the distribution needs, in each group and in all (rows tagged 1: see
    :func:`_picked`).

    The counters, after the key: interactions, resolved, resolved without a handoff,
    handoffs, waits, then the packed counts of the feedback verdicts, of those on the
    scales of each code in ``kinds.named``, of each factor's verdicts, and of the waits
    in each bucket. Returned with the number of counters.

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
        *packing.bucket_sums(sql, b.c.w, bounds, b.c.w.is_not(None)),
    )
    if g.by is not None:
        counts = counts.group_by(b.c.g)
    n = sql.cte(counts, "n")
    total = sa.select(sa.cast(sa.func.sum(n.c.nw), sa.BigInteger)).scalar_subquery()
    statement = _union(sa.select(_n(0), *n.c), _picked(sql, g, b.c.g, b.c.w, total, 1))
    return statement, len(n.c) - 1


def _picked(
    sql: _Sql,
    g: _Grouping,
    key: sa.ColumnElement[Any],
    value: sa.ColumnElement[Any],
    total: sa.ColumnElement[Any],
    tag: int,
) -> sa.Select[Any]:
    """The values of a column (queue waits, times to reply or to resolve) at the ranks
    :func:`~custservice.analytics.distribution.ranks` names, in each group and in all:
    rows ``(tag, key, value, rank in group, values in group, rank in all, values in all)``.

    ``key`` and ``value`` are columns of one subquery; ``total`` is the number of values
    in all, summed from the counts (a join to the counts could make SQLite index the
    ranked values instead). Ranked in all only when each record is in one group (the
    totals of a grouping by tag are computed on their own)."""
    in_all = sa.func.row_number().over(order_by=value).label("rt")

    def at_ranks(rank: sa.ColumnElement[int], size: sa.ColumnElement[int]) -> list[Any]:
        # size // 2 (if even), size // 2 + 1, ceil(0.9 size), ceil(0.95 size)
        half = _IntDiv(size, _n(2))
        return [
            rank == half,
            rank == half + _ONE,
            rank == _IntDiv(_n(9) * size + _n(9), _n(10)),
            rank == _IntDiv(_n(19) * size + _n(19), _n(20)),
        ]

    if g.by is None:
        r = sa.select(value.label("v"), in_all).where(value.is_not(None)).subquery("r")
        return sa.select(_n(tag), sql.text(""), r.c.v, r.c.rt, total, r.c.rt, total).where(
            sa.or_(*at_ranks(r.c.rt, total))
        )
    columns = [
        key.label("g"),
        value.label("v"),
        sa.func.row_number().over(partition_by=key, order_by=value).label("rg"),
        sa.func.count().over(partition_by=key).label("ng"),
    ]
    if g.several:
        r = sa.select(*columns).where(value.is_not(None)).subquery("r")
        return sa.select(_n(tag), r.c.g, r.c.v, r.c.rg, r.c.ng, sa.null(), sa.null()).where(
            sa.or_(*at_ranks(r.c.rg, r.c.ng))
        )
    r = sa.select(*columns, in_all).where(value.is_not(None)).subquery("r")
    return sa.select(_n(tag), r.c.g, r.c.v, r.c.rg, r.c.ng, r.c.rt, total).where(
        sa.or_(*at_ranks(r.c.rg, r.c.ng), *at_ranks(r.c.rt, total))
    )


def _union(counts: sa.Select[Any], *picked: sa.Select[Any]) -> sa.CompoundSelect[Any]:
    """The rows of counts and of picked values in one statement, each padded with NULLs
    to the width of the wider."""
    width = max(len(counts.selected_columns), *(len(p.selected_columns) for p in picked))

    def padded(select: sa.Select[Any]) -> sa.Select[Any]:
        missing = width - len(select.selected_columns)
        return select.add_columns(*([sa.null()] * missing)) if missing else select

    return sa.union_all(padded(counts), *(padded(p) for p in picked))


_CASE_MEASURES = ("first_reply", "resolution")


def _cases_sql(
    sql: _Sql, g: _Grouping, packing: _Packing, bounds: Sequence[int]
) -> sa.CompoundSelect[Any]:
    """One statement: per group, the cases counted (rows tagged 0: key, cases, then for
    each of ``first_reply`` and ``resolution`` the values measured and their packed counts
    per bucket), then each measure's values at the ranks its distribution needs (rows
    tagged 1 and 2, as :func:`_picked` gives them). A merged case is counted under the
    case it went into alone."""
    c = sql.cases
    source = sql.cte(
        sa.select(g.case_key.label("k"), *(c.c[name].label(name) for name in _CASE_MEASURES))
        .select_from(g.source(c))
        .where(c.c.merged_into.is_(None)),
        "cb",
    )
    # A common table expression of its own (unlike the interactions' subquery): read three
    # times, its key is worked out once.
    b = sql.cte(
        sa.select(g.refine(source.c.k).label("g"), *(source.c[name] for name in _CASE_MEASURES)),
        "cs",
    )
    measured = [b.c[name] for name in _CASE_MEASURES]
    counts = sa.select(
        b.c.g if g.by is not None else sql.text("").label("g"),
        sa.func.count().label("n"),
        *(sa.func.count(m).label(f"n_{m.name}") for m in measured),
        *(
            aggregate
            for m in measured
            for aggregate in packing.bucket_sums(sql, m, bounds, m.is_not(None))
        ),
    )
    if g.by is not None:
        counts = counts.group_by(b.c.g)
    n = sql.cte(counts, "cn")
    picked = [
        _picked(
            sql,
            g,
            b.c.g,
            m,
            sa.select(sa.cast(sa.func.sum(n.c[f"n_{m.name}"]), sa.BigInteger)).scalar_subquery(),
            tag,
        )
        for tag, m in enumerate(measured, 1)
    ]
    return _union(sa.select(_n(0), *n.c), *picked)


def _case_rows_sql(sql: _Sql, g: _Grouping) -> sa.Select[Any]:
    """Every counted case's stored text, id, customer, version and group key (one row per
    group it is in)."""
    c = sql.cases
    stored = ("data", "id", "customer_id", "version")
    keyed = (
        sa.select(*(c.c[name] for name in stored), g.case_key.label("k"))
        .select_from(g.source(c))
        .where(c.c.merged_into.is_(None))  # a merged case is counted under its target
        .subquery("c")
    )
    # The key as a column of a subquery: a constant key (one month) is never read as a
    # GROUP BY position.
    cases = sa.select(*(keyed.c[name] for name in stored), g.refine(keyed.c.k).label("g")).subquery(
        "cases"
    )
    return sa.select(*(cases.c[name] for name in stored), cases.c.g)


# --- the scorecard -----------------------------------------------------------------


class _Found:
    """What the statements of one grouping found: a tally per group key, and the values
    at the ranks the distributions need and their counts per bucket, per measure (queue
    wait, first reply, resolution), per group and in all."""

    def __init__(self, sql: _Sql, g: _Grouping, n_targets: int, n_buckets: int) -> None:
        self.sql = sql
        self.g = g
        self.n_targets = n_targets
        self.n_buckets = n_buckets
        self.tallies: dict[str, _Tally] = {}
        self.raw_keys: dict[Any, str] = {}
        self.seen: set[str] = set()
        self.buckets: dict[str, list[list[int]]] = {}
        self.at_group: list[dict[str, dict[int, int]]] = [{}, {}, {}]
        self.sizes: list[dict[str, int]] = [{}, {}, {}]
        self.at_total: list[dict[int, int]] = [{}, {}, {}]
        self.totals = [0, 0, 0]

    def key_of(self, raw: Any) -> str:
        key = self.raw_keys.get(raw)
        if key is None:
            key = self.g.read(raw)
            if key in self.seen:
                raise _Ambiguous  # two SQL keys would be one group
            self.seen.add(key)
            self.raw_keys[raw] = key
        return key

    def tally(self, raw: Any) -> _Tally:
        key = self.key_of(raw)
        found = self.tallies.get(key)
        if found is None:
            found = self.tallies[key] = _Tally(self.n_targets)
        return found

    def add_buckets(self, raw: Any, measure: int, counts: list[int]) -> None:
        key = self.key_of(raw)
        rows = self.buckets.get(key)
        if rows is None:
            rows = self.buckets[key] = [[0] * self.n_buckets for _ in range(3)]
        rows[measure] = [a + b for a, b in zip(rows[measure], counts, strict=True)]

    def add_picked(self, measure: int, row: Sequence[Any]) -> None:
        """One row of values at ranks: ``(key, value, rank in group, values in group,
        rank in all, values in all)``."""
        raw, v, rg, ng, rt, nt = row
        if rt is not None:
            self.totals[measure] = int(nt)
            self.at_total[measure][int(rt)] = int(v)
        if self.g.by is not None:
            key = self.key_of(raw)
            self.sizes[measure][key] = int(ng)
            self.at_group[measure].setdefault(key, {})[int(rg)] = int(v)

    def measured(self, bounds: tuple[pendulum.Duration, ...]) -> dict[str | None, Measured]:
        """The distributions of every group, and of all under ``None``."""
        zero = [0] * self.n_buckets
        empty = [zero, zero, zero]

        def one(n: int, at_rank: dict[int, int], counts: list[int]) -> Distribution:
            return from_ranks(n, at_rank.__getitem__, bounds, counts)

        out: dict[str | None, Measured] = {}
        for key in self.tallies:
            counts = self.buckets.get(key, empty)
            out[key] = (
                one(self.sizes[0].get(key, 0), self.at_group[0].get(key, {}), counts[0]),
                one(self.sizes[1].get(key, 0), self.at_group[1].get(key, {}), counts[1]),
                one(self.sizes[2].get(key, 0), self.at_group[2].get(key, {}), counts[2]),
            )
        all_counts = [
            [sum(rows[m][k] for rows in self.buckets.values()) for k in range(self.n_buckets)]
            for m in range(3)
        ]
        out[None] = (
            one(self.totals[0], self.at_total[0], all_counts[0]),
            one(self.totals[1], self.at_total[1], all_counts[1]),
            one(self.totals[2], self.at_total[2], all_counts[2]),
        )
        return out


OnCases = Callable[[Sequence[Case]], None]
"""Given the cases of each batch a scorecard reads whole (see :func:`snapshot_scorecard`)."""
Wanted = Callable[[CaseStatus, int], bool]
"""Whether :data:`OnCases` is to see a case, by its status and since when it has been in it."""
Finish = Callable[[OnCases | None, Wanted | None], "Scorecard | None"]
"""Finishes a scorecard :func:`start_scorecard` began (see :func:`snapshot_scorecard`)."""


def _start(sql: _Sql, q: ScorecardQuery, g: _Grouping, kept: Kept | None) -> Finish:
    if g.several:
        # A record is in several groups: the totals are those of the records, ungrouped.
        none = sql.text("")
        all_of = _begin(sql, q, _Grouping(None, none, none, g.read), kept)
        each_of = _begin(sql, q, g, None)

        def several(on_cases: OnCases | None, wanted: Wanted | None) -> Scorecard:
            total, found = all_of(on_cases, wanted), each_of(None, None)
            measured = found.measured(q.buckets)
            measured[None] = total.measured(q.buckets)[None]
            every = total.tallies.get(NO_GROUP) or _Tally(len(q.targets))
            return _grouped(found.tallies, q, measured, total=every)

        return several
    one_of = _begin(sql, q, g, kept)

    def one(on_cases: OnCases | None, wanted: Wanted | None) -> Scorecard:
        found = one_of(on_cases, wanted)
        measured = found.measured(q.buckets)
        if g.by is None:
            return _card(
                found.tallies.get(NO_GROUP) or _Tally(len(q.targets)), q, measured=measured[None]
            )
        return _grouped(found.tallies, q, measured)

    return one


def _begin(
    sql: _Sql, q: ScorecardQuery, g: _Grouping, kept: Kept | None
) -> Callable[[OnCases | None, Wanted | None], _Found]:
    """Read a grouping's aggregates ahead, beside the snapshot; the function returned
    evaluates the service targets case by case meanwhile (given ``on_cases``, the
    cases it wants whole), then counts the aggregates' rows."""
    targets = q.targets
    bounds = micros_of(q.buckets)
    n_buckets = len(bounds) + 1
    kinds = _Kinds(q.csat_scales)
    # Every count is at most the number of records of a kind: it sizes the packed fields.
    i, c = sql.interactions, sql.cases
    most = sql.conn.execute(
        sa.select(
            sa.select(sa.func.count()).select_from(i).scalar_subquery(),
            sa.select(sa.func.count()).select_from(c).scalar_subquery(),
        )
    ).one()
    packing = _Packing(max(int(most[0]), int(most[1])))
    width = packing.width(n_buckets)
    none = sql.text("")
    ungrouped = _Grouping(None, none, none, g.read)
    # A kind whose records are all in NO_GROUP is computed ungrouped: its rows, keyed
    # '', give that group's figures and those of all alike.
    of_interactions = ungrouped if "interactions" in g.whole else g
    of_cases = ungrouped if "cases" in g.whole else g
    # Every interaction's counts depend on how feedback counts and on the buckets alone:
    # what a scorecard begun earlier in the snapshot counts of them, it keeps for this one.
    counted = (q.csat_scales, tuple(bounds))
    promised = None if kept is None else kept.get(counted)
    statement, counters = _interactions_sql(sql, of_interactions, kinds, packing, bounds)
    of_all = None
    if promised is None or of_interactions is not ungrouped:
        of_all = sql.ahead(statement)
        if kept is not None and not g.several and promised is None:
            # Each interaction is counted in one group: the total is kept, once counted.
            promised = kept[counted] = _Promised()
    of_each_case = sql.ahead(_cases_sql(sql, of_cases, packing, bounds))

    def finish(on_cases: OnCases | None, wanted: Wanted | None) -> _Found:
        found = _Found(sql, g, len(targets), n_buckets)
        if targets:
            assert q.at is not None
            now = micros(q.at)
            streamed = sql.conn.execute(_case_rows_sql(sql, g).execution_options(yield_per=_BATCH))
            for rows in streamed.partitions():
                page = list(rows)
                chosen = []
                read = _common.read_case_facts(page, now, "database")
                for row, (facts, status, since) in zip(page, read, strict=True):
                    _add_attainment(found.tally(row[4]), facts, targets)
                    if on_cases is not None and (wanted is None or wanted(status, since)):
                        chosen.append(row)
                if chosen:
                    assert on_cases is not None
                    on_cases(_common.decode_rows(Case, "case", chosen, "database"))
        if of_all is None and promised is not None and promised.counted is not None:
            promised.counted.add_to(found)
        else:  # read ahead, or (the scorecard that was to count them did not) read now
            counts: list[Any] = (
                list(sql.conn.execute(statement)) if of_all is None else of_all.rows()
            )
            for row in counts:
                if row[0]:
                    found.add_picked(0, row[1:7])
                elif row[2]:  # an ungrouped count gives a row even with no interactions
                    values = [int(v or 0) for v in row[2 : 2 + counters]]
                    _add_counts(found.tally(row[1]), values, kinds, packing, width)
                    found.add_buckets(row[1], 0, packing.counts(values[-width:], n_buckets))
            if of_all is not None and promised is not None and promised.counted is None:
                promised.counted = _InAll.of(found)
        for row in of_each_case.rows():
            if row[0]:
                found.add_picked(int(row[0]), row[1:7])
            elif row[2]:
                values = [int(v or 0) for v in row[2 : 5 + 2 * width]]
                found.tally(row[1]).cases += values[0]
                sums = values[3:]
                for m in (1, 2):
                    part = sums[(m - 1) * width : m * width]
                    found.add_buckets(row[1], m, packing.counts(part, n_buckets))
        return found

    return finish


class _InAll:
    """What a scorecard counted of every interaction, in all: its counts, the waits at
    the ranks the distribution needs, their number, and their counts per bucket."""

    def __init__(self, tally: _Tally, at_rank: dict[int, int], n: int, buckets: list[int]):
        self.tally = tally
        self.at_rank = at_rank
        self.n = n
        self.buckets = buckets

    @classmethod
    def of(cls, found: _Found) -> _InAll:
        """Of a grouping's statements, once they have read the interactions."""
        tally = _Tally(0)
        for t in found.tallies.values():
            tally.merge_interactions(t)
        rows = [r[0] for r in found.buckets.values()]
        buckets = [sum(column) for column in zip(*rows, strict=True)] if rows else []
        return cls(tally, dict(found.at_total[0]), found.totals[0], buckets)

    def add_to(self, found: _Found) -> None:
        """Into a grouping that has every interaction in one group, as the statement over
        them, ungrouped, gives it: rows keyed ``''``, the ranks in it those in all."""
        if not self.tally.interactions:
            return  # that statement gives no counts then
        found.tally("").merge_interactions(self.tally)
        found.add_buckets("", 0, self.buckets)
        for rank, value in self.at_rank.items():
            found.add_picked(0, ("", value, rank, self.n, rank, self.n))


class _Promised:
    """What a scorecard begun earlier in a snapshot counts of every interaction, once it
    has (``None`` until then)."""

    __slots__ = ("counted",)

    def __init__(self) -> None:
        self.counted: _InAll | None = None


Kept = dict[tuple[Any, ...], _Promised]
"""What scorecards of one snapshot keep for the next (see :func:`snapshot_scorecard`)."""


def _add_counts(
    t: _Tally, row: Sequence[int], kinds: _Kinds, packing: _Packing, bucket_width: int
) -> None:
    """Add one row of counters (see :func:`_interactions_sql`) to a tally; the last
    ``bucket_width`` sums are the waits' buckets, read apart."""
    n, resolved, fcr, handoffs, _, *sums = row
    del sums[len(sums) - bucket_width :]
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
