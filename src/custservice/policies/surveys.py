"""Survey policies: which resolved interactions the customer is asked about, and when.

A :class:`SurveyPolicy` turns the follow-up planner's feedback requests
(:func:`~custservice.analytics.plan_follow_ups`) from "after every resolved
contact" into rules, as desks ask for them:

- **About interactions.** A survey asks about one interaction, where the
  customer's answer is recorded (:meth:`~custservice.Interaction.record_feedback`).
  A case's contacts are its interactions.
- **A delay.** The request falls due ``delay`` after the interaction was
  resolved (exact elapsed time). An interaction's resolution is final, so it
  is still resolved then; the request is not made when the customer gave
  feedback by then, unasked.
- **A sample.** Only a share, ``sample_rate``, of interactions is surveyed,
  chosen by a hash of ``seed`` and the interaction's id
  (:meth:`SurveyPolicy.samples`): the same seed always chooses the same
  interactions, in any process, and no random generator is read.
- **Suppression.** ``skip_if`` is a condition on the interaction (its
  channel, team, agent as ``assignee``, tags and custom attributes, and its
  customer's fields: see :meth:`~custservice.Condition.matches`); an
  interaction it matches is never surveyed (tag auto-resolved contacts,
  those an agent opened, or set a channel apart).
- **A minimum interval per customer.** Of the requests the policy would
  make to one customer, one is made only when no other fell due in the
  ``min_interval`` before it (on a tie, the interaction with the smaller id
  goes first). So two requests to one customer are never closer than
  ``min_interval``: of a spell of contacts closer together than that, only
  the first is surveyed, and the next one after ``min_interval`` without
  any. The rule looks back ``min_interval`` only and reads no record of
  what was sent: planning any window gives the same requests, and its cost
  does not grow with a customer's history.
- **One reminder, and an expiry.** ``remind_after`` the request, if the
  customer has given no feedback by then, one reminder falls due; a request
  expires ``expire_after`` after it was made, and no reminder comes after
  that (``remind_after`` must be shorter).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import attrs
import pendulum

from .._time import duration
from .._validation import Problems, integer, number
from ..errors import ValidationError
from .conditions import Condition

__all__ = ["SurveyPolicy"]

_SCALE = 2**64


def _delay(value: object, field: str, positive: bool = False) -> pendulum.Duration:
    d = duration(value, field)
    if d.years or d.months or d < dt.timedelta(0) or (positive and not d):
        kind = "positive" if positive else "non-negative"
        raise ValidationError(f"must be a {kind} duration of fixed length", field=field)
    return d


def _rate(value: object) -> float:
    rate = float(number(value, "sample_rate"))
    if not 0.0 <= rate <= 1.0:
        raise ValidationError("must be between 0 and 1", field="sample_rate")
    return rate


@attrs.frozen
class SurveyPolicy:
    """When the planner asks a customer for feedback about a resolved interaction.

    See the module documentation for each rule.

    Args:
        delay: how long after the resolution the request falls due (1 day).
        min_interval: the least time between two requests to one customer
            (none by default).
        sample_rate: the share of interactions surveyed, from 0 to 1 (all).
        skip_if: the interactions never surveyed; ``None`` for none.
        remind_after: how long after the request one reminder falls due, if
            no feedback came; ``None`` for no reminder.
        expire_after: how long after it is made a request expires; ``None``
            for never. A reminder must fall before it.
        seed: chooses the sample; the same seed, the same interactions.

    Raises:
        ValidationError: naming every bad field.

    Examples:
        >>> policy = SurveyPolicy(
        ...     delay=pendulum.duration(hours=4),
        ...     min_interval=pendulum.duration(days=30),
        ...     sample_rate=0.25,
        ...     skip_if=Condition.where("tags", "contains", "auto-resolved"),
        ...     remind_after=pendulum.duration(days=2),
        ...     expire_after=pendulum.duration(days=7),
        ... )
        >>> policy.remind_after.in_days()
        2
    """

    delay: pendulum.Duration = attrs.field(factory=lambda: pendulum.duration(days=1), kw_only=True)
    min_interval: pendulum.Duration = attrs.field(factory=pendulum.duration, kw_only=True)
    sample_rate: float = attrs.field(default=1.0, kw_only=True)
    skip_if: Condition | None = attrs.field(default=None, kw_only=True)
    remind_after: pendulum.Duration | None = attrs.field(default=None, kw_only=True)
    expire_after: pendulum.Duration | None = attrs.field(default=None, kw_only=True)
    seed: int = attrs.field(default=0, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        delay = problems.run(_delay, self.delay, "delay")
        interval = problems.run(_delay, self.min_interval, "min_interval")
        rate = problems.run(_rate, self.sample_rate)
        if self.skip_if is not None and not isinstance(self.skip_if, Condition):
            problems.add("skip_if", "expected a Condition or None")
        remind = expire = None
        if self.remind_after is not None:
            remind = problems.run(_delay, self.remind_after, "remind_after", True)
        if self.expire_after is not None:
            expire = problems.run(_delay, self.expire_after, "expire_after", True)
        if remind is not None and expire is not None and remind >= expire:
            problems.add("remind_after", "must be shorter than expire_after")
        problems.run(integer, self.seed, "seed")
        problems.raise_if_any()
        object.__setattr__(self, "delay", delay)
        object.__setattr__(self, "min_interval", interval)
        object.__setattr__(self, "sample_rate", rate)
        object.__setattr__(self, "remind_after", remind)
        object.__setattr__(self, "expire_after", expire)

    def samples(self, interaction_id: uuid.UUID) -> bool:
        """Whether the interaction of this id is in the sample (by a hash of the seed and
        the id: the same answer in any process).

        Examples:
            >>> import uuid
            >>> policy = SurveyPolicy(sample_rate=0.5, seed=3)
            >>> chosen = sum(policy.samples(uuid.UUID(int=n)) for n in range(1000))
            >>> 450 < chosen < 550
            True
        """
        if not isinstance(interaction_id, uuid.UUID):
            raise ValidationError("expected a UUID", field="interaction_id")
        digest = hashlib.blake2b(f"{self.seed}/{interaction_id}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") < self.sample_rate * _SCALE
