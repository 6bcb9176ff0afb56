"""The tuicrm app: screens over a store it reaches only through worker threads."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState, get_current_worker

from tuicrm.tui.collector import IdleCollector
from tuicrm.tui.labels import Labels, Language, language_from_environment
from tuicrm.tui.screens.base import CrmMixin, translate_bindings
from tuicrm.tui.stores import ReaderFactory, StoreFactory, StoreLanes

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.message_pump import MessagePump
    from textual.screen import Screen
    from textual.timer import Timer

    from tuicrm.core.listing import FirstPage
    from tuicrm.tui.screens.follow_up import FollowUpScreen
    from tuicrm.tui.screens.profile import ProfileLoaded, ProfileScreen


def _customer_commands() -> type[Provider]:
    from tuicrm.tui.commands import CustomerCommands

    return CustomerCommands


def _lesson_commands() -> type[Provider]:
    from tuicrm.tui.lesson_commands import LessonCommands

    return LessonCommands


# Seconds after mounting by which the garbage collector runs again (at quiet moments),
# whatever happened.
GC_OFF_AT_MOST = 5.0
# How often the collector looks for a quiet moment (see IdleCollector).
COLLECTOR_TICK = 0.1
# How often the write-ahead log is copied into the database (see TuiCrmApp.checkpoint).
CHECKPOINT_SECONDS = 5.0
# The longest keys are held for a key still being handled or a screen being read (see
# TuiCrmApp.hold_keys).
HOLD_KEYS_AT_MOST = 1.0


class TuiCrmApp(App[None]):
    """A keyboard-driven CRM: customer list, profile, follow-up form, review board."""

    CSS_PATH = "app.tcss"
    TITLE = "tuicrm"
    ENABLE_COMMAND_PALETTE = True
    # Imported when the palette first opens, not before the first frame.
    COMMANDS = App.COMMANDS | {_customer_commands, _lesson_commands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False, id="app.quit"),  # in ?
        Binding("f2", "language", "中文/English", show=False, id="app.language"),
    ]

    def __init__(self, store_factory: StoreFactory, *, user: str, today: dt.date,
                 language: Language | None = None,
                 reader_factory: ReaderFactory | None = None,
                 first_page: FirstPage | None = None) -> None:
        super().__init__()
        self.lanes = StoreLanes(store_factory, reader_factory)
        self.first_page = first_page
        self.profile_screen: ProfileScreen | None = None
        self.follow_up_screen: FollowUpScreen | None = None
        self.collector = IdleCollector()
        self._board_stale = False
        self._board_warming = False
        self.user = user
        self.today = today
        self.labels = Labels(language or language_from_environment())
        # Keys held while a key, a profile read or a pushed screen is under way
        # (hold_keys): how many holds, and which round of holding a quiet-check is for.
        self._held_keys: list[events.Key] | None = None
        self._holds = 0
        self._hold_cycle = 0
        self._hold_timer: Timer | None = None
        self._pushing: set[asyncio.Task[None]] = set()

    def on_mount(self) -> None:
        from tuicrm.tui.screens.customers import CustomersScreen

        translate_bindings(self, self.labels)
        self.push_screen(CustomersScreen())
        # The command turns the collector off while the app starts; warming up has it
        # run at quiet moments from then on (this, should the first rows never come).
        self.set_timer(GC_OFF_AT_MOST, self.collector.start)
        self.set_interval(COLLECTOR_TICK, self.collector.tick)
        self.set_interval(CHECKPOINT_SECONDS, self.checkpoint)

    def on_unmount(self) -> None:
        self.lanes.close()
        self.collector.stop()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.collector.heard()
            if isinstance(event, events.Key) and not event.is_forwarded:
                if self._held_keys is not None:
                    self._held_keys.append(event)
                    return
                await super().on_event(event)
                # The keys after this one wait until what it does is done (see
                # _release_when_quiet).
                self.hold_keys()
                asyncio.get_running_loop().call_soon(self._release_when_quiet,
                                                     self._hold_cycle)
                return
        await super().on_event(event)

    def hold_keys(self) -> None:
        """Keep the keys that arrive from now on until as many :meth:`release_keys` (at
        most ``HOLD_KEYS_AT_MOST``): a key is still being handled or a screen read, and
        the keys typed meanwhile are meant for where it leads (``l`` typed while a
        profile is read logs a follow-up from the profile: on the list still showing it
        opened the form, and the profile then came over it)."""
        self._holds += 1
        if self._held_keys is None:
            self._held_keys = []
            self._hold_timer = self.set_timer(HOLD_KEYS_AT_MOST, self._release_all)

    def release_keys(self, *, when_quiet: bool = False) -> None:
        """End one hold (``when_quiet``: once what was set going is done, see
        _release_when_quiet); after the last, hand the held keys on in the order they
        came, before any key after them."""
        if when_quiet:
            if self._held_keys is not None:
                asyncio.get_running_loop().call_soon(self._release_when_quiet,
                                                     self._hold_cycle)
            return
        self._holds -= 1
        if self._holds <= 0:
            self._release_all()

    def _release_all(self) -> None:
        held, self._held_keys = self._held_keys, None
        self._holds = 0
        self._hold_cycle += 1
        if self._hold_timer is not None:
            self._hold_timer.stop()
            self._hold_timer = None
        for key in held or ():
            self.post_message(events.Key(key.key, key.character))

    def _release_when_quiet(self, cycle: int) -> None:
        """End a key's hold once no message waits on the app or its screen's widgets,
        or is being handled there.

        Keys arrive in bursts (a paste, a fast typist over SSH), and each is forwarded
        to the widget focused at that moment. What a key does often ends a few messages
        later (Enter in the search box moves to the list, Enter on the list opens a
        profile, ``l`` mounts the form): the keys after it wait for that, as they would
        have had they been typed one by one. ``cycle`` is the hold this look belongs to
        (the keys may have been released since, by the timer).
        """
        if cycle != self._hold_cycle:
            return
        if _quiet(self) and all(_quiet(node) for node in self.screen.walk_children(
                with_self=True)):
            self.release_keys()
        else:  # look again once the other tasks have had their turn
            asyncio.get_running_loop().call_soon(self._release_when_quiet, cycle)

    def push_screen(  # type: ignore[override]
        self, screen: Screen[Any] | str, callback: Any = None, wait_for_dismiss: bool = False,
    ) -> Any:
        """Push a screen; keys typed meanwhile wait until it is mounted and has the
        focus (``l`` then ``hi`` in one burst: ``hi`` is for the form's first field)."""
        pushed = super().push_screen(  # type: ignore[call-overload]
            screen, callback, wait_for_dismiss=wait_for_dismiss)
        if not wait_for_dismiss:
            self.hold_keys()
            task = asyncio.get_running_loop().create_task(self._release_once_pushed(pushed))
            self._pushing.add(task)
            task.add_done_callback(self._pushing.discard)
        return pushed

    async def _release_once_pushed(self, pushed: Awaitable[object]) -> None:
        try:
            await pushed
        finally:
            self.release_keys(when_quiet=True)

    # -- navigation, used by screens and the command palette -----------------------------

    def open_profile(self, customer_id: int) -> None:
        """Show a customer's profile, read before its screen comes: the screen's first
        drawing shows it (an empty screen and the profile after it were two layouts
        and paints, most of the time it took). Keys typed meanwhile wait for it."""
        self.hold_keys()
        self._read_profile(customer_id)

    @work(thread=True, group="open-profile", exclusive=True, exit_on_error=False)
    def _read_profile(self, customer_id: int) -> None:
        from tuicrm.tui.screens.profile import read_profile

        read: ProfileLoaded | None = None
        try:
            read = read_profile(self.lanes, customer_id)
        except Exception:  # the screen reads it again and says what went wrong
            read = None
        if not get_current_worker().is_cancelled:  # not when another was opened since
            self.call_from_thread(self._show_profile, customer_id, read)

    def _show_profile(self, customer_id: int, read: ProfileLoaded | None) -> None:
        """Show a customer on the one profile screen the app keeps (installed, so it
        stays when it is left), or on another while that one is down the stack."""
        from tuicrm.tui.screens.profile import ProfileScreen

        kept = self.profile_screen
        if kept is None:
            self.profile_screen = ProfileScreen(customer_id, read)
            self.install_screen(self.profile_screen, "profile")
            self.push_screen(self.profile_screen)
        elif kept is self.screen:
            kept.show(customer_id, read)
        elif kept in self.screen_stack:
            self.push_screen(ProfileScreen(customer_id, read))
        else:
            kept.show(customer_id, read)
            self.push_screen(kept)
        self.release_keys(when_quiet=True)

    def open_follow_up(self, customer_id: int) -> None:
        """Open the follow-up form for a customer: the one form the app keeps (installed,
        so it stays when it is left), or another while that one is down the stack."""
        from tuicrm.tui.screens.follow_up import FollowUpScreen

        kept = self.follow_up_screen
        if kept is None:
            self.follow_up_screen = FollowUpScreen(customer_id)
            self.install_screen(self.follow_up_screen, "follow-up")
            self.push_screen(self.follow_up_screen)
        elif kept in self.screen_stack:
            self.push_screen(FollowUpScreen(customer_id))
        else:
            kept.show(customer_id)
            self.push_screen(kept)

    def action_open_board(self) -> None:
        """Show the review board (from the command palette)."""
        self.open_board()

    def open_board(self) -> None:
        """Show the review board."""
        from tuicrm.tui.screens.board import BoardScreen

        self.push_screen(BoardScreen())

    def action_open_review(self) -> None:
        """Show the review (from the command palette)."""
        self.open_review()

    def open_review(self) -> None:
        """Show the weekly review."""
        from tuicrm.tui.screens.review import ReviewScreen

        self.push_screen(ReviewScreen())

    @work(thread=True, group="warm", exit_on_error=False)
    def warm_up(self) -> None:
        """Once the list shows: open the store (its imports, migrations and rules) and
        work out the board's figures, so the first save and ``b`` answer at once."""
        from tuicrm.core import listing

        # The lanes the next keys need: a profile, a save, the board and its cards (a
        # store takes ~50 ms to open: its connection checks, migrations and rules).
        for lane in ("write", "profile", "cards"):
            with self.lanes[lane].use():
                pass
        with self.lanes["write"].use() as store:
            # A commit that fills the write-ahead log copies it into the database itself,
            # a second on a big one: the app's saves leave that to checkpoint().
            store.conn.execute("PRAGMA wal_autocheckpoint = 0")
        with self.lanes["board"].use() as store:
            listing.board(store, today=self.today)
        # The screens enter and l open: their modules (the review's and rules' among
        # them) took ~90 ms to import, in the first opening of a profile.
        import tuicrm.tui.screens.follow_up
        import tuicrm.tui.screens.profile  # noqa: F401

        # Waits until they are mounted (mypy cannot solve Textual's annotation for a
        # coroutine function).
        self.call_from_thread(self._build_screens_ahead)  # type: ignore[arg-type]
        # What start-up made (modules, widgets, the store) lives as long as the app: out
        # of the collector's sight, it is not walked again in a pause between keys.
        gc.collect()
        gc.freeze()
        self.collector.start()

    async def _build_screens_ahead(self) -> None:
        """Build the profile screen and the follow-up form before the first enter and
        l: composing and styling the profile made its first opening the slowest of a
        session (54-136 ms against 20-50), and the form has forty-odd widgets. Built
        before the freeze, what they are made of is not walked by the collector."""
        from tuicrm.tui.screens.follow_up import FollowUpScreen
        from tuicrm.tui.screens.profile import ProfileScreen

        if self.profile_screen is None:
            self.profile_screen = ProfileScreen()
            await self._mount_unshown(self.profile_screen, "profile")
        if self.follow_up_screen is None:
            self.follow_up_screen = FollowUpScreen()
            await self._mount_unshown(self.follow_up_screen, "follow-up")

    async def _mount_unshown(self, screen: Screen[object], name: str) -> None:
        """Install a screen and mount it without showing it. Textual mounts a screen when
        it is first pushed; this mounts it the same way, into the state an installed
        screen is in once popped."""
        self.install_screen(screen, name)
        _, mounted = self._get_screen(screen)
        self._load_screen_css(screen)
        await mounted

    @work(thread=True, group="checkpoint", exclusive=True, exit_on_error=False)
    def checkpoint(self) -> None:
        """Copy what was saved from the write-ahead log into the database, behind the
        screen (a passive checkpoint: it waits for no one and no one waits for it). On
        the poll's light connection, so a long one never holds up the board."""
        with self.lanes["poll"].use() as store:
            store.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def warm_board(self) -> None:
        """After a save: work out the board's figures again in the background (~200 ms
        on a million customers), so ``b`` answers at once. Saves in quick succession
        are worked out once, after the last of them."""
        self._board_stale = True
        if not self._board_warming:
            self._board_warming = True
            self._warm_board()

    @work(thread=True, group="warm-board", exit_on_error=False)
    def _warm_board(self) -> None:
        from tuicrm.core import listing

        try:
            while self._board_stale:
                self._board_stale = False
                with self.lanes["board"].use() as store:
                    listing.board(store, today=self.today)
        finally:
            self._board_warming = False

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Say so when the app's own background work failed (a broken rules file)."""
        if event.state == WorkerState.ERROR and event.worker.error is not None \
                and event.worker.node is self:
            error = event.worker.error
            self.notify(f"{error}", title=type(error).__name__, severity="error",
                        markup=False, timeout=30)

    # -- actions --------------------------------------------------------------------------

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        from tuicrm.tui.screens.help import HelpScreen, describe_keys

        if type(self.screen).__name__ == "HelpScreen":
            return
        self.push_screen(HelpScreen(describe_keys(self.screen)))

    def action_language(self) -> None:
        """Switch between Chinese and English."""
        self.labels.toggle()
        translate_bindings(self, self.labels)
        kept = [screen for screen in (self.profile_screen, self.follow_up_screen)
                if screen not in self.screen_stack]
        for screen in [*self.screen_stack, *kept]:
            if isinstance(screen, CrmMixin):
                screen.relabel()
        self.refresh_bindings()


def _quiet(node: MessagePump) -> bool:
    """No message waits on this node or is being handled by it, and no callback is
    due after one (these are Textual's own attributes: without them, say quiet)."""
    queue = getattr(node, "_message_queue", None)
    if queue is not None and (not queue.empty() or getattr(queue, "_unfinished_tasks", None)):
        return False
    return not getattr(node, "_next_callbacks", None)
