"""The stored form of conditions: the data form :class:`~custservice.Condition` owns.

A condition reads and writes itself (``to_dict``/``from_dict``: a rule
stored in a settings file reads the same way as one sent over the wire), so
the converter hands it over whole; the records that hold conditions (SLA
policies, escalation rules, survey policies) are written field by field as
every record is. This module also
gives the JSON Schema of that form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["condition_schema", "configure_policies"]


def configure_policies(conv: Any) -> None:
    """Register the hooks of conditions on ``conv``."""
    from ..policies.conditions import Condition

    def structure(data: object, _: object) -> Condition:
        return Condition.from_dict(data)

    conv.register_unstructure_hook(Condition, lambda c: c.to_dict())
    conv.register_structure_hook(Condition, structure)


def condition_schema(ref: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The schema of a condition's data form; ``ref()`` refers to a condition (for the
    conditions nested in it)."""
    from ..policies.conditions import FIELDS, OPERATORS

    named = [f for f in FIELDS if not f.endswith(".NAME")]
    field = {"anyOf": [{"enum": named}, {"type": "string", "pattern": "^attributes\\..+$"}]}
    comparison = {
        "type": "object",
        "properties": {
            "field": field,
            "op": {"type": "string", "enum": list(OPERATORS)},
            "value": {},
        },
        "required": ["field", "op"],
        "additionalProperties": False,
    }

    def combined(key: str, inner: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {key: inner},
            "required": [key],
            "additionalProperties": False,
        }

    parts = {"type": "array", "items": ref()}
    return {
        "anyOf": [
            comparison,
            combined("all", parts),
            combined("any", parts),
            combined("not", ref()),
        ]
    }
