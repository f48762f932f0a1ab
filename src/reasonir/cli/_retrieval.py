"""What the retrieval subcommands (eval, compare, index, search) share: options, loading, writing."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RETRIEVER_KINDS = ("bm25", "dense", "hybrid")


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default=None,
                   help="encoder name or folder for dense/hybrid (default: sentence-transformers/all-MiniLM-L6-v2)")
    p.add_argument("--batch-size", type=int, default=None, help="encoding batch size (default: 64)")
    add_encoder_backend_arg(p)
    p.add_argument("--fusion", choices=["weighted", "rrf"], default="weighted",
                   help="hybrid fusion: min-max weighted sum, or reciprocal-rank fusion (k=60)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the document embedding cache")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def add_encoder_backend_arg(p: argparse.ArgumentParser, *, saved: bool = False) -> None:
    """``--encoder-backend``: the encoder's runtime (see reasonir/models/backends.py); ``saved`` for commands
    that read an index, whose manifest names the backend it was built with."""
    from reasonir.models.backends import DEFAULT_ENCODER_BACKEND, ENCODER_BACKENDS

    default = "the one the index was built with" if saved else DEFAULT_ENCODER_BACKEND
    p.add_argument("--encoder-backend", choices=ENCODER_BACKENDS, default=None,
                   help="encoder runtime: auto (the fastest of torch, torch-bf16, onnx-int8, ct2, ct2-int8 and "
                        "openvino that scores as fp32 does on this CPU, probed once per model and machine: "
                        "reasonir/models/auto.py), torch (fp32), torch-bf16 (CPUs with bf16 instructions), onnx (ONNX "
                        "Runtime fp32), onnx-int8 (dynamic int8), ct2 (CTranslate2 fp32), ct2-int8, openvino (OpenVINO, "
                        "bf16 on CPUs with bf16 units); onnx needs pip install 'reasonir[onnx]', ct2 pip install "
                        "'reasonir[ct2]', openvino pip install 'reasonir[openvino]' "
                        f"(default: {default})")


def dense_options(args: argparse.Namespace, task: str | None = None) -> dict[str, Any]:
    options = {"use_cache": not args.no_cache, "show_progress": not args.no_progress, "task": task}
    if args.batch_size is not None:  # unset: DenseRetriever's own default
        options["batch_size"] = args.batch_size
    if getattr(args, "encoder_backend", None):
        options["encoder_backend"] = args.encoder_backend
    return {**options, **search_options(args)}


# dense index options, flag dests named as DenseRetriever's keywords; unset flags (None) leave its defaults
_INDEX_OPTIONS = ("faiss_factory", "recall_k", "recall_probes")
_SEARCH_OPTIONS = ("nprobe", "ef_search", "exact_backend")


def add_search_args(p: argparse.ArgumentParser) -> None:
    """Search-time options of a dense index (exact backend; IVF nprobe, HNSW efSearch)."""
    from reasonir.retrieve.exact import EXACT_BACKENDS

    p.add_argument("--exact-backend", choices=EXACT_BACKENDS, default=None,
                   help="exact dense search: auto (measured rule, see reasonir/retrieve/exact.py), faiss, numpy, torch")
    p.add_argument("--nprobe", type=int, default=None, help="IVF cells visited per query (approximate indexes)")
    p.add_argument("--ef-search", type=int, default=None, help="HNSW candidate list length (approximate indexes)")


def add_index_args(p: argparse.ArgumentParser) -> None:
    """``--faiss-factory`` and its recall check, plus the search options saved with the index."""
    g = p.add_argument_group("dense index structure (dense and hybrid)")
    g.add_argument("--faiss-factory", default=None,
                   help="approximate FAISS index, e.g. HNSW32, IVF1024,Flat, IVF1024,PQ32 (default: exact)")
    g.add_argument("--recall-k", type=int, default=None, help="depth of the recall check against exact (default 100)")
    g.add_argument("--recall-probes", type=int, default=None,
                   help="document vectors used as probe queries for the recall check (default 200)")
    add_search_args(g)  # type: ignore[arg-type]


def search_options(args: argparse.Namespace) -> dict[str, Any]:
    """The dense index/search options the command line set (absent flags: nothing)."""
    return {name: getattr(args, name) for name in (*_INDEX_OPTIONS, *_SEARCH_OPTIONS)
            if getattr(args, name, None) is not None}


def build_retriever(kind: str, args: argparse.Namespace, task: str | None = None):
    from reasonir.retrieve import make_retriever

    if kind == "bm25":
        return make_retriever("bm25", show_progress=not args.no_progress, **bm25_options(args))
    options = dense_options(args, task)
    if kind == "hybrid":
        options["method"] = args.fusion
    return make_retriever(kind, args.model, **options)  # type: ignore[arg-type]


def task_name(spec: str) -> str:
    """The task a dataset spec names, for instructions: ``bright:biology[@DIR]`` -> biology, a folder -> its name."""
    from reasonir.data import parse_spec

    parsed = parse_spec(spec)
    return parsed.task or Path(parsed.location).name


def write_json(obj: Any, path: str | Path, *, overwrite: bool) -> None:
    """Write JSON atomically; refuse to replace an existing file unless ``overwrite``."""
    from reasonir.data.atomic import atomic_open

    with atomic_open(path, overwrite=overwrite) as fh:
        json.dump(obj, fh, indent=1)


# ---- test-time reasoning and BRIGHT-exact evaluation options (shared by eval, compare, search; rag/serve later) ----
def add_pipeline_arguments(p: argparse.ArgumentParser) -> None:
    """``--rewrite``, ``--rewrite-budget``, ``--rerank``, ``--rerank-k`` and their details, plus the ``--llm-*``
    flags (see :func:`reasonir.retrieve.pipeline.build_pipeline`)."""
    from reasonir.cli.llm_flags import add_llm_arguments

    g = p.add_argument_group("test-time reasoning (LLM query rewriting, reranking; see docs/llm.md)")
    g.add_argument("--rewrite", action="store_true", help="rewrite each query with the LLM before retrieval")
    g.add_argument("--rewrite-budget", type=int, default=None,
                   help="tokens the LLM may generate per rewrite, 64..4096 (default 512)")
    g.add_argument("--rewrite-mode", choices=["replace", "append"], default="replace",
                   help="search with the rewrite alone (BRIGHT) or joined after the original query")
    g.add_argument("--rerank", choices=["none", "llm", "cross-encoder"], default="none",
                   help="rerank the top --rerank-k with the LLM (0-5 per document) or a cross-encoder")
    g.add_argument("--rerank-k", type=int, default=None, help="documents reranked per query (default 100)")
    g.add_argument("--rerank-mode", choices=["pointwise", "listwise"], default="pointwise",
                   help="LLM reranking: a 0-5 score per document, or RankGPT sliding windows")
    g.add_argument("--rerank-alpha", type=float, default=None,
                   help="weight of the reranker in final = alpha*rerank/5 + (1-alpha)*retriever (default 0.5)")
    g.add_argument("--cross-encoder", default=None, help="cross-encoder name or folder for --rerank cross-encoder")
    add_llm_arguments(p)


def needs_llm(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "rewrite", False) or getattr(args, "rewrite_budgets", None)
                or getattr(args, "rerank", "none") == "llm")


def pipeline_from_args(args: argparse.Namespace, retriever: Any, llm: Any = None, *, task: str | None = None,
                       rewrite: bool | None = None, rewrite_budget: int | None = None, rerank: str | None = None):
    """The Pipeline the flags describe (keyword overrides serve compare's grid and eval's budget sweep)."""
    from reasonir.retrieve.pipeline import build_pipeline

    return build_pipeline(
        retriever, llm=llm, rewrite=args.rewrite if rewrite is None else rewrite,
        rewrite_budget=rewrite_budget or args.rewrite_budget, rerank=rerank or args.rerank,  # type: ignore[arg-type]
        rerank_k=args.rerank_k, task=task, rewrite_mode=args.rewrite_mode, rerank_mode=args.rerank_mode,
        alpha=args.rerank_alpha, cross_encoder=args.cross_encoder)


def pipeline_label(kind: str, *, rewrite: bool, budget: int | None, rerank: str) -> str:
    """``bm25``, ``bm25+rewrite``, ``dense+rewrite@128+rerank-llm`` ..."""
    label = kind
    if rewrite:
        label += "+rewrite" + (f"@{budget}" if budget else "")
    if rerank != "none":
        label += f"+rerank-{rerank}"
    return label


def add_evaluation_choices(p: argparse.ArgumentParser) -> None:
    """BRIGHT-exact evaluation choices; each default is reasonir's documented behaviour."""
    g = p.add_argument_group("evaluation choices (BRIGHT / BEIR exactness)")
    g.add_argument("--bm25-flavour", choices=["bm25s", "bright"], default="bm25s",
                   help="bm25s (default, fast) or BRIGHT's own analyzer and scoring (Lucene analyzer, gensim BM25)")
    g.add_argument("--keep-zero-scores", action="store_true",
                   help="fill each BM25 top k with zero-score documents as BRIGHT does (default: left out)")
    g.add_argument("--missing-queries", choices=["zero", "skip"], default="zero",
                   help="a judged query with no retrieved document: averaged as 0 (default) or left out "
                        "(BRIGHT, BEIR)")
    g.add_argument("--ignore-identical-ids", action="store_true",
                   help="drop a retrieved document whose id equals the query id (BEIR's option)")


def bm25_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"flavour": getattr(args, "bm25_flavour", "bm25s"), "keep_zero_scores": getattr(args, "keep_zero_scores", False)}


def describe_missing(rule: str, missing: int, judged: int) -> str:
    """The line every evaluation prints about queries absent from the run."""
    how = "averaged as 0" if rule == "zero" else "left out of the means (BRIGHT, BEIR)"
    return f"queries with no retrieved document: {missing} of {judged}, {how} (--missing-queries {rule})"
