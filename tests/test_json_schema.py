"""json_schema: every to_dict form validates, and what the schema refuses from_dict refuses."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from custservice import (
    CUSTOMER_LIFECYCLE,
    Agent,
    BusinessCalendar,
    Case,
    Condition,
    Customer,
    EscalationRule,
    ExpectationBand,
    Expectations,
    Feedback,
    Interaction,
    LifecycleState,
    ScoreScale,
    ServiceTarget,
    SlaPolicies,
    SlaPolicy,
    SurveyPolicy,
    TargetStatus,
    ValidationError,
    from_dict,
    json_schema,
    to_json,
)
from custservice.analytics import DEFAULT_POLICY, DEFAULT_WEIGHTS, FollowUpPolicy, HealthWeights
from custservice.serialization._schema import INSTANT
from custservice.testing import strategies as cst

CLASSES = [
    (Customer, cst.customers(), 500),
    (Interaction, cst.interactions(), 500),
    (Case, cst.cases(), 500),
    (Feedback, cst.feedback(), 200),
    (ExpectationBand, cst.expectation_bands(), 200),
    (Expectations, cst.expectations(), 100),
    (ScoreScale, cst.score_scales(), 100),
    (BusinessCalendar, cst.calendars(), 100),
    (LifecycleState, cst.lifecycle_states(CUSTOMER_LIFECYCLE), 100),
    (ServiceTarget, cst.service_targets(), 100),
    (TargetStatus, cst.target_statuses(), 100),
    (HealthWeights, st.just(DEFAULT_WEIGHTS), 1),
    (FollowUpPolicy, st.just(DEFAULT_POLICY), 1),
    (Condition, cst.conditions(), 200),
    (SlaPolicy, cst.sla_policies(), 50),
    (SlaPolicies, cst.sla_policy_sets(), 30),
    (Agent, cst.agents(), 50),
    (EscalationRule, cst.escalation_rules(), 50),
    (SurveyPolicy, cst.survey_policies(), 50),
]
"""The classes from_dict reads, each with a strategy and how many values to check."""

RECORDS = [(Customer, cst.customers()), (Interaction, cst.interactions()), (Case, cst.cases())]


def _name(value: object) -> str:
    return getattr(value, "__name__", "")


def _schema(cls: type) -> dict[str, Any]:
    """The schema of ``cls``, accepting cases on the strategies' example pipelines."""
    return json_schema(cls, pipelines=cst.PIPELINES)


def _validator(cls: type) -> Draft202012Validator:
    return Draft202012Validator(_schema(cls))


def _wire(obj: object) -> Any:
    """``obj``'s ``to_dict`` form as a JSON document carries it."""
    return json.loads(to_json(obj))


# --- the schema itself ---------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "strategy", "examples"), CLASSES, ids=_name)
def test_the_schema_is_a_valid_draft_2020_12_schema(
    cls: type, strategy: object, examples: int
) -> None:
    schema = json_schema(cls)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == cls.__name__


@pytest.mark.parametrize(("cls", "strategy", "examples"), CLASSES, ids=_name)
def test_every_to_dict_form_validates(
    cls: type, strategy: st.SearchStrategy[Any], examples: int
) -> None:
    validator = _validator(cls)

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(obj: object) -> None:
        errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(_wire(obj))]
        assert not errors

    check()


def test_records_list_their_fields_and_allow_no_others() -> None:
    schema = json_schema(Case)
    fields = [f.name for f in attrs.fields(Case) if f.init]
    assert list(schema["properties"]) == fields
    assert schema["required"] == [f.name for f in attrs.fields(Case) if f.default is attrs.NOTHING]
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object" and "properties" in definition:
            assert definition["additionalProperties"] is False, name


def test_enums_instants_sets_and_attributes_are_precise() -> None:
    case = json_schema(Case)
    props = case["properties"]
    assert props["priority"] == {"type": "string", "enum": ["low", "normal", "high", "urgent"]}
    assert props["channel"]["enum"][-1] is None
    assert props["opened_at"]["pattern"] == INSTANT
    assert props["tags"]["uniqueItems"] is True
    lifecycle = case["$defs"]["CaseLifecycleState"]["properties"]
    assert lifecycle["current"]["enum"] == ["new", "open", "pending", "on_hold", "solved", "closed"]
    change = case["$defs"]["CaseStateChange"]["properties"]
    assert "await_customer" in change["event"]["enum"]
    attribute = Draft202012Validator({**case["$defs"]["AttributeValue"], "$defs": case["$defs"]})
    for good in [
        "text",
        3,
        2.5,
        True,
        {"date": "2026-03-01"},
        {"datetime": "2026-03-01T09:00:00+00:00[UTC]"},
    ]:
        assert attribute.is_valid(good), good
    for bad in [[], {}, {"date": "2026-03-01T09:00:00+00:00"}, {"date": "x", "datetime": "y"}]:
        assert not attribute.is_valid(bad), bad


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T09:00:00+01:00[Europe/Paris]",
        "2026-03-01T09:00:00.000001+00:00[UTC]",
        "2026-01-05T09:00:00+05:45",
        "2026-04-05T01:45:00+10:30[Australia/Lord_Howe]",
        "2026-01-05T09:00:00-03:00[America/Argentina/Buenos_Aires]",
        "2026-01-05T09:00:00+00:00[Etc/GMT+5]",
    ],
)
def test_instants_the_converter_reads_match_the_pattern(text: str) -> None:
    validator = Draft202012Validator({"type": "string", "pattern": INSTANT})
    assert validator.is_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01T09:00:00",
        "2026-03-01",
        "2026-13-01T09:00:00+00:00",
        "yesterday",
        "2026-03-01T09:00:00+00:00[UTC",
    ],
)
def test_malformed_instants_do_not_match_the_pattern(text: str) -> None:
    assert not Draft202012Validator({"type": "string", "pattern": INSTANT}).is_valid(text)


