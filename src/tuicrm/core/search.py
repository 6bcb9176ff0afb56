"""How a search query is answered: trigram full-text search, or name grams when short."""

from __future__ import annotations

import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Literal

from tuicrm.core.text import clean_line, normalize_name


@dataclass(frozen=True)
class SearchPlan:
    """A query made ready for the store.

    ``norm`` is the query as names are normalised (for exact and prefix matches and
    grams); ``fts`` is the quoted FTS5 phrase for trigram search, ``text`` the same
    phrase unquoted (for :func:`contains`).
    """

    kind: Literal["gram", "fts"]
    norm: str
    fts: str
    text: str = ""


def plan_search(query: str) -> SearchPlan | None:
    """Plan a search; ``None`` for an empty query.

    Trigram search cannot match fewer than three characters, and two-character Chinese
    words (科技, 贸易) are the commonest queries, so those go to the name grams.
    """
    norm = normalize_name(query)
    if not norm:
        return None
    text = unicodedata.normalize("NFKC", clean_line(query)).casefold()
    if len(norm) < 3:
        return SearchPlan("gram", norm, "")
    return SearchPlan("fts", norm, '"' + text.replace('"', '""') + '"', text)


def contains(text: str, *columns: str | None) -> int:
    """1 when a column of a search document holds ``text`` (already case-folded), as
    a trigram phrase match finds it: within one column, letter case aside."""
    return int(any(column and text in column.lower() for column in columns))


def add_functions(conn: sqlite3.Connection) -> None:
    """Give a connection the SQL function ``search_contains(text, column, …)``."""
    conn.create_function("search_contains", -1, contains, deterministic=True)
