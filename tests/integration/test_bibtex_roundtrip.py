"""A user's .bib round-trips: ingest -> draft -> the exported entries are the input entries
(key, type, every field); reading it again after edits updates the papers; `bibtex` reads it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import bibtexparser
import pytest

from assistant import IngestEvent, Library
from assistant.settings import Settings
from store.ingest import IngestInterrupted
from tests.conftest import FakeEmbedder

pytestmark = pytest.mark.integration

BIB = r"""@string{tpami = "IEEE Transactions on Pattern Analysis and Machine Intelligence"}

@article{Lee:2021:occlusion,
  author    = {Lee, Ann and M{\"u}ller, Klaus},
  title     = {Occlusion-Robust {Facial} Expression Recognition with {CLIP}},
  journal   = tpami,
  year      = 2021,
  month     = mar,
  volume    = {43},
  number    = {7},
  pages     = {2201--2214},
  doi       = {10.1109/TPAMI.2021.0001},
  keywords  = {facial expression, occlusion},
  abstract  = {Facial expression recognition under occlusion with a vision-language model.},
}

@inproceedings{chen2022masked,
  title = "Masked Autoencoders for Facial Expression Recognition",
  author = {Chen, Bo and others},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year = {2022},
  pages = {100--110},
  publisher = {IEEE},
  abstract = {Masked autoencoders reconstruct occluded faces: expression accuracy rises by 5% on them.},
}

@misc{fer2024yolo,
  title = {{Fer-YOLO-Mamba}: Facial Expression Detection with State Space Models},
  author = {Ma, Hui and Lei, Sen},
  year = {2024},
  eprint = {2405.01828},
  archivePrefix = {arXiv},
  primaryClass = {cs.CV},
  abstract = {Facial expression detection and recognition with a YOLO detector and Mamba state space models.},
}

@book{ekman1978facs,
  title = {Facial Action Coding System},
  author = {Ekman, Paul and Friesen, Wallace V.},
  publisher = {Consulting Psychologists Press},
  address = {Palo Alto, CA},
  year = {1978},
  abstract = {A system to describe facial expressions by the action units of the facial muscles.},
}
"""


def entries(text: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Entries as BibTeX reads them: key -> (type, field -> value), names of fields in lower case."""
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    return {
        e.key: (e.entry_type.lower(), {f.key.lower(): " ".join(str(f.value).split()) for f in e.fields})
        for e in library.entries
    }


def test_bib_round_trip_through_a_draft_and_a_reimport(tmp_path: Path, fake_library: Library) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    report = fake_library.add(bib)
    given = entries(BIB)
    assert {p.key for p in report.added} == set(given) and not report.failed  # the user's keys
    assert "rises by 5% on them" in (fake_library.get("chen2022masked").abstract or "")  # not a comment

    draft = fake_library.related_work("facial expression recognition", keys=list(given), mode="extractive")
    exported = entries(draft.bibtex)
    assert len(draft.cited_keys) >= 3 and set(exported) == set(draft.cited_keys)
    for key, entry in exported.items():  # type, and every field as the user wrote it
        assert entry == given[key]
    assert [item["id"] for item in json.loads(draft.csl_json)] == draft.cited_keys
    from assistant import export

    assert entries(export.bibtex(fake_library.papers())) == given  # every entry, through the store

    if shutil.which("bibtex") is not None:  # the LaTeX project's \cite{} keys keep working
        (tmp_path / "draft.bib").write_text(draft.bibtex)
        aux = "\\relax\n" + "".join(f"\\citation{{{k}}}\n" for k in draft.cited_keys)
        (tmp_path / "doc.aux").write_text(aux + "\\bibstyle{plain}\n\\bibdata{draft}\n")
        run = subprocess.run(["bibtex", "doc"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and "Warning" not in run.stdout, run.stdout

    # the .bib edited: a title corrected, an entry deleted, one added
    edited = BIB.replace("Masked Autoencoders for Facial", "Masked Autoencoders Are Facial").replace(
        BIB[BIB.index("@book{ekman1978facs") :], "@misc{new2025, title = {A New Entry}, year = {2025}}\n"
    )
    bib.write_text(edited)
    again = fake_library.add(bib)
    assert [p.key for p in again.added] == ["new2025"]
    assert {o.key: o.reason for o in again.updated} == {"chen2022masked": "updated: title, bibtex"}
    assert [o.key for o in again.missing] == ["ekman1978facs"]
    assert fake_library.get("chen2022masked").title == "Masked Autoencoders Are Facial Expression Recognition"
    assert entries(export.bibtex([fake_library.get("chen2022masked")])) == {
        "chen2022masked": entries(edited)["chen2022masked"]
    }
    pruned = fake_library.add(bib, prune=True)
    assert [o.key for o in pruned.removed] == ["ekman1978facs"]
    assert {p.key for p in fake_library.papers()} == set(entries(edited))


def test_one_bib_of_many_entries_is_stored_group_by_group_and_resumes(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    settings = Settings()
    settings.ingest.group_chunks = 4  # a few entries a group
    library = Library(tmp_path / "library", settings=settings, embedder=fake_embedder)
    bib = tmp_path / "many.bib"
    bib.write_text(
        "".join(
            f"@article{{entry{i},\n  title = {{Entry number {i}}},\n  author = {{Doe, Jane}},\n"
            f"  year = {{2024}},\n  abstract = {{Paper {i} studies topic {i}. It finds result {i}.}}\n}}\n"
            for i in range(24)
        )
    )
    committed: list[str] = []

    def ctrl_c_after_the_first_group(event: IngestEvent) -> None:
        if event.kind == "committed":
            committed.append(event.key or "")
            if len(committed) == 1:
                os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

    with pytest.raises(IngestInterrupted) as stopped:
        library.add(bib, progress=ctrl_c_after_the_first_group)
    kept = {p.key for p in library.papers()}
    assert kept and len(kept) < 24 and {p.key for p in stopped.value.report.added} == kept
    again = library.add(bib)
    assert len(again.added) == 24 - len(kept) and len(library.papers()) == 24
    assert {o.key for o in again.skipped} == kept  # the first run's papers, not added twice


def test_a_changed_abstract_replaces_the_passages_unless_a_full_text_is_stored(
    tmp_path: Path, fake_library: Library
) -> None:
    """Reading the .bib again after its abstract was corrected: a paper stored from its abstract
    is searched by the new one (its old passages gone); a paper whose full text is stored keeps
    it, and the report says so."""
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    assert fake_library.add(bib).ok
    pdf_entry = "ekman1978facs"
    full = tmp_path / "facs.md"  # its full text, from another file with the same title
    full.write_text("# Facial Action Coding System\n\n" + " ".join(["Action units code muscles."] * 400))
    assert [p.key for p in fake_library.add(full).full_texts] == [pdf_entry]
    stored_full = fake_library.get(pdf_entry).chunk_count

    edited = BIB.replace("vision-language model.", "vision-language model and xylophonic prompts.").replace(
        "by the action units of the facial muscles", "by the zygomatic action units"
    )
    bib.write_text(edited)
    again = fake_library.add(bib)
    assert again.ok and not again.added and not again.full_texts
    assert {o.key: o.reason for o in again.updated} == {  # (the entry as written changed too)
        "Lee:2021:occlusion": "updated: bibtex; its new abstract was read: passages and search windows "
        "replaced",
        pdf_entry: "updated: bibtex; its abstract changed too, and its passages keep the stored full text",
    }
    texts = [t for _, t, _ in fake_library.store.chunks_of(["Lee:2021:occlusion"])]
    assert any("xylophonic" in t for t in texts)
    assert not any(t.endswith("vision-language model.") for t in texts)
    assert [h.key for h in fake_library.search("xylophonic", retriever="lexical")] == ["Lee:2021:occlusion"]
    assert fake_library.get(pdf_entry).chunk_count == stored_full  # not thinned to the abstract
    assert fake_library.add(bib).skipped and not fake_library.add(bib).updated  # unchanged now
