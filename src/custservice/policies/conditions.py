"""Conditions: serializable predicates over a case and, optionally, its customer.

A condition compares one field of a case with a value, or combines other
conditions with *all*, *any* and *not*. Build one in Python with
:meth:`Condition.where` and the operators ``&``, ``|`` and ``~``, or from
data with :meth:`Condition.from_dict`; :meth:`Condition.to_dict` gives the
data form back, so rules can live in a database or a settings file.

**Fields.** ``priority``, ``channel``, ``team``, ``assignee``, ``tags``,
``status``, ``attributes.NAME`` (a custom attribute), ``customer.segment``
and ``customer.stage``.

**Operators.** ``==``, ``!=``, ``in`` (the value is a list), ``<``,
``<=``, ``>``, ``>=`` (on ``priority``, by :class:`~custservice.Priority`'s
order, and on custom attributes), ``contains`` (a tag, on ``tags``) and
``present`` (the field has a value: any tag at all, for ``tags``; it takes
no value).

**Values** are read as the field's type: ``"high"`` is ``Priority.HIGH``,
``"email"`` is ``Channel.EMAIL``. An attribute's value is text, a number,
``true``/``false``, a date or an aware datetime (in data, ``{"date": ...}``
or ``{"datetime": ...}``, as records write them). A field, an operator or a
value that does not fit is a :class:`~custservice.ValidationError` naming
it when the condition is built.

**Matching.** A field without a value (no team, no such attribute, an
attribute set to ``None``) matches only ``!=`` (it differs from every value)
and, negated, whatever a negation makes of it. Values of different kinds
never match, in any operator: text never equals a number, ``true`` is not
``1``, a date does not order against a datetime. A ``customer.*`` field with
no customer given does not match.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from .._desk import attribute_data, attribute_from_data, name
from .._validation import Problems, collection, member, text
from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus, Channel, CustomerStage, Priority
from ..errors import Problem, ValidationError
from ..interactions import Interaction

__all__ = ["FIELDS", "OPERATORS", "CaseView", "Condition"]

_EQUALITY = ("==", "!=", "in")
_ORDER = ("<", "<=", ">", ">=")
OPERATORS: tuple[str, ...] = (*_EQUALITY, *_ORDER, "contains", "present")
"""Every comparison operator a condition knows."""

_COMBINATORS = ("all", "any", "not")
_ATTRIBUTE = "attributes."


@attrs.frozen
class CaseView:
    """The fields of a case that conditions read, at one instant.

    :meth:`Condition.matches` reads a case as it is now; SLA policies and
    escalation rules read it as it was at an earlier instant (its priority,
    assignee, team and status then), through the same fields. An interaction
    is read through them too (:meth:`of_interaction`), for survey rules.
    """

    priority: Priority | None
    channel: Channel | None
    team: str | None
    assignee: str | None
    tags: frozenset[str]
    status: CaseStatus | None
    attributes: Mapping[str, Any]

    @classmethod
    def of(cls, case: Case) -> CaseView:
        """``case`` as it is."""
        return cls(
            case.priority,
            case.channel,
            case.team,
            case.assignee,
            case.tags,
            case.status,
            case.attributes,
        )

    @classmethod
    def of_interaction(cls, interaction: Interaction) -> CaseView:
        """``interaction`` as conditions read it: its channel, team, agent (as the
        assignee), tags and custom attributes; it has no priority nor status, so
        conditions on those match only ``!=``."""
        return cls(
            None,
            interaction.channel,
            interaction.team,
            interaction.agent,
            interaction.tags,
            None,
            interaction.attributes,
        )


_Reader = Callable[[CaseView, Customer | None], Any]


@attrs.frozen
class _Field:
    """What a field holds, which operators apply to it, and how it is read."""

    ops: tuple[str, ...]
    parse: Callable[[object, str], Any]
    read: _Reader
    data: Callable[[Any], Any] = lambda value: value
    customer: bool = False


def _value_of(value: Any) -> Any:
    return value.value


def _enum_field(
    kind: Any, read: _Reader, *, ordered: bool = False, customer: bool = False
) -> _Field:
    ops = (*_EQUALITY, *(_ORDER if ordered else ()), "present")
    return _Field(ops, lambda v, f: member(kind, v, f), read, _value_of, customer)


_FIELDS: dict[str, _Field] = {
    "priority": _enum_field(Priority, lambda c, _: c.priority, ordered=True),
    "channel": _enum_field(Channel, lambda c, _: c.channel),
    "team": _Field((*_EQUALITY, "present"), name, lambda c, _: c.team),
    "assignee": _Field((*_EQUALITY, "present"), name, lambda c, _: c.assignee),
    "tags": _Field(("contains", "present"), name, lambda c, _: c.tags),
    "status": _enum_field(CaseStatus, lambda c, _: c.status),
    "customer.segment": _Field(
        (*_EQUALITY, "present"),
        text,
        lambda _, p: None if p is None else p.segment,
        customer=True,
    ),
    "customer.stage": _enum_field(
        CustomerStage, lambda _, p: None if p is None else p.stage, customer=True
    ),
}

FIELDS: tuple[str, ...] = (*_FIELDS, "attributes.NAME")
"""Every field a condition can compare (``NAME`` stands for a custom attribute's name)."""


def _attribute_field(field: str) -> _Field:
    key = field[len(_ATTRIBUTE) :]
    return _Field(
        (*_EQUALITY, *_ORDER, "present"),
        attribute_from_data,
        lambda c, _: c.attributes.get(key),
        attribute_data,
    )


@functools.lru_cache(maxsize=1024)
def _spec(field: str) -> _Field | None:
    found = _FIELDS.get(field)
    if found is None and field.startswith(_ATTRIBUTE) and field[len(_ATTRIBUTE) :].isidentifier():
        found = _attribute_field(field)
    return found


def _field(value: object, path: str) -> tuple[str, _Field]:
    if not isinstance(value, str):
        raise ValidationError(f"expected text, got {type(value).__name__}", field=path)
    found = _spec(value)
    if found is not None:
        return value, found
    raise ValidationError(
        f"unknown field {value!r}; expected one of {', '.join(FIELDS)}", field=path
    )


def _op(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"expected text, got {type(value).__name__}", field=path)
    if value not in OPERATORS:
        raise ValidationError(
            f"unknown operator {value!r}; expected one of {', '.join(OPERATORS)}", field=path
        )
    return value


def _kind(value: object) -> object:
    """What a value may be compared with: values of one kind only."""
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float):
        return float
    if isinstance(value, str):
        return str
    if isinstance(value, dt.datetime):
        return dt.datetime
    if isinstance(value, dt.date):
        return dt.date
    return type(value)


