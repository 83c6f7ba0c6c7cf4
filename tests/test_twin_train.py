"""Twin-network training: determinism, learning, checkpoints, resume, time budget, inference."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

from corrclust.twin import from_arrays, get_recipe, load_model, predict, train  # noqa: E402
from corrclust.twin.predict import embed, pair_probabilities  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny models run fastest on one thread, and a loaded CI machine makes more threads spin
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def easy_data(n_classes=3, per_class=6, size=12, channels=3, seed=0, image_size=16):
    """Classes differ by which channel carries a large bright square: easy to learn."""
    rng = np.random.default_rng(seed)
    imgs, labels = [], []
    for c in range(n_classes):
        for _ in range(per_class):
            a = rng.integers(0, 40, (size, size, channels), dtype=np.uint8)
            y, x = rng.integers(0, 3, 2)
            a[y : y + size - 3, x : x + size - 3, c % channels] = 250
            if channels == 1:
                a[..., 0] = (a[..., 0] * (c + 1) / n_classes).astype(np.uint8)
            imgs.append(a)
            labels.append(f"class{c}")
    return from_arrays(imgs, labels, image_size=image_size)


def tiny(name, **kw):
    base = dict(
        image_size=16,
        width=8,
        steps_per_epoch=2,
        epochs=2,
        batch_size=8,
        classes_per_batch=3,
        images_per_class=2,
    )
    base.update(kw)
    return get_recipe(name).with_overrides(**base)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("name", ["paper-tnia", "fast"])
def test_same_seed_same_weights(name):
    data = easy_data()
    r = tiny(name)
    a = train(data, r, seed=7, progress=False)
    b = train(data, r, seed=7, progress=False)
    c = train(data, r, seed=8, progress=False)
    assert a.steps == b.steps == 4 and a.stopped == "completed"
    assert _same_weights(a.model, b.model)
    assert not _same_weights(a.model, c.model)


@pytest.mark.parametrize("name", ["paper-tni", "fast"])
def test_training_lowers_the_loss(name):
    data = easy_data()
    kw = dict(steps_per_epoch=10, epochs=4)
    if name == "paper-tni":
        kw.update(lr=3e-3, batch_size=16)
    res = train(data, tiny(name, **kw), seed=0, progress=False)
    h = res.history
    assert len(h) == 4
    assert h[-1] < 0.6 * h[0] and h[-1] < 0.5, h  # chance level is log 2 = 0.69


def test_save_load_round_trip_gives_same_predictions(tmp_path):
    data = easy_data()
    out = tmp_path / "m.pt"
    res = train(data, tiny("paper-tni"), seed=1, progress=False, output=out)
    assert res.model_path == out and out.is_file()
    assert not (tmp_path / "m.pt.ckpt").exists()  # removed once the model is written
    blob = torch.load(out, weights_only=True)  # plain data only
    assert blob["recipe"]["name"] == "paper-tni" and blob["model_config"]["in_channels"] == 3
    assert blob["model_config"]["input_size"] == 16 and blob["classes"] == ["class0", "class1", "class2"]
    loaded = load_model(out)
    p1 = predict(loaded, data).P
    p2 = pair_probabilities(res.model.eval(), embed(res.model, data.inputs))
    np.testing.assert_array_equal(p1, p2)
    assert np.all(np.diag(p1) == 1.0) and np.all((p1 > 0) & (p1 <= 1))


def test_predict_runs_the_backbone_once_per_image():
    data = easy_data(per_class=5)
    res = train(data, tiny("paper-tni", epochs=1, steps_per_epoch=1), seed=0, progress=False)
    seen = []
    hook = res.model.embedding.backbone.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[0]))
    pred = predict(res.model, data, batch_size=4)
    hook.remove()
    n = len(data)
    assert sum(seen) == n and len(seen) == -(-n // 4)
    assert pred.P.shape == (n, n)
    # the paper's head is asymmetric: P is not symmetric off the diagonal
    assert not np.array_equal(pred.P, pred.P.T)


def test_fast_recipe_gives_exactly_symmetric_P():
    data = easy_data()
    res = train(data, tiny("fast", epochs=1), seed=0, progress=False)
    P = predict(res.model, data).P
    assert np.array_equal(P, P.T)


def test_time_budget_stops_and_saves_a_usable_model(tmp_path):
    data = easy_data()
    out = tmp_path / "m.pt"
    r = tiny("fast", epochs=1000, steps_per_epoch=5)
    res = train(data, r, seed=0, progress=False, output=out, time_budget=1.0)
    assert res.stopped == "time-budget"
    assert 0 < res.steps < r.total_steps
    assert res.elapsed_s <= 1.0 + 0.5
    P = predict(out, data).P
    assert P.shape == (len(data), len(data))


def test_sigint_saves_checkpoint_and_resume_matches_uninterrupted(tmp_path):
    data = easy_data()
    r = tiny("paper-tnia", steps_per_epoch=3, epochs=2)
    full = train(data, r, seed=3, progress=False)

    out = tmp_path / "m.pt"
    ckpt = tmp_path / "m.pt.ckpt"

    def interrupt_at_4(step, loss):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    first = train(data, r, seed=3, progress=False, output=out, on_step=interrupt_at_4)
    assert first.stopped == "interrupted" and first.steps == 4
    assert ckpt.is_file() and not out.exists()
    assert torch.load(ckpt, weights_only=True)["step"] == 4

    second = train(data, r, seed=3, progress=False, output=out)
    assert second.stopped == "completed" and second.steps == 6
    assert _same_weights(second.model, full.model)
    assert second.history == pytest.approx(full.history, rel=0, abs=0)
    assert out.is_file() and not ckpt.exists()


def test_checkpoint_and_model_files_keep_the_version_1_entries(tmp_path):
    # Files written by earlier releases hold exactly these entries; the resume tests here read
    # files of the current writer, so this pins the writer to what those old files hold.
    data = easy_data()
    out = tmp_path / "m.pt"
    res = train(data, tiny("paper-tnia"), seed=0, progress=False, output=out, time_budget=1e-9)
    assert res.stopped == "time-budget" and res.steps == 1  # one step, then the budget is spent
    ckpt = torch.load(tmp_path / "m.pt.ckpt", weights_only=True)
    assert set(ckpt) == {
        "format", "version", "recipe", "model_config", "seed", "data", "model", "optimizer",
        "scheduler", "numpy_rng", "torch_rng", "step", "epoch_loss_sum", "epoch_loss_count",
        "history", "elapsed",
    }  # fmt: skip
    assert (ckpt["format"], ckpt["version"], ckpt["step"], ckpt["seed"]) == (
        "corrclust-twin-checkpoint",
        1,
        1,
        0,
    )
    assert set(ckpt["data"]) == {"ids", "labels", "classes"} and ckpt["scheduler"] is not None
    model = torch.load(out, weights_only=True)
    assert set(model) == {"format", "version", "recipe", "model_config", "classes", "training", "state_dict"}
    assert (model["format"], model["version"]) == ("corrclust-twin-model", 1)


def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path):
    data = easy_data()
    r = tiny("paper-tni", steps_per_epoch=2, epochs=3)
    out = tmp_path / "m.pt"
    first = train(
        data,
        r,
        seed=0,
        progress=False,
        output=out,
        on_step=lambda s, loss: os.kill(os.getpid(), signal.SIGINT) if s == 2 else None,
    )
    assert first.stopped == "interrupted"
    with pytest.raises(ValueError, match="other training settings.*lr"):
        train(data, r.with_overrides(lr=5e-4), seed=0, progress=False, output=out)
    with pytest.raises(ValueError, match="seed"):
        train(data, r, seed=1, progress=False, output=out)
    # resume=False ignores and overwrites the checkpoint
    fresh = train(data, r, seed=1, progress=False, output=out, resume=False)
    assert fresh.stopped == "completed"


def test_single_channel_and_histogram_inputs(monkeypatch):
    data = easy_data(channels=1)
    assert data.in_channels == 1
    res = train(data, tiny("fast", epochs=1), seed=0, progress=False)
    assert res.model.config.in_channels == 1
    # histogram input (TNH) on tiny signals, built directly
    from corrclust.twin.data import TwinData

    rng = np.random.default_rng(0)
    h = np.cumsum(rng.random((12, 3, 256)).astype(np.float32), axis=2)
    h /= h[:, :, -1:]
    hist = TwinData(
        inputs=torch.from_numpy(h),
        labels=np.repeat(np.arange(3), 4),
        ids=[str(i) for i in range(12)],
        classes=["a", "b", "c"],
    )
    res = train(hist, tiny("paper-tnh"), seed=0, progress=False)
    assert res.model.config.input == "histogram" and res.model.config.input_size == 256
    P = predict(res.model, hist).P
    assert P.shape == (12, 12)


@pytest.mark.parametrize("name", ["fast", "paper-tnia"])
def test_time_based_checkpoint_survives_a_crash_and_resume_matches(tmp_path, name):
    # one epoch longer than the crash point: only the time-based checkpoints can save the run
    data = easy_data()
    r = tiny(name, steps_per_epoch=8, epochs=1)
    full = train(data, r, seed=2, progress=False, checkpoint_every=0)
    ckpt = tmp_path / "m.pt.ckpt"
    seen = {}

    def crash_at_3(step, loss):
        seen[step] = torch.load(ckpt, weights_only=True)["step"]
        if step == 3:
            raise RuntimeError("simulated crash")

    # with a checkpoint every 1e-9 s of training, every step is saved before on_step runs
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(
            data,
            r,
            seed=2,
            progress=False,
            output=tmp_path / "m.pt",
            checkpoint_every=1e-9,
            on_step=crash_at_3,
        )
    assert seen == {1: 1, 2: 2, 3: 3}
    again = train(data, r, seed=2, progress=False, output=tmp_path / "m.pt", checkpoint_every=0)
    assert again.steps == 8 and again.stopped == "completed"
    assert _same_weights(again.model, full.model)
    assert not ckpt.exists()


def test_time_budget_keeps_the_checkpoint_and_a_larger_budget_continues(tmp_path):
    data = easy_data()
    out = tmp_path / "m.pt"
    r = tiny("fast", epochs=1000, steps_per_epoch=5)
    first = train(data, r, seed=0, progress=False, output=out, time_budget=0.5)
    assert first.stopped == "time-budget" and first.steps > 0
    ckpt = tmp_path / "m.pt.ckpt"
    assert ckpt.is_file() and torch.load(ckpt, weights_only=True)["step"] == first.steps
    same = train(data, r, seed=0, progress=False, output=out, time_budget=0.5)
    assert same.steps == first.steps  # budget used up: nothing more, nothing lost
    more = train(data, r, seed=0, progress=False, output=out, time_budget=3 * first.elapsed_s + 1)
    assert more.steps > first.steps


def test_barely_trained_model_carries_a_warning(tmp_path, capsys):
    from corrclust.cli import main

    data = easy_data()
    out = tmp_path / "m.pt"
    r = tiny("fast", epochs=10000, steps_per_epoch=5)
    res = train(data, r, seed=0, progress=False, output=out, time_budget=0.3)
    assert any("barely trained" in w and f"{res.steps} of 50000" in w for w in res.warnings)
    assert load_model(out).warnings == res.warnings
    assert torch.load(out, weights_only=True)["training"]["planned_steps"] == 50000
    tmp_img = tmp_path / "imgs"
    tmp_img.mkdir()
    import tifffile

    for k in range(4):
        tifffile.imwrite(
            tmp_img / f"x_{k}.tif", (np.random.default_rng(k).random((12, 12, 3)) * 255).astype(np.uint8)
        )
    assert main(["twin", "predict", str(out), str(tmp_img), "-o", str(tmp_path / "p.npz"), "--quiet"]) == 0
    assert "warning: model" in capsys.readouterr().err


def test_training_check_flags_pairs_at_chance():
    # labels drawn independently of the images: no model can separate the pairs
    from corrclust.twin.model import build_model
    from corrclust.twin.train import training_check

    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (12, 12, 3), dtype=np.uint8) for _ in range(80)]
    data = from_arrays(imgs, [f"c{k}" for k in rng.integers(0, 4, 80)], image_size=16)
    torch.manual_seed(0)
    model = build_model(dict(input="image", in_channels=3, input_size=16, head="symmetric", width=8))
    check = training_check(model, data, steps=100, planned_steps=100)
    assert abs(check["train_pair_auc"] - 0.5) < 0.1
    assert any("near chance" in w for w in check["warnings"])
    assert not any("planned steps" in w for w in check["warnings"])
    # few steps: the advice is twin train's unless the caller names its own (corrclust demo has
    # --twin-budget, no --time-budget and no recipes)
    few = training_check(model, data, steps=10, planned_steps=100)["warnings"]
    assert "barely trained: 10 of 100 planned steps (10%); give a larger --time-budget" in few[0]
    own = training_check(model, data, steps=10, planned_steps=100, longer_hint="give more")["warnings"]
    assert own[0] == "barely trained: 10 of 100 planned steps (10%); give more"


def test_default_recipe_follows_the_device_as_the_command_does():
    # The API's default was ``fast`` everywhere: 2000 steps at 128 px, hours on a CPU. Without a GPU
    # it is now ``cpu``, as ``corrclust twin train`` has picked since session 5.
    data = easy_data(image_size=64)  # the cpu recipe's input size (fast: 128)
    res = train(data, seed=0, progress=False, device="cpu", time_budget=1e-9)
    assert res.recipe.name == "cpu" and res.steps == 1
