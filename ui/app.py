"""The Gradio app: five tabs (Chat, Library, Drafts, Tables, Settings) wired to ``ui.handlers``.

Each browser session has its own conversation and its own choice of endpoint (``gr.State``);
the library is shared. The app binds to loopback unless told otherwise and never opens a
public share link unless asked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant import SESSION_ORIGIN, Answer, Library, LitassistError, LLMSettings, SampleFill
from ui import connection, papers, render
from ui import tables as table_tab
from ui.handlers import ChatTurn, Handlers
from ui.manage import Manager
from ui.uploads import Uploads

log = logging.getLogger(__name__)

FILES_ROUTE = "/gradio_api/file="  # where Gradio serves files from `allowed_paths`
FILL_REFRESH_S = 3.0  # how often an open page shows the sample fill's progress
FILE_TYPES = [".pdf", ".bib", ".txt", ".html", ".htm", ".md", ".markdown", ".json"]

CSS = """
#mode-banner { padding: 0.4em 0.8em; border-radius: 6px; background: var(--background-fill-secondary); }
.sources { display: flex; flex-direction: column; gap: 0.6em; max-height: 640px; overflow-y: auto; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 0.5em 0.7em; }
.source-number { font-weight: 700; color: var(--color-accent); }
.source-title { font-weight: 600; }
.source-meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0.2em 0; }
.source-passage { font-size: 0.88em; margin: 0.3em 0; padding-left: 0.6em;
  border-left: 3px solid var(--border-color-accent); }
