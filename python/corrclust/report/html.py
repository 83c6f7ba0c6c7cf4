"""The report's static HTML page: one self-contained file that opens with no server.

The page links its PNG figures by relative paths (so the output folder can be moved or zipped),
embeds its small stylesheet, and loads no script, stylesheet or font from anywhere else. Every piece
of text that comes from the user's data (file names, class names) is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

__all__ = ["Section", "table", "figure", "paragraph", "definition_list", "page"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 1.5em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
h3 { font-size: 1.0em; margin-bottom: 0.3em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f2f2f2; }
td.name, th.name { text-align: left; }
td.hi { background: #dbe9f6; font-weight: 600; }
figure { margin: 0.8em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em; font-size: 0.95em; }
dt { font-weight: 600; }
dd { margin: 0; }
.warn { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.4em 0.8em; }
.muted { color: #666; font-size: 0.85em; }
nav a { margin-right: 1em; }
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass
class Section:
    """A titled part of the page; ``body`` is HTML made by the helpers of this module."""

    title: str
    body: list[str] = field(default_factory=list)
    anchor: str = ""

    def add(self, fragment: str) -> Section:
        self.body.append(fragment)
        return self


def paragraph(text: str, cls: str = "") -> str:
    """A paragraph of plain text (escaped)."""
    attr = f' class="{_esc(cls)}"' if cls else ""
    return f"<p{attr}>{_esc(text)}</p>"


def definition_list(items: Iterable[tuple[str, object]]) -> str:
    """Key/value pairs, e.g. the run's settings."""
    rows = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items)
    return f"<dl>{rows}</dl>"


def table(
    header: Sequence[object],
    rows: Sequence[Sequence[object]],
    *,
    caption: str = "",
    highlight: Sequence[Sequence[bool]] | None = None,
) -> str:
    """An HTML table; the first column is left-aligned (a name), the others right-aligned.

    Floats are shown with 4 significant decimals. ``highlight[r][c]`` marks a cell (e.g. the largest
    entry of a contingency-table row).
    """

    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4f}"
        return _esc(v)

    head = "".join(
        f'<th class="name">{_esc(h)}</th>' if i == 0 else f"<th>{_esc(h)}</th>" for i, h in enumerate(header)
    )
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, v in enumerate(row):
            classes = []
            if c == 0:
                classes.append("name")
            if highlight is not None and highlight[r][c]:
                classes.append("hi")
            attr = f' class="{" ".join(classes)}"' if classes else ""
            tag = "th" if c == 0 else "td"
            cells.append(f"<{tag}{attr}>{cell(v)}</{tag}>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(src: str, alt: str, caption: str = "") -> str:
    """An image by relative path (forward slashes), with alt text and an optional caption."""
    p = PurePosixPath(src)
    if p.is_absolute() or ".." in p.parts or "://" in src:
        raise ValueError(f"report figures must be relative paths inside the output folder, got {src!r}")
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{_esc(src)}" alt="{_esc(alt)}">{cap}</figure>'


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document as a string (UTF-8, no external resources)."""
    nav = "".join(f'<a href="#{_esc(s.anchor)}">{_esc(s.title)}</a>' for s in sections if s.anchor)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="muted">{_esc(subtitle)}</p>',
        f"<nav>{nav}</nav>" if nav else "",
    ]
    for s in sections:
        anchor = f' id="{_esc(s.anchor)}"' if s.anchor else ""
        parts.append(f"<section{anchor}><h2>{_esc(s.title)}</h2>")
        parts.extend(s.body)
        parts.append("</section>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(p for p in parts if p != "")
