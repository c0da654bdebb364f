"""Every problem of a value, each with its path from the top.

A path is ``$``, then ``.name`` for a field or a key that is a plain name,
``[3]`` for a position in a list and ``["gold tier"]`` for any other key
(``$.lifecycle.history[1].at``, ``$.ratings.speed``). Each hook raises one
``ValidationError`` whose paths are relative to the value it read; the hook
above puts its own step in front (:func:`join_path`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import Problem, ValidationError

__all__ = [
    "UNREAD",
    "diagnosis",
    "join_path",
    "path_step",
    "problems_of",
    "rule_problems",
    "unexpected_fields",
]


def problems_of(exc: BaseException, path: str) -> list[Problem]:
    """``exc`` as problems, each path put after ``path``.

    Args:
        exc: what reading a value raised: a ``ValidationError`` (its paths
            relative to that value), one of cattrs' exception groups, or any
            other error.
        path: the path of the value that was read.
    """
    from cattrs.errors import (
        ClassValidationError,
        ForbiddenExtraKeysError,
        IterableValidationError,
    )

    if isinstance(exc, ValidationError):
        return [Problem(join_path(path, p.path), p.message) for p in exc.problems]
    if isinstance(exc, RecursionError):
        return [Problem(path, "input nested too deeply")]
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        out = [q for e, note in with_notes for q in problems_of(e, join_path(path, note.name))]
        return out + [q for e in without for q in problems_of(e, path)]
    if isinstance(exc, IterableValidationError):
        indexed, rest = exc.group_exceptions()
        found = [q for e, n in indexed for q in problems_of(e, join_path(path, path_step(n.index)))]
        return found + [q for e in rest for q in problems_of(e, path)]
    if isinstance(exc, BaseExceptionGroup):
        return [q for e in exc.exceptions for q in problems_of(e, path)]
    if isinstance(exc, ForbiddenExtraKeysError):
        return [Problem(path, unexpected_fields(exc.extra_fields))]
    if isinstance(exc, KeyError):
        return [Problem(path, "required field missing")]
    return [Problem(path, f"invalid value ({type(exc).__name__}: {exc})"[:300])]


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEAD = re.compile(r"[^.\[]*")


def join_path(path: str, sub: str) -> str:
    """``sub``, a path relative to ``path``, put after it.

    ``$`` and ``name`` give ``$.name``; ``$.history`` and ``[1].at`` give
    ``$.history[1].at``; an empty ``sub`` is ``path`` itself.
    """
    if not sub:
        return path
    if not path or sub.startswith("["):
        return path + sub
    return f"{path}.{sub}"


def path_step(key: object) -> str:
    """The path step to a mapping's entry (or a list's item): ``speed`` for a key
    that is a plain name, ``["gold tier"]`` for other text (written as JSON
    writes it, so no key can be mistaken for a path), ``[3]`` for a number."""
    if isinstance(key, str):
        return key if _NAME.fullmatch(key) else f"[{json.dumps(key, ensure_ascii=False)}]"
    return f"[{key!r}]"


def unexpected_fields(keys: Iterable[object]) -> str:
    """The message for keys an object should not have."""
    # Keys of any type can come in, not only strings: name them all as text.
    return f"unexpected fields: {', '.join(sorted(map(str, keys)))}"


class _Unread:
    """Stands for a field that could not be read, when a record is built only to
    learn what its rules say about the other fields; no rule accepts it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unread>"


UNREAD: Any = _Unread()
"""The placeholder for a field that could not be read."""


def rule_problems(
    build: Callable[..., object], values: dict[str, Any], failed: set[str]
) -> list[Problem]:
    """What the rules of ``build`` say about the fields that did read.

    When some fields could not be read, a record is not built, but its rules
    may still find problems in the other fields: they are listed now rather
    than after the first ones are fixed. The fields in ``failed`` hold their
    default or a placeholder; what the rules say about those is dropped, as
    their own problems are already listed.

    Args:
        build: the record's class, or whatever builds it from keyword arguments.
        values: the keyword arguments: every field that read, and placeholders.
        failed: the names of the fields that could not be read.
    """
    try:
        build(**values)
    except ValidationError as exc:
        return [p for p in exc.problems if _head(p.path) not in failed]
    except Exception:  # a rule tripped over a placeholder: nothing more to learn
        return []
    return []


def _head(path: str) -> str:
    match = _HEAD.match(path)
    return match.group() if match else path


def diagnosis(
    cls: type,
    data: Mapping[Any, Any],
    error: Any,
    fields: list[tuple[Any, Callable[[Any, Any], Any]]],
) -> ValidationError:
    """Every problem of a record whose generated structuring failed.

    Args:
        cls: the record's class.
        data: the object it was read from.
        error: the ``ClassValidationError`` that cattrs raised, holding each
            failed field's error with a note naming the field.
        fields: each ``attrs`` field that ``__init__`` takes, with the hook that reads it.
    """
    import attrs
    from cattrs.errors import ForbiddenExtraKeysError

    with_notes, without = error.group_exceptions()
    failed = {note.name for _, note in with_notes}
    if not failed and len(without) == 1 and not isinstance(without[0], ForbiddenExtraKeysError):
        refused = without[0]  # every field read, and the class refused them together
        return (
            refused
            if isinstance(refused, ValidationError)
            else ValidationError(problems_of(refused, ""))
        )
    problems: list[Problem] = []
    for exc, note in with_notes:
        if note.name in data:
            problems.extend(problems_of(exc, note.name))
        else:
            problems.append(Problem(note.name, "required field missing"))
    for exc in without:
        problems.extend(problems_of(exc, ""))
    values: dict[str, Any] = {}
    for field, hook in fields:
        if field.name in failed:
            if field.default is attrs.NOTHING:
                values[field.alias] = UNREAD
        elif field.name in data:
            try:
                values[field.alias] = hook(data[field.name], field.type)
            except Exception:  # read well a moment ago; if not now, ask the rules nothing
                return ValidationError(problems)
    return ValidationError(problems + rule_problems(cls, values, failed))
