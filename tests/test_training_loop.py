"""The shared training loop's time budget (``corrclust.twin.training_loop``), on a fake clock."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

import corrclust.twin.training_loop as loop_module  # noqa: E402
from corrclust.twin.training_loop import LoopSettings, TrainingRun, run_training  # noqa: E402


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class _Run(TrainingRun):
    """Steps that take 5 s (the first) and then 1 s each on the fake clock; nothing is trained."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__(0)
        self.clock = clock
        self.model = torch.nn.Linear(1, 1)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)

    def train_step(self, time_budget):
        self.clock.now += 5.0 if self.step == 0 else 1.0
        self.step += 1
        return 0.0

    def after_step(self, bar):
        return False

    def state(self):
        return self.training_state()

    def load(self, ckpt, path):
        self.load_training_state(ckpt)


@pytest.mark.parametrize(
    "closing, steps",
    [
        # 5 + 1 + 1 + 1 + 1 + 1 = 10 s: the budget is used to its end
        (0.0, 6),
        # 2 steps' time kept for the caller's closing work: after 8 s (four steps) 8 + 1 + 2 > 10.
        # Before three later step times are known the reserve is not applied: the slow first step
        # (5 s) read as typical would have stopped the run after one step
        (2.0, 4),
    ],
)
def test_the_budget_keeps_time_for_the_work_after_the_loop(monkeypatch, closing, steps):
    clock = _Clock()
    monkeypatch.setattr(loop_module, "time", clock)
    settings = LoopSettings(None, None, False, 10.0, None, False, None, closing)
    run, stopped = run_training(lambda: _Run(clock), 100, "fake", settings)
    assert (stopped, run.step) == ("time-budget", steps)
    assert run.elapsed == clock.now == 4.0 + steps


def test_a_resumed_run_with_the_same_budget_takes_no_step(monkeypatch, tmp_path):
    """The reserve of a resumed run comes from the earlier runs' mean step time (2 s here: 8 s over
    4 steps) until its own steps are timed: 8 + 2 + 2 * 2 > 10, so nothing more is trained; with
    no reserve there it trained 2 more steps (8 + 2 <= 10 and then no reserve for three steps)."""
    clock = _Clock()
    monkeypatch.setattr(loop_module, "time", clock)
    settings = LoopSettings(None, tmp_path / "run.ckpt", True, 10.0, None, False, None, 2.0)
    first, _ = run_training(lambda: _Run(clock), 100, "fake", settings)
    again, stopped = run_training(lambda: _Run(clock), 100, "fake", settings)
    assert (first.step, again.step, stopped) == (4, 4, "time-budget")
    assert again.elapsed == 8.0
