"""Correcting a paper's metadata (Library.edit), a key change that moves its passages, and a
removal undone from a stored copy; the Library tab's manager and views over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import Library, LibraryError, PaperNotFoundError
from assistant.edits import PaperEdit, missing_metadata
from store.chunking import chunk_id, embedding_text
from store.paper import Paper
from ui import papers
from ui.manage import Manager
from ui.uploads import Uploads

BODY = " ".join(f"Sentence {i} is about garment colour constancy under shop lighting." for i in range(60))
# a listing's paper: no title, no authors, no year; its key comes from the abstract's words
LISTING = (
    "Abstract: Colour constancy keeps garment colours stable across lighting in shop photographs, "
    "and we measure it on a new benchmark of catalogue images.\n"
)


def add_markdown(library: Library, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "in" / "colour.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Colour Constancy for Garments\n\n{BODY}\n")
    report = library.add(path)
    assert report.ok
    return path, report.added[0].key


def add_bib(library: Library, tmp_path: Path) -> tuple[Path, str]:
    """A paper with an abstract of several sentences: passages and search windows."""
    path = tmp_path / "in" / "refs.bib"
    path.parent.mkdir(parents=True, exist_ok=True)
    abstract = "Colour constancy keeps garment colours stable. " + BODY
    path.write_text(f"@article{{fer,\n  title={{Colour Constancy}},\n  abstract={{{abstract}}}\n}}\n")
    report = library.add(path)
    assert report.ok
    return path, report.added[0].key


def test_an_edit_persists_and_survives_adding_the_file_again(fake_library: Library, tmp_path: Path) -> None:
    path, key = add_markdown(fake_library, tmp_path)
    edited = fake_library.edit(
        key, title="Colour Constancy for Garment Photographs", authors="Roe, Richard; Poe, Paula", year="2025"
    )
    assert edited.authors == ["Roe, Richard", "Poe, Paula"] and edited.year == 2025
    assert set(edited.user_fields) == {"title", "authors", "year"}
    again = Library(fake_library.path, embedder=fake_library.embedder)  # as stored, read afresh
    assert again.get(key).title == "Colour Constancy for Garment Photographs"
    # the same file added again (and under another name): the user's fields win
    copy = tmp_path / "elsewhere" / "colour-copy.md"
    copy.parent.mkdir()
    copy.write_text(path.read_text())
    assert again.add([path, copy]).ok
    paper = again.get(key)
    assert paper.title == "Colour Constancy for Garment Photographs" and paper.year == 2025
    assert len(paper.sources) == 2
    # removed, then added again: it comes back under its key with the user's corrections
    again.remove(key)
    assert again.add(path).ok
    assert again.get(key).title == "Colour Constancy for Garment Photographs"
    assert again.get(key).authors == ["Roe, Richard", "Poe, Paula"]


def test_a_corrected_title_is_searched_at_once(fake_library: Library, tmp_path: Path) -> None:
    """The embedder reads a passage with its paper's title, and the lexical index the title with
    each unit: a title fixed by hand is embedded and indexed again, not left to a rebuild."""
    _, key = add_bib(fake_library, tmp_path)
    store = fake_library.store
    ids = [id_ for id_, _, meta in store.chunks_of([key]) if meta["kind"] == "passage"]
    before = store.chunk_vectors(ids)
    assert not fake_library.search("xylography", retriever="lexical")
    fake_library.edit(key, title="Xylography of Garment Colour")

    after = store.chunk_vectors(ids)
    texts = {id_: text for id_, text, _ in store.chunks_of([key])}
    expected = fake_library.embedder.embed(
        [embedding_text("Xylography of Garment Colour", texts[i], "passage") for i in ids]
    )
    for i, vector in zip(ids, expected, strict=True):
        assert after[i] == pytest.approx(vector, abs=1e-5) and after[i] != pytest.approx(before[i], abs=1e-5)
    assert store.paper_vectors([key])[key] == pytest.approx(after[ids[0]], abs=1e-5)
    assert [h.key for h in fake_library.search("xylography", retriever="lexical")] == [key]
    # another process's index sees it too (the record's state moved)
    again = Library(fake_library.path, embedder=fake_library.embedder)
    assert [h.key for h in again.search("xylography", retriever="lexical")] == [key]


def test_a_cleared_field_stays_cleared_when_the_file_is_read_again(
    fake_library: Library, tmp_path: Path
) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@article{doe2024colour,\n  title={Colour Constancy},\n  author={Doe, Jane},\n  year=2024,\n"
        "  journal={Wrong Venue},\n  abstract={Colour constancy keeps garment colours stable.}\n}\n"
    )
    assert fake_library.add(bib).ok
    assert fake_library.edit("doe2024colour", venue="").venue is None
    other = tmp_path / "other.bib"
    other.write_text(bib.read_text())
    assert fake_library.add(other).ok
    assert fake_library.get("doe2024colour").venue is None


def test_bad_edits_are_refused_and_change_nothing(fake_library: Library, tmp_path: Path) -> None:
    _, key = add_markdown(fake_library, tmp_path)
    before = fake_library.get(key)
    with pytest.raises(LibraryError, match="year"):
        fake_library.edit(key, year="twenty")
    with pytest.raises(LibraryError, match="cannot edit abstract"):
        fake_library.edit(key, abstract="new")
    with pytest.raises(LibraryError, match="key"):
        fake_library.edit(key, key="has spaces")
    with pytest.raises(LibraryError, match="cannot be empty"):
        fake_library.edit(key, key="")
    with pytest.raises(PaperNotFoundError):
        fake_library.edit("nosuchpaper", title="x")
    assert fake_library.get(key) == before


def test_a_new_key_moves_the_passages_and_the_old_key_is_never_reused(
    fake_library: Library, tmp_path: Path
) -> None:
    path, key = add_bib(fake_library, tmp_path)
    assert key == "fer"
    passages = fake_library.chunks(key)
    windows = fake_library.store.chunks(key, kind="window")
    assert fake_library.search("garment colour constancy")[0].paper.key == key
    moved = fake_library.edit(key, key="roe2025colour", year=2025)
    assert moved.key == "roe2025colour" and moved.year == 2025 and "key" in moved.user_fields
    assert [p.key for p in fake_library.papers()] == ["roe2025colour"]
    with pytest.raises(PaperNotFoundError):
        fake_library.get(key)
    chunks = fake_library.chunks("roe2025colour")
    assert [c.text for c in chunks] == [c.text for c in passages]
    assert all(c.paper_key == "roe2025colour" for c in chunks)
    assert [c.id for c in chunks] == [chunk_id("roe2025colour", c.ordinal, c.text) for c in chunks]
    store = fake_library.store
    assert not store.chunks_collection.get(where={"paper_key": key})["ids"]
    assert not store.windows_collection.get(where={"paper_key": key})["ids"]
    moved_windows = store.chunks("roe2025colour", kind="window")
    assert windows and [w.text for w in moved_windows] == [w.text for w in windows]
    # dense and lexical search find it under its new key
    for retriever in ("dense", "lexical", "hybrid"):
        hits = fake_library.search("garment colour constancy", retriever=retriever)
        assert hits[0].paper.key == "roe2025colour", retriever
    # the old key is a tombstone: taken, and the same file added again is the moved paper
    with pytest.raises(LibraryError, match="taken"):
        fake_library.edit("roe2025colour", key=key)
    report = fake_library.add(path)
    assert report.ok and not report.added and [p.key for p in fake_library.papers()] == ["roe2025colour"]


def test_a_removal_is_undone_from_the_copy(fake_library: Library, tmp_path: Path) -> None:
    long = tmp_path / "in" / "long.md"  # a long paper: one removal leaves few dead units
    long.parent.mkdir(parents=True)
    long.write_text("# Shop Lighting\n\n" + " ".join([BODY] * 6) + "\n")
    assert fake_library.add(long).ok
    listing = tmp_path / "listing.txt"
    listing.write_text(LISTING.replace("garment", "quokka").replace("Colour", "Hue"))
    report = fake_library.add(listing)
    key = report.added[0].key
    chunks = fake_library.chunks(key)
    copy = fake_library.copy_of(key)
    fake_library.remove(key)
    assert len(fake_library.papers()) == 1
    assert key not in {h.paper.key for h in fake_library.search("quokka hue constancy")}
    restored = fake_library.restore(copy)
    assert restored.key == key and fake_library.chunks(key) == chunks
    assert fake_library.search("quokka hue constancy", retriever="lexical")[0].paper.key == key
    with pytest.raises(LibraryError, match="in the library again"):
        fake_library.restore(copy)


def test_missing_metadata_badge() -> None:
    abstract = "We measure colour constancy of garments in shop photographs with a new benchmark."
    assert missing_metadata(Paper(key="x", abstract=abstract)) == [
        "no authors",
        "no year",
        "title looks like an abstract",
    ]
    assert missing_metadata(
        Paper(key="x", title="We measure colour constancy of garments", abstract=abstract)
    ) == [
        "no authors",
        "no year",
        "title looks like an abstract",
    ]
    good = Paper(key="x", title="Colour Constancy", authors=["Roe"], year=2025, abstract=abstract)
    assert missing_metadata(good) == []
    assert missing_metadata(Paper(key="x", title="Colour", author_count=6, year=2024)) == ["no author names"]
    assert PaperEdit.of({"authors": "A. Smith\nB. Jones;C. Wu"}).authors == ["A. Smith", "B. Jones", "C. Wu"]


def test_the_manager_filters_picks_edits_removes_and_undoes(fake_library: Library, tmp_path: Path) -> None:
    listing = tmp_path / "listing.txt"
    listing.write_text(LISTING)
    assert fake_library.add(listing).ok
    _, key = add_markdown(fake_library, tmp_path)
    uploads = Uploads(tmp_path / "uploads", max_bytes=10**6)
    manager = Manager(fake_library, uploads)
    view = manager.view("garments")
    assert view.count == "**2 papers, 1 shown** (filter: “garments”)"
    assert [k for _, k in view.choices] == [key] and [r[0] for r in view.rows] == [key]
    assert manager.key_of_row("garments", 0) == key
    listed = manager.view()
    badges = {r[0]: r[2] for r in listed.rows}
    assert "no authors" in badges[listed.choices[0][1]] and "no year" in badges[key]
    form = manager.form(key)
    assert form.title == "Colour Constancy for Garments" and "no authors" in form.note
    note, now = manager.save(key, form.title, "Roe, Richard", "2025", "", "roe2025colour")
    assert now == "roe2025colour" and "now `roe2025colour`" in note
    assert "Set by you: authors, key, year" in manager.form(now).note
    note, copies = manager.remove(now, [])
    assert "Removed `roe2025colour`" in note and len(copies) == 1 and manager.view().count == "**1 paper**"
    note, copies, back = manager.undo(copies)
    assert back == "roe2025colour" and not copies and manager.view().count == "**2 papers**"
    assert fake_library.get(back).authors == ["Roe, Richard"]
    assert manager.undo(copies)[0] == "Nothing to undo."


def test_source_names_are_the_names_uploaded(tmp_path: Path) -> None:
    uploads = Uploads(tmp_path / "uploads", max_bytes=10**6)
    sent = tmp_path / "gradio" / "my refs (final).bib"
    sent.parent.mkdir()
    sent.write_text("@misc{a, title={A}}\n")
    kept = uploads.keep(sent, sent.name)
    assert kept.path.name == "my_refs_final_.bib"
    assert papers.source_name(f"{kept.path}#a", uploads.original) == "my refs (final).bib › a"
    assert papers.source_name("https://arxiv.org/abs/2401.00001") == "https://arxiv.org/abs/2401.00001"
    assert papers.source_name(str(tmp_path / "x.pdf"), uploads.original) == "x.pdf"
