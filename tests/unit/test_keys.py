"""Citation keys: readable, unique, a user's own key wins, suffixes on clashes."""

from __future__ import annotations

from store.keys import assign_key, base_key, method_name
from store.paper import Paper


def test_author_year_firstword() -> None:
    paper = Paper(
        title="A Perspective on Explanations of Molecular Prediction Models",
        authors=["Geemi P. Wellawatte", "Andrew D. White"],
        year=2023,
    )
    assert base_key(paper) == "wellawatte2023perspective"


def test_accents_and_particles_fold_to_ascii() -> None:
    paper = Paper(title="Über Things", authors=["Klaus Müller"], year=2020)
    assert base_key(paper) == "muller2020uber"


def test_title_without_authors() -> None:
    assert base_key(Paper(title="ColorMAE: Exploring data-independent masking", year=2024)) == "colormae2024"
    assert base_key(Paper(title="Towards Metrical Reconstruction of Human Faces")) == "metricalreconstruction"


def test_untitled_abstract_uses_the_method_it_names() -> None:
    abstract = (
        "Human pose plays a crucial role. This paper presents UniPose, a framework employing "
        "Large Language Models (LLMs) to comprehend poses."
    )
    assert method_name(abstract) == "UniPose"
    assert base_key(Paper(abstract=abstract)) == "unipose"
    assert method_name("we build a novel model, namely Face-MLLM. Face-MLLM wins.") == "Face-MLLM"


def test_untitled_abstract_without_a_name_uses_its_first_words() -> None:
    assert base_key(Paper(abstract="the quick brown fox jumps over the lazy dog")) == "quickbrownfox"


def test_clashes_get_letter_suffixes_and_own_keys_win() -> None:
    taken = {"smith2020deep", "smith2020deepa"}
    paper = Paper(title="Deep nets", authors=["J. Smith"], year=2020)
    assert assign_key(paper, taken) == "smith2020deepb"
    assert assign_key(Paper(key="mykey", title="Deep nets"), taken) == "mykey"
    # an own key that is taken falls back to a generated one
    assert (
        assign_key(Paper(key="smith2020deep", title="Deep nets", authors=["J. Smith"], year=2020), taken)
        == "smith2020deepb"
    )
    many = {f"x{c}" for c in "abcdefghijklmnopqrstuvwxyz"} | {"x"}
    assert assign_key(Paper(title="X"), many) == "xaa"


def test_keys_never_start_with_a_digit() -> None:
    assert assign_key(Paper(title="3D Faces in the Wild"), set()) == "p3dfaces"
