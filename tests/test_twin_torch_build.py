"""The twin commands name the torch build and the device before they start."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

from corrclust.cli import main  # noqa: E402
from corrclust.twin import torch_build  # noqa: E402


def test_cpu_line_names_version_build_device_and_threads():
    kind = torch_build.build_kind()
    line = torch_build.describe("cpu")
    assert line.startswith(
        f"torch {torch.__version__} ({kind} build); device cpu ({torch.get_num_threads()} threads)"
    )
    # The CI machine has the CPU-only build (torch==2.13.0 from disk).
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        assert kind == "CPU-only"
        assert (
            line
            == f"torch {torch.__version__} (CPU-only build); device cpu ({torch.get_num_threads()} threads)"
        )


def test_cuda_build_without_gpu_points_to_the_cpu_build(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    assert torch_build.build_kind() == "CUDA 12.8"
    line = torch_build.describe("cpu")
    assert "(CUDA 12.8 build); device cpu" in line
    assert line.endswith("this CUDA 12.8 build sees no GPU: the CPU-only build is smaller (see README)")


def test_unknown_device_fails_before_any_work():
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        torch_build.describe("gpu")


@pytest.mark.parametrize("command", ["train", "predict"])
def test_commands_print_the_line_first(tmp_path, capsys, command):
    missing = tmp_path / "missing"
    if command == "train":
        argv = ["twin", "train", str(missing), "-o", str(tmp_path / "m.pt"), "--device", "cpu"]
    else:
        argv = [
            "twin",
            "predict",
            str(tmp_path / "m.pt"),
            str(missing),
            "-o",
            str(tmp_path / "o.npz"),
            "--device",
            "cpu",
        ]
    assert main(argv) == 2  # the data (or model) is missing: the line still came first
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"twin {command}: {torch_build.describe('cpu')}"
    assert "error" in err[-1]


def test_no_progress_prints_no_line(tmp_path, capsys):
    argv = [
        "twin",
        "predict",
        str(tmp_path / "m.pt"),
        str(tmp_path),
        "-o",
        str(tmp_path / "o.npz"),
        "--no-progress",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "torch" not in err.split("error")[0]
