"""Expectations, and how an outcome is judged against them.

A customer's expectation of one measurable thing is a *zone of tolerance*:
an ``adequate`` level they will accept and a ``desired`` level they hope
for. Measured against it, an outcome leaves them dissatisfied, satisfied or
delighted. Expectations differ from customer to customer, so they resolve
from the most specific source: the customer's own, then their segment's,
then the defaults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Literal, TypeAlias

import attrs

from ._validation import Problems, collection, integer, member, number
from .enums import Factor, Metric, Verdict
from .errors import ValidationError

__all__ = [
    "BINARY",
    "CES_7",
    "CSAT_5",
    "NPS_SCALE",
    "SATISFACTION_10",
    "ExpectationBand",
    "Expectations",
    "ScoreScale",
    "csat",
    "metric_key",
    "nps",
]

Level: TypeAlias = int | float | dt.timedelta
"""A level of a band: a number, or a duration (``pendulum.Duration`` or ``timedelta``)."""

Better: TypeAlias = Literal["lower", "higher"]

_D, _S, _G = Verdict.DISSATISFIED, Verdict.SATISFIED, Verdict.DELIGHTED


def metric_key(value: object, field: str = "metric") -> Metric | str:
    """A metric name: a :class:`Metric` member, or any non-empty string naming what is measured.

    Strings that name a :class:`Metric` become that member, so ``"resolution"``
    and ``Metric.RESOLUTION`` are the same key.
    """
    if isinstance(value, Metric):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("expected a Metric or a non-empty name", field=field)
    try:
        return Metric(value)
    except ValueError:
        return value


def _level(value: object, field: str) -> Level:
    if isinstance(value, dt.timedelta):
        return value
    return number(value, field)


@attrs.frozen(repr=False)
class ExpectationBand:
    """A customer's zone of tolerance for one measurable thing.

    Args:
        factor: the service factor this expectation belongs to.
        metric: what is measured: a :class:`Metric` or a name such as
            ``"handoffs"`` or ``"rating"``.
        adequate: the level the customer will accept: a finite real number
            (kept as an ``int`` or ``float``; a ``bool`` is refused) or a
            duration.
        desired: the level the customer hopes for, of the same kind.
        better: ``"lower"`` when less is better (times, handoffs),
            ``"higher"`` when more is better (scores).

    Raises:
        ValidationError: ``desired`` is worse than ``adequate``, the two are
            of different kinds (a number and a duration), or a level is not a
            finite number or a duration.

    Examples:
        >>> band = ExpectationBand(
        ...     Factor.SPEED, "handoffs", adequate=2, desired=0, better="lower"
        ... )
        >>> band.classify(1)
        <Verdict.SATISFIED: 'satisfied'>
    """

    factor: Factor
    metric: Metric | str
    adequate: Level
    desired: Level
    better: Better = "lower"
    _lower: bool = attrs.field(init=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        factor = problems.run(member, Factor, self.factor, "factor")
        metric = problems.run(metric_key, self.metric, "metric")
        adequate = problems.run(_level, self.adequate, "adequate")
        desired = problems.run(_level, self.desired, "desired")
        if self.better not in ("lower", "higher"):
            problems.add("better", "must be 'lower' or 'higher'")
        problems.raise_if_any()
        if isinstance(adequate, dt.timedelta) != isinstance(desired, dt.timedelta):
            raise ValidationError(
                "adequate and desired must both be numbers or both durations", field="desired"
            )
        lower = self.better == "lower"
        if (desired > adequate) if lower else (desired < adequate):  # type: ignore[operator]
            raise ValidationError(
                f"desired level is worse than adequate (better is {self.better!r})",
                field="desired",
            )
        object.__setattr__(self, "factor", factor)
        object.__setattr__(self, "metric", metric)
        object.__setattr__(self, "adequate", adequate)  # numbers of any kind as int or float
        object.__setattr__(self, "desired", desired)
        object.__setattr__(self, "_lower", lower)

    @property
    def key(self) -> tuple[Factor, Metric | str]:
        """``(factor, metric)``: what this band is about."""
        return (self.factor, self.metric)

    def classify(self, observed: Level) -> Verdict:
        """Judge one observed value against the band.

        At or better than ``desired`` is ``DELIGHTED``; at or better than
        ``adequate`` is ``SATISFIED``; worse is ``DISSATISFIED``.

        A numeric band takes any finite real number: ``int``, ``float``,
        ``fractions.Fraction``, ``decimal.Decimal``, ``numpy.float64`` or any
        other ``numbers.Real``; a non-integer is compared as its nearest
        ``float``, an integer exactly. A ``bool`` is not a measurement and is
        refused.

        Args:
            observed: the value measured: a number for a numeric band, a
                duration for a duration band.

        Raises:
            ValidationError: ``observed`` is not of the band's kind, is NaN or
                infinite, or is a non-integer beyond the range of a float.
        """
        # The type check is one isinstance against the kind of the levels; it
        # keeps a duration from being compared with a number by accident.
        if isinstance(self.desired, dt.timedelta):
            if not isinstance(observed, dt.timedelta):
                raise ValidationError("expected a duration", field="observed")
        elif (type(observed) is not float and type(observed) is not int) or observed - observed:
            # observed - observed is 0 for a finite int or float, NaN (true) for NaN and the
            # infinities: they, and every other kind of number, take the full check
            observed = number(observed, "observed")
        if self._lower:
            if observed <= self.desired:  # type: ignore[operator]
                return _G
            return _S if observed <= self.adequate else _D  # type: ignore[operator]
        if observed >= self.desired:  # type: ignore[operator]
            return _G
        return _S if observed >= self.adequate else _D  # type: ignore[operator]

    def __repr__(self) -> str:
        return (
            f"ExpectationBand({self.factor.value!r}, {str(self.metric)!r}, "
            f"adequate={self.adequate!r}, desired={self.desired!r}, better={self.better!r})"
        )


@attrs.frozen
class ScoreScale:
    """A bounded integer survey scale that classifies a score like a band.

    A score at or above ``desired`` is ``DELIGHTED``, at or above ``adequate``
    is ``SATISFIED``, below is ``DISSATISFIED``.

    Args:
        low: the lowest score on the scale.
        high: the highest score on the scale.
        adequate: the lowest satisfied score.
        desired: the lowest delighted score.
        name: a short name for reports (``"nps"``).

    Raises:
        ValidationError: the levels are not whole numbers with
            ``low <= adequate <= desired <= high`` and ``low < high``.

    Examples:
        >>> SATISFACTION_10.classify(9)
        <Verdict.DELIGHTED: 'delighted'>
    """

    low: int
    high: int
    adequate: int = attrs.field(kw_only=True)
    desired: int = attrs.field(kw_only=True)
    name: str | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        for field in ("low", "high", "adequate", "desired"):
            problems.run(integer, getattr(self, field), field)
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            problems.add("name", "must be a non-empty string or None")
        problems.raise_if_any()
        if not self.low < self.high:
            raise ValidationError("low must be below high", field="high")
        if not self.low <= self.adequate <= self.desired <= self.high:
            raise ValidationError(
                "levels must satisfy low <= adequate <= desired <= high", field="desired"
            )

    def check(self, score: object, field: str = "score") -> int:
        """``score`` if it is a whole number on the scale, else a ``ValidationError``."""
        if type(score) is not int or not self.low <= score <= self.high:
            integer(score, field)
            raise ValidationError(f"must be between {self.low} and {self.high}", field=field)
        return score

    def classify(self, score: int) -> Verdict:
        """The verdict for one score.

        Raises:
            ValidationError: the score is not a whole number in ``[low, high]``.
        """
        if type(score) is not int or not self.low <= score <= self.high:
            self.check(score)
        if score >= self.desired:
            return _G
        return _S if score >= self.adequate else _D

    def __contains__(self, score: object) -> bool:
        return type(score) is int and self.low <= score <= self.high

    @property
    def scores(self) -> range:
        """Every score on the scale, lowest first."""
        return range(self.low, self.high + 1)


SATISFACTION_10 = ScoreScale(1, 10, adequate=6, desired=9, name="satisfaction_10")
"""The 1–10 score after every delivery: below 6 dissatisfied (at risk of
leaving), 6–8 satisfied (likely to come back), 9–10 delighted (an ambassador)."""

CSAT_5 = ScoreScale(1, 5, adequate=4, desired=5, name="csat_5")
"""Customer satisfaction on 1–5: 4 and 5 count as satisfied."""

NPS_SCALE = ScoreScale(0, 10, adequate=7, desired=9, name="nps")
""""How likely are you to recommend us?" on 0–10: detractors (0–6) are
dissatisfied, passives (7–8) satisfied, promoters (9–10) delighted."""

CES_7 = ScoreScale(1, 7, adequate=5, desired=7, name="ces_7")
"""Customer effort: "the company made it easy for me", 1–7."""

BINARY = ScoreScale(0, 1, adequate=1, desired=1, name="binary")
"""Thumbs down (0) or up (1); up counts as delighted."""


def _bands(
    value: Iterable[ExpectationBand] | Mapping[object, ExpectationBand],
    field: str = "defaults",
) -> Mapping[tuple[Factor, Metric | str], ExpectationBand]:
    items = value.values() if isinstance(value, Mapping) else value
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise ValidationError(
            f"expected a collection of ExpectationBand, got {type(value).__name__}", field=field
        )
    out: dict[tuple[Factor, Metric | str], ExpectationBand] = {}
    for band in items:
        if not isinstance(band, ExpectationBand):
            raise ValidationError(
                f"expected an ExpectationBand, got {type(band).__name__}", field=field
            )
        if band.key in out:
            raise ValidationError(
                f"two bands for ({band.factor.value}, {band.metric})", field=field
            )
        out[band.key] = band
    return out


def _segments(
    value: Mapping[str, Iterable[ExpectationBand]],
) -> Mapping[str, Mapping[tuple[Factor, Metric | str], ExpectationBand]]:
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"expected a mapping of segment name to bands, got {type(value).__name__}",
            field="segments",
        )
    out = {}
    for segment, bands in value.items():
        if not isinstance(segment, str) or not segment:
            raise ValidationError("segment names must be non-empty strings", field="segments")
        out[segment] = _bands(bands, f"segments.{segment}")
    return out


@attrs.frozen
class Expectations:
    """Expectation bands keyed by ``(factor, metric)``, with per-segment overrides.

    Resolution is most specific first: the customer's own bands, then the
    bands of the customer's segment, then the defaults.

    Args:
        defaults: the bands that apply to every customer.
        segments: for each segment name, the bands that override the defaults.

    Examples:
        >>> default = ExpectationBand(Factor.SPEED, "handoffs", adequate=2, desired=0)
        >>> strict = ExpectationBand(Factor.SPEED, "handoffs", adequate=0, desired=0)
        >>> expectations = Expectations(defaults=[default], segments={"vip": [strict]})
        >>> expectations.classify(Factor.SPEED, "handoffs", 1, segment="vip")
        <Verdict.DISSATISFIED: 'dissatisfied'>
    """

    defaults: Mapping[tuple[Factor, Metric | str], ExpectationBand] = attrs.field(
        factory=dict, converter=_bands
    )
    segments: Mapping[str, Mapping[tuple[Factor, Metric | str], ExpectationBand]] = attrs.field(
        factory=dict, converter=_segments
    )

    def band(
        self,
        factor: Factor,
        metric: Metric | str,
        *,
        segment: str | None = None,
        own: Iterable[ExpectationBand] = (),
    ) -> ExpectationBand | None:
        """The band that applies, most specific first; ``None`` if none does.

        Args:
            factor: the factor asked about.
            metric: what is measured.
            segment: the customer's segment, if any.
            own: the customer's own bands (``customer.expectations``).

        Raises:
            ValidationError: an argument is of the wrong kind: ``factor`` is
                not a factor, ``metric`` not a metric name, ``segment`` not a
                string or ``None``, ``own`` not a collection of bands.
        """
        key = (member(Factor, factor, "factor"), metric_key(metric))
        for i, band in enumerate(collection(own, "own")):
            if not isinstance(band, ExpectationBand):
                raise ValidationError(
                    f"expected an ExpectationBand, got {type(band).__name__}", field=f"own[{i}]"
                )
            if band.key == key:
                return band
        if segment is not None:
            if not isinstance(segment, str):
                raise ValidationError(
                    f"expected a segment name, got {type(segment).__name__}", field="segment"
                )
            found = self.segments.get(segment, {}).get(key)
            if found is not None:
                return found
        return self.defaults.get(key)

    def classify(
        self,
        factor: Factor,
        metric: Metric | str,
        observed: Level,
        *,
        segment: str | None = None,
        own: Iterable[ExpectationBand] = (),
    ) -> Verdict:
        """Judge ``observed`` with the band that applies.

        Args:
            factor: the factor asked about.
            metric: what is measured.
            observed: the value measured, of the band's kind.
            segment: the customer's segment, if any.
            own: the customer's own bands (``customer.expectations``).

        Raises:
            NotFound: no band applies to ``(factor, metric)``.
            ValidationError: an argument is of the wrong kind (see :meth:`band`),
                or ``observed`` does not fit the band (see
                :meth:`ExpectationBand.classify`).
        """
        from .errors import NotFound

        band = self.band(factor, metric, segment=segment, own=own)
        if band is None:
            raise NotFound("expectation band", f"({factor}, {metric})")
        return band.classify(observed)


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole


def nps(scores: Iterable[int]) -> float:
    """Net Promoter Score: percent promoters (9–10) minus percent detractors (0–6).

    Args:
        scores: answers on the 0–10 scale (any iterable, read once).

    Returns:
        A value in ``[-100, 100]``.

    Raises:
        ValidationError: ``scores`` is not a collection, a score is not a whole
            number in 0–10, or there are no scores.

    Examples:
        >>> nps([10, 9, 8, 3])
        25.0
    """
    total = promoters = detractors = 0
    for i, score in enumerate(collection(scores, "scores")):
        if score not in NPS_SCALE:
            NPS_SCALE.check(score, f"scores[{i}]")
        verdict = NPS_SCALE.classify(score)
        total += 1
        if verdict is _G:
            promoters += 1
        elif verdict is _D:
            detractors += 1
    if total == 0:
        raise ValidationError("needs at least one score", field="scores")
    return _percent(promoters, total) - _percent(detractors, total)


def csat(scores: Iterable[int], scale: ScoreScale = CSAT_5) -> float:
    """Customer satisfaction: percent of scores at or above the scale's ``adequate`` level.

    Args:
        scores: answers on ``scale`` (any iterable, read once).
        scale: the scale they were given on.

    Returns:
        A value in ``[0, 100]``.

    Raises:
        ValidationError: ``scores`` is not a collection, ``scale`` is not a
            :class:`ScoreScale`, a score is off the scale, or there are no scores.

    Examples:
        >>> csat([5, 4, 2, 1])
        50.0
    """
    if not isinstance(scale, ScoreScale):
        raise ValidationError(f"expected a ScoreScale, got {type(scale).__name__}", field="scale")
    total = satisfied = 0
    for i, score in enumerate(collection(scores, "scores")):
        if score not in scale:
            scale.check(score, f"scores[{i}]")
        total += 1
        if score >= scale.adequate:
            satisfied += 1
    if total == 0:
        raise ValidationError("needs at least one score", field="scores")
    return _percent(satisfied, total)
