"""The slot router alone (no server): where requests go by prompt prefix and load."""
from __future__ import annotations

import pytest

from reasonir.llm.slots import SlotRouter

TEMPLATE = "system: write a question. " + "few-shot example. " * 40  # a long few-shot part every prompt shares
PROMPT_A = TEMPLATE + "passage A: tides follow the moon. " * 10
PROMPT_B = TEMPLATE + "passage B: glass is an amorphous solid. " * 10


def test_candidates_of_one_prompt_share_a_slot_and_a_new_prompt_takes_an_idle_one() -> None:
    router = SlotRouter(4)
    a = [router.acquire(PROMPT_A) for _ in range(4)]  # k candidates sent at once
    b = router.acquire(PROMPT_B)  # shares more than half its text with slot a (the template), yet a is busy
    assert len(set(a)) == 1 and b != a[0]
    assert sorted(router.loads()) == [0, 0, 1, 4]


def test_a_later_turn_of_the_same_conversation_follows_its_prefix() -> None:
    router = SlotRouter(4)
    first = router.acquire(PROMPT_A)
    router.acquire(PROMPT_B)
    router.release(first)
    assert router.acquire(PROMPT_A + " answer: why? Now write a harder one.") == first


def test_a_full_queue_spills_to_another_slot() -> None:
    router = SlotRouter(2, max_queue=2)
    first = [router.acquire(PROMPT_A) for _ in range(2)]
    assert router.acquire(PROMPT_A) != first[0]


def test_release_frees_the_slot_and_bad_sizes_are_refused() -> None:
    router = SlotRouter(1)
    slot = router.acquire(PROMPT_A)
    router.release(slot)
    router.release(slot)  # a double release never goes negative
    assert router.loads() == [0]
    with pytest.raises(ValueError):
        SlotRouter(0)
