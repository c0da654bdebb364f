"""What customers are worth: lifetime value, and the revenue that dissatisfaction puts at risk.

:func:`clv` is the simple lifetime-value formula of Gupta and Lehmann (2003,
"Customers as Assets", *Journal of Interactive Marketing* 17(1)): a customer
who brings a margin ``m`` a period, stays each period with probability
``r`` and whose future margins are discounted at rate ``i`` per period is
worth ``m·r/(1+i−r)``, less what it cost to acquire them. The factor
``r/(1+i−r)`` is the *margin multiple* (:func:`margin_multiple`): 2.67 for
80% retention and a 10% discount rate. It assumes margins and retention
stay constant and an infinite horizon.

:func:`revenue_at_risk` applies two rules of thumb from customer-service
practice. **They are heuristics, not laws**: figures for a conversation
about priorities, every one a parameter to replace with your own evidence.

* A completely satisfied (delighted) customer brings about **twice** the
  revenue of a merely satisfied one (``delighted_multiple=2.0``).
* An unhappy (dissatisfied) customer can turn away about **twenty**
  prospects (``prospects_turned_away=20``).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping

import attrs

from .._validation import collection, number
from ..enums import Verdict
from ..errors import ValidationError
from ..interactions import Interaction
from .verdicts import VerdictCounts

__all__ = ["RevenueAtRisk", "clv", "latest_verdicts", "margin_multiple", "revenue_at_risk"]


def _rate(value: object, field: str) -> float:
    return float(number(value, field))


def margin_multiple(retention: float, discount: float) -> float:
    """``r/(1+i−r)``: how many periods' margin a customer is worth (Gupta and Lehmann 2003).

    Args:
        retention: the share of customers kept each period, ``r``, with
            ``0 <= r <= 1``.
        discount: the discount rate per period, ``i >= 0``.

    Raises:
        ValidationError: a rate is out of range, or ``r >= 1 + i`` (the
            sum would not converge: a customer kept for ever, undiscounted).

    Examples:
        >>> from custservice.analytics import margin_multiple
        >>> round(margin_multiple(0.8, 0.1), 2)
        2.67
    """
    r = _rate(retention, "retention")
    i = _rate(discount, "discount")
    if not 0.0 <= r <= 1.0:
        raise ValidationError("must be between 0 and 1", field="retention")
    if i < 0.0:
        raise ValidationError("must not be negative", field="discount")
    if r >= 1.0 + i:
        raise ValidationError(
            "must be below 1 + discount, or the value never converges", field="retention"
        )
    return r / (1.0 + i - r)


def clv(margin: float, retention: float, discount: float, acquisition_cost: float = 0) -> float:
    """Customer lifetime value: ``m·r/(1+i−r) − AC`` (Gupta and Lehmann 2003).

    The closed form of ``sum(m·r**t/(1+i)**t for t = 1, 2, ...) − AC``:
    margins counted from the end of the first period, each period the
    customer is still there.

    Args:
        margin: the margin ``m`` a customer brings each period.
        retention: the retention rate per period ``r``, ``0 <= r <= 1``.
        discount: the discount rate per period ``i``, ``>= 0``, with ``r < 1 + i``.
        acquisition_cost: what acquiring the customer cost, ``AC >= 0``.

    Raises:
        ValidationError: an argument is not a finite number or out of range,
            or the value is too large to have a finite float value (a margin
            near the float limit).

    Examples:
        >>> from custservice.analytics import clv
        >>> round(clv(100, 0.8, 0.1, acquisition_cost=50), 2)
        216.67
    """
    m = _rate(margin, "margin")
    cost = _rate(acquisition_cost, "acquisition_cost")
    if cost < 0:
        raise ValidationError("must not be negative", field="acquisition_cost")
    value = m * margin_multiple(retention, discount) - cost
    if not math.isfinite(value):  # each input finite, the product beyond a float's range
        raise ValidationError(
            "too large: the lifetime value has no finite value as a float", field="margin"
        )
    return value


@attrs.frozen
class RevenueAtRisk:
    """Revenue figures from a verdict distribution, by :func:`revenue_at_risk`'s rules of thumb.

    Every amount is per period, in the unit of ``revenue_per_customer``.

    Attributes:
        customers: customers counted (one verdict each).
        verdicts: how many were dissatisfied, satisfied, delighted.
        revenue_per_customer: the revenue of a merely satisfied customer.
        expected_revenue: the revenue of the customers as they are: a
            satisfied customer brings ``revenue_per_customer``, a delighted
            one ``delighted_multiple`` times that, a dissatisfied one
            ``revenue_per_customer`` for as long as they stay.
        customer_revenue_at_risk: the revenue of the dissatisfied
            customers, who are at risk of leaving.
        prospects_turned_away: prospects the dissatisfied customers may
            turn away (``dissatisfied × prospects_turned_away``).
        prospect_revenue_lost: the revenue those prospects would have
            brought had they converted at ``conversion_rate``.
        revenue_at_risk: ``customer_revenue_at_risk + prospect_revenue_lost``.
        upside: the extra revenue if every merely satisfied customer were
            delighted.
    """

    customers: int
    verdicts: VerdictCounts
    revenue_per_customer: float
    expected_revenue: float
    customer_revenue_at_risk: float
    prospects_turned_away: float
    prospect_revenue_lost: float
    revenue_at_risk: float
    upside: float


def revenue_at_risk(
    verdicts: VerdictCounts | Mapping[Verdict, int] | Iterable[Verdict],
    *,
    revenue_per_customer: float,
    conversion_rate: float,
    delighted_multiple: float = 2.0,
    prospects_turned_away: float = 20.0,
) -> RevenueAtRisk:
    """What the customers' verdicts are worth, and what dissatisfaction puts at risk.

    Practitioners' heuristics, not laws: a delighted customer brings about
    ``delighted_multiple`` (2) times the revenue of a merely satisfied one;
    a dissatisfied one may leave, and can turn away about
    ``prospects_turned_away`` (20) prospects. Replace the defaults with your
    own figures when you have them.

    Args:
        verdicts: one verdict per customer (typically each customer's latest;
            see :func:`latest_verdicts`), as verdicts, a mapping of verdict
            to count, or :class:`VerdictCounts`.
        revenue_per_customer: the revenue of a merely satisfied customer per
            period; ``>= 0``.
        conversion_rate: the share of prospects who would become customers,
            in ``[0, 1]``.
        delighted_multiple: a delighted customer's revenue over a satisfied
            one's; ``>= 1``.
        prospects_turned_away: prospects one dissatisfied customer turns
            away; ``>= 0``.

    Raises:
        ValidationError: an argument is of the wrong kind or out of range, an
            item is not a verdict, or a figure is too large to have a finite
            float value.

    Examples:
        >>> from custservice.analytics import revenue_at_risk
        >>> risk = revenue_at_risk(
        ...     {Verdict.DISSATISFIED: 1, Verdict.SATISFIED: 2, Verdict.DELIGHTED: 1},
        ...     revenue_per_customer=100, conversion_rate=0.05,
        ... )
        >>> risk.expected_revenue, risk.prospect_revenue_lost, risk.revenue_at_risk
        (500.0, 100.0, 200.0)
    """
    if isinstance(verdicts, VerdictCounts):
        counts = verdicts
    else:
        if not isinstance(verdicts, Mapping):
            collection(verdicts, "verdicts")
        counts = VerdictCounts.of(verdicts)
    revenue = _rate(revenue_per_customer, "revenue_per_customer")
    conversion = _rate(conversion_rate, "conversion_rate")
    multiple = _rate(delighted_multiple, "delighted_multiple")
    turned = _rate(prospects_turned_away, "prospects_turned_away")
    if revenue < 0:
        raise ValidationError("must not be negative", field="revenue_per_customer")
    if not 0.0 <= conversion <= 1.0:
        raise ValidationError("must be between 0 and 1", field="conversion_rate")
    if multiple < 1.0:
        raise ValidationError("must be at least 1", field="delighted_multiple")
    if turned < 0:
        raise ValidationError("must not be negative", field="prospects_turned_away")
    try:  # counts are ints of any size: a product may not fit a float at all
        at_risk = counts.dissatisfied * revenue
        prospects = counts.dissatisfied * turned
        lost = prospects * conversion * revenue
        expected = (counts.dissatisfied + counts.satisfied) * revenue + counts.delighted * (
            revenue * multiple
        )
        upside = counts.satisfied * revenue * (multiple - 1.0)
    except OverflowError:
        raise _too_large() from None
    if not all(map(math.isfinite, (at_risk, prospects, lost, expected, at_risk + lost, upside))):
        raise _too_large()
    return RevenueAtRisk(
        customers=counts.total,
        verdicts=counts,
        revenue_per_customer=revenue,
        expected_revenue=expected,
        customer_revenue_at_risk=at_risk,
        prospects_turned_away=prospects,
        prospect_revenue_lost=lost,
        revenue_at_risk=at_risk + lost,
        upside=upside,
    )


def _too_large() -> ValidationError:
    return ValidationError(
        "too large: the revenue figures have no finite value as floats",
        field="revenue_per_customer",
    )


def latest_verdicts(interactions: Iterable[Interaction]) -> dict[uuid.UUID, Verdict]:
    """Each customer's latest verdict: from the feedback given last, over any interactions.

    Streams the interactions once and keeps one verdict per customer. Ties
    in the time feedback was given go to the interaction read last.

    Args:
        interactions: any iterable of interactions, read once.

    Raises:
        ValidationError: ``interactions`` is not a collection, or an item is
            not an :class:`~custservice.Interaction`.

    Examples:
        >>> from custservice.analytics import latest_verdicts
        >>> latest_verdicts([])
        {}
    """
    latest: dict[uuid.UUID, tuple[float, Verdict]] = {}
    for i, interaction in enumerate(collection(interactions, "interactions")):
        if not isinstance(interaction, Interaction):
            raise ValidationError(
                f"expected an Interaction, got {type(interaction).__name__}",
                field=f"interactions[{i}]",
            )
        fb = interaction.feedback
        if fb is None:
            continue
        t = fb.at.timestamp()
        seen = latest.get(interaction.customer_id)
        if seen is None or t >= seen[0]:
            latest[interaction.customer_id] = (t, fb.verdict)
    return {customer_id: verdict for customer_id, (_, verdict) in latest.items()}
