"""What a customer said about one delivery: a score, and optionally a score per factor."""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import pendulum

from ._mapping import own
from ._time import aware
from ._validation import Problems, member, optional_text
from .enums import Factor, Verdict
from .expectations import ScoreScale

__all__ = ["Feedback"]


def _ratings(value: object) -> Mapping[Factor, int]:
    # Read-only (and picklable), keyed by Factor in Factor order, so equal
    # feedback reads the same. Keys that are not factors are kept for
    # __attrs_post_init__ to report together with every other problem.
    if not isinstance(value, Mapping):
        return value  # type: ignore[return-value]
    known = {f.value: f for f in Factor}
    items = {known.get(k, k) if isinstance(k, str) else k: v for k, v in value.items()}
    ordered = {f: items.pop(f) for f in Factor if f in items}
    return own({**ordered, **items})


@attrs.frozen
class Feedback:
    """A customer's score for one delivery, on any :class:`ScoreScale`.

    Args:
        score: the overall score, on ``scale``.
        scale: the survey scale the scores are on (``SATISFACTION_10``, ``NPS_SCALE``, ...).
        at: when the customer gave it (timezone-aware).
        comment: what they wrote, if anything.
        ratings: optional scores per :class:`Factor`, on the same scale; kept
            read-only (and picklable, like the whole value).

    Raises:
        ValidationError: a score off its scale, a naive ``at``, an unknown
            factor, or an empty comment; every problem is listed.

    Examples:
        >>> fb = Feedback(9, SATISFACTION_10, at=pendulum.datetime(2026, 3, 2, 10),
        ...               ratings={Factor.SPEED: 6})
        >>> fb.verdict, fb.factor_verdicts[Factor.SPEED]
        (<Verdict.DELIGHTED: 'delighted'>, <Verdict.SATISFIED: 'satisfied'>)
    """

    score: int
    scale: ScoreScale
    at: pendulum.DateTime = attrs.field(kw_only=True)
    comment: str | None = attrs.field(default=None, kw_only=True)
    ratings: Mapping[Factor, int] = attrs.field(
        factory=dict, kw_only=True, hash=False, converter=_ratings
    )

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        if not isinstance(self.ratings, Mapping):
            problems.add("ratings", "expected a mapping of Factor to score")
            object.__setattr__(self, "ratings", own({}))
        for key in self.ratings:
            if not isinstance(key, Factor):
                problems.run(member, Factor, key, f"ratings.{key}")
        if not isinstance(self.scale, ScoreScale):
            problems.add("scale", "expected a ScoreScale")
        else:
            problems.run(self.scale.check, self.score, "score")
            for factor, rating in self.ratings.items():
                problems.run(self.scale.check, rating, f"ratings.{factor}")
        at = problems.run(aware, self.at, "at")
        problems.run(optional_text, self.comment, "comment")
        problems.raise_if_any()
        object.__setattr__(self, "at", at)

    @property
    def verdict(self) -> Verdict:
        """The overall score judged on the scale."""
        return self.scale.classify(self.score)

    @property
    def factor_verdicts(self) -> Mapping[Factor, Verdict]:
        """Each rated factor's score judged on the scale."""
        return {factor: self.scale.classify(s) for factor, s in self.ratings.items()}
