"""The lifecycle engine: declarative, validated state machines and immutable positions in them.

A :class:`Lifecycle` is plain data: a name, an initial state, the
:class:`Transition` s between states, and the final states. It is checked
when it is built, so a broken definition fails at import, not in production.

A :class:`LifecycleState` is where one thing (a customer, an interaction, a
case) stands in a lifecycle: its current state, since when, and its
:class:`History` of :class:`StateChange` s. Firing an event returns a new
state and leaves the old one untouched and usable. The history is persistent
and append-only: a new state shares the past with the state it came from, so
firing costs the same with ten thousand past changes as with none.

Events are strings. A state is a string or a member of any ``Enum``, plain or
str-valued (``CustomerStage.NEW`` is a ``StrEnum`` member), and is kept as
given. Messages and diagrams name a state by its text: a string (a
str-valued member's value) as it is, a member of a plain ``Enum`` by its name.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias, overload

import attrs
import pendulum

from ._persistent import branch, length, reversed_items, root, select
from ._persistent import item as entry_at
from ._persistent import items as entries_of
from ._time import PENDULUM_ZONES, aware, micros
from ._validation import Problems, optional_text, text
from .errors import InvalidTransition, LifecycleDefinitionError, Problem, ValidationError

__all__ = [
    "Guard",
    "History",
    "Lifecycle",
    "LifecycleState",
    "State",
    "StateChange",
    "Transition",
]

State: TypeAlias = str | enum.Enum
"""A state of a lifecycle: a string, or a member of any ``Enum`` (plain or str-valued)."""

Guard = Callable[["LifecycleState", pendulum.DateTime], bool]
"""A condition on a transition: ``guard(state, at) -> bool``.

It is called with the state the event is fired from and the instant it is
fired at, and returns whether the event may fire. It must be pure (no I/O,
no clock): it decides on what it is given. When it returns false,
:meth:`Lifecycle.fire` raises :class:`InvalidTransition` whose ``reason``
names the guard by its ``__name__``, so give guards names that read as the
condition (``def training_done(state, at): ...``).
"""

_DateTime = pendulum.DateTime
_new = object.__new__


def _label(state: object) -> str:
    """How messages and diagrams name a state: its text, or a plain enum member's name."""
    if type(state) is str:
        return state
    if isinstance(state, str):
        return str.__str__(state)  # a str-valued member's value, not ``Class.NAME``
    if isinstance(state, enum.Enum):
        return state.name
    return repr(state)


def _is_state(value: object) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, enum.Enum)


def _state_value(value: object, field: str) -> State:
    """``value`` checked to be a state, or a ``ValidationError`` naming ``field``."""
    if isinstance(value, enum.Enum) and not isinstance(value, str):
        return value
    if not isinstance(value, str):
        raise ValidationError(
            f"expected a state (text or an Enum member), got {type(value).__name__}", field=field
        )
    return text(value, field)


# The plain enums whose members are states of a lifecycle built in this process, by
# qualified name: how a stored member is found again without importing anything.
_ENUMS: weakref.WeakValueDictionary[str, type[enum.Enum]] = weakref.WeakValueDictionary()


