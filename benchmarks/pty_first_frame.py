"""The app's first frame with rows, as a user sees it: ``tuicrm`` in a real pseudo-terminal.

    python benchmarks/pty_first_frame.py /tmp/big.db [--runs 7]
    python benchmarks/pty_first_frame.py --bare          # a bare Textual app, for scale

Starts the command in an 80×24 pty and stops the clock when the terminal output shows a
list row (a ``YY-MM-DD`` date, which only rows carry); with ``--bare``, when a bare Textual
app has drawn its footer. Prints the median and p95 in milliseconds, one line of JSON.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import sys
import termios
import time
from pathlib import Path

ROW = re.compile(rb"\d\d-\d\d-\d\d")

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static
class Bare(App):
    BINDINGS = [("ctrl+q", "quit", "Quit")]
    def compose(self):
        yield Static("bare")
        yield Footer()
Bare().run()
"""


def first_frame(argv: list[str], until: re.Pattern[bytes], env: dict[str, str],
                limit: float = 30) -> float:
    """Seconds from spawning ``argv`` in a pty to output matching ``until``."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, in an 80×24 terminal
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    try:
        while time.perf_counter() - started < limit:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if until.search(seen):
                return time.perf_counter() - started
        raise TimeoutError(f"no match for {until.pattern!r}; the output ended with "
                           f"{seen[-300:]!r}")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", nargs="?")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--bare", action="store_true", help="a bare Textual app instead")
    options = parser.parse_args()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    if options.bare:
        argv, until = [sys.executable, "-c", BARE_APP], re.compile(rb"Quit")
    elif options.db:
        beside = Path(sys.executable).with_name("tuicrm")  # this environment's tuicrm
        command = str(beside) if beside.exists() else shutil.which("tuicrm") or "tuicrm"
        argv, until = [command, "--db", options.db], ROW
    else:
        parser.error("give a database, or --bare")
    times = [first_frame(argv, until, env) * 1000 for _ in range(options.runs)]
    ordered = sorted(times)
    print(json.dumps({
        "command": " ".join(argv[-3:]) if not options.bare else "bare Textual app",
        "median_ms": round(statistics.median(times)),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]),
        "runs": [round(t) for t in times],
    }))


if __name__ == "__main__":
    main()
