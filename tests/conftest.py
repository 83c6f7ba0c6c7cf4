"""Shared test fixtures.

Tests that need the read-only data in ``../shared`` (beside the repository root) skip with a
clear reason when it is absent, and fail instead when ``CORRCLUST_REQUIRE_SHARED=1`` is set (CI).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    """Make Ctrl-C deliverable, whoever started the suite. A shell starts a command run in the
    background (``pytest ... &``) with SIGINT ignored, and Python keeps an ignored SIGINT ignored,
    in this process and in every child it starts: the tests that send SIGINT to a solve (to
    ``os.getpid()`` or a child) then saw it ignored and ran into their time limits (a suite run
    in the background failed that way). A handler set here is reset to the default by exec, so
    child Pythons install their own."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def require_shared(relpath: str = "") -> Path:
    """Path of ``../shared/<relpath>``; skip (or fail under CORRCLUST_REQUIRE_SHARED=1) if missing."""
    path = SHARED / relpath
    if not path.exists():
        msg = f"shared data not found: {path}"
        if os.environ.get("CORRCLUST_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " (CORRCLUST_REQUIRE_SHARED=1)")
        pytest.skip(msg)
    return path


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture
def paper_keypoints_dir() -> Path:
    return require_shared("data/paper-keypoints")


@pytest.fixture
def cc_instances_dir() -> Path:
    return require_shared("cc-instances")
