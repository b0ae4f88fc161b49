"""The `litassist` command as a user runs it, and an ingest killed with SIGKILL that resumes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import aclsum
import chromadb
import pytest

from assistant import Library
from assistant.settings import EmbedderSettings, Settings
from tests.conftest import BIN, SEEDS, backend_settings, free_port, stop, wait_for
from tests.integration.test_ingest import consistent

pytestmark = pytest.mark.integration

LITASSIST = str(BIN / "litassist")
ACL_PAPERS = Path(aclsum.__file__).parent / "dataset" / "paper_jsons"


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITASSIST_")}
    chroma = settings.chroma
    env.update(
        LITASSIST_CHROMA__MODE=chroma.mode,
        LITASSIST_CHROMA__HOST=chroma.host,
        LITASSIST_CHROMA__PORT=str(chroma.port),
        LITASSIST_CHROMA__PREFIX=chroma.prefix,
    )
    return env


def run(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LITASSIST, *args], capture_output=True, text=True, env=env, timeout=300, input=input
    )


def test_add_papers_remove_with_json_and_exit_status(tmp_path: Path) -> None:
    library = str(tmp_path / "lib")
    added = run("--library", library, "add", str(SEEDS / "000_f93e3115d50f0c1b.txt"), "--json")
    assert added.returncode == 0, added.stderr
    report = json.loads(added.stdout)
    assert len(report["added"]) == 10 and report["failed"] == []

    listed = run("--library", library, "papers", "--json")
    keys = [p["key"] for p in json.loads(listed.stdout)]
    assert len(keys) == 10 and keys[0] == "unipose"

    removed = run("--library", library, "remove", keys[0], "--json")
    assert removed.returncode == 0 and json.loads(removed.stdout)["key"] == keys[0]
    assert len(json.loads(run("--library", library, "papers", "--json").stdout)) == 9

    unknown = run("--library", library, "remove", "nosuchkey")
    assert unknown.returncode != 0 and "No paper with key 'nosuchkey'" in unknown.stderr

    # the library can also come from the environment, the same for every command
    env = {**os.environ, "LITASSIST_LIBRARY": library}
    assert len(json.loads(run("papers", "--json", env=env).stdout)) == 9


def test_failed_files_make_the_exit_status_non_zero(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.txt").write_text("")
    (tmp_path / "in" / "broken.bib").write_text("@article{cut,\n  title = {Unclosed\n")
    (tmp_path / "nothing").mkdir()
    shutil.copy(SEEDS / "003_26e15eb79cce6a53.txt", tmp_path / "in" / "listing.txt")
    result = run(
        "--library",
        str(tmp_path / "lib"),
        "add",
        str(tmp_path / "in"),
        str(tmp_path / "nothing"),
        str(tmp_path / "missing.pdf"),
    )
    assert result.returncode == 1
    assert "10 added, 1 skipped, 2 failed" in result.stdout
    assert "empty" in result.stdout and "missing.pdf" in result.stderr
    assert "malformed entry" in result.stdout and "no files to read in the folder" in result.stdout
    # the table says what failed; bibtexparser's own warning about the entry is for -v only
    assert "bibtexparser" not in result.stderr


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("add", "papers", "remove", "ui", "eval", "--library"):
        assert command in result.stdout


def test_ui_binds_loopback_and_asks_for_the_password(tmp_path: Path) -> None:
    bad = run("--library", str(tmp_path / "lib"), "ui", "--auth", "no-colon")
    assert bad.returncode == 2 and "USER:PASS" in bad.stderr
    port = free_port()
    log_path = tmp_path / "ui.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                LITASSIST,
                "--library",
                str(tmp_path / "lib"),
                "ui",
                "--port",
                str(port),
                "--auth",
                "ann:s3cret",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"},
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/", process, log_path)
            base = f"http://127.0.0.1:{port}"
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{base}/config", timeout=10)
            assert refused.value.code == 401
            login = urllib.request.Request(
                f"{base}/login",
                data=urllib.parse.urlencode({"username": "ann", "password": "s3cret"}).encode(),
            )
            with urllib.request.urlopen(login, timeout=10) as response:
                cookie = response.headers["set-cookie"].split(";")[0]
            config = urllib.request.Request(f"{base}/config", headers={"Cookie": cookie})
            with urllib.request.urlopen(config, timeout=10) as response:
                assert json.load(response)["components"]
        finally:
            stop(process)
    assert f"litassist UI at http://127.0.0.1:{port}" in log_path.read_text()
    assert "gradio.live" not in log_path.read_text()  # no public link unless asked


# enough papers for two write groups (~256 chunks each): the first commits, the second is killed
PAPERS = 8


def test_sigkill_mid_ingest_then_resume(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    settings = backend_settings(backend, request)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(ACL_PAPERS.glob("*.json"))[:PAPERS]:
        shutil.copy(path, corpus / path.name)
    library_dir = tmp_path / "lib"
    args = [LITASSIST, "-vv", "--library", str(library_dir), "add", str(corpus)]
    process = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=cli_env(settings)
    )
    assert process.stderr is not None
    begun = 0
    for line in process.stderr:
        if "store.ingest: pending:" in line:
            begun += 1
            if begun == 2:  # the first group is committed, the second is being written
                process.send_signal(signal.SIGKILL)
                break
    process.wait(timeout=60)
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"

    # what the killed process left, seen without litassist (which would clean up on open)
    if settings.chroma.mode == "server":
        raw = chromadb.HttpClient(host=settings.chroma.host, port=settings.chroma.port)
    else:
        raw = chromadb.PersistentClient(path=str(library_dir / "chroma"))
    records = raw.get_collection(f"{settings.chroma.prefix}papers").get(include=["metadatas"])
    statuses = [m["status"] for m in records["metadatas"] or []]
    assert 0 < statuses.count("active") < PAPERS and "pending" in statuses

    resumed = subprocess.run(args, capture_output=True, text=True, env=cli_env(settings), timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    library = Library(library_dir, settings=settings)
    papers = library.papers()
    assert len(papers) == PAPERS
    assert all(p.chunk_count > 10 for p in papers)
    consistent(library)


def test_ask_streams_prints_references_and_reports_what_failed(tmp_path: Path) -> None:
    """`litassist ask` against the scripted OpenAI-compatible server: the streamed answer with
    numbered citations, the references after it, removed citations reported; an endpoint that
    is down is a one-line error with exit status 2."""
    from tests.openai_server import serve_in_thread

    library = str(tmp_path / "lib")
    assert run("--library", library, "add", str(SEEDS / "002_47b77621b76a6c7c.txt")).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITASSIST_", "OPENAI_"))}
    question = "How does FineCLIPER recognise dynamic facial expressions?"
    with serve_in_thread() as server:
        env.update(LITASSIST_LLM__BASE_URL=server.url, LITASSIST_LLM__MODEL="fake-chat")
        server.replies = ["FineCLIPER uses adapters [@finecliper2024]. Made up [@nobody2020fake]."]
        result = run("--library", library, "ask", question, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("FineCLIPER uses adapters [1]. Made up.")
        assert "[1] " in result.stdout and "FineCLIPER: Multi-modal" in result.stdout
        assert "finecliper2024" in result.stdout  # the key, for the user's own .bib
        assert "removed citations" in result.stderr and "nobody2020fake" in result.stderr
        assert server.chat_requests()[0]["body"]["stream"] is True
        extractive = run("--library", library, "ask", "--extractive", question, env=env)
        assert "extractive answer" in extractive.stderr and len(server.chat_requests()) == 1
        # a conversation: the follow-up carries on, and each answer says what was searched
        follow_up = "How is it evaluated?"
        chat = run("--library", library, "chat", "--extractive", env=env, input=f"{question}\n{follow_up}\n")
        assert chat.returncode == 0, chat.stderr
        assert f"Searched for: {question}\n" in chat.stdout
        assert f"Searched for: {question} {follow_up} (carried on from the previous question)" in chat.stdout
    env["LITASSIST_LLM__MAX_RETRIES"] = "0"
    down = run("--library", library, "ask", question, env=env)  # the server is gone now
    assert down.returncode == 2
    assert "nothing answers at" in down.stderr and "Traceback" not in down.stderr


def test_invalid_settings_are_named(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITASSIST_", "OPENAI_"))}
    env.update(LITASSIST_LLM__MODE="sometimes", LITASSIST_LLM__TIMEOUT="soon")
    result = run("--library", str(tmp_path / "lib"), "ask", "anything", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid setting LITASSIST_LLM__MODE" in result.stderr
    assert "invalid setting LITASSIST_LLM__TIMEOUT" in result.stderr


def test_sigkill_mid_update_then_resume(tmp_path: Path) -> None:
    """Abstracts first (``abstracts_only``), then the full texts with `litassist add`: killed
    after its papers were flagged as updating, then run again. Every paper ends whole, with its
    full text; the lexical index agrees. (Which text a flagged paper keeps when the library is
    opened again: tests/unit/test_update.py, both sides.)"""
    from tests.openai_server import serve_in_thread

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(ACL_PAPERS.glob("*.json"))[:4]:
        shutil.copy(path, corpus / path.name)
    library_dir = tmp_path / "lib"
    with serve_in_thread() as server:  # embeddings over the wire, fast: the writes are what is killed
        settings = Settings(
            embedder=EmbedderSettings(provider="openai", model="fake-embed", base_url=server.url)
        )
        keys = sorted(
            p.key for p in Library(library_dir, settings=settings).add(corpus, abstracts_only=True).added
        )
        env = cli_env(settings)
        env.update(
            LITASSIST_EMBEDDER__PROVIDER="openai",
            LITASSIST_EMBEDDER__MODEL="fake-embed",
            LITASSIST_EMBEDDER__BASE_URL=server.url,
            LITASSIST_INGEST__GROUP_CHUNKS="1000",  # one group: one update of the four
        )
        args = [LITASSIST, "-vv", "--library", str(library_dir), "add", "--json", str(corpus)]
        process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        assert process.stderr is not None
        for line in process.stderr:
            if "store.ingest: updating:" in line:
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
        process.stderr.close()
        assert process.returncode == -signal.SIGKILL, "the update finished before it could be killed"
        raw = chromadb.PersistentClient(path=str(library_dir / "chroma"))  # as the kill left it
        records = raw.get_collection("papers").get(include=["metadatas"])["metadatas"] or []
        assert any(m.get("updating") for m in records), "killed before a paper was flagged"

        resumed = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        report = json.loads(resumed.stdout)
        assert not report["added"] and not report["failed"] and report["full_texts"]
        library = Library(library_dir, settings=settings)
        assert sorted(p.key for p in library.papers()) == keys
        assert all(p.chunk_count > 10 for p in library.papers())
        consistent(library)
        assert not library.store.papers_collection.get(where={"updating": True})["ids"]
        library.lexical.ensure_current(library.store)
        assert library.lexical._indexed == library.store.paper_states()
