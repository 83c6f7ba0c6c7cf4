"""The memory check made before large allocations."""

from __future__ import annotations

import pytest

from corrclust import memory


def test_sizes_and_format():
    assert memory.dense_problem_bytes(1000) == 8_000_000
    assert (
        memory.sparse_problem_bytes(10, 5)
        == 10 * memory.SPARSE_BYTES_PER_NODE + 5 * memory.SPARSE_BYTES_PER_EDGE
    )
    assert memory.format_bytes(512) == "512 B"
    assert memory.format_bytes(1536) == "1.5 KiB"
    assert memory.format_bytes(8 * 100000**2) == "74.5 GiB"


def test_available_bytes_is_read_here():
    avail = memory.available_bytes()
    assert avail is None or avail > 0


def test_require_refuses_only_what_does_not_fit(monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 2048)
    memory.require(2048, "x")
    with pytest.raises(
        memory.InsufficientMemoryError, match="the thing needs 3.0 KiB of memory and 2.0 KiB is available"
    ):
        memory.require(3072, "the thing")
    monkeypatch.setattr(memory, "available_bytes", lambda: None)
    memory.require(10**30, "anything")  # unknown: nothing is refused
