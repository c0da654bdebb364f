"""Scorecards computed in SQL: the push-down of the SQLite and PostgreSQL backends.

:func:`custservice.analytics.scorecard` asks a store for a scorecard before
streaming one (``store.scorecard_pushdown(query)``). The SQL backends answer
here, over the stored JSON text of each record (SQLite's JSON functions,
PostgreSQL's ``jsonb``), and must give exactly the figures streaming gives.
So the database returns only whole numbers, and every division, percentage
and rounding is done in Python by the same code that finishes a streamed
scorecard (``analytics.scorecard._card``):

- **counts** per group key: interactions, resolved, resolved without a
  handoff, handoffs, feedback, CSAT and NPS responses (promoters,
  detractors), the verdict of each feedback and of each factor's rating (a
  score against its own scale's ``adequate`` and ``desired``), the waits
  measured, and cases;
- **queue waits**: each interaction's wait is the instant of its ``receive``
  change (read from the ISO text, offset included) less ``opened_at``, in
  microseconds; a window function ranks them, and only the waits at the
  ranks the median and the nearest-rank 90th percentile need come back;
- **group keys**: the channel, the root cause, the agent and the segment
  (the segment through a join on the customers), each returned as its JSON
  text so that any string comes back exactly; a record without a value, or
  with an empty one, counts in ``NO_GROUP`` as when streaming. Days, ISO weeks
  and months are cut from ``opened_at`` plus the time zone's UTC offset at
  that instant. The offsets come from Python's own zone data: the changes
  of each year are found by sampling each day and bisecting each change to
  the microsecond (no zone's offset changes twice within four days), and
  kept per zone and year; those over the data's time span go into the SQL
  as a ``CASE`` binary search, so a record falls in the period streaming
  would put it in, across every daylight-saving change. A span of more than
  :data:`MAX_SPAN_DAYS` is streamed instead.
- **service targets** need the Python engine: when the query has targets, the
  cases alone are streamed (with their group keys) and evaluated as when
  streaming; the interactions stay in SQL.

Interactions are read in one statement, one scan: a ``MATERIALIZED`` common
table expression holds the few values each interaction contributes, the
counts are summed from it and the waits ranked from it. What the SQL uses:
``CASE``, ``substr``, ``CAST``, ``count``/``sum``, ``GROUP BY``, derived
tables, ``LEFT JOIN``, ``UNION ALL``, ``ROW_NUMBER``/``COUNT`` window
functions, ``MATERIALIZED`` common table expressions. SQLite needs its JSON
functions, the ``->`` operator (SQLite 3.38 or later; with an older library
the scorecard is streamed) and ``strftime``. PostgreSQL needs ``jsonb`` with
its ``->``/``->>`` operators, ``jsonb_array_length``, ``jsonb_array_elements
… WITH ORDINALITY`` (only for a ``receive`` change stored out of place, which
the library never writes), ``replace``, ``chr``, ``strpos``, ``CAST(… AS
TIMESTAMPTZ)`` and ``EXTRACT(EPOCH FROM …)``, which PostgreSQL-compatible
distributed engines offer too. ``jsonb``
cannot hold the character U+0000, so the PostgreSQL side reads a copy of the
text in which ``\\u0000`` reads ``\\u0001``: no figure depends on it, and a
group key that would (an agent or segment containing U+0000 or U+0001) makes
the whole query fall back to streaming.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

import pendulum

from ..analytics.scorecard import (
    NO_GROUP,
    GroupBy,
    Scorecard,
    ScorecardQuery,
    WaitFigures,
    _add_case,
    _card,
    _grouped,
    _Tally,
    _wait_figures,
)
from ..cases import Case
from ..enums import Factor
from ..errors import StorageError
from ..expectations import NPS_SCALE, ScoreScale
from . import _codec

__all__ = ["MAX_SPAN_DAYS", "postgres_scorecard", "sqlite_scorecard"]

Read = Callable[[str, Sequence[Any]], Iterable[Sequence[Any]]]
"""Runs one query with its parameters and yields its rows."""

MAX_SPAN_DAYS = 250 * 366
"""The longest time span of records grouped by period in SQL; a longer one is streamed."""

_DAY = 86_400_000_000  # microseconds
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_SHIFT_DAYS = 3_700_000  # added before a division so that it floors: more days than year 1 to 9999
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_FACTORS = tuple(Factor)
_BATCH = 500
_PG_NUL = "chr(92) || 'u0000'"  # the JSON escape of U+0000, whatever the quoting settings
_PG_ONE = "chr(92) || 'u0001'"


# --- dialects --------------------------------------------------------------------

Path = tuple[str | int, ...]


class _Dialect:
    """How one engine reads the stored JSON text; the SQL around it is shared."""

    fence = ""
    """Keeps a derived table from being merged into the query around it, so that
    each of its columns is computed once per row."""
    param = "?"

    def table(self, name: str) -> str:
        return name

    def source(self, table: str, day: str | None) -> str:
        """The rows of ``table`` with the columns the rest reads (and ``day``)."""
        raise NotImplementedError

    def text(self, *path: str | int) -> str:
        """The JSON value at ``path`` as SQL text (or number); NULL for ``null``."""
        raise NotImplementedError

    def number(self, *path: str | int) -> str:
        """The JSON number at ``path`` as an exact SQL number."""
        raise NotImplementedError

    def length(self, *path: str | int) -> str:
        """The length of the JSON array at ``path``."""
        raise NotImplementedError

    def json(self, *path: str | int) -> str:
        """The JSON text of the value at ``path`` (``null`` for null)."""
        raise NotImplementedError

    def utc_seconds(self, text: str) -> str:
        """Whole seconds since 1970 UTC of ``text``, ``YYYY-MM-DDTHH:MM:SS±HH:MM``."""
        raise NotImplementedError

    def receive_elsewhere(self) -> str:
        """The ``at`` of the first ``receive`` change, searched in the whole history."""
        raise NotImplementedError

    def segments(self) -> str:
        """Each customer's id and the JSON text of their segment, as ``id, v``."""
        raise NotImplementedError

    def key(self, value: str) -> str | None:
        """A group key read back as JSON text, decoded; ``None`` if it may not be exact."""
        raise NotImplementedError


