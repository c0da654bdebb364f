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
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import pendulum

from ._history import (
    NO_CHANGES,
    Entry,
    History,
    StateChange,
    appended,
    empty_history,
    history_entries,
    restore_history,
    to_history,
)
from ._states import State, is_state, remember_enum, state_value
from ._states import label as _label
from ._time import PENDULUM_ZONES, aware, micros
from ._validation import Problems, optional_text
from .errors import InvalidTransition, LifecycleDefinitionError, ValidationError

__all__ = [
    "Guard",
    "History",
    "Lifecycle",
    "LifecycleState",
    "State",
    "StateChange",
    "Transition",
]

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
    history: History = attrs.field(factory=empty_history, converter=to_history)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.run(state_value, self.current, "current")
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


def earlier(at: dt.datetime, since: dt.datetime) -> bool:
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
            if not is_state(s)
        )
        if not is_state(self.target):
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
        if not is_state(initial):
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
                remember_enum(type(s))

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
        return unchecked_state(self._initial, aware(at, "at"), empty_history())

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
        except AttributeError:
            raise _not_a_state(state) from None
        try:
            transition = (self._by_identity.get(id(current)) or self._table[current])[event]
        except (KeyError, TypeError):  # TypeError: an unhashable event is no event of ours
            raise self._refusal(current, event) from None
        if (at < since) if zone is _UTC and since.tzinfo is _UTC else earlier(at, since):
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
        # The new history shares its past with this one, whatever its length.
        new = _new(LifecycleState)
        _set_current(new, target)
        _set_since(new, at)
        _set_history(new, appended(history, entry))
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


def unchecked_state(current: State, since: pendulum.DateTime, history: History) -> LifecycleState:
    """A state built without checks, from values the engine (or a codec) has checked."""
    state = _new(LifecycleState)
    _set_current(state, current)
    _set_since(state, since)
    _set_history(state, history)
    return state


def restore_state(
    current: State, since: pendulum.DateTime, history: Iterable[Entry] = ()
) -> LifecycleState:
    """A state the library wrote and checked before (a stored record's), rebuilt without checks.

    For codecs of the library's own stored form: whatever else they read goes
    through ``LifecycleState`` and :meth:`Lifecycle.validate`.

    Args:
        current: the current state.
        since: when it was entered.
        history: its history's entries, oldest first, as :func:`state_entries` gives them.
    """
    state = _new(LifecycleState)
    _set_current(state, current)
    _set_since(state, since)
    _set_history(state, restore_history(history) if history else NO_CHANGES)
    return state


def state_entries(state: LifecycleState) -> Iterator[Entry]:
    """The entries of ``state``'s history, oldest first: ``(event, source, target, at, reason)``.

    For codecs that write a state out without building a :class:`StateChange` per entry.
    """
    return history_entries(state.history)


# Pickles of histories written before the history had a module of its own name this.
_restored = restore_history
