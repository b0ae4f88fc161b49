"""Acronyms mined from the library's own text (Schwartz & Hearst), and query/document expansion."""

from __future__ import annotations

from store.acronyms import expand, long_form, mine


def test_long_forms_are_matched_letter_by_letter() -> None:
    assert long_form("DiT", "A more scalable Diffusion Transformer".split()) == "Diffusion Transformer"
    assert long_form("MAE", "we build on Masked Autoencoders".split()) == "Masked Autoencoders"
    assert (
        long_form("FER", "work on facial expression recognition".split()) == "facial expression recognition"
    )
    assert long_form("XYZ", "nothing that matches here".split()) is None


def test_mining_keeps_acronyms_only() -> None:
    texts = [
        "A more scalable Diffusion Transformer (DiT) is proposed.",
        "Results improve (see) on Labeled Faces in the Wild (LFW) and low-rank adaptation (LoRA).",
    ]
    assert mine(texts) == {
        "dit": "Diffusion Transformer",
        "lfw": "Labeled Faces in the Wild",
        "lora": "low-rank adaptation",
    }


def test_expansion_reads_acronyms_written_as_acronyms() -> None:
    acronyms = {"dit": "Diffusion Transformer"}
    assert expand("an MM-DiT-based generator", acronyms) == "an MM-DiT-based generator Diffusion Transformer"
    assert expand("dit in lower case is a word", acronyms) == "dit in lower case is a word"
    assert expand("no acronym", {}) == "no acronym"
