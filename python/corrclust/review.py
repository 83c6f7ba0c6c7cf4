"""The review page of ``corrclust review OUT``: a small local web server over a finished run.

Standard library only (:mod:`http.server`, a ``ThreadingHTTPServer``); the page is plain HTML with
forms (no script, no external asset), so it works in any browser and without a network.

What the expert can do, and which answers each action appends to ``OUT/feedback.csv``
(:func:`corrclust.feedback.append_answers`, ``source=review``; at once, under a lock):

* answer a proposed pair (:mod:`corrclust.questions`): ``same``, ``different`` or ``unsure``;
* mark an image as not belonging to its cluster: ``different`` against the (up to) three most
  typical other members of that cluster (typicality: mean cost to the cluster, as in the report);
* move an image to another cluster: the above, plus ``same`` with the most typical member of the
  target cluster;
* mark two clusters as one class: ``same`` between their most typical members;
* re-cluster: solve again with every answer (:func:`corrclust.pipeline.answers.use_feedback`),
  rewrite ``OUT/clusters.csv`` and ``OUT/review.json`` (answers, agreement, what changed) and show
  the new clusters. (The full report is rebuilt by ``corrclust cluster IMAGES_DIR --similarities
  OUT/similarities.npz --feedback OUT/feedback.csv -o OUT``.)

Another command may rewrite OUT while the page is open: the run is identified by the inode, size
and time of ``similarities.npz`` and ``clusters.csv``; when they change, the state is reloaded and
the action clicked on the old page is refused (it named the old run's clusters). Re-cluster holds
the folder lock of :mod:`corrclust.folder_lock`, so it never writes beside a running ``cluster``.

Safety: the server binds to a loopback address unless ``allow_remote`` is set; files are served
only from inside OUT (anything that resolves outside is a 403); every id, file name and text shown
is HTML-escaped; a POST whose ``Origin`` names another host (or is ``null``) is refused, and so is,
on a loopback bind, any request whose ``Host`` is not a loopback name (DNS rebinding).
"""

from __future__ import annotations

import csv
import html
import io
import ipaddress
import json
import mimetypes
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from corrclust.formats.spreadsheet import neutralise_row, restore

__all__ = ["ReviewState", "make_server", "check_host"]

FEEDBACK = "feedback.csv"
PROPOSED = 5  # pairs proposed on the page at a time


def check_host(host: str, allow_remote: bool) -> None:
    """ValueError unless ``host`` is a loopback address (or ``allow_remote``)."""
    if allow_remote:
        return
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to serve on {host!r}: the review page binds to 127.0.0.1 unless --allow-remote "
            "is given (anyone who reaches it can write answers)"
        )