class _SQLite(_Dialect):
    fence = " LIMIT -1 OFFSET 0"

    def source(self, table: str, day: str | None) -> str:
        extra = "" if day is None else f", {day} AS day"
        return f"(SELECT data, customer_id, opened_at{extra} FROM {table}{self.fence})"

    def _path(self, path: Path) -> str:
        return "'$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) + "'"

    def text(self, *path: str | int) -> str:
        return f"json_extract(s.data, {self._path(path)})"

    number = text

    def length(self, *path: str | int) -> str:
        return f"json_array_length(s.data, {self._path(path)})"

    def json(self, *path: str | int) -> str:
        return f"(s.data -> {self._path(path)})"

    def utc_seconds(self, text: str) -> str:
        return f"CAST(strftime('%s', {text}) AS BIGINT)"

    def receive_elsewhere(self) -> str:
        return (
            'CASE WHEN instr(s.data, \'"event":"receive"\') > 0 THEN '
            "(SELECT json_extract(h.value, '$.at') "
            "FROM json_each(s.data, '$.lifecycle.history') AS h "
            "WHERE json_extract(h.value, '$.event') = 'receive' ORDER BY h.key LIMIT 1) END"
        )

    def segments(self) -> str:
        return "SELECT id, data -> '$.segment' AS v FROM customers"

    def key(self, value: str) -> str | None:
        decoded = json.loads(value)
        return decoded if isinstance(decoded, str) else None


