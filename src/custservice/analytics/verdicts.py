"""How many outcomes left customers dissatisfied, satisfied or delighted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from .._validation import integer
from ..enums import Verdict
from ..errors import ValidationError

__all__ = ["VerdictCounts"]

_ORDER = (Verdict.DISSATISFIED, Verdict.SATISFIED, Verdict.DELIGHTED)


def _count(value: object, field: str) -> int:
    n = integer(value, field)
    if n < 0:
        raise ValidationError("must not be negative", field=field)
    return n


@attrs.frozen
class VerdictCounts:
    """A verdict distribution: how many outcomes fell in each of the three verdicts.

    Args:
        dissatisfied: outcomes below what the customer would accept.
        satisfied: outcomes that met, or slightly exceeded, the expectation.
        delighted: exceptional outcomes.

    Raises:
        ValidationError: a count is not a whole number of at least zero.

    Examples:
        >>> from custservice.analytics import VerdictCounts
        >>> counts = VerdictCounts.of(
        ...     [Verdict.DELIGHTED, Verdict.SATISFIED, Verdict.DELIGHTED]
        ... )
        >>> counts.total, counts.percent(Verdict.DELIGHTED)
        (3, 66.66666666666667)
    """

    dissatisfied: int = 0
    satisfied: int = 0
    delighted: int = 0

    def __attrs_post_init__(self) -> None:
        for field in ("dissatisfied", "satisfied", "delighted"):
            _count(getattr(self, field), field)

    @classmethod
    def of(cls, verdicts: Iterable[Verdict] | Mapping[Verdict, int]) -> VerdictCounts:
        """Count verdicts: an iterable of them, or a mapping of verdict to count.

        Raises:
            ValidationError: an item is not a :class:`~custservice.Verdict`.
        """
        counts = [0, 0, 0]
        if isinstance(verdicts, Mapping):
            for verdict, n in verdicts.items():
                if not isinstance(verdict, Verdict):
                    raise ValidationError("keys must be verdicts", field="verdicts")
                counts[verdict.rank] += _count(n, f"verdicts.{verdict.value}")
        else:
            for i, verdict in enumerate(verdicts):
                if not isinstance(verdict, Verdict):
                    raise ValidationError("expected a Verdict", field=f"verdicts[{i}]")
                counts[verdict.rank] += 1
        return cls(*counts)

    @property
    def total(self) -> int:
        """How many outcomes were counted."""
        return self.dissatisfied + self.satisfied + self.delighted

    def count(self, verdict: Verdict) -> int:
        """How many outcomes had ``verdict``."""
        return (self.dissatisfied, self.satisfied, self.delighted)[verdict.rank]

    def percent(self, verdict: Verdict) -> float | None:
        """The share of outcomes with ``verdict``, in ``[0, 100]``; ``None`` when there are none."""
        total = self.total
        return None if total == 0 else 100.0 * self.count(verdict) / total

    def items(self) -> tuple[tuple[Verdict, int], ...]:
        """``(verdict, count)`` pairs, worst first."""
        return tuple((v, self.count(v)) for v in _ORDER)

    def mean_rank(self) -> float | None:
        """The average verdict on 0 (dissatisfied) to 2 (delighted); ``None`` when empty."""
        total = self.total
        return None if total == 0 else (self.satisfied + 2 * self.delighted) / total

    def __add__(self, other: VerdictCounts) -> VerdictCounts:
        if not isinstance(other, VerdictCounts):
            return NotImplemented
        return VerdictCounts(
            self.dissatisfied + other.dissatisfied,
            self.satisfied + other.satisfied,
            self.delighted + other.delighted,
        )
