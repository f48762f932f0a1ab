"""``reasonir serve``: the search API and web page over a saved index (see reasonir.serve)."""
from __future__ import annotations

import argparse

from reasonir.cli._retrieval import add_encoder_backend_arg
from reasonir.cli.llm_flags import add_llm_arguments


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.serve.batching import BATCHING_RULES
    from reasonir.serve.config import API_KEY_ENV, PROTECT_DOCS, ServeConfig

    d = ServeConfig()
    p = sub.add_parser("serve", help="serve a saved index over HTTP: JSON API, metrics, a search page",
                       description=f"Serve INDEX over HTTP. Set {API_KEY_ENV} to require an API key (X-API-Key "
                                   "header); without one the server only listens on loopback and only answers "
                                   "requests whose Host header names loopback.")
    p.add_argument("index", help="index folder (made by `reasonir index`), or the output folder of `reasonir adapt`")
    p.add_argument("--host", default=d.host, help=f"address to listen on (default: {d.host})")
    p.add_argument("--port", type=int, default=d.port, help=f"port (default: {d.port})")
    p.add_argument("--workers", type=int, default=d.workers,
                   help=f"worker processes, each loading the index and model (default: {d.workers})")
    p.add_argument("--model", default=None, help="query encoder for a dense index (default: the one it was built with)")
    add_encoder_backend_arg(p, saved=True)
    p.add_argument("--cross-encoder", default=None, metavar="NAME_OR_FOLDER",
                   help='sentence-transformers CrossEncoder for "rerank": "cross-encoder" (default: none; such '
                        "requests answer 501)")
    p.add_argument("--max-k", type=int, default=d.max_k, help=f"largest k a request may ask for (default: {d.max_k})")
    p.add_argument("--max-query-chars", type=int, default=d.max_query_chars,
                   help=f"longest query, in characters (default: {d.max_query_chars})")
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes,
                   help=f"largest request body (default: {d.max_body_bytes})")
    p.add_argument("--max-batch", type=int, default=d.max_batch,
                   help=f"most queries searched together; 1 turns micro-batching off (default: {d.max_batch})")
    p.add_argument("--batching", choices=BATCHING_RULES, default=d.batching,
                   help="bounded: a batch runs when full (the size where the cost per query stops falling, measured "
                        "at start, at most --max-batch) or when its oldest query has waited --max-wait-ms; greedy: "
                        f"everything queued at once, up to --max-batch (the rule before) (default: {d.batching})")
    p.add_argument("--max-wait-ms", type=float, default=d.max_wait_ms,
                   help="bounded: the longest the oldest query waits for others (default: a quarter of one query's "
                        "search time, measured at start)")
    p.add_argument("--threads", type=int, default=d.threads,
                   help="torch/FAISS threads per worker (default: all cores; 1 is faster on a machine busy with other work)")
    g = p.add_argument_group("who may ask")
    g.add_argument("--allowed-hosts", type=_names, default=d.allowed_hosts, metavar="HOST[,HOST...]",
                   help="Host header values answered, e.g. search.example.org,*.lan (default: loopback names "
                        f"without {API_KEY_ENV}, any with it)")
    g.add_argument("--forwarded-allow-ips", default=d.forwarded_allow_ips, metavar="IP[,IP...]",
                   help="proxies whose X-Forwarded-For/-Proto headers are believed, e.g. 127.0.0.1 behind a local "
                        "nginx, or '*' (default: none)")
    g.add_argument("--protect-docs", choices=PROTECT_DOCS, default=d.protect_docs,
                   help="/docs, /redoc and /openapi.json: key (need the API key when the server has one), open "
                        f"(never), off (not served) (default: {d.protect_docs})")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add_llm_arguments(p)  # for rewriting, LLM reranking and /rag, started on the first request that needs it
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    from reasonir.cli.llm_flags import config_from_args
    from reasonir.optional import require
    from reasonir.retrieve.store import read_manifest
    from reasonir.serve.config import API_KEY_ENV, ServeConfig, check_bind, check_port
    from reasonir.serve.launch import Launch
    from reasonir.serve.launch import run as serve

    require("uvicorn", "serve", purpose="reasonir serve")
    require("fastapi", "serve", purpose="reasonir serve")
    api_key = os.environ.get(API_KEY_ENV) or None
    config = ServeConfig(host=args.host, port=args.port, workers=args.workers, api_key=api_key,
                         allowed_hosts=args.allowed_hosts, forwarded_allow_ips=args.forwarded_allow_ips,
                         protect_docs=args.protect_docs, max_k=args.max_k, max_query_chars=args.max_query_chars,
                         max_body_bytes=args.max_body_bytes, max_batch=args.max_batch, threads=args.threads,
                         batching=args.batching, max_wait_ms=args.max_wait_ms)
    check_bind(args.host, api_key)
    read_manifest(args.index)  # a wrong folder fails here (exit 2), not in a worker
    check_port(args.host, args.port)  # a port in use fails here, before a worker spends seconds loading the model
    cross_encoder = args.cross_encoder
    if cross_encoder and Path(cross_encoder).expanduser().exists():
        cross_encoder = str(Path(cross_encoder).expanduser().resolve())  # workers may start in another folder
    launch = Launch(os.path.abspath(args.index), config, model=args.model, encoder_backend=args.encoder_backend,
                    cross_encoder=cross_encoder, llm=config_from_args(args))  # flags, file, environment: checked now
    auth = f"API key required ({API_KEY_ENV})" if api_key else "no API key: loopback only"
    print(f"serving {args.index} on http://{args.host}:{args.port} ({auth}; {args.workers} worker(s))",
          file=sys.stderr)
    serve(launch, log_level=args.log_level)
    return 0
