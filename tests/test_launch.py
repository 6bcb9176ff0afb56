"""The console script: a plain ``tuicrm`` opens the app without the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tuicrm.launch import app_options


@pytest.mark.parametrize(("argv", "expected"), [
    ([], {}),
    (["--db", "x.db"], {"db": "x.db"}),
    (["--db=x.db", "--user", "张三"], {"db": "x.db", "user": "张三"}),
    (["--today", "2024-03-01", "--rules=r.toml"], {"today": "2024-03-01", "rules": "r.toml"}),
    (["--db", "x.db", "find", "科技"], None),  # a command
    (["demo"], None),
    (["--help"], None),
    (["--db"], None),  # its value is missing: the command line says so
    (["--db", "a.db", "--db", "b.db"], None),  # given twice
    (["--dbx", "a.db"], None),  # misspelt
])
def test_only_a_plain_tuicrm_skips_the_command_line(
    argv: list[str], expected: dict[str, str] | None,
) -> None:
    assert app_options(argv) == expected


def test_a_plain_tuicrm_imports_no_command_line_library_and_says_what_is_wrong(
    tmp_path: Path,
) -> None:
    """On a missing database it exits 1 with the command line's message, having loaded
    neither click nor Textual."""
    missing = tmp_path / "missing.db"
    code = ("import sys; from tuicrm.launch import main; sys.argv = ['tuicrm', '--db', "
            f"{str(missing)!r}]\ntry:\n    main()\nfinally:\n"
            "    print(sorted({'click', 'textual'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout.strip() == "[]"
    assert done.stderr.strip() == (f"tuicrm: no database at {missing}: "
                                   "run 'tuicrm init' or 'tuicrm seed' first")


def test_anything_else_goes_to_the_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    for command, code in ((["init"], 0), (["show", "nobody"], 1)):
        done = subprocess.run([sys.executable, "-m", "tuicrm", "--db", db, *command],
                              capture_output=True, text=True)
        assert done.returncode == code, done.stderr
    assert "nobody" in done.stderr
    usage = subprocess.run([sys.executable, "-m", "tuicrm", "--db"], capture_output=True,
                           text=True)
    assert usage.returncode == 2 and "requires an argument" in usage.stderr
