"""The core and the look-up commands never import Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", [
    "tuicrm.core.store", "tuicrm.core.listing", "tuicrm.core.models", "tuicrm.cli",
    "tuicrm.launch", "tuicrm.context",
])
def test_core_imports_without_textual(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_the_app_holds_no_sql() -> None:
    from pathlib import Path

    import tuicrm.tui

    root = Path(tuicrm.tui.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("sqlite3", "SELECT ", "INSERT ", "UPDATE ", "DELETE FROM"):
            assert word not in text, f"{path.name} mentions {word!r}"


@pytest.mark.parametrize("module", [
    "tuicrm.tui.app", "tuicrm.tui.screens.customers", "tuicrm.core.reader", "tuicrm.cli",
    "tuicrm.context",
])
def test_the_first_frame_needs_neither_pydantic_nor_sqlite_utils(module: str) -> None:
    """The list's first page reads through a light reader: what it imports is what the
    start of the app costs (pydantic and sqlite-utils took a quarter of a second)."""
    code = (f"import sys, {module}; "
            "print(sorted({'pydantic', 'sqlite_utils', 'click_default_group'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("module", [
    "tuicrm.core.store.bulk", "tuicrm.core.io.api", "tuicrm.core.namekeys", "tuicrm.cli_io",
])
def test_pypinyin_loads_only_when_a_name_is_keyed(module: str) -> None:
    """Export, undo and the list of batches never spell a name: pypinyin's dictionaries
    (55 MB, ~0.2 s) are loaded by the first name keyed, not by importing the code."""
    code = f"import sys, {module}; print('pypinyin' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
