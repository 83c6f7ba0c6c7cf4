"""Self-supervised embeddings: augmentation invariants, learning, checkpoints and resume, determinism."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

from corrclust.ssl import (  # noqa: E402
    Augmentation,
    SSLConfig,
    augment,
    embed,
    embedding_costs,
    load_model,
    train,
)


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def shapes(n_per_class=8, size=16, seed=0):
    """Crops (N, 3, size, size) in [0, 1] of discs, bars and rings at random places and intensities."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    out = []
    for kind in range(3):
        for _ in range(n_per_class):
            cy, cx = rng.uniform(5, size - 5, 2)
            r = np.hypot(yy - cy, xx - cx)
            if kind == 0:
                m = r < 4
            elif kind == 1:
                m = (abs(yy - cy) < 1.5) & (abs(xx - cx) < 6)
            else:
                m = (r > 2.5) & (r < 4.5)
            img = np.zeros((3, size, size), np.float32)
            img[kind % 3][m] = rng.uniform(0.6, 1.0)
            img += rng.uniform(0, 0.05, img.shape).astype(np.float32)
            out.append(img)
    return torch.from_numpy(np.stack(out))


def tiny(**kw):
    base = dict(image_size=16, width=4, proj_hidden=16, proj_dim=8, batch_size=12, steps=8, lr=3e-3)
    base.update(kw)
    return SSLConfig(**base)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# -- augmentation ---------------------------------------------------------------------------------