class _Postgres(_Dialect):
    fence = " OFFSET 0"
    param = "%s"

    def __init__(self, schema: str) -> None:
        self._schema = schema

    def table(self, name: str) -> str:
        return f"{self._schema}.{name}"

    def source(self, table: str, day: str | None) -> str:
        extra = "" if day is None else f", {day} AS day"
        return (
            f"(SELECT data, customer_id, opened_at, "
            f"CAST(replace(data, {_PG_NUL}, {_PG_ONE}) AS jsonb) AS d{extra} "
            f"FROM {self.table(table)}{self.fence})"
        )

    def _path(self, path: Path, last: str) -> str:
        steps = [f"'{p}'" if isinstance(p, str) else str(p) for p in path]
        return "s.d" + "".join(f"->{p}" for p in steps[:-1]) + f"{last}{steps[-1]}"

    def text(self, *path: str | int) -> str:
        return f"({self._path(path, '->>')})"

    def number(self, *path: str | int) -> str:
        return f"CAST({self._path(path, '->>')} AS NUMERIC)"

    def length(self, *path: str | int) -> str:
        return f"jsonb_array_length({self._path(path, '->')})"

    def json(self, *path: str | int) -> str:
        return f"CAST({self._path(path, '->')} AS TEXT)"

    def utc_seconds(self, text: str) -> str:
        return f"CAST(EXTRACT(EPOCH FROM CAST({text} AS TIMESTAMPTZ)) AS BIGINT)"

    def receive_elsewhere(self) -> str:
        return (
            'CASE WHEN strpos(s.data, \'"event":"receive"\') > 0 THEN '
            "(SELECT h.e ->> 'at' "
            "FROM jsonb_array_elements(s.d -> 'lifecycle' -> 'history') "
            "WITH ORDINALITY AS h (e, n) "
            "WHERE h.e ->> 'event' = 'receive' ORDER BY h.n LIMIT 1) END"
        )

    def segments(self) -> str:
        return (
            "SELECT id, CAST(CAST(replace(data, "
            f"{_PG_NUL}, {_PG_ONE}) AS jsonb) -> 'segment' AS TEXT) AS v "
            f"FROM {self.table('customers')}"
        )

    def key(self, value: str) -> str | None:
        if "u0001" in value:
            return None  # U+0000 (or the text "\u0000") was read as U+0001: not exact
        decoded = json.loads(value)
        return decoded if isinstance(decoded, str) else None


# --- SQL pieces ------------------------------------------------------------------


def _floor_div(x: str, d: int) -> str:
    """``floor(x / d)`` for any ``x`` of a valid datetime: integer division truncates,
    so shift ``x`` up to a positive number first."""
    shift = _SHIFT_DAYS * _DAY // d + 1
    return f"((({x}) + {shift * d}) / {d} - {shift})"


def _piecewise(x: str, pieces: Sequence[tuple[int, int]]) -> str:
    """The value of the piece ``x`` falls in, as a balanced ``CASE`` tree: ``pieces`` are
    ``(start, value)`` sorted by start; the first piece also takes anything below it."""
    if len(pieces) == 1:
        return str(pieces[0][1])
    mid = len(pieces) // 2
    below = _piecewise(x, pieces[:mid])
    above = _piecewise(x, pieces[mid:])
    return f"CASE WHEN {x} < {pieces[mid][0]} THEN {below} ELSE {above} END"


def _instant(d: _Dialect, t: str) -> str:
    """UTC microseconds of ``t``, a datetime as ``format_datetime`` writes it:
    ``YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM[:SS[.ffffff]][Zone]``.

    The engine reads the wall time with the ``±HH:MM`` offset; the fraction of
    a second, and the seconds of an offset (local mean time, before time
    zones), are added here."""
    dotted = f"substr({t}, 20, 1) = '.'"
    fraction = f"CASE WHEN {dotted} THEN CAST(substr({t}, 21, 6) AS BIGINT) ELSE 0 END"
    rest = f"(CASE WHEN {dotted} THEN substr({t}, 27) ELSE substr({t}, 20) END)"
    seconds = d.utc_seconds(f"substr({t}, 1, 19) || substr({rest}, 1, 6)")
    sign = f"CASE WHEN substr({rest}, 1, 1) = '-' THEN -1 ELSE 1 END"
    micros = (
        f"CASE WHEN substr({rest}, 10, 1) = '.' THEN CAST(substr({rest}, 11, 6) AS BIGINT) "
        "ELSE 0 END"
    )
    odd = (
        f"CASE WHEN substr({rest}, 7, 1) = ':' THEN ({sign}) * "
        f"(CAST(substr({rest}, 8, 2) AS BIGINT) * 1000000 + {micros}) ELSE 0 END"
    )
    return f"({seconds} * 1000000 + {fraction} - ({odd}))"


