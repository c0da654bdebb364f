"""Bounds of a SQL comparison as the databases' 64-bit integers."""

from __future__ import annotations

__all__ = ["int64"]

_LOW, _HIGH = -(2**63), 2**63 - 1


def int64(value: int) -> int:
    """``value`` clamped to 64 bits: every stored instant (years 1 to 9999, in
    microseconds) lies well inside, so a bound clamped from beyond selects the same rows."""
    return min(max(value, _LOW), _HIGH)
