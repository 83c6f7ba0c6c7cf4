"""How the reference parsers of the property tests read a text file, written independently of the
package: UTF-8 (a byte-order mark dropped), lines split at LF only; with ``need_final_newline``, a
last line without a line break must be blank (ASCII white space), else the file looks cut off."""

from __future__ import annotations


def text_lines(data: bytes, need_final_newline: bool) -> list[str] | None:
    """The lines of ``data`` (without their LF), or None where it is not such a text file."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if need_final_newline and data.rpartition(b"\n")[2].strip():
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
