"""``auto``'s kept verdict for the embedded LLM engine: where it lives, what makes it stale, and the rule that
turns a probe's rates into it (:mod:`reasonir.llm.engine_probe` measures them; :mod:`reasonir.llm.engines` reads
the verdict, so this module imports neither).

    >>> pick({"llama-server": 2.0, "ct2": 5.0})
    ('ct2', 'ct2 made 2.50x the candidates/s of llama-server (5.00 vs 2.00) in the probe')
    >>> pick({"llama-server": 2.0, "ct2": 2.2})[0]
    'llama-server'
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from reasonir.hardware import cpu_signature
from reasonir.paths import cache_root

INCUMBENT = "llama-server"
MIN_SPEEDUP = 1.25  # a challenger must beat the incumbent by this much: the probe's noise on a shared machine
PROBE_FORMAT = 2  # what _requests sends; a change makes earlier verdicts stale


@dataclass(frozen=True)
class Verdict:
    engine: str
    reason: str
    rates: dict[str, float]  # candidates per second, best pass per engine
    date: str
    key: str


def verdict_key() -> str:
    """What the verdict depends on: this CPU, the llama-server build, the ctranslate2, transformers and
    openvino-genai versions."""
    from importlib.metadata import PackageNotFoundError, version

    from reasonir.llm.native import BuildStamp, find_llama_server

    parts = [cpu_signature(), f"probe {PROBE_FORMAT}"]
    server = find_llama_server()
    stamp = BuildStamp.read(server) if server is not None else None
    parts.append(json.dumps(asdict(stamp), sort_keys=True, default=str) if stamp is not None else str(server))
    for name in ("ctranslate2", "transformers", "openvino-genai"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} missing")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def verdict_path(key: str | None = None) -> Path:
    return cache_root() / "llm" / f"engine-auto-{key or verdict_key()}.json"


def read_verdict(path: Path | None = None) -> Verdict | None:
    """The kept verdict for this machine and these builds, or None (never probed, or stale)."""
    path = path or verdict_path()
    try:
        return Verdict(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def pick(rates: dict[str, float], min_speedup: float = MIN_SPEEDUP) -> tuple[str, str]:
    """The engine ``auto`` should use given each engine's candidates per second, and why."""
    if not rates:
        raise ValueError("no engine was measured")
    if INCUMBENT not in rates:
        best = max(rates, key=rates.__getitem__)
        return best, f"{best} is the fastest engine present ({INCUMBENT} is not built)"
    base = rates[INCUMBENT]
    best = max((e for e in rates if e != INCUMBENT), key=rates.__getitem__, default=None)
    if best is None:
        return INCUMBENT, f"{INCUMBENT} is the only engine present"
    ratio = rates[best] / base if base else float("inf")
    what = f"{ratio:.2f}x the candidates/s of {INCUMBENT} ({rates[best]:.2f} vs {base:.2f}) in the probe"
    if ratio >= min_speedup:
        return best, f"{best} made {what}"
    return INCUMBENT, f"{best} made only {what}; a challenger needs {min_speedup}x"
