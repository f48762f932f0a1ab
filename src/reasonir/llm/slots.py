"""Which ``llama-server`` slot a request goes to, so that requests sharing a prompt share its evaluation.

``llama-server --parallel N`` decodes N sequences ("slots") in one batch and keeps each slot's last prompt in its
KV cache (``cache_prompt``): a request whose prompt starts like the slot's previous one evaluates only the new
tail. The server picks a slot by prompt similarity only among *idle* slots, so k candidates sent at once with the
same prompt would land on k slots and evaluate the prompt k times. On a CPU the prompt dominates (a 450-token
prompt against a 50-token answer), so the client pins each request to a slot (``id_slot``):

1. a slot whose last prompt covers at least ``reuse_share`` of this one (the same prompt, or an earlier turn of
   the same conversation) takes it, unless ``max_queue`` requests already wait there;
2. otherwise the least loaded slot takes it (ties: the longest shared prefix, then the least recently used), so a
   prompt that only shares a few-shot template with a busy slot goes to an idle one.

The server queues a request whose slot is busy and runs it as soon as that slot frees. While as many prompts are
in flight as there are slots, every slot stays busy and each prompt is evaluated about once.

    >>> router = SlotRouter(2)
    >>> a = router.acquire("doc A: a long shared prompt ...")
    >>> router.acquire("doc A: a long shared prompt ...") == a    # same prompt, same slot, though busy
    True
    >>> router.acquire("doc B: another prompt") != a               # a new prompt goes to the idle slot
    True
"""
from __future__ import annotations

import os
import threading
import time

REUSE_SHARE = 0.75  # a follow-up turn (previous prompt + a ~60-token answer + a new instruction) shares ~80%
MAX_QUEUE = 12  # the synthesizer's largest default k (HQ candidates): all candidates of one prompt fit behind one slot


class SlotRouter:
    """Assign requests to ``n_slots`` server slots by prompt prefix and load; thread-safe."""

    def __init__(self, n_slots: int, *, reuse_share: float = REUSE_SHARE, max_queue: int = MAX_QUEUE) -> None:
        if n_slots < 1:
            raise ValueError("n_slots must be at least 1")
        self.n_slots = n_slots
        self.reuse_share = reuse_share
        self.max_queue = max_queue
        self._prompts = [""] * n_slots
        self._load = [0] * n_slots
        self._last_used = [0.0] * n_slots
        self._lock = threading.Lock()

    def acquire(self, prompt: str) -> int:
        """The slot for ``prompt``; call ``release(slot)`` when its answer has arrived."""
        with self._lock:
            shared = [len(os.path.commonprefix([p, prompt])) for p in self._prompts]
            reusable = [i for i in range(self.n_slots)
                        if prompt and shared[i] >= self.reuse_share * len(prompt) and self._load[i] < self.max_queue]
            if reusable:
                slot = max(reusable, key=lambda i: (shared[i], -self._load[i]))
            else:
                slot = min(range(self.n_slots), key=lambda i: (self._load[i], -shared[i], self._last_used[i]))
            self._prompts[slot] = prompt
            self._load[slot] += 1
            self._last_used[slot] = time.monotonic()
            return slot

    def release(self, slot: int) -> None:
        with self._lock:
            self._load[slot] = max(0, self._load[slot] - 1)

    def loads(self) -> list[int]:
        with self._lock:
            return list(self._load)
