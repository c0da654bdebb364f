"""Hypothesis profiles for the conformance kit: ``dev`` (quick, the default) and ``ci``.

Choose one with ``HYPOTHESIS_PROFILE=ci``. The kit takes ``max_examples``
from the loaded profile.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=60, deadline=None, print_blob=True)
settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
