"""RAG with the embedded reader: accuracy closed-book vs with retrieval on an MMLU subset and on SciFact claims.

Reader: the embedded SmolLM2-135M-Instruct (no chain of thought, greedy). Datastore for both tasks: a BM25 index
(bm25s, BRIGHT's k1=0.9, b=0.4) over the SciFact corpus (5,183 biomedical abstracts; S2ORC, ODC-By 1.0; see
../shared/data/scifact/README.txt). The ReasonIR paper retrieves from a large web datastore (MassiveDS); we have
none, so the MMLU subset is drawn from the biomedical subjects, where SciFact abstracts have the best chance of
helping, and even there most questions have nothing relevant in it.

Control: the same questions with ``k`` *random* SciFact abstracts instead of retrieved ones (SciFact only), which
separates "the reader saw relevant evidence" from "the prompt got longer".

    .venv/bin/python benchmarks/bench_rag.py [--mmlu 30] [--scifact 60] [--control 40] [--k 3] [--doc-chars 500]

The defaults are small because a retrieval-augmented answer costs SmolLM2 15-60 s on 2 shared cores (the prompt
holds ~600 tokens); ``--mmlu 150 --scifact all --control 188`` is the fuller run for a free machine or a GPU endpoint
(``REASONIR_LLM_BASE_URL``). Samples are seeded prefixes: a larger run reuses the records of a smaller one.

Per-question records go to --workdir (resumable: rerun the same command after a crash); the summary to
benchmarks/results/rag.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

from reasonir.data.beir import load_beir
from reasonir.llm import load_llm
from reasonir.rag import Datastore, RAGConfig, answer_questions, load_questions, mcnemar_exact, paired_bootstrap
from reasonir.retrieve import Pipeline, load_index, make_retriever

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BIOMEDICAL = ("anatomy", "clinical_knowledge", "college_biology", "college_medicine", "high_school_biology",
              "medical_genetics", "nutrition", "virology")


class RandomDocuments:
    """The control searcher: k abstracts drawn at random per question (seeded by the question id)."""

    def __init__(self, ids: list[str], seed: int = 0) -> None:
        self.ids, self.seed = ids, seed

    def search(self, queries, k=1000):  # type: ignore[no-untyped-def]
        return {q.id: {d: 1.0 / (i + 1) for i, d in enumerate(random.Random(f"{self.seed}:{q.id}").sample(
            self.ids, k))} for q in queries}


def retrieved_vs_random(retrieved: Path, random_docs: Path, ids: set[str]) -> dict:
    """Paired accuracy on the control claims: BM25's documents against random ones (both in the prompt)."""
    def correct(path: Path) -> dict[str, bool]:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return {r["question_id"]: bool(r["correct"]) for r in rows if r["mode"] == "retrieval"}

    a, b = correct(retrieved), correct(random_docs)
    both = sorted(ids & set(a) & set(b))
    diffs = [int(a[q]) - int(b[q]) for q in both]
    wins, losses = diffs.count(1), diffs.count(-1)
    return {"n": len(both), "accuracy_retrieved": sum(a[q] for q in both) / len(both) if both else None,
            "accuracy_random": sum(b[q] for q in both) / len(both) if both else None,
            "delta": sum(diffs) / len(both) if both else None, "ci95": paired_bootstrap(diffs),
            "wins": wins, "losses": losses, "p_value": mcnemar_exact(wins, losses)}


