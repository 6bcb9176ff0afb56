"""``tuicrm serve``: foreign Origins and missing tokens are refused before any app process
is spawned."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tuicrm import serve
from tuicrm.serve import TeamServer, is_loopback, origin_refusal


class RecordingAppService:
    """Stands in for textual-serve's AppService: records what would have been spawned."""

    started: ClassVar[list[str]] = []

    def __init__(self, command: str, **_: Any) -> None:
        self.command = command

    async def start(self, width: int, height: int) -> None:
        RecordingAppService.started.append(self.command)

    async def stop(self) -> None:
        pass


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import textual_serve.server

    RecordingAppService.started = []
    monkeypatch.setattr(textual_serve.server, "AppService", RecordingAppService)
    return RecordingAppService.started


async def connect(server: TeamServer, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """Open ``path`` as a websocket; ``{host}`` in a header is the test server's address.
    Returns the HTTP status (101 when upgraded) and the host."""
    async with TestClient(TestServer(await server._make_app(), host="127.0.0.1")) as client:
        host = f"127.0.0.1:{client.port}"
        filled = {k: v.format(host=host) for k, v in headers.items()}
        try:
            ws = await client.ws_connect(path, headers=filled)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status, host
        await ws.close()
        return 101, host


async def fetch(server: TeamServer, path: str) -> tuple[int, str]:
    async with TestClient(TestServer(await server._make_app(), host="127.0.0.1")) as client:
        response = await client.get(path)
        return response.status, await response.text()


LOCAL = TeamServer("tuicrm", host="127.0.0.1", port=8000)
REMOTE = TeamServer("tuicrm", host="0.0.0.0", port=8000, token="s3cret")
LOCAL_TOKEN = TeamServer("tuicrm", host="127.0.0.1", port=8000, token="s3cret")


@pytest.mark.parametrize(
    ("server", "path", "headers", "status"),
    [
        (LOCAL, "/ws", {"Origin": "http://{host}"}, 101),
        (LOCAL, "/ws", {"Origin": "https://evil.example"}, 403),
        (LOCAL, "/ws", {"Origin": "http://127.0.0.1:1"}, 403),  # another local port
        (LOCAL, "/ws", {"Origin": "null"}, 403),
        (LOCAL, "/ws", {}, 403),  # no Origin at all
        # DNS rebinding: the page's host resolves to 127.0.0.1, Origin and Host agree
        (LOCAL, "/ws", {"Origin": "http://evil.example:8000", "Host": "evil.example:8000"},
         403),
        (REMOTE, "/ws/s3cret", {"Origin": "http://{host}"}, 101),
        (REMOTE, "/ws", {"Origin": "http://{host}"}, 403),
        (REMOTE, "/ws/wrong", {"Origin": "http://{host}"}, 403),
        (REMOTE, "/ws/s3cret", {"Origin": "https://evil.example"}, 403),
        (LOCAL_TOKEN, "/ws", {"Origin": "http://{host}"}, 403),
        (LOCAL_TOKEN, "/ws/s3cret", {"Origin": "http://{host}"}, 101),
    ],
)
def test_websocket_origin_and_token(spawned: list[str], server: TeamServer, path: str,
                                    headers: dict[str, str], status: int) -> None:
    got, _ = asyncio.run(connect(server, path, headers))
    assert got == status
    assert spawned == (["tuicrm"] if status == 101 else [])


def test_a_refused_websocket_spawns_no_process(tmp_path: Path) -> None:
    """With textual-serve's real AppService: the app command would leave a file."""
    marker = tmp_path / "spawned"
    command = shlex.join([sys.executable, "-c", f"open({str(marker)!r}, 'w')"])
    server = TeamServer(command, host="127.0.0.1", port=8000)
    status, _ = asyncio.run(connect(server, "/ws", {"Origin": "https://evil.example"}))
    assert status == 403
    assert not marker.exists()


@pytest.mark.parametrize(
    ("server", "path", "status"),
    [(LOCAL, "/", 200), (REMOTE, "/", 403), (REMOTE, "/?token=wrong", 403),
     (REMOTE, "/?token=s3cret", 200)],
)
def test_index_page(server: TeamServer, path: str, status: int) -> None:
    got, text = asyncio.run(fetch(server, path))
    assert got == status
    if status == 200:
        expected = "/ws/s3cret" if server.token else "/ws\""
        assert expected in text


@pytest.mark.parametrize(
    ("origin", "host", "loopback_only", "refused"),
    [
        ("http://localhost:8000", "localhost:8000", True, False),
        ("http://[::1]:8000", "[::1]:8000", True, False),
        ("http://LOCALHOST:8000", "localhost:8000", True, False),
        ("http://crm.example:8000", "crm.example:8000", True, True),
        ("http://crm.example:8000", "crm.example:8000", False, False),
        ("http://crm.example:8000", "crm.example:9000", False, True),
        ("file://", "localhost:8000", True, True),
        (None, "localhost:8000", True, True),
    ],
)
def test_origin_rules(origin: str | None, host: str, loopback_only: bool,
                      refused: bool) -> None:
    assert (origin_refusal(origin, host, loopback_only=loopback_only) is not None) is refused


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("192.168.1.10", False), ("crm.example", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_remote_server_needs_a_token() -> None:
    with pytest.raises(ValueError, match="needs a token"):
        TeamServer("tuicrm", host="0.0.0.0")
    assert len(serve.new_token()) >= 32


def test_serve_command_refuses_remote_without_flag(db_path: Path) -> None:
    from click.testing import CliRunner

    from tuicrm.cli import cli

    result = CliRunner().invoke(cli, ["--db", str(db_path), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "--allow-remote" in result.output


@pytest.mark.parametrize(
    ("host", "flags", "warned"),
    [("127.0.0.1", [], False), ("0.0.0.0", ["--allow-remote"], True)],
)
def test_serve_command_always_sets_a_token(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, host: str, flags: list[str], warned: bool
) -> None:
    from click.testing import CliRunner

    from tuicrm.cli import cli

    servers: list[TeamServer] = []
    monkeypatch.setattr(TeamServer, "serve", lambda self, debug=False: servers.append(self))
    result = CliRunner().invoke(
        cli, ["--db", str(db_path), "--user", "alice", "serve", "--host", host, *flags])
    assert result.exit_code == 0, result.output
    (server,) = servers
    assert server.token and f"?token={server.token}" in result.output
    assert ("WARNING" in result.output) is warned
    assert ("ssh -N -L 8000:127.0.0.1:8000" in result.output) is not warned
    assert "--user alice" in server.command
