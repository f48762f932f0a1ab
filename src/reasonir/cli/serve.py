"""``reasonir serve``: the search API and web page over a saved index (see reasonir.serve)."""
from __future__ import annotations

import argparse

from reasonir.cli._retrieval import add_encoder_backend_arg
from reasonir.cli.llm_flags import add_llm_arguments


def register(sub: argparse._SubParsersAction) -> None:
    from reasonir.serve.config import API_KEY_ENV, ServeConfig

    d = ServeConfig()
    p = sub.add_parser("serve", help="serve a saved index over HTTP: JSON API, metrics, a search page",
                       description=f"Serve INDEX over HTTP. Set {API_KEY_ENV} to require an API key (X-API-Key "
                                   "header); without one the server only listens on loopback.")
    p.add_argument("index", help="index folder (made by `reasonir index`)")
    p.add_argument("--host", default=d.host, help=f"address to listen on (default: {d.host})")
    p.add_argument("--port", type=int, default=d.port, help=f"port (default: {d.port})")
    p.add_argument("--workers", type=int, default=d.workers,
                   help="worker processes, each loading the index and model (default: 1)")
    p.add_argument("--model", default=None, help="query encoder for a dense index (default: the one it was built with)")
    add_encoder_backend_arg(p, saved=True)
    p.add_argument("--max-k", type=int, default=d.max_k, help=f"largest k a request may ask for (default: {d.max_k})")
    p.add_argument("--max-query-chars", type=int, default=d.max_query_chars,
                   help=f"longest query, in characters (default: {d.max_query_chars})")
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes,
                   help=f"largest request body (default: {d.max_body_bytes})")
    p.add_argument("--max-batch", type=int, default=d.max_batch,
                   help=f"most queries searched together; 1 turns micro-batching off (default: {d.max_batch})")
    p.add_argument("--threads", type=int, default=None,
                   help="torch/FAISS threads per worker (default: all cores; 1 is faster on a machine busy with other work)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add_llm_arguments(p)  # for rewriting and LLM reranking, started on the first request that needs it
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import os
    import sys

    from reasonir.optional import require
    from reasonir.serve.app import CONFIG_ENV
    from reasonir.serve.config import API_KEY_ENV, ServeConfig, check_bind
    from reasonir.retrieve.store import read_manifest

    require("uvicorn", "serve", purpose="reasonir serve")
    require("fastapi", "serve", purpose="reasonir serve")
    import uvicorn

    api_key = os.environ.get(API_KEY_ENV) or None
    limits = {"max_k": args.max_k, "max_query_chars": args.max_query_chars, "max_body_bytes": args.max_body_bytes,
              "max_batch": args.max_batch, "threads": args.threads}
    ServeConfig(host=args.host, port=args.port, workers=args.workers, api_key=api_key, **limits)  # checks values
    check_bind(args.host, api_key)
    read_manifest(args.index)  # a wrong folder fails here (exit 2), not in a worker
    llm_args = {k: v for k, v in vars(args).items() if k.startswith("llm_")}
    os.environ[CONFIG_ENV] = json.dumps({"index": os.path.abspath(args.index), "model": args.model,
                                         "encoder_backend": args.encoder_backend,
                                         "config": limits, "llm_args": llm_args})
    auth = f"API key required ({API_KEY_ENV})" if api_key else "no API key: loopback only"
    print(f"serving {args.index} on http://{args.host}:{args.port} ({auth}; {args.workers} worker(s))",
          file=sys.stderr)
    uvicorn.run("reasonir.serve.app:app_from_environ", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level,
                # uvicorn closes a keep-alive connection idle 5 s; a client that sends on it at that moment gets a
                # dropped connection instead of an answer (pooled clients under bursty load). 75 s: nginx's default
                timeout_keep_alive=75)
    return 0
