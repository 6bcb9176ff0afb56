"""The footer every screen shows: Textual's, rebuilt only when its keys change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import Footer

if TYPE_CHECKING:
    from textual.screen import Screen


class KeysFooter(Footer):
    """Textual's footer rebuilds all its keys each time the screen's bindings are
    refreshed: on every focus change, several times while a screen starts. This one
    rebuilds once per refresh at most, and only when what it shows is different."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[object, ...] | None = None
        self._scheduled = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._scheduled:
            return
        if self.is_attached and screen is self.screen:
            self._scheduled = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._scheduled = False
        if not self.is_attached:  # its screen was dismissed in the meantime
            return
        shown = self._keys_shown()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _keys_shown(self) -> tuple[object, ...]:
        palette = self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE
        return (palette, self.compact, *(
            (binding.key, binding.action, binding.description, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING))
