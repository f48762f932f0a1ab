"""Dense indexes built independently, one per part of a corpus, searched together.

Each shard is an ordinary dense index (exact or approximate; built in another process or on another machine
with ``reasonir index`` over its part of the corpus). A search encodes the queries once, asks every shard for
its top ``k`` and keeps the best ``k`` of the union: for exact shards that is exactly the top ``k`` of the whole
corpus. Document ids must be unique across shards. ``reasonir index --backend ray`` (:mod:`reasonir.scale.encode`)
writes its output in this format, shard by shard, and joins the shards with :meth:`ShardedDenseRetriever.link_folders`.

Example:
    >>> import numpy as np
    >>> from reasonir.data import Query
    >>> a = DenseRetriever(use_cache=False).index_vectors(np.array([[1, 0]], dtype=np.float32), ["a"])
    >>> b = DenseRetriever(use_cache=False).index_vectors(np.array([[0, 1]], dtype=np.float32), ["b"])
    >>> both = ShardedDenseRetriever([a, b])
    >>> list(both.search_vectors([Query("q", "")], np.array([[0.3, 0.7]], dtype=np.float32), k=2)["q"])
    ['b', 'a']
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reasonir.data.records import Document, Query
from reasonir.retrieve import store
from reasonir.retrieve.base import Run
from reasonir.retrieve.dense import DenseRetriever
from reasonir.retrieve.hybrid import top_k


class ShardedDenseRetriever:
    """Several :class:`DenseRetriever` shards behind one ``search``; the first shard's encoder encodes queries."""

    kind = "shards"

    def __init__(self, shards: Sequence[DenseRetriever]) -> None:
        if not shards:
            raise ValueError("no shards")
        self.shards = list(shards)

    @classmethod
    def from_folders(cls, folders: Sequence[str | Path], **options) -> ShardedDenseRetriever:
        """Open dense indexes saved separately (``options`` go to each :meth:`DenseRetriever.load`)."""
        return cls([DenseRetriever.load(f, **options) for f in folders])

    def index(self, documents: Sequence[Document]) -> ShardedDenseRetriever:
        """Split ``documents`` into as many contiguous parts as there are shards and index each in its shard."""
        bounds = np.linspace(0, len(documents), len(self.shards) + 1).astype(int)
        for shard, lo, hi in zip(self.shards, bounds[:-1], bounds[1:]):
            shard.index(documents[lo:hi])
        return self

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run:
        if not queries:
            return {}
        return self.search_vectors(queries, self.shards[0].encode_queries([q.text for q in queries]), k)

    def search_vectors(self, queries: Sequence[Query], vectors: np.ndarray, k: int = 1000) -> Run:
        """Each shard's top ``k`` (excluded ids already left out there), merged into the overall top ``k``."""
        merged: Run = {q.id: {} for q in queries}
        for shard in self.shards:
            for qid, row in shard.search_vectors(queries, vectors, k).items():
                merged[qid].update(row)
        return top_k(merged, k)

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Each shard goes to ``shard-<i>/``; their stored documents are also joined at the top, for lookups."""
        parts = part_names(len(self.shards))
        with store.writing_index(folder, self.kind, {"parts": parts}, overwrite=overwrite) as tmp:
            for shard, part in zip(self.shards, parts):
                shard.save(tmp / part)
            _join_documents(tmp, parts)
        return Path(folder)

    @classmethod
    def link_folders(cls, folder: str | Path, sources: Sequence[str | Path], *, overwrite: bool = False) -> Path:
        """Write a shards index at ``folder`` from dense index folders already on disk, in order, without reading
        their vectors: files are hard-linked (copied where links fail), so ``sources`` stay as they were until the
        index is complete (a job that built them can delete them afterwards)."""
        parts = part_names(len(sources))
        with store.writing_index(folder, cls.kind, {"parts": parts}, overwrite=overwrite) as tmp:
            for source, part in zip(sources, parts):
                store.read_manifest(source)  # only whole indexes
                shutil.copytree(source, tmp / part, copy_function=_link_or_copy)
            _join_documents(tmp, parts)
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, **options) -> ShardedDenseRetriever:
        folder = Path(folder)
        return cls.from_folders([folder / p for p in store.read_manifest(folder)["parts"]], **options)


def part_names(n: int) -> list[str]:
    return [f"shard-{i}" for i in range(n)]


def _join_documents(folder: Path, parts: Sequence[str]) -> None:
    """The parts' stored documents joined at the top, in order, for lookups."""
    with open(folder / "documents.jsonl", "wb") as out:
        for part in parts:
            if (folder / part / "documents.jsonl").exists():
                with open(folder / part / "documents.jsonl", "rb") as src:
                    shutil.copyfileobj(src, out)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)
