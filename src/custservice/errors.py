"""The exceptions ``custservice`` raises.

Every error the library raises is a :class:`CustServiceError`, so an
application can catch them all by one type, or each kind on its own::

    CustServiceError
     ├── ValidationError            bad input; lists every problem with its path
     ├── InvalidTransition          an event not allowed from the current state
     ├── LifecycleDefinitionError   a lifecycle definition that cannot work
     ├── NotFound                   no record with that id
     ├── DuplicateError             a record with that id already exists
     ├── ConcurrencyError           a save from a stale version
     ├── BackendNotFound            no storage backend for a URL scheme
     └── StorageError               the storage failed; nothing half-written

Messages never contain personal data (email, phone, birthday): they name
the field that was wrong, not its value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import attrs

__all__ = [
    "BackendNotFound",
    "ConcurrencyError",
    "CustServiceError",
    "DuplicateError",
    "InvalidTransition",
    "LifecycleDefinitionError",
    "NotFound",
    "Problem",
    "StorageError",
    "ValidationError",
]


class CustServiceError(Exception):
    """Base class of every error raised by ``custservice``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default calls __init__ again with the message alone, which most subclasses
        # refuse: an error raised in a worker process could then not reach its caller.
        return (_restore, (type(self), self.args, self.__dict__))


E = TypeVar("E", bound=CustServiceError)


def _restore(cls: type[E], args: tuple[object, ...], state: dict[str, Any]) -> E:
    """An error rebuilt from its ``args`` and attributes, without running ``__init__``."""
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


@attrs.frozen
class Problem:
    """One thing wrong with some input.

    Attributes:
        path: where the problem is, as a dotted path from the object checked
            (``"email"``, ``"ratings.speed"``, ``"$.handoffs[0].at"``);
            empty when the problem is with the whole value.
        message: what is wrong, as a sentence fragment.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ValidationError(CustServiceError, ValueError):
    """Input that breaks a rule of the domain.

    It lists every problem found, each with its path, so a form or an import
    job can report them all at once. It is also a :class:`ValueError`.

    Attributes:
        problems: every problem found, in the order found.
        field: the path of the first problem (the field that was wrong).
    """

    problems: tuple[Problem, ...]

    def __init__(self, problems: Problem | str | Iterable[Problem], *, field: str = "") -> None:
        if isinstance(problems, str):
            problems = (Problem(field, problems),)
        elif isinstance(problems, Problem):
            problems = (problems,)
        self.problems = tuple(problems) or (Problem(field, "invalid value"),)
        super().__init__(self._message())

    @property
    def field(self) -> str:
        """The path of the first problem."""
        return self.problems[0].path

    def _message(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"{len(self.problems)} problems:\n{lines}"

    def within(self, prefix: str) -> ValidationError:
        """The same problems, with ``prefix`` put in front of every path."""
        return ValidationError(
            Problem(f"{prefix}.{p.path}" if p.path else prefix, p.message) for p in self.problems
        )


class InvalidTransition(CustServiceError):
    """An event that is not allowed from the current state.

    Attributes:
        lifecycle: the lifecycle's name.
        state: the current state.
        event: the event that was refused.
        allowed: the events that are allowed from ``state``.
        reason: why it was refused, when a guard refused it.
    """

    def __init__(
        self,
        *,
        lifecycle: str,
        state: str,
        event: str,
        allowed: Iterable[str],
        reason: str | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self.state = state
        self.event = event
        self.allowed = frozenset(allowed)
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        if self.reason is not None:
            return (
                f"{self.lifecycle}: event {self.event!r} refused in state {self.state!r}: "
                f"{self.reason}"
            )
        if self.allowed:
            options = ", ".join(repr(e) for e in sorted(self.allowed))
            then = f"allowed events are {options}"
        else:
            then = "it is a final state: no event is allowed"
        return (
            f"{self.lifecycle}: event {self.event!r} is not allowed in state {self.state!r}; {then}"
        )


class LifecycleDefinitionError(CustServiceError):
    """A lifecycle definition that cannot work (unknown or unreachable states,
    an ambiguous event, ...). Raised when the definition is built."""


class NotFound(CustServiceError, LookupError):
    """No stored record has that id.

    Attributes:
        kind: what was looked for (``"customer"``, ``"case"``, ...).
        id: the id that was asked for.
    """

    def __init__(self, kind: str, id: object) -> None:
        self.kind = kind
        self.id = id
        super().__init__(f"no {kind} with id {id}")


class DuplicateError(CustServiceError):
    """A record with this id is already stored."""

    def __init__(self, kind: str, id: object) -> None:
        self.kind = kind
        self.id = id
        super().__init__(f"a {kind} with id {id} is already stored")


class ConcurrencyError(CustServiceError):
    """A save made from a stale version: someone else saved first.

    Attributes:
        kind: the kind of record.
        id: its id.
        expected: the version the caller had.
        actual: the version stored, or ``None`` if the record is gone.
    """

    def __init__(self, kind: str, id: object, expected: int, actual: int | None) -> None:
        self.kind = kind
        self.id = id
        self.expected = expected
        self.actual = actual
        stored = "it is no longer stored" if actual is None else f"version {actual} is stored"
        super().__init__(
            f"cannot save {kind} {id} from version {expected}: {stored}; "
            "read it again and reapply the change"
        )


class BackendNotFound(CustServiceError, LookupError):
    """No storage backend is registered for a URL scheme.

    Attributes:
        scheme: the scheme asked for.
        known: the schemes that are available.
    """

    def __init__(self, scheme: str, known: Iterable[str], detail: str = "") -> None:
        self.scheme = scheme
        self.known = tuple(sorted(known))
        listing = ", ".join(self.known) or "none"
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"no storage backend for scheme {scheme!r}{extra}; available schemes: {listing}"
        )


class StorageError(CustServiceError):
    """The storage failed (a lost connection, a corrupt or foreign file, a
    schema from a newer version). The operation changed nothing."""
