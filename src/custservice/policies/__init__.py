"""Rules as data over the domain: conditions, SLA policies, escalations, surveys and assignment.

Every rule here is plain, immutable data (it serializes with
:func:`~custservice.to_dict` and reads back with
:func:`~custservice.from_dict`) and every function is pure: same input, same
output, no clock read inside. The names are importable from ``custservice``.
"""

from __future__ import annotations

from .assignment import (
    Agent,
    Assignment,
    AssignmentPolicy,
    LeastLoaded,
    RoundRobin,
    SkillsBased,
    choose_assignee,
)
from .conditions import Condition
from .escalations import EscalationRule
from .sla import SlaPolicies, SlaPolicy
from .surveys import SurveyPolicy

__all__ = [
    "Agent",
    "Assignment",
    "AssignmentPolicy",
    "Condition",
    "EscalationRule",
    "LeastLoaded",
    "RoundRobin",
    "SkillsBased",
    "SlaPolicies",
    "SlaPolicy",
    "SurveyPolicy",
    "choose_assignee",
]
