"""Terminal cell widths, so Chinese (two cells a character) and Latin text align."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=8192)
def char_width(char: str) -> int:
    """Cells one character takes: 2 for wide and full-width, 0 for combining marks."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """Cells the text takes in a terminal."""
    return sum(char_width(c) for c in text)


def pad(text: str, width: int) -> str:
    """Cut or pad ``text`` to exactly ``width`` cells, ending a cut with ``…``."""
    used = cell_width(text)
    if used <= width:
        return text + " " * (width - used)
    out, used = [], 0
    for char in text:
        w = char_width(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…" + " " * (width - used - 1)
