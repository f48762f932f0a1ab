"""``reasonir doctor``: what this machine is, what reasonir will run on it, and whether each part works.

Run it when something fails: one line per check, ``pass``, ``fail`` (with what to do) or ``info``. It reads the
CPU's flags, measures whether bf16 matrix products are fast here, says which encoder backend and which llama.cpp
build will run, encodes for about a second and decodes a few tokens with the embedded LLM.

    >>> checks = [Check("cpu", "info", "Intel Xeon"), Check("encoder", "fail", "no model")]
    >>> healthy(checks)
    False
    >>> print(checks[1].line())
    fail  encoder      no model
"""
from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Literal

from reasonir import hardware

Status = Literal["pass", "fail", "info"]


@dataclass(frozen=True)
class Check:
    """One finding: its name, pass/fail/info, and one line of detail (for a failure: what to do)."""

    name: str
    status: Status
    detail: str

    def line(self) -> str:
        return f"{self.status:<5} {self.name:<12} {self.detail}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def healthy(checks: list[Check]) -> bool:
    """True when no check failed."""
    return all(c.status != "fail" for c in checks)


def run_checks(*, encoder: bool = True, llm: bool = True) -> Iterator[Check]:
    """Every check in order, each as soon as it is done (the slow ones last)."""
    steps: list[Callable[[], Check]] = [check_cpu, check_torch, check_onnxruntime]
    if encoder:
        steps.append(check_encoder)
    if llm:
        steps += [check_llama_server, check_llm_config]
    for step in steps:
        try:
            yield step()
        except Exception as exc:  # noqa: BLE001 - a doctor reports every failure and goes on to the next check
            yield Check(step.__name__.removeprefix("check_").replace("_", "-"), "fail",
                        f"{type(exc).__name__}: {exc}")


def check_cpu() -> Check:
    flags = hardware.kernel_flags()
    units = [name for name, ok in (("bf16", hardware.bf16_supported()), ("int8-dot", hardware.int8_dot_supported()))
             if ok]
    return Check("cpu", "info", f"{hardware.cpu_model()}, {hardware.describe()['cores']} cores; kernel flags: "
                                f"{' '.join(flags) or 'none read'}; units: {', '.join(units) or 'fp32 only'}")


def check_torch() -> Check:
    import torch

    ratio = bf16_matmul_speedup()
    verdict = ("bf16 runs on the CPU's own units" if ratio >= 1.5 else
               "bf16 is emulated here: encoders and training stay fp32")
    return Check("torch", "pass", f"{torch.__version__}, {torch.get_num_threads()} threads; bf16 matmul "
                                  f"{ratio:.1f}x fp32 ({verdict})")


def bf16_matmul_speedup(size: int = 1024, seconds: float = 0.25) -> float:
    """How many times faster a bf16 matrix product runs than fp32 here (about half a second to measure)."""
    import torch

    def rate(dtype: torch.dtype) -> float:
        a = torch.randn(size, size, dtype=dtype)
        a @ a  # warm-up: oneDNN picks and JIT-compiles its kernel on first use
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ a
            count += 1
        return count / (time.perf_counter() - start)

    return rate(torch.bfloat16) / rate(torch.float32)


def check_onnxruntime() -> Check:
    try:
        version = importlib.metadata.version("onnxruntime")
    except importlib.metadata.PackageNotFoundError:
        return Check("onnxruntime", "info", "not installed: the onnx and onnx-int8 encoder backends are off "
                                            "(pip install 'reasonir[onnx]')")
    from reasonir.models.backends import quantization_preset

    return Check("onnxruntime", "info", f"{version}; int8 preset for this CPU: {quantization_preset()}")


def check_encoder() -> Check:
    from reasonir.models import DEFAULT_ENCODER, load_encoder
    from reasonir.models.auto import resolve_backend
    from reasonir.models.backends import DEFAULT_ENCODER_BACKEND

    choice = resolve_backend(DEFAULT_ENCODER_BACKEND, DEFAULT_ENCODER, announce=False)
    backend = choice.backend
    model = load_encoder(DEFAULT_ENCODER, backend=backend)
    texts = [f"A passage about subject {i}: " + "words that fill a typical abstract " * 8 for i in range(32)]
    model.encode(texts[:4])
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 1.0:
        model.encode(texts, batch_size=32)
        count += len(texts)
    rate = count / (time.perf_counter() - start)
    return Check("encoder", "pass", f"{DEFAULT_ENCODER} on backend {backend} ({DEFAULT_ENCODER_BACKEND}: "
                                    f"{choice.reason}): {rate:.0f} passages/s")


def check_llama_server() -> Check:
    from reasonir.hardware import cpu_signature
    from reasonir.llm.embedded import BUILD_NATIVE_HINT, smoke_decode
    from reasonir.llm.native import BuildStamp, find_llama_server

    binary = find_llama_server()
    if binary is None:
        from reasonir.llm.engines import llama_server_not_needed

        skipped = llama_server_not_needed()  # make install builds it only where auto runs it
        if skipped is not None:
            return Check("llama-server", "info", f"not built: {skipped}")
        return Check("llama-server", "fail", f"not built: {BUILD_NATIVE_HINT}")
    stamp = BuildStamp.read(binary)
    built = (f"{stamp.profile} build of {stamp.source}" + ("" if stamp.cpu == cpu_signature() else
                                                            ", built on another CPU: rebuild with --force")
             if stamp else "built outside reasonir")
    start = time.perf_counter()
    failure = smoke_decode(binary)
    if failure is not None:
        return Check("llama-server", "fail", f"{binary} ({built}) {failure}: reasonir llm build-server --force "
                                             "--profile portable")
    return Check("llama-server", "pass", f"{binary} ({built}); loaded SmolLM2 and decoded in "
                                         f"{time.perf_counter() - start:.1f} s")


def check_llm_config() -> Check:
    from reasonir.llm.config import LLMConfig, config_file_path

    from reasonir.llm.engines import IN_PROCESS, explain_auto, resolve_engine

    config = LLMConfig.resolve()
    if config.embedded_engine == "auto":
        engine, why = explain_auto()
        how = f"engine auto -> {engine}: {why}"
    else:
        engine, how = resolve_engine(config.embedded_engine), f"engine {config.embedded_engine}, set explicitly"
    place = " in this process" if engine in IN_PROCESS else " on loopback"
    where = config.base_url or (f"the embedded SmolLM2-135M ({engine}{place}; "
                                f"{how})")
    return Check("llm", "info", f"endpoint {where}; settings from defaults, {config_file_path()} and "
                                "REASONIR_LLM_* (reasonir llm check pings it)")
