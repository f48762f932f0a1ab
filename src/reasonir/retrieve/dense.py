"""Dense retrieval: a sentence-transformers bi-encoder, normalized embeddings, exact or approximate inner product.

Exact search (the default) keeps the vectors in a FAISS ``IndexFlatIP`` (the saved ``faiss.index``) and scores
them with :func:`reasonir.retrieve.exact.exact_search`, whose ``exact_backend`` (``auto``, ``faiss``, ``numpy``,
``torch``) was chosen by measurement. ``faiss_factory="HNSW32"`` (or ``"IVF1024,Flat"``, ``"IVF1024,PQ32"`` ...)
builds an approximate FAISS index instead, trained on the corpus vectors; :attr:`DenseRetriever.recall` then
holds its recall@k against exact search, measured at indexing time and saved in the manifest.

``encoder_backend`` (``auto``, the default, or ``torch``, ``torch-bf16``, ``onnx``, ``onnx-int8``, ``ct2``,
``ct2-int8``, ``openvino``; see :mod:`reasonir.models.backends` and :mod:`reasonir.models.auto`) picks the runtime of the encoder; the one that ran,
and for ``auto`` why, is saved with the index, so searches encode queries the same way.

Document embeddings are cached on disk by (model identity, the backend that ran, document instruction, max length,
corpus hash: ``auto`` and the backend it chose share entries), so
evaluating the same corpus again encodes only the queries. A model passed as an object (for example one being
trained) has no stable identity, so it is not cached unless you name it with ``model_identity=``.

Example:
    >>> from reasonir.data import Document, Query
    >>> r = DenseRetriever(show_progress=False).index([Document("d1", "cats purr"), Document("d2", "stocks fell")])  # doctest: +SKIP
    >>> list(r.search([Query("q", "feline sounds")], k=1)["q"])  # doctest: +SKIP
    ['d1']
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from reasonir.data.records import Document, Query
from reasonir.models import DEFAULT_ENCODER, DEFAULT_ENCODER_BACKEND, EncoderBackend, get_instructions, load_encoder
from reasonir.models import model_identity as identify_model
from reasonir.models.auto import BackendChoice, as_loaded, resolve_backend
from reasonir.models.backends import ResolvedBackend, check_backend
from reasonir.optional import require
from reasonir.retrieve import approximate, store
from reasonir.retrieve.base import DocumentLookup, Run, document_text, run_row, search_depth
from reasonir.retrieve.cache import EmbeddingCache, corpus_hash, embedding_key
from reasonir.retrieve.exact import EXACT_BACKENDS, ExactBackend, exact_search

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


BATCH_SIZE = 64  # texts encoded at once; the batch the retrieval benchmarks measure MiniLM at (bench_retrieval.py)


def _import_faiss():
    return require("faiss", "models", purpose="dense retrieval")


def name_of(model: SentenceTransformer) -> str | None:
    """Best-effort name or folder a loaded model came from (used to reload it with a saved index)."""
    try:
        return str(model[0].auto_model.config._name_or_path) or None
    except (AttributeError, IndexError, KeyError, TypeError):
        return None


class DenseRetriever:
    """Bi-encoder retriever on sentence-transformers and FAISS (cosine on unit vectors; exact unless
    ``faiss_factory`` names an approximate index).

    ``query_instruction``/``document_instruction`` default to the model's entry for ``task`` in
    ``reasonir/models/instructions.json`` (none for all-MiniLM-L6-v2); pass ``""`` for none. ``nprobe`` and
    ``ef_search`` tune an IVF or HNSW index at search time; ``recall_k``/``recall_probes`` size the recall check.
    """

    kind = "dense"

    def __init__(
        self,
        model: str | SentenceTransformer | None = None,
        *,
        query_instruction: str | None = None,
        document_instruction: str | None = None,
        task: str | None = None,
        batch_size: int = BATCH_SIZE,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        show_progress: bool = True,
        device: str | None = None,
        model_identity: str | None = None,
        exact_backend: ExactBackend = "auto",
        faiss_factory: str | None = None,
        nprobe: int | None = None,
        ef_search: int | None = None,
        recall_k: int = approximate.RECALL_K,
        recall_probes: int = approximate.RECALL_PROBES,
        encoder_backend: EncoderBackend = DEFAULT_ENCODER_BACKEND,
    ) -> None:
        if model is None or isinstance(model, (str, Path)):
            self.model_name: str | None = str(model or DEFAULT_ENCODER)
            self._model: SentenceTransformer | None = None
        else:
            self.model_name, self._model = name_of(model), model
        self._named = self._model is None  # only a model given by name or folder has a stable identity
        self._identity = model_identity
        self.requested_backend: EncoderBackend = check_backend(encoder_backend)
        # resolved when first needed (auto may probe); a loaded model object runs as it was loaded
        self._choice: BackendChoice | None = None if self._named else as_loaded(self.requested_backend)
        if not self._named and self.requested_backend not in ("auto", "torch"):
            raise ValueError("encoder_backend applies to a model given by name or folder; for a loaded model, "
                             "load it with reasonir.models.load_encoder(name, backend=...) instead")
        defaults = get_instructions(self.model_name, task)
        self.query_instruction = defaults.query if query_instruction is None else query_instruction
        self.document_instruction = defaults.document if document_instruction is None else document_instruction
        self.batch_size, self.show_progress, self.device = batch_size, show_progress, device
        self.cache = EmbeddingCache(cache_dir) if use_cache else None
        self.encode_calls = 0  # how many times documents or queries went through the model (tests read it)
        if exact_backend not in EXACT_BACKENDS:
            raise ValueError(f"unknown exact_backend {exact_backend!r}; expected one of {', '.join(EXACT_BACKENDS)}")
        self.exact_backend: ExactBackend = exact_backend
        self.faiss_factory = faiss_factory or None  # "" (an unset CLI option) means exact search too
        self.search_params = {"nprobe": nprobe, "ef_search": ef_search}
        self.recall_k, self.recall_probes = recall_k, recall_probes
        self.recall: dict | None = None  # approximate indexes: recall@k against exact, measured by index()
        self._index = None
        self._ids: list[str] = []
        self._indexed_key: str | None = None
        self._documents: Sequence[Document] | None = None
        self._source: Path | None = None

    @property
    def backend_choice(self) -> BackendChoice:
        """The backend that runs and why (``auto`` resolves here: a cached verdict, or a probe of a few seconds)."""
        if self._choice is None:
            self._choice = resolve_backend(self.requested_backend, self.model_name, self.device)
        return self._choice

    @property
    def encoder_backend(self) -> ResolvedBackend:
        """The backend that runs: torch, torch-bf16, onnx, onnx-int8, ct2, ct2-int8 or openvino (``auto`` resolved,
        fallbacks applied)."""
        return self.backend_choice.backend

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self._model = load_encoder(self.model_name, device=self.device, backend=self.encoder_backend)
        return self._model

    @property
    def identity(self) -> str | None:
        """A stable name for the weights (None for an unnamed in-memory model, which disables caching)."""
        if self._identity is None and self._named:
            self._identity = identify_model(self.model_name)
        return self._identity

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        self.encode_calls += 1
        embeddings = self.model.encode(
            list(texts), prompt=prompt or None, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=self.show_progress,
        )
        return np.ascontiguousarray(embeddings, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length query vectors, with the query instruction prepended; shape (len(texts), dim)."""
        return self._encode(texts, self.query_instruction)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length document vectors, with the document instruction prepended; shape (len(texts), dim)."""
        return self._encode(texts, self.document_instruction)

    def _cache_key(self, documents: Sequence[Document]) -> str | None:
        if self.identity is None:
            return None
        return embedding_key(model=self.identity, instruction=self.document_instruction,
                             max_length=getattr(self.model, "max_seq_length", None), corpus_hash=corpus_hash(documents),
                             backend=self.encoder_backend)

    def index(self, documents: Sequence[Document]) -> DenseRetriever:
        if not documents:
            raise ValueError("no documents to index")
        key = self._cache_key(documents)
        if key is not None and key == self._indexed_key:
            return self  # same model, same corpus: the index in memory is already right
        embeddings = self.cache.get(key) if (self.cache is not None and key is not None) else None
        if embeddings is None or len(embeddings) != len(documents):
            embeddings = self.encode_documents([document_text(d) for d in documents])
            if self.cache is not None and key is not None:
                self.cache.put(key, embeddings)
        self.index_vectors(embeddings, [d.id for d in documents], documents)
        self._indexed_key = key
        return self

    def index_vectors(self, vectors: np.ndarray, ids: Sequence[str],
                      documents: Sequence[Document] | None = None) -> DenseRetriever:
        """Index vectors encoded elsewhere (unit rows, row i is document ``ids[i]``); ``documents`` are stored
        with a saved index when given. Builds the approximate index and measures its recall if one is set.

        Example:
            >>> r = DenseRetriever(use_cache=False).index_vectors(np.eye(2, dtype=np.float32), ["a", "b"])
            >>> r.search_vectors([Query("q", "")], np.array([[0.2, 0.8]], dtype=np.float32), k=1)
            {'q': {'b': 0.800000011920929}}
        """
        if len(vectors) != len(ids):
            raise ValueError(f"{len(vectors)} vectors for {len(ids)} ids")
        if not len(ids):
            raise ValueError("no documents to index")
        self._build(vectors)
        self._ids = list(ids)
        self._indexed_key, self._documents, self._source = None, documents, None
        return self

    def document_embeddings(self) -> np.ndarray:
        """The indexed documents' unit vectors, row i for the i-th indexed document (read back from the index;
        an approximate index returns what it can reconstruct, e.g. PQ-decoded vectors)."""
        if self._index is None:
            raise RuntimeError("call index() before document_embeddings()")
        if self.faiss_factory is None:
            return self._flat_vectors().copy()
        faiss = _import_faiss()
        try:
            faiss.extract_index_ivf(self._index).make_direct_map()  # IVF reconstructs by id only with a map
        except RuntimeError:
            pass  # not an IVF index
        return self._index.reconstruct_n(0, self._index.ntotal)

    @property
    def approximate(self) -> bool:
        """True when searches go through an approximate FAISS index (``faiss_factory``)."""
        return self.faiss_factory is not None

    def _flat_vectors(self) -> np.ndarray:
        """The flat index's vectors as a numpy view of FAISS's own storage (no copy)."""
        faiss = _import_faiss()
        n, d = self._index.ntotal, self._index.d
        if n == 0:
            return np.empty((0, d), dtype=np.float32)
        return faiss.rev_swig_ptr(self._index.get_xb(), n * d).reshape(n, d)

    def _build(self, embeddings: np.ndarray) -> None:
        faiss = _import_faiss()
        embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        if self.faiss_factory is None:
            self._index = faiss.IndexFlatIP(embeddings.shape[1])
            self._index.add(embeddings)
            self.recall = None
            return
        self._index = approximate.build_index(embeddings, self.faiss_factory, **self.search_params)
        self.recall = approximate.measure_recall(self._index, embeddings, k=self.recall_k,
                                                 probes=self.recall_probes)

    def search(self, queries: Sequence[Query], k: int = 1000) -> Run:
        if self._index is None:
            raise RuntimeError("call index() before search()")
        if not queries or search_depth(queries, k, len(self._ids)) == 0:
            return {q.id: {} for q in queries}
        return self.search_vectors(queries, self.encode_queries([q.text for q in queries]), k)

    def search_vectors(self, queries: Sequence[Query], vectors: np.ndarray, k: int = 1000) -> Run:
        """Search with query vectors already encoded (row i belongs to ``queries[i]``), e.g. reused across calls."""
        if self._index is None:
            raise RuntimeError("call index() before search()")
        if vectors.shape[1] != self._index.d:
            raise ValueError(f"query vectors have {vectors.shape[1]} dimensions, the index {self._index.d}; "
                             "was the index built with another model?")
        depth = search_depth(queries, k, len(self._ids))
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.approximate or self.exact_backend == "faiss":
            scores, rows = self._index.search(vectors, depth)
        else:
            scores, rows = exact_search(self._flat_vectors(), vectors, depth, backend=self.exact_backend)
        run: Run = {}
        for q, row_ids, row_scores in zip(queries, rows, scores):
            found = row_ids >= 0  # FAISS pads with -1 when the corpus is smaller than the depth
            run[q.id] = run_row(q, self._ids, row_ids[found], row_scores[found], k)
        return run

    def document_lookup(self) -> DocumentLookup | None:
        """The indexed documents by id, or those saved with the index this was loaded from (None: neither)."""
        return store.table_lookup(self._documents, self._source)

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write vectors, ids and settings to ``folder``; :meth:`load` reads them back without encoding."""
        if self._index is None:
            raise RuntimeError("call index() before save()")
        faiss = _import_faiss()
        settings = {
            "model": self.model_name, "model_identity": self.identity, "query_instruction": self.query_instruction,
            "document_instruction": self.document_instruction, "dim": int(self._index.d), "normalized": True,
            "faiss": self.faiss_factory or "IndexFlatIP", "count": len(self._ids),
        }
        if self._choice is not None:  # the backend that encoded, and why
            settings.update(encoder_backend=self._choice.backend, encoder_backend_choice=self._choice.as_dict())
        else:  # vectors encoded elsewhere (index_vectors): queries will resolve the backend asked for
            settings["encoder_backend"] = self.requested_backend
        if self.approximate:
            settings.update(faiss_factory=self.faiss_factory, recall=self.recall,
                            search_params={k: v for k, v in self.search_params.items() if v is not None})
        with store.writing_index(folder, self.kind, settings, overwrite=overwrite) as tmp:
            faiss.write_index(self._index, str(tmp / "faiss.index"))
            store.write_ids(tmp, self._ids)
            store.write_documents(tmp, self._documents, self._source)
        return Path(folder)

    @classmethod
    def load(cls, folder: str | Path, model: str | SentenceTransformer | None = None, **kwargs) -> DenseRetriever:
        """Reload a saved index; queries are encoded with ``model`` (default: the model named in the manifest)."""
        faiss = _import_faiss()
        folder = Path(folder)
        manifest = store.read_manifest(folder)
        kwargs.setdefault("query_instruction", manifest["query_instruction"])
        kwargs.setdefault("document_instruction", manifest["document_instruction"])
        kwargs.setdefault("faiss_factory", manifest.get("faiss_factory"))  # absent in exact (and older) indexes
        if model is None or isinstance(model, (str, Path)):  # a loaded model object runs as it was loaded
            # queries are encoded by the backend that encoded the documents (auto: chosen again, the same on the
            # same machine), unless the caller picks another; indexes from before backends existed ran torch
            chosen_by = manifest.get("encoder_backend_choice", {}).get("requested")
            kwargs.setdefault("encoder_backend", "auto" if chosen_by == "auto" else manifest.get("encoder_backend",
                                                                                                 "torch"))
        for name, value in manifest.get("search_params", {}).items():
            kwargs.setdefault(name, value)  # nprobe/ef_search given to load() win over the saved ones
        retriever = cls(model if model is not None else manifest["model"], **kwargs)
        retriever._index = faiss.read_index(str(folder / "faiss.index"))
        if retriever.approximate:
            approximate.set_search_params(retriever._index, **retriever.search_params)
            retriever.recall = manifest.get("recall")
        retriever._ids = store.read_ids(folder)
        retriever._source = folder
        return retriever