def _same(a: object, b: object) -> bool:
    return _kind(a) is _kind(b) and a == b


def _ordered(op: str, a: Any, b: Any) -> bool:
    if _kind(a) is not _kind(b):
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _sort_key(data: object) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def _value(field: str, spec: _Field, op: str, value: object, path: str) -> Any:
    """``value`` read as the operand of ``op`` on ``field``."""
    if op == "present":
        if value is not None:
            raise ValidationError("'present' takes no value", field=path)
        return None
    if op == "in":
        items = collection(value, path)
        problems = Problems()
        read = [problems.run(_one, field, spec, op, v, f"{path}[{i}]") for i, v in enumerate(items)]
        problems.raise_if_any()
        # One order and no repeats, so equal conditions compare and serialize alike.
        unique = {_sort_key(spec.data(v)): v for v in reversed(read)}
        return tuple(unique[k] for k in sorted(unique))
    return _one(field, spec, op, value, path)


def _one(field: str, spec: _Field, op: str, value: object, path: str) -> Any:
    if value is None:
        raise ValidationError(
            f"expected a value; use 'present' to test whether {field} has one", field=path
        )
    read = spec.parse(value, path)
    if read is None:  # an attribute given as null in data
        raise ValidationError(
            f"expected a value; use 'present' to test whether {field} has one", field=path
        )
    if op in _ORDER and isinstance(read, bool):
        raise ValidationError("true and false have no order", field=path)
    return read


def _at(path: str, step: str) -> str:
    if not path:
        return step
    return path + step if step.startswith("[") else f"{path}.{step}"


