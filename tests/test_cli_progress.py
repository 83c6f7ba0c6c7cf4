"""One progress flag for every command: ``--progress`` / ``--no-progress`` (issue 12, item 5)."""

from __future__ import annotations

import argparse

from corrclust.cli import build_parser

# Commands whose progress display is off unless asked for (their output is often read by programs).
OFF_BY_DEFAULT = {("solve",)}


def _leaf_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaf_parsers(child, path + (name,))


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def _given(parser: argparse.ArgumentParser, flag: str) -> argparse.Namespace:
    """The namespace after ``flag`` alone (the commands' required arguments left out)."""
    ns = argparse.Namespace()
    parser._option_string_actions[flag](parser, ns, None, flag)
    return ns


LEAVES = dict(_leaf_parsers(build_parser()))


def test_every_command_with_progress_takes_both_spellings():
    with_progress = {
        path for path, p in LEAVES.items() if _options(p) & {"--progress", "--no-progress", "--quiet"}
    }
    # every command that has a loop worth a progress bar (all but evaluate and images rbc-crops)
    assert {
        ("demo",),
        ("cluster",),
        ("solve",),
        ("pqap", "similarities"),
        ("pqap", "learn"),
        ("images", "crop"),
        ("images", "keypoints"),
        ("images", "synth"),
        ("twin", "train"),
        ("twin", "predict"),
    } <= with_progress
    for path in with_progress:
        p = LEAVES[path]
        assert {"--progress", "--no-progress"} <= _options(p), path
        default = path not in OFF_BY_DEFAULT
        assert p.get_default("progress") is default, path
        for flag, value in (
            ("--no-progress", False),
            ("--progress", True),
            ("--quiet", False),
        ):  # --quiet: hidden
            assert _given(p, flag).progress is value, (path, flag)
        assert "--quiet" not in p.format_help(), path
