"""Index kinds, in one place: the name a manifest's ``kind`` holds -> the class whose ``load`` reads that folder.

Built-in kinds are listed here as import paths and imported only when a folder of that kind is loaded, so
:mod:`reasonir.retrieve.store` needs none of the retrievers (they all import store; the old direct imports made
a cycle). Another package adds a kind with :func:`register`.

Example:
    >>> sorted(kinds())[:3]
    ['bm25', 'dense', 'hybrid']
    >>> loader("bm25").__name__
    'BM25Retriever'
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexKind:
    """Where a kind's class lives (``"module:Class"``) and whether its ``load`` takes encoder options."""

    target: str
    takes_options: bool = True  # False: load(folder) alone; options meant for dense parts are not passed


_KINDS: dict[str, IndexKind] = {
    "bm25": IndexKind("reasonir.retrieve.bm25:BM25Retriever", takes_options=False),
    "dense": IndexKind("reasonir.retrieve.dense:DenseRetriever"),
    "hybrid": IndexKind("reasonir.retrieve.hybrid:HybridRetriever"),
    "shards": IndexKind("reasonir.retrieve.shards:ShardedDenseRetriever"),
}


def register(kind: str, target: str | type, *, takes_options: bool = True) -> None:
    """Make ``load_index`` read folders whose manifest says ``kind`` with ``target.load(folder, **options)``."""
    if not isinstance(target, str):
        target = f"{target.__module__}:{target.__qualname__}"
    _KINDS[kind] = IndexKind(target, takes_options)


def kinds() -> dict[str, IndexKind]:
    """Every registered kind (a copy)."""
    return dict(_KINDS)


def loader(kind: str) -> Any:
    """The class registered for ``kind`` (imported now); KeyError for an unknown kind."""
    module, _, name = _KINDS[kind].target.partition(":")
    return getattr(importlib.import_module(module), name)


def load(kind: str, folder: Any, **options: Any) -> Any:
    """Load ``folder`` as ``kind``; ``options`` reach only kinds that take them."""
    return loader(kind).load(folder, **(options if _KINDS[kind].takes_options else {}))
