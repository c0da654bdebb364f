"""Business calendars: microseconds per ``elapsed`` call for spans of a day, a month and a
year, against naive minute-by-minute stepping measured in the same run.

The calendar is a London desk, Monday to Friday 08:00-12:00 and 13:00-17:30, with the
2026 bank holidays. The baseline steps through every minute of the span, converts it to
the desk's wall clock and checks it against the hours: it is measured on fewer calls.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pendulum
from _harness import QUICK, best_of, report

from custservice.calendars import BusinessCalendar, _year_offsets

ZONE = "Europe/London"
HOURS = {d: [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17, 30))] for d in range(5)}
HOLIDAYS = [
    dt.date(2026, 1, 1),
    dt.date(2026, 4, 3),
    dt.date(2026, 4, 6),
    dt.date(2026, 5, 4),
    dt.date(2026, 5, 25),
    dt.date(2026, 8, 31),
    dt.date(2026, 12, 25),
    dt.date(2026, 12, 28),
]
DESK = BusinessCalendar(ZONE, HOURS, HOLIDAYS)
MINUTE = dt.timedelta(minutes=1)


def naive_elapsed(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time by stepping one minute at a time (the inputs are minute-aligned)."""
    zone = ZoneInfo(ZONE)
    holidays = frozenset(HOLIDAYS)
    at = dt.datetime.fromtimestamp(start.timestamp(), dt.UTC)  # plain stdlib datetimes
    stop = dt.datetime.fromtimestamp(end.timestamp(), dt.UTC)
    count = 0
    while at < stop:
        local = at.astimezone(zone)
        if local.date() not in holidays:
            now = local.time().replace(tzinfo=None)
            if any(s <= now < e for s, e in HOURS.get(local.weekday(), ())):
                count += 1
        at += MINUTE
    return count * MINUTE


def starts(n: int) -> list[pendulum.DateTime]:
    """``n`` minute-aligned starts spread over 2026, in London."""
    first = pendulum.datetime(2026, 1, 1, 7, 13, tz=ZONE)
    return [first.add(minutes=n_ * 3_907) for n_ in range(n)]


def per_call_us(pairs: list[tuple[pendulum.DateTime, pendulum.DateTime]], fn: object) -> float:
    call = fn  # the calendar's bound method or the baseline function

    def run() -> None:
        for a, b in pairs:
            call(a, b)  # type: ignore[operator]

    return best_of(run, repeat=3 if QUICK else 5) / len(pairs) * 1e6


def main() -> None:
    calls = 200 if QUICK else 2_000
    spans = {
        "one day": (pendulum.duration(days=1), 3 if QUICK else 20),
        "one month": (pendulum.duration(days=30), 1 if QUICK else 3),
        "one year": (pendulum.duration(days=365), 1),
    }
    for name, (span, baseline_calls) in spans.items():
        pairs = [(a, a + span) for a in starts(calls)]
        for a, b in pairs[:baseline_calls]:  # the two ways agree
            assert DESK.elapsed(a, b) == naive_elapsed(a, b), (a, b)
        ours = per_call_us(pairs, DESK.elapsed)
        theirs = per_call_us(pairs[:baseline_calls], naive_elapsed)
        report(
            f"elapsed, {name} span",
            ours,
            "us",
            baseline="minute stepping",
            baseline_value=theirs,
            aim="flat in the span's length",
        )

    year = [(a, a + pendulum.duration(days=365)) for a in starts(1)]

    def cold() -> None:
        _year_offsets.cache_clear()
        DESK.elapsed(*year[0])

    report(
        "elapsed, one year span, zone's offsets not yet cached",
        best_of(cold, repeat=3) * 1e6,
        "us",
        baseline="minute stepping",
        baseline_value=per_call_us(year, naive_elapsed),
    )

    eight = pendulum.duration(hours=8)
    firsts = starts(calls)
    per_deadline = best_of(lambda: [DESK.deadline(a, eight) for a in firsts]) / calls * 1e6
    per_day = per_call_us([(a, a + pendulum.duration(days=1)) for a in firsts], DESK.elapsed)
    report(
        "deadline, 8 working hours",
        per_deadline,
        "us",
        baseline="elapsed, one day span",
        baseline_value=per_day,
    )


if __name__ == "__main__":
    main()