def build_index(folder: Path) -> Path:
    if not (folder / "reasonir-index.json").exists():
        dataset = load_beir(DATA / "scifact", split="test")
        make_retriever("bm25").index(dataset.documents).save(folder)
    return folder


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mmlu", type=int, default=30, help="MMLU questions (seeded sample of the biomedical subjects)")
    ap.add_argument("--scifact", default="60",
                    help="SciFact claims: a number, or 'all' (the 188 labelled validation claims)")
    ap.add_argument("--control", type=int, default=40,
                    help="claims for the random-documents control (a subset of the SciFact sample)")
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--doc-chars", type=int, default=500,
                    help="per-document cap in characters (500, below the library's 1500, to keep prompts short on CPU)")
    ap.add_argument("--cot", action="store_true")
    ap.add_argument("--workdir", default=str(ROOT / "benchmarks" / ".rag-work"))
    ap.add_argument("--out", default=str(RESULTS_DIR / "rag.json"))
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()
    index = build_index(work / "scifact-bm25")
    store = Datastore.from_index(index, searcher=Pipeline(load_index(index)))
    corpus_ids = json.loads((index / "doc_ids.json").read_text())
    control = Datastore(RandomDocuments(corpus_ids), store.lookup, f"random:{index}")

    mmlu = [q for q in load_questions(DATA / "mmlu" / "test").questions if q.subject in BIOMEDICAL]
    mmlu = sorted(random.Random(0).sample(mmlu, min(args.mmlu, len(mmlu))), key=lambda q: q.id)
    claims_set = load_questions(DATA / "scifact" / "original_csv" / "scifact_csv.zip")
    claims = claims_set.questions
    if args.scifact != "all":
        claims = random.Random(0).sample(claims, int(args.scifact))  # in draw order: the control takes a prefix
    control_claims = sorted(claims[: args.control], key=lambda q: q.id)
    claims = sorted(claims, key=lambda q: q.id)
    config = RAGConfig(k=args.k, doc_chars=args.doc_chars, chain_of_thought=args.cot)
    tag = "cot" if args.cot else "direct"
    out = Path(args.out)
    if args.cot and out == RESULTS_DIR / "rag.json":
        out = RESULTS_DIR / "rag_cot.json"
    record = {
        "benchmark": "rag", "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_rag.py " + " ".join(sys.argv[1:]),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg_start": load_start},
        "chain_of_thought": args.cot, "k": args.k,
        "doc_chars": args.doc_chars,
        "datastore": "BM25 (bm25s k1=0.9 b=0.4) over the SciFact corpus, 5,183 abstracts (ODC-By 1.0)",
        "mmlu_subset": {"subjects": list(BIOMEDICAL), "n": len(mmlu), "sample_seed": 0},
        "scifact_claims": {"source": "claims_validation.csv (BEIR SciFact test claims)", "n": len(claims),
                           "skipped": claims_set.skipped, "sample_seed": 0, "control_n": len(control_claims)},
        "results": {},
    }
    tag = f"{'cot' if args.cot else 'direct'}-k{args.k}-c{args.doc_chars}"
    with load_llm() as llm:  # the embedded SmolLM2 unless REASONIR_LLM_* says otherwise; cached, so reruns are cheap
        record["reader"] = f"{llm.model} (greedy, {config.max_tokens} new tokens at most)"
        for name, questions, datastore, modes in [
                ("scifact_claims", claims, store, ("closed-book", "retrieval")),
                ("mmlu_biomedical", mmlu, store, ("closed-book", "retrieval")),
                ("scifact_claims_random_docs", control_claims, control, ("retrieval",))]:
            start = time.perf_counter()
            report = answer_questions(questions, llm, datastore=datastore,
                                      config=RAGConfig(**{**config.__dict__, "modes": modes}),
                                      records=work / f"{name}-{tag}.jsonl", progress=True)
            print(f"== {name}\n{report.to_text()}\n", file=sys.stderr)
            entry = report.as_dict()
            entry["run"].pop("usage", None)
            entry["wall_seconds"] = time.perf_counter() - start
            record["results"][name] = entry
            record["machine"]["loadavg_end"] = os.getloadavg()
            record["llm_usage"] = llm.usage().as_dict()
            write_results(out, record)  # after each task, so a long run keeps what it measured
    record["retrieved_vs_random_docs"] = retrieved_vs_random(
        work / f"scifact_claims-{tag}.jsonl", work / f"scifact_claims_random_docs-{tag}.jsonl",
        {q.id for q in control_claims})
    write_results(out, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
