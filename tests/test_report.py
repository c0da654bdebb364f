"""The service report: its figures agree with the analytics it is built from, on any
store; it is byte-for-byte reproducible; and what it shows is safe to show."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custservice import (
    SATISFACTION_10,
    Case,
    CaseStatus,
    Channel,
    Customer,
    CustomerStage,
    Feedback,
    FixedClock,
    Interaction,
    Priority,
    open_store,
)
from custservice.analytics import (
    NO_GROUP,
    FollowUpKind,
    arrivals,
    backlog,
    health,
    plan_follow_ups,
    scorecard,
    staffing_plan,
)
from custservice.report import (
    FUNNEL,
    OpenCases,
    Report,
    build_report,
    latest_change,
    render_html,
    render_text,
)
from custservice.simulation import DEMO_TARGETS, DEMO_TEAMS, Simulation, simulate
from custservice.storage.protocols import Store
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2026, 3, 2, 9)
_C = CustomerStage
World = tuple[Store, Simulation]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """120 customers over six months, in memory."""
    with open_store("memory://") as store:
        yield store, simulate(store, customers=120, months=6, seed=7)


@pytest.fixture(scope="module")
def report(world: World) -> Report:
    store, result = world
    return build_report(store, at=result.ended_at)


# --- agreement with the analytics -----------------------------------------------


def check_funnel(report: Report) -> None:
    reached, stages = report.reached, report.stages
    assert list(reached) == list(FUNNEL)
    assert sum(stages.values()) == report.customers
    assert reached[_C.PROSPECT] == report.customers
    # Every stage past prospect is reached through NEW; LOYAL and ADVOCATE through ACTIVE.
    assert reached[_C.PROSPECT] >= reached[_C.NEW] >= reached[_C.ACTIVE]
    assert reached[_C.ACTIVE] >= max(reached[_C.LOYAL], reached[_C.ADVOCATE])
    for stage in FUNNEL:
        assert reached[stage] >= stages[stage]


def test_funnel_counts_agree_with_the_stages(report: Report, world: World) -> None:
    store, _ = world
    check_funnel(report)
    customers = list(store.customers.all())
    for stage in FUNNEL[1:]:
        ever = sum(
            any(change.target == stage.value for change in c.lifecycle.history) for c in customers
        )
        assert report.reached[stage] == ever
    assert report.won_back == sum(
        any(change.event == "win_back" for change in c.lifecycle.history) for c in customers
    )


def test_scorecard_is_the_analytics_scorecard(report: Report, world: World) -> None:
    store, result = world
    whole = scorecard(store, targets=DEMO_TARGETS, at=result.ended_at)
    grouped = report.card
    for name in ("interactions", "cases", "csat", "nps", "verdicts", "wait_median", "targets"):
        assert getattr(grouped, name) == getattr(whole, name), name
    assert sorted(report.months) == [f"2026-{m:02d}" for m in range(1, 8)]
    assert sum(m.interactions for m in report.months.values()) == whole.interactions


def desk_of(store: Store) -> tuple[Counter[tuple[str | None, Priority]], int]:
    """The open cases of ``store`` by team and priority, and how many nobody holds,
    counted from the cases themselves."""
    still_open = [
        c for c in store.cases.all() if c.status not in (CaseStatus.SOLVED, CaseStatus.CLOSED)
    ]
    return Counter((c.team, c.priority) for c in still_open), sum(
        c.assignee is None for c in still_open
    )


def test_the_desk_counts_the_open_cases(report: Report, world: World) -> None:
    store, _ = world
    counts, unassigned = desk_of(store)
    desk = report.desk
    assert desk.counts == counts
    assert desk.unassigned == unassigned
    assert desk.total == counts.total() > 0
    assert list(desk.by_priority) == [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
    assert sum(desk.by_priority.values()) == sum(desk.by_team.values()) == desk.total
    assert set(desk.by_team) <= set(DEMO_TEAMS)
    assert list(desk.by_team) == sorted(t or "" for t in desk.by_team)


def test_operations_are_the_analytics_figures(report: Report, world: World) -> None:
    store, result = world
    ops = report.operations
    assert ops.by_priority == scorecard(store, by="priority")
    assert ops.backlog == backlog(store, at=result.ended_at, period="week")
    assert ops.backlog.open == sum(
        c.opened_at <= result.ended_at and c.merged_into is None for c in store.cases.all()
    ) - sum(ops.backlog.solved.values())
    forecast = arrivals(store, last_day=result.ended_at.date())
    assert ops.forecast == forecast
    assert ops.plan == staffing_plan(
        forecast,
        pendulum.duration(minutes=6),
        answer_within=pendulum.duration(seconds=20),
        service_level=0.8,
    )
    priorities = {p.value for p in Priority}
    assert set(ops.by_priority.groups) - priorities == {NO_GROUP}  # interactions have none
    assert ops.by_priority.groups[NO_GROUP].cases == 0


def test_text_shows_percentiles_backlog_and_staffing(report: Report) -> None:
    text = render_text(report)
    ops = report.operations
    section = text.split("\nReply and resolution times by priority", 1)[1].split("\n\n", 1)[0]
    lines = section.splitlines()[2:]
    names = [line.split()[0] for line in lines[:-1]]
    assert names == [
        *(p.value for p in reversed(Priority) if p.value in ops.by_priority.groups),
        "all",
    ]
    assert lines[-2].split()[1] == str(report.card.cases)
    backlog_section = text.split("\nThe backlog: ", 1)[1].split("\n\n", 1)[0].splitlines()
    assert backlog_section[0].startswith(f"{ops.backlog.open} open cases")
    counts = [int(line.split()[-2]) for line in backlog_section[3:]]
    assert counts == list(ops.backlog.ages.buckets)
    staffing = text.split("\nStaffing a typical week", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in staffing[2:9]] == [
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
        "Sat",
        "Sun",
    ]
    assert staffing[9] == f"  agent hours a week: {ops.plan.agent_hours:.1f}"


def test_html_charts_the_backlog_and_staffing_inline(report: Report) -> None:
    page = render_html(report)
    ops = report.operations
    backlog_svg = page.split('<svg id="backlog"', 1)[1].split("</svg>", 1)[0]
    assert backlog_svg.count("<rect") == len(ops.backlog.ages.buckets)
    staffing_svg = page.split('<svg id="staffing"', 1)[1].split("</svg>", 1)[0]
    assert staffing_svg.count("<rect") == sum(n > 0 for n in ops.forecast.expected)
    assert staffing_svg.count("<polyline") == 1
    table = page.split('<table class="percentiles">', 1)[1].split("</table>", 1)[0]
    shown = set(ops.by_priority.groups) - {NO_GROUP}
    assert table.count("<tr>") == 1 + len(shown) + 1  # the heading, each priority, all


def test_open_cases_order_teams_by_name_and_priorities_highest_first() -> None:
    desk = OpenCases(
        {
            (None, Priority.URGENT): 1,
            ("tier 2", Priority.LOW): 2,
            ("billing", Priority.LOW): 3,
            ("billing", Priority.URGENT): 4,
            ("returns", Priority.HIGH): 0,
        },
        unassigned=2,
    )
    assert list(desk.counts) == [
        ("billing", Priority.URGENT),
        ("billing", Priority.LOW),
        ("tier 2", Priority.LOW),
        (None, Priority.URGENT),
    ]
    assert desk.by_team == {"billing": 7, "tier 2": 2, None: 1}
    assert desk.by_priority == {
        Priority.URGENT: 5,
        Priority.HIGH: 0,
        Priority.NORMAL: 0,
        Priority.LOW: 5,
    }
    assert desk.total == 10


def test_follow_ups_are_what_the_planner_plans(world: World) -> None:
    store, result = world
    for at in (result.ended_at, result.ended_at.subtract(days=45), T0):
        report = build_report(store, at=at)
        planned = plan_follow_ups(
            store, window_start=at, window_end=at.add(days=7), targets=DEMO_TARGETS
        )
        assert report.follow_ups == planned
        assert planned  # the comparison says something
        kinds = {f.kind for f in planned}
        assert FollowUpKind.STATUS_UPDATE in kinds


def test_at_risk_are_the_ten_highest_risks(report: Report, world: World) -> None:
    store, result = world
    current = [c for c in store.customers.all() if c.stage not in (_C.PROSPECT, _C.CHURNED)]
    judged = sorted(
        (health(c, store, at=result.ended_at, targets=DEMO_TARGETS) for c in current),
        key=lambda h: (-h.risk, h.customer_id.int),
    )
    assert [a.health for a in report.at_risk] == judged[:10]
    names = {c.id: c.name for c in current}
    assert [a.name for a in report.at_risk] == [names[h.customer_id] for h in judged[:10]]


def test_the_report_defaults_to_the_latest_change(world: World) -> None:
    store, result = world
    latest = latest_change(store)
    assert latest is not None
    assert latest < result.ended_at
    assert build_report(store).at == latest


def test_latest_change_counts_every_kind_of_change() -> None:
    clock = FixedClock(T0)
    with open_store("memory://") as store:
        customer = store.customers.add(Customer.new("Ada", clock=clock))
        assert latest_change(store) == T0
        case = Case.open(customer.id, "Refund", clock=clock).advance("open", at=T0)
        store.cases.add(case.record_update(at=T0.add(hours=2)))  # no lifecycle change
        assert latest_change(store) == T0.add(hours=2)
        call = Interaction.open(customer.id, Channel.CHAT, clock=clock)
        for event in ("receive", "understand", "help"):
            call = call.advance(event, at=T0)
        store.interactions.add(call.handoff("bo", at=T0.add(hours=3)))
        assert latest_change(store) == T0.add(hours=3)


# --- the same report everywhere, every time -----------------------------------------------


def test_memory_and_sqlite_give_the_same_report(
    report: Report, world: World, tmp_path: Path
) -> None:
    _, result = world
    with open_store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        simulate(store, customers=120, months=6, seed=7)
        again = build_report(store, at=result.ended_at)
    assert render_text(again) == render_text(report)
    assert render_html(again) == render_html(report)


def test_the_same_store_gives_the_same_bytes(report: Report, world: World) -> None:
    store, result = world
    again = build_report(store, at=result.ended_at)
    assert render_text(again) == render_text(report)
    assert render_html(again) == render_html(report)


# --- what the renderers show ------------------------------------------------------


def test_text_has_every_section(report: Report) -> None:
    text = render_text(report)
    assert text.startswith("Service report at 2026-07-05 08:00 UTC\n120 customers, ")
    for heading in (
        "Lifecycle funnel",
        "Verdicts",
        "Satisfaction and resolution",
        "Service targets",
        "The desk: ",
        "The 10 customers most at risk",
        "Follow-ups due in the week from 2026-07-05: ",
    ):
        assert f"\n{heading}" in text, heading
    assert text.endswith("\n")
    desk = report.desk
    section = text.split("\nThe desk: ", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[0] == (
        f"{desk.total} open cases (neither solved nor closed), {desk.unassigned} unassigned"
    )
    assert section[1] == "  by priority  " + ", ".join(
        f"{p.value} {n}" for p, n in desk.by_priority.items()
    )
    assert section[2] == "  by team      " + ", ".join(f"{t} {n}" for t, n in desk.by_team.items())


def test_html_has_its_charts_and_fetches_nothing(report: Report) -> None:
    page = render_html(report)
    for chart in ("funnel", "verdicts", "attainment", "backlog", "staffing"):
        assert page.count(f'<svg id="{chart}"') == 1
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page
    assert "<script" not in page
    assert "://" not in page  # no address to fetch anything from
    assert "<link" not in page
    assert page.count("<table>") == 4
    desk = page.split("<h2>The desk</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<th>Urgent</th><th>High</th><th>Normal</th><th>Low</th><th>All</th>" in desk
    for team, n in report.desk.by_team.items():
        assert f'<td data-label="Team">{team}</td>' in desk
        assert f'<td data-label="All">{n}</td>' in desk
    assert f'<td data-label="All">{report.desk.total}</td></tr>' in desk


def test_an_empty_store_reports_no_figures() -> None:
    with open_store("memory://") as store:
        report = build_report(store)
    assert report.at == pendulum.datetime(1970, 1, 1)
    text = render_text(report)
    assert "0 customers, 0 interactions, 0 cases" in text
    assert "now: nobody" in text
    assert "CSAT n/a (n=0)   NPS n/a (n=0)" in text
    assert "handoffs per interaction n/a" in text
    assert "attained    n/a" in text
    assert "The desk: 0 open cases (neither solved nor closed), 0 unassigned\n" in text
    assert "  by priority  urgent 0, high 0, normal 0, low 0\n  by team      none\n" in text
    assert "Follow-ups due in the week from 1970-01-01: none" in text
    assert "No service targets were evaluated." in render_html(report)


def test_no_targets_no_attainment(world: World) -> None:
    store, result = world
    report = build_report(store, at=result.ended_at, targets=())
    assert "Service targets\n  none evaluated\n" in render_text(report)
    assert "No service targets were evaluated." in render_html(report)
    assert not any(f.kind is FollowUpKind.STATUS_UPDATE for f in report.follow_ups)


def one_customer(name: str, scores: list[int], **profile: Any) -> Store:
    """A memory store with one active customer who gave ``scores`` on the 1–10 scale."""
    clock = FixedClock(T0)
    store = open_store("memory://")
    customer = Customer.new(name, clock=clock, **profile).advance("acquire", at=clock.now())
    customer = customer.advance("retain", at=clock.advance(pendulum.duration(days=1)))
    store.customers.add(customer)
    for score in scores:
        call = Interaction.open(customer.id, Channel.PHONE, clock=clock)
        call = call.advance("receive", at=clock.advance(pendulum.duration(minutes=3)))
        call = call.record_feedback(
            Feedback(score, SATISFACTION_10, at=clock.advance(pendulum.duration(minutes=9)))
        )
        store.interactions.add(call)
    return store


def test_percentages_have_one_decimal() -> None:
    with one_customer("Ada", [9, 7, 3]) as store:
        text = render_text(build_report(store, at=T0.add(days=2)))
    assert "overall      dissatisfied 33.3%, satisfied 33.3%, delighted 33.3%  (n=3)" in text
    assert "CSAT 66.7% (n=3)" in text
    assert "queue wait median 3m 00s" in text


def test_html_escapes_what_customers_are_called() -> None:
    name = '<script>alert("hi")</script> & <b>bold</b>'
    with one_customer(name, [2, 1, 3]) as store:
        report = build_report(store, at=T0.add(days=2))
    assert [a.name for a in report.at_risk] == [name]
    page = render_html(report)
    assert html.escape(name) in page
    assert "<script" not in page
    assert "<b>bold" not in page


def test_text_shows_no_terminal_control_sequences() -> None:
    name = "Eve\x1b[2J\x1b]0;owned\x07\u202etxt.exe\nMallory\u00a0Jr"
    with one_customer(name, [2, 1]) as store:
        text = render_text(build_report(store, at=T0.add(days=2)))
    line = next(line for line in text.splitlines() if "Eve" in line)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "Mallory Jr" in line  # the no-break space reads as a space, on the same line
    assert "\ufffd" in line


def test_birthday_greetings_are_counted_never_listed() -> None:
    birthday = pendulum.date(1990, T0.month, T0.day + 1)
    with one_customer("Ada Lovelace", [9], birthday=birthday, email="ada@example.com") as store:
        report = build_report(store, at=T0)
    assert [f.kind for f in report.follow_ups] == [FollowUpKind.BIRTHDAY_GREETING]
    assert report.names == {}
    text, page = render_text(report), render_html(report)
    assert ": birthday greeting 1\n" in text
    assert "birthday greetings are counted, not listed" in text
    for output in (text, page):
        assert birthday.format("DD MMM") not in output
        assert birthday.isoformat() not in output
        assert "ada@example.com" not in output
    follow_section = page.split("Follow-ups due this week", 1)[1]
    assert "Ada Lovelace" not in follow_section


# --- any store --------------------------------------------------------------------------


@st.composite
def stores(draw: st.DrawFn) -> Store:
    store = open_store("memory://")
    people, calls, tickets = draw(cst.customer_records(max_customers=6, max_interactions=3))
    store.customers.add_many(people)
    store.interactions.add_many(calls)
    store.cases.add_many(tickets)
    return store


@given(store=stores(), at=st.none() | cst.aware_datetimes())
def test_any_store_gives_a_consistent_report(store: Store, at: pendulum.DateTime | None) -> None:
    with store:
        report = build_report(store, at=at)
        when = report.at
        assert at is None or when == at
        check_funnel(report)
        assert report.customers == store.customers.count()
        assert report.card.interactions == store.interactions.count()
        # A merged case is counted once, under the case it went into.
        assert report.card.cases == sum(1 for c in store.cases.all() if c.merged_into is None)
        assert sum(m.cases for m in report.months.values()) == report.card.cases
        assert (report.desk.counts, report.desk.unassigned) == desk_of(store)
        planned = plan_follow_ups(
            store, window_start=when, window_end=when.add(days=7), targets=DEMO_TARGETS
        )
        assert report.follow_ups == planned
    risks = [a.health.risk for a in report.at_risk]
    assert risks == sorted(risks, reverse=True)
    assert len(risks) <= 10
    assert all(a.health.stage not in (_C.PROSPECT, _C.CHURNED) for a in report.at_risk)
    text, page = render_text(report), render_html(report)
    assert text.count("\n") == len(text.splitlines())  # names cannot add lines
    for entry in report.at_risk:
        assert html.escape(entry.name) in page
    assert re.search(r"<script", page) is None