def _receive_at(d: _Dialect) -> str:
    """The ``at`` text of the interaction's ``receive`` change; NULL until received.

    The interaction cycle only receives from ``READY``, its first stage, so the
    change is the first of the history; the whole history is searched only when
    it is not and the text holds a ``receive`` change elsewhere."""
    return (
        f"CASE WHEN {d.text('lifecycle', 'history', 0, 'event')} = 'receive' "
        f"THEN {d.text('lifecycle', 'history', 0, 'at')} ELSE {d.receive_elsewhere()} END"
    )


_NO_VALUE = ", ".join(f"'{v}'" for v in ("null", '""', json.dumps(NO_GROUP)))


def _keyed(raw: str) -> str:
    """A JSON-text group key with every value streaming counts in ``NO_GROUP`` made NULL."""
    return f"CASE WHEN {raw} IS NULL OR {raw} IN ({_NO_VALUE}) THEN NULL ELSE {raw} END"


def _scale_is(d: _Dialect, scale: ScoreScale, params: list[object]) -> str:
    """Whether the feedback's scale is ``scale``: every field equal."""
    name = "s_nm IS NULL"
    if scale.name is not None:
        params.append(scale.name)
        name = f"s_nm = {d.param}"
    return (
        f"(s_lo = {int(scale.low)} AND s_hi = {int(scale.high)} AND "
        f"s_ad = {int(scale.adequate)} AND s_de = {int(scale.desired)} AND {name})"
    )


def _rank(score: str) -> str:
    return (
        f"CASE WHEN {score} >= s_de THEN 2 WHEN {score} >= s_ad THEN 1 "
        f"WHEN {score} IS NOT NULL THEN 0 END"
    )


def _count(condition: str) -> str:
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"


# --- what to group by ------------------------------------------------------------


class _Grouping:
    """The group key of interactions and cases in SQL, and how to read it back.

    ``interaction_key`` and ``case_key`` are read from each row once, as ``k``;
    ``keyed`` says the key is JSON text whose empty values mean ``NO_GROUP``
    (:func:`_keyed`). ``day``, when set, is the local day number each row needs.
    """

    def __init__(
        self,
        by: GroupBy | None,
        interaction_key: str,
        case_key: str,
        read: Callable[[Any], str | None],
        *,
        keyed: bool = False,
        day: str | None = None,
    ) -> None:
        self.by = by
        self.interaction_key = interaction_key
        self.case_key = case_key
        self.read = read
        self.group = _keyed("k") if keyed else "k"
        self.day = day
        self.segments = by is GroupBy.SEGMENT


def _grouping(d: _Dialect, q: ScorecardQuery, read: Read) -> _Grouping | None:
    by = q.by
    if by is None:
        return _Grouping(None, "NULL", "NULL", lambda k: NO_GROUP)
    if by is GroupBy.CHANNEL:
        return _Grouping(by, d.text("channel"), "NULL", str)
    if by is GroupBy.ROOT_CAUSE:
        return _Grouping(by, d.text("root_cause"), d.text("root_cause"), str)
    if by is GroupBy.AGENT:
        return _Grouping(by, d.json("agent"), "NULL", d.key, keyed=True)
    if by is GroupBy.SEGMENT:
        return _Grouping(by, "seg.v", "seg.v", d.key, keyed=True)
    return _periods(d, q, read)


def _periods(d: _Dialect, q: ScorecardQuery, read: Read) -> _Grouping | None:
    assert q.by is not None
    i, c = d.table("interactions"), d.table("cases")
    bounds = [
        v
        for v in next(
            iter(
                read(
                    f"SELECT (SELECT min(opened_at) FROM {i}), (SELECT max(opened_at) FROM {i}), "
                    f"(SELECT min(opened_at) FROM {c}), (SELECT max(opened_at) FROM {c})",
                    (),
                )
            )
        )
        if v is not None
    ]
    if not bounds:
        lo = hi = 0  # nothing stored: no group either way
    else:
        lo, hi = int(min(bounds)), int(max(bounds))
    if hi - lo > MAX_SPAN_DAYS * _DAY:
        return None
    offsets = _offsets(q.timezone, lo, hi)
    if offsets is None:
        return None
    day = _floor_div(f"opened_at + {_piecewise('opened_at', offsets)}", _DAY)
    values = [o for _, o in offsets]
    first = (lo + min(values)) // _DAY
    last = (hi + max(values)) // _DAY
    if q.by is GroupBy.DAY:
        return _Grouping(q.by, "s.day", "s.day", _day_key, day=day)
    if q.by is GroupBy.WEEK:
        monday = f"7 * {_floor_div('s.day + 3', 7)} - 3"
        return _Grouping(q.by, monday, monday, _week_key, day=day)
    month = _piecewise("s.day", _month_starts(first, last))
    return _Grouping(q.by, month, month, _month_key, day=day)


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


