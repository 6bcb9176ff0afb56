"""The core and the look-up commands never import Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", [
    "tuicrm.core.store", "tuicrm.core.store.listing", "tuicrm.core.models", "tuicrm.cli",
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
