"""A lifecycle state's history: the :class:`StateChange` s it went through, persistently.

A :class:`History` is a position in a tree of append-only logs (see
:mod:`custservice._persistent`) whose entries are plain tuples
(:data:`Entry`); a :class:`StateChange` is made only when one is read. The
lifecycle engine appends to histories with :func:`appended`; codecs write a
history out with :func:`history_entries` and rebuild it with
:func:`restore_history`, without building a change per entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeAlias, overload

import attrs
import pendulum

from ._persistent import branch, length, reversed_items, root, select
from ._persistent import item as entry_at
from ._persistent import items as entries_of
from ._states import State, label, state_value
from ._time import aware, micros
from ._validation import Problems, optional_text, text
from .errors import Problem, ValidationError

__all__ = [
    "NO_CHANGES",
    "Entry",
    "History",
    "StateChange",
    "appended",
    "empty_history",
    "history_entries",
    "restore_history",
    "to_history",
]

_new = object.__new__


@attrs.frozen
class StateChange:
    """One step in a history: ``event`` moved the state from ``source`` to ``target`` at ``at``.

    Args:
        event: the event that fired.
        source: the state it fired from.
        target: the state it led to.
        at: when it happened; timezone-aware (kept as a ``pendulum.DateTime``).
        reason: why, in words, if the caller gave a reason.

    Raises:
        ValidationError: the event is empty or not a string, a state is neither
            non-blank text nor an ``Enum`` member, ``at`` is naive or not a
            datetime, or ``reason`` is blank; every problem is listed.

    Examples:
        >>> at = pendulum.datetime(2026, 1, 5)
        >>> change = StateChange("acquire", "prospect", "new", at)
        >>> change.target
        'new'
    """

    event: str
    source: State
    target: State
    at: pendulum.DateTime
    reason: str | None = None

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.run(text, self.event, "event")
        problems.run(state_value, self.source, "source")
        problems.run(state_value, self.target, "target")
        at = problems.run(aware, self.at, "at")
        problems.run(optional_text, self.reason, "reason")
        problems.raise_if_any()
        object.__setattr__(self, "at", at)


Entry: TypeAlias = tuple[str, State, State, pendulum.DateTime, str | None]
"""How a log stores a change: ``(event, source, target, at, reason)``, cheap to make."""

# Writing slots through their descriptors skips attrs' __init__ (and its checks), for
# data the engine itself has checked.
_set_event = StateChange.__dict__["event"].__set__
_set_source = StateChange.__dict__["source"].__set__
_set_target = StateChange.__dict__["target"].__set__
_set_at = StateChange.__dict__["at"].__set__
_set_reason = StateChange.__dict__["reason"].__set__


def change_of(entry: Entry) -> StateChange:
    """The :class:`StateChange` a log entry stands for, built without checks."""
    change = _new(StateChange)
    _set_event(change, entry[0])
    _set_source(change, entry[1])
    _set_target(change, entry[2])
    _set_at(change, entry[3])
    _set_reason(change, entry[4])
    return change


class History(Sequence[StateChange]):
    """The changes a state went through, oldest first: an immutable, persistent sequence.

    Index it (negative indexes too), slice it (a slice is a tuple of changes),
    iterate it, ``reversed()`` it, take its ``len()``.
    Two histories are equal when they hold equal changes in the same order.

    Histories share their past: a history is a position in a tree of
    append-only logs (entries kept as tuples; a :class:`StateChange` is made
    when read). Firing from the newest state of a log appends to it in
    place; firing from an older state, or twice from the same state, starts
    a new log that continues the old one's first entries (a branch) without
    copying them. Either way no existing history ever changes, and firing
    costs the same at any length and from any position. Reading an entry
    walks up at most a few logs (logarithmic in the number of branches on
    its way); iterating reads each entry once.

    Args:
        changes: the changes, oldest first. Used to restore a stored
            history; no guard or callback runs.

    Raises:
        ValidationError: an item is not a :class:`StateChange`, a change does
            not start where the one before it ended, or time goes backwards.

    Examples:
        >>> at = pendulum.datetime(2026, 1, 5)
        >>> history = History([
        ...     StateChange("acquire", "prospect", "new", at),
        ...     StateChange("retain", "new", "active", at.add(days=30)),
        ... ])
        >>> [change.event for change in history]
        ['acquire', 'retain']
        >>> history[-1].target
        'active'
    """

    __slots__ = ("_end", "_log")

    _log: list[Any]  # a segment: its header, then entries (see _persistent)
    _end: int  # the index in the log just past this history's last entry

    def __init__(self, changes: Iterable[StateChange] = ()) -> None:
        if isinstance(changes, str | bytes) or not isinstance(changes, Iterable):
            raise ValidationError(
                f"expected a sequence of StateChange, got {type(changes).__name__}", field=""
            )
        changes = list(changes)
        problems = Problems()
        previous: StateChange | None = None
        for i, change in enumerate(changes):
            if not isinstance(change, StateChange):
                problems.add(f"[{i}]", f"expected a StateChange, got {type(change).__name__}")
                previous = None
                continue
            if previous is not None:
                if change.source != previous.target:
                    problems.add(
                        f"[{i}].source",
                        f"starts from {label(change.source)!r}, but the change before it "
                        f"ended in {label(previous.target)!r}",
                    )
                if micros(change.at) < micros(previous.at):
                    problems.add(f"[{i}].at", "earlier than the change before it")
            previous = change
        problems.raise_if_any()
        log = root()
        log.extend((c.event, c.source, c.target, c.at, c.reason) for c in changes)
        self._log = log
        self._end = len(log)

    def __len__(self) -> int:
        return length(self._log, self._end)

    @overload
    def __getitem__(self, index: int) -> StateChange: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[StateChange, ...]: ...

    def __getitem__(self, index: int | slice) -> StateChange | tuple[StateChange, ...]:
        log = self._log
        if isinstance(index, slice):
            return tuple(map(change_of, select(log, self._end, index)))
        n = length(log, self._end)
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("history index out of range")
        return change_of(entry_at(log, i))

    def __iter__(self) -> Iterator[StateChange]:
        return map(change_of, entries_of(self._log, self._end))

    def __reversed__(self) -> Iterator[StateChange]:
        return map(change_of, reversed_items(self._log, self._end))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        if len(self) != len(other):
            return False
        if self._log is other._log and self._end == other._end:
            return True
        return list(entries_of(self._log, self._end)) == list(entries_of(other._log, other._end))

    def __hash__(self) -> int:
        return hash(tuple(entries_of(self._log, self._end)))

    def __repr__(self) -> str:
        return f"History({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled and copied as its own entries only, never the rest of a shared log.
        return (restore_history, (list(entries_of(self._log, self._end)),))


def history_entries(history: History) -> Iterator[Entry]:
    """The entries of a history, oldest first: for codecs that write them out."""
    return entries_of(history._log, history._end)


def empty_history() -> History:
    """A new empty history (its own log, so appending to it shares nothing)."""
    history = _new(History)
    history._log = root()
    history._end = 1
    return history


# Its log holds a slot past its end, so nothing is ever appended to it in place: firing
# from it always branches, copying only the log's header (as appending to a fresh log
# would cost).
NO_CHANGES: History = _new(History)
NO_CHANGES._log = [*root(), None]
NO_CHANGES._end = 1
"""The empty history every restored state without changes shares; it never changes."""


def restore_history(entries: Iterable[Entry]) -> History:
    """A history of entries the library wrote and checked before, built without checks.

    Empty ones (most stored records' are) are all the same object, which never changes.
    """
    if not entries:  # an empty list or tuple; any other iterable is read
        return NO_CHANGES
    history = _new(History)
    history._log = log = root()
    log.extend(entries)
    history._end = len(log)
    return history


def appended(history: History, entry: Entry) -> History:
    """A new history: ``history``'s entries, then ``entry``; ``history`` is unchanged.

    Costs the same at any length and from any position. Appends in place when
    ``history`` is the newest on its log: entries below a history's end never
    change, so views of the log stay valid. Two threads may both see the log
    at ``history``'s end and both append (``list.append`` is atomic): whoever's
    entry did not land there branches, as does a history the log has moved
    on from. A branch is a new log continuing this one's entries: the past is
    not copied (at most a few entries are, see :func:`~custservice._persistent.branch`).
    """
    log = history._log
    n = history._end
    if len(log) != n:
        log = branch(log, n)
        n = len(log)
        log.append(entry)
    else:
        log.append(entry)
        if log[n] is not entry:
            log = branch(log, n)
            n = len(log)
            log.append(entry)
    new = _new(History)
    new._log = log
    new._end = n + 1
    return new


def to_history(value: Iterable[StateChange]) -> History:
    """``value`` as a :class:`History`: a history as it is, changes checked and copied.

    Raises:
        ValidationError: ``value`` is not a sequence of changes that follow on
            from each other, with paths under ``history``.
    """
    if isinstance(value, History):
        return value
    try:
        return History(value)
    except TypeError:
        raise ValidationError(
            f"expected a sequence of StateChange, got {type(value).__name__}", field="history"
        ) from None
    except ValidationError as exc:
        raise ValidationError(
            Problem(f"history{p.path}", p.message) for p in exc.problems
        ) from None
