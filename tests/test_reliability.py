"""Regression tests for the faults of issue 16 item 1: each failed (traceback, hang, clobbered or
silently wrong result) before its fix."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from corrclust.report import figures

# --- degenerate images: the thumbnail is bounded, the pipeline skips and lists them -------------


@pytest.mark.parametrize("shape", [(20000, 1, 1), (1, 100000, 1), (8000, 1, 3)])
def test_thumbnail_of_a_thin_image_is_bounded(shape):
    # Padding to square first made these a 20000^2 / 100000^2 float array (hang / 112 GiB request).
    img = np.full(shape, 500, dtype=np.uint16)
    t = figures.thumbnail(img, 32)
    assert t.shape == (32, 32, 3) and t.dtype == np.uint8
    # A one-pixel line through the middle of the square, padding elsewhere.
    assert t.max() == 255 and (t > 0).sum() < 32 * 3 * 2


def test_thumbnail_of_a_normal_image_keeps_its_layout():
    img = np.full((40, 80, 1), 1000, dtype=np.uint16)
    t = figures.thumbnail(img, 32)
    assert t[:8].max() == 0 and t[-8:].max() == 0 and t[8:24].min() == 255


def _organoid(rng, h=24, w=24):
    return rng.integers(1, 4000, (h, w), dtype=np.uint16)


def test_load_images_skips_and_lists_degenerate_images(tmp_path):
    from corrclust.pipeline.images import load_images

    rng = np.random.default_rng(0)
    for ident in (101, 102, 201):
        tifffile.imwrite(tmp_path / f"org_{ident}.tif", _organoid(rng))
    tifffile.imwrite(tmp_path / "org_202.tif", np.ones((20000, 1), dtype=np.uint16))
    tifffile.imwrite(tmp_path / "org_203.tif", np.ones((1, 100000), dtype=np.uint16))
    tifffile.imwrite(tmp_path / "org_204.tif", np.ones((30, 900), dtype=np.uint16))
    images = load_images(tmp_path, progress=False)
    assert images.ids.tolist() == [101, 102, 201]
    reasons = {p.name: r for p, r in images.failures}
    assert sorted(reasons) == ["org_202.tif", "org_203.tif", "org_204.tif"]
    assert "20000 x 1" in reasons["org_202.tif"] and "aspect" in reasons["org_204.tif"]


# --- one error path in cli.main -----------------------------------------------------------------


def _main(capsys, *argv):
    from corrclust.cli import main

    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def test_os_error_is_one_line_with_exit_code_1(tmp_path, capsys, monkeypatch):
    import corrclust.commands.solve as solve_cmd

    inst = tmp_path / "i.npy"
    np.save(inst, np.array([[0.0, 1.0], [1.0, 0.0]]))

    def full(path, labels):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(solve_cmd, "write_labels", full)
    code, err = _main(capsys, "solve", str(inst), "-o", str(tmp_path / "l.npy"))
    assert code == 1
    assert err.strip().splitlines() == [
        f"corrclust solve: error: {tmp_path / 'l.npy'}: No space left on device"
    ]


def test_argparse_mistake_is_one_line(capsys):
    from corrclust.cli import main

    with pytest.raises(SystemExit) as info:
        main(["solve", "--method", "nope", "x.gr"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice" in err[0] and err[0].startswith("corrclust solve: error:")


def test_sigint_swallowed_on_the_way_still_exits_130(capsys, monkeypatch):
    # Python ignores an exception raised in a weakref callback ("Exception ignored in
    # WeakSet._remove"); the command then returned 0 as if it had finished.
    import signal

    import corrclust.commands.solve as solve_cmd

    def swallowed(args):
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass  # what the interpreter does with it in a __del__ / weakref callback
        return 0

    monkeypatch.setattr(solve_cmd, "run", swallowed)
    from corrclust.cli import build_parser

    monkeypatch.setattr("corrclust.cli.build_parser", lambda: _with_func(build_parser(), swallowed))
    code, err = _main(capsys, "solve", "x.gr")
    assert code == 130 and "interrupted" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _with_func(parser, func):
    parser.set_defaults(func=func)
    orig = parser.parse_args

    def parse(argv=None):
        ns = orig(argv)
        ns.func = func
        return ns

    parser.parse_args = parse
    return parser


# --- atomic writes: symlinks, stale temporary files, errors naming the output -------------------


def test_atomic_write_does_not_follow_a_planted_symlink(tmp_path):
    from corrclust.atomic import write_text

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "S.npz.tmp").symlink_to(victim)
    (tmp_path / ".S.npz.tmp").symlink_to(victim)
    write_text(tmp_path / "S.npz", "new")
    assert victim.read_text() == "precious" and (tmp_path / "S.npz").read_text() == "new"


def test_pqap_writers_and_checkpoint_do_not_follow_planted_symlinks(tmp_path):
    from corrclust.pqap import PqapParameters, similarity_matrix, write_parameters
    from corrclust.pqap.io import KeypointSet, write_keypoints

    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    rng = np.random.default_rng(1)
    kp = KeypointSet(
        ids=[1, 2],
        features={i: rng.random((3, 13)) for i in (1, 2)},
        candidates={i: rng.random((4, 13)) for i in (1, 2)},
    )
    for name in ("kp.csv", "p.txt", "ck.npz"):
        (tmp_path / f"{name}.tmp").symlink_to(victim)
    write_keypoints(tmp_path / "kp.csv", kp)
    write_parameters(tmp_path / "p.txt", PqapParameters.paper())
    similarity_matrix(kp, PqapParameters.paper(), threads=1, progress=False, checkpoint=tmp_path / "ck.npz")
    assert victim.read_bytes() == b"precious"
    assert (tmp_path / "ck.npz").is_file() and not (tmp_path / "ck.npz").is_symlink()


def test_stale_part_files_of_dead_processes_are_removed(tmp_path):
    import subprocess
    import sys

    from corrclust import atomic

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    stale = tmp_path / f".clusters.csv.{pid}-abc123_x.part"
    stale.write_text("half")
    alive = tmp_path / f".other.csv.{__import__('os').getpid()}-zzz.part"
    alive.write_text("in progress")
    foreign = tmp_path / ".notes.part"
    foreign.write_text("not ours")
    atomic._swept.discard(str(tmp_path))
    atomic.write_text(tmp_path / "x.txt", "x")
    assert not stale.exists() and alive.exists() and foreign.exists()


def test_os_error_names_the_output_not_the_temporary_file(tmp_path):
    from corrclust.atomic import atomic_path

    with pytest.raises(OSError) as info:
        with atomic_path(tmp_path / "out.bin") as tmp:
            raise OSError(28, "No space left on device", str(tmp))
    assert info.value.filename == str(tmp_path / "out.bin") and info.value.errno == 28
    assert list(tmp_path.iterdir()) == []


# --- solver inputs -----------------------------------------------------------------------------


def test_from_dense_near_the_float_limit_stays_finite():
    from corrclust.problem import Problem

    big = np.finfo(np.float64).max * 0.9
    c = np.array([[0.0, big], [big * (1 - 1e-12), 0.0]])
    p = Problem.from_dense(c)
    assert np.isfinite(p.costs).all() and p.costs[0, 1] == pytest.approx(big, rel=1e-11)


def test_time_limit_as_text_is_refused():
    from corrclust.solve import check_time_limit

    with pytest.raises(ValueError, match="time_limit"):
        check_time_limit("10")
    assert check_time_limit(10) == 10.0


@pytest.mark.parametrize(
    "arrays, needle",
    [
        (dict(edges=np.array([["0", "1"]]), costs=np.array([1.0])), "'edges' must hold integers"),
        (
            dict(edges=np.array([[0, 1]]), costs=np.array([1.0]), n=np.array([2, 3])),
            "'n' must be one integer",
        ),
        (dict(edges=np.array([[0, 1]]), costs=np.array([1.0]), n=np.array(2.7)), "'n' must be one integer"),
        (dict(edges=np.array([0, 1]), costs=np.array([1.0])), "shape (m, 2)"),
    ],
)
def test_npz_instances_with_wrong_arrays_give_one_line_value_errors(tmp_path, arrays, needle):
    from corrclust.formats.instances import read_instance

    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError) as info:
        read_instance(str(path))
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and needle in msg and msg.count(str(path)) == 1 and "\n" not in msg


def test_complex_similarities_file_is_refused(tmp_path):
    from corrclust.pipeline.correlations import load_correlations

    path = tmp_path / "S.npz"
    np.savez(path, ids=np.array([1, 2]), S=np.array([[0, 0.5 + 0.1j], [0.5 + 0.1j, 0]]))
    with pytest.raises(ValueError, match=r"S.npz: 'S' must hold real numbers, got dtype complex128"):
        load_correlations(path)


def test_non_utf8_keypoint_and_parameter_files_name_file_and_line(tmp_path):
    from corrclust.pqap import read_keypoints, read_parameters

    p = tmp_path / "p.txt"
    p.write_bytes(b"# params\nalpha=0.3\xff\n")
    with pytest.raises(ValueError, match=r"p.txt: line 2: not UTF-8 text \(byte 0xff at column 10\)"):
        read_parameters(p)
    k = tmp_path / "k.csv"
    k.write_bytes(b"\xfe\n")
    with pytest.raises(ValueError, match=r"k.csv: line 1: not UTF-8"):
        read_keypoints(k)


# --- spreadsheet injection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "'=a", "'plain", "ok"]
)
def test_spreadsheet_cells_round_trip(text):
    from corrclust.formats.spreadsheet import neutralise, restore

    cell = neutralise(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert restore(cell) == text


def test_clusters_csv_neutralises_a_formula_file_name_and_reads_back(tmp_path):
    import csv

    from corrclust.formats.clusterings import read_clustering
    from corrclust.images.io import ImageRecord
    from corrclust.pipeline.clustering import Clustering
    from corrclust.pipeline.images import ImageSet
    from corrclust.pipeline.outputs import _write_clusters_csv

    names = ['=HYPERLINK("x.y")_101.tif', "@x_102.tif", "plain_201.tif"]
    recs = [ImageRecord(tmp_path / n, int(n.rsplit("_", 1)[1][:3])) for n in names]
    images = ImageSet(tmp_path, recs, [None] * 3)
    path = tmp_path / "clusters.csv"
    _write_clusters_csv(path, images, Clustering(np.array([1, 1, 2]), 0.0, "heuristic", 0.0, "kl"))
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[2] for r in rows[1:]] == ["'" + names[0], "'" + names[1], names[2]]
    assert read_clustering(path) == [[101, 102], [201]]


def test_pipeline_options_use_the_one_time_limit_rule(tmp_path):
    from corrclust.pipeline.options import ClusterOptions

    for bad, needle in (("10", "number of seconds"), (float("nan"), ">= 0"), (-1.0, ">= 0")):
        opts = ClusterOptions(images_dir=tmp_path, out_dir=tmp_path / "out", time_limit=bad)
        with pytest.raises(ValueError, match=f"--time-limit.*{needle}"):
            opts.validate()
    opts = ClusterOptions(images_dir=tmp_path, out_dir=tmp_path / "out", time_limit=float("inf"))
    opts.validate()
    assert opts.time_limit is None


def test_solve_command_uses_the_one_time_limit_rule(tmp_path, capsys):
    inst = tmp_path / "i.npy"
    np.save(inst, np.array([[0.0, 1.0], [1.0, 0.0]]))
    code, err = _main(capsys, "solve", str(inst), "--time-limit", "nan")
    assert code == 2 and err.strip() == "corrclust solve: error: --time-limit must be >= 0 seconds, got nan"


def test_dense_problem_and_dense_solve_check_memory_first(monkeypatch):
    from corrclust import memory
    from corrclust.memory import InsufficientMemoryError
    from corrclust.problem import Problem
    from corrclust.solve import solve

    c = np.ones((100, 100))
    p = Problem.from_dense(c)
    monkeypatch.setattr(memory, "available_bytes", lambda: 50_000)
    with pytest.raises(
        InsufficientMemoryError, match=r"dense problem of 100 nodes .* needs 78.1 KiB of memory and 48.8 KiB"
    ):
        Problem.from_dense(c)
    with pytest.raises(
        InsufficientMemoryError, match=r"solving a dense problem of 100 nodes \(kl\) needs 78.1 KiB"
    ):
        solve(p, method="kl")


def test_cli_reports_insufficient_memory_in_one_line(tmp_path, capsys, monkeypatch):
    from corrclust import memory

    inst = tmp_path / "i.npy"
    np.save(inst, np.ones((50, 50)))
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    code, err = _main(capsys, "solve", str(inst))
    assert code == 1 and len(err.strip().splitlines()) == 1 and "needs 19.5 KiB of memory" in err


def test_non_utf8_clustering_file_names_file_and_line(tmp_path, capsys):
    p = tmp_path / "p.csv"
    p.write_bytes(b"1,2\n3,\xff\n")
    t = tmp_path / "t.csv"
    t.write_bytes(b"1,2\n3\n")
    code, err = _main(capsys, "evaluate", str(p), str(t))
    assert (
        code == 2
        and err.strip() == f"corrclust evaluate: error: {p}, line 2: not UTF-8 text (byte 0xff at column 3)"
    )


def test_error_line_names_the_action_of_a_command_group(tmp_path, capsys):
    code, err = _main(
        capsys, "pqap", "similarities", str(tmp_path / "none.csv"), "-o", str(tmp_path / "S.npz")
    )
    assert code == 2 and err.startswith("corrclust pqap similarities: error: key-point file not found")


def _small_keypoints(tmp_path):
    from corrclust.pqap.io import KeypointSet, write_keypoints

    rng = np.random.default_rng(3)
    kp = KeypointSet(
        ids=[1, 2, 3],
        features={i: rng.random((3, 13)) for i in (1, 2, 3)},
        candidates={i: rng.random((4, 13)) for i in (1, 2, 3)},
    )
    path = tmp_path / "kp.csv"
    write_keypoints(path, kp)
    return path


def test_pqap_similarities_keeps_a_default_checkpoint_next_to_the_output(tmp_path, capsys, monkeypatch):
    import corrclust.pqap as pqap

    kp = _small_keypoints(tmp_path)
    out = tmp_path / "S.npz"
    seen = []
    real = pqap.similarity_matrix

    def interrupted(*args, **kw):
        seen.append(kw["checkpoint"])
        real(*args, **kw)  # writes the checkpoint at its end
        raise KeyboardInterrupt

    monkeypatch.setattr(pqap, "similarity_matrix", interrupted)
    code, err = _main(
        capsys, "pqap", "similarities", str(kp), "-o", str(out), "--threads", "1", "--no-progress"
    )
    assert code == 130 and not out.exists()
    assert seen == [str(tmp_path / "S.checkpoint.npz")] and (tmp_path / "S.checkpoint.npz").is_file()
    monkeypatch.setattr(pqap, "similarity_matrix", real)
    code, err = _main(
        capsys, "pqap", "similarities", str(kp), "-o", str(out), "--threads", "1", "--no-progress"
    )
    assert code == 0 and out.is_file() and not (tmp_path / "S.checkpoint.npz").exists()


def test_default_checkpoint_of_another_run_is_replaced_not_refused(tmp_path, capsys):
    kp = _small_keypoints(tmp_path)
    (tmp_path / "S.checkpoint.npz").write_bytes(b"left by something else")
    code, err = _main(
        capsys,
        "pqap",
        "similarities",
        str(kp),
        "-o",
        str(tmp_path / "S.npz"),
        "--threads",
        "1",
        "--no-progress",
    )
    assert code == 0, err
    named = tmp_path / "mine.npz"
    named.write_bytes(b"not a checkpoint")
    code, err = _main(
        capsys,
        "pqap",
        "similarities",
        str(kp),
        "-o",
        str(tmp_path / "S2.npz"),
        "--checkpoint",
        str(named),
        "--threads",
        "1",
        "--no-progress",
    )
    assert code == 2 and "not a readable PQAP checkpoint" in err


def test_exact_dense_refuses_before_allocating_what_would_not_fit(monkeypatch):
    from corrclust import memory
    from corrclust.memory import InsufficientMemoryError
    from corrclust.problem import Problem
    from corrclust.solve import solve

    c = -np.ones((100, 100))
    p = Problem.from_dense(c)
    # 100 x 100 float64 is 78.1 KiB (the heuristics' check passes); the exact solver needs at
    # least 128 bytes per pair to start: 4950 pairs, 618.8 KiB.
    monkeypatch.setattr(memory, "available_bytes", lambda: 200_000)
    assert solve(p, method="kl").objective == -4950.0
    with pytest.raises(
        InsufficientMemoryError,
        match=r"^the exact solver on a dense problem of 100 nodes \(4950 pairs, before any cut\) needs 618.8 KiB "
        r"of memory and 195.3 KiB is available$",
    ):
        solve(p, method="exact")
    monkeypatch.setattr(memory, "available_bytes", lambda: 700_000)
    assert solve(p, method="exact").objective == -4950.0


_FORMULA = '=HYPERLINK("http://x","y")'


def test_keypoint_and_matching_selection_names_are_neutralised_and_read_back(tmp_path):
    import csv

    from corrclust.pqap.io import (
        BLOCK_NAMES,
        KeypointSet,
        MatchingResults,
        PqapParameters,
        read_keypoints,
        read_matching_results,
        write_keypoints,
        write_matching_results,
    )

    rows = np.arange(13, dtype=np.float64).reshape(1, 13)
    selection = {"image_set": _FORMULA, "@name": "-cmd", "plain": "0.5"}
    kp = KeypointSet([1, 2], {1: rows, 2: rows}, {1: rows, 2: rows}, selection=selection)
    path = tmp_path / "kp.csv"
    write_keypoints(path, kp)
    cells = [c for row in csv.reader(path.open(newline="")) for c in row]
    assert not any(c.startswith(("=", "@", "-")) for c in cells if not c[:1].isdigit())
    assert '\'=HYPERLINK("http://x"' in cells and "'@name" in cells and "'-cmd" in cells
    assert read_keypoints(path).selection == selection

    block = np.array([[np.nan, 0.5], [0.25, np.nan]])
    results = MatchingResults(
        [1, 2],
        dict.fromkeys(BLOCK_NAMES, block),
        {(1, 2): np.array([0]), (2, 1): np.array([-1])},
        PqapParameters.paper(),
        selection=selection,
    )
    mpath = tmp_path / "m.csv"
    write_matching_results(mpath, results)
    cells = [c for row in csv.reader(mpath.open(newline="")) for c in row]
    assert '\'=HYPERLINK("http://x"' in cells
    assert not any(c.startswith(("=", "@", "-")) for c in cells if c != "-1")  # -1: "unassigned"
    # the matching-results reader keeps one cell per value (the paper's format has no quoting)
    assert read_matching_results(mpath).selection == {**selection, "image_set": '=HYPERLINK("http://x"'}


def test_feedback_source_and_time_are_neutralised_and_read_back(tmp_path):
    from corrclust.feedback import append_answers, read_feedback

    path = tmp_path / "feedback.csv"
    append_answers(path, [(1, 2, "same", "+2026", _FORMULA)])
    line = path.read_text().splitlines()[1]
    assert line.split(",", 3)[3].startswith("'+2026,\"'=HYPERLINK")
    answer = read_feedback(path).answers[0]
    assert (answer.time, answer.source) == ("+2026", _FORMULA)


def test_clustering_metadata_cells_are_neutralised(tmp_path):
    import csv

    from corrclust.formats.clusterings import read_clustering, write_clustering

    path = tmp_path / "c.csv"
    write_clustering(path, [[1, 2], [3]], metadata={"matching_results_file": "a.npz,=cmd()"})
    rows = list(csv.reader(path.open(newline="")))
    assert rows[-1] == ["matching_results_file:a.npz", "'=cmd()"]
    assert read_clustering(path) == [[1, 2], [3]]


def test_review_keeps_a_formula_file_name_quoted_once(tmp_path):
    import csv

    from test_review import make_run

    from corrclust.review import ReviewState

    images, _, out = make_run(tmp_path)
    rows = list(csv.reader(open(out / "clusters.csv", newline="")))
    rows[1][2] = "'" + _FORMULA + ".tif"  # as the pipeline writes a file named =HYPERLINK(...)
    with open(out / "clusters.csv", "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    state = ReviewState(out)
    assert state.files[int(rows[1][0])] == _FORMULA + ".tif"
    state.recluster()
    again = list(csv.reader(open(out / "clusters.csv", newline="")))
    assert {r[0]: r[2] for r in again[1:]}[rows[1][0]] == "'" + _FORMULA + ".tif"


# --- reader bugs found by tests/test_properties_readers.py ---------------------------------------

_KP = (
    "begin_selection_parameters\nimage_set,a\nend_selection_parameters\n"
    "features_begin,{id}\n{row}\nfeatures_end,{id}\ncandidates_begin,{id}\ncandidates_end,{id}\n"
)
_ROW = ",".join(["0"] * 13)
_PARAMS = (
    "color_cost_offset=0.2\ndist_cost_offset=0.3\nangle_cost_offset=0.04\n"
    "color_to_dist_weight=0.1\nunary_to_quadr_weight={last}\n"
)


@pytest.mark.parametrize(
    "kind, text, needle",
    [
        ("kp", _KP.format(id=1, row="1_0" + _ROW[1:]), "line 5: not a number in column 1: '1_0'"),
        ("kp", _KP.format(id=1, row="\u0661" + _ROW[1:]), "line 5: not a number in column 1"),
        ("kp", _KP.format(id=1, row=" 1" + _ROW[1:]), "line 5: not a number in column 1: ' 1'"),
        ("kp", _KP.format(id="1_0", row=_ROW), "line 4: organoid id must be an integer"),
        ("kp", _KP.format(id="\u0661", row=_ROW), "line 4: organoid id must be an integer"),
        (
            "kp",
            _KP.replace("image_set,a\n", "image_set,a\nimage_set,b\n").format(id=1, row=_ROW),
            "line 3: selection parameter 'image_set' given twice",
        ),
        ("kp", "," + _KP.format(id=1, row=_ROW), "line 1: expected 'begin_selection_parameters'"),
        ("params", _PARAMS.format(last="0.\u0665"), "line 5: unary_to_quadr_weight is not a number"),
        ("params", _PARAMS.format(last="1_0"), "line 5: unary_to_quadr_weight is not a number"),
        ("clustering", "1,2\n3,1_0\n", "line 2: '1_0' is not an integer id"),
        ("clustering", "1,2\n\u0663\n", "line 2: '\u0663' is not an integer id"),
        ("table", "id,cluster\n1_0,1\n", "line 2: '1_0' is not an integer id"),
        ("pace", "c \0\np cep 2 0\n", "binary file"),
        ("pace", "c " + "x" * 5000 + "\nc \0\np cep 2 0\n", "line 2: a NUL byte"),
    ],
)
def test_readers_refuse_what_int_and_float_would_take(tmp_path, kind, text, needle):
    from corrclust.formats.clusterings import read_clustering
    from corrclust.formats.instances import read_instance
    from corrclust.pqap.io import read_keypoints, read_parameters

    path = tmp_path / ("f.gr" if kind == "pace" else "f.csv")
    path.write_bytes(text.encode())
    reader = {"kp": read_keypoints, "params": read_parameters, "pace": read_instance}.get(
        kind, read_clustering
    )
    with pytest.raises(ValueError) as exc:
        reader(path)
    message = str(exc.value)
    assert str(path) in message and needle in message and "\n" not in message


@pytest.mark.parametrize(
    "text",
    [
        "c " + "x" * 5000 + "\np cep 2 1\n1 2\n",
        "cX comment\np cep 2 1\n1 2\n",
        "c\x0bcomment\np cep 2 1\n1 2\n",
        "p\x1ccep 2 1\n1 2\n",
    ],
)
def test_pace_comments_and_white_space_as_the_readers_split_them(tmp_path, text):
    from corrclust.formats.instances import read_instance

    path = tmp_path / "g.gr"
    path.write_bytes(text.encode())
    np.testing.assert_array_equal(read_instance(path).to_dense(), [[0.0, 1.0], [1.0, 0.0]])


def test_cluster_table_with_blank_lines_before_its_header(tmp_path):
    from corrclust.formats.clusterings import read_clustering

    path = tmp_path / "clusters.csv"
    path.write_text("\n\nid,cluster,file\n1,a,x.tif\n2,b,y.tif\n3,a,z.tif\n")
    assert read_clustering(path) == [[1, 3], [2]]


def test_similarity_ids_as_text_are_integers_only_in_plain_digits(tmp_path):
    from corrclust.pipeline.correlations import load_correlations

    good, bad = tmp_path / "g.npz", tmp_path / "b.npz"
    np.savez(good, ids=np.array(["10", "-2"]), S=np.zeros((2, 2)))
    np.testing.assert_array_equal(load_correlations(good).ids, [10, -2])
    np.savez(bad, ids=np.array(["1_0", "2"]), S=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"'ids' must be a 1-D integer array"):
        load_correlations(bad)


@pytest.mark.parametrize(
    "line, needle",
    [
        ("1,S,,0.5", "line 3: empty cell in column 3"),  # was dropped, shifting the values left
        ("1,S,1_0", "line 3: not a number in column 2: '1_0'"),
        ("1,S,NaN", "line 3: not a number in column 2: 'NaN'"),
        ("1_0,S,0.5", "line 3: row ids must be integers"),
    ],
)
def test_matching_results_refuse_shifted_or_lenient_cells(tmp_path, line, needle):
    from corrclust.pqap.io import (
        BLOCK_NAMES,
        MatchingResults,
        PqapParameters,
        read_matching_results,
        write_matching_results,
    )

    block = np.array([[np.nan, 0.5], [0.25, np.nan]])
    path = tmp_path / "m.csv"
    results = MatchingResults([1, 2], dict.fromkeys(BLOCK_NAMES, block), {}, PqapParameters.paper())
    write_matching_results(path, results)
    lines = path.read_text().splitlines()
    assert lines[2].startswith("1,S,0.5")  # after a blank line and the header
    read_matching_results(path)  # as written: fine
    lines[2] = line
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError) as exc:
        read_matching_results(path)
    assert str(path) in str(exc.value) and needle in str(exc.value)


# --- the small CSV readers (found by tests/test_properties_readers_tables.py) ---------------------


def test_warm_start_labels_csv_refuses_a_node_twice_and_lenient_integers(tmp_path):
    from corrclust.commands.solve import read_labels

    path = tmp_path / "labels.csv"
    path.write_text("node,label\n0,1\n1,0\n0,0\n")  # node 0 twice: was read as 0 -> 0
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}, line 4: node 0 is listed twice$"):
        read_labels(str(path))
    path.write_text("node,label\n0,1_0\n")  # int() takes 1_0
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}, line 2: "):
        read_labels(str(path))
    path.write_bytes(b"node,label\n0,\xff\n")  # was a UnicodeDecodeError naming no file
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: not a UTF-8 text file"):
        read_labels(str(path))


def test_feedback_reader_uses_the_number_rule_the_header_order_and_editor_line_numbers(tmp_path):
    from corrclust.feedback import read_feedback

    path = tmp_path / "feedback.csv"
    path.write_text("a,b,answer\n1_0,2,same\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:2: a '1_0' is not an integer"):
        read_feedback(path)
    path.write_text("a,b,answer,source\n1,2,same,review\n")  # 'review' was read as the time
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:1: the first line must be the header"):
        read_feedback(path)
    path.write_text("a,b,answer\n# a note\x0cwith a form feed\n1,x,same\n")  # splitlines made it line 4
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:3: b 'x'"):
        read_feedback(path)
    path.write_bytes(b"\xef\xbb\xbfa,b,answer\n1,2,same\n")  # a spreadsheet's byte-order mark
    assert [(x.a, x.b, x.answer) for x in read_feedback(path).answers] == [(1, 2, "same")]


def test_calibration_reader_names_the_real_line_and_refuses_ambiguous_rows(tmp_path):
    from corrclust.feature_costs import read_calibration

    keys = [f"crop_{i}.tif|{i}" for i in range(100, 104)]
    path = tmp_path / "calibration.csv"
    path.write_text("id,class\n\n\n100,A\n999,B\n")  # blank lines were not counted: line 3
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:5: '999' is not an image"):
        read_calibration(path, keys)
    path.write_text("id,class\n100,A\n101,A\n100,B\n")  # 100 twice: the last class silently won
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:4: '100' is labelled a second time"):
        read_calibration(path, keys)
    path.write_text("a,b,same\n100,crop_100.tif,1\n")  # an image paired with itself
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:2: a pair needs two different images"):
        read_calibration(path, keys)
    path.write_text("id,class\n100,A\n101, \n102,B\n")  # a blank class was a class of its own
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:3: '101' has no class$"):
        read_calibration(path, keys)
    # a pair marked twice, in either order and either way (pinned by its last line, scored twice)
    for again in ("101,100,0", "crop_100.tif,101,yes"):
        path.write_text(f"a,b,same\n100,101,1\n102,103,0\n{again}\n")
        with pytest.raises(
            ValueError,
            match=rf"^{re.escape(str(path))}:4: the pair '[^']+', '[^']+' is marked a second time "
            r"\(first on line 2\)$",
        ):
            read_calibration(path, keys)
    # marks that cannot all hold: 100 ~ 101 ~ 102 but 100 !~ 102 (calibrated silently before)
    path.write_text("a,b,same\n100,101,1\n103,100,0\n102,crop_101.tif,yes\ncrop_100.tif,102,no\n")
    with pytest.raises(
        ValueError,
        match=rf"^{re.escape(str(path))}:5: 'crop_100.tif' and '102' are marked different, but the "
        r"same-class marks of lines 2, 4 put them in one class$",
    ):
        read_calibration(path, keys)
    path.write_text("a,b,same\n100,101,1\n103,100,0\n102,crop_101.tif,yes\n")  # consistent: read
    assert read_calibration(path, keys) == [(0, 1, True), (3, 0, False), (2, 1, True)]
    path.write_bytes(b"id,class\n100,\xff\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: not a UTF-8 text file"):
        read_calibration(path, keys)


def test_ids_table_refuses_an_empty_file_cell_lenient_ids_and_bad_bytes(tmp_path):
    from corrclust.images.io import list_images

    (tmp_path / "a.tif").write_bytes(b"")
    table = tmp_path / "ids.csv"
    table.write_text("file,id\n,7\n")  # the empty name was the folder itself, listed as an image
    with pytest.raises(ValueError, match=rf"^{re.escape(str(table))}:2: image file not found"):
        list_images(tmp_path, table)
    table.write_text("file,id\na.tif,1_0\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(table))}:2: id '1_0' is not an integer"):
        list_images(tmp_path, table)
    table.write_text("file,id\na\0.tif,1\n")  # was 'embedded null byte', naming no file
    with pytest.raises(ValueError, match=rf"^{re.escape(str(table))}: holds a NUL byte"):
        list_images(tmp_path, table)
    table.write_bytes(b"file,id\na.tif,\xff\n")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(table))}: not a UTF-8 text file"):
        list_images(tmp_path, table)
    table.write_bytes(b'\xef\xbb\xbffile,id\n\n"a.tif",3\n')  # a spreadsheet's byte-order mark
    assert [(r.path.name, r.id) for r in list_images(tmp_path, table)] == [("a.tif", 3)]


def test_feature_ids_reader_names_the_real_line_and_bad_bytes(tmp_path):
    from corrclust.commands.cluster import read_ids

    path = tmp_path / "ids.csv"
    path.write_text("id,well\n\n\n7,a\n,b\n")  # blank lines were dropped before counting: line 3
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:5: no id$"):
        read_ids(path, 2)
    path.write_bytes(b"id\n7\xff\n")  # was a UnicodeDecodeError naming no file
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: not a UTF-8 text file"):
        read_ids(path, 1)
    path.write_bytes(b"\xef\xbb\xbfid\n7\n")
    assert read_ids(path, 1) == ["7"]


def test_sigint_reaches_the_suite_and_its_children():
    """conftest.py undoes the ignored SIGINT of a suite started in the background (``pytest &``), so
    the Ctrl-C tests test the package, not the shell; this fails in a background run without it."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    child = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
