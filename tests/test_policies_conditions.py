"""Conditions: built in Python or from data, round-tripped, and matched like a brute-force model."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custservice import (
    Case,
    CaseStatus,
    Channel,
    Condition,
    Customer,
    CustomerStage,
    FixedClock,
    Priority,
    ValidationError,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from custservice.testing import strategies as cst

AT = pendulum.datetime(2026, 3, 2, 9)


def _case(**fields: Any) -> Case:
    return Case.open(uuid.uuid4(), "Refund", clock=FixedClock(AT), **fields)


def _customer(segment: str | None = None) -> Customer:
    return Customer.new("Ada", clock=FixedClock(AT), segment=segment)


# --- a brute-force model -------------------------------------------------------------


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return type(value).__name__


def _read(field: str, case: Case, customer: Customer | None) -> Any:
    if field == "customer.segment":
        return customer.segment if customer else None
    if field == "customer.stage":
        return customer.stage if customer else None
    if field.startswith("attributes."):
        return case.attributes.get(field.split(".", 1)[1])
    return getattr(case, field)


def model(condition: Condition, case: Case, customer: Customer | None) -> bool:
    """What a condition says, worked out from its parts the long way."""
    if condition.op == "all":
        return all(model(p, case, customer) for p in condition.parts)
    if condition.op == "any":
        return any(model(p, case, customer) for p in condition.parts)
    if condition.op == "not":
        return not model(condition.parts[0], case, customer)
    field = condition.field
    assert field is not None
    if field.startswith("customer.") and customer is None:
        return False
    found = _read(field, case, customer)
    value = condition.value

    def same(a: object, b: object) -> bool:
        return _kind(a) == _kind(b) and a == b

    match condition.op:
        case "present":
            return len(found) > 0 if isinstance(found, frozenset) else found is not None
        case "contains":
            return value in found
        case "==":
            return found is not None and same(found, value)
        case "!=":
            return found is None or not same(found, value)
        case "in":
            return found is not None and any(same(found, v) for v in value)
    if found is None or _kind(found) != _kind(value):
        return False
    if isinstance(found, Priority):
        found, value = found.rank, value.rank
    return {
        "<": found < value,
        "<=": found <= value,
        ">": found > value,
        ">=": found >= value,
    }[condition.op]


_CUSTOMERS = st.none() | cst.customers()


@given(cst.conditions(), cst.cases(), _CUSTOMERS)
def test_matches_agrees_with_a_brute_force_model(
    condition: Condition, case: Case, customer: Customer | None
) -> None:
    assert condition.matches(case, customer) is model(condition, case, customer)


@given(cst.conditions())
def test_to_dict_and_from_dict_round_trip_exactly(condition: Condition) -> None:
    data = condition.to_dict()
    assert json.loads(json.dumps(data)) == data  # plain JSON
    assert Condition.from_dict(data) == condition
    assert Condition.from_dict(json.loads(json.dumps(data))).to_dict() == data
    assert from_dict(Condition, to_dict(condition)) == condition
    assert from_json(Condition, to_json(condition)) == condition


@given(cst.conditions(), cst.conditions(), cst.cases(), _CUSTOMERS)
def test_not_and_or_are_boolean(
    a: Condition, b: Condition, case: Case, customer: Customer | None
) -> None:
    x, y = a.matches(case, customer), b.matches(case, customer)
    assert (~a).matches(case, customer) is not x
    assert (a & b).matches(case, customer) is (x and y)
    assert (a | b).matches(case, customer) is (x or y)
    assert (~~a).matches(case, customer) is x


def test_an_empty_all_is_always_true_and_an_empty_any_never() -> None:
    case = _case()
    assert Condition.all_of().matches(case)
    assert not Condition.any_of().matches(case)
    assert Condition.all_of().to_dict() == {"all": []}


# --- building ------------------------------------------------------------------------


def test_values_from_data_are_read_as_the_fields_type() -> None:
    condition = Condition.from_dict(
        {
            "all": [
                {"field": "priority", "op": ">=", "value": "high"},
                {"field": "channel", "op": "in", "value": ["email", "chat", "email"]},
                {"field": "attributes.due", "op": "<", "value": {"date": "2026-04-01"}},
            ]
        }
    )
    priority, channel, due = condition.parts
    assert priority.value is Priority.HIGH
    assert channel.value == (Channel.CHAT, Channel.EMAIL)  # one order, no repeats
    assert due.value == pendulum.Date(2026, 4, 1)
    assert condition.to_dict()["all"][2]["value"] == {"date": "2026-04-01"}


def test_ordered_comparisons_on_priority_follow_its_order() -> None:
    high_or_more = Condition.where("priority", ">=", Priority.HIGH)
    assert [high_or_more.matches(_case(priority=p)) for p in Priority] == [
        False,
        False,
        True,
        True,
    ]
    assert Condition.where("priority", "<", "normal").matches(_case(priority="low"))


def test_python_values_and_data_build_the_same_condition() -> None:
    assert Condition.where("status", "==", CaseStatus.PENDING) == Condition.where(
        "status", "==", "pending"
    )
    assert Condition.where("customer.stage", "in", {CustomerStage.LOYAL}) == Condition.from_dict(
        {"field": "customer.stage", "op": "in", "value": ["loyal"]}
    )


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"field": "prio", "op": "==", "value": 1}, "field", "unknown field 'prio'"),
        ({"field": "priority", "op": "~=", "value": "high"}, "op", "unknown operator '~='"),
        ({"field": "team", "op": "<", "value": "a"}, "op", "'<' does not apply to team"),
        ({"field": "tags", "op": "==", "value": "vip"}, "op", "'==' does not apply to tags"),
        ({"field": "priority", "op": ">", "value": "hgh"}, "value", "not a Priority"),
        ({"field": "channel", "op": "in", "value": ["email", "fax"]}, "value[1]", "Channel"),
        ({"field": "channel", "op": "in", "value": "email"}, "value", "expected a collection"),
        ({"field": "team", "op": "present", "value": "x"}, "value", "takes no value"),
        ({"field": "team", "op": "=="}, "value", "required field missing"),
        ({"field": "team", "op": "==", "value": None}, "value", "use 'present'"),
        ({"field": "attributes.vip", "op": "<", "value": True}, "value", "no order"),
        ({"field": "attributes.1x", "op": "==", "value": 1}, "field", "unknown field"),
        ({"op": "=="}, "field", "required field missing"),
        ({"all": {"field": "team", "op": "present"}}, "all", "expected a list"),
        ({"not": [1]}, "not", "expected an object"),
        ({"all": [], "any": []}, "", "unexpected fields: any"),
        ({"field": "team", "op": "present", "colour": 1}, "", "unexpected fields: colour"),
        (
            {"any": [{"field": "team", "op": "present"}, {"not": {"field": "x", "op": "present"}}]},
            "any[1].not.field",
            "unknown field 'x'",
        ),
    ],
)
def test_bad_data_is_refused_at_its_path(data: object, path: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        Condition.from_dict(data)
    found = {p.path: p.message for p in error.value.problems}
    assert path in found, found
    assert message in found[path]


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ValidationError) as error:
        Condition.from_dict(
            {
                "all": [
                    {"field": "priority", "op": ">", "value": "hgh"},
                    {"field": "stauts", "op": "==", "value": "open"},
                ]
            }
        )
    assert [p.path for p in error.value.problems] == [
        "all[0].value",
        "all[1].field",
        "all[1].value",
    ]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("prio", "==", "high"), "field"),
        (("priority", "like", "high"), "op"),
        (("priority", "==", "top"), "value"),
        (("assignee", "in", ["ana", ""]), "value[1]"),
    ],
)
def test_building_in_python_names_the_bad_argument(args: tuple[Any, ...], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Condition.where(*args)
    assert error.value.field == field


def test_through_the_converter_paths_start_at_the_top() -> None:
    with pytest.raises(ValidationError) as error:
        from_dict(Condition, {"not": {"field": "priority", "op": ">", "value": 3}})
    assert error.value.field == "$.not.value"


# --- matching ------------------------------------------------------------------------


def test_a_customer_field_without_a_customer_does_not_match() -> None:
    case = _case()
    vip = Condition.where("customer.segment", "==", "vip")
    assert not vip.matches(case)
    assert not Condition.where("customer.segment", "!=", "vip").matches(case)
    assert not Condition.where("customer.stage", "present").matches(case)
    assert vip.matches(case, _customer("vip"))
    assert (~vip).matches(case)  # the negation of "does not match"


def test_a_missing_value_differs_from_every_value() -> None:
    case = _case()  # no team, no channel, no attributes
    assert not Condition.where("team", "==", "billing").matches(case)
    assert Condition.where("team", "!=", "billing").matches(case)
    assert not Condition.where("team", "present").matches(case)
    assert not Condition.where("attributes.order", ">", 3).matches(case)
    assert not Condition.where("attributes.order", "present").matches(
        case.with_attributes(order=None)
    )


def test_values_of_other_kinds_never_match() -> None:
    case = _case(attributes={"flag": True, "count": 1, "code": "1"})
    assert not Condition.where("attributes.flag", "==", 1).matches(case)
    assert not Condition.where("attributes.count", "==", True).matches(case)
    assert not Condition.where("attributes.code", "==", 1).matches(case)
    assert not Condition.where("attributes.code", "<", 2).matches(case)
    assert Condition.where("attributes.count", "==", 1.0).matches(case)


def test_tags_contain_a_tag_and_are_present_when_there_are_any() -> None:
    assert Condition.where("tags", "contains", "vip").matches(_case(tags={"vip", "eu"}))
    assert not Condition.where("tags", "contains", "vip").matches(_case(tags={"eu"}))
    assert not Condition.where("tags", "present").matches(_case())


def test_matches_refuses_what_is_not_a_case() -> None:
    with pytest.raises(ValidationError) as error:
        Condition.all_of().matches("case")  # type: ignore[arg-type]
    assert error.value.field == "case"
