"""Key-point, parameter and matching-result files (paper-model.md §3; fixtures F1-F3)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_shared

from corrclust.pqap.io import (
    FIELDS,
    KeypointSet,
    PqapParameters,
    read_keypoints,
    read_matching_results,
    read_parameters,
    write_keypoints,
    write_matching_results,
    write_parameters,
)

TEST30 = "data/paper-keypoints/feature_vectors/feature_vectors_organoid_dataset_unseen_classes_6_2_17_34.csv"
TRAIN100 = "data/paper-keypoints/feature_vectors/feature_vectors_organoid_dataset_100_split_1_12_1_16_20.csv"
MATCHING = "data/paper-keypoints/matching_results/matching_results_organoid_dataset_unseen_classes.csv"
LEARNED = "data/paper-keypoints/learned_parameters.txt"


def test_f1_test30_keypoints():
    kp = read_keypoints(require_shared(TEST30))
    assert kp.ids[:5] == [1209, 1308, 1207, 1208, 1200]
    assert sorted(kp.ids) == [c * 100 + i for c in (11, 12, 13) for i in range(10)]
    f, c = kp.features[1100], kp.candidates[1100]
    assert f.shape == (202, 13) and c.shape == (239, 13)
    ch = FIELDS.index("channel")
    assert [int((f[:, ch] == k).sum()) for k in (0, 1, 3)] == [46, 46, 110]
    assert [int((c[:, ch] == k).sum()) for k in (0, 1, 3)] == [46, 46, 147]
    nf = [kp.features[i].shape[0] for i in kp.ids]
    nc = [kp.candidates[i].shape[0] for i in kp.ids]
    assert (min(nf), max(nf)) == (139, 290)
    assert (min(nc), max(nc)) == (180, 330)
    for i in kp.ids:
        for arr in (kp.features[i], kp.candidates[i]):
            assert arr.dtype == np.float64 and arr.shape[1] == 13
            assert np.all(np.diff(arr[:, 0]) >= 0)
    assert kp.selection["image_set"] == "organoid_dataset_unseen_classes"
    assert list(kp.selection)[0] == "image_set" and len(kp.selection) == 12


def test_f2_train100_keypoints():
    kp = read_keypoints(require_shared(TRAIN100))
    assert sorted(kp.ids) == [c * 100 + i for c in range(1, 11) for i in range(10)]
    nf = np.array([kp.features[i].shape[0] for i in kp.ids])
    nc = np.array([kp.candidates[i].shape[0] for i in kp.ids])
    assert (nf.min(), nf.max(), round(nf.mean(), 2)) == (47, 463, 178.81)
    assert (nc.min(), nc.max(), round(nc.mean(), 2)) == (71, 525, 214.84)


@pytest.mark.parametrize("rel", [TEST30, TRAIN100])
def test_keypoints_round_trip_is_byte_exact(rel, tmp_path):
    src = require_shared(rel)
    kp = read_keypoints(src)
    out = tmp_path / "kp.csv"
    write_keypoints(out, kp)
    assert out.read_bytes() == src.read_bytes()
    again = read_keypoints(out)
    assert again.ids == kp.ids and again.selection == kp.selection
    for i in kp.ids:
        np.testing.assert_array_equal(again.features[i], kp.features[i])
        np.testing.assert_array_equal(again.candidates[i], kp.candidates[i])


def test_write_keypoints_formats_like_cpp(tmp_path):
    row = np.array([[1.0 / 3.0, 3, 136, 32, 27892.84, 0, 16, 1e-7, 123456789.0, 0.0898437, 65535, 0.5, 2.0]])
    kp = KeypointSet(
        ids=[7], features={7: row}, candidates={7: row[:0].reshape(0, 13)}, selection={"image_set": "x"}
    )
    out = tmp_path / "k.csv"
    write_keypoints(out, kp)
    lines = out.read_text().splitlines()
    assert lines[4] == "0.333333,3,136,32,27892.8,0,16,1e-07,1.23457e+08,0.0898437,65535,0.5,2"
    assert lines[6:] == ["candidates_begin,7", "candidates_end,7"]
    back = read_keypoints(out)
    assert back.candidates[7].shape == (0, 13)


def _write(tmp_path, text):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    return p


HEADER = "begin_selection_parameters\nimage_set,x\nend_selection_parameters\n"
ROW = ",".join(["1"] * 13)


@pytest.mark.parametrize(
    "body, message",
    [
        (f"features_begin,5\n{ROW}\nfeatures_end,6\n", "line 6: 'features_end,6' does not match"),
        ("features_begin,5\n1,2,3\nfeatures_end,5\n", "line 5: expected 13"),
        (f"features_begin,5\n{ROW[:-1]}x\nfeatures_end,5\n", "line 5: not a number"),
        (f"features_begin,5\n{ROW}\n", "ends inside the features block"),
        (f"features_begin,5\n{ROW}\nfeatures_end,5\n", "organoid 5 has features but no candidates"),
        ("features_begin,a\n", "line 4: organoid id must be an integer"),
        ("bogus,1\n", "line 4: expected 'features_begin"),
    ],
)
def test_malformed_keypoints_name_file_and_line(tmp_path, body, message):
    p = _write(tmp_path, HEADER + body)
    with pytest.raises(ValueError, match="bad.csv") as exc:
        read_keypoints(p)
    assert message in str(exc.value)


def test_missing_selection_block(tmp_path):
    with pytest.raises(ValueError, match="line 1: expected 'begin_selection_parameters'"):
        read_keypoints(_write(tmp_path, f"features_begin,5\n{ROW}\n"))


def test_parameters_round_trip_and_errors(tmp_path):
    src = require_shared(LEARNED)
    p = read_parameters(src)
    assert p == PqapParameters.paper()
    out = tmp_path / "p.txt"
    write_parameters(out, p)
    assert out.read_bytes() == src.read_bytes()
    bad = tmp_path / "bad.txt"
    bad.write_text("color_cost_offset=0.2\ncolour=1\n")
    with pytest.raises(ValueError, match="bad.txt: line 2: unknown PQAP parameter 'colour'"):
        read_parameters(bad)
    bad.write_text("color_cost_offset=abc\n")
    with pytest.raises(ValueError, match="line 1: color_cost_offset is not a number"):
        read_parameters(bad)
    bad.write_text("color_cost_offset=0.2\n")
    with pytest.raises(ValueError, match="missing PQAP parameter"):
        read_parameters(bad)


def test_f3_matching_results(tmp_path):
    src = require_shared(MATCHING)
    lines = src.read_text().split("\n")[:-1]
    assert all(len(line.split(",")) == 293 for line in lines)
    m = read_matching_results(src)
    assert m.ids == sorted(m.ids) and len(m.ids) == 30
    for block in m.blocks.values():
        assert block.shape == (30, 30)
        assert np.all(np.isnan(np.diag(block)))
        assert np.isfinite(block[~np.eye(30, dtype=bool)]).all()
    assert np.all(m.optimal_quadratic_matching[~np.eye(30, dtype=bool)] == 0)
    assert m.quadratic_matching[m.ids.index(1100), m.ids.index(1101)] == 0.773864
    kp = read_keypoints(require_shared(TEST30))
    assert len(m.assignments) == 870
    for (a, b), vec in m.assignments.items():
        assert len(vec) == kp.features[a].shape[0]
        used = vec[vec >= 0]
        assert len(set(used.tolist())) == len(used) and (used < kp.candidates[b].shape[0]).all()
    assert m.parameters == read_parameters(require_shared(LEARNED))
    assert m.constants == {"cost_double_assignment": 10000.0, "cost_mismatching_channels": 10000.0}
    out = tmp_path / "m.csv"
    write_matching_results(out, m)
    assert out.read_bytes() == src.read_bytes()
