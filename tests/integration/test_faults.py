"""Faults a user can cause during `litassist add`, with the real CLI in a subprocess: the Chroma
server killed mid-add (a `chroma run` of the test's own, killed by its PID), Ctrl-C in a
pseudo-terminal, a text file too big to read, a library folder that cannot be written."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import re
import shutil
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaClientSettings

from assistant import Library
from assistant.settings import ChromaSettings, Settings
from store.readers import read
from tests.conftest import BIN, HF_LISTING, SEEDS, ChromaServer
from tests.integration.test_ingest import consistent

pytestmark = pytest.mark.integration

LITASSIST = str(BIN / "litassist")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def one_paper_files(folder: Path, n: int) -> list[Path]:
    """``n`` text files of one paper each (a title and an abstract of the Hugging Face listing),
    and ``00b.txt``, a copy of the first: the same paper twice in one run."""
    folder.mkdir(parents=True)
    paths = []
    for i, document in enumerate(read(HF_LISTING).documents[:n]):
        path = folder / f"{i:02d}.txt"
        path.write_text(f"{document.paper.title}\n\n{document.paper.abstract}\n")
        paths.append(path)
    shutil.copy(paths[0], folder / "00b.txt")
    return paths


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITASSIST_", "OPENAI_"))}
    # small write groups: several groups from a few small files (the default is 256 passages)
    env.update(LITASSIST_INGEST__GROUP_CHUNKS="8", COLUMNS="250", ANONYMIZED_TELEMETRY="False", **extra)
    return env


def table_rows(text: str) -> list[tuple[str, str, str]]:
    """The (result, key / source, title / reason) rows of the report table (printed wide)."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if len(cells) == 3 and cells[0] in ("added", "skipped", "failed"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


@pytest.mark.parametrize("back", [False, True], ids=["server-stays-down", "server-back-within-1s"])
def test_chroma_server_killed_mid_add(tmp_path: Path, back: bool) -> None:
    """The report table says what was stored and what was not, and why; no traceback; no row
    claims a paper that is not stored; the next run completes the library."""
    files = one_paper_files(tmp_path / "in", 16)
    server = ChromaServer(tmp_path / "server")
    server.start()
    try:
        env = base_env(
            LITASSIST_CHROMA__MODE="server",
            LITASSIST_CHROMA__PORT=str(server.port),
            LITASSIST_CHROMA__PREFIX="t_",
        )
        args = [LITASSIST, "--library", str(tmp_path / "lib"), "add", str(tmp_path / "in")]
        add = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        client = chromadb.HttpClient(
            host="127.0.0.1", port=server.port, settings=ChromaClientSettings(anonymized_telemetry=False)
        )
        deadline = time.monotonic() + 120
        while add.poll() is None and time.monotonic() < deadline:  # the first write group has begun
            try:
                if client.get_collection("t_papers").count():
                    break
            except Exception:
                pass  # not created yet
            time.sleep(0.05)
        server.kill()
        if back:
            time.sleep(0.5)
            server.start()
        out, err = add.communicate(timeout=120)
        assert add.returncode == 1, f"exit {add.returncode}\n{out[-3000:]}\n{err[-3000:]}"
        assert "Traceback" not in err and "unexpected error" not in out + err, err[-3000:]
        rows = table_rows(out)
        failed = [(source, reason) for result, source, reason in rows if result == "failed"]
        more = sum(int(m.group(1)) for m in re.finditer(r"… and (\d+) more files", out))  # not read
        failed = [(source, reason) for source, reason in failed if not source.startswith("… and")]
        assert failed and all("Chroma server" in reason for _, reason in failed), out[-3000:]
        assert "stopped answering" in out

        if not back:
            server.start()
        settings = Settings(chroma=ChromaSettings(mode="server", port=server.port, prefix="t_"))
        library = Library(tmp_path / "lib", settings=settings)
        stored = {p.key: p for p in library.papers()}
        # every row is true: what it says was added or given a source is stored so
        for result, key_or_source, reason in rows:
            if result == "added":
                assert key_or_source in stored, (key_or_source, sorted(stored))
            elif "this source was added to it" in reason:
                key = re.search(r"same paper as (\S+);", reason)
                assert key and key.group(1) in stored, (reason, sorted(stored))
                assert any(Path(s).name == Path(key_or_source).name for s in stored[key.group(1)].sources)
        told = {Path(s.split("#")[0]).name for _, s, _ in rows}
        names = {p.name for p in files} | {"00b.txt"}
        assert len(names & told) + more >= len(names), ("a file the report does not mention", out[-3000:])

        again = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
        library = Library(tmp_path / "lib", settings=settings)
        assert len(library.papers()) == len(files)
        consistent(library)
        first = library.search(files[0].read_text().splitlines()[0], k=1, retriever="lexical")[0].paper
        assert sorted(Path(s).name for s in first.sources) == ["00.txt", "00b.txt"]
    finally:
        server.stop()


