"""What this CPU can do, read once: its model name, its feature flags, and what reasonir derives from them.

Machines of one kind differ (AVX2 only on one, AVX-512 with AVX512-BF16, VNNI and AMX on the next), so code that
compiles for "native" or picks kernels by CPU flags asks here. Everything reads ``/proc/cpuinfo``; where it is
unreadable (not Linux) the flags are empty and every answer is the conservative one.

    >>> bf16_supported(frozenset({"avx2", "fma"}))
    False
    >>> bf16_supported(frozenset({"avx512f", "avx512_bf16"}))
    True
    >>> int8_dot_supported(frozenset({"avx512_vnni"}))
    True
    >>> len(cpu_signature(frozenset({"avx2"})))
    12
"""
from __future__ import annotations

import hashlib
import platform
import re
from functools import lru_cache
from pathlib import Path

# The flags that decide which kernels run fast here (and which compiled code may run at all)
KERNEL_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16",
                "amx_tile", "amx_int8", "amx_bf16", "neon", "asimd", "bf16", "i8mm")


@lru_cache(maxsize=1)
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of the first core (``/proc/cpuinfo`` flags or Features); empty where unreadable."""
    match = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", _cpuinfo(), re.MULTILINE)
    return frozenset(match.group(1).split()) if match else frozenset()


def cpu_model() -> str:
    """The CPU's model name (``Intel(R) Xeon(R) Processor``), or the machine architecture where unreadable."""
    match = re.search(r"^model name\s*:\s*(.*)$", _cpuinfo(), re.MULTILINE)
    return match.group(1).strip() if match else platform.machine() or "unknown"


def kernel_flags(flags: frozenset[str] | None = None) -> list[str]:
    """The flags of :data:`KERNEL_FLAGS` this CPU has, in that order (what result files record)."""
    flags = cpu_flags() if flags is None else flags
    return [f for f in KERNEL_FLAGS if f in flags]


def bf16_supported(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU computes in bf16 natively (x86 AVX512-BF16 or AMX-BF16, Arm BF16); elsewhere bf16 is
    emulated and slower than fp32."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def int8_dot_supported(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU has an int8 dot-product instruction (VNNI, AMX-INT8, Arm dot product / i8mm)."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"})


def cpu_signature(flags: frozenset[str] | None = None) -> str:
    """A short hash of the machine architecture and its full flag set: code compiled for "native" on one CPU is
    cached under this, so a home folder shared by two machines never runs a binary built for the other."""
    flags = cpu_flags() if flags is None else flags
    text = platform.machine() + "\0" + " ".join(sorted(flags))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def describe() -> dict[str, object]:
    """The CPU as a result file records it: model, machine, core count and the flags that choose kernels."""
    import os

    return {"model": cpu_model(), "machine": platform.machine(), "cores": os.cpu_count(),
            "kernel_flags": kernel_flags(), "bf16": bf16_supported(), "int8_dot": int8_dot_supported()}
