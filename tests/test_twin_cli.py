"""``corrclust twin`` end to end on tiny folders (tiny network, few steps)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

from corrclust.cli import main  # noqa: E402

TINY = ["--image-size", "16", "--width", "8", "--epochs", "2", "--steps-per-epoch", "2", "--quiet"]


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def paper_layout(folder, n_classes=3, per_class=4, channels=3, dtype=np.uint16, seed=0, size=(14, 11)):
    """Images named organoid_<id>.tif with id = class * 100 + k (the paper's layout)."""
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    for c in range(1, n_classes + 1):
        for k in range(per_class):
            shape = size + ((channels,) if channels > 1 else ())
            a = (rng.random(shape) * top * 0.2).astype(dtype)
            if channels > 1:
                a[2:-2, 2:-2, c % channels] = top
            else:
                a[2:-2, 2:-2] = top * c // n_classes
            tifffile.imwrite(folder / f"organoid_{c * 100 + k}.tif", a)
    return folder


@pytest.mark.parametrize("recipe", ["fast", "paper-tnia"])
def test_train_then_predict(tmp_path, recipe):
    data = paper_layout(tmp_path / "train")
    model = tmp_path / "model.pt"
    assert main(["twin", "train", str(data), "--recipe", recipe, "-o", str(model), "--seed", "3", *TINY]) == 0
    assert model.is_file() and not (tmp_path / "model.pt.ckpt").exists()
    blob = torch.load(model, weights_only=True)
    assert blob["recipe"]["name"] == recipe and blob["training"]["steps"] == 4

    test = paper_layout(tmp_path / "test", seed=1)
    out = tmp_path / "pred.npz"
    assert main(["twin", "predict", str(model), str(test), "-o", str(out), "--quiet"]) == 0
    z = np.load(out)
    assert list(z["ids"]) == [
        "100",
        "101",
        "102",
        "103",
        "200",
        "201",
        "202",
        "203",
        "300",
        "301",
        "302",
        "303",
    ]
    assert list(z["labels"]) == ["1"] * 4 + ["2"] * 4 + ["3"] * 4
    P, C = z["P"], z["costs"]
    assert P.shape == C.shape == (12, 12) and P.dtype == np.float32
    # costs: logit of the mean of both directions, clamped (paper-model.md section 7.2)
    m = np.clip((P.astype(np.float64) + P.T) / 2, 1e-6, 1 - 1e-6)
    iu = np.triu_indices(12, 1)
    np.testing.assert_allclose(C[iu], np.log(m / (1 - m))[iu], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(C, C.T)


def test_same_seed_same_model_file(tmp_path):
    data = paper_layout(tmp_path / "d", channels=1, dtype=np.uint8)
    for name in ("a.pt", "b.pt"):
        assert main(["twin", "train", str(data), "--recipe", "fast", "-o", str(tmp_path / name), *TINY]) == 0
    a = torch.load(tmp_path / "a.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_class_folders_png(tmp_path):
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    for cls in ("alpha", "beta"):
        (tmp_path / "d" / cls).mkdir(parents=True)
        for k in range(3):
            iio.imwrite(tmp_path / "d" / cls / f"{k}.png", rng.integers(0, 255, (10, 13, 3), dtype=np.uint8))
    model = tmp_path / "m.pt"
    assert main(["twin", "train", str(tmp_path / "d"), "-o", str(model), *TINY]) == 0
    assert torch.load(model, weights_only=True)["classes"] == ["alpha", "beta"]


def test_time_budget_flag(tmp_path, capsys):
    data = paper_layout(tmp_path / "d")
    model = tmp_path / "m.pt"
    args = [
        "twin",
        "train",
        str(data),
        "-o",
        str(model),
        "--time-budget",
        "0.5",
        "--image-size",
        "16",
        "--width",
        "8",
        "--epochs",
        "100000",
        "--quiet",
    ]
    assert main(args) == 0
    assert "time-budget" in capsys.readouterr().err
    assert torch.load(model, weights_only=True)["training"]["stopped"] == "time-budget"


@pytest.mark.parametrize(
    "setup,message",
    [
        ("empty", "no images"),
        ("one_class", "at least 2 classes"),
        ("mixed", "mix channel counts"),
        ("missing", "no such folder"),
    ],
)
def test_clear_errors(tmp_path, capsys, setup, message):
    import tifffile

    d = tmp_path / "d"
    if setup == "empty":
        d.mkdir()
    elif setup == "one_class":
        paper_layout(d, n_classes=1)
    elif setup == "mixed":
        paper_layout(d)
        tifffile.imwrite(d / "organoid_150.tif", np.zeros((8, 8), np.uint16))
    code = main(["twin", "train", str(d), "-o", str(tmp_path / "m.pt"), *TINY])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_predict_rejects_other_files(tmp_path, capsys):
    bogus = tmp_path / "m.pt"
    torch.save({"hello": 1}, bogus)
    paper_layout(tmp_path / "d")
    assert main(["twin", "predict", str(bogus), str(tmp_path / "d"), "-o", str(tmp_path / "o.npz")]) == 2
    assert "not a corrclust twin model" in capsys.readouterr().err


def test_resume_flag_without_checkpoint(tmp_path, capsys):
    data = paper_layout(tmp_path / "d")
    assert main(["twin", "train", str(data), "-o", str(tmp_path / "m.pt"), "--resume", *TINY]) == 2
    assert "no checkpoint to resume from" in capsys.readouterr().err


def test_cli_without_torch_says_what_to_install(monkeypatch, tmp_path, capsys):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    code = main(["twin", "train", str(tmp_path), "-o", str(tmp_path / "m.pt")])
    assert code == 2
    assert "install corrclust[torch]" in capsys.readouterr().err


def test_predict_rejects_other_channel_counts(tmp_path, capsys):
    model = tmp_path / "m.pt"
    assert main(["twin", "train", str(paper_layout(tmp_path / "rgb")), "-o", str(model), *TINY]) == 0
    gray = paper_layout(tmp_path / "gray", channels=1)
    assert main(["twin", "predict", str(model), str(gray), "-o", str(tmp_path / "o.npz"), "--quiet"]) == 2
    assert "trained on 3-channel images, these have 1" in capsys.readouterr().err


def test_unknown_device_is_a_clear_error(tmp_path, capsys):
    data = paper_layout(tmp_path / "d")
    assert main(["twin", "train", str(data), "-o", str(tmp_path / "m.pt"), "--device", "gpu", *TINY]) == 2
    assert "unknown device 'gpu'" in capsys.readouterr().err


def test_damaged_checkpoint_is_a_clear_error(tmp_path, capsys):
    data = paper_layout(tmp_path / "d")
    (tmp_path / "m.pt.ckpt").write_bytes(b"not a checkpoint")
    assert main(["twin", "train", str(data), "-o", str(tmp_path / "m.pt"), *TINY]) == 2
    assert "is unreadable" in capsys.readouterr().err
    # --restart ignores it
    assert main(["twin", "train", str(data), "-o", str(tmp_path / "m.pt"), "--restart", *TINY]) == 0


@pytest.mark.parametrize("content", [bytes(range(256)) * 20, b"PK\x03\x04 not a zip"])
def test_damaged_model_file_is_a_one_line_error(tmp_path, capsys, content):
    # torch's own message for a foreign pickle is a page of advice; the command keeps its first line
    data = paper_layout(tmp_path / "d")
    (tmp_path / "bad.pt").write_bytes(content)
    assert main(["twin", "predict", str(tmp_path / "bad.pt"), str(data), "-o", str(tmp_path / "p.npz")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and "bad.pt is not a readable corrclust twin model" in errors[0]
    assert "weights_only" not in errors[0] and len(errors[0]) < 400
    assert not (tmp_path / "p.npz").exists()


def test_paper_tnh_on_histograms(tmp_path):
    pytest.importorskip("corrclust.images.histograms")
    data = paper_layout(tmp_path / "d", n_classes=2, per_class=3)
    model = tmp_path / "tnh.pt"
    args = [
        "twin",
        "train",
        str(data),
        "--recipe",
        "paper-tnh",
        "-o",
        str(model),
        "--width",
        "4",
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
        "--batch-size",
        "4",
        "--quiet",
    ]
    assert main(args) == 0
    blob = torch.load(model, weights_only=True)
    assert blob["model_config"]["input"] == "histogram" and blob["model_config"]["input_size"] == 65536
    out = tmp_path / "p.npz"
    assert main(["twin", "predict", str(model), str(data), "-o", str(out), "--quiet"]) == 0
    assert np.load(out)["P"].shape == (6, 6)


def test_a_barely_trained_model_is_flagged_by_train_predict_and_cluster(tmp_path, capsys):
    data = paper_layout(tmp_path / "d")
    model = tmp_path / "m.pt"
    # 100000 planned steps, a fraction of a second: far below a quarter of the plan
    assert (
        main(
            [
                "twin",
                "train",
                str(data),
                "-o",
                str(model),
                "--time-budget",
                "0.3",
                "--image-size",
                "16",
                "--width",
                "8",
                "--epochs",
                "1000",
                "--steps-per-epoch",
                "100",
                "--no-progress",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    # the default recipe here is cpu: the advice is a larger budget, not the recipe that ran
    (line,) = [x for x in err.splitlines() if "of 100000 planned steps" in x]
    assert line.startswith("twin train: warning: barely trained: ") and line.endswith(
        "planned steps (0%); give a larger --time-budget (the run resumes)"
    ), line
    # --no-progress hides the bars, not whether the run starts or resumes (audit qa15)
    assert "recipe cpu; starting\n" in err
    again = ["twin", "train", str(data), "-o", str(model), "--time-budget", "0.3", "--image-size", "16"]
    again += ["--width", "8", "--epochs", "1000", "--steps-per-epoch", "100", "--no-progress"]
    assert main(again) == 0
    assert f"recipe cpu; resuming from {model}.ckpt\n" in capsys.readouterr().err
    assert (
        main(
            [
                "cluster",
                str(data),
                "--method",
                "twin",
                "--model",
                str(model),
                "-o",
                str(tmp_path / "o"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "warning: twin model" in capsys.readouterr().err
    assert "barely trained" in (tmp_path / "o" / "report.html").read_text()


def test_default_recipe_without_a_gpu_is_cpu(tmp_path):
    from corrclust.twin import default_recipe, get_recipe

    assert default_recipe("cpu") == "cpu" and default_recipe("cuda") == "fast"
    r = get_recipe("cpu")
    assert (r.image_size, r.width, r.total_steps) == (64, 32, 600)


def test_the_barely_trained_advice_names_the_cpu_recipe_only_after_another_one():
    from corrclust.twin.recipes import budget_hint as longer_hint

    assert longer_hint("cpu") == "give a larger --time-budget (the run resumes)"
    assert (
        longer_hint("fast")
        == "give a larger --time-budget (the run resumes) or use the cpu recipe (--recipe cpu)"
    )