@attrs.frozen(repr=False)
class Condition:
    """A predicate over a case (and, optionally, its customer) that can be stored as data.

    Build one with :meth:`where`, :meth:`all_of`, :meth:`any_of` and the
    operators ``&`` (all), ``|`` (any) and ``~`` (not), or from data with
    :meth:`from_dict`; see the module documentation for the fields,
    operators and how values match. Conditions are immutable and compare
    equal when they say the same thing in the same form.

    Attributes:
        op: the operator (``"=="``, ``"in"``, ...), or ``"all"``, ``"any"``
            or ``"not"`` for a combination.
        field: the field compared; ``None`` for a combination.
        value: the value compared with, read as the field's type (a tuple of
            them for ``in``; ``None`` for ``present`` and combinations).
        parts: the conditions combined (one for ``not``); empty for a comparison.

    Raises:
        ValidationError: an unknown field or operator, an operator that does
            not apply to the field, or a value of the wrong kind; each
            problem is named.

    Examples:
        >>> urgent = Condition.where("priority", ">=", Priority.HIGH)
        >>> urgent_vip = urgent & Condition.where("tags", "contains", "vip")
        >>> urgent_vip.to_dict()["all"][0]
        {'field': 'priority', 'op': '>=', 'value': 'high'}
        >>> Condition.from_dict(
        ...     {"field": "priority", "op": ">=", "value": "high"}
        ... ).value
        <Priority.HIGH: 'high'>
    """

    op: str
    field: str | None = None
    value: Any = None
    parts: tuple[Condition, ...] = ()
    # The condition as a function, built when first tested (conditions are tested far
    # more often than built); not part of its value.
    _compiled: _Test | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def __getstate__(self) -> tuple[str, str | None, Any, tuple[Condition, ...]]:
        return (self.op, self.field, self.value, self.parts)

    def __setstate__(self, state: tuple[str, str | None, Any, tuple[Condition, ...]]) -> None:
        for key, value in zip(("op", "field", "value", "parts"), state, strict=True):
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_compiled", None)

    def __attrs_post_init__(self) -> None:
        if self.op in _COMBINATORS:
            parts = self.parts
            if not isinstance(parts, tuple | list) or not all(
                isinstance(p, Condition) for p in parts
            ):
                raise ValidationError("expected a sequence of conditions", field="parts")
            if self.op == "not" and len(parts) != 1:
                raise ValidationError("'not' takes exactly one condition", field="parts")
            if self.field is not None or self.value is not None:
                raise ValidationError(f"{self.op!r} compares no field", field="field")
            object.__setattr__(self, "parts", tuple(parts))
            return
        problems = Problems()
        found = problems.run(_field, self.field, "field")
        op = problems.run(_op, self.op, "op")
        if self.parts:
            problems.add("parts", "a comparison combines no conditions")
        problems.raise_if_any()
        assert found is not None
        assert op is not None
        field, spec = found
        if op not in spec.ops:
            raise ValidationError(
                f"operator {op!r} does not apply to {field}; expected one of {', '.join(spec.ops)}",
                field="op",
            )
        object.__setattr__(self, "value", _value(field, spec, op, self.value, "value"))

    # -- building ---------------------------------------------------------------------

    @classmethod
    def where(cls, field: str, op: str, value: object = None) -> Condition:
        """The comparison of ``field`` with ``value`` by ``op``.

        Args:
            field: ``"priority"``, ``"channel"``, ``"team"``, ``"assignee"``,
                ``"tags"``, ``"status"``, ``"attributes.NAME"``,
                ``"customer.segment"`` or ``"customer.stage"``.
            op: one of :data:`OPERATORS`.
            value: what to compare with: a member or its value for enum
                fields, a collection for ``in``, nothing for ``present``.

        Raises:
            ValidationError: naming ``field``, ``op`` or ``value`` (``value[2]``
                for an item of ``in``).
        """
        return cls(op, field, value)

    @classmethod
    def all_of(cls, *conditions: Condition) -> Condition:
        """True when every one of ``conditions`` is (with none, always true)."""
        return cls("all", parts=conditions)

    @classmethod
    def any_of(cls, *conditions: Condition) -> Condition:
        """True when at least one of ``conditions`` is (with none, never true)."""
        return cls("any", parts=conditions)

    def __and__(self, other: object) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        return Condition.all_of(*_flat("all", self), *_flat("all", other))

    def __or__(self, other: object) -> Condition:
        if not isinstance(other, Condition):
            return NotImplemented
        return Condition.any_of(*_flat("any", self), *_flat("any", other))

    def __invert__(self) -> Condition:
        return Condition("not", parts=(self,))

    # -- data -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The condition as plain data: ``{"field": ..., "op": ..., "value": ...}`` (no
        ``value`` for ``present``), ``{"all": [...]}``, ``{"any": [...]}`` or ``{"not": {...}}``.
        """
        if self.op == "not":
            return {"not": self.parts[0].to_dict()}
        if self.op in _COMBINATORS:
            return {self.op: [p.to_dict() for p in self.parts]}
        assert self.field is not None
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.op != "present":
            spec = _spec(self.field)
            assert spec is not None
            data = spec.data
            out["value"] = [data(v) for v in self.value] if self.op == "in" else data(self.value)
        return out

    @classmethod
    def from_dict(cls, data: object) -> Condition:
        """The condition :meth:`to_dict` gave (or one written by hand in that form).

        Raises:
            ValidationError: listing every problem with its path from the top
                (``all[1].value``, ``not.op``).

        Examples:
            >>> rule = Condition.from_dict(
            ...     {"any": [{"field": "channel", "op": "==", "value": "phone"},
            ...              {"not": {"field": "team", "op": "present"}}]}
            ... )
            >>> Condition.from_dict(rule.to_dict()) == rule
            True
        """
        return _read(data, "")

    # -- matching ---------------------------------------------------------------------

    def matches(self, case: Case | Interaction, customer: Customer | None = None) -> bool:
        """Whether ``case`` (as it is now), with ``customer`` if given, meets the condition.

        An interaction may be given instead of a case (survey rules read one):
        see :meth:`CaseView.of_interaction` for what is read of it.

        Raises:
            ValidationError: ``case`` is neither a case nor an interaction, or
                ``customer`` not a customer.
        """
        if isinstance(case, Case):
            view = CaseView.of(case)
        elif isinstance(case, Interaction):
            view = CaseView.of_interaction(case)
        else:
            raise ValidationError("expected a Case or an Interaction", field="case")
        if customer is not None and not isinstance(customer, Customer):
            raise ValidationError("expected a Customer or None", field="customer")
        return self.test(view, customer)

    @property
    def fields(self) -> frozenset[str]:
        """Every field the condition compares, anywhere in it."""
        if self.parts:
            return frozenset().union(*(p.fields for p in self.parts))
        return frozenset() if self.field is None else frozenset({self.field})

    @property
    def reads_customer(self) -> bool:
        """Whether the condition compares a ``customer.*`` field anywhere in it."""
        return any(f.startswith("customer.") for f in self.fields)

    def test(self, view: CaseView, customer: Customer | None = None) -> bool:
        """Whether a case read as ``view``, with ``customer`` if given, meets the condition."""
        compiled = self._compiled
        if compiled is None:
            compiled = _compile(self)
            object.__setattr__(self, "_compiled", compiled)
        return compiled(view, customer)

    def __repr__(self) -> str:
        return f"Condition.from_dict({self.to_dict()!r})"


_Test = Callable[[CaseView, Customer | None], bool]


def _tested(condition: Condition) -> _Test:
    return condition.test


def _compile(condition: Condition) -> _Test:
    """``condition`` as a function of a case's view and its customer: what
    :meth:`Condition.test` answers, with the field, the operator and the value looked
    up once rather than at every test."""
    op = condition.op
    if op in _COMBINATORS:
        parts = tuple(_tested(p) for p in condition.parts)
        if op == "not":
            (inner,) = parts
            return lambda view, customer: not inner(view, customer)
        if op == "any":

            def some(view: CaseView, customer: Customer | None) -> bool:
                for part in parts:  # noqa: SIM110 - a loop costs less per test than any()
                    if part(view, customer):
                        return True
                return False

            return some

        def every(view: CaseView, customer: Customer | None) -> bool:
            for part in parts:  # noqa: SIM110 - a loop costs less per test than all()
                if not part(view, customer):
                    return False
            return True

        return every
    assert condition.field is not None
    spec = _spec(condition.field)
    assert spec is not None
    read, value, needs_customer = spec.read, condition.value, spec.customer
    # The value of a field other than an attribute is of the field's one kind, as
    # anything it holds: plain equality compares them. An attribute's may be of any.
    attribute = condition.field.startswith(_ATTRIBUTE)
    same: Callable[[Any, Any], bool] = _same if attribute else operator.eq
    if op == "present":
        matches: Callable[[Any], bool] = lambda found: (  # noqa: E731
            bool(found) if isinstance(found, frozenset) else found is not None
        )
    elif op == "contains":
        matches = lambda found: isinstance(found, frozenset) and value in found  # noqa: E731
    elif op == "!=":
        matches = lambda found: found is None or not same(found, value)  # noqa: E731
    elif op == "==":
        matches = lambda found: found is not None and same(found, value)  # noqa: E731
    elif op == "in":
        matches = lambda found: found is not None and any(same(found, v) for v in value)  # noqa: E731
    elif attribute:
        matches = lambda found: found is not None and _ordered(op, found, value)  # noqa: E731
    else:
        compare = _COMPARE[op]
        matches = lambda found: found is not None and compare(found, value)  # noqa: E731

    def test(view: CaseView, customer: Customer | None) -> bool:
        if needs_customer and customer is None:
            return False
        return matches(read(view, customer))

    return test


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _flat(op: str, condition: Condition) -> tuple[Condition, ...]:
    return condition.parts if condition.op == op else (condition,)


def _read(data: object, path: str) -> Condition:
    """A condition from its data form; problems are named from ``path``."""
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected an object, got {type(data).__name__}", field=path)
    keys = set(data)
    combinator = [k for k in _COMBINATORS if k in keys]
    if combinator:
        key = combinator[0]
        extra = keys - {key}
        if extra:
            raise ValidationError(_unexpected(extra), field=path)
        inner = data[key]
        where = _at(path, key)
        if key == "not":
            return Condition("not", parts=(_read(inner, where),))
        if not isinstance(inner, list | tuple):
            raise ValidationError(f"expected a list, got {type(inner).__name__}", field=where)
        problems = Problems()
        parts = [problems.run(_read, p, _at(where, f"[{i}]")) for i, p in enumerate(inner)]
        problems.raise_if_any()
        return Condition(key, parts=tuple(p for p in parts if p is not None))
    problems = Problems()
    extra = keys - {"field", "op", "value"}
    if extra:
        problems.add(path, _unexpected(extra))
    for key in ("field", "op"):
        if key not in data:
            problems.add(_at(path, key), "required field missing")
    found = problems.run(_field, data.get("field"), _at(path, "field")) if "field" in data else None
    op = problems.run(_op, data.get("op"), _at(path, "op")) if "op" in data else None
    if (found is None or op is None) and "value" in data:
        # What a value should be depends on both: only its shape can be checked without them.
        where = _at(path, "value")
        if problems.run(_shaped, data["value"], where):
            problems.add(where, "not read, as the field or the operator is not known")
    if found is not None and op is not None:
        if op not in found[1].ops:
            problems.add(
                _at(path, "op"),
                f"operator {op!r} does not apply to {found[0]}; expected one of "
                f"{', '.join(found[1].ops)}",
            )
        elif op != "present" and "value" not in data:
            problems.add(_at(path, "value"), "required field missing")
        else:
            problems.run(_value, found[0], found[1], op, data.get("value"), _at(path, "value"))
    problems.raise_if_any()
    try:
        return Condition(op, found[0] if found else None, data.get("value"))  # type: ignore[arg-type]
    except ValidationError as exc:  # pragma: no cover - every rule was checked above
        raise ValidationError(Problem(_at(path, p.path), p.message) for p in exc.problems) from None


def _shaped(value: object, path: str) -> bool:
    """Whether ``value`` has the shape of some field's value (a list of them, for ``in``).

    Raises:
        ValidationError: naming each item that has no such shape.
    """
    problems = Problems()
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problems.run(attribute_from_data, item, _at(path, f"[{i}]"))
    else:
        problems.run(attribute_from_data, value, path)
    problems.raise_if_any()
    return True


def _unexpected(keys: Iterable[object]) -> str:
    return f"unexpected fields: {', '.join(sorted(map(str, keys)))}"
