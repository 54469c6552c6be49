"""The notes-qa app: holds the engine, runs searches and builds in workers.

Build it with ``create_app(engine)``; the CLI and the tests both do.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import App
from textual.binding import BindingType
from textual.css.query import NoMatches

from indexer.modes import MODES
from indexer.query_syntax import parse_query
from indexer.safe_text import safe_text

from . import bindings, jobs
from .clipboard import copied_text
from .engine import PREPARING_MODEL
from .messages import (
    BuildProgress,
    EngineFailed,
    EngineReady,
    IndexRefreshed,
    NotesChanged,
    QuestionAsked,
    QuestionEdited,
    SearchDone,
    SearchFailed,
)
from .opening import open_hit
from .screens.help import HelpScreen
from .screens.main import MainScreen
from .state import HISTORY_LIMIT, StateFile, UiState
from .terminal import has_terminal, watch_terminal
from .watcher import WATCH_GROUP, WatchStop, start_watching
from .widgets.chips import FilterChips
from .widgets.question import QuestionBox
from .widgets.results import ResultsList
from .widgets.status import StatusBar

if TYPE_CHECKING:
    from textual.notifications import SeverityLevel
    from textual.screen import Screen
    from textual.theme import Theme
    from textual.timer import Timer

    from indexer.models import Hit, SearchFilter
    from indexer.search import Searcher

    from .engine import Engine

#: The status line above the results when the notes answer poorly (SearchResult.match).
MATCH_LINES = {"none": "No good match in your notes", "weak": "Weak match"}


class NotesQAApp(App[int]):
    TITLE = "notes-qa"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    BINDINGS: ClassVar[list[BindingType]] = bindings.BINDINGS

    def __init__(self, engine: Engine, *, k: int = 10, debounce: float = 0.25, question: str = "",
                 mode: str | None = None, state: StateFile | None = None, watch: bool = False) -> None:
        super().__init__()
        self.engine = engine
        self.k = k
        self.debounce = debounce
        self.state_file = state
        self.saved, self._state_note = state.load() if state is not None else (UiState(), None)
        self.mode = mode or (self.saved.mode if self.saved.mode in MODES else MODES[0])
        self.start_question = question.strip()
        #: Keys that came before anything had focus (typed while the app started), until replayed.
        self._typeahead: list[events.Key] | None = []
        self._preparing_model = False
        self.searcher: Searcher | None = None
        self.building = False
        self.question = ""
        self._serial = 0
        self._pending: Timer | None = None
        self._focus_results = False
        self.watch_notes = watch  # refresh the index by itself when the notes change
        self._watching: WatchStop | None = None
        # Known before the first paint: by on_ready a closed window has already hung it up.
        self._started_in_terminal = has_terminal()

    @property
    def idle(self) -> bool:
        """No build, search or debounced search under way."""
        busy = any(w.is_running for w in self.workers if w.group != WATCH_GROUP)  # the watcher never ends
        return not self.building and self._pending is None and not busy

    def get_default_screen(self) -> Screen[None]:
        return MainScreen()

    # -- widgets ------------------------------------------------------------

    @property
    def status(self) -> StatusBar:
        return self.screen_stack[0].query_one(StatusBar)

    @property
    def results(self) -> ResultsList:
        return self.screen_stack[0].query_one(ResultsList)

    @property
    def selected_hit(self) -> Hit | None:
        if not self.screen_stack or not self.screen_stack[0].is_mounted:
            return None
        return self.results.selected_hit

    def on_mount(self) -> None:
        if self.saved.theme in self.available_themes:
            self.theme = self.saved.theme
        self.theme_changed_signal.subscribe(self, self._when_theme_changed)

    def on_ready(self) -> None:
        """The window has painted: now load the model and the index, in a worker."""
        self.status.mode(self.mode)
        self.status.say("Loading the model and the index…", busy=True)
        self.building = True
        self._load(rebuild=False)
        box = self.screen_stack[0].query_one(QuestionBox)
        box.history.limit = HISTORY_LIMIT
        box.history.items[:0] = self.saved.history
        if self._state_note:
            self.tell(self._state_note, title="History not restored", severity="warning", timeout=10)
        if self.start_question:  # notes-qa tui "QUESTION": asked as soon as the index is ready
            box.value = self.start_question
            box.cursor_position = len(self.start_question)
            box.history.add(self.start_question)
            self.post_message(QuestionAsked(self.start_question))
        if not self.is_headless:  # quit when the terminal goes away
            watch_terminal(self, started_in_terminal=self._started_in_terminal)

    def tell(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
             timeout: float | None = None) -> None:
        """A notification whose text is shown literally (it may quote notes, paths or errors)."""
        self.notify(safe_text(message, keep_newlines=False), title=title, severity=severity, timeout=timeout,
                    markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in bindings.LETTER_ACTIONS and isinstance(self.focused, QuestionBox):
            return False
        if action in bindings.HIT_ACTIONS and self.selected_hit is None:
            return None
        return True

    async def on_event(self, event: events.Event) -> None:
        # Keys typed while the app starts come before anything has focus; they wait for the
        # question box (the first widget focused) instead of being lost. Ctrl+C still quits.
        if self._typeahead is not None and isinstance(event, events.Key) and not event.is_forwarded:
            if event.key != "ctrl+c" and (self.focused is None or self._typeahead):
                self._typeahead.append(event)
                return
            self._typeahead = None
        await super().on_event(event)

    async def on_descendant_focus(self) -> None:
        keys, self._typeahead = self._typeahead or [], None
        for key in keys:  # in the order typed, before any key still queued
            await super().on_event(key)
        self.refresh_bindings()

    # -- remembering history, mode and theme ----------------------------------

    def _remember(self, *, mode: str | None = None, theme: str | None = None) -> None:
        """Save the history (as it is in the box) and the mode and theme (the ones given, else as saved)."""
        history = self.saved.history
        with suppress(NoMatches):
            history = tuple(self.screen_stack[0].query_one(QuestionBox).history.items)
        self.saved = UiState(history, mode or self.saved.mode, theme or self.saved.theme)
        if self.state_file is not None:
            problem = self.state_file.save(self.saved)
            if problem and problem != self._state_note:
                self._state_note = problem
                self.tell(problem, severity="warning", timeout=10)

    def _when_theme_changed(self, theme: Theme) -> None:
        if theme.name != self.saved.theme:
            self._remember(theme=theme.name)

    # -- loading and rebuilding ---------------------------------------------

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.post_message(BuildProgress(stage, done, total))

    def _say_preparing(self) -> None:
        self.status.say("Preparing the model once (about 30 s)…", busy=True)
        self.status.progress(0, None)

    @work(thread=True, exclusive=True, group="engine")
    def _load(self, rebuild: bool) -> None:
        self.post_message(jobs.load(self.engine, rebuild, self._progress, self.log.error))

    @on(BuildProgress)
    def _when_build_progress(self, event: BuildProgress) -> None:
        what = "Rebuilding" if self.searcher is not None else "Building"
        if event.stage == PREPARING_MODEL:  # the first run: the model is exported before the first build
            self._preparing_model = True
            self._say_preparing()
            return
        if event.stage == "chunking" and event.done >= event.total and self._preparing_model:
            self._say_preparing()
            return
        if event.stage == "chunking" and event.done >= event.total:
            # Next comes the model (seconds, with no steps to count), then embedding.
            self.status.say(f"{what} the index: {event.total} notes chunked; loading the model…", busy=True)
            self.status.progress(0, None)
            return
        self.status.say(f"{what} the index: {event.stage} {event.done}/{event.total}", busy=True)
        self.status.progress(event.done, event.total)

    @on(EngineReady)
    def _when_engine_ready(self, event: EngineReady) -> None:
        self.building = False
        self._preparing_model = False
        self.searcher = event.opened.searcher
        self.status.hide_progress()
        report = event.opened.built
        if report is not None:
            verb = "Rebuilt" if event.rebuilt else "Built"
            self.tell(f"{verb} the index: {report.files} notes, {report.chunks} chunks "
                      f"({report.embedded} texts embedded, {report.reused} reused) in {report.seconds:.1f} s", title="Index")
        for note in (*event.opened.notes, *(report.warnings if report else ())):
            self.tell(note, severity="warning", timeout=8)
        self.status.say(f"Ready: {self.searcher.size} chunks")
        if self.question.strip():
            self._search_now(self.question)
        if self.watch_notes and self._watching is None:
            self._watching = start_watching(self, self.engine, lambda: self.searcher, self.tell)

    @on(NotesChanged)
    def _when_notes_changed(self, event: NotesChanged) -> None:
        self.results.mark_stale(event.changes)
        self.status.say(f"{event.changes.describe()}: refreshing the index…", busy=True)

    @on(IndexRefreshed)
    def _when_index_refreshed(self, event: IndexRefreshed) -> None:
        self.searcher = event.opened.searcher
        for note in (*event.opened.notes, *(event.opened.built.warnings if event.opened.built else ())):
            self.tell(note, severity="warning", timeout=8)
        self.status.say(f"Index refreshed ({event.changes.describe()}): {self.searcher.size} chunks")
        if self.question.strip():
            self._search_now(self.question)

    @on(EngineFailed)
    def _when_engine_failed(self, event: EngineFailed) -> None:
        self.building = False
        self._preparing_model = False
        self.status.hide_progress()
        what = "Rebuild failed" if event.rebuilding else "Cannot open the index"
        self.tell(event.error, title=what, severity="error", timeout=12)
        if self.searcher is not None:
            self.status.say(f"{what}; still answering from the previous index", error=True)
        else:
            self.status.say(f"{event.error} — then press r", error=True)

    def action_rebuild(self) -> None:
        if self.building:
            self.tell("The index is already being built.", severity="warning")
            return
        self.building = True
        self.status.say("Rebuilding the index…", busy=True)
        self._load(rebuild=True)

    # -- searching ----------------------------------------------------------

    @on(QuestionEdited)
    def _when_question_edited(self, event: QuestionEdited) -> None:
        self.question = event.question
        self._cancel_pending()
        self.screen_stack[0].query_one(FilterChips).show(parse_query(event.question).chips())
        if not event.question.strip():
            self._serial += 1  # drop answers still on their way
            self.results.clear()
        elif self.searcher is not None:
            self._pending = self.set_timer(self.debounce, lambda: self._debounced(event.question))

    @on(QuestionAsked)
    def _when_question_asked(self, event: QuestionAsked) -> None:
        self.question = event.question
        self._cancel_pending()
        if not event.question.strip():
            self.tell('Type a question first, e.g. "How big can a DynamoDB item be?"', severity="warning")
            return
        self._remember()
        self._focus_results = True
        if self.searcher is None:
            self.status.say("The question will be answered when the index is ready…", busy=True)
            return
        self._search_now(event.question)

    def _debounced(self, question: str) -> None:
        self._pending = None
        self._search_now(question)

    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.stop()
            self._pending = None

    def _search_now(self, question: str) -> None:
        if self.searcher is None:
            return
        self._serial += 1
        parsed = parse_query(question)  # path:GLOB and in:TEXT words filter; the rest is the question
        if not parsed.text and parsed.filters:
            self.results.clear()
            self.status.say("Type a question to search inside " + " ".join(parsed.chips()))
            return
        self._search(self.searcher, self._serial, parsed.text or question, self.mode, parsed.filters)

    @work(thread=True, exclusive=True, group="search")
    def _search(self, searcher: Searcher, serial: int, question: str, mode: str, filters: SearchFilter) -> None:
        self.post_message(jobs.search(searcher, serial, question, k=self.k, mode=mode, filters=filters,
                                      log=self.log.error))

    @on(SearchDone)
    def _when_search_done(self, event: SearchDone) -> None:
        if event.serial != self._serial:
            return
        result = event.result
        self.results.show(result)
        count = len(result.hits)
        found = f"{count} result{'s' if count != 1 else ''}"
        if count and result.match in MATCH_LINES:
            self.status.say(f"{MATCH_LINES[result.match]} · {found}", warning=True)
        else:
            self.status.say(found if count else "No results; try other words")
        if self._focus_results and count:
            self.results.focus()
        self._focus_results = False
        self.refresh_bindings()

    @on(SearchFailed)
    def _when_search_failed(self, event: SearchFailed) -> None:
        if event.serial == self._serial:
            self.tell(event.error, title="Search failed", severity="error")
            self.status.say("Search failed", error=True)

    def action_cycle_mode(self) -> None:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.status.mode(self.mode)
        self._remember(mode=self.mode)
        if self.question.strip():
            self._search_now(self.question)

    # -- the selected hit ---------------------------------------------------

    def action_copy_snippet(self) -> None:
        hit = self.selected_hit
        if hit is not None:
            text = copied_text(hit)
            self.copy_to_clipboard(text)
            self.tell(f"Copied {text.partition(chr(10))[0]} and its snippet", timeout=3)

    def action_toggle_compact(self) -> None:
        self.results.toggle_compact()

    def action_open_editor(self) -> None:
        hit = self.selected_hit
        if hit is not None:
            open_hit(self, hit)

    # -- the rest -----------------------------------------------------------

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_help_anywhere(self) -> None:
        self.action_help()

    def action_quit_app(self) -> None:
        self.exit(0)


def create_app(engine: Engine, *, k: int = 10, debounce: float = 0.25, question: str = "", mode: str | None = None,
               state: StateFile | None = None, watch: bool = False) -> NotesQAApp:
    """The one way to build the app: hand it an engine (the real one, or a test's).

    ``question`` is asked once the index is ready; ``mode`` overrides the remembered
    one; ``state`` keeps history, mode and theme between runs (None: nothing kept).
    With ``watch``, the app refreshes the index by itself when the notes change (``notes-qa tui`` does).
    """
    return NotesQAApp(engine, k=k, debounce=debounce, question=question, mode=mode, state=state, watch=watch)