@pytest.mark.parametrize(("cls", "strategy", "examples"), CLASSES, ids=_name)
def test_the_schema_is_json_and_stable(cls: type, strategy: object, examples: int) -> None:
    schema = json_schema(cls)
    assert json.loads(json.dumps(schema)) == schema
    key = "properties" if "properties" in schema else "anyOf"  # a condition is one of forms
    schema[key].clear()  # each call gives a new dict
    assert json_schema(cls) == json.loads(json.dumps(json_schema(cls)))
    assert json_schema(cls)[key]


def test_the_schema_is_the_same_in_another_process() -> None:
    code = (
        "import json, custservice as c; "
        "print(json.dumps([c.json_schema(k) for k in (c.Customer, c.Interaction, c.Case)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = [json_schema(k) for k in (Customer, Interaction, Case)]
    assert out.stdout.strip() == json.dumps(here)


@attrs.frozen
class _Odd:
    name: str
    weight: complex


def test_a_type_with_no_plain_data_form_is_refused_naming_the_field() -> None:
    with pytest.raises(TypeError, match=r"_Odd\.weight"):
        json_schema(_Odd)


def test_a_class_from_dict_does_not_read_is_refused() -> None:
    with pytest.raises(TypeError, match="json_schema takes"):
        json_schema(dict)


# --- what the schema refuses, from_dict refuses ------------------------------------------------


def _nodes(
    data: Any, node: dict[str, Any], defs: dict[str, Any], path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]]:
    """Every object in ``data`` with the schema of its class: (path, object, schema)."""
    while "$ref" in node:
        ref = node["$ref"]
        node = defs[ref.rsplit("/", 1)[1]] if ref != "#" else defs["#"]
    if "anyOf" in node:  # a nullable class: follow the class
        for branch in node["anyOf"]:
            if "$ref" in branch and data is not None:
                yield from _nodes(data, branch, defs, path)
        return
    if isinstance(data, dict) and "properties" in node:
        yield path, data, node
        for key, value in data.items():
            yield from _nodes(value, node["properties"][key], defs, (*path, key))
    elif isinstance(data, list) and isinstance(node.get("items"), dict):
        for i, value in enumerate(data):
            yield from _nodes(value, node["items"], defs, (*path, i))


_WRONG = [12345, "text", True, [], {}, None, 2.5]


def _mutations(
    data: Any, schema: dict[str, Any]
) -> dict[str, list[tuple[tuple[Any, ...], str, Any]]]:
    """Changes to ``data`` the schema refuses, by kind: (path of an object, key, new value);
    a new value of ``_DROP`` removes the key."""
    defs = {**schema.get("$defs", {}), "#": schema}
    found: dict[str, list[tuple[tuple[Any, ...], str, Any]]] = {
        "drop a required key": [],
        "add an unknown key": [],
        "wrong type": [],
        "bad enum value": [],
        "malformed instant": [],
        "lone string for a list": [],
    }
    for path, obj, node in _nodes(data, schema, defs):
        found["add an unknown key"].append((path, "no_such_field", 1))
        for key in node.get("required", []):
            found["drop a required key"].append((path, key, _DROP))
        for key, prop in node["properties"].items():
            if key not in obj:
                continue
            check = Draft202012Validator({**prop, "$defs": schema.get("$defs", {})})
            for wrong in _WRONG:
                if not check.is_valid(wrong):
                    found["wrong type"].append((path, key, wrong))
            if "enum" in prop:
                found["bad enum value"].append((path, key, "no_such_value"))
            if prop.get("pattern") == INSTANT:
                for bad in ("2026-03-01T09:00:00", "2026-02-30T25:00:00+00:00", "soon"):
                    found["malformed instant"].append((path, key, bad))
            types = prop.get("type")
            if "array" in ([types] if isinstance(types, str) else types or []):
                found["lone string for a list"].append((path, key, "word"))
    return found


_DROP = object()


def _apply(data: Any, path: tuple[Any, ...], key: str, value: Any) -> Any:
    out = copy.deepcopy(data)
    target = out
    for step in path:
        target = target[step]
    if value is _DROP:
        del target[key]
    else:
        target[key] = value
    return out


@pytest.mark.parametrize(("cls", "strategy"), RECORDS, ids=_name)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_mutated_payloads_are_refused_by_the_schema_and_by_from_dict(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    schema = _schema(cls)
    validator = Draft202012Validator(schema)
    payload = _wire(data.draw(strategy))
    assert validator.is_valid(payload)
    found = _mutations(payload, schema)
    kind = data.draw(st.sampled_from(sorted(k for k, v in found.items() if v)), label="kind")
    path, key, value = data.draw(st.sampled_from(found[kind]), label="where")
    mutated = _apply(payload, path, key, value)
    assert not validator.is_valid(mutated), (kind, path, key)
    with pytest.raises(ValidationError):
        from_dict(cls, mutated)


@pytest.mark.parametrize(("cls", "strategy"), RECORDS, ids=_name)
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_mutation_kind_is_found_in_records(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    found = _mutations(_wire(data.draw(strategy)), _schema(cls))
    assert all(found.values()), [k for k, v in found.items() if not v]
