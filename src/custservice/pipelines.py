"""Case pipelines: the lifecycle a case follows, each of its states filed under a status.

A desk's own process (a returns desk: received, inspecting, awaiting parts,
refunded, closed) is an ordinary :class:`~custservice.lifecycle.Lifecycle`.
A :class:`CasePipeline` pairs it with the :class:`~custservice.enums.CaseStatus`
each of its states stands for, and that category is all that service
targets, analytics, the planner and the report read: which states pause the
clock (``PENDING``, ``ON_HOLD``), which count as solved (``SOLVED``) or
finished (``SOLVED``, ``CLOSED``).

A stored case names its pipeline; reading it back finds the pipeline by that
name among those built in this process (build yours at import, as you would
a lifecycle). :data:`CASE_PIPELINE`, the built-in ``CASE_LIFECYCLE`` with
each status standing for itself, is the default.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ._mapping import FrozenMap, own
from ._states import State, label
from .enums import CaseStatus
from .errors import LifecycleDefinitionError
from .lifecycle import Lifecycle
from .lifecycles import CASE_LIFECYCLE

__all__ = ["CASE_PIPELINE", "CasePipeline", "known_pipeline"]

_LOCK = threading.Lock()
_KNOWN: dict[str, CasePipeline] = {}


class CasePipeline:
    """A lifecycle for cases, with the :class:`~custservice.enums.CaseStatus` each state
    stands for.

    Built once (at import) and shared; immutable. Building it makes it known by
    its lifecycle's name, so stored cases that follow it read back; a pipeline
    built later under the same name takes its place.

    Args:
        lifecycle: the states and events of the desk's own process.
        categories: every state of ``lifecycle`` mapped to a
            :class:`~custservice.enums.CaseStatus` (a member or its value).

    Raises:
        LifecycleDefinitionError: a state has no category, a key is not a
            state of the lifecycle, a category is not a case status, or the
            name is the built-in pipeline's (``"case"``); every problem is listed.

    Examples:
        >>> returns = CasePipeline(
        ...     Lifecycle(
        ...         "doc-returns",
        ...         initial="received",
        ...         transitions=[Transition("refund", "received", "refunded")],
        ...         final=["refunded"],
        ...     ),
        ...     {"received": "open", "refunded": "closed"},
        ... )
        >>> returns.category("refunded")
        <CaseStatus.CLOSED: 'closed'>
    """

    __slots__ = ("_by_text", "_categories", "_lifecycle")

    def __init__(self, lifecycle: Lifecycle, categories: Mapping[Any, CaseStatus | str]) -> None:
        if not isinstance(lifecycle, Lifecycle):
            raise LifecycleDefinitionError(
                f"a pipeline needs a Lifecycle, got {type(lifecycle).__name__}"
            )
        if not isinstance(categories, Mapping):
            raise LifecycleDefinitionError(
                f"categories must map each state to a CaseStatus, got {type(categories).__name__}"
            )
        problems: list[str] = []
        states = set(lifecycle.states)
        checked: dict[State, CaseStatus] = {}
        for state, category in categories.items():
            if state not in states:
                problems.append(f"{state!r} is not a state of lifecycle {lifecycle.name!r}")
                continue
            try:
                checked[state] = CaseStatus(category)
            except ValueError:
                problems.append(
                    f"state {label(state)!r}: {category!r} is not a CaseStatus; expected one "
                    f"of {', '.join(repr(s.value) for s in CaseStatus)}"
                )
        problems.extend(
            f"state {label(s)!r} has no CaseStatus"
            for s in lifecycle.states
            if s not in checked and s in states and s not in categories
        )
        if lifecycle.name == CASE_LIFECYCLE.name and lifecycle != CASE_LIFECYCLE:
            problems.append(f"the name {lifecycle.name!r} is the built-in case pipeline's")
        if problems:
            raise LifecycleDefinitionError(
                f"case pipeline {lifecycle.name!r}: " + "; ".join(problems)
            )
        self._lifecycle = lifecycle
        self._categories: FrozenMap[State, CaseStatus] = own(
            {s: checked[s] for s in lifecycle.states}
        )
        # Stored states are read back as text or members: the text of each, too.
        self._by_text = {_text(s): c for s, c in checked.items()}
        with _LOCK:
            _KNOWN[lifecycle.name] = self

    @property
    def name(self) -> str:
        """The pipeline's name: its lifecycle's, which stored cases are written with."""
        return self._lifecycle.name

    @property
    def lifecycle(self) -> Lifecycle:
        """The lifecycle cases of this pipeline follow."""
        return self._lifecycle

    @property
    def categories(self) -> Mapping[State, CaseStatus]:
        """Every state mapped to the :class:`~custservice.enums.CaseStatus` it stands for,
        in the lifecycle's order of states; a read-only mapping."""
        return self._categories

    def category(self, state: object) -> CaseStatus:
        """The :class:`~custservice.enums.CaseStatus` that ``state`` stands for.

        Raises:
            KeyError: ``state`` is not a state of the pipeline.
        """
        found = self._categories.get(state)  # type: ignore[call-overload]
        if found is None:
            found = self._by_text[_text(state)]
        return found  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"CasePipeline({self.name!r}, {len(self._categories)} states)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CasePipeline):
            return NotImplemented
        return self is other or (
            self._lifecycle == other._lifecycle
            and dict(self._categories.items()) == dict(other._categories.items())
        )

    def __hash__(self) -> int:
        return hash(self._lifecycle)

    def __reduce__(self) -> tuple[Any, ...]:
        return (CasePipeline, (self._lifecycle, dict(self._categories.items())))


def _text(state: object) -> str:
    """A state as stored text: a str-valued member's value, a plain member's name."""
    return label(state)


def known_pipeline(name: str) -> CasePipeline | None:
    """The pipeline built in this process under ``name``, if any (the latest one built)."""
    return _KNOWN.get(name)


CASE_PIPELINE = CasePipeline(CASE_LIFECYCLE, {s: s for s in CaseStatus})
"""The built-in pipeline: ``CASE_LIFECYCLE``, each status standing for itself."""
