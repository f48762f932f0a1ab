"""The pseudo-dev set: seeds set aside so that a run can judge models without labelled queries.

A run that must choose a recipe (which teacher, how much of the base model to merge back) and decide whether its
fine-tuned model is better than the base needs queries it did not train on, and whose selection favours no model
being judged. Queries kept by round-trip consistency under the base encoder are the base encoder's own picks (it
ranks their positives in its top 10 by construction), so they flatter it. So a share of the seeds (chosen by a hash
of the seed id and the job's seed, independent of order and stable across resumes) becomes *dev seeds*: each gets
the first sampled candidate that passes the lexical filters *and* whose seed BM25 ranks in its top 10, with no
negatives, written with ``meta["split"] = "dev"``.

Why BM25's round trip: with no round trip at all, most of a small LLM's questions are ones no model can answer, and
the dev change was dominated by queries the base misses and a fine-tuned model learns to match lexically. On
stacks_proofs and SciFact its sign disagreed with the real nDCG@10 change in 10 of 11 runs. On the queries BM25
places in its top 10 it agreed in 8 of the first 11 runs, but in only 14 of 28 once naive and distilled runs were
added (``benchmarks/bench_recipe.py``, ``benchmarks/results/recipe_*.json``): at a few dozen queries no choice of
dev queries made the sign reliable, which is why adapt asks for a confirmed gain on held-out dev queries. BM25 is never a candidate being judged. ``reasonir label`` passes them through, ``reasonir train`` never trains on them, and every
model (the base, a teacher, a fine-tuned candidate) is scored on the same dev rows: the rank of each dev query's
seed document in the whole corpus.

    >>> is_dev_seed("algebra-lemma-snake", share=0.0, job_seed=0)
    False
    >>> sum(is_dev_seed(f"doc-{i}", share=0.15, job_seed=0) for i in range(1000))
    155
"""
from __future__ import annotations

import hashlib


def is_dev_seed(seed_id: str, share: float, job_seed: int) -> bool:
    """True for the ``share`` of seed ids that a hash of (job seed, seed id) sets aside as dev seeds."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{job_seed}\0{seed_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share