# --- the queries -----------------------------------------------------------------


def _from(d: _Dialect, table: str, g: _Grouping) -> str:
    """``FROM`` the table's rows as ``s``, joined to their customer's segment if grouped so."""
    source = f"{d.source(table, g.day)} AS s"
    if g.segments:
        source += " LEFT JOIN seg ON seg.id = s.customer_id"
    return source


def _with(d: _Dialect, g: _Grouping) -> str:
    return f"WITH seg AS MATERIALIZED ({d.segments()}) " if g.segments else ""


_COUNTS = 34
"""Counters per group in the interactions part of the statement (after the key)."""
_WHOLE = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"


def _interactions_sql(
    d: _Dialect, g: _Grouping, scales: frozenset[ScoreScale] | None
) -> tuple[str, list[object]]:
    """One statement, one scan of the interactions: the counters of each group (rows
    starting with 0), then the waits at the ranks the median and 90th percentile need,
    in each group and in all (rows starting with 1)."""
    params: list[object] = []
    ratings = ", ".join(
        f"{d.number('feedback', 'ratings', f.value)} AS r_{f.value}" for f in _FACTORS
    )
    extracted = (
        f"SELECT {g.interaction_key} AS k, opened_at, "
        f"CASE WHEN {d.text('resolved_at')} IS NULL THEN 0 ELSE 1 END AS res, "
        f"{d.length('handoffs')} AS h, "
        f"{_receive_at(d)} AS ra, "
        f"{d.number('feedback', 'score')} AS sc, "
        f"{d.number('feedback', 'scale', 'low')} AS s_lo, "
        f"{d.number('feedback', 'scale', 'high')} AS s_hi, "
        f"{d.number('feedback', 'scale', 'adequate')} AS s_ad, "
        f"{d.number('feedback', 'scale', 'desired')} AS s_de, "
        f"{d.text('feedback', 'scale', 'name')} AS s_nm, {ratings} "
        f"FROM {_from(d, 'interactions', g)}{d.fence}"
    )
    columns = "sc, s_lo, s_hi, s_ad, s_de, s_nm, " + ", ".join(f"r_{f.value}" for f in _FACTORS)
    rows = (
        f"SELECT {g.group} AS g, res, h, CASE WHEN ra IS NULL THEN NULL "
        f"ELSE {_instant(d, 'ra')} - opened_at END AS w, {columns} FROM ({extracted}) AS e"
    )
    # Parameters go in the order their placeholders appear: the NPS test, then CSAT's.
    is_nps = _scale_is(d, NPS_SCALE, params)
    if scales is None:
        is_csat = f"NOT {_scale_is(d, NPS_SCALE, params)}"
    elif scales:
        is_csat = "(" + " OR ".join(_scale_is(d, s, params) for s in sorted(scales, key=repr)) + ")"
    else:
        is_csat = "1 = 0"
    factor_ranks = ", ".join(f"{_rank(f'r_{f.value}')} AS f_{f.value}" for f in _FACTORS)
    flags = (
        "SELECT g, res, h, "
        "CASE WHEN sc IS NULL THEN 0 ELSE 1 END AS fb, "
        f"{_rank('sc')} AS rk, "
        f"CASE WHEN sc IS NOT NULL AND {is_nps} THEN 1 ELSE 0 END AS nps, "
        f"CASE WHEN sc IS NOT NULL AND {is_csat} THEN 1 ELSE 0 END AS csat, "
        "CASE WHEN sc >= s_ad THEN 1 ELSE 0 END AS ok, "
        f"{factor_ranks} FROM b"
    )
    counts = [
        "count(*)",
        "sum(res)",
        _count("res = 1 AND h = 0"),
        "sum(h)",
        "sum(fb)",
        "sum(csat)",
        _count("csat = 1 AND ok = 1"),
        "sum(nps)",
        _count("nps = 1 AND rk = 2"),
        _count("nps = 1 AND rk = 0"),
        *(_count(f"rk = {r}") for r in range(3)),
        *(_count(f"f_{f.value} = {r}") for f in _FACTORS for r in range(3)),
    ]
    assert len(counts) == _COUNTS
    key, group = ("NULL", "") if g.by is None else ("g", " GROUP BY g")
    counted = f"SELECT 0, {key}, {', '.join(counts)} FROM ({flags}) AS f{group}"
    # The waits of all: ranked by one sort; their number is counted once.
    ranked = "ROW_NUMBER() OVER (ORDER BY w) AS rt, (SELECT count(w) FROM b) AS nt"
    at_ranks = "rt = nt / 2 OR rt = nt / 2 + 1 OR rt = (9 * nt + 9) / 10"
    if g.by is None:
        waits = f"SELECT NULL AS g, w, {ranked} FROM b WHERE w IS NOT NULL"
        columns = "g, w, rt, nt, rt, nt"  # the group is all
    else:
        columns = "g, w, rg, ng, rt, nt"
        waits = (
            "SELECT g, w, ROW_NUMBER() OVER (PARTITION BY g ORDER BY w) AS rg, "
            f"COUNT(*) OVER (PARTITION BY g ORDER BY w {_WHOLE}) AS ng, {ranked} "
            "FROM b WHERE w IS NOT NULL"
        )
        at_ranks += " OR rg = ng / 2 OR rg = ng / 2 + 1 OR rg = (9 * ng + 9) / 10"
    padding = ", NULL" * (_COUNTS - 5)
    picked = f"SELECT 1, {columns}{padding} FROM ({waits}) AS y WHERE {at_ranks}"
    ctes = f"seg AS MATERIALIZED ({d.segments()}), " if g.segments else ""
    sql = f"WITH {ctes}b AS MATERIALIZED ({rows}) {counted} UNION ALL {picked}"
    return sql, params


