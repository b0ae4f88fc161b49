"""Two writers in separate processes, two library folders, one `chroma run` server and prefix,
adding overlapping and distinct files at once, several rounds: every paper whole and stored once,
every key given to one paper, every passage under its own paper, every report true."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from store.paper import content_hash
from tests.shared_race import Writer, audit, cli_env, documents, race, server_client, write_inputs

pytestmark = pytest.mark.integration


def test_two_writers_on_one_server(chroma_server: tuple[str, int], tmp_path: Path) -> None:
    host, port = chroma_server
    prefix = f"race{uuid.uuid4().hex[:8]}_"
    env = cli_env(host, port, prefix)
    client = server_client(host, port)
    expected, rounds = [], []
    for round_ in range(3):
        writers = [
            Writer(tmp_path / f"library{w}", write_inputs(tmp_path / f"in{w}" / f"r{round_}", w, round_))
            for w in range(2)
        ]
        race(writers, env)
        rounds.append(writers)
        for w in writers:
            expected.extend(documents(w.files))
        found = audit(client, prefix, expected, rounds)
        assert found.clean, f"round {round_}: {found.problems()}"
        added = [row["key"] for w in writers for row in w.report["added"]]
        # each round brings 3 shared papers (4 in the first, with the page), 4 of each writer's own
        assert len(added) == (4 if round_ == 0 else 3) + 2 * 4, added
    assert found.papers == len({content_hash(d) for d in expected}) == 12 + 11 + 11
