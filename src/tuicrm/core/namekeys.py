"""Search keys of many names at once: normalised name, pinyin and initials.

:func:`tuicrm.core.text.pinyin_full` asks pypinyin for the whole name, about 300 µs a
name: five minutes for a million-row import. pypinyin's segmentation is greedy from the
left, so the words of a name are its first word followed by the words of the rest; the
words recur from name to name, so memoising each run of Chinese characters and the pinyin
of each word gives the same syllables at a few µs a name.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from tuicrm.core.text import _HAN, normalize_name, pinyin_full, pinyin_initials

# The memo holds the rests of names (恒达科技有限公司), mostly unique: a bounded one keeps
# the common rests (科技有限公司) without every name held at once. It keeps two
# generations of this many: a full one becomes the older, whose rests move to the new
# one as they come back, so the common rests are never dropped. On the million names of a
# generated export, one generation of 50,000, cleared when full, took 8.2 s, 200,000 6.2 s,
# a million 5.6 s (and 120 MiB more).
MEMO_LIMIT = 200_000
_RUNS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\u3400-\u9fff\uf900-\ufaff]+")


class NameKeys:
    """Computes ``(name_norm, pinyin, initials)`` as :mod:`tuicrm.core.text` does, fast."""

    def __init__(self, memo: int = MEMO_LIMIT) -> None:
        self.memo = memo
        self._runs: dict[str, tuple[str, str]] = {}
        self._older: dict[str, tuple[str, str]] = {}
        self._words: dict[str, tuple[str, str] | None] = {}
        # pypinyin (55 MB of dictionaries, ~0.2 s) is loaded by the first name keyed:
        # export, undo and the list of batches import this module and key none (an
        # export of the demo data: 0.54 s and 97 MB before, 0.26 s and 41 MB after).
        self._pypinyin: ModuleType | None = None
        self._hans: Any = None
        self._cut: Any = None
        self._prefixes: set[str] | frozenset[str] | None = None
        self._phrases: Any = None

    def _load(self) -> None:
        import pypinyin
        from pypinyin.constants import PHRASES_DICT, RE_HANS
        from pypinyin.seg import mmseg

        self._pypinyin, self._hans, self._cut = pypinyin, RE_HANS, mmseg.seg.cut
        # The segmenter's own sets, read directly (see _first_word), when it is the
        # strict one this version of pypinyin makes; any other goes through its cut().
        prefixes = getattr(getattr(mmseg.seg, "_prefix_set", None), "_set", None)
        if isinstance(prefixes, set) and getattr(mmseg.seg, "_no_non_phrases", False):
            self._prefixes, self._phrases = prefixes, PHRASES_DICT

    def __call__(self, name: str) -> tuple[str, str, str]:
        if self._pypinyin is None:
            self._load()
        norm = normalize_name(name)
        full: list[str] = []
        initials: list[str] = []
        for run in _RUNS.findall(norm):
            if _HAN.match(run):
                run_full, run_initials = self._han_run(run)
                full.append(run_full)
                initials.append(run_initials)
            elif any(map(self._hans.match, run)):
                # A character pypinyin reads but the simple ranges miss (〇, 𠀀): ask it
                # whole. Its pattern matches whole runs of them only, so a character at
                # a time (「A〇」 came out 'a〇' when the run was searched whole).
                return norm, pinyin_full(norm), pinyin_initials(norm)
            else:
                full.append(run.lower())
                initials.append(run.lower())
        return norm, "".join(full), "".join(initials)

    def _han_run(self, run: str, *, whole: bool = True) -> tuple[str, str]:
        done = None if whole else self._rest(run)
        if done is None:
            # Greedy segmentation: the run's words are its first word, then the rest's.
            word = self._first_word(run)
            keys = self._word(word)
            if keys is None:
                done = (pinyin_full(run), pinyin_initials(run))
            elif len(word) < len(run):
                rest = self._han_run(run[len(word):], whole=False)
                done = (keys[0] + rest[0], keys[1] + rest[1])
            else:
                done = keys
            # A whole name rarely comes back; the rest of one (科技有限公司) does.
            if not whole:
                if len(self._runs) >= self.memo:
                    self._older, self._runs = self._runs, {}
                self._runs[run] = done
        return done

    def _rest(self, run: str) -> tuple[str, str] | None:
        """The keys of a rest keyed before: the memo keeps two generations, so the rests
        that keep coming back (科技有限公司) outlive the clearing of the rare ones."""
        done = self._runs.get(run)
        if done is None:
            done = self._older.get(run)
            if done is not None:
                if len(self._runs) >= self.memo:
                    self._older, self._runs = self._runs, {}
                self._runs[run] = done
        return done

    def _first_word(self, run: str) -> str:
        """The first word of a run of Chinese characters as pypinyin's segmenter cuts
        it (``mmseg.seg``, greedy from the left): the longest phrase of its dictionary
        that the run starts with, each shorter start being the start of some phrase;
        else the first character. The segmenter itself is a generator that goes through
        a method call a character (a third of keying a name)."""
        prefixes, phrases = self._prefixes, self._phrases
        if prefixes is None:
            return str(next(iter(self._cut(run))))
        word = run[0]
        for end in range(2, len(run) + 1):
            start = run[:end]
            if start not in prefixes:
                break
            if start in phrases:
                word = start
        return word

    def _word(self, word: str) -> tuple[str, str] | None:
        """The pinyin and initials of a word, ``None`` when not one syllable a character."""
        if word not in self._words:
            assert self._pypinyin is not None
            items = self._pypinyin.lazy_pinyin(word, style=self._pypinyin.Style.NORMAL,
                                               errors="default")
            self._words[word] = (
                ("".join(i.lower() for i in items), "".join(i.lower()[:1] for i in items))
                if len(items) == len(word) else None)
        return self._words[word]