def _enum_name(cls: type[enum.Enum]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _state_to_data(state: State) -> str | dict[str, str]:
    """A state as plain data: text as it is (a str-valued member as its value), a member
    of a plain enum as ``{"enum": "module.Class", "name": "MEMBER"}``."""
    if isinstance(state, str):
        return str.__str__(state)
    return {"enum": _enum_name(type(state)), "name": state.name}


def _state_from_data(data: object) -> State:
    """The state :func:`_state_to_data` wrote.

    A member is looked up in the enums of the lifecycles built so far, then in
    modules already imported; nothing is imported on the data's say-so.

    Raises:
        ValidationError: ``data`` is neither text nor an object naming a member
            of a known enum.
    """
    if isinstance(data, str):
        return data
    if not (
        isinstance(data, Mapping)
        and set(data) == {"enum", "name"}
        and isinstance(data["enum"], str)
        and isinstance(data["name"], str)
    ):
        raise ValidationError(
            "expected a state: text, or an object with the 'enum' and 'name' of a member"
        )
    cls = _ENUMS.get(data["enum"]) or _imported_enum(data["enum"])
    if cls is None:
        raise ValidationError(
            f"unknown enum {data['enum']!r}: build a lifecycle with its states first"
        )
    try:
        return cls[data["name"]]
    except KeyError:
        raise ValidationError(f"{data['enum']} has no member {data['name']!r}") from None


def _imported_enum(name: str) -> type[enum.Enum] | None:
    """The enum class ``name`` (``module.Qualified.Name``) in a module already imported."""
    module, _, path = name.partition(".")
    while path:
        found: object = sys.modules.get(module)
        for part in path.split("."):
            found = getattr(found, part, None)
        if isinstance(found, type) and issubclass(found, enum.Enum):
            return found
        head, _, path = path.partition(".")
        module = f"{module}.{head}"
    return None


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
        >>> change = StateChange("acquire", "prospect", "new", pendulum.datetime(2026, 1, 5))
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
        problems.run(_state_value, self.source, "source")
        problems.run(_state_value, self.target, "target")
        at = problems.run(aware, self.at, "at")
        problems.run(optional_text, self.reason, "reason")
        problems.raise_if_any()
        object.__setattr__(self, "at", at)


_Entry = tuple[str, State, State, pendulum.DateTime, "str | None"]
"""How a log stores a change: ``(event, source, target, at, reason)``, cheap to make."""

# Writing slots through their descriptors skips attrs' __init__ (and its checks), for
# data the engine itself has checked.
_set_event = StateChange.__dict__["event"].__set__
_set_source = StateChange.__dict__["source"].__set__
_set_target = StateChange.__dict__["target"].__set__
_set_at = StateChange.__dict__["at"].__set__
_set_reason = StateChange.__dict__["reason"].__set__


def _change(entry: _Entry) -> StateChange:
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
                        f"starts from {_label(change.source)!r}, but the change before it "
                        f"ended in {_label(previous.target)!r}",
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
            return tuple(map(_change, select(log, self._end, index)))
        n = length(log, self._end)
        i = index.__index__()
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("history index out of range")
        return _change(entry_at(log, i))

    def __iter__(self) -> Iterator[StateChange]:
        return map(_change, entries_of(self._log, self._end))

    def __reversed__(self) -> Iterator[StateChange]:
        return map(_change, reversed_items(self._log, self._end))

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
        return (_restored, (list(entries_of(self._log, self._end)),))


def _entries(history: History) -> Iterator[_Entry]:
    """The entries of a history, oldest first: for codecs that write them out."""
    return entries_of(history._log, history._end)


def _empty() -> History:
    history = _new(History)
    history._log = root()
    history._end = 1
    return history


def _restored(log: Iterable[_Entry]) -> History:
    """A history of entries the library wrote and checked, built without checks."""
    history = _new(History)
    segment = root()
    segment.extend(log)
    history._log = segment
    history._end = len(segment)
    return history


def _to_history(value: Iterable[StateChange]) -> History:
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


@attrs.frozen
class LifecycleState:
    """Where something stands in a lifecycle: an immutable value.

    :meth:`Lifecycle.start` and :meth:`Lifecycle.fire` make them. Build one
    directly to restore a stored state (or to place something mid-way, such
    as a customer imported as already active): no guard or callback runs.
    :meth:`Lifecycle.validate` then checks it against a definition.

    Args:
        current: the current state: text, or a member of any ``Enum``.
        since: when the current state was entered; timezone-aware.
        history: the changes that led here, oldest first (a :class:`History`
            or any iterable of :class:`StateChange`); empty by default.

    Raises:
        ValidationError: ``current`` is not a state (blank text, say),
            ``since`` is naive, or the history does not end in ``current``
            at ``since``.

    Examples:
        >>> at = pendulum.datetime(2026, 1, 5)
        >>> state = LifecycleState("active", at)
        >>> state.current, len(state.history)
        ('active', 0)
    """

    current: State
    since: pendulum.DateTime
    history: History = attrs.field(factory=History, converter=_to_history)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.run(_state_value, self.current, "current")
        since = problems.run(aware, self.since, "since")
        if self.history:
            last = self.history[-1]
            if last.target != self.current:
                problems.add(
                    "current",
                    f"the last change in the history leads to {_label(last.target)!r}",
                )
            if since is not None and micros(last.at) != micros(since):
                problems.add("since", "differs from the time of the last change in the history")
        problems.raise_if_any()
        object.__setattr__(self, "since", since)


_set_current = LifecycleState.__dict__["current"].__set__
_set_since = LifecycleState.__dict__["since"].__set__
_set_history = LifecycleState.__dict__["history"].__set__
_UTC = pendulum.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_from_epoch = dt.datetime.__sub__  # the stdlib's exact timedelta, not pendulum's Interval
_STEADY_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Zulu", "Etc/Zulu"})
_FIXED_OFFSETS = (dt.timezone, pendulum.FixedTimezone)


def _earlier(at: dt.datetime, since: dt.datetime) -> bool:
    """Whether instant ``at`` is before instant ``since``.

    Exact to the microsecond in every year. Reading a zone's offset costs more
    than the rest of a transition, so two datetimes sharing a zone whose offset
    never changes compare by their fields (exact: the offsets are equal). Any
    others compare by their distances from the epoch, the exact ``timedelta`` s
    that :func:`~custservice._time.micros` counts in microseconds: the same
    order, without the two calls and divisions (a third of a microsecond on
    every firing outside UTC).
    """
    zone = at.tzinfo
    if zone is since.tzinfo and (
        type(zone) in _FIXED_OFFSETS or getattr(zone, "key", None) in _STEADY_ZONES
    ):
        return at < since
    return _from_epoch(at, _EPOCH) < _from_epoch(since, _EPOCH)


def _sources(value: State | Iterable[State]) -> frozenset[State]:
    if isinstance(value, str | enum.Enum):  # one state (a str-valued member is iterable)
        return frozenset((value,))
    try:
        return frozenset(value)
    except TypeError:
        raise LifecycleDefinitionError(
            f"transition sources must be a state or an iterable of states, "
            f"got {type(value).__name__}"
        ) from None


def _definition_items(value: object, what: str, *, hashed: bool = True) -> tuple[Any, ...]:
    """The items of a lifecycle definition's collection, refused when not one."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise LifecycleDefinitionError(f"the {what} must be a collection, got {value!r}")
    values = tuple(value)
    for one in values if hashed else ():
        try:
            hash(one)
        except TypeError:
            raise LifecycleDefinitionError(f"the {what} hold an unhashable {one!r}") from None
    return values


def _is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _order(state: State) -> tuple[str, str]:
    """A state's place in a deterministic order: by its text, then its kind."""
    return (_label(state), type(state).__qualname__)


@attrs.frozen
class Transition:
    """An event that moves from one of ``sources`` to ``target``.

    Args:
        event: the event's name.
        sources: the state the event fires from, or several (kept as a
            frozenset). A state is a string or a member of any ``Enum``.
        target: the state it leads to.
        guard: an optional :data:`Guard`, ``guard(state, at) -> bool``, asked
            each time the event fires; when it returns false the event is
            refused with :class:`InvalidTransition` naming the guard.

    Raises:
        LifecycleDefinitionError: the event is empty or not a string, a state
            is neither a non-empty string nor an ``Enum`` member, there are no
            sources, or the guard is not callable.

    Examples:
        >>> t = Transition("churn", ["active", "at_risk"], "churned")
        >>> sorted(t.sources)
        ['active', 'at_risk']
    """

    event: str
    sources: frozenset[State] = attrs.field(converter=_sources)
    target: State
    guard: Guard | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = []
        if not _is_name(self.event):
            problems.append(f"event must be a non-empty string, got {self.event!r}")
        if not self.sources:
            problems.append(f"event {self.event!r} has no source state")
        problems.extend(
            f"event {self.event!r} has a source that is not a non-empty string "
            f"or an Enum member: {s!r}"
            for s in self.sources
            if not _is_state(s)
        )
        if not _is_state(self.target):
            problems.append(
                f"event {self.event!r} has a target that is not a non-empty string "
                "or an Enum member"
            )
        if self.guard is not None and not callable(self.guard):
            problems.append(f"the guard of event {self.event!r} is not callable")
        if problems:
            raise LifecycleDefinitionError("; ".join(problems))

    @property
    def guard_name(self) -> str | None:
        """The guard's name, as refusals report it; ``None`` without a guard."""
        if self.guard is None:
            return None
        return str(getattr(self.guard, "__name__", None) or repr(self.guard))


class Lifecycle:
    """A validated state machine: states, the events between them, and final states.

    The definition is checked when it is built; once built it is immutable
    and safe to share between threads. States are listed in order of first
    appearance (the initial state first), which makes every output
    (``states``, ``to_mermaid()``) deterministic.

    Args:
        name: the lifecycle's name, used in messages.
        initial: the state :meth:`start` begins in.
        transitions: the :class:`Transition` s.
        final: states nothing leaves; each must be reached by some transition.

    Raises:
        LifecycleDefinitionError: listing every problem found: an empty name,
            a final state that is unknown or that no transition reaches, a
            transition out of a final state, a state not reachable from
            ``initial``, an event defined twice from the same state.

    Examples:
        >>> door = Lifecycle(
        ...     "door",
        ...     initial="closed",
        ...     transitions=[
        ...         Transition("open", "closed", "opened"),
        ...         Transition("close", "opened", "closed"),
        ...         Transition("lock", "closed", "locked"),
        ...     ],
        ...     final=["locked"],
        ... )
        >>> state = door.start(pendulum.datetime(2026, 1, 5, 9))
        >>> sorted(door.allowed(state))
        ['lock', 'open']
        >>> door.fire(state, "open", at=pendulum.datetime(2026, 1, 5, 10)).current
        'opened'
    """

    __slots__ = (
        "_allowed",
        "_by_identity",
        "_events",
        "_final",
        "_initial",
        "_name",
        "_states",
        "_table",
        "_transitions",
    )

    def __init__(
        self,
        name: str,
        initial: State,
        transitions: Iterable[Transition],
        final: Iterable[State] = (),
    ) -> None:
        transitions = _definition_items(transitions, "transitions", hashed=False)
        one = isinstance(final, str | enum.Enum)
        final_set = frozenset(_definition_items((final,) if one else final, "final states"))
        problems: list[str] = []
        if not _is_name(name):
            problems.append(f"the name must be a non-empty string, got {name!r}")
        if not _is_state(initial):
            raise LifecycleDefinitionError(
                f"the initial state must be a non-empty string or an Enum member, got {initial!r}"
            )
        states: dict[State, None] = {initial: None}  # an ordered set
        events: dict[str, None] = {}
        table: dict[State, dict[str, Transition]] = {}
        for t in transitions:
            if not isinstance(t, Transition):
                problems.append(f"expected a Transition, got {type(t).__name__}")
                continue
            events.setdefault(t.event, None)
            for source in sorted(t.sources, key=_order):
                states.setdefault(source, None)
                row = table.setdefault(source, {})
                if t.event in row:
                    targets = sorted({_label(row[t.event].target), _label(t.target)})
                    problems.append(
                        f"event {str(t.event)!r} is ambiguous from state {_label(source)!r}: "
                        f"defined more than once (to {', '.join(map(repr, targets))})"
                    )
                else:
                    row[t.event] = t
            states.setdefault(t.target, None)
        targets_reached = {t.target for t in transitions if isinstance(t, Transition)}
        for state in sorted(final_set, key=_order):
            if state not in states:
                problems.append(f"final state {_label(state)!r} is not a state of the lifecycle")
            elif state not in targets_reached:
                problems.append(f"final state {_label(state)!r} is not reached by any transition")
            if state in table:
                events_out = ", ".join(sorted(repr(str(e)) for e in table[state]))
                problems.append(f"final state {_label(state)!r} has transitions out: {events_out}")
        reachable = {initial}
        frontier = [initial]
        while frontier:
            for t in table.get(frontier.pop(), {}).values():
                if t.target not in reachable:
                    reachable.add(t.target)
                    frontier.append(t.target)
        problems.extend(
            f"state {_label(s)!r} is not reachable from the initial state {_label(initial)!r}"
            for s in states
            if s not in reachable
        )
        if problems:
            label = repr(name) if isinstance(name, str) else "lifecycle"
            raise LifecycleDefinitionError(
                f"lifecycle {label} is not valid: " + "; ".join(problems)
            )
        self._name = name
        self._initial = initial
        self._transitions = transitions
        self._final = frozenset(s for s in states if s in final_set)  # states as first given
        self._states = tuple(states)
        self._events = tuple(events)
        self._table = {s: table.get(s, {}) for s in states}
        self._allowed = {s: frozenset(row) for s, row in self._table.items()}
        # Hashing an enum member runs Python code; the members live as long as their
        # class, so their identity finds the row at the cost of a plain dict lookup.
        self._by_identity = {id(s): row for s, row in self._table.items() if type(s) is not str}
        for s in states:  # so that stored members of a plain enum find their class again
            if isinstance(s, enum.Enum) and not isinstance(s, str):
                _ENUMS[_enum_name(type(s))] = type(s)

    @property
    def name(self) -> str:
        """The lifecycle's name."""
        return self._name

    @property
    def initial(self) -> State:
        """The state :meth:`start` begins in."""
        return self._initial

    @property
    def final(self) -> frozenset[State]:
        """The final states: once there, no event is allowed."""
        return self._final

    @property
    def states(self) -> tuple[State, ...]:
        """Every state, in order of first appearance, the initial state first."""
        return self._states

    @property
    def events(self) -> tuple[str, ...]:
        """Every event, in order of first appearance."""
        return self._events

    @property
    def transitions(self) -> tuple[Transition, ...]:
        """The transitions, as given."""
        return self._transitions

    def __repr__(self) -> str:
        return (
            f"Lifecycle({self._name!r}, initial={_label(self._initial)!r}, "
            f"{len(self._states)} states, {len(self._transitions)} transitions)"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Lifecycle):
            return NotImplemented
        return self is other or (
            (self._name, self._initial, self._transitions, self._final)
            == (other._name, other._initial, other._transitions, other._final)
        )

    def __hash__(self) -> int:
        return hash((self._name, self._initial, len(self._transitions)))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the definition: the lookup tables are keyed by object identity,
        # which does not survive a copy or another process.
        return (Lifecycle, (self._name, self._initial, self._transitions, self._final))

    def start(self, at: dt.datetime) -> LifecycleState:
        """A new state in the initial state, entered at ``at``, with an empty history.

        Starting records no change: the history holds only what events did,
        and ``since`` is ``at`` until the first event fires.

        Args:
            at: when it starts; timezone-aware.

        Raises:
            ValidationError: ``at`` is naive or not a datetime (naming ``at``).

        Examples:
            >>> from custservice.lifecycles import CUSTOMER_LIFECYCLE
            >>> state = CUSTOMER_LIFECYCLE.start(pendulum.datetime(2026, 1, 5))
            >>> state.current, len(state.history)
            (<CustomerStage.PROSPECT: 'prospect'>, 0)
        """
        return _state(self._initial, aware(at, "at"), _empty())

    def allowed(self, state: LifecycleState) -> frozenset[str]:
        """The events defined from ``state``'s current state (empty in a final state).

        Guards are not evaluated here: an event with a guard is listed even
        if its guard would refuse it now. :meth:`fire` asks the guard.

        Args:
            state: a state of this lifecycle.

        Raises:
            ValidationError: ``state`` is not a :class:`LifecycleState`, or its
                current state is not a state of this lifecycle (naming ``state``).

        Examples:
            >>> from custservice.lifecycles import CASE_LIFECYCLE
            >>> state = CASE_LIFECYCLE.start(pendulum.datetime(2026, 1, 5))
            >>> sorted(CASE_LIFECYCLE.allowed(state))
            ['open', 'solve']
        """
        if not isinstance(state, LifecycleState):
            raise _not_a_state(state)
        allowed = self._allowed.get(state.current)
        if allowed is None:
            raise self._unknown_state(state.current)
        return allowed

    def fire(
        self,
        state: LifecycleState,
        event: str,
        *,
        at: dt.datetime,
        reason: str | None = None,
    ) -> LifecycleState:
        """The state after ``event`` fires from ``state`` at ``at``; ``state`` is unchanged.

        Cost depends neither on the length of the history nor on whether
        ``state`` is the newest of its line (a kept position, a retry, a
        what-if): the new state shares its past with ``state``.

        Args:
            state: the state to fire from.
            event: the event.
            at: when it fires; timezone-aware, not earlier than ``state.since``.
            reason: why, in words; kept in the :class:`StateChange`.

        Raises:
            InvalidTransition: the event is not allowed from the current state
                (including an event the lifecycle does not know), or its guard
                refused it (then ``reason`` names the guard).
            ValidationError: naming the argument: ``state`` is not a
                :class:`LifecycleState` or stands in no state of this
                lifecycle; ``event`` is not text; ``at`` is naive, not a
                datetime, or earlier than ``state.since``; ``reason`` is blank
                or not text.

        Examples:
            >>> from custservice.lifecycles import CUSTOMER_LIFECYCLE as customer
            >>> state = customer.start(pendulum.datetime(2026, 1, 5))
            >>> state = customer.fire(state, "acquire", at=pendulum.datetime(2026, 1, 6))
            >>> state.current, state.history[-1].event
            (<CustomerStage.NEW: 'new'>, 'acquire')
        """
        # UTC, the common zone, is a pendulum zone: one identity check spares the lookup.
        if type(at) is not _DateTime or (
            (zone := at.tzinfo) is not _UTC and type(zone) not in PENDULUM_ZONES
        ):
            at = aware(at, "at")
            zone = at.tzinfo
        try:
            current = state.current
            since = state.since
            history = state.history
            log = history._log
            n = history._end
        except AttributeError:
            raise _not_a_state(state) from None
        try:
            transition = (self._by_identity.get(id(current)) or self._table[current])[event]
        except (KeyError, TypeError):  # TypeError: an unhashable event is no event of ours
            raise self._refusal(current, event) from None
        if (at < since) if zone is _UTC and since.tzinfo is _UTC else _earlier(at, since):
            raise ValidationError(
                f"earlier than the current state's since ({state.since.isoformat()}); "
                "time never goes backwards in a history",
                field="at",
            )
        if reason is not None:
            optional_text(reason, "reason")
        guard = transition.guard
        if guard is not None and not guard(state, at):
            raise self._refusal(current, event, f"guard {transition.guard_name!r} refused")
        target = transition.target
        entry = (transition.event, current, target, at, reason)
        # Append in place when this state is the newest on its log. Entries below a
        # history's end never change, so views of the log stay valid. Two threads may
        # both see len(log) == n and both append (list.append is atomic): whoever's entry
        # did not land at index n branches, as does a state the log has moved on from.
        # A branch is a new log continuing this one's entries before n: the past is not
        # copied (at most a few entries of this log are, see _persistent.branch).
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
        history = _new(History)
        history._log = log
        history._end = n + 1
        new = _new(LifecycleState)
        _set_current(new, target)
        _set_since(new, at)
        _set_history(new, history)
        return new

    def validate(self, state: LifecycleState) -> LifecycleState:
        """Check that a state (restored from storage, say) fits this definition.

        Every change in its history must be a transition of this lifecycle
        (its event, from its source, to its target), the changes must follow
        on from each other in time order, and the state must stand where
        the history ends. A history may begin anywhere (a record migrated
        mid-way); an empty one may stand in any state. Guards are not asked.

        Args:
            state: the state to check.

        Returns:
            ``state`` itself, so a check can sit inside an expression.

        Raises:
            ValidationError: listing every inconsistency, each with its path
                (``history[3].event``).

        Examples:
            >>> from custservice.lifecycles import CUSTOMER_LIFECYCLE as customer
            >>> at = pendulum.datetime(2026, 1, 5)
            >>> change = StateChange("acquire", "prospect", "new", at)
            >>> restored = LifecycleState("new", at, [change])
            >>> customer.validate(restored) is restored
            True
        """
        if not isinstance(state, LifecycleState):
            raise ValidationError(f"expected a LifecycleState, got {type(state).__name__}")
        problems = Problems()
        if state.current not in self._table:
            problems.add("current", f"{_label(state.current)!r} is not a state of {self._name!r}")
        previous: StateChange | None = None
        for i, change in enumerate(state.history):
            path = f"history[{i}]"
            transition = self._table.get(change.source, {}).get(change.event)
            if transition is None:
                problems.add(
                    f"{path}.event",
                    f"{self._name}: event {str(change.event)!r} is not allowed "
                    f"in state {_label(change.source)!r}",
                )
            elif transition.target != change.target:
                problems.add(
                    f"{path}.target",
                    f"event {str(change.event)!r} leads to {_label(transition.target)!r}, "
                    f"not {_label(change.target)!r}",
                )
            if previous is not None:
                if change.source != previous.target:
                    problems.add(f"{path}.source", "does not follow on from the change before it")
                if micros(change.at) < micros(previous.at):
                    problems.add(f"{path}.at", "earlier than the change before it")
            previous = change
        if previous is not None:
            if previous.target != state.current:
                problems.add("current", "differs from where the history ends")
            if micros(previous.at) != micros(state.since):
                problems.add("since", "differs from the time of the last change")
        problems.raise_if_any()
        return state

    def to_mermaid(self) -> str:
        """The lifecycle as a Mermaid ``stateDiagram-v2``, in a deterministic order.

        Every state is declared first, in state order, as ``state "label" as
        sN``: the aliases are generated (``s0``, ``s1``, ...) and never a
        state's own name, so no name can collide with one or be read as a
        Mermaid keyword. Then ``[*] --> initial``, one line per (source,
        event) in the order the transitions were given (sources in state
        order), labelled with the event (and ``[guard]`` when it has one), and
        ``final --> [*]`` for each final state.

        Labels are a state's text (a plain enum member's name) and the event's
        name. Any character Mermaid could read as syntax (quotes, ``;``,
        ``:``, ``#``, brackets, line breaks, a leading or doubled space...)
        is written as a Mermaid entity code ``#NNN;``, which Mermaid shows as
        the character itself; so does the ``d`` of a "direction", which
        Mermaid would otherwise take for a layout statement.

        Examples:
            >>> door = Lifecycle("door", "closed", [Transition("open", "closed", "opened")])
            >>> print(door.to_mermaid())
            stateDiagram-v2
                state "closed" as s0
                state "opened" as s1
                [*] --> s0
                s0 --> s1: open
        """
        ids = {state: f"s{i}" for i, state in enumerate(self._states)}
        lines = ["stateDiagram-v2"]
        lines.extend(
            f'    state "{_mermaid_text(_label(state))}" as {ids[state]}' for state in self._states
        )
        lines.append(f"    [*] --> {ids[self._initial]}")
        order = {s: i for i, s in enumerate(self._states)}
        for t in self._transitions:
            label = _mermaid_text(str(t.event))
            if t.guard is not None:
                label = f"{label} [{_mermaid_text(str(t.guard_name))}]"
            lines.extend(
                f"    {ids[s]} --> {ids[t.target]}: {label}"
                for s in sorted(t.sources, key=order.__getitem__)
            )
        lines.extend(f"    {ids[s]} --> [*]" for s in self._states if s in self._final)
        return "\n".join(lines)

    def _refusal(
        self, current: State, event: object, reason: str | None = None
    ) -> InvalidTransition | ValidationError:
        try:
            allowed = self._allowed.get(current)
        except TypeError:  # an unhashable current: no state of ours
            allowed = None
        if allowed is None:
            return self._unknown_state(current)
        if not isinstance(event, str):
            return ValidationError(
                f"expected an event name (text), got {type(event).__name__}", field="event"
            )
        return InvalidTransition(
            lifecycle=self._name,
            state=_label(current),
            event=str(event),
            allowed=map(str, allowed),
            reason=reason,
        )

    def _unknown_state(self, current: object) -> ValidationError:
        return ValidationError(
            f"{_label(current)!r} is not a state of lifecycle {self._name!r}", field="state"
        )


def _not_a_state(value: object) -> ValidationError:
    return ValidationError(
        f"expected a LifecycleState (a position in a lifecycle), got {type(value).__name__}",
        field="state",
    )


# Characters a Mermaid label may hold as they are; any other ASCII character, and any
# character that is not printable (line breaks, tabs, unusual spaces), is written as an
# entity code. Printable non-ASCII characters (accents, emoji) stay readable.
_MERMAID_PLAIN = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_ .,!?'()+*/=@$^~|-"
)
# Mermaid reads "direction" with blanks and TB, BT, LR or RL anywhere on a line (across a
# line break too) as a layout statement.
_DIRECTION = re.compile(r"d(?=irection)", re.IGNORECASE)


def _mermaid_text(text: str) -> str:
    """``text`` as a Mermaid label: each character that could be syntax as ``#NNN;``."""
    last = len(text) - 1
    out = []
    for i, char in enumerate(text):
        if char == " ":
            # One space between words stays; a leading, trailing or doubled one would be
            # trimmed or collapsed, so it is kept exactly as an entity.
            plain = 0 < i < last and text[i - 1] != " " and text[i + 1] != " "
        else:
            plain = char in _MERMAID_PLAIN or (not char.isascii() and char.isprintable())
        out.append(char if plain else f"#{ord(char)};")
    return _DIRECTION.sub(lambda m: f"#{ord(m.group())};", "".join(out))


def _state(current: State, since: pendulum.DateTime, history: History) -> LifecycleState:
    """A state built without checks, from values the engine has checked."""
    state = _new(LifecycleState)
    _set_current(state, current)
    _set_since(state, since)
    _set_history(state, history)
    return state