@contextmanager
def terminal(args: list[str], env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """Run ``args`` in a new pseudo-terminal (its controlling terminal): yields (pid, fd)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, or a plain exit if it cannot start
        try:
            os.execve(args[0], args, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
    # a terminal throws away the output not yet read when Ctrl-C is pressed: keep it for the test
    attributes = termios.tcgetattr(fd)
    attributes[3] |= termios.NOFLSH
    termios.tcsetattr(fd, termios.TCSANOW, attributes)
    try:
        yield pid, fd
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def read_until(
    fd: int, buffer: bytearray, done: re.Pattern[str] | None, timeout: float
) -> re.Match[str] | None:
    """Read the terminal into ``buffer`` until ``done`` matches its text (None: until it closes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            return None
        if not chunk:
            return None
        buffer.extend(chunk)
        if done is not None and (match := done.search(ANSI.sub("", buffer.decode(errors="replace")))):
            return match
    raise AssertionError(
        f"timed out; the terminal showed: {ANSI.sub('', buffer.decode(errors='replace'))[-3000:]}"
    )


def test_ctrl_c_during_add_stops_at_once_and_says_what_was_stored(tmp_path: Path) -> None:
    """Ctrl-C while the passages are embedded: the command stops within a second or two, the
    report says what was stored and what was not; a second Ctrl-C does not abort the
    interpreter; the library holds exactly what the report says, whole; a re-run completes it."""
    files = one_paper_files(tmp_path / "in", 60)
    library_dir = tmp_path / "lib"
    args = [LITASSIST, "--library", str(library_dir), "add", str(tmp_path / "in")]
    buffer = bytearray()
    with terminal(args, base_env(TERM="xterm")) as (pid, fd):
        # Ctrl-C once a few dozen passages are embedded (a progress bar in a terminal)
        read_until(fd, buffer, re.compile(r"chunks embedded[━╸╺ ]*\s([2-9]\d|\d{3,})/\d+"), timeout=120)
        os.write(fd, b"\x03")
        pressed = time.monotonic()
        time.sleep(0.3)
        os.write(fd, b"\x03")  # impatient: a second Ctrl-C while it stops
        read_until(fd, buffer, None, timeout=60)
        _, status = os.waitpid(pid, 0)
        seconds = time.monotonic() - pressed
    text = ANSI.sub("", buffer.decode(errors="replace"))
    assert "terminate called" not in text and "Traceback" not in text, text[-3000:]
    assert os.waitstatus_to_exitcode(status) == 130, (os.waitstatus_to_exitcode(status), text[-3000:])
    assert seconds < 10, f"{seconds:.1f} s from Ctrl-C to exit"  # a hang guard; it takes ~1 s here
    assert "interrupted" in text.lower(), text[-3000:]
    rows = table_rows(text)
    added = {key for result, key, _ in rows if result == "added"}
    not_stored = [source for result, source, reason in rows if result == "failed" and "not stored" in reason]
    assert not_stored, text[-3000:]

    library = Library(library_dir, settings=Settings())
    stored = {p.key for p in library.papers()}
    assert stored == added, (sorted(stored), sorted(added))
    assert len(stored) < len(files), "the run was not stopped"
    consistent(library)

    again = subprocess.run(args, capture_output=True, text=True, env=base_env(), timeout=120)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    library = Library(library_dir, settings=Settings())
    assert len(library.papers()) == len(files)
    consistent(library)


def test_a_huge_one_line_text_file_is_refused_at_once(tmp_path: Path) -> None:
    """20 MB in one line: refused with the size, the limit and the setting that raises it, and
    the other files go in (unchanged code took more than ten minutes and 2.8 GB on it)."""
    huge = tmp_path / "in" / "dump.txt"
    huge.parent.mkdir()
    with huge.open("w") as f:
        for _ in range(20 * 2**20 // 64):
            f.write("tokens of a dump that goes on and on without a single line break ")
    shutil.copy(SEEDS / "000_f93e3115d50f0c1b.txt", tmp_path / "in" / "listing.txt")
    result = subprocess.run(
        [LITASSIST, "--library", str(tmp_path / "lib"), "add", str(tmp_path / "in")],
        capture_output=True, text=True, env=base_env(), timeout=90,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    rows = table_rows(result.stdout)
    reason = next(
        reason for status, source, reason in rows if status == "failed" and source.endswith("dump.txt")
    )
    size = f"{huge.stat().st_size / 2**20:.1f} MB"
    assert size in reason and "10 MB" in reason and "LITASSIST_INGEST__MAX_TEXT_MB" in reason, reason
    assert "10 added" in result.stdout

    bigger = base_env(LITASSIST_INGEST__MAX_TEXT_MB="0.001")  # the limit is a setting
    refused = subprocess.run(
        [LITASSIST, "--library", str(tmp_path / "lib2"), "add", str(tmp_path / "in" / "listing.txt")],
        capture_output=True, text=True, env=bigger, timeout=90,
    )  # fmt: skip
    assert refused.returncode == 1 and "0.001 MB" in refused.stdout


def _read_only(folder: Path) -> tuple[list[str], Callable[[], None]]:
    """A way to run a command with ``folder`` read-only for it, honestly: a read-only bind mount
    in a mount namespace of its own (root ignores permissions, not a read-only mount), else the
    immutable attribute (chattr +i), else, for a user other than root, the permissions. Returns
    the command prefix and what undoes it."""
    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)

        def undo() -> None:
            for path in [folder, *folder.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)

        return [], undo
    probe = folder / ".probe"
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(folder)]
    if (
        shutil.which("unshare")
        and subprocess.run([*wrapper, "true"], capture_output=True).returncode == 0
        and subprocess.run([*wrapper, "touch", str(probe)], capture_output=True).returncode != 0
        and not probe.exists()
    ):
        return wrapper, lambda: None
    if (
        shutil.which("chattr")
        and subprocess.run(["chattr", "-R", "+i", str(folder)], capture_output=True).returncode == 0
    ):
        return [], lambda: subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)
    pytest.skip("no way to make a folder read-only for root here (no mount namespace, no chattr)")


def _contents(folder: Path) -> list[tuple[Path, str]]:
    return sorted(
        (p.relative_to(folder), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in folder.rglob("*")
        if p.is_file()
    )


def test_a_read_only_library_is_searched_from_a_copy(tmp_path: Path) -> None:
    """Chroma cannot open a library it cannot write (its SQLite database is opened for
    writing): a read-only library is listed and searched from a temporary copy, said once per
    command; `add` and `remove` say it is read-only, not "unexpected error". Nothing in the
    library changes, byte for byte, and the copies are gone when the commands end."""
    library = tmp_path / "lib"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = base_env(TMPDIR=str(temporary))
    added = subprocess.run(
        [LITASSIST, "--library", str(library), "add", str(SEEDS / "000_f93e3115d50f0c1b.txt")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listing = subprocess.run(
        [LITASSIST, "--library", str(library), "papers", "--json"], capture_output=True, text=True, env=env
    )
    keys = [p["key"] for p in json.loads(listing.stdout)]
    assert len(keys) == 10
    before = _contents(library)
    prefix, undo = _read_only(library)

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*prefix, LITASSIST, "--library", str(library), *command],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert " ".join(result.stderr.split()).count("read-only library:") == 1, result.stderr
        return result

    try:
        listed = run("papers", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [p["key"] for p in json.loads(listed.stdout)] == keys
        for retriever in ("hybrid", "lexical", "dense"):
            found = run("search", "pose estimation", "--retriever", retriever, "--json")
            assert found.returncode == 0, found.stderr
            assert json.loads(found.stdout) and json.loads(found.stdout)[0]["key"] in keys
        for command in (["add", str(SEEDS / "002_47b77621b76a6c7c.txt")], ["remove", keys[0]]):
            refused = run(*command)
            assert refused.returncode == 2, refused.stdout + refused.stderr
            message = " ".join(refused.stderr.split())
            assert f"this library is read-only ({library} cannot be written: " in message, message
            assert "): search only;" in message, message
    finally:
        undo()
    assert _contents(library) == before
    assert list(temporary.glob("litassist-*")) == []  # every command's copy removed when it ended
    listed_again = subprocess.run(
        [LITASSIST, "--library", str(library), "papers", "--json"], capture_output=True, text=True, env=env
    )
    assert listed_again.returncode == 0 and listed_again.stdout.count('"key"') == 10
    assert "read-only" not in listed_again.stderr
