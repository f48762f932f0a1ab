"""Scale-out on Ray (``--backend ray``): corpus encoding as a Ray Data pipeline that writes dense shards, and an LLM
whose requests are answered by Ray actors, each holding its own client or engine. Ray is the optional extra
``reasonir[ray]``; the local backend stays the default and nothing here is imported unless asked for.

- :func:`reasonir.scale.encode.encode_to_shards`: corpus -> a ``shards`` index (``reasonir.retrieve.shards``),
  resumable shard by shard; what ``reasonir index --retriever dense --backend ray`` runs.
- :class:`reasonir.scale.llm_pool.RayLLMPool`: an ``LLM`` for ``reasonir.synth.synthesize`` (or any LLM step);
  what ``reasonir synthesize --backend ray`` runs.
- :func:`reasonir.scale.cluster.ray_session`: connect to a cluster, or start a local one and stop it afterwards.
"""
from __future__ import annotations
