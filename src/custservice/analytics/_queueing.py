"""The queueing arithmetic behind staffing: Erlang B, C and A, in plain floats.

Time is counted in handle times (the mean service time is 1), so a queue is
described by its load ``A`` (arrivals per handle time, in erlangs), its
number of agents ``n`` and, for Erlang A, ``theta``: the abandonment rate,
a handle time divided by the customers' mean patience.

Nothing here computes ``A**n/n!``: the Erlang B recursion in its inverse
form, ``I(k) = 1 + k·I(k-1)/A`` with ``I = 1/B``, adds positive terms only,
so it neither overflows early nor cancels, at any load (it reaches
``inf`` only where ``B`` is below the smallest float, and then every
figure that depends on it is 0, as it should be).

Erlang A (the M/M/n+M queue of Palm, and of Garnett, Mandelbaum and Reiman
2002) is the birth-death chain with births at rate ``A`` and deaths at rate
``min(k, n) + theta·max(k - n, 0)``. Above ``n`` its stationary
probabilities are ``pi(n + q) = pi(n)·t(q)`` with ``t(q) = prod(b/(a + j),
j = 1..q)``, ``a = n/theta``, ``b = A/theta``; their sum is taken around
its largest term, in logarithms, so a large ``b`` neither overflows nor
needs as many terms as the queue is long. A customer finding ``q`` others
queued is answered within ``t`` with probability
``a/(a+q+1)·I_p(q+1, a+1)`` (``p = 1 - exp(-theta·t)``: its own patience,
and the order statistics of the others'), and summed over ``q`` that is
``pi(n)·n·∫_0^t exp(b·(1 - exp(-theta·s)) - (n + theta)·s) ds``, which is
integrated numerically (adaptive Gauss-Legendre on panels laid out around
the integrand's single peak: its logarithm is concave).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

__all__ = ["ErlangA", "erlang_a", "erlang_c", "inverse_erlang_b", "stepped_erlang_b"]

_EPS = 1e-17
_GL_ORDER = 20


def inverse_erlang_b(load: float, agents: int) -> tuple[float, float]:
    """``1/B(agents, load) - 1`` and ``1/B``: the odds and inverse of Erlang B's blocking.

    The first is kept apart as it is the sum of positive terms
    ``agents·I(agents - 1)/load``, exact where ``1/B`` is close to 1.
    """
    previous = 1.0  # 1/B with one agent fewer
    for k in range(1, agents):
        previous = 1.0 + previous * k / load
    odds = previous * agents / load
    return odds, 1.0 + odds


def stepped_erlang_b(load: float, start: int) -> Callable[[], tuple[int, float]]:
    """A counter of agents from ``start`` up, each call giving the next count with its
    ``1/B``: one step of the recursion per call, for a search that adds agents."""
    inverse = inverse_erlang_b(load, start - 1)[1] if start > 1 else 1.0
    agents = start - 1

    def step() -> tuple[int, float]:
        nonlocal inverse, agents
        agents += 1
        inverse = 1.0 + inverse * agents / load
        return agents, inverse

    return step


def erlang_c(load: float, agents: int, inverse_b: float | None = None) -> float:
    """The probability that a contact waits, for ``agents > load``:
    ``B/(1 - rho·(1 - B))`` written as ``1/((1 - rho)/B + rho)``."""
    inverse = inverse_erlang_b(load, agents)[1] if inverse_b is None else inverse_b
    rho = load / agents
    return 1.0 / ((1.0 - rho) * inverse + rho)


def _log_add(x: float, y: float) -> float:
    """``log(exp(x) + exp(y))`` without overflow."""
    if x < y:
        x, y = y, x
    if x == math.inf or y == -math.inf:
        return x
    return x + math.log1p(math.exp(y - x))


def _queue_sums(a: float, b: float) -> tuple[float, float]:
    """``log(sum(t(q)))`` and ``sum(q·t(q))/sum(t(q))`` over ``q >= 0``.

    Summed outward from the largest term, scaled by it, until what is left
    is below a part in 1e17 of the sums (a bound from the terms' ratios,
    which only fall on both sides of the peak).
    """
    mode = max(0, math.floor(b - a))
    log_peak = 0.0
    if mode:
        log_peak = mode * math.log(b) - (math.lgamma(a + mode + 1) - math.lgamma(a + 1))
    total = 1.0
    weighted = float(mode)
    q, term = mode, 1.0
    while True:  # above the peak: t(q+1) = t(q)·b/(a+q+1), ratios below 1 and falling
        q += 1
        term *= b / (a + q)
        total += term
        weighted += q * term
        ratio = b / (a + q + 1)
        left = term * (q * ratio / (1.0 - ratio) + ratio / (1.0 - ratio) ** 2)
        if left <= _EPS * min(total, weighted):
            break
    q, term = mode, 1.0
    while q > 0:  # below the peak: t(q-1) = t(q)·(a+q)/b, ratios below 1 and falling
        term *= (a + q) / b
        q -= 1
        total += term
        weighted += q * term
        ratio = (a + q) / b
        if ratio < 1.0 and term * ratio / (1.0 - ratio) <= _EPS * total:
            break
    return log_peak + math.log(total), weighted / total


@functools.cache
def _legendre() -> tuple[tuple[float, float], ...]:
    """Gauss-Legendre nodes and weights on [-1, 1] (Newton's method on P_n)."""
    n = _GL_ORDER
    rule = []
    for i in range(1, n + 1):
        x = math.cos(math.pi * (i - 0.25) / (n + 0.5))
        for _ in range(100):
            p0, p1 = 1.0, x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            derivative = n * (x * p1 - p0) / (x * x - 1.0)
            step = p1 / derivative
            x -= step
            if abs(step) < 1e-16:
                break
        p0, p1 = 1.0, x
        for k in range(2, n + 1):
            p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
        derivative = n * (x * p1 - p0) / (x * x - 1.0)
        rule.append((x, 2.0 / ((1.0 - x * x) * derivative * derivative)))
    return tuple(rule)


def _gauss(f: Callable[[float], float], lo: float, hi: float) -> float:
    half, middle = (hi - lo) / 2.0, (hi + lo) / 2.0
    return half * sum(w * f(middle + half * x) for x, w in _legendre())


def _adaptive(f: Callable[[float], float], lo: float, hi: float, whole: float, depth: int) -> float:
    mid = (lo + hi) / 2.0
    left, right = _gauss(f, lo, mid), _gauss(f, mid, hi)
    if depth >= 40 or abs(left + right - whole) <= 1e-15 * max(1.0, abs(left + right)):
        return left + right
    return _adaptive(f, lo, mid, left, depth + 1) + _adaptive(f, mid, hi, right, depth + 1)


class ErlangA:
    """The stationary figures of an Erlang A queue: load ``A``, ``n`` agents, abandonment
    rate ``theta`` (per handle time).

    Attributes:
        waiting: the probability that a contact waits (finds every agent busy).
        abandonment: the probability that a contact hangs up before an answer.
        mean_wait: the mean time in the queue of every contact, answered or not
            (Little's law on the mean queue length), in handle times.
    """

    __slots__ = (
        "_log_pin",
        "a",
        "abandonment",
        "agents",
        "b",
        "load",
        "mean_wait",
        "theta",
        "waiting",
    )

    def __init__(self, load: float, agents: int, theta: float) -> None:
        self.load, self.agents, self.theta = load, agents, theta
        self.a, self.b = agents / theta, load / theta
        log_s, mean_q = _queue_sums(self.a, self.b)
        odds, _ = inverse_erlang_b(load, agents)  # sum(pi(k), k < n)/pi(n)
        log_total = _log_add(math.log(odds), log_s)
        self._log_pin = -log_total  # log pi(n)
        self.waiting = math.exp(log_s - log_total)
        queued = self.waiting * mean_q  # the mean queue length
        self.mean_wait = queued / load
        self.abandonment = min(queued * theta / load, self.waiting)

    def _log_density(self, s: float) -> float:
        """``log`` of the density, at ``s`` handle times, of the answers given from the
        queue: ``pi(n)·n·exp(b·(1 - exp(-theta·s)) - (n + theta)·s)``."""
        return (
            self._log_pin
            + math.log(self.agents)
            - self.b * math.expm1(-self.theta * s)
            - (self.agents + self.theta) * s
        )

    def _panels(self, upto: float) -> list[tuple[float, float]]:
        """Intervals covering ``[0, upto]`` (cut where the density has faded), narrow at its
        peak and doubling in width away from it."""
        n, theta, load = self.agents, self.theta, self.load
        peak = max(0.0, math.log(load / (n + theta)) / theta) if load > n + theta else 0.0
        slope = abs(load * math.exp(-theta * peak) - n - theta)
        curvature = theta * load * math.exp(-theta * peak)
        width = 1.0 / (slope + math.sqrt(curvature) + 1e-300)
        top = self._log_density(peak)
        cuts = [peak]
        step = width
        while cuts[-1] > 0.0:
            cuts.append(max(0.0, cuts[-1] - step))
            step *= 2.0
        cuts.reverse()
        step = width
        while cuts[-1] < upto:
            nxt = min(upto, cuts[-1] + step)
            cuts.append(nxt)
            step *= 2.0
            # Concave in logarithm: once 60 below the peak and falling, the rest is nothing.
            if self._log_density(nxt) < top - 60.0 and nxt > peak:
                break
        # Cut at ``upto``, which may fall before the peak.
        clipped = [min(c, upto) for c in cuts]
        return [(p, q) for p, q in itertools.pairwise(clipped) if q > p]

    def _integral(self, f: Callable[[float], float], upto: float) -> float:
        total = 0.0
        for lo, hi in self._panels(upto):
            total += _adaptive(f, lo, hi, _gauss(f, lo, hi), 0)
        return total

    def answered_within(self, limit: float) -> float:
        """The probability that a contact is answered within ``limit`` handle times
        (answered at once, or from the queue in time, before hanging up)."""
        if self.waiting == 0.0:
            return 1.0
        if limit <= 0.0:
            return 1.0 - self.waiting
        queued = self._integral(lambda s: math.exp(self._log_density(s)), limit)
        return min(1.0, 1.0 - self.waiting + queued)

    def answer_time(self) -> float:
        """The mean wait of the answered contacts (those answered at once count 0), in
        handle times."""
        if self.waiting == 0.0:
            return 0.0
        waited = self._integral(lambda s: s * math.exp(self._log_density(s)), math.inf)
        return waited / (1.0 - self.abandonment)


def erlang_a(load: float, agents: int, theta: float) -> ErlangA:
    """The figures of an Erlang A queue (see :class:`ErlangA`)."""
    return ErlangA(load, agents, theta)
