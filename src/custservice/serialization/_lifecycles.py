"""The stored form of lifecycle positions: states, histories, and the fit to a lifecycle.

A state is text as it is (a str-valued member as its value), or a member of
a plain enum as ``{"enum": "module.Class", "name": "MEMBER"}``. A history is
the list of its changes. A stored record's position must fit the record's
own lifecycle: checked as the field is read, so that a history that does
not fit is listed with the record's other problems.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._states import State, enum_name, known_enum
from ..errors import Problem, ValidationError

if TYPE_CHECKING:
    from ..lifecycle import Lifecycle, LifecycleState

__all__ = [
    "chain_problems",
    "configure_lifecycles",
    "fitting",
    "pipeline_from_data",
    "pipeline_lifecycle",
    "record_lifecycles",
    "state_from_data",
    "state_to_data",
]


def state_to_data(state: State) -> str | dict[str, str]:
    """A state as plain data: text as it is (a str-valued member as its value), a member
    of a plain enum as ``{"enum": "module.Class", "name": "MEMBER"}``."""
    if isinstance(state, str):
        return str.__str__(state)
    return {"enum": enum_name(type(state)), "name": state.name}


def state_from_data(data: object) -> State:
    """The state :func:`state_to_data` wrote.

    A member is looked up in the enums of the lifecycles built so far, then in
    modules already imported; nothing is imported on the data's say-so.

    Raises:
        ValidationError: ``data`` is neither text nor an object naming a member
            of a known enum.
    """
    if isinstance(data, str):
        return data
    if not (isinstance(data, Mapping) and set(data) == {"enum", "name"}):
        raise ValidationError(
            "expected a state: text, or an object with the 'enum' and 'name' of a member"
        )
    wrong = [
        Problem(key, f"expected text, got {type(data[key]).__name__}")
        for key in ("enum", "name")
        if not isinstance(data[key], str)
    ]
    if wrong:
        raise ValidationError(wrong)
    cls = known_enum(data["enum"])
    if cls is None:
        raise ValidationError(
            f"unknown enum {data['enum']!r}: build a lifecycle with its states first"
        )
    try:
        return cls[data["name"]]
    except KeyError:
        raise ValidationError(f"{data['enum']} has no member {data['name']!r}") from None


@functools.cache
def record_lifecycles() -> dict[type, Any]:
    """The lifecycle each record's stored history must fit: a lifecycle, or (for a
    case) a function of the record's data that gives the lifecycle of the pipeline it
    names.

    Only restored data needs this check: objects built by the library's own
    verbs are correct by construction, so their constructors skip this walk
    of the whole history.
    """
    from ..cases import Case
    from ..customers import Customer
    from ..interactions import Interaction
    from ..lifecycles import CUSTOMER_LIFECYCLE, INTERACTION_CYCLE

    return {
        Customer: CUSTOMER_LIFECYCLE,
        Interaction: INTERACTION_CYCLE,
        Case: pipeline_lifecycle,
    }


def pipeline_lifecycle(data: Mapping[str, Any]) -> Lifecycle | None:
    """The lifecycle of the pipeline a case's data names: the built-in one when it names
    none; ``None`` when it names one not known (the ``pipeline`` field reports that, and
    the position is then read without a lifecycle to fit)."""
    from ..pipelines import CASE_PIPELINE, known_pipeline

    if "pipeline" not in data:
        return CASE_PIPELINE.lifecycle
    name = data["pipeline"]
    found = known_pipeline(name) if isinstance(name, str) else None
    return None if found is None else found.lifecycle


def pipeline_from_data(data: object) -> Any:
    """The :class:`~custservice.pipelines.CasePipeline` a stored case names.

    Raises:
        ValidationError: ``data`` is not the name of a pipeline built in this process.
    """
    from ..pipelines import known_pipeline

    if not isinstance(data, str):
        raise ValidationError(f"expected a pipeline's name, got {type(data).__name__}")
    found = known_pipeline(data)
    if found is None:
        raise ValidationError(
            f"unknown case pipeline {data!r}: build it (CasePipeline(...)) before reading "
            "cases that follow it"
        )
    return found


def fitting(conv: Any, lifecycle: Lifecycle) -> Callable[[object, object], LifecycleState]:
    """The structure hook of a record's ``lifecycle`` field: a position that fits ``lifecycle``."""
    from ..lifecycle import LifecycleState

    # Checked as the field is read, so a history that does not fit is listed
    # with the record's other problems, not after they are fixed.
    def structure(data: object, _: object) -> LifecycleState:
        return lifecycle.validate(conv.structure(data, LifecycleState))

    return structure


_POSITION = re.compile(r"\[([0-9]+)\]")


def chain_problems(conv: Any, data: list[Any] | tuple[Any, ...]) -> list[Problem]:
    """What a history's own rules say about the changes around those that did not read.

    A history checks each change against the one before it (it starts where
    that one ended, and not earlier), so every run of changes that did read
    is checked on its own: only the pairs that touch an unread change are left
    out, instead of every check waiting until the unread ones are fixed.

    Args:
        conv: the converter.
        data: the history's items as given, at least one of which did not read.
    """
    from ..lifecycle import History, StateChange

    read: list[StateChange | None] = []
    for item in data:
        try:
            read.append(conv.structure(item, StateChange))
        except Exception:  # already listed with its path
            read.append(None)
    problems: list[Problem] = []
    start = 0
    while start < len(read):
        end = start
        while end < len(read) and read[end] is not None:
            end += 1
        if end - start > 1:
            try:
                History(read[start:end])  # type: ignore[arg-type]
            except ValidationError as exc:
                for p in exc.problems:
                    # Positions in the run, as positions in the whole history.
                    at = _POSITION.match(p.path)
                    if at is not None:
                        path = f"[{int(at.group(1)) + start}]{p.path[at.end() :]}"
                        problems.append(Problem(path, p.message))
        start = end + 1
    return problems


def configure_lifecycles(conv: Any) -> None:
    """Register the hooks of states and histories on ``conv``."""
    from ..lifecycle import History, StateChange

    # A state is text, or a member of a plain enum written as {"enum": ..., "name": ...}.
    conv.register_unstructure_hook(State, state_to_data)
    conv.register_structure_hook(State, lambda data, _: state_from_data(data))
    conv.register_unstructure_hook(History, lambda h: [conv.unstructure(c) for c in h])
    changes = list[StateChange]

    def structure_history(data: object, _: object) -> History:
        try:
            read = conv.structure(data, changes)
        except ValidationError as exc:
            if isinstance(data, list | tuple):  # some changes did not read
                raise ValidationError([*exc.problems, *chain_problems(conv, data)]) from None
            raise
        return History(read)

    conv.register_structure_hook(History, structure_history)

    from ..pipelines import CasePipeline

    # A case's pipeline is stored by its name, and found again among those built.
    conv.register_unstructure_hook(CasePipeline, lambda p: p.name)
    conv.register_structure_hook(CasePipeline, lambda data, _: pipeline_from_data(data))