def _cases_sql(d: _Dialect, g: _Grouping, rows: bool) -> str:
    if rows:
        what, group = "g, data", ""
    else:
        what, group = ("NULL, count(*)", "") if g.by is None else ("g, count(*)", " GROUP BY g")
    base = f"SELECT {g.case_key} AS k, s.data AS data FROM {_from(d, 'cases', g)}{d.fence}"
    keyed = f"SELECT {g.group} AS g, data FROM ({base}) AS b"
    return f"{_with(d, g)}SELECT {what} FROM ({keyed}) AS c{group}"


# --- the scorecard ---------------------------------------------------------------


class _Ambiguous(Exception):
    """A group key SQL cannot give exactly: stream instead."""


def _scorecard(d: _Dialect, read: Read, q: ScorecardQuery) -> Scorecard | None:
    if q.csat_scales is not None and any(
        s.name is not None and ("\x00" in s.name or "\x01" in s.name) for s in q.csat_scales
    ):
        return None  # such names cannot be compared exactly in SQL text
    g = _grouping(d, q, read)
    if g is None:
        return None
    try:
        return _run(d, read, q, g)
    except _Ambiguous:
        return None


def _run(d: _Dialect, read: Read, q: ScorecardQuery, g: _Grouping) -> Scorecard:
    targets = q.targets
    n_targets = len(targets)
    tallies: dict[str, _Tally] = {}
    raw_keys: dict[Any, str] = {}

    def tally(raw: Any) -> _Tally:
        key = raw_keys.get(raw)
        if key is None:
            key = NO_GROUP if raw is None else g.read(raw)
            if key is None:
                raise _Ambiguous
            raw_keys[raw] = key
        found = tallies.get(key)
        if found is None:
            found = tallies[key] = _Tally(n_targets)
        return found

    sql, params = _interactions_sql(d, g, q.csat_scales)
    seen: set[str] = set()
    wait_rows = []
    for row in read(sql, params):
        if row[0]:
            wait_rows.append(row[1:7])
            continue
        raw, n, *counts = row[1:]
        if not n:
            continue  # no interactions at all (an ungrouped query gives one row)
        t = tally(raw)
        if raw_keys[raw] in seen:
            raise _Ambiguous  # two SQL groups would be one group
        seen.add(raw_keys[raw])
        _fill(t, int(n), [int(v or 0) for v in counts])
    waits = _wait_figures_of(g, wait_rows, tally, raw_keys)
    if targets:
        for rows in _batches(read(_cases_sql(d, g, rows=True), ())):
            cases = _decode([r[1] for r in rows])
            for (raw, _), case in zip(rows, cases, strict=True):
                _add_case(tally(raw), case, targets, q.at)
    else:
        for raw, n in read(_cases_sql(d, g, rows=False), ()):
            if n:
                tally(raw).cases += int(n)
    if g.by is None:
        return _card(tallies.get(NO_GROUP) or _Tally(n_targets), targets, waits=waits[None])
    return _grouped(tallies, targets, g.by, waits)


