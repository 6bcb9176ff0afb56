"""Fixtures of the app's tests: a demo database, a stand-in segmenter, an app factory."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from tuicrm.core.models import Customer
from tuicrm.core.store import Store
from tuicrm.tui.app import TuiCrmApp

TODAY = dt.date(2024, 3, 25)
USER = "经理"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (no asyncio plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


def fake_segmenter(store: Store, ids: Sequence[int] | None) -> None:
    """A stand-in for the rules engine (built elsewhere): a value tier from the total
    and a due date 30 days after the last contact, so the app has something to show."""
    where = "" if ids is None else f" WHERE id IN ({', '.join(str(int(i)) for i in ids)})"
    store.conn.execute(
        "UPDATE customers SET "
        "tier = CASE WHEN total_amount >= 500000 THEN '高价值' "
        "WHEN total_amount >= 100000 THEN '中价值' ELSE '潜力' END, "
        "cadence_days = 30, "
        "next_due = coalesce(next_due_manual, date(last_contact_date, '+30 days'))" + where
    )


def open_demo(path: Path) -> Store:
    """The store of a test database, with the stand-in segmenter."""
    return Store(path, segmenter=fake_segmenter)


@pytest.fixture
def app_db(tmp_path: Path) -> Path:
    """The seven example customers plus two whose names look like markup."""
    from tuicrm.core.seed import load_demo

    path = tmp_path / "app.db"
    with open_demo(path) as store:
        load_demo(store, generated=0, end=TODAY)
        for name in ("[@click=app.quit]x[/]", "Acme [/] Corp"):
            store.add_customer(Customer.parse({"name": name, "owner": USER,
                                               "status": "跟进中"}), user=USER)
        store.resegment()
    return path


@pytest.fixture
def make_app(app_db: Path) -> Callable[..., TuiCrmApp]:
    """Build an app on the test database (English unless told)."""

    def make(language: str = "en", user: str = USER) -> TuiCrmApp:
        return TuiCrmApp(lambda: open_demo(app_db), user=user, today=TODAY,
                         language=language)  # type: ignore[arg-type]

    return make