class ReviewState:
    """The run in OUT and the answers so far; every method is safe to call from several threads."""

    def __init__(
        self,
        out_dir: str | Path,
        *,
        solver: str = "kl",
        calibrate: bool = False,
        propagate: bool = True,
        seed: int = 0,
    ) -> None:
        self.out = Path(out_dir).resolve()
        self._load()
        self.solver, self.calibrate, self.propagate, self.seed = solver, calibrate, propagate, seed
        self.lock = threading.Lock()
        self.last_change: dict | None = None
        # a hand-written feedback.csv with a bad line: one line at start (FILE:LINE: problem), not a
        # traceback and an empty answer for every page load (audit qa15)
        self.n_answers()

    @property
    def feedback_path(self) -> Path:
        return self.out / FEEDBACK

    def _load(self) -> None:
        from corrclust.pipeline.answers import load_run

        signature = self._signature()
        corr = load_run(self.out)
        ids = [int(i) for i in corr.ids]
        files, labels = self._read_files(ids), self._read_labels(ids)
        costs = corr.problem().to_dense()
        # all or nothing: a run that cannot be read leaves the state as it was
        self.corr, self.ids, self.files, self.labels, self.costs = corr, ids, files, labels, costs
        self.index = {i: k for k, i in enumerate(ids)}
        self._questions: list[tuple[int, int]] | None = None
        self.loaded = signature

    def _signature(self) -> tuple:
        """What identifies the run on disk: similarities.npz and clusters.csv (inode, size, time)."""
        parts: list[tuple[int, int, int] | None] = []
        for name in ("similarities.npz", "clusters.csv"):
            try:
                st = (self.out / name).stat()
                parts.append((st.st_ino, st.st_size, st.st_mtime_ns))
            except OSError:
                parts.append(None)
        return tuple(parts)

    def _rewritten(self) -> bool:
        """Reload the run when another command rewrote OUT since it was read (call under the lock).

        The page held the run it started with: after ``corrclust cluster ... -o OUT`` rewrote the
        folder, a re-cluster here wrote the old run's ids into clusters.csv beside the new
        similarities.npz and report, and answers named the old clusters (audit qa16)."""
        if self._signature() == self.loaded:
            return False
        self._load()
        self.last_change = None
        return True

    def _current(self) -> None:
        """Refuse an action chosen on a page of a run that OUT no longer holds (reloaded for the next)."""
        if self._rewritten():
            raise ValueError(
                f"{self.out} was rewritten by another corrclust command since this page was shown; "
                "the page now shows that run: answer again"
            )

    # ---------------------------------------------------------------- reading the run
    def _read_clusters_csv(self) -> dict[int, tuple[int, str]]:
        path = self.out / "clusters.csv"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: is {self.out} the output folder of 'corrclust cluster'?"
            )
        with open(path, newline="", encoding="utf-8") as fh:
            # file names as the pipeline wrote them, spreadsheet quoting removed
            return {
                int(r["id"]): (int(r["cluster"]), restore(r.get("file") or "")) for r in csv.DictReader(fh)
            }

    def _read_files(self, ids: list[int]) -> dict[int, str]:
        rows = self._read_clusters_csv()
        return {i: rows[i][1] if i in rows else "" for i in ids}

    def _read_labels(self, ids: list[int]) -> np.ndarray:
        rows = self._read_clusters_csv()
        missing = [i for i in ids if i not in rows]
        if missing:
            raise ValueError(f"{self.out / 'clusters.csv'} lacks ids of similarities.npz, e.g. {missing[:5]}")
        return np.array([rows[i][0] for i in ids], dtype=np.int64)

    def n_answers(self) -> int:
        from corrclust.feedback import read_feedback

        if not self.feedback_path.is_file():
            return 0
        return len(read_feedback(self.feedback_path, self.ids))

    # ---------------------------------------------------------------- actions
    def typical(self, cluster: int, exclude: int | None = None, count: int = 3) -> list[int]:
        """Ids of the ``count`` most typical members of ``cluster`` (``exclude`` left out)."""
        members = [k for k in np.flatnonzero(self.labels == cluster) if self.ids[k] != exclude]
        if not members:
            return []
        sub = self.costs[np.ix_(members, members)]
        mean = sub.sum(axis=1) / max(1, len(members) - 1)
        order = np.argsort(-mean, kind="stable")[:count]
        return [self.ids[members[o]] for o in order]

    def _check_id(self, value: str) -> int:
        try:
            i = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"not an image id: {value!r}") from None
        if i not in self.index:
            raise ValueError(f"image id {i} is not in this run")
        return i

    def _check_cluster(self, value: str) -> int:
        try:
            k = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"not a cluster number: {value!r}") from None
        if k not in set(self.labels.tolist()):
            raise ValueError(f"cluster {k} does not exist")
        return k

    def _append(self, rows: list[tuple[int, int, str]]) -> int:
        from corrclust.feedback import append_answers

        return append_answers(self.feedback_path, rows, source="review")

    def answer(self, a: str, b: str, answer: str) -> int:
        with self.lock:
            self._current()
            ia, ib = self._check_id(a), self._check_id(b)
            if ia == ib:
                raise ValueError("a pair needs two different images")
            return self._append([(ia, ib, answer)])

    def not_belonging(self, image: str) -> int:
        with self.lock:
            self._current()
            return self._not_belonging(image)

    def _not_belonging(self, image: str) -> int:
        i = self._check_id(image)
        k = int(self.labels[self.index[i]])
        others = self.typical(k, exclude=i)
        if not others:
            raise ValueError(f"image {i} is alone in cluster {k}")
        return self._append([(i, j, "different") for j in others])

    def move(self, image: str, target: str) -> int:
        with self.lock:
            self._current()
            return self._move(image, target)

    def _move(self, image: str, target: str) -> int:
        i = self._check_id(image)
        k = self._check_cluster(target)
        if int(self.labels[self.index[i]]) == k:
            raise ValueError(f"image {i} is already in cluster {k}")
        rows = [(i, j, "different") for j in self.typical(int(self.labels[self.index[i]]), exclude=i)]
        rows.append((i, self.typical(k, exclude=i, count=1)[0], "same"))
        return self._append(rows)

    def merge(self, first: str, second: str) -> int:
        with self.lock:
            self._current()
            return self._merge(first, second)

    def _merge(self, first: str, second: str) -> int:
        k1, k2 = self._check_cluster(first), self._check_cluster(second)
        if k1 == k2:
            raise ValueError("pick two different clusters")
        return self._append([(self.typical(k1, count=1)[0], self.typical(k2, count=1)[0], "same")])

    def questions(self) -> list[tuple[int, int]]:
        """The pairs proposed now: a batch of :data:`PROPOSED` is kept until each of its pairs has
        an answer (or until a re-cluster), so the questions do not jump while the expert answers
        them; the batch comes from the same rule as ``corrclust questions`` (:mod:`corrclust.questions`,
        ``active``), after a solve under the answers so far."""
        from corrclust.feedback import read_feedback
        from corrclust.pipeline.answers import next_questions

        with self.lock:
            answered: set[tuple[int, int]] = set()
            if self.feedback_path.is_file():
                answered = {
                    (min(a.a, a.b), max(a.a, a.b))
                    for a in read_feedback(self.feedback_path, self.ids).answers
                }
            if self._questions is not None:
                left = [p for p in self._questions if (min(p), max(p)) not in answered]
                if left:
                    return left
            fb = self.feedback_path if self.feedback_path.is_file() else None
            self._questions = next_questions(
                self.corr, fb, PROPOSED, calibrate=self.calibrate, propagate=self.propagate, seed=self.seed
            )
            return list(self._questions)

    def recluster(self) -> dict:
        """Solve again with every answer; rewrite clusters.csv and review.json; returns the summary."""
        from corrclust import folder_lock
        from corrclust.atomic import write_text
        from corrclust.jsonable import jsonable
        from corrclust.pipeline.answers import answer_summary, use_feedback
        from corrclust.pipeline.clustering import cluster

        # not while a cluster run writes OUT (FolderBusyError, an OSError: "not saved: ...")
        with self.lock, folder_lock.hold(self.out, "corrclust review (re-cluster)"):
            self._current()
            before = self.labels.copy()
            if self.feedback_path.is_file():
                use = use_feedback(
                    self.corr, self.feedback_path, calibrate=self.calibrate, propagate=self.propagate
                )
            else:
                from corrclust.pipeline.answers import FeedbackUse

                empty = np.zeros((0, 2), np.int64)
                use = FeedbackUse(self.feedback_path, self.corr, empty, empty, 0, 0)
            result = cluster(
                use.corr, self.solver, seed=self.seed, must_link=use.must_link, cannot_link=use.cannot_link
            )
            self.labels = result.labels
            summary = answer_summary(use, before, result.labels)
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["id", "cluster", "file"])
            for i, lab in zip(self.ids, self.labels.tolist(), strict=False):
                w.writerow(neutralise_row([i, lab, self.files.get(i, "")]))
            write_text(self.out / "clusters.csv", buf.getvalue())
            write_text(self.out / "review.json", json.dumps(jsonable(summary), indent=2) + "\n")
            self.loaded = self._signature()  # our own clusters.csv
            self.last_change = summary
            self._questions = None
            return summary

    # ---------------------------------------------------------------- the page
    def page(self, message: str = "") -> str:
        with self.lock:
            if self._rewritten():
                message = (
                    f"{self.out} was rewritten by another corrclust command: this page now shows that run"
                )
        e = html.escape
        n_clusters = int(self.labels.max()) if self.labels.size else 0
        parts = [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>corrclust review</title>",
            "<style>body{font-family:sans-serif;margin:1em}figure{display:inline-block;margin:4px;text-align:center;"
            "font-size:12px;border:1px solid #ccc;padding:3px}section{margin-bottom:1.5em}"
            ".msg{background:#ffd;padding:.5em}.pair img{width:96px}</style></head><body>",
            f"<h1>Review of {e(str(self.out.name))}</h1>",
            f"<p id='count'>{self.n_answers()} answer(s) given; {len(self.ids)} images in "
            f"<span id='nclusters'>{n_clusters}</span> clusters.</p>",
        ]
        if message:
            parts.append(f"<p class='msg' id='message'>{e(message)}</p>")
        if self.last_change is not None:
            c = self.last_change
            parts.append(
                f"<p id='changes'>Last re-cluster: {c.get('same', 0)} same / "
                f"{c.get('different', 0)} different "
                f"answers used; {e(str(c.get('pairs_changed')))} image pairs changed, "
                f"{e(str(c.get('images_moved')))} images moved.</p>"
            )
        parts.append(
            "<form method='post' action='/recluster'><button id='recluster' type='submit'>"
            "Re-cluster with the answers</button></form>"
        )
        parts.append("<section><h2>Same class?</h2>")
        for a, b in self.questions():
            parts.append(
                f"<form class='pair' method='post' action='/answer'>"
                f"<input type='hidden' name='a' value='{a}'><input type='hidden' name='b' value='{b}'>"
                f"{self._thumb(a)}{self._thumb(b)}"
            )
            for ans, label in (("same", "same"), ("different", "different"), ("unsure", "not sure")):
                parts.append(
                    f"<button type='submit' name='answer' value='{ans}' id='q-{a}-{b}-{ans}'>{label}</button>"
                )
            parts.append("</form>")
        parts.append("</section><section><h2>Clusters</h2>")
        options = "".join(f"<option value='{k}'>{k}</option>" for k in range(1, n_clusters + 1))
        if n_clusters > 1:
            parts.append(
                "<form method='post' action='/merge'>Mark clusters "
                f"<select name='first'>{options}</select> and <select name='second'>{options}</select> "
                "as one class <button type='submit' id='merge'>same class</button></form>"
            )
        for k in range(1, n_clusters + 1):
            members = [self.ids[m] for m in np.flatnonzero(self.labels == k)]
            parts.append(
                f"<div class='cluster' id='cluster-{k}'><h3>Cluster {k} ({len(members)} images)</h3>"
            )
            for i in members:
                parts.append(
                    f"<figure id='img-{i}'>{self._thumb(i)}<figcaption>{i}<br>"
                    f"<form method='post' action='/not-belonging' style='display:inline'>"
                    f"<input type='hidden' name='image' value='{i}'>"
                    f"<button type='submit' id='out-{i}'>not in this cluster</button></form>"
                    f"<form method='post' action='/move' style='display:inline'>"
                    f"<input type='hidden' name='image' value='{i}'><select name='target'>{options}</select>"
                    f"<button type='submit' id='move-{i}'>move</button></form></figcaption></figure>"
                )
            parts.append("</div>")
        parts.append("</section></body></html>")
        return "".join(parts)

    def _thumb(self, i: int) -> str:
        e = html.escape
        name = self.files.get(i, "") or str(i)
        if (self.out / "thumbnails" / f"{i}.png").is_file():
            return f"<img src='/file/thumbnails/{i}.png' alt='{e(name, quote=True)}' title='{e(name, quote=True)}'>"
        return f"<span title='{e(name, quote=True)}'>[{i}]</span>"

    def resolve(self, rel: str) -> Path | None:
        """The file ``rel`` inside OUT, or None when it is outside OUT, absent or no file name at all."""
        try:
            target = (self.out / unquote(rel)).resolve()
            if not target.is_relative_to(self.out) or not target.is_file():
                return None
        except (OSError, ValueError):  # a NUL byte, a name too long: a traceback and no answer before
            return None
        return target


