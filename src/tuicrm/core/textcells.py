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


# Control characters drawn as their Unicode pictures (ESC as ␛): user data must never
# reach the terminal as an escape sequence (OSC 52 writes the clipboard, DCS and OSC
# strings can retitle or reprogram the terminal).
_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421} | {
    code: 0xFFFD for code in range(0x80, 0xA0)}


def printable(text: str) -> str:
    """``text`` with every control character replaced by a visible stand-in."""
    return text.translate(_PICTURES)


def cell_width(text: str) -> int:
    """Cells the text takes in a terminal."""
    return sum(char_width(c) for c in text)


def pad(text: str, width: int) -> str:
    """Cut or pad ``text`` to exactly ``width`` cells, ending a cut with ``…``.

    Control characters are shown as pictures (see :func:`printable`)."""
    text = printable(text)
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
