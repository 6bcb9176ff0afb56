"""A generator worked out in a forked child process (core.io.aside)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

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


class _PairWire:
    """Items as marshal takes them: a (number, list) pair as a list."""

    def __init__(self) -> None:
        self.received: list[Any] = []

    def to_wire(self, item: tuple[Any, list[Any]]) -> list[Any]:
        return [item[0], item[1]]

    def from_wire(self, value: list[Any]) -> tuple[Any, list[Any]]:
        self.received.append(value[0])
        return value[0], value[1]


@pytest.mark.parametrize(("items", "marshalled"), [
    ([(1, [1, 1, 1]), (2, ["二", None, 2.5])], [1, 2]),
    # A value marshal does not take travels pickled, as it is.
    ([(1, [dt.date(2024, 3, 1)]), (2, [Decimal("1.5")]), (3, [3])], [3]),
])
def test_items_travel_through_a_wire(items: list[tuple[Any, list[Any]]],
                                     marshalled: list[int]) -> None:
    wire = _PairWire()
    aside = Aside(iter(items), wire)
    try:
        assert list(aside) == items
    finally:
        aside.close()
    assert wire.received == marshalled
