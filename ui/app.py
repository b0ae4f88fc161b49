"""The Gradio app: four tabs (Chat, Library, Drafts, Settings) wired to ``ui.handlers``.

Each browser session has its own conversation and its own choice of endpoint (``gr.State``);
the library is shared. The app binds to loopback unless told otherwise and never opens a
public share link unless asked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.answer import Answer
from assistant.library import Library
from assistant.sample import SampleFill
from assistant.settings import LLMSettings
from store.errors import LitassistError
from ui import render
from ui.handlers import Handlers
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


def uploads_for(library: Library) -> Uploads:
    return Uploads(library.path / "uploads", max_bytes=library.settings.ui.max_upload_mb * 1_000_000)


def build(handlers: Handlers) -> gr.Blocks:
    """The app's layout and its events (not launched)."""
    concurrency = handlers.library.settings.ui.concurrency
    # Gradio's copies of uploads and downloads are dropped after a day (uploads are kept in the
    # library's own folder)
    with gr.Blocks(title="litassist", analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        llm = gr.State(None)  # this session's endpoint (None: the configured one)
        answers = gr.State([])  # this session's conversation
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
                        placeholder="Ask about your papers; follow-up questions carry on",
                        show_label=False,
                        elem_id="question",
                        lines=1,
                    )
                    with gr.Row():
                        ask = gr.Button("Ask", variant="primary", elem_id="ask")
                        new = gr.Button("New conversation", elem_id="new-conversation")
                with gr.Column(scale=2):
                    gr.Markdown("### Sources")
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
                search = gr.Textbox(
                    label="Filter the papers",
                    placeholder="key, title, author, year, venue",
                    elem_id="papers-filter",
                )
                table = gr.Dataframe(
                    headers=render.PAPER_COLUMNS,
                    interactive=False,
                    elem_id="papers",
                    wrap=True,
                    max_height=420,
                    column_widths=["14%", "44%", "20%", "7%", "15%"],
                )
                with gr.Row():
                    picked = gr.Dropdown(label="Paper", choices=[], elem_id="picked", scale=3)
                    length = gr.Radio(["short", "long"], value="short", label="Summary length", scale=1)
                    summarize = gr.Button("Summarize", elem_id="summarize", scale=1)
                    remove = gr.Button("Remove from library", variant="stop", elem_id="remove", scale=1)
                library_note = gr.Markdown(elem_id="library-note")
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

            with gr.Tab("Settings", id="settings"):
                settings_view = gr.Markdown(elem_id="settings-view")
                gr.Markdown("#### Endpoint for this session (others keep theirs)")
                with gr.Row():
                    base_url = gr.Textbox(
                        label="OpenAI-compatible base URL", placeholder="http://127.0.0.1:8080/v1"
                    )
                    model = gr.Textbox(label="Model")
                    api_key = gr.Textbox(label="API key (kept for this session only)", type="password")
                extractive = gr.Checkbox(label="Extractive: no language model")
                apply = gr.Button("Use for this session", elem_id="apply-endpoint")
                settings_note = gr.Markdown(elem_id="settings-note")

        # -- events ------------------------------------------------------------------------------

        def on_load(session_llm: LLMSettings | None) -> tuple[Any, ...]:
            return (
                handlers.banner(session_llm),
                handlers.paper_rows(),
                gr.update(choices=handlers.paper_choices()),
                handlers.settings_markdown(session_llm),
            )

        app.load(on_load, [llm], [banner, table, picked, settings_view], show_progress="hidden")

        if handlers.fill is not None:  # the sample library fills: its progress, while it does
            ticks = gr.Timer(FILL_REFRESH_S, active=handlers.fill.state().filling)

            def on_tick(session_llm: LLMSettings | None, query: str) -> tuple[Any, ...]:
                filling = handlers.filling() is not None
                return (
                    handlers.banner(session_llm),
                    handlers.paper_rows(query or ""),
                    gr.update(choices=handlers.paper_choices()),
                    gr.Timer(active=filling),
                )

            ticks.tick(on_tick, [llm, search], [banner, table, picked, ticks], show_progress="hidden")

        def on_ask(
            text: str, messages: list[Any], history: list[Answer], session_llm: LLMSettings | None
        ) -> Iterator[tuple[Any, ...]]:
            for turn in handlers.chat(text, messages or [], history, session_llm):
                yield turn.messages, turn.sources, turn.answers, ""

        chat_io: dict[str, Any] = {
            "fn": on_ask,
            "inputs": [question, chatbot, answers, llm],
            "outputs": [chatbot, sources, answers, question],
            "concurrency_limit": concurrency,
            "concurrency_id": "chat",  # Enter and the button share one limit
            "show_progress": "hidden",
        }
        question.submit(**chat_io)
        ask.click(**chat_io)
        new.click(lambda: ([], [], render.NO_SOURCES_YET), None, [chatbot, answers, sources])
        chatbot.clear(lambda: ([], render.NO_SOURCES_YET), None, [answers, sources])

        def on_upload(
            files: list[str] | None,
            query: str,
            progress: Any = gr.Progress(),  # noqa: B008 - Gradio's way of asking for a progress bar
        ) -> tuple[Any, ...]:
            summary_line, rows = handlers.add_files(files or [], lambda f, d: progress(f, desc=d))
            return (
                None,
                summary_line,
                gr.update(value=rows, visible=bool(rows)),
                handlers.paper_rows(query),
                gr.update(choices=handlers.paper_choices()),
            )

        upload.upload(
            on_upload,
            [upload, search],
            [upload, upload_summary, upload_result, table, picked],
            concurrency_limit=1,
        )
        search.change(handlers.filter_papers, [search], [table, library_note], show_progress="hidden")

        def on_remove(key: str | None, query: str) -> tuple[Any, ...]:
            note = handlers.remove(key)
            return note, handlers.paper_rows(query), gr.update(choices=handlers.paper_choices(), value=None)

        remove.click(on_remove, [picked, search], [library_note, table, picked], concurrency_limit=1)
        summarize.click(handlers.summarize, [picked, length, llm], [summary, summary_sources])

        def on_draft(text: str, abstract: str, session_llm: LLMSettings | None) -> tuple[Any, ...]:
            view = handlers.draft(text, abstract, session_llm)
            files = view.files or (None, None, None)
            buttons = [gr.update(value=f, visible=f is not None) for f in files]
            return (view.outline, view.text, view.sources, *buttons)

        write.click(on_draft, [topic, own_abstract, llm], [outline, draft_text, draft_sources, *downloads])

        def on_apply(
            url: str, name: str, key: str, no_model: bool, session_llm: LLMSettings | None
        ) -> tuple[Any, ...]:
            try:
                chosen, note = handlers.choose_endpoint(url, name, key, no_model)
            except LitassistError as e:
                return session_llm, render.error_message(e), handlers.banner(session_llm), gr.skip()
            return chosen, note, handlers.banner(chosen), handlers.settings_markdown(chosen)

        apply.click(
            on_apply, [base_url, model, api_key, extractive, llm], [llm, settings_note, banner, settings_view]
        )
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
        css=CSS,
    )
    return app