def _fill(t: _Tally, n: int, c: list[int]) -> None:
    """A tally's counters from one row of the interactions' counts (after its count)."""
    t.interactions = n
    t.resolved, t.fcr, t.handoffs = c[0], c[1], c[2]
    t.feedback, t.csat_n, t.csat_ok = c[3], c[4], c[5]
    t.nps_n, t.promoters, t.detractors = c[6], c[7], c[8]
    t.verdicts = c[9:12]
    for k, factor in enumerate(_FACTORS):
        counts = c[12 + 3 * k : 15 + 3 * k]
        if any(counts):
            t.factors[factor] = counts


def _wait_figures_of(
    g: _Grouping,
    rows: list[Sequence[Any]],
    tally: Callable[[Any], _Tally],
    raw_keys: dict[Any, str],
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
            tally(raw)  # a key the counts have seen; checks it reads back
            key = raw_keys[raw]
            sizes[key] = int(ng)
            at_group.setdefault(key, {})[int(rg)] = int(w)
    figures: dict[str | None, WaitFigures] = {None: _wait_figures(total, at_total.__getitem__)}
    for key, n in sizes.items():
        figures[key] = _wait_figures(n, at_group[key].__getitem__)
    return figures


def _batches(rows: Iterable[Sequence[Any]]) -> Iterator[list[Sequence[Any]]]:
    it = iter(rows)
    while batch := list(islice(it, _BATCH)):
        yield batch


def _decode(texts: list[Any]) -> list[Case]:
    try:
        return _codec.decode_many(Case, texts)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        # Not chained: the decoder's message may quote the stored personal data.
        raise StorageError(
            f"a stored case could not be read ({type(exc).__name__}); "
            "the table was changed by something other than custservice"
        ) from None


# --- entry points ----------------------------------------------------------------

_SQLITE = _SQLite()


def sqlite_scorecard(conn: sqlite3.Connection, query: ScorecardQuery) -> Scorecard | None:
    """The scorecard of a SQLite store, computed in SQL on ``conn``; ``None`` to stream it.

    The caller holds the connection, in one read transaction, and turns driver
    errors into the library's.
    """
    if sqlite3.sqlite_version_info < (3, 38, 0):
        return None  # no JSON "->" operator: group keys could not be read exactly

    def read(sql: str, params: Sequence[Any]) -> Iterable[Sequence[Any]]:
        return conn.execute(sql, params)

    return _scorecard(_SQLITE, read, query)


def postgres_scorecard(conn: Any, schema: str, query: ScorecardQuery) -> Scorecard | None:
    """The scorecard of a PostgreSQL store, computed in SQL; ``None`` to stream it.

    Args:
        conn: a psycopg connection in a transaction (so that every query reads
            one snapshot, and server-side cursors can stream the cases).
        schema: the store's schema, quoted for SQL.
        query: what to compute.
    """
    dialect = _Postgres(schema)
    names = iter(range(1_000_000))

    def read(sql: str, params: Sequence[Any]) -> Iterator[Sequence[Any]]:
        with conn.cursor(name=f"custservice_scorecard_{next(names)}") as cursor:
            cursor.itersize = _BATCH
            cursor.execute(sql, params)
            yield from cursor

    return _scorecard(dialect, read, query)
