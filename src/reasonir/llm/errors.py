"""Errors of the LLM layer.

Two kinds, on purpose:

* ``LLMConfigError`` (exit code 3): the job cannot work at all (an unreachable URL, an unknown model, a missing or
  rejected key, a prompt longer than the context window, a missing optional package). It is raised at once, before
  any work, with one line that says what to change.
* A failure of one request (retries exhausted, invalid JSON) is *not* raised: it is written to
  ``ChatResult.error`` and counted in the usage report, so a batch of ten thousand requests goes on.
"""
from __future__ import annotations

EXIT_CONFIG = 3  # the CLI's "misconfiguration" exit code (see reasonir.cli)


class LLMConfigError(RuntimeError):
    """The LLM configuration cannot work; ``str(exc)`` is one line that says what to change."""

    exit_code = EXIT_CONFIG


class EndpointUnreachableError(LLMConfigError):
    """Nothing answers at the configured base URL."""


class UnknownModelError(LLMConfigError):
    """The endpoint does not serve the configured model."""


class MissingKeyError(LLMConfigError):
    """A non-local endpoint needs an API key and none was found (or it was rejected)."""


class ContextWindowError(LLMConfigError):
    """A prompt (plus the completion budget) does not fit the model's context window."""


class MissingDependencyError(LLMConfigError):
    """An optional backend package is not installed; the message carries the install command."""


class RetriesExhaustedError(RuntimeError):
    """One request failed after every retry; recorded in ``ChatResult.error`` by the client, never raised out of it."""

    def __init__(self, attempts: int, cause: str, last: str) -> None:
        super().__init__(f"gave up after {attempts} attempts (last failure: {cause}: {last})")
        self.attempts, self.cause, self.last = attempts, cause, last


class EngineCrashedError(EndpointUnreachableError):
    """The embedded engine's process died (a signal such as SIGSEGV or SIGILL), at start or at its first decode:
    a build that does not suit this CPU, not an endpoint to retry. ``what`` says how it died."""

    def __init__(self, what: str, hint: str, log_tail: str = "") -> None:
        super().__init__(f"{what}; {hint}" + (f" (log: {log_tail})" if log_tail else ""))
        self.what = what