.source-passage mark { background: var(--color-accent-soft); color: inherit; padding: 0 0.1em; }
.source-where { font-size: 0.8em; color: var(--body-text-color-subdued); }
.source-weak { font-size: 0.85em; color: var(--color-red-500, #c2410c); }
.source-attributed { font-size: 0.85em; font-style: italic; }
.sources-empty { color: var(--body-text-color-subdued); }
"""

# WCAG AA (4.5:1 for text) in the default theme, light and dark: the theme's subdued grey and its
# orange accent are below it on white (1.9:1 and 2.8:1), and its soft accent barely tints a mark
ACCESSIBLE_CSS = """
:root, .dark { --litassist-muted: #4b5563; --litassist-accent: #9a3412; --litassist-mark: #fde68a;
  --litassist-mark-edge: #92400e; --litassist-focus: #1d4ed8; }
.dark { --litassist-muted: #d1d5db; --litassist-accent: #fdba74; --litassist-mark: #854d0e;
  --litassist-mark-edge: #fde68a; --litassist-focus: #93c5fd; }
.source-meta, .source-where, .sources-empty, #papers-count, #edit-note {
  color: var(--litassist-muted) !important; }
.source-number, .source-number a, #chat a.cite { color: var(--litassist-accent); font-weight: 700; }
.source-passage mark { background: var(--litassist-mark) !important; color: inherit;
  box-shadow: inset 0 -2px 0 var(--litassist-mark-edge); }
.source-card.source-focus { outline: 3px solid var(--litassist-focus); outline-offset: 2px; }
.source-badge { color: #9a3412; }
:root { --button-primary-background-fill: #c2410c; --button-primary-background-fill-hover: #9a3412;
  --button-primary-text-color: #ffffff; --button-cancel-background-fill: #b91c1c;
  --button-cancel-text-color: #ffffff; }
button[role="tab"][aria-selected="true"] { color: var(--litassist-accent) !important; }
#upload .or { color: var(--litassist-muted) !important; }
/* Gradio puts its scroll-to-top button straight inside the table's role="grid", which only rows
   may be in (axe: aria-required-children, critical): hidden; the table scrolls as ever */
#papers .scroll-top-button { display: none !important; }
#app-title h1 { font-size: 1.25em; margin: 0; }
#endpoint-heading h2 { font-size: 1.05em; }
@media (max-width: 640px) {
  .sources { max-height: none; }
  #chat { height: 420px !important; }
}
"""

# citation numbers in the chat are links to their cards: a click shows (and outlines) the card
CITATION_LINKS_JS = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest ? event.target.closest("a[href^='#source-']") : null;
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const number = link.getAttribute("href").slice("#source-".length);
  const panel = document.querySelector("#sources");
  const card = panel && panel.querySelector(`.source-card[data-number="${number}"]`);
  if (!card) return;
  const folded = card.closest("details");
  if (folded) folded.open = true;
  const accordion = document.querySelector("#sources-panel button.label-wrap:not(.open)");
  if (accordion) accordion.click();
  document.querySelectorAll(".source-card.source-focus").forEach((c) => c.classList.remove("source-focus"));
  card.classList.add("source-focus");
  card.setAttribute("tabindex", "-1");
  card.scrollIntoView({block: "nearest", behavior: "smooth"});
  card.focus({preventScroll: true});
}, true);
</script>
"""


def _library_events(
    manager: Manager,
    search: gr.Textbox,
    table: gr.Dataframe,
    picked: gr.Dropdown,
    count: gr.Markdown,
    note: gr.Markdown,
    removed: gr.State,
    undo: gr.Button,
) -> None:
    """The filter narrows the table and the picker; a row click picks its paper."""

    def on_filter(query: str, key: str | None) -> tuple[Any, ...]:
        view = manager.view(query)
        keep = key if key in {k for _, k in view.choices} else None
        return view.rows, gr.update(choices=view.choices, value=keep), view.count

    search.change(on_filter, [search, picked], [table, picked, count], show_progress="hidden")

    def on_row(query: str, event: gr.SelectData) -> Any:
        row = getattr(event, "row_value", None)
        key = str(row[0]) if row else None
        if key is None and isinstance(event.index, (list, tuple)):
            key = manager.key_of_row(query, int(event.index[0]))
        return gr.update(value=key) if key else gr.skip()

    table.select(on_row, [search], [picked], show_progress="hidden")


def _edit_events(
    manager: Manager,
    search: gr.Textbox,
    table: gr.Dataframe,
    picked: gr.Dropdown,
    count: gr.Markdown,
    library_note: gr.Markdown,
    panel: gr.Accordion,
    edit_note: gr.Markdown,
    fields: list[gr.Textbox],
    save: gr.Button,
    removal: tuple[gr.Button, gr.Row, gr.Markdown, gr.Button, gr.Button],
    removed: gr.State,
    undo: gr.Button,
) -> None:
    """The edit form follows the picked paper; removal asks first and can be undone."""
    remove, confirm_row, confirm_text, confirm, cancel = removal

    def form(key: str | None) -> list[Any]:
        values = manager.form(key)
        return [values.note, values.title, values.authors, values.year, values.venue, values.key]

    def on_pick(key: str | None) -> tuple[Any, ...]:
        return (gr.update(open=True) if key else gr.skip(), *form(key), gr.update(visible=False))

    picked.change(on_pick, [picked], [panel, edit_note, *fields, confirm_row], show_progress="hidden")

    def on_save(key: str | None, query: str, *values: str) -> tuple[Any, ...]:
        title, authors, year, venue, new_key = values
        note, now = manager.save(key, title, authors, year, venue, new_key)
        view = manager.view(query)
        shown = form(now)
        shown[0] = note + "\n\n" + shown[0]
        return (view.rows, gr.update(choices=view.choices, value=now), view.count, *shown)

    save.click(
        on_save,
        [picked, search, *fields],
        [table, picked, count, edit_note, *fields],
        concurrency_limit=1,
        show_progress="hidden",  # quick; the note says when it is done
    )

    def on_remove(key: str | None) -> tuple[Any, ...]:
        if not key:
            return "Choose a paper to remove.", gr.skip(), gr.update(visible=False)
        label = manager.form(key).title or key
        question = (
            f"**Remove `{key}`** ({label}) and its passages? "
            "Until this session ends, *Undo removal* puts it back."
        )
        return "", question, gr.update(visible=True)

    remove.click(on_remove, [picked], [library_note, confirm_text, confirm_row], show_progress="hidden")
    cancel.click(lambda: gr.update(visible=False), None, [confirm_row], show_progress="hidden")

    def on_confirm(key: str | None, query: str, copies: list[Any]) -> tuple[Any, ...]:
        note, copies = manager.remove(key, copies)
        view = manager.view(query)
        return (
            note,
            copies,
            view.rows,
            gr.update(choices=view.choices, value=None),
            view.count,
            gr.update(visible=False),
            gr.update(visible=bool(copies)),
        )

    confirm.click(
        on_confirm,
        [picked, search, removed],
        [library_note, removed, table, picked, count, confirm_row, undo],
        concurrency_limit=1,
        show_progress="hidden",  # quick; the note says when it is done
    )

    def on_undo(query: str, copies: list[Any]) -> tuple[Any, ...]:
        note, copies, key = manager.undo(copies)
        view = manager.view(query)
        value = key if key in {k for _, k in view.choices} else None
        return (
            note,
            copies,
            view.rows,
            gr.update(choices=view.choices, value=value),
            view.count,
            gr.update(visible=bool(copies)),
        )

    undo.click(
        on_undo,
        [search, removed],
        [library_note, removed, table, picked, count, undo],
        concurrency_limit=1,
        show_progress="hidden",
    )


def _offers(turn: ChatTurn) -> tuple[Any, Any]:
    """The buttons under the latest answer: ask it as a new question (it carried on from the one
    before), answer it anyway (it was refused before any model was asked)."""
    return gr.update(visible=turn.follow_up), gr.update(visible=turn.refused)


def uploads_for(library: Library) -> Uploads:
    return Uploads(library.path / "uploads", max_bytes=library.settings.ui.max_upload_mb * 1_000_000)


def collection_picker(elem_id: str) -> gr.Dropdown:
    """Which Zotero collections to draw on ("ask only my 'Thesis ch. 2' papers"); hidden while
    no paper of the library is in a collection."""
    return gr.Dropdown(
        label="Only papers in these collections (none chosen: the whole library)",
        choices=[],
        multiselect=True,
        visible=False,
        elem_id=elem_id,
    )


def build(handlers: Handlers) -> gr.Blocks:
    """The app's layout and its events (not launched)."""
    concurrency = handlers.library.settings.ui.concurrency
    # Gradio's copies of uploads and downloads are dropped after a day (uploads are kept in the
    # library's own folder)
    with gr.Blocks(title="litassist", analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        llm = gr.State(None)  # this session's endpoint (None: the configured one)
        removed = gr.State([])  # copies of the papers this session removed, for undo (ui/manage.py)
        answers = gr.State([])  # this session's conversation
        gr.HTML("<h1>litassist: your papers, cited</h1>", elem_id="app-title")
        banner = gr.Markdown(elem_id="mode-banner")

        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation",
                        elem_id="chat",
                        height=560,
                        buttons=["copy", "copy_all"],
                        placeholder="Ask about your papers. Answers cite them as [1], [2], ...; "
                        "the sources are on the right.",
                    )
                    question = gr.Textbox(
                        label="Your question",  # what a screen reader announces
                        placeholder="Ask about your papers; follow-up questions carry on",
                        show_label=False,
                        elem_id="question",
                        lines=1,
                    )
                    with gr.Row():
                        ask = gr.Button("Ask", variant="primary", elem_id="ask")
                        new = gr.Button("New conversation", elem_id="new-conversation")
                        # shown under an answer that carried on from the one before
                        anew = gr.Button("Ask as a new question", elem_id="ask-anew", visible=False)
                        # shown under a question refused before any model was asked
                        anyway = gr.Button("Answer anyway", elem_id="answer-anyway", visible=False)
                    chat_collections = collection_picker("chat-collections")
                # below the answer on a phone, where it folds away
                with gr.Column(scale=2, min_width=300), gr.Accordion("Sources", elem_id="sources-panel"):
                    sources = gr.HTML(render.NO_SOURCES_YET, elem_id="sources")

            with gr.Tab("Library", id="library"):
                upload = gr.File(
                    label="Add papers: PDF, BibTeX, listings (.txt), HTML, Markdown, S2ORC JSON "
                    "(drop several at once)",
                    file_count="multiple",
                    file_types=FILE_TYPES,
                    elem_id="upload",
                    height=150,
                )
                upload_summary = gr.Markdown(elem_id="upload-summary")
                upload_result = gr.Dataframe(
                    headers=render.INGEST_COLUMNS, interactive=False, visible=False, elem_id="upload-result"
                )
                with gr.Row(equal_height=True):
                    search = gr.Textbox(
                        label="Filter the papers",
                        placeholder="key, title, author, year, venue",
                        elem_id="papers-filter",
                        scale=3,
                    )
                    count = gr.Markdown(elem_id="papers-count")
                table = gr.Dataframe(
                    headers=papers.COLUMNS,
                    interactive=False,
                    elem_id="papers",
                    wrap=True,
                    max_height=420,
                    column_widths=papers.WIDTHS,
                    label="Papers (click a row to pick the paper)",
                )
                with gr.Row():
                    picked = gr.Dropdown(label="Paper", choices=[], elem_id="picked", scale=3)
                    length = gr.Radio(["short", "long"], value="short", label="Summary length", scale=1)
                    summarize = gr.Button("Summarize", elem_id="summarize", scale=1)
                with gr.Accordion("Edit or remove the paper", open=False, elem_id="edit-panel") as edit_panel:
                    edit_note = gr.Markdown(papers.FormValues.of(None).note, elem_id="edit-note")
                    with gr.Row():
                        edit_title = gr.Textbox(label="Title", elem_id="edit-title", scale=3)
                        edit_key = gr.Textbox(label="Citation key", elem_id="edit-key", scale=1)
                    with gr.Row():
                        edit_authors = gr.Textbox(
                            label="Authors, one a line", lines=3, elem_id="edit-authors", scale=2
                        )
                        edit_year = gr.Textbox(label="Year", elem_id="edit-year", scale=1)
                        edit_venue = gr.Textbox(label="Venue", elem_id="edit-venue", scale=2)
                    save = gr.Button("Save changes", variant="primary", elem_id="save-paper")
                    gr.Markdown("---")
                    with gr.Row():
                        remove = gr.Button(
                            "Remove from library…",
                            variant="stop",
                            elem_id="remove",
                            size="sm",
                            scale=0,
                            min_width=220,
                        )
                    with gr.Row(visible=False, elem_id="confirm-remove") as confirm_row:
                        confirm_text = gr.Markdown(elem_id="confirm-text")
                        confirm = gr.Button("Yes, remove it", variant="stop", elem_id="confirm-remove-yes")
                        cancel = gr.Button("Cancel", elem_id="confirm-remove-no")
                with gr.Row():
                    library_note = gr.Markdown(elem_id="library-note")
                    undo = gr.Button("Undo removal", visible=False, elem_id="undo", size="sm")
                with gr.Row(equal_height=False):
                    summary = gr.Markdown(elem_id="summary")
                    summary_sources = gr.HTML(elem_id="summary-sources")

            with gr.Tab("Drafts", id="drafts"):
                topic = gr.Textbox(label="Topic of the related-work section", elem_id="topic")
                own_abstract = gr.Textbox(
                    label="Your abstract (optional): your contributions are searched for and positioned",
                    lines=4,
                    elem_id="own-abstract",
                )
                draft_collections = collection_picker("draft-collections")
                write = gr.Button("Draft related work", variant="primary", elem_id="draft")
                outline = gr.Markdown(elem_id="outline")
                with gr.Row():
                    downloads = [
                        gr.DownloadButton(
                            f"Download {suffix}", visible=False, elem_id=f"download-{suffix[1:]}"
                        )
                        for suffix in (".md", ".tex", ".bib")
                    ]
                with gr.Row(equal_height=False):
                    draft_text = gr.Markdown(elem_id="draft-text")
                    draft_sources = gr.HTML(elem_id="draft-sources")

            with gr.Tab("Tables", id="tables"):
                table_topic = gr.Textbox(label="What the table compares", elem_id="table-topic")
                table_columns = gr.Textbox(
                    label="Columns of your own beside task, dataset, metric, value "
                    '(comma-separated: "backbone, parameters")',
                    elem_id="table-columns",
                )
                table_extractive = gr.Checkbox(label="Extractive: read result sentences, no model")
                compare = gr.Button("Build the table", variant="primary", elem_id="compare")
                with gr.Row():
                    table_downloads = [
                        gr.DownloadButton(
                            f"Download {suffix}", visible=False, elem_id=f"table-download-{suffix[1:]}"
                        )
                        for suffix in table_tab.SUFFIXES
                    ]
                with gr.Row(equal_height=False):
                    table_text = gr.Markdown(elem_id="table-text")
                    table_cells = gr.HTML(elem_id="table-cells")

            with gr.Tab("Settings", id="settings"):
                settings_view = gr.Markdown(elem_id="settings-view")
                gr.Markdown("## Endpoint for this session (others keep theirs)", elem_id="endpoint-heading")
                with gr.Row():
                    base_url = gr.Textbox(
                        label="OpenAI-compatible base URL", placeholder="http://127.0.0.1:8080/v1"
                    )
                    model = gr.Textbox(label="Model")
                    api_key = gr.Textbox(label="API key (kept for this session only)", type="password")
                extractive = gr.Checkbox(label="Extractive: no language model")
                with gr.Row():
                    apply = gr.Button("Use for this session", elem_id="apply-endpoint")
                    test = gr.Button("Test connection", elem_id="test-connection")
                settings_note = gr.Markdown(elem_id="settings-note")

        # -- events ------------------------------------------------------------------------------

        manager = Manager(handlers.library, handlers.uploads)

        # on a page load, the banner and the settings first, on their own: the papers table of a
        # large library (or of any library on a busy machine) takes a while, and an endpoint the
        # session chose meanwhile must not be shown as replaced by the configured one when the
        # table arrives
        def on_load(session_llm: LLMSettings | None) -> tuple[Any, ...]:
            return handlers.banner(session_llm), handlers.settings_markdown(session_llm)

        def on_load_papers() -> tuple[Any, ...]:
            view = manager.view()
            collections = handlers.collection_choices()
            return (
                view.rows,
                gr.update(choices=view.choices),
                view.count,
                gr.update(choices=collections, visible=bool(collections)),
                gr.update(choices=collections, visible=bool(collections)),
            )

        app.load(on_load, [llm], [banner, settings_view], show_progress="hidden")
        app.load(
            on_load_papers,
            None,
            [table, picked, count, chat_collections, draft_collections],
            show_progress="hidden",
        )

        if handlers.fill is not None:  # the sample library fills: its progress, while it does
            ticks = gr.Timer(FILL_REFRESH_S, active=handlers.fill.state().filling)

            def on_tick(session_llm: LLMSettings | None, query: str) -> tuple[Any, ...]:
                filling = handlers.filling() is not None
                view = manager.view(query)
                return (
                    handlers.banner(session_llm),
                    view.rows,
                    gr.update(choices=view.choices),
                    view.count,
                    gr.Timer(active=filling),
                )

            ticks.tick(on_tick, [llm, search], [banner, table, picked, count, ticks], show_progress="hidden")

        def on_ask(
            text: str,
            messages: list[Any],
            history: list[Answer],
            session_llm: LLMSettings | None,
            collections: list[str] | None,
        ) -> Iterator[tuple[Any, ...]]:
            for turn in handlers.chat(text, messages or [], history, session_llm, collections):
                yield turn.messages, turn.sources, turn.answers, "", *_offers(turn)

        chat_io: dict[str, Any] = {
            "fn": on_ask,
            "inputs": [question, chatbot, answers, llm, chat_collections],
            "outputs": [chatbot, sources, answers, question, anew, anyway],
            "concurrency_limit": concurrency,
            "concurrency_id": "chat",  # Enter and the button share one limit
            "show_progress": "hidden",
        }
        question.submit(**chat_io)
        ask.click(**chat_io)

        def asking_again(overrule: bool) -> Any:
            def on_again(
                messages: list[Any],
                history: list[Answer],
                session_llm: LLMSettings | None,
                collections: list[str] | None,
            ) -> Iterator[tuple[Any, ...]]:
                again = handlers.ask_again(messages or [], history, session_llm, collections, anyway=overrule)
                for turn in again:
                    yield turn.messages, turn.sources, turn.answers, *_offers(turn)

            return on_again

        for button, overrule in ((anew, False), (anyway, True)):
            button.click(
                asking_again(overrule),
                [chatbot, answers, llm, chat_collections],
                [chatbot, sources, answers, anew, anyway],
                concurrency_limit=concurrency,
                concurrency_id="chat",
                show_progress="hidden",
            )
        hidden = gr.update(visible=False)
        emptied = [answers, sources, anew, anyway]
        new.click(lambda: ([], [], render.NO_SOURCES_YET, hidden, hidden), None, [chatbot, *emptied])
        chatbot.clear(lambda: ([], render.NO_SOURCES_YET, hidden, hidden), None, emptied)

        def on_upload(
            files: list[str] | None,
            query: str,
            progress: Any = gr.Progress(),  # noqa: B008 - Gradio's way of asking for a progress bar
        ) -> tuple[Any, ...]:
            summary_line, rows = handlers.add_files(files or [], lambda f, d: progress(f, desc=d))
            view = manager.view(query)
            collections = handlers.collection_choices()
            return (
                None,
                summary_line,
                gr.update(value=rows, visible=bool(rows)),
                view.rows,
                gr.update(choices=view.choices),
                view.count,
                gr.update(choices=collections, visible=bool(collections)),
                gr.update(choices=collections, visible=bool(collections)),
            )

        upload.upload(
            on_upload,
            [upload, search],
            [
                upload,
                upload_summary,
                upload_result,
                table,
                picked,
                count,
                chat_collections,
                draft_collections,
            ],
            concurrency_limit=1,
        )
        _library_events(manager, search, table, picked, count, library_note, removed, undo)
        _edit_events(
            manager,
            search,
            table,
            picked,
            count,
            library_note,
            edit_panel,
            edit_note,
            [edit_title, edit_authors, edit_year, edit_venue, edit_key],
            save,
            (remove, confirm_row, confirm_text, confirm, cancel),
            removed,
            undo,
        )
        summarize.click(handlers.summarize, [picked, length, llm], [summary, summary_sources])

        def on_draft(
            text: str, abstract: str, session_llm: LLMSettings | None, collections: list[str] | None
        ) -> tuple[Any, ...]:
            view = handlers.draft(text, abstract, session_llm, collections)
            files = view.files or (None, None, None)
            buttons = [gr.update(value=f, visible=f is not None) for f in files]
            return (view.outline, view.text, view.sources, *buttons)

        write.click(
            on_draft,
            [topic, own_abstract, llm, draft_collections],
            [outline, draft_text, draft_sources, *downloads],
        )

        def on_compare(
            text: str, columns: str, no_model: bool, session_llm: LLMSettings | None
        ) -> tuple[Any, ...]:
            view = table_tab.compare(handlers, text, columns, no_model, session_llm)
            files = view.files or (None,) * len(table_tab.SUFFIXES)
            buttons = [gr.update(value=f, visible=f is not None) for f in files]
            return (view.text, view.cells, *buttons)

        compare.click(
            on_compare,
            [table_topic, table_columns, table_extractive, llm],
            [table_text, table_cells, *table_downloads],
        )

        def on_apply(
            url: str, name: str, key: str, no_model: bool, session_llm: LLMSettings | None
        ) -> tuple[Any, ...]:
            try:
                chosen, note = handlers.choose_endpoint(url, name, key, no_model)
            except LitassistError as e:
                return session_llm, render.error_message(e), handlers.banner(session_llm), gr.skip()
            if (
                chosen is not None and url.strip() and not no_model
            ):  # checked at once, not at the next question
                checked = connection.check(chosen, SESSION_ORIGIN)
                if not checked.ok:
                    note += "\n\n" + checked.message + " Questions will fail until it answers."
            return chosen, note, handlers.banner(chosen), handlers.settings_markdown(chosen)

        apply.click(
            on_apply, [base_url, model, api_key, extractive, llm], [llm, settings_note, banner, settings_view]
        )

        def on_test(url: str, name: str, key: str, no_model: bool, session_llm: LLMSettings | None) -> str:
            if no_model:
                return "Extractive mode: no endpoint to test."
            chosen, origin = connection.endpoint(handlers.library.settings.llm, session_llm, url, name, key)
            return connection.check(chosen, origin).message

        test.click(on_test, [base_url, model, api_key, extractive, llm], [settings_note])
    return app


def launch(
    library: Library,
    *,
    host: str | None = None,
    port: int | None = None,
    auth: tuple[str, str] | None = None,
    share: bool = False,
    block: bool = True,
    handlers: Handlers | None = None,
    fill: SampleFill | None = None,
) -> gr.Blocks:
    """Start the app (blocking unless ``block=False``); returns it, so that ``close()`` stops it.
    ``handlers``: the app's handlers over ``library`` (a benchmark passes instrumented ones).
    ``fill``: the sample library filling in the background (its progress shows in the banner)."""
    conf = library.settings.ui
    uploads = uploads_for(library)
    if library.read_only is None:  # a read-only library's uploads are only served, if any
        uploads.folder.mkdir(parents=True, exist_ok=True)
    app = build(handlers or Handlers(library, uploads=uploads, files_route=FILES_ROUTE, fill=fill))
    app.queue(default_concurrency_limit=conf.concurrency, max_size=128)
    app.launch(
        server_name=host or conf.host,
        server_port=port or conf.port,
        auth=auth,
        share=share,
        max_file_size=f"{conf.max_upload_mb}mb",
        allowed_paths=[str(uploads.folder.resolve())],
        show_error=False,
        inbrowser=False,
        ssr_mode=False,
        prevent_thread_lock=not block,
        footer_links=[],
        css=CSS + ACCESSIBLE_CSS,
        head=CITATION_LINKS_JS,
    )
    return app
