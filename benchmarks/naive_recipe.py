"""The naive recipe, the control beside every quality figure of reasonir's own: one plain prompt per seed document.

Same LLM, same seed documents, none of reasonir's choices: one request per document ("write a question that this
text answers"), temperature 0.7, no filters, no round trip, no negatives; the rows then train with plain
in-batch-negative contrastive learning (sentence-transformers' MultipleNegativesRankingLoss, one-hot) and no
merge back into the base model. The seed documents are read from a reasonir rows file (its ``seed_id``s, dev rows
left out), so both recipes start from the same documents.

    .venv/bin/python benchmarks/naive_recipe.py --corpus ../shared/data/stacks_proofs --seeds-from rows.jsonl \\
        --out naive.jsonl

Rows are appended as answers arrive (a rerun asks only for the documents still missing; the LLM's response cache
answers repeats).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

PROMPT = "Write one question that the following text helps answer.\n\nText: {text}\n\nQuestion:"
TEMPERATURE, MAX_TOKENS = 0.7, 64


def seed_ids(rows_path: Path) -> list[str]:
    """The training seeds of a reasonir rows file, in file order, without pseudo-dev rows."""
    from reasonir.data import read_training_rows

    return list(dict.fromkeys(r.seed_id for r in read_training_rows(rows_path) if r.seed_id and not r.is_dev))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", required=True)
    p.add_argument("--seeds-from", required=True, type=Path, help="a reasonir rows file: its training seeds")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    from reasonir.data import load_corpus
    from reasonir.data.records import TrainingRow
    from reasonir.data.training import row_to_dict
    from reasonir.llm import ChatRequest, LLMConfig, Sampling, load_llm
    from reasonir.synth.llmcall import item_seed
    from reasonir.retrieve.base import document_text

    documents = {d.id: d for d in load_corpus(args.corpus)}
    wanted = [i for i in seed_ids(args.seeds_from) if i in documents]
    done = set()
    if args.out.exists():
        done = {json.loads(line)["seed_id"] for line in args.out.open() if line.strip()}
    todo = [i for i in wanted if i not in done]
    requests = [ChatRequest.user(PROMPT.format(text=documents[i].text), tag="naive.query",
                                 sampling=Sampling(temperature=TEMPERATURE, max_tokens=MAX_TOKENS,
                                                   seed=item_seed(args.seed, i, "naive")))
                for i in todo]
    written = 0
    with load_llm(LLMConfig()) as llm, args.out.open("a", encoding="utf-8") as out:
        for index, result in llm.chat_many(requests):
            doc_id = todo[index]
            text = (result.text or "").strip()
            if not text:
                continue
            row = TrainingRow(text, [document_text(documents[doc_id], "row")], [], kind="hq", seed_id=doc_id,
                              meta={"row_id": f"{doc_id}:naive:0", "recipe": "naive", "model": llm.model})
            out.write(json.dumps(row_to_dict(row)) + "\n")
            out.flush()
            written += 1
        print(llm.usage().format())
    print(f"{written} naive rows written to {args.out} ({len(done)} there before, {len(wanted)} seeds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
