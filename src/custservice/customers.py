"""Customers: who they are, what they expect, where they stand in their lifecycle."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from ._ids import new_id
from ._records import SENSITIVE, check_identity, replace, text_set
from ._time import Clock, aware, read_clock, timezone
from ._validation import Problems, email, member, optional_text, phone, text
from .enums import Channel, CustomerStage
from .errors import ValidationError
from .expectations import ExpectationBand
from .lifecycle import LifecycleState
from .lifecycles import CUSTOMER_LIFECYCLE

__all__ = ["Customer"]


def _bands(value: object) -> tuple[ExpectationBand, ...]:
    if isinstance(value, ExpectationBand) or not isinstance(value, Iterable):
        raise ValidationError("expected a collection of ExpectationBand", field="expectations")
    bands = tuple(value)
    keys = set()
    for band in bands:
        if not isinstance(band, ExpectationBand):
            raise ValidationError("expected a collection of ExpectationBand", field="expectations")
        if band.key in keys:
            raise ValidationError(
                f"two bands for ({band.factor.value}, {band.metric})", field="expectations"
            )
        keys.add(band.key)
    return bands


def _birthday(value: object) -> pendulum.Date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValidationError("expected a date", field="birthday")
    return pendulum.Date(value.year, value.month, value.day)


_PROFILE = (
    "email",
    "phone",
    "birthday",
    "timezone",
    "segment",
    "likes",
    "dislikes",
    "hobbies",
    "preferred_channel",
    "expectations",
)


@attrs.frozen(repr=False)
class Customer:
    """A customer: identity, profile, own expectations and lifecycle position.

    Build a new one with :meth:`Customer.new`; it starts as a ``PROSPECT``.
    Every change returns a new ``Customer``; nothing is mutated.

    Personal data (``name``, ``email``, ``phone``, ``birthday``) is marked
    sensitive: it never appears in ``repr``/``str`` or in error messages.

    Attributes:
        id: a time-ordered UUID.
        name: the customer's name.
        created_at: when the record was made.
        lifecycle: the position in ``CUSTOMER_LIFECYCLE``.
        email: an email address, if known.
        phone: a phone number, if known.
        birthday: their birthday (a date), to greet them on it.
        timezone: their IANA time zone, to greet them in their own time.
        segment: the segment whose expectations apply to them.
        likes: things they like.
        dislikes: things they dislike.
        hobbies: their hobbies.
        preferred_channel: how they prefer to be reached.
        expectations: their own expectation bands, which win over their
            segment's and the defaults.
        version: 0 until stored; the store counts saves from 1.
    """

    id: uuid.UUID
    name: str = attrs.field(metadata=SENSITIVE)
    created_at: pendulum.DateTime
    lifecycle: LifecycleState
    email: str | None = attrs.field(default=None, kw_only=True, metadata=SENSITIVE)
    phone: str | None = attrs.field(default=None, kw_only=True, metadata=SENSITIVE)
    birthday: pendulum.Date | None = attrs.field(default=None, kw_only=True, metadata=SENSITIVE)
    timezone: str | None = attrs.field(default=None, kw_only=True)
    segment: str | None = attrs.field(default=None, kw_only=True)
    likes: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    dislikes: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    hobbies: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    preferred_channel: Channel | None = attrs.field(default=None, kw_only=True)
    expectations: tuple[ExpectationBand, ...] = attrs.field(default=(), kw_only=True)
    version: int = attrs.field(default=0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        check_identity(problems, self.id, self.version)
        problems.run(text, self.name, "name")
        created_at = problems.run(aware, self.created_at, "created_at")
        if not isinstance(self.lifecycle, LifecycleState):
            problems.add("lifecycle", "expected a LifecycleState")
        elif self.lifecycle.current not in CUSTOMER_LIFECYCLE.states:
            problems.add("lifecycle", "not a state of the customer lifecycle")
        if self.email is not None:
            problems.run(email, self.email)
        if self.phone is not None:
            problems.run(phone, self.phone)
        birthday = problems.run(_birthday, self.birthday)
        if self.timezone is not None:
            problems.run(timezone, self.timezone, "timezone")
        problems.run(optional_text, self.segment, "segment")
        sets = {
            f: problems.run(text_set, getattr(self, f), f) for f in ("likes", "dislikes", "hobbies")
        }
        channel = None
        if self.preferred_channel is not None:
            channel = problems.run(member, Channel, self.preferred_channel, "preferred_channel")
        bands = problems.run(_bands, self.expectations)
        problems.raise_if_any()
        object.__setattr__(self, "created_at", created_at)
        object.__setattr__(self, "birthday", birthday)
        object.__setattr__(self, "preferred_channel", channel)
        object.__setattr__(self, "expectations", bands)
        for field, value in sets.items():
            object.__setattr__(self, field, value)

    @classmethod
    def new(
        cls,
        name: str,
        *,
        clock: Clock,
        id: uuid.UUID | None = None,
        rng: random.Random | None = None,
        **profile: Any,
    ) -> Customer:
        """A new customer, starting as a ``PROSPECT`` at ``clock.now()``.

        Args:
            name: the customer's name.
            clock: where the time comes from.
            id: an id to use; a new time-ordered one by default.
            rng: a seeded generator, for reproducible ids.
            **profile: any of ``email``, ``phone``, ``birthday``, ``timezone``,
                ``segment``, ``likes``, ``dislikes``, ``hobbies``,
                ``preferred_channel``, ``expectations``.

        Raises:
            ValidationError: a field is invalid (every problem is listed),
                ``profile`` names an unknown field, or ``clock`` is not a
                :class:`Clock` showing an aware datetime.

        Examples:
            >>> clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
            >>> ada = Customer.new(
            ...     "Ada", clock=clock, email="ada@example.com", hobbies={"chess"}
            ... )
            >>> ada.stage, ada.version
            (<CustomerStage.PROSPECT: 'prospect'>, 0)
        """
        unknown = set(profile) - set(_PROFILE)
        if unknown:
            raise ValidationError(
                f"unknown profile fields: {', '.join(sorted(unknown))}", field="profile"
            )
        at = read_clock(clock)
        return cls(
            id if id is not None else new_id(at, rng),
            name,
            at,
            CUSTOMER_LIFECYCLE.start(at),
            **profile,
        )

    @property
    def stage(self) -> CustomerStage:
        """Where the customer stands in the customer lifecycle."""
        return CustomerStage(str(self.lifecycle.current))

    def advance(self, event: str, *, at: pendulum.DateTime, reason: str | None = None) -> Customer:
        """The customer after a lifecycle event (``"acquire"``, ``"churn"``, ...).

        Raises:
            InvalidTransition: the event is not allowed from the current stage.
            ValidationError: ``at`` is naive or earlier than the current stage began.

        Examples:
            >>> clock = FixedClock(pendulum.datetime(2026, 1, 5, 9))
            >>> ada = Customer.new("Ada", clock=clock)
            >>> ada.advance("acquire", at=clock.now()).stage
            <CustomerStage.NEW: 'new'>
        """
        state = CUSTOMER_LIFECYCLE.fire(self.lifecycle, event, at=at, reason=reason)
        return replace(self, lifecycle=state)

    def with_profile(self, **changes: Any) -> Customer:
        """The customer with profile fields changed (``name`` too); validated.

        Raises:
            ValidationError: a changed field is invalid or unknown.
        """
        unknown = set(changes) - {*_PROFILE, "name"}
        if unknown:
            raise ValidationError(
                f"unknown profile fields: {', '.join(sorted(unknown))}", field="profile"
            )
        return attrs.evolve(self, **changes)

    def __repr__(self) -> str:
        return (
            f"Customer(id={self.id}, stage={self.stage.value!r}, "
            f"segment={self.segment!r}, version={self.version})"
        )
