"""Counting tokens without a tokenizer: each rule of thumb once, with the way it errs on purpose.

BPE tokenizers average about 4 characters, or 0.75 English words, a token (OpenAI's rule of thumb). Where an
estimate guards a limit, it errs to the safe side of that limit:

- ``CHARS_PER_TOKEN_HIGH`` (5): too few tokens. The client's preflight check refuses only a prompt that certainly
  overflows the window (the server's own ``context_length_exceeded`` answer catches the rest).
- ``CHARS_PER_TOKEN_LOW`` (3): too many tokens, as scientific text tokenizes at 3-4 characters a token. Room left for
  an answer (synthesis) or for retrieved documents (RAG) is never over-estimated.
- ``TOKENS_PER_WORD_HIGH`` (1.6): the same margin in words, for sizing a document in a prompt.
- ``TOKENS_PER_WORD`` (1.4): SmolLM2/Llama BPE, about 1.3-1.4 tokens an English word: the budget per target word of
  a long (VL) query.
- ``WORDS_PER_TOKEN`` (0.75): OpenAI's rule, to tell a model how many words a budget of tokens is.

Example (a 300-character prompt):
    >>> int(300 / CHARS_PER_TOKEN_LOW), int(300 / CHARS_PER_TOKEN_HIGH)
    (100, 60)
"""
from __future__ import annotations

CHARS_PER_TOKEN_HIGH = 5.0
CHARS_PER_TOKEN_LOW = 3.0
TOKENS_PER_WORD_HIGH = 1.6
TOKENS_PER_WORD = 1.4
WORDS_PER_TOKEN = 0.75

