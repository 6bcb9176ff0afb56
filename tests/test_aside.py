"""A generator worked out in a forked child process (core.io.aside)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tuicrm.core.io.aside import Aside, can_fork

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork and a single thread")


def _squares(n: int, fail_at: int | None = None) -> Iterator[tuple[int, list[int]]]:
    for i in range(n):
        if i == fail_at:
            raise ValueError(f"row {i}: no square for this one")
        yield i, [i * i] * 3


@pytest.mark.parametrize("n", [0, 1, 10, 500])
def test_the_items_come_in_order(n: int) -> None:
    aside = Aside(_squares(n))
    try:
        assert list(aside) == list(_squares(n))
    finally:
        aside.close()
    assert aside.child.exitcode == 0


def test_an_error_in_the_child_is_raised_where_its_item_would_come() -> None:
    aside = Aside(_squares(10, fail_at=4))
    got: list[int] = []
    with pytest.raises(ValueError, match="row 4: no square"):
        for i, _ in aside:
            got.append(i)
    aside.close()
    assert got == [0, 1, 2, 3]


def test_closing_early_stops_the_child() -> None:
    aside = Aside(_squares(10**9))
    first = next(iter(aside))
    aside.close()
    assert first == (0, [0, 0, 0])
    assert not aside.child.is_alive()