def _loopback_name(host_header: str) -> bool:
    """Whether an HTTP Host header names this machine's loopback (localhost, 127.x, [::1]), any port."""
    name = urlsplit("//" + host_header).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _handler(state: ReviewState, allow_remote: bool = False):
    class Handler(BaseHTTPRequestHandler):
        server_version = "corrclust-review"

        def _foreign(self) -> bool:
            """A request a page of another site made the browser send (403 sent): on a loopback bind,
            a Host that is not a loopback name (a DNS-rebinding page: its Origin matches its own
            Host, and it could read the page and write answers), or a POST whose Origin is another
            host or ``null`` (a sandboxed frame of any site; the page's own forms send their origin).
            Both were accepted before (audit qa15)."""
            host = self.headers.get("Host")
            if not allow_remote and host is not None and not _loopback_name(host):
                self._send(HTTPStatus.FORBIDDEN, b"unexpected Host header", "text/plain")
                return True
            origin = self.headers.get("Origin")
            if self.command == "POST" and origin and urlsplit(origin).netloc != host:
                self._send(HTTPStatus.FORBIDDEN, b"cross-origin request refused", "text/plain")
                return True
            return False

        def log_message(self, fmt: str, *args) -> None:  # quiet: the terminal shows the URL only
            pass

        def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self._foreign():
                return
            path = urlsplit(self.path).path
            if path == "/":
                query = parse_qs(urlsplit(self.path).query)
                try:
                    page = state.page(query.get("msg", [""])[0])
                except (ValueError, OSError) as exc:  # feedback.csv broken by hand; OUT rewritten
                    text = f"cannot show the review page: {exc}; correct or remove that line, then reload"
                    self._send(
                        HTTPStatus.INTERNAL_SERVER_ERROR, text.encode("utf-8"), "text/plain; charset=utf-8"
                    )
                    return
                self._send(200, page.encode("utf-8"))
            elif path == "/favicon.ico":  # browsers ask for it; no icon, no console error
                self.send_response(HTTPStatus.NO_CONTENT)
                self.end_headers()
            elif path.startswith("/file/"):
                target = state.resolve(path[len("/file/") :])
                if target is None:
                    self._send(HTTPStatus.FORBIDDEN, b"outside the output folder or not a file", "text/plain")
                    return
                ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
                self._send(200, target.read_bytes(), ctype)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

        def do_POST(self) -> None:
            if self._foreign():
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0:  # was a traceback (not a number) or a read until the client hung up (negative)
                self._send(HTTPStatus.BAD_REQUEST, b"bad Content-Length", "text/plain")
                return
            if length > 100_000:
                self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"too large", "text/plain")
                return
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
            path = urlsplit(self.path).path
            try:
                if path == "/answer":
                    state.answer(form.get("a", ""), form.get("b", ""), form.get("answer", ""))
                    msg = f"saved: {form.get('a')} and {form.get('b')} {form.get('answer')}"
                elif path == "/not-belonging":
                    n = state.not_belonging(form.get("image", ""))
                    msg = f"saved {n} answer(s): {form.get('image')} does not belong to its cluster"
                elif path == "/move":
                    n = state.move(form.get("image", ""), form.get("target", ""))
                    msg = f"saved {n} answer(s): move {form.get('image')} to cluster {form.get('target')}"
                elif path == "/merge":
                    state.merge(form.get("first", ""), form.get("second", ""))
                    msg = f"saved: clusters {form.get('first')} and {form.get('second')} are one class"
                elif path == "/recluster":
                    s = state.recluster()
                    msg = f"re-clustered: {int(state.labels.max())} clusters, {s['images_moved']} image(s) moved"
                else:
                    self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")
                    return
            except (ValueError, OSError) as exc:
                # OSError: OUT not writable, a full disk (a traceback and no answer before; audit qa15)
                msg = f"not saved: {exc}"
            from urllib.parse import quote

            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Location", "/?msg=" + quote(msg))
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


class ReviewServer(ThreadingHTTPServer):
    """The HTTP server of the review page, with its :class:`ReviewState`."""

    state: ReviewState


class _ReviewServer6(ReviewServer):
    """On an IPv6 address (``--host ::1``): the default IPv4 socket ended in "Address family for
    hostname not supported" (audit qa15)."""

    address_family = socket.AF_INET6


def make_server(
    out_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    allow_remote: bool = False,
    solver: str = "kl",
    calibrate: bool = False,
    propagate: bool = True,
    seed: int = 0,
) -> ReviewServer:
    """A server for the review page of ``out_dir`` (not started: call ``serve_forever``)."""
    check_host(host, allow_remote)
    state = ReviewState(out_dir, solver=solver, calibrate=calibrate, propagate=propagate, seed=seed)
    cls = _ReviewServer6 if ":" in host else ReviewServer
    server = cls((host, port), _handler(state, allow_remote))
    server.state = state
    return server
