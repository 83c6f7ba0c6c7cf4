"""cluster --feedback in image-folder mode, the report's review section, corrclust questions, and the
review server (loopback only, files only from OUT, escaping, concurrent answers over HTTP)."""

from __future__ import annotations

import csv
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from corrclust import pipeline
from corrclust.cli import main
from corrclust.feedback import read_feedback
from corrclust.images import synthetic


def _similarities(ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """Same class ~0.72, other ~0.58, but classes 2 and 3 look alike (the clustering merges them)."""
    rng = np.random.default_rng(seed)
    cls = ids // 100
    both = np.isin(cls, [2, 3])
    same = (cls[:, None] == cls[None, :]) | (both[:, None] & both[None, :])
    s = np.where(same, 0.72, 0.58) + rng.normal(0.0, 0.01, (ids.size, ids.size))
    # within the true classes 2 and 3 a little closer than across them
    s += 0.06 * (cls[:, None] == cls[None, :])
    np.fill_diagonal(s, np.nan)
    return s


def make_run(root: Path) -> tuple[Path, Path, Path]:
    """A finished ``corrclust cluster`` run of 3 x 4 synthetic organoids (classes 2 and 3 merged)."""
    images = root / "images"
    synthetic.generate(images, classes=3, per_class=4, seed=3, size=64)
    from corrclust.images.io import list_images

    ids = np.array([r.id for r in list_images(images)], dtype=np.int64)
    npz = root / "S.npz"
    np.savez(npz, ids=ids, S=_similarities(ids))
    out = root / "out"
    pipeline.run(pipeline.ClusterOptions(images, out, correlations=npz, truth="auto", progress=False))
    return images, npz, out


def clusters_of(out: Path) -> dict[int, int]:
    with open(out / "clusters.csv", newline="") as fh:
        return {int(r["id"]): int(r["cluster"]) for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("review"))


def test_image_mode_feedback_separates_the_merged_classes_and_reports_it(run_dir, tmp_path):
    images, npz, out0 = run_dir
    import shutil

    out = tmp_path / "out"
    shutil.copytree(out0, out)
    before = clusters_of(out)
    assert before[200] == before[300]  # merged without answers
    fb = tmp_path / "answers.csv"
    fb.write_text("a,b,answer\n200,201,same\n300,301,same\n200,300,different\n100,777,same\n")
    result = pipeline.run(
        pipeline.ClusterOptions(images, out, correlations=npz, truth="auto", progress=False, feedback=fb)
    )
    after = clusters_of(out)
    # the answers spread to the pairs they imply (corrclust.propagation, the default): 'different'
    # between 200 and 300 pushes the images like 200 away from those like 300, so the two merged
    # classes come apart whole (constraints alone: below)
    groups = sorted(sorted(i for i in after if after[i] == k) for k in set(after.values()))
    assert groups == [[100, 101, 102, 103], [200, 201, 202, 203], [300, 301, 302, 303]]
    # shifted costs, the groups at the width of PQAP similarities (0.5; at the width 1: -2.311586177431356)
    assert result.clustering.objective == pytest.approx(-2.3214703537885555, abs=1e-9)
    review = json.loads((out / "review.json").read_text())
    assert review["same"] == 2 and review["different"] == 1 and review["answers_skipped_unknown_ids"] == 1
    assert review["agreement_before"] == pytest.approx(2 / 3) and review["agreement_after"] == 1.0
    assert review["images_moved"] == 4 and review["pairs_changed"] == 16 and review["answers_spread"] is True
    # constraints only: the exact optimum under these answers (checked with the exact solver): 302 and
    # 303 join the larger group {200..203} (8 pairs at ~0.075) rather than {300, 301} (4 pairs at ~0.135)
    only = tmp_path / "only"
    shutil.copytree(out0, only)
    result = pipeline.run(
        pipeline.ClusterOptions(
            images, only, correlations=npz, truth="auto", progress=False, feedback=fb, propagate=False
        )
    )
    after = clusters_of(only)
    groups = sorted(sorted(i for i in after if after[i] == k) for k in set(after.values()))
    assert groups == [[100, 101, 102, 103], [200, 201, 202, 203, 302, 303], [300, 301]]
    assert result.clustering.objective == pytest.approx(-0.9153372695103937, abs=1e-9)
    review = json.loads((only / "review.json").read_text())
    assert review["images_moved"] == 2 and review["answers_spread"] is False
    page = (out / "report.html").read_text()
    assert "Review by the expert" in page and "Most and least typical members" in page
    assert "answers spread to the pairs they imply" in page
    assert sorted(p.name for p in (out / "thumbnails").iterdir())[:2] == ["100.png", "101.png"]


def test_typical_members_by_mean_cost():
    from corrclust.report import typical_members

    C = np.array([[0, 1.0, 0.5, -1], [1.0, 0, 0.2, -1], [0.5, 0.2, 0, -1], [-1, -1, -1, 0]])
    most, least = typical_members(C, np.array([1, 1, 1, 2]), 1, show=1)
    assert most == [(0, 0.75)] and least == [(2, 0.35)]
    assert typical_members(C, np.array([1, 1, 1, 2]), 2) == ([(3, 0.0)], [])


def test_questions_command(run_dir, tmp_path, capsys):
    _, _, out = run_dir
    assert main(["questions", str(out), "-n", "3", "--strategy", "random", "--seed", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a,b" and len(lines) == 4
    ids = set(clusters_of(out))
    assert all(int(x) in ids for line in lines[1:] for x in line.split(","))
    fb = tmp_path / "fb.csv"
    fb.write_text("a,b,answer\n200,300,different\n")
    q = tmp_path / "q.csv"
    assert main(["questions", str(out), "-n", "40", "--feedback", str(fb), "-o", str(q)]) == 0
    pairs = [tuple(map(int, line.split(","))) for line in q.read_text().splitlines()[1:]]
    assert len(pairs) == 40 and (200, 300) not in pairs and (300, 200) not in pairs
    # pairs answered 'unsure' are not proposed again (they came back after every answer), and an
    # answer naming an id outside the run is counted on stderr, as cluster --feedback does
    capsys.readouterr()
    assert main(["questions", str(out), "-n", "5", "-o", str(q)]) == 0
    first = [tuple(map(int, line.split(","))) for line in q.read_text().splitlines()[1:]]
    fb.write_text("a,b,answer\n" + "".join(f"{a},{b},unsure\n" for a, b in first) + "100,777,same\n")
    assert main(["questions", str(out), "-n", "5", "--feedback", str(fb), "-o", str(q)]) == 0
    second = [tuple(map(int, line.split(","))) for line in q.read_text().splitlines()[1:]]
    assert len(second) == 5 and not {(min(p), max(p)) for p in first} & {(min(p), max(p)) for p in second}
    assert f"{fb}: 1 answer(s) naming ids not in the run skipped" in capsys.readouterr().err
    # the active rule's next five after the unsure ones are the ones it ranked 6-10 without them
    assert main(["questions", str(out), "-n", "10", "-o", str(q)]) == 0
    ten = [tuple(map(int, line.split(","))) for line in q.read_text().splitlines()[1:]]
    assert ten[:5] == first and ten[5:] == second
    assert main(["questions", str(tmp_path), "-n", "1"]) == 2
    assert "similarities.npz not found" in capsys.readouterr().err
    # the folder of a run that kept no matrix (sparse path, --embeddings): said so, not "is it an output folder?"
    sparse = tmp_path / "sparse"
    sparse.mkdir()
    (sparse / "clusters.csv").write_text("id,cluster\n1,1\n2,1\n")
    assert main(["questions", str(sparse), "-n", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"corrclust questions: error: {sparse} holds clusters.csv but no similarities.npz: that run (the "
        "sparse path above --dense-max-n, or --embeddings) kept no matrix of every pair, which questions "
        "and the review page need; rerun 'corrclust cluster IMAGES_DIR' (with a higher --dense-max-n if it "
        "was above)"
    )


# ------------------------------------------------------------------ the server
@pytest.fixture
def server(run_dir, tmp_path):
    import shutil

    from corrclust.review import make_server

    out = tmp_path / "out"
    shutil.copytree(run_dir[2], out)
    srv = make_server(out, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, out, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _post(url: str, data: str) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, data=data.encode())) as r:
        return r.read().decode()


def test_review_port_in_use_or_out_of_range_is_one_line(run_dir, capsys):
    import socket

    _, _, out = run_dir
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["review", str(out), "--port", str(port), "--no-browser"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"corrclust review: error: port {port} on 127.0.0.1 is in use (another review page?); pick another "
        "with --port, or --port 0 for a free one"
    )
    with pytest.raises(SystemExit) as stop:  # argparse's exit; a traceback from bind() before
        main(["review", str(out), "--port", "99999", "--no-browser"])
    assert stop.value.code == 2
    assert "argument --port: expected a port number 0-65535, got '99999'" in capsys.readouterr().err


def test_server_refuses_non_loopback_binds(run_dir):
    from corrclust.review import make_server

    with pytest.raises(ValueError, match="--allow-remote"):
        make_server(run_dir[2], "0.0.0.0", 0)
    assert main(["review", str(run_dir[2]), "--host", "192.0.2.1", "--no-browser"]) == 2


def test_server_serves_only_files_inside_out(server, tmp_path):
    srv, out, base = server
    (tmp_path / "secret.txt").write_text("secret")
    assert _get(base + "/file/thumbnails/100.png")[0] == 200
    assert _get(base + "/file/clusters.csv")[0] == 200
    for bad in (
        "/file/../secret.txt",
        "/file/%2e%2e/secret.txt",
        "/file/..%2fsecret.txt",
        "/file//etc/passwd",
        "/file/thumbnails/../../secret.txt",
        "/file/thumbnails",
    ):
        status, body = _get(base + bad)
        assert status == 403 and b"secret" not in body, bad
    assert _get(base + "/nothing")[0] == 404


def test_server_escapes_file_names(run_dir, tmp_path):
    import shutil

    from corrclust.review import ReviewState

    out = tmp_path / "out"
    shutil.copytree(run_dir[2], out)
    rows = list(csv.reader(open(out / "clusters.csv", newline="")))
    rows[1][2] = "<script>alert('x')</script>.tif"
    with open(out / "clusters.csv", "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    page = ReviewState(out).page("<b>message</b>")
    assert "<script>" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;.tif" in page
    assert "&lt;b&gt;message&lt;/b&gt;" in page
    assert "http://" not in page and "https://" not in page  # no external asset


def test_server_actions_write_answers_and_recluster(server):
    srv, out, base = server
    state = srv.state
    _post(base + "/answer", "a=200&b=201&answer=same")
    _post(base + "/answer", "a=300&b=301&answer=same")
    page = _post(base + "/answer", "a=200&b=300&answer=different")
    assert "3 answer(s) given" in page
    page = _post(base + "/answer", "a=200&b=99999&answer=same")
    assert "not saved: image id 99999 is not in this run" in page
    k100 = state.labels[state.index[100]]
    _post(base + "/not-belonging", "image=101")  # 'different' against the typical others of cluster of 101
    fb = read_feedback(out / "feedback.csv")
    assert [(a.a, a.b, a.answer, a.source) for a in fb.answers[:3]] == [
        (200, 201, "same", "review"),
        (300, 301, "same", "review"),
        (200, 300, "different", "review"),
    ]
    assert {a.answer for a in fb.answers[3:]} == {"different"} and len(fb.answers) == 6
    assert all(a.a == 101 and state.labels[state.index[a.b]] == k100 for a in fb.answers[3:])
    page = _post(base + "/recluster", "")
    assert "re-clustered" in page
    after = clusters_of(out)
    assert after[200] != after[300] and after[101] not in {after[i] for i in (100, 102, 103)}
    assert json.loads((out / "review.json").read_text())["agreement_after"] == 1.0


def test_two_tabs_answering_at_once_lose_nothing(server):
    srv, out, base = server
    ids = [100, 101, 102, 103, 200, 201, 202, 203, 300, 301, 302, 303]
    pairs = [(a, b) for a in ids for b in ids if a < b]

    def tab(chunk):
        for a, b in chunk:
            _post(base + "/answer", f"a={a}&b={b}&answer=unsure")

    threads = [threading.Thread(target=tab, args=(pairs[t::4],)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fb = read_feedback(out / "feedback.csv")
    assert sorted((a.a, a.b) for a in fb.answers) == sorted(pairs)
    assert len((out / "feedback.csv").read_text().splitlines()) == 1 + len(pairs)


def test_proposed_pairs_stay_until_answered(server):
    srv, out, base = server
    first = srv.state.questions()
    assert len(first) == 5
    a, b = first[0]
    _post(base + "/answer", f"a={a}&b={b}&answer=same")
    assert srv.state.questions() == first[1:]
    for a, b in first[1:]:
        _post(base + "/answer", f"a={b}&b={a}&answer=unsure")  # either order counts as answered
    fresh = srv.state.questions()
    assert fresh and not {(min(p), max(p)) for p in fresh} & {(min(p), max(p)) for p in first[:1]}


def _raw(base: str, request: bytes) -> bytes:
    """Send ``request`` as it is (urllib would refuse or fix these) and return the whole answer."""
    import socket
    from urllib.parse import urlsplit

    host = urlsplit(base)
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_server_answers_malformed_requests_without_a_traceback(server, capfd):
    """A NUL byte or a too-long name in a file path, a Content-Length that is not a number or is
    negative: each had no answer and a traceback on the terminal (or, negative, held its thread until
    the client hung up). Now 403 / 400 and nothing on stderr (audit qa15)."""
    srv, out, base = server
    for path in ("/file/%00", "/file/" + "a" * 300, "/file/" + "a/" * 3000):
        status = _raw(base, f"GET {path} HTTP/1.0\r\n\r\n".encode()).split(b"\r\n", 1)[0]
        assert status == b"HTTP/1.0 403 Forbidden", path[:20]
    for length in (b"abc", b"-1"):
        reply = _raw(base, b"POST /answer HTTP/1.0\r\nContent-Length: " + length + b"\r\n\r\na=1")
        assert reply.split(b"\r\n", 1)[0] == b"HTTP/1.0 400 Bad Request" and reply.endswith(
            b"bad Content-Length"
        )
    assert capfd.readouterr().err == ""
    assert not (out / "feedback.csv").exists()


def test_server_refuses_other_sites_forms_and_rebound_host_names(server):
    """A form POST from a sandboxed frame of any site (Origin: null) and a page reached through DNS
    rebinding (Host and Origin both evil.example) wrote answers and the latter could read the page
    (audit qa15). Now 403 and nothing written; the page's own requests still work."""
    srv, out, base = server
    port = srv.server_address[1]
    body = b"a=100&b=101&answer=same"

    def post(headers: str) -> bytes:
        head = f"POST /answer HTTP/1.0\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode()
        return _raw(base, head + body).split(b"\r\n", 1)[0]

    refused = b"HTTP/1.0 403 Forbidden"
    assert post(f"Host: 127.0.0.1:{port}\r\nOrigin: null\r\n") == refused
    assert post(f"Host: 127.0.0.1:{port}\r\nOrigin: http://evil.example\r\n") == refused
    assert post(f"Host: evil.example:{port}\r\nOrigin: http://evil.example:{port}\r\n") == refused
    get = _raw(base, f"GET / HTTP/1.0\r\nHost: evil.example:{port}\r\n\r\n".encode())
    assert get.split(b"\r\n", 1)[0] == refused and b"Review of" not in get
    assert not (out / "feedback.csv").exists()
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
        assert post(f"Host: {host}\r\nOrigin: http://{host}\r\n") == b"HTTP/1.0 303 See Other", host
    assert len(read_feedback(out / "feedback.csv").answers) == 3


def test_a_remote_bind_accepts_any_host_name(run_dir, tmp_path):
    from corrclust.review import make_server

    srv = make_server(run_dir[2], "127.0.0.1", 0, allow_remote=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        reply = _raw(base, b"GET / HTTP/1.0\r\nHost: lab-pc.example:8765\r\n\r\n")
        assert reply.split(b"\r\n", 1)[0] == b"HTTP/1.0 200 OK" and b"Review of" in reply
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_bad_hand_written_feedback_line_is_one_line_at_start_and_a_plain_answer_later(server, capfd):
    """feedback.csv may be written by hand; a bad line made every page load a traceback on the terminal
    and an empty answer in the browser (audit qa15). At start: the command's one line; while serving:
    500 with the line, nothing on stderr."""
    from corrclust.review import make_server

    srv, out, base = server
    _post(base + "/answer", "a=100&b=101&answer=same")
    with open(out / "feedback.csv", "a") as fh:
        fh.write("100,102,maybe\n")
    reply = _raw(base, f"GET / HTTP/1.0\r\nHost: 127.0.0.1:{srv.server_address[1]}\r\n\r\n".encode())
    assert reply.split(b"\r\n", 1)[0] == b"HTTP/1.0 500 Internal Server Error"
    assert reply.endswith(
        f"cannot show the review page: {out / 'feedback.csv'}:3: answer 'maybe' is not one of same, "
        "different, unsure; correct or remove that line, then reload".encode()
    )
    assert capfd.readouterr().err == ""
    with pytest.raises(ValueError, match=r"feedback\.csv:3: answer 'maybe'"):
        make_server(out, "127.0.0.1", 0)
    assert main(["review", str(out), "--port", "0", "--no-browser"]) == 2
    assert capfd.readouterr().err == (
        f"corrclust review: error: {out / 'feedback.csv'}:3: answer 'maybe' is not one of same, different, "
        "unsure\n"
    )


def test_an_answer_that_cannot_be_written_says_so_on_the_page(server, capfd):
    """Writing feedback.csv failing (here it is a folder; a read-only share or a full disk alike) was a
    traceback on the terminal and no answer to the click (audit qa15); now the page says 'not saved'."""
    srv, out, base = server
    (out / "feedback.csv").mkdir()
    page = _post(base + "/answer", "a=100&b=101&answer=same")
    assert "not saved: [Errno 21] Is a directory: " in page
    assert capfd.readouterr().err == ""


def test_the_ipv6_loopback_can_be_bound(run_dir):
    """--host ::1 passed the loopback check and then failed to bind ("Address family for hostname not
    supported"; audit qa15)."""
    from corrclust.review import make_server

    srv = make_server(run_dir[2], "::1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        port = srv.server_address[1]
        with urllib.request.urlopen(f"http://[::1]:{port}/") as r:
            assert r.status == 200 and b"Review of" in r.read()
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_run_rewritten_under_the_server_is_reloaded_not_overwritten(server, tmp_path):
    """``corrclust cluster ... -o OUT`` while the page was open: the page's re-cluster wrote the old
    run's ids into clusters.csv beside the new similarities.npz and report, and its answers named
    clusters of the old run (audit qa16). Now the first action after the rewrite is refused with a
    line saying so, the page shows the new run, and the next re-cluster is of the new run."""
    srv, out, base = server
    images = tmp_path / "images2"
    synthetic.generate(images, classes=2, per_class=3, seed=5, size=64)
    from corrclust.images.io import list_images

    ids = np.array([r.id for r in list_images(images)], dtype=np.int64)
    np.savez(tmp_path / "S2.npz", ids=ids, S=_similarities(ids))
    pipeline.run(pipeline.ClusterOptions(images, out, correlations=tmp_path / "S2.npz", progress=False))
    new = clusters_of(out)
    assert sorted(new) == sorted(ids.tolist()) and len(new) == 6

    page = _post(base + "/recluster", "")
    assert (
        "not saved: " in page
        and "was rewritten by another corrclust command since this page was shown" in page
    )
    assert clusters_of(out) == new  # untouched
    assert not (out / "feedback.csv").exists()
    assert sorted(srv.state.ids) == sorted(ids.tolist())  # the page now shows the new run
    page = _post(base + "/answer", "a=303&b=300&answer=same")  # an id of the old run only
    assert "not saved: image id 303 is not in this run" in page
    page = _post(base + "/recluster", "")
    assert "re-clustered" in page
    assert sorted(clusters_of(out)) == sorted(ids.tolist())
    with np.load(out / "similarities.npz") as z:
        assert sorted(z["ids"].tolist()) == sorted(clusters_of(out))


def test_recluster_while_a_cluster_run_writes_out_is_refused(server):
    from corrclust import folder_lock

    srv, out, base = server
    before = (out / "clusters.csv").read_bytes()
    with folder_lock.hold(out, "corrclust cluster"):
        page = _post(base + "/recluster", "")
    assert "not saved: " in page and "another corrclust command is writing this folder" in page
    assert (out / "clusters.csv").read_bytes() == before and not (out / "review.json").exists()
    assert "re-clustered" in _post(base + "/recluster", "")
