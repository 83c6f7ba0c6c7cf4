"""The hypothesis profiles of the property tests: ``ci`` (default, a few seconds a test) and
``nightly`` (many more examples), chosen with ``HYPOTHESIS_PROFILE=nightly``."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("nightly", max_examples=1500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NIGHTLY = os.environ.get("HYPOTHESIS_PROFILE") == "nightly"


def examples(ci: int, nightly: int) -> int:
    """The number of examples of a test that needs more than the profile's default."""
    return nightly if NIGHTLY else ci
