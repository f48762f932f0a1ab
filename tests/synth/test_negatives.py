from __future__ import annotations

from collections import Counter

from conftest import SCIFACT, needs

from reasonir.data import Document, load_corpus
from reasonir.synth import SynthConfig, load_prompts
from reasonir.synth.config import NegativeConfig
from reasonir.synth.negatives import BM25Miner, clean_written, document_text, parse_negatives, written_request

POSITIVE = Document("pos", "Salt lowers the freezing point of water so icy roads melt at temperatures below zero.")


def ladder_corpus() -> list[Document]:
    """Documents whose BM25 score for 'salt freezing point roads' falls step by step with their index."""
    words = ["salt", "freezing", "point", "roads"]
    docs = [POSITIVE, Document("copy", POSITIVE.text.upper()),
            Document("near", POSITIVE.text.replace("zero", "nought"))]
    for i in range(12):
        shared = " ".join(words[: 4 - i // 3])
        docs.append(Document(f"r{i:02d}", f"{shared} " + " ".join(f"filler{i}x{j}" for j in range(10 + i))))
    return docs


def test_written_negatives_continue_the_conversation():
    cfg = SynthConfig()
    cfg.negatives.written = 2
    convo = [{"role": "system", "content": "s"}, {"role": "user", "content": "write a query"}]
    req = written_request(convo, {"query": "q?", "positive": "p"}, load_prompts(), cfg)
    assert [m["role"] for m in req.messages] == ["system", "user", "assistant", "user"]
    assert "2 hard negative" in req.messages[-1]["content"]
    assert req.json_schema["properties"]["negatives"]["maxItems"] == 2
    assert parse_negatives({"negatives": ["a", ""]}) == ["a"]


def test_written_copies_of_the_positive_or_query_are_dropped():
    dropped = Counter()
    kept = clean_written([POSITIVE.text.lower(), "What about salt?", "Road crews also use sand for grip on ice.",
                          "Road crews also use sand for grip on ice."], POSITIVE.text, "What about salt?",
                         NegativeConfig(), dropped)
    assert kept == ["Road crews also use sand for grip on ice."]
    assert dropped == {"written_near_duplicate": 1, "written_repeat": 2}


def test_mined_negatives_skip_the_top_and_never_return_the_positive_or_its_copies():
    cfg = NegativeConfig(skip_top=2, window=20, margin=10.0)
    miner = BM25Miner(ladder_corpus(), cfg)
    mined = miner.mine("salt freezing point roads", document_text(POSITIVE), "pos", k=5)
    ids = [d for d, _ in mined.negatives]
    assert "pos" not in ids and "copy" not in ids and "near" not in ids
    assert len(ids) == 5 and mined.positive_rank is not None
    assert ids == ["r00", "r01", "r02", "r03", "r04"]  # ranks 1-2 (the copy and the near copy) were skipped
    deeper = BM25Miner(ladder_corpus(), NegativeConfig(skip_top=4, window=20, margin=10.0))
    assert [d for d, _ in deeper.mine("salt freezing point roads", document_text(POSITIVE), "pos", 2).negatives] \
        == ["r02", "r03"]
    no_skip = BM25Miner(ladder_corpus(), NegativeConfig(skip_top=0, window=20, margin=10.0))
    rejected = no_skip.mine("salt freezing point roads", document_text(POSITIVE), "pos", 2).rejected
    assert rejected == {"mined_copy_of_positive": 1, "mined_near_duplicate": 1}


def test_the_margin_rejects_candidates_scoring_close_to_the_positive():
    docs = ladder_corpus()
    loose = BM25Miner(docs, NegativeConfig(skip_top=0, window=20, margin=10.0))
    strict = BM25Miner(docs, NegativeConfig(skip_top=0, window=20, margin=0.5))
    q, pos = "salt freezing point roads", document_text(POSITIVE)
    assert len(strict.mine(q, pos, "pos", 20).negatives) < len(loose.mine(q, pos, "pos", 20).negatives)
    assert strict.mine(q, pos, "pos", 20).rejected["mined_above_margin"] > 0


def test_a_positive_outside_the_corpus_gets_no_margin_under_bm25():
    miner = BM25Miner(ladder_corpus(), NegativeConfig(skip_top=0, window=5, margin=0.01))
    mined = miner.mine("salt freezing point roads", "A text about something else entirely.", None, 3)
    assert len(mined.negatives) == 3 and mined.positive_rank is None


@needs(SCIFACT)
def test_mining_on_scifact_uses_the_rank_window():
    docs = load_corpus(SCIFACT)
    miner = BM25Miner(docs, NegativeConfig())
    pos = next(d for d in docs if d.id == "4983")
    mined = miner.mine("diffusion tensor imaging of white matter in newborn brains", document_text(pos), "4983", 3)
    assert mined.positive_rank == 1
    assert len(mined.negatives) == 3 and all(d != "4983" for d, _ in mined.negatives)


def test_a_query_of_stopwords_only_mines_without_crashing():
    miner = BM25Miner(ladder_corpus(), NegativeConfig(skip_top=0, window=5))
    mined = miner.mine("the of and", document_text(POSITIVE), "pos", 2)
    assert len(mined.negatives) == 2 and "pos" not in [d for d, _ in mined.negatives]


def test_the_dense_miner_knows_every_positive_score_and_rejects_near_duplicates():
    from reasonir.synth.negatives import DenseMiner

    miner = DenseMiner(ladder_corpus(), NegativeConfig(skip_top=0, window=20, margin=0.95))
    outside = "Rock salt spread on icy streets melts the ice because brine freezes at a lower temperature."
    mined = miner.mine("why does salt melt ice on roads", outside, None, 4)
    assert mined.positive_rank is not None  # a positive outside the corpus still has a score and a rank
    q = miner._dense.encode_queries(["why does salt melt ice on roads"])[0]
    pos_score = float(miner._dense.encode_documents([outside])[0] @ q)
    for _, text in mined.negatives:
        assert float(miner._dense.encode_documents([text])[0] @ q) <= 0.95 * pos_score + 1e-6
    in_corpus = miner.mine("why does salt melt ice on roads", document_text(POSITIVE), "pos", 4)
    assert "copy" not in [d for d, _ in in_corpus.negatives] and "near" not in [d for d, _ in in_corpus.negatives]
    assert in_corpus.rejected["mined_copy_of_positive"] == 1