def test_augment_keeps_shape_dtype_and_range():
    x = shapes()
    y = augment(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == torch.float32
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert not torch.equal(y, x)


def test_augment_never_mixes_channels():
    # change channel 0 only: channels 1 and 2 of the views must not move (same random draws)
    x = shapes()
    x2 = x.clone()
    x2[:, 0] = torch.rand(x.shape[0], x.shape[2], x.shape[3], generator=torch.Generator().manual_seed(5))
    a = augment(x, torch.Generator().manual_seed(1))
    b = augment(x2, torch.Generator().manual_seed(1))
    assert torch.equal(a[:, 1:], b[:, 1:])
    assert not torch.equal(a[:, 0], b[:, 0])


def test_augment_is_seeded():
    x = shapes()
    a = augment(x, torch.Generator().manual_seed(3))
    b = augment(x, torch.Generator().manual_seed(3))
    c = augment(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_with_the_continuous_parts_off_augment_is_an_exact_dihedral_transform():
    off = Augmentation(
        rotate=False,
        scale=1.0,
        shift=0.0,
        gamma=1.0,
        contrast=1.0,
        brightness=0.0,
        channel_gain=1.0,
        blur_p=0.0,
        noise=0.0,
    )
    x = shapes(n_per_class=4)
    y = augment(x, torch.Generator().manual_seed(0), off)
    kinds = set()
    for i in range(x.shape[0]):
        candidates = [torch.rot90(v, k, dims=(-2, -1)) for v in (x[i], x[i].flip(-1)) for k in range(4)]
        hits = [j for j, c in enumerate(candidates) if torch.allclose(y[i], c, atol=1e-6)]
        assert hits, f"image {i} is not a rotation/flip of its input"
        kinds.add(hits[0])
    assert len(kinds) > 2  # several different transforms were drawn


def test_bad_augmentation_settings_are_refused():
    with pytest.raises(ValueError, match="gamma"):
        SSLConfig(augmentation=Augmentation(gamma=0.5)).validate()
    with pytest.raises(ValueError, match="unknown self-supervised method"):
        SSLConfig(method="mae").validate()


# -- training -------------------------------------------------------------------------------------


def test_training_lowers_the_loss():
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    res = train(x, ids, tiny(steps=40), seed=0, progress=False)
    assert res.stopped == "completed" and res.steps == 40
    first, last = np.mean(res.losses[:8]), np.mean(res.losses[-8:])
    assert last < 0.9 * first, (first, last)  # measured: 3.34 -> 2.86


def test_same_seed_same_weights_other_seed_other_weights():
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    a = train(x, ids, tiny(), seed=7, progress=False)
    b = train(x, ids, tiny(), seed=7, progress=False)
    c = train(x, ids, tiny(), seed=8, progress=False)
    assert _same_weights(a.model, b.model) and a.losses == b.losses
    assert not _same_weights(a.model, c.model)


@pytest.mark.parametrize("method", ["simclr", "byol"])
def test_interrupt_and_resume_gives_the_uninterrupted_weights(tmp_path, method):
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    cfg = tiny(method=method)
    full = train(x, ids, cfg, seed=3, progress=False)
    out, ckpt = tmp_path / "m.pt", tmp_path / "m.pt.ckpt"

    def interrupt_at_4(step, loss):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    first = train(x, ids, cfg, seed=3, progress=False, output=out, on_step=interrupt_at_4, checkpoint_every=0)
    assert first.stopped == "interrupted" and first.steps == 4 and not out.exists()
    assert torch.load(ckpt, weights_only=True)["step"] == 4
    second = train(x, ids, cfg, seed=3, progress=False, output=out)
    assert second.stopped == "completed" and second.steps == 8
    assert second.losses == full.losses
    assert _same_weights(second.model, full.model)
    assert out.is_file() and not ckpt.exists()


def test_time_based_checkpoints_let_a_crashed_run_continue(tmp_path):
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    cfg = tiny()
    full = train(x, ids, cfg, seed=1, progress=False)
    ckpt = tmp_path / "m.pt.ckpt"
    saved = []

    def crash_at_5(step, loss):
        saved.append(torch.load(ckpt, weights_only=True)["step"])
        if step == 5:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        train(
            x,
            ids,
            cfg,
            seed=1,
            progress=False,
            output=tmp_path / "m.pt",
            checkpoint_every=1e-9,
            on_step=crash_at_5,
        )
    assert saved == [1, 2, 3, 4, 5]
    again = train(x, ids, cfg, seed=1, progress=False, output=tmp_path / "m.pt")
    assert again.steps == 8 and _same_weights(again.model, full.model)


def test_time_budget_keeps_the_checkpoint_and_a_rerun_continues(tmp_path):
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    cfg = tiny(steps=100000)
    out = tmp_path / "m.pt"
    first = train(x, ids, cfg, seed=0, progress=False, output=out, time_budget=0.5)
    assert first.stopped == "time-budget" and 0 < first.steps < 100000
    assert (tmp_path / "m.pt.ckpt").is_file()
    assert any("barely trained" in w for w in first.warnings) or first.steps >= 50
    more = train(x, ids, cfg, seed=0, progress=False, output=out, time_budget=3 * first.elapsed_s + 1)
    assert more.steps > first.steps and more.losses[: first.steps] == first.losses
    assert load_model(out)[1]["steps"] == more.steps


def test_checkpoint_and_model_files_keep_the_version_1_entries(tmp_path):
    # Files written by earlier releases hold exactly these entries; the resume tests above read
    # files of the current writer, so this pins the writer to what those old files hold.
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    out = tmp_path / "m.pt"
    res = train(x, ids, tiny(), seed=0, progress=False, output=out, time_budget=1e-9)
    assert res.stopped == "time-budget" and res.steps == 1  # one step, then the budget is spent
    ckpt = torch.load(tmp_path / "m.pt.ckpt", weights_only=True)
    assert set(ckpt) == {
        "format", "version", "config", "seed", "data", "model", "optimizer",
        "numpy_rng", "torch_rng", "step", "elapsed", "losses",
    }  # fmt: skip
    assert (ckpt["format"], ckpt["version"], ckpt["step"], ckpt["seed"]) == (
        "corrclust-ssl-checkpoint",
        1,
        1,
        0,
    )
    assert set(ckpt["data"]) == {"ids", "shape"} and set(ckpt["numpy_rng"]) >= {"bit_generator", "state"}
    model = torch.load(out, weights_only=True)
    assert set(model) == {"format", "version", "config", "in_channels", "training", "state_dict"}
    assert (model["format"], model["version"]) == ("corrclust-ssl-model", 1)


def test_checkpoint_of_other_settings_or_data_is_refused(tmp_path):
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    out = tmp_path / "m.pt"
    train(x, ids, tiny(steps=1000), seed=0, progress=False, output=out, time_budget=0.3)
    with pytest.raises(ValueError, match="other training settings.*temperature"):
        train(x, ids, tiny(steps=1000, temperature=0.5), seed=0, progress=False, output=out)
    with pytest.raises(ValueError, match="other images"):
        train(x[1:], ids[1:], tiny(steps=1000), seed=0, progress=False, output=out)


# -- embeddings and costs -------------------------------------------------------------------------


def test_saved_model_embeds_like_the_trained_one_and_is_orientation_invariant(tmp_path):
    x = shapes()
    ids = [str(i) for i in range(x.shape[0])]
    res = train(x, ids, tiny(), seed=0, progress=False, output=tmp_path / "m.pt")
    net, training = load_model(tmp_path / "m.pt")
    e = embed(res.model, x)
    assert e.shape == (x.shape[0], 8 * 4) and e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(embed(net, x), e)
    np.testing.assert_allclose(embed(net, torch.rot90(x, 1, dims=(-2, -1)).flip(-1)), e, atol=1e-5)
    assert training["steps"] == 8


def test_embedding_costs_are_the_label_free_rule_and_separate_a_planted_pair_of_classes():
    from corrclust.feature_costs import costs_from_features
    from corrclust.problem import Problem
    from corrclust.solve import solve

    rng = np.random.default_rng(0)
    a = rng.normal([5, 0, 0], 0.1, (10, 3))
    b = rng.normal([0, 5, 0], 0.1, (10, 3))
    x = np.vstack([a, b])
    c, info = embedding_costs(x, k=3)
    # the profile route's rule, on the rows scaled to unit length (so the scale of x does not matter)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(c, costs_from_features(unit, k=3)[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(embedding_costs(7.0 * x, k=3)[0], c, rtol=0, atol=1e-12)
    assert info["rule"] == "local-scaling" and info["k"] == 3
    same = np.zeros((20, 20), bool)
    same[:10, :10] = same[10:, 10:] = True
    np.fill_diagonal(same, False)
    between = ~same
    np.fill_diagonal(between, False)
    assert c[between].max() == -20.0  # far beyond both neighbourhood scales: clipped repulsion
    assert c[same].min() > c[between].max()
    labels = solve(Problem.from_dense(c), method="kl").labels
    assert not set(labels[:10]) & set(labels[10:])  # never joins the two classes
    assert np.allclose(c, c.T) and np.all(np.diag(c) == 0)
    assert embedding_costs(x[:1])[0].shape == (1, 1)


# -- command line ---------------------------------------------------------------------------------


def _folder(path, n=12, channels=3):
    import tifffile

    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for k in range(n):
        a = (rng.random((20, 18, channels)) * 60).astype(np.uint8)
        a[5:15, 4:14, k % channels] = 200
        tifffile.imwrite(path / f"cell_{k}.tif", a)
    return path


SSL_TINY = ["--image-size", "16", "--width", "4", "--batch-size", "6", "--steps", "3", "--quiet"]


def test_cli_train_then_embed(tmp_path, capsys):
    from corrclust.cli import main

    d = _folder(tmp_path / "crops")
    model = tmp_path / "m.pt"
    assert main(["ssl", "train", str(d), "-o", str(model), *SSL_TINY]) == 0
    err = capsys.readouterr().err
    assert "completed after 3 steps" in err and "warning: barely trained" in err
    out = tmp_path / "e.npz"
    assert main(["ssl", "embed", str(model), str(d), "-o", str(out), "--quiet"]) == 0
    assert "warning: model" in capsys.readouterr().err
    z = np.load(out)
    assert z["features"].shape == (12, 32) and z["costs"].shape == (12, 12)
    np.testing.assert_array_equal(z["costs"], embedding_costs(z["features"])[0])
    assert sorted(int(i) for i in z["ids"]) == list(range(12))  # the ids in the names (cell_<id>.tif)


def test_cli_errors_are_one_line(tmp_path, capsys):
    from corrclust.cli import main

    assert main(["ssl", "train", str(tmp_path / "missing"), "-o", str(tmp_path / "m.pt"), *SSL_TINY]) == 2
    assert "no such folder" in capsys.readouterr().err
    d = _folder(tmp_path / "crops")
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    assert main(["ssl", "embed", str(tmp_path / "bad.pt"), str(d), "-o", str(tmp_path / "e.npz")]) == 2
    assert "not a readable corrclust self-supervised model" in capsys.readouterr().err
    one = tmp_path / "one"
    one.mkdir()
    first = next(p for p in sorted(d.iterdir()) if p.suffix == ".tif")
    (one / first.name).write_bytes(first.read_bytes())
    assert main(["ssl", "train", str(one), "-o", str(tmp_path / "o.pt"), *SSL_TINY]) == 2
    assert capsys.readouterr().err.strip() == (
        f"corrclust ssl train: error: self-supervised training needs at least 2 images, {one} has 1 readable"
    )


def test_cluster_route_trains_on_the_folder_and_a_rerun_continues(tmp_path, capsys):
    import csv

    from corrclust.cli import main

    d = _folder(tmp_path / "crops")
    out = tmp_path / "out"
    args = ["cluster", str(d), "--method", "ssl", "--time-budget", "1", "-o", str(out), "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "training a self-supervised embedding on 12 images" in err and "barely trained" in err
    assert f"(checkpoint {out / 'ssl' / 'model.pt.ckpt'}; a rerun continues)" in err
    with open(out / "clusters.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and set(rows[0]) >= {"id", "cluster", "file"}
    z = np.load(out / "ssl" / "embeddings.npz")
    assert z["features"].shape == (12, 256)
    # the clusters are those of the label-free rule on these embeddings (the profile route's rule)
    from corrclust.metrics import variation_of_information
    from corrclust.problem import Problem
    from corrclust.solve import solve

    costs, _ = embedding_costs(z["features"])
    expected = solve(Problem.from_probabilities(1 / (1 + np.exp(-costs))), method="kl", seed=0).labels
    got = {r["id"]: r["cluster"] for r in rows}
    assert variation_of_information(expected, [got[str(i)] for i in z["ids"]])[0] == 0.0
    record = load_model(out / "ssl" / "model.pt")[1]
    assert (out / "ssl" / "model.pt.ckpt").is_file()  # stopped by the budget: kept for a rerun
    larger = 3 * record["elapsed_s"] + 1  # room for more steps of the speed just seen, even under load
    assert main(args[:5] + [f"{larger:.2f}"] + args[6:]) == 0  # a larger budget trains on
    assert (
        f"images for up to {float(f'{larger:.2f}'):g} s in all (resuming from {out / 'ssl' / 'model.pt.ckpt'})"
        in (capsys.readouterr().err)
    )
    assert load_model(out / "ssl" / "model.pt")[1]["steps"] > record["steps"]


def test_cluster_route_above_the_dense_limit_goes_sparse(tmp_path, capsys):
    import csv

    from corrclust.cli import main
    from corrclust.embedding_clustering import cluster_embeddings
    from corrclust.pipeline.clustering import number_clusters

    d = _folder(tmp_path / "crops")
    out = tmp_path / "out"
    args = ["cluster", str(d), "--method", "ssl", "--time-budget", "1", "-o", str(out), "--no-progress"]
    assert main([*args, "--dense-max-n", "6"]) == 0
    err = capsys.readouterr().err
    assert "12 images are above the dense limit of 6" in err and "the ssl features" in err
    with open(out / "clusters.csv", newline="") as fh:
        got = {int(r["id"]): int(r["cluster"]) for r in csv.DictReader(fh)}
    z = np.load(out / "ssl" / "embeddings.npz")
    x = z["features"] / np.linalg.norm(z["features"], axis=1, keepdims=True)  # as embedding_costs scales
    ids = z["ids"].astype(np.int64)
    ref = cluster_embeddings(x, ids=ids, path="sparse", knn="exact", seed=0)
    assert got == dict(zip(ids.tolist(), number_clusters(ref.labels).tolist(), strict=True))
    assert not (out / "similarities.npz").exists()


def test_cluster_route_refuses_pqap_parameters(tmp_path, capsys):
    from corrclust.cli import main

    d = _folder(tmp_path / "crops")
    (tmp_path / "p.txt").write_text("color_cost_offset=0.2\n")
    args = [
        "cluster",
        str(d),
        "--method",
        "ssl",
        "--params",
        str(tmp_path / "p.txt"),
        "-o",
        str(tmp_path / "o"),
    ]
    assert main(args) == 2
    assert "does not apply to --method ssl" in capsys.readouterr().err


# -- a pool-trained network joined to the profiles (cluster --ssl-model) -----------------------------


def _shapes_folder(path, n=8):
    """Brightfield-like crops of two shapes (the profile route's test objects), class = id // 100."""
    import tifffile
    from test_profile_route import _draw

    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for cls, kind in ((1, "round"), (2, "long")):
        for k in range(n):
            tifffile.imwrite(path / f"cell_{cls * 100 + k}.tif", _draw(kind, rng, size=32))
    return path


def test_embed_records_embeds_like_the_trained_network(tmp_path):
    from corrclust.images.io import list_images, read_record
    from corrclust.ssl import embed_records
    from corrclust.twin.data import from_arrays

    d = _shapes_folder(tmp_path / "crops")
    model = tmp_path / "m.pt"
    res = train(
        from_arrays([read_record(r).pixels for r in list_images(d)], None, None, "image", 16).inputs,
        [str(i) for i in range(16)],
        tiny(steps=3),
        seed=0,
        output=model,
        progress=False,
    )
    records = list(list_images(d))
    E, record = embed_records(model, records)
    data = from_arrays([read_record(r).pixels for r in records], None, None, "image", 16)
    np.testing.assert_array_equal(E, embed(res.model, data.inputs))
    assert record["steps"] == 3 and E.shape == (16, 32)
    rgb = tmp_path / "rgb"
    _folder(rgb, n=2)
    with pytest.raises(ValueError, match="trained on 1-channel crops, these have 3"):
        embed_records(model, list(list_images(rgb)))


def test_cli_ssl_train_on_a_pool_then_cluster_with_ssl_model(tmp_path, capsys):
    import csv

    from corrclust import feature_costs, profiles
    from corrclust.cli import main
    from corrclust.images.io import list_images
    from corrclust.profile_clustering import profile_features
    from corrclust.ssl import embed_records

    pool = _shapes_folder(tmp_path / "pool", n=10)
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    for m in (a, b):  # the same seed twice: the same network (no time budget reached in 4 steps)
        assert main(["ssl", "train", str(pool), "-o", str(m), *SSL_TINY[:-3], "--steps", "4", "--quiet"]) == 0
    wa, wb = (load_model(m)[0] for m in (a, b))
    assert _same_weights(wa, wb)
    capsys.readouterr()

    crops = _shapes_folder(tmp_path / "crops", n=6)
    outs = [tmp_path / "o1", tmp_path / "o2"]
    for out in outs:
        args = ["cluster", str(crops), "--ssl-model", str(a), "--truth", "auto", "-o", str(out)]
        assert main([*args, "--no-progress", "--no-sweep"]) == 0
    err = capsys.readouterr().err
    assert "profiles joined with the 32-dimensional embedding" in err
    assert "warning: self-supervised model: barely trained" in err  # 4 steps
    rows = [list(csv.DictReader(open(o / "clusters.csv", newline=""))) for o in outs]
    assert rows[0] == rows[1] and len(rows[0]) == 12  # deterministic for a seed
    # the clusters are the label-free rule's on [profiles | standardised embedding], equal weight
    records = list(list_images(crops))
    pf = profile_features(records)
    E, _ = embed_records(a, pf.records)
    X = feature_costs.join_blocks([pf.features, profiles.standardise(E)])
    C, _ = feature_costs.costs_from_features(X, k=feature_costs.scaled_neighbours(len(X)))
    from corrclust.metrics import variation_of_information
    from corrclust.problem import Problem
    from corrclust.solve import solve

    expected = solve(Problem.from_probabilities(1 / (1 + np.exp(-C))), method="kl", seed=0).labels
    got = {int(r["id"]): r["cluster"] for r in rows[0]}
    assert variation_of_information(expected, [got[int(i)] for i in pf.ids])[0] == 0.0
    assert "self-supervised embedding joined" in (outs[0] / "report.html").read_text()

    # above the dense limit the joined features take the sparse path
    sparse = tmp_path / "sparse"
    args = ["cluster", str(crops), "--ssl-model", str(a), "--dense-max-n", "6", "-o", str(sparse)]
    assert main([*args, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "above the dense limit of 6" in err and "profiles joined with the 32-dimensional" in err
    assert len(list(csv.DictReader(open(sparse / "clusters.csv", newline="")))) == 12

    # bad input: a missing model, one line
    assert (
        main(["cluster", str(crops), "--ssl-model", str(tmp_path / "none.pt"), "-o", str(tmp_path / "x")])
        == 2
    )
    assert "self-supervised model not found" in capsys.readouterr().err
    for wrong, says in (
        (["--method", "ssl"], "give the network as --model"),
        (["--method", "pqap"], "--method pqap"),
    ):
        assert main(["cluster", str(crops), *wrong, "--ssl-model", str(a), "-o", str(tmp_path / "y")]) == 2
        assert says in capsys.readouterr().err  # refused, not silently ignored (ssl would train afresh)
