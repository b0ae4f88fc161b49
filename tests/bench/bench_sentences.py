"""The sentence splitter (``store.sentences``) beside the libraries that could replace it.

    .venv/bin/python tests/bench/bench_sentences.py [--papers 60]

On the body text of the first ``--papers`` papers of the sample corpus (the aclsum package's
S2ORC files): sentences/s of ``sentence_spans`` and ``split_sentences``; of NLTK's punkt with the
``punkt_tab`` model llama-index-core ships, as shipped and given the abbreviations of scientific
prose; and of pysbd when it is installed (``pip install pysbd``; not a dependency). Then, on the
paragraphs that hold abbreviations or decimals, how many each library splits otherwise than
``sentence_spans``, and a few such paragraphs side by side (``--show N``). A few seconds, plus
~20 s for pysbd.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant.evaluation import aclsum  # noqa: E402
from store.sentences import sentence_spans, split_sentences  # noqa: E402

TRICKY = re.compile(r"\b(e\.g\.|i\.e\.|et al\.|Figs?\.|Sec\.|Eqs?\.|vs\.|cf\.|etc\.)|\d\.\d")
SCIENTIFIC = {"e.g", "i.e", "al", "fig", "figs", "sec", "eq", "eqs", "cf", "vs"}

Splitter = Callable[[str], list[str]]


def punkt(abbreviations: set[str]) -> Splitter:
    import llama_index.core
    import nltk
    from nltk.tokenize.punkt import PunktSentenceTokenizer, load_punkt_params

    # nltk reads models only from its data path: the model llama-index-core ships, nothing downloaded
    nltk.data.path.append(str(Path(llama_index.core.__file__).parent / "_static" / "nltk_cache"))
    params = load_punkt_params(nltk.data.find("tokenizers/punkt_tab/english/"))
    params.abbrev_types |= abbreviations
    tokenizer = PunktSentenceTokenizer(params)
    return lambda text: [text[a:b] for a, b in tokenizer.span_tokenize(text)]


def pysbd() -> Splitter | None:
    try:
        import pysbd as module
    except ImportError:
        return None
    segmenter = module.Segmenter(language="en", clean=False, char_span=True)
    return lambda text: [s.sent.strip() for s in segmenter.segment(text) if s.sent.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--papers", type=int, default=60)
    parser.add_argument("--show", type=int, default=0, help="print N paragraphs punkt splits otherwise")
    args = parser.parse_args()
    console = Console(width=150)
    paragraphs = [
        part["text"]
        for path in sorted(aclsum.corpus_folder().glob("*.json"))[: args.papers]
        for part in json.loads(path.read_text())["pdf_parse"]["body_text"]
        if part.get("text")
    ]
    splitters: dict[str, Splitter | None] = {
        "store.sentences.sentence_spans": lambda t: [t[a:b].strip() for a, b in sentence_spans(t)],
        "store.sentences.split_sentences (short ones joined)": split_sentences,
        "punkt (punkt_tab english, as shipped)": punkt(set()),
        "punkt + scientific abbreviations": punkt(SCIENTIFIC),
        "pysbd": pysbd(),
    }
    hard = [i for i, t in enumerate(paragraphs) if TRICKY.search(t)]
    table = Table(
        title=f"Sentence splitters on {args.papers} aclsum papers' body text ({len(paragraphs)} paragraphs, "
        f"{sum(map(len, paragraphs)) / 1e6:.2f} M characters)"
    )
    for column in ("splitter", "sentences", "seconds", "sentences/s", f"split otherwise (of {len(hard)})"):
        table.add_column(column, justify="left" if column == "splitter" else "right")
    found: dict[str, list[list[str]]] = {}
    for name, split in splitters.items():
        if split is None:
            table.add_row(name, "not installed", "", "", "")
            continue
        start = time.perf_counter()
        found[name] = [split(t) for t in paragraphs]
        seconds = time.perf_counter() - start
        count = sum(map(len, found[name]))
        ours = found["store.sentences.sentence_spans"]
        differ = sum(found[name][i] != ours[i] for i in hard)
        table.add_row(name, str(count), f"{seconds:.2f}", f"{count / seconds:,.0f}", str(differ))
    console.print(table)
    ours, theirs = found["store.sentences.sentence_spans"], found["punkt + scientific abbreviations"]
    for i in [i for i in hard if ours[i] != theirs[i]][: args.show]:
        console.print("[bold]ours [/bold]", [s for s in ours[i] if s not in theirs[i]])
        console.print("[bold]punkt[/bold]", [s for s in theirs[i] if s not in ours[i]], "\n")


if __name__ == "__main__":
    main()
