"""Model customer service: customers and what they expect, every interaction,
how each outcome compares with expectations, and where everything stands in
its lifecycle, stored through pluggable backends.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ._time import Clock, FixedClock, SystemClock
from .enums import (
    CaseStatus,
    Channel,
    CustomerStage,
    Dimension,
    EscalationAction,
    Factor,
    InteractionStage,
    LinkKind,
    Metric,
    Priority,
    ServiceArea,
    TargetState,
    Verdict,
)
from .errors import (
    BackendNotFound,
    ConcurrencyError,
    CustServiceError,
    DuplicateError,
    InvalidTransition,
    LifecycleDefinitionError,
    NotFound,
    Problem,
    StorageError,
    ValidationError,
)
from .expectations import (
    BINARY,
    CES_7,
    CSAT_5,
    NPS_SCALE,
    SATISFACTION_10,
    ExpectationBand,
    Expectations,
    ScoreScale,
    csat,
    nps,
)
from .feedback import Feedback

if TYPE_CHECKING:
    from .calendars import ALWAYS, BusinessCalendar
    from .cases import AssignmentChange, Case, CaseLink, CaseUpdate, MergeChange, PriorityChange
    from .customers import Customer
    from .interactions import Handoff, Interaction
    from .lifecycle import Guard, History, Lifecycle, LifecycleState, StateChange, Transition
    from .lifecycles import CASE_LIFECYCLE, CUSTOMER_LIFECYCLE, INTERACTION_CYCLE
    from .pipelines import CASE_PIPELINE, CasePipeline
    from .policies import (
        Agent,
        Assignment,
        AssignmentPolicy,
        Condition,
        EscalationRule,
        LeastLoaded,
        RoundRobin,
        SkillsBased,
        SlaPolicies,
        SlaPolicy,
        SurveyPolicy,
        choose_assignee,
    )
    from .serialization import from_dict, from_json, json_schema, to_dict, to_json
    from .service_levels import ServiceTarget, TargetStatus
    from .storage.asynchronous import AsyncStore, open_async_store
    from .storage.protocols import ChangeEvent, Store
    from .storage.registry import available_backends, open_store

# Names loaded on first use, so that importing custservice stays cheap: each
# attrs class costs about a millisecond to build, and cattrs far more.
_LAZY_MODULES = {
    "calendars": ("ALWAYS", "BusinessCalendar"),
    "cases": (
        "AssignmentChange",
        "Case",
        "CaseLink",
        "CaseUpdate",
        "MergeChange",
        "PriorityChange",
    ),
    "customers": ("Customer",),
    "interactions": ("Handoff", "Interaction"),
    "lifecycle": ("Guard", "History", "Lifecycle", "LifecycleState", "StateChange", "Transition"),
    "lifecycles": ("CASE_LIFECYCLE", "CUSTOMER_LIFECYCLE", "INTERACTION_CYCLE"),
    "policies": (
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
    ),
    "pipelines": ("CASE_PIPELINE", "CasePipeline"),
    "serialization": ("from_dict", "from_json", "json_schema", "to_dict", "to_json"),
    "service_levels": ("ServiceTarget", "TargetStatus"),
    "storage.asynchronous": ("AsyncStore", "open_async_store"),
    "storage.protocols": ("ChangeEvent", "Store"),
    "storage.registry": ("available_backends", "open_store"),
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}

__version__ = "0.1.0"

__all__ = [
    "ALWAYS",
    "AsyncStore",
    "BINARY",
    "CASE_LIFECYCLE",
    "CASE_PIPELINE",
    "CES_7",
    "CSAT_5",
    "CUSTOMER_LIFECYCLE",
    "INTERACTION_CYCLE",
    "NPS_SCALE",
    "SATISFACTION_10",
    "Agent",
    "Assignment",
    "AssignmentChange",
    "AssignmentPolicy",
    "BackendNotFound",
    "BusinessCalendar",
    "Case",
    "CaseLink",
    "CasePipeline",
    "CaseStatus",
    "CaseUpdate",
    "ChangeEvent",
    "Channel",
    "Clock",
    "Condition",
    "ConcurrencyError",
    "CustServiceError",
    "Customer",
    "CustomerStage",
    "Dimension",
    "DuplicateError",
    "EscalationAction",
    "EscalationRule",
    "ExpectationBand",
    "Expectations",
    "Factor",
    "Feedback",
    "FixedClock",
    "Guard",
    "Handoff",
    "History",
    "Interaction",
    "InteractionStage",
    "InvalidTransition",
    "Lifecycle",
    "LifecycleDefinitionError",
    "LifecycleState",
    "LeastLoaded",
    "LinkKind",
    "MergeChange",
    "Metric",
    "NotFound",
    "Priority",
    "PriorityChange",
    "Problem",
    "RoundRobin",
    "ScoreScale",
    "ServiceArea",
    "ServiceTarget",
    "SkillsBased",
    "SlaPolicies",
    "SlaPolicy",
    "StateChange",
    "StorageError",
    "Store",
    "SurveyPolicy",
    "SystemClock",
    "TargetState",
    "TargetStatus",
    "Transition",
    "ValidationError",
    "Verdict",
    "available_backends",
    "choose_assignee",
    "csat",
    "from_dict",
    "from_json",
    "json_schema",
    "nps",
    "open_async_store",
    "open_store",
    "to_dict",
    "to_json",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'custservice' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
