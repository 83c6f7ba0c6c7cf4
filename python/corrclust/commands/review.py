"""``corrclust review OUT``: review the clusters of a run in the browser and answer questions.

Serves the page of :mod:`corrclust.review` on 127.0.0.1 (``--allow-remote`` to bind elsewhere);
every answer is appended at once to ``OUT/feedback.csv``. Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from corrclust.cli_support import add_feedback_propagate_flag


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "review",
        help="review the clusters of OUT in the browser; answers go to OUT/feedback.csv",
        description="Serve a local review page for the output folder of 'corrclust cluster': galleries of the "
        "clusters, 'same class?' questions, moves and merges, and a re-cluster button. Every answer is "
        "appended at once to OUT/feedback.csv. See docs/cli.md.",
    )
    p.add_argument("out", type=Path, metavar="OUT", help="output folder of 'corrclust cluster'")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (anyone who reaches it can write answers)",
    )
    p.add_argument(
        "--solver",
        choices=("kl", "anytime", "exact"),
        default="kl",
        help="solver of the re-cluster button (default kl)",
    )
    p.add_argument(
        "--feedback-calibrate",
        dest="calibrate",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="re-cluster with the threshold/bias fitted to the answers (as cluster --feedback-calibrate)",
    )
    add_feedback_propagate_flag(p)
    p.add_argument(
        "--browser",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="open the page in the default browser (default: on)",
    )
    p.set_defaults(func=run)


def _port(text: str) -> int:
    """argparse type: a TCP port, 0-65535 (99999 ended in a traceback from bind())."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    import errno

    from corrclust.cli_support import CliError
    from corrclust.review import make_server

    try:
        server = make_server(
            args.out,
            args.host,
            args.port,
            allow_remote=args.allow_remote,
            solver=args.solver,
            calibrate=args.calibrate,
            propagate=args.propagate,
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        # was "error: Address already in use", naming neither the port nor the way out
        raise CliError(
            f"port {args.port} on {args.host} is in use (another review page?); pick another with --port, "
            "or --port 0 for a free one"
        ) from None
    host, port = str(server.server_address[0]), int(server.server_address[1])
    url = f"http://{host if ':' not in host else '[' + host + ']'}:{port}/"
    print(f"review page: {url}  (answers go to {server.state.feedback_path}; Ctrl-C stops)", file=sys.stderr)
    if args.browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
