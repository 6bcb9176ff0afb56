"""Text helpers: cleaning user input, normalising names, pinyin and search grams."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# C0 and C1 control characters except tab and newline, plus DEL. These would let a
# customer name carry terminal escape sequences (OSC 52 clipboard writes, title changes).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")


def clean_text(value: str) -> str:
    """Strip control characters (all but tab and newline) and surrounding space."""
    return _CONTROL.sub("", value).strip()


def clean_line(value: str) -> str:
    """Like :func:`clean_text`, for one-line fields: newlines and tabs become spaces."""
    return _SPACES.sub(" ", clean_text(value))


def normalize_name(name: str) -> str:
    """The key that makes customer names unique: NFKC, case-folded, no spaces.

    Full-width and half-width forms (``Ａ科技`` and ``A科技``), case and spacing do not
    make a second customer.
    """
    folded = unicodedata.normalize("NFKC", clean_text(name)).casefold()
    return _SPACES.sub("", folded)


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=4096)
def _syllables(norm: str) -> tuple[tuple[str, bool], ...]:
    """Pinyin syllables of a normalised name, each marked True when it came from a
    Chinese character (False for runs of Latin letters, digits and the like)."""
    from pypinyin import Style, lazy_pinyin

    out: list[tuple[str, bool]] = []
    pos = 0
    for item in lazy_pinyin(norm, style=Style.NORMAL, errors="default"):
        if pos < len(norm) and _HAN.match(norm[pos]):
            out.append((item.lower(), True))
            pos += 1
        else:
            out.append((item.lower(), False))
            pos += len(item)
    return tuple(out)


def pinyin_full(name: str) -> str:
    """The name in toneless pinyin without spaces: ``A科技`` → ``akeji``."""
    return "".join(s for s, _ in _syllables(normalize_name(name)))


def pinyin_initials(name: str) -> str:
    """The first letter of each syllable: ``A科技有限公司`` → ``akjyxgs``.

    Runs of Latin letters and digits stay whole, so ``ABC贸易`` → ``abcmy``.
    """
    return "".join(s[:1] if han else s for s, han in _syllables(normalize_name(name)))


# Names' letters are their characters that sort before the CJK blocks (U+2E80 on). Latin
# names all sort before Chinese ones, so a letter's names crowd at the front of the name
# order: a one-letter search in that order reads them from their own table.
LETTER_BOUND = "\u2e80"


def name_letters(norm: str) -> set[str]:
    """The letters of a normalised name: its one-character grams before the CJK blocks."""
    return {ch for ch in norm if ch < LETTER_BOUND}


# A gram in at least one name in this many (and in COMMON_GRAM_LEAST names) is too common
# for its list of customers to pay: at a million generated names the 216 such grams
# (有, 公司, 科技 ...) are nearly three quarters of the 19.6 million pairs, the largest part
# of a load's work on the grams, while checking every name for one takes 80-100 ms and a
# page of the list, walked in any order, finds its rows within a few thousand names.
COMMON_GRAM_SHARE = 50
COMMON_GRAM_LEAST = 1_000


def common_grams(counts: Iterable[tuple[str, int]], names: int) -> frozenset[str]:
    """The grams too common to list among ``names`` names, given how many names hold
    each gram. Grams with a letter stay listed: the names' letters are filed from them
    (see name_letters)."""
    least = max(COMMON_GRAM_LEAST, names // COMMON_GRAM_SHARE)
    return frozenset(gram for gram, n in counts if n >= least and min(gram) >= LETTER_BOUND)


def name_grams(norm: str) -> set[str]:
    """Grams indexed for queries of one or two characters, which trigram search cannot
    answer: every character and every pair of adjacent characters of the normalised name.
    Mirrors the SQL that builds them in bulk."""
    return {norm[i : i + 2] for i in range(len(norm) - 1)} | set(norm)
