"""How a search query is answered: trigram full-text search, or name grams when short."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from tuicrm.core.text import clean_line, normalize_name


@dataclass(frozen=True)
class SearchPlan:
    """A query made ready for the store.

    ``norm`` is the query as names are normalised (for exact and prefix matches and
    grams); ``fts`` is the quoted FTS5 phrase for trigram search.
    """

    kind: Literal["gram", "fts"]
    norm: str
    fts: str


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
    return SearchPlan("fts", norm, '"' + text.replace('"', '""') + '"')
