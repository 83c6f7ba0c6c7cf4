"""The one JSON conversion (corrclust.jsonable) and the writers that now go through corrclust.atomic."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from corrclust.jsonable import jsonable


def test_jsonable_makes_strict_json():
    value = {
        1: np.float64("nan"),
        "b": (np.int32(3), np.inf, -math.inf),
        "c": np.array([[0.5, np.nan]]),
        "d": np.bool_(True),
        "e": [None, "x", 2.5],
    }
    out = jsonable(value)
    assert out == {"1": None, "b": [3, None, None], "c": [[0.5, None]], "d": True, "e": [None, "x", 2.5]}
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert type(out["b"][0]) is int and type(out["d"]) is bool


def test_writers_leave_no_temporary_file_and_keep_the_old_file_on_failure(tmp_path, monkeypatch):
    from corrclust.commands.solve import write_labels
    from corrclust.formats.clusterings import write_clustering
    from corrclust.pqap.io import PqapParameters, read_parameters, write_parameters

    write_parameters(tmp_path / "p.txt", PqapParameters.paper())
    write_labels(str(tmp_path / "l.npy"), np.array([0, 1, 1]))
    write_labels(str(tmp_path / "l.csv"), np.array([0, 1, 1]))
    write_clustering(tmp_path / "c.csv", [[1, 2], [3]])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "l.csv", "l.npy", "p.txt"]
    assert read_parameters(tmp_path / "p.txt") == PqapParameters.paper()
    assert np.load(tmp_path / "l.npy").tolist() == [0, 1, 1]
    assert (tmp_path / "l.csv").read_text() == "node,label\n0,0\n1,1\n2,1\n"

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        write_labels(str(tmp_path / "l.npy"), np.array([5, 5, 5]))
    assert np.load(tmp_path / "l.npy").tolist() == [0, 1, 1]  # the previous file, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "l.csv", "l.npy", "p.txt"]
