"""Corpus encoding as a Ray Data pipeline, written as a ``shards`` index (:mod:`reasonir.retrieve.shards`), resumably.

The driver streams the corpus (:func:`reasonir.data.iter_corpus`: every format and check of ``load_corpus``, one
document at a time) and cuts it into shards of ``shard_size`` documents in corpus order. A shard finished by an
earlier run of the same job is skipped without encoding; every other one goes into Ray's object store as Arrow
blocks of ``block_rows`` rows (Ray spills them to disk when the store is full, so the driver holds one shard at a
time). Ray Data maps the blocks through ``workers`` encoder actors (each loads the encoder once and encodes with
``threads`` torch threads on ``threads`` CPUs), order preserved, and the driver writes each shard as soon as its
rows are back: an ordinary dense index (``DenseRetriever.save``: a temporary folder, then a rename) in
``<out>.encoding/``, named by a hash of the settings and of the shard's documents. At the end the shards are
linked into ``out`` as one ``shards`` index and the work folder is removed.

A rerun after a crash (or Ctrl-C) finds the finished shards by name and encodes only the others; a changed corpus
or setting changes the names, so nothing stale is reused. Vectors come from ``DenseRetriever.encode_documents`` as
in the local backend: the same ids in the same order, embeddings equal within float tolerance (batches are padded
differently). Searching the ``shards`` index returns what one exact index over the corpus returns.

On a multi-node cluster every node needs reasonir and the model (``--model`` a name, or a folder they all see);
``out`` is written by the driver only.

Example:
    >>> with ray_session(num_cpus=2):  # doctest: +SKIP
    ...     report = encode_to_shards("examples/scifact-sample", "idx", workers=2, shard_size=200)
    >>> report.shards, report.documents  # doctest: +SKIP
    (3, 600)
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reasonir.data.corpus import iter_corpus
from reasonir.data.records import Document
from reasonir.models import DEFAULT_ENCODER_BACKEND, EncoderBackend
from reasonir.retrieve import store
from reasonir.retrieve.base import document_text
from reasonir.retrieve.cache import corpus_hash
from reasonir.retrieve.dense import BATCH_SIZE, DenseRetriever
from reasonir.retrieve.shards import ShardedDenseRetriever
from reasonir.scale.cluster import import_ray

SHARD_SIZE = 10_000  # documents per shard: 15 MB of MiniLM vectors; a lost shard costs minutes on a CPU, not hours
# Settings of the encoder that every shard must share (passed to DenseRetriever in the driver and in the workers)
_ENCODER_KEYS = ("query_instruction", "document_instruction", "encoder_backend", "batch_size")


@dataclass
class EncodeReport:
    """What an encoding job did, and where its time went (seconds; worker figures are sums over actors)."""

    index: str
    documents: int = 0
    shards: int = 0
    shards_reused: int = 0  # found finished in the work folder: not encoded again
    documents_encoded: int = 0
    workers: int = 0
    seconds: float = 0.0  # the whole call
    read_seconds: float = 0.0  # streaming the corpus, hashing shards, putting pending blocks into the object store
    pipeline_seconds: float = 0.0  # from starting the Ray Data pipeline to its last row (shard writes included)
    write_seconds: float = 0.0  # the driver saving shards (inside pipeline_seconds)
    link_seconds: float = 0.0  # the final shards index
    worker_load_seconds: list[float] = field(default_factory=list)  # each actor's encoder load
    worker_encode_seconds: float = 0.0  # inside model.encode, summed over batches
    blocks: int = 0  # output blocks the driver received

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


class ShardEncoder:
    """A Ray Data actor: loads the encoder once, then encodes batches as ``DenseRetriever.encode_documents`` does
    in the local backend. Adds ``embedding`` and the timing columns ``_encode_s`` (the batch's encode time spread
    over its rows) and ``_load_s`` (this actor's load time, on its first row only)."""

    def __init__(self, model: str, settings: dict[str, Any], threads: int) -> None:
        start = time.perf_counter()
        import torch

        torch.set_num_threads(threads)
        self.retriever = DenseRetriever(model, use_cache=False, show_progress=False, **settings)
        self.retriever.model  # noqa: B018 - load now, not inside the first batch's timing
        self.load_seconds: float | None = time.perf_counter() - start

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        start = time.perf_counter()
        texts = [document_text(Document(i, text, title)) for i, text, title in
                 zip(batch["id"], batch["text"], batch["title"])]
        batch["embedding"] = self.retriever.encode_documents(texts)
        n = len(texts)
        batch["_encode_s"] = np.full(n, (time.perf_counter() - start) / n)
        batch["_load_s"] = np.zeros(n)
        if self.load_seconds is not None and n:
            batch["_load_s"][0], self.load_seconds = self.load_seconds, None
        return batch


def encode_to_shards(
    corpus: str | Path | Iterable[Document],
    out: str | Path,
    model: str | None = None,
    *,
    workers: int = 2,
    threads: int = 1,
    num_gpus: float = 0,
    shard_size: int = SHARD_SIZE,
    block_rows: int | None = None,
    task: str | None = None,
    query_instruction: str | None = None,
    document_instruction: str | None = None,
    encoder_backend: EncoderBackend = DEFAULT_ENCODER_BACKEND,
    batch_size: int = BATCH_SIZE,
    overwrite: bool = False,
    show_progress: bool = True,
    **index_options: Any,
) -> EncodeReport:
    """Encode ``corpus`` (a path ``load_corpus`` reads, or documents) with ``workers`` Ray actors into a ``shards``
    index at ``out``. Needs a Ray session (:func:`reasonir.scale.cluster.ray_session`).

    ``threads`` torch threads and CPUs per actor; ``num_gpus`` per actor (not tested here: no GPU in CI);
    ``block_rows`` rows per Ray Data block (default ``2 x batch_size``, fewer where a shard would give some worker
    no block: blocks are what the actors share out);
    ``index_options`` go to each shard's ``DenseRetriever`` (``faiss_factory``, ``exact_backend`` ...: an
    approximate index is trained per shard). Model, instructions and batch size mean what they mean locally.
    """
    ray = import_ray()
    start = time.perf_counter()
    out = Path(out)
    store.check_writable(out, overwrite)  # refuse before encoding, not after
    template = DenseRetriever(model, task=task, query_instruction=query_instruction,
                              document_instruction=document_instruction, encoder_backend=encoder_backend,
                              batch_size=batch_size, use_cache=False, show_progress=False, **index_options)
    settings = encoder_settings(template)
    key = job_key(template, index_options)
    work = work_dir(out)
    work.mkdir(parents=True, exist_ok=True)
    report = EncodeReport(str(out), workers=workers)
    block_rows = block_rows or 2 * batch_size

    names: list[str] = []
    pending: list[tuple[str, int]] = []  # (shard name, documents) in corpus order
    blocks = []
    documents = iter_corpus(corpus) if isinstance(corpus, (str, Path)) else iter(corpus)
    for number, chunk in enumerate(_chunks(documents, shard_size)):
        name = shard_name(number, key, chunk)
        names.append(name)
        report.documents += len(chunk)
        if store.is_index(work / name):
            report.shards_reused += 1
            continue
        pending.append((name, len(chunk)))
        rows = min(block_rows, -(-len(chunk) // workers))  # a small shard still gives every worker a block
        for lo in range(0, len(chunk), rows):
            blocks.append(ray.put(_table(chunk[lo:lo + rows], len(pending) - 1)))
    report.shards = len(names)
    report.documents_encoded = sum(n for _, n in pending)
    report.read_seconds = time.perf_counter() - start

    if pending:
        started = time.perf_counter()
        with _ordered(ray, show_progress):  # a dataset copies the context when it is made
            ds = ray.data.from_arrow_refs(blocks).map_batches(
                ShardEncoder, fn_constructor_kwargs={"model": template.model_name, "settings": settings,
                                                     "threads": threads},
                compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=threads, num_gpus=num_gpus or None,
                batch_size=batch_size)
            # closing: a failed shard write stops the pipeline now, while Ray is still up to stop it
            with closing(iter(ds.iter_batches(batch_size=None, batch_format="numpy"))) as batches:
                _write_shards(_rows_by_shard(batches, report), pending, work, template, index_options, report)
        report.pipeline_seconds = time.perf_counter() - started

    started = time.perf_counter()
    ShardedDenseRetriever.link_folders(out, [work / n for n in names], overwrite=overwrite)
    shutil.rmtree(work, ignore_errors=True)  # stale shards of other settings or corpora go too
    report.link_seconds = time.perf_counter() - started
    report.seconds = time.perf_counter() - start
    return report


def work_dir(out: str | Path) -> Path:
    """Where a job keeps finished shards until the index is complete: ``<out>.encoding/`` beside it."""
    out = Path(out)
    return out.with_name(out.name + ".encoding")


def encoder_settings(template: DenseRetriever) -> dict[str, Any]:
    """The encoder settings every shard shares, as ``DenseRetriever`` keywords."""
    return {key: getattr(template, key) for key in _ENCODER_KEYS}


def job_key(template: DenseRetriever, index_options: dict[str, Any]) -> str:
    """Everything that makes two jobs' vectors or indexes differ: model identity, encoder settings, index options."""
    return json.dumps({"identity": template.identity, **encoder_settings(template), "options": index_options,
                       "layout": 1}, sort_keys=True, default=str)


def shard_name(number: int, job_key: str, documents: list[Document]) -> str:
    """``shard-<number>-<hash of the job's settings and these documents>``: equal only for the same work."""
    digest = hashlib.sha256(f"{job_key}\0{corpus_hash(documents)}".encode()).hexdigest()[:16]
    return f"shard-{number:05d}-{digest}"


def _chunks(documents: Iterator[Document], size: int) -> Iterator[list[Document]]:
    if size < 1:
        raise ValueError(f"shard_size must be >= 1, got {size}")
    chunk: list[Document] = []
    for doc in documents:
        chunk.append(doc)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _table(documents: list[Document], shard: int):
    import pyarrow as pa

    return pa.table({"shard": pa.array([shard] * len(documents), pa.int64()),
                     "id": [d.id for d in documents], "title": [d.title for d in documents],
                     "text": [d.text for d in documents]})


@contextmanager
def _ordered(ray: Any, show_progress: bool) -> Iterator[None]:
    """Ray Data settings for one run, restored afterwards: rows come back in input order; progress bars or not."""
    context = ray.data.DataContext.get_current()
    options = context.execution_options
    saved = (options.preserve_order, context.enable_progress_bars)
    options.preserve_order, context.enable_progress_bars = True, show_progress
    try:
        yield
    finally:
        options.preserve_order, context.enable_progress_bars = saved


def _rows_by_shard(batches: Iterable[dict[str, np.ndarray]],
                   report: EncodeReport) -> Iterator[tuple[int, list[Document], np.ndarray]]:
    """(pending shard number, documents, vectors) runs, in order, from the pipeline's output batches."""
    for batch in batches:
        report.blocks += 1
        report.worker_encode_seconds += float(batch["_encode_s"].sum())
        report.worker_load_seconds += [float(s) for s in batch["_load_s"] if s > 0]
        shard = batch["shard"]
        cuts = [0, *(np.flatnonzero(shard[1:] != shard[:-1]) + 1).tolist(), len(shard)]
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            docs = [Document(str(i), str(t), str(ti)) for i, t, ti in
                    zip(batch["id"][lo:hi], batch["text"][lo:hi], batch["title"][lo:hi])]
            yield int(shard[lo]), docs, np.asarray(batch["embedding"][lo:hi], dtype=np.float32)


def _write_shards(runs: Iterable[tuple[int, list[Document], np.ndarray]], pending: list[tuple[str, int]],
                  work: Path, template: DenseRetriever, index_options: dict[str, Any], report: EncodeReport) -> None:
    """Collect each pending shard's rows and save it the moment it is whole (rows arrive in shard order)."""
    current, docs, vectors = 0, [], []
    for number, run_docs, run_vectors in runs:
        if number != current:
            raise RuntimeError(f"rows of shard {number} came back before shard {current} was complete")
        docs += run_docs
        vectors.append(run_vectors)
        if len(docs) == pending[current][1]:
            started = time.perf_counter()
            save_shard(work / pending[current][0], docs, np.concatenate(vectors), template, index_options)
            report.write_seconds += time.perf_counter() - started
            current, docs, vectors = current + 1, [], []
    if current != len(pending):
        raise RuntimeError(f"the Ray pipeline returned {current} of {len(pending)} shards")


def save_shard(folder: Path, documents: list[Document], vectors: np.ndarray, template: DenseRetriever,
               index_options: dict[str, Any]) -> None:
    """One shard as an ordinary dense index, with the template's model and settings in its manifest."""
    shard = DenseRetriever(template.model_name, model_identity=template.identity, use_cache=False,
                           show_progress=False, **encoder_settings(template), **index_options)
    shard.index_vectors(vectors, [d.id for d in documents], documents).save(folder, overwrite=True)
