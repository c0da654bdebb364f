"""What a lifecycle state is: text, or a member of any ``Enum``.

A state is kept as given. Messages and diagrams name it by its text (a
str-valued member's value), or a plain enum member by its name. Members of
plain enums used as states are remembered by their class's qualified name,
so that a stored member can be found again without importing anything on
the stored data's say-so.
"""

from __future__ import annotations

import enum
import sys
import weakref
from typing import TypeAlias

from ._validation import text
from .errors import ValidationError

__all__ = ["State", "enum_name", "is_state", "known_enum", "label", "remember_enum", "state_value"]

State: TypeAlias = str | enum.Enum
"""A state of a lifecycle: a string, or a member of any ``Enum`` (plain or str-valued)."""


def label(state: object) -> str:
    """How messages and diagrams name a state: its text, or a plain enum member's name."""
    if type(state) is str:
        return state
    if isinstance(state, str):
        return str.__str__(state)  # a str-valued member's value, not ``Class.NAME``
    if isinstance(state, enum.Enum):
        return state.name
    return repr(state)


def is_state(value: object) -> bool:
    """Whether ``value`` can be a state: non-blank text or an ``Enum`` member."""
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, enum.Enum)


def state_value(value: object, field: str) -> State:
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


def enum_name(cls: type[enum.Enum]) -> str:
    """An enum class's qualified name, ``module.Qualified.Name``: how stored states name it."""
    return f"{cls.__module__}.{cls.__qualname__}"


def remember_enum(cls: type[enum.Enum]) -> None:
    """Remember a plain enum whose members are states of a lifecycle being built."""
    _ENUMS[enum_name(cls)] = cls


def known_enum(name: str) -> type[enum.Enum] | None:
    """The enum class called ``name`` (as :func:`enum_name` writes it), if known.

    It is looked up in the enums of the lifecycles built so far, then in
    modules already imported; nothing is imported.
    """
    return _ENUMS.get(name) or _imported_enum(name)


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
