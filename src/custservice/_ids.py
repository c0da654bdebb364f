"""Time-ordered record ids (UUID version 7, RFC 9562).

The first 48 bits are the creation time in milliseconds, so ids made later
sort later and database indexes on them stay local.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid

from ._time import micros

_MS_MASK = (1 << 48) - 1


def new_id(at: dt.datetime, rng: random.Random | None = None) -> uuid.UUID:
    """A version-7 UUID for a record created at ``at``.

    Args:
        at: the creation time (timezone-aware).
        rng: a seeded generator for reproducible ids (simulations, tests);
            the operating system's randomness otherwise.

    Raises:
        TypeError: ``at`` is naive or not a datetime.
    """
    # Whole milliseconds, floored exactly: a float timestamp rounds in later centuries.
    ms = micros(at) // 1000 & _MS_MASK
    bits = rng.getrandbits(74) if rng is not None else int.from_bytes(os.urandom(10)) >> 6
    rand_a, rand_b = bits >> 62, bits & ((1 << 62) - 1)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)
