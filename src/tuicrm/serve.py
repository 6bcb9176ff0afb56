"""``tuicrm serve``: the app in a browser through textual-serve, with the checks it lacks.

textual-serve has no login and does not look at a websocket's ``Origin``: any web page
the user happens to visit could open ``ws://127.0.0.1:8000/ws`` and drive a served app
as them. :class:`TeamServer` refuses, before any app process is spawned:

- a websocket whose ``Origin`` is not the page's own origin (and, bound to loopback,
  not a loopback name: a DNS-rebinding page has a matching but foreign host);
- a websocket or page without the token printed at start. ``tuicrm serve`` always sets
  one: on a shared server 127.0.0.1 is reachable by every other local user. The class
  allows no token on loopback only (for a single-user machine), never beyond.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import shlex
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server

if TYPE_CHECKING:
    from tuicrm.context import Context

log = logging.getLogger("tuicrm.serve")

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh secret for a server reachable from other machines."""
    return secrets.token_urlsafe(24)


def served_command(ctx: Context) -> str:
    """The shell command each browser session runs: the tuicrm app on this database."""
    args = [sys.executable, "-m", "tuicrm", "--db", str(ctx.db_path)]
    if not ctx.identity.locked:
        # Under sudo the child inherits SUDO_USER and resolves the same name itself.
        args += ["--user", ctx.user]
    return shlex.join(args)


def origin_refusal(origin: str | None, host: str, *, loopback_only: bool) -> str | None:
    """Why a websocket from ``origin`` to ``host`` (the Host header) must be refused;
    ``None`` when it may connect."""
    if not origin:
        return "no Origin header"
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"foreign Origin {origin!r}"
    if parts.netloc.lower() != host.lower():
        return f"foreign Origin {origin!r} (the page is {host!r})"
    if loopback_only and not is_loopback(parts.hostname):
        return f"Origin {origin!r} is not this machine"
    return None


class TeamServer(Server):
    """textual-serve's server with Origin and token checks before anything is spawned."""

    def __init__(self, command: str, *, host: str = "127.0.0.1", port: int = 8000,
                 token: str | None = None, title: str = "tuicrm") -> None:
        super().__init__(command, host=host, port=port, title=title)
        self.token = token
        self.loopback_only = is_loopback(host)
        if not self.loopback_only and token is None:
            raise ValueError("a server reachable from other machines needs a token")

    async def on_startup(self, app: web.Application) -> None:
        # textual-serve prints a banner with an address lacking the token; the
        # command has already said where to connect.
        pass

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # The browser script appends "?width=…" to the websocket URL, so the token
        # travels in the path.
        app.router.add_get("/ws/{token}", self.handle_websocket, name="websocket_token")
        return app

    def _token_ok(self, offered: str | None) -> bool:
        if self.token is None:
            return True
        return offered is not None and hmac.compare_digest(offered, self.token)

    def refusal(self, request: web.Request) -> str | None:
        """Why this websocket request is refused, or ``None``."""
        reason = origin_refusal(request.headers.get("Origin"), request.host,
                                loopback_only=self.loopback_only)
        if reason is None and not self._token_ok(request.match_info.get("token")):
            reason = "missing or wrong token"
        return reason

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        reason = self.refusal(request)
        if reason is not None:
            log.warning("refused a websocket from %s: %s", request.remote, reason)
            raise web.HTTPForbidden(text=f"refused: {reason}\n")
        return await super().handle_websocket(request)

    async def handle_index(self, request: web.Request) -> web.Response:
        if self.loopback_only and not is_loopback(request.url.host or ""):
            raise web.HTTPForbidden(text="refused: this server answers only to localhost\n")
        if not self._token_ok(request.query.get("token")):
            raise web.HTTPForbidden(text="refused: open the address printed by "
                                         "'tuicrm serve', with its token\n")
        return aiohttp_jinja2.render_template(
            "app_index.html", request, self._index_context(request)
        )

    def _index_context(self, request: web.Request) -> dict[str, Any]:
        # URLs from the request's own host, so an SSH tunnel on another local port works.
        base = f"{request.scheme}://{request.host}"
        ws_scheme = "wss" if request.scheme == "https" else "ws"
        ws_path = "/ws" if self.token is None else f"/ws/{self.token}"
        font_size = request.query.get("fontsize", "16")
        return {
            "font_size": int(font_size) if font_size.isdigit() else 16,
            "app_websocket_url": f"{ws_scheme}://{request.host}{ws_path}",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
