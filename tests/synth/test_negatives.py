from __future__ import annotations

from collections import Counter

from conftest import SCIFACT, needs

from reasonir.data import Document, load_corpus
from reasonir.synth import SynthConfig, load_prompts
from reasonir.synth.config import NegativeConfig
from reasonir.retrieve.base import document_text
from reasonir.synth.negatives import Mined, clean_written, guard_written, mine, parse_negatives, written_request
from reasonir.synth.ranker import BM25Ranker, DenseRanker


class BM25Miner:
    """The ranker and ``mine`` together, as the synthesizer uses them for one query."""

    ranker_class = BM25Ranker

    def __init__(self, documents, config: NegativeConfig) -> None:
        self.ranker, self.config = self.ranker_class(documents), config

    def mine(self, query: str, positive: str, positive_id: str | None, k: int) -> Mined:
        ranked = self.ranker.rank([query], [positive], [positive_id])
        mined = mine(ranked.scores[0], positive, positive_id, ranked.positive_scores[0], self.ranker, self.config, k)
        mined.positive_rank = ranked.ranks[0]
        return mined


class DenseMiner(BM25Miner):
    ranker_class = DenseRanker

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
    req = written_request(convo, '{"questions": ["q?"]}', load_prompts(style="structured"), cfg, seed=7)
    assert [m["role"] for m in req.messages] == ["system", "user", "assistant", "user"]
    assert "2 hard negative" in req.messages[-1]["content"]
    assert req.json_schema["properties"]["negatives"]["maxItems"] == 2
    assert parse_negatives({"negatives": ["a", ""]}) == ["a"]
    assert req.sampling.seed == 7 and req.sampling.temperature == cfg.temperature


def test_small_style_written_negative_is_one_plain_passage():
    cfg = SynthConfig()
    convo = [{"role": "user", "content": "Text: salt\nQuestion:"}]
    req = written_request(convo, "Why salt?", load_prompts(style="small"), cfg, seed=1)
    assert req.json_schema is None and req.messages[-2] == {"role": "assistant", "content": "Why salt?"}
    assert parse_negatives("Passage: Road crews spread sand.\nQuestion: more?") == ["Road crews spread sand."]


def test_written_copies_of_the_positive_or_query_are_dropped():
    dropped = Counter()
    sand = "Road crews also use sand for grip on ice."
    kept = clean_written([POSITIVE.text.lower(), "What about salt?", sand, sand], POSITIVE.text, "What about salt?",
                         NegativeConfig(min_written_words=3), dropped)
    assert kept == [sand]
    assert dropped == {"written_near_duplicate": 1, "written_repeat": 2}


def test_written_negatives_that_are_short_or_filler_are_dropped():
    dropped = Counter()
    long_filler = "I am ready to write a passage about roads and salt whenever you want me to, just let me know."
    assert clean_written(["Too short.", long_filler], POSITIVE.text, "q", NegativeConfig(min_written_words=8),
                         dropped) == []
    assert dropped == {"written_too_short": 1, "written_filler": 1}


def test_the_false_negative_guard_drops_a_written_negative_that_answers_the_query():
    ranker = DenseRanker(ladder_corpus())
    query = "why does salt melt ice on roads"
    answer = "Salt melts ice on roads because salty water freezes at a lower temperature than pure water."
    unrelated = "Concrete bridges expand in summer heat, so engineers leave joints between the slabs."
    pos_score = ranker.pair_scores([query], [document_text(POSITIVE)])[0]
    dropped = Counter()
    kept = guard_written([answer, unrelated], query, pos_score, ranker, NegativeConfig(margin=0.95), dropped)
    assert kept == [unrelated] and dropped == {"written_false_negative": 1}
    unchecked = Counter()  # BM25 cannot score a text outside its index: kept, and counted as unchecked
    assert guard_written([answer], query, 3.0, BM25Ranker(ladder_corpus()), NegativeConfig(), unchecked) == [answer]
    assert unchecked == {"written_unchecked": 1}


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
    miner = DenseMiner(ladder_corpus(), NegativeConfig(skip_top=0, window=20, margin=0.95))
    outside = "Rock salt spread on icy streets melts the ice because brine freezes at a lower temperature."
    mined = miner.mine("why does salt melt ice on roads", outside, None, 4)
    assert mined.positive_rank is not None  # a positive outside the corpus still has a score and a rank
    retriever = miner.ranker.retriever
    q = retriever.encode_queries(["why does salt melt ice on roads"])[0]
    pos_score = float(retriever.encode_documents([outside])[0] @ q)
    for _, text in mined.negatives:
        assert float(retriever.encode_documents([text])[0] @ q) <= 0.95 * pos_score + 1e-6
    in_corpus = miner.mine("why does salt melt ice on roads", document_text(POSITIVE), "pos", 4)
    assert "copy" not in [d for d, _ in in_corpus.negatives] and "near" not in [d for d, _ in in_corpus.negatives]
    assert in_corpus.rejected["mined_copy_of_positive"] == 1
