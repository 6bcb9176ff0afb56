"""Fixtures: a throwaway database per test, optionally holding the demo customers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuicrm.core.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's database lives."""
    return tmp_path / "test.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """An empty, migrated database."""
    with Store(db_path) as s:
        yield s


@pytest.fixture
def demo_store(db_path: Path) -> Iterator[Store]:
    """The seven example customers, without generated ones."""
    from tuicrm.core.seed import load_demo

    with Store(db_path) as s:
        load_demo(s, generated=0, end=dt.date(2024, 3, 1))
        yield s
