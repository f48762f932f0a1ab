"""Does capping the instruction set to AVX2 on this CPU reach the kernels the openvino engine runs? Checked here.

``benchmarks/isa_cap/run_avx2.sh`` emulates an AVX2-only CPU on an AVX-512/AMX one (see there). This script runs
one child process per setting:

* ``none``: as the machine is;
* ``env``: only ``ONEDNN_MAX_CPU_ISA=AVX2`` and ``OV_CPU_MAX_ISA=AVX2`` (OpenVINO's own caps);
* ``run_avx2.sh``: those plus CPUID answered without AVX-512/AMX/bf16/VNNI (``avx2cpu.so``) and glibc's tunables.

Each child reports:

1. what OpenVINO's dispatch asks (``ov::with_cpu_x86_avx512f`` and the like, called through ctypes): the
   plugin's own kernels (paged attention, softmax) are compiled per ISA and chosen by these answers;
2. the runtime graph of the engine's model: OpenVINO GenAI compiles the F16 GGUF (``f16_copy``) in f32 with the
   ``CACHE_DIR`` set (SDPA attention: a compiled paged-attention model cannot be imported back), the compiled model
   is imported, run once on 24 tokens (dynamic nodes pick their implementation then) and every node's
   ``layerType / primitiveType / runtimePrecision`` is counted (``jit_avx512_f32``, ``brgemm_avx2_f32``,
   ``gemm_mlas_f32``, ...);
3. PyTorch's CPU capability (the synthesis job's encoder shares the engine's process);
4. MLAS, which names no ISA in its primitive type (``gemm_mlas_f32``) and reads CPUID itself: the best time of a
   256x576 @ 576x1536 f32 FullyConnected on one thread, as GFLOP/s (AVX-512 kernels about twice AVX2's).

    .venv/bin/python benchmarks/bench_isa_cap.py

Writes benchmarks/results/isa_cap_avx2.json.
"""
from __future__ import annotations

import collections
import ctypes
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, write_results  # benchmarks/ is the script's folder

HERE = Path(__file__).resolve().parent
RESULTS = RESULTS_DIR / "isa_cap_avx2.json"
WRAPPER = HERE / "isa_cap" / "run_avx2.sh"
PROBES = ("avx2", "avx512f", "avx512_core", "avx512_core_vnni", "bfloat16", "avx512_core_amx_bf16")
SETTINGS = {"none": [], "env": ["env", "ONEDNN_MAX_CPU_ISA=AVX2", "OV_CPU_MAX_ISA=AVX2"], "run_avx2.sh": [str(WRAPPER)]}


def dispatch_answers() -> dict[str, bool]:
    """``ov::with_cpu_x86_<isa>()`` as libopenvino answers it in this process."""
    import openvino

    libs = Path(openvino.__file__).parent / "libs"
    lib = ctypes.CDLL(str(next(libs.glob("libopenvino.so.*"))))
    out = {}
    for isa in PROBES:
        name = f"with_cpu_x86_{isa}"
        fn = getattr(lib, f"_ZN2ov{len(name)}{name}Ev")
        fn.restype = ctypes.c_bool
        out[isa] = bool(fn())
    return out


def runtime_graph() -> dict[str, int]:
    """The engine's model compiled by OpenVINO GenAI in f32, run once: node counts by implementation."""
    import numpy as np
    import openvino
    import openvino_genai

    from reasonir.llm.embedded import default_model_path
    from reasonir.llm.openvino_engine import f16_copy

    with tempfile.TemporaryDirectory() as cache:
        openvino_genai.LLMPipeline(str(f16_copy(default_model_path())), "CPU",
                                   {"INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": cache, "ATTENTION_BACKEND": "SDPA"})
        data = next(Path(cache).glob("*.blob")).read_bytes()
    body = data.index(b"/>") + 3  # the cache's XML header and its newline, then the plugin's export stream
    compiled = openvino.Core().import_model(io.BytesIO(data[body:]), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    n = 24
    feed = {"input_ids": np.arange(100, 100 + n, dtype=np.int64)[None], "attention_mask": np.ones((1, n), np.int64),
            "position_ids": np.arange(n, dtype=np.int64)[None], "beam_idx": np.zeros(1, np.int32)}
    compiled.create_infer_request().infer(feed)
    counts: collections.Counter[str] = collections.Counter()
    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        kind = rt["layerType"].astype(str)
        if kind not in ("Const", "Input", "Output", "Reshape", "MemoryInput", "MemoryOutput", "ShapeOf"):
            counts[f"{kind} / {rt['primitiveType'].astype(str)} / {rt['runtimePrecision'].astype(str)}"] += 1
    return dict(sorted(counts.items()))


def mlas_gflops(repeats: int = 200) -> dict[str, object]:
    """A dynamic-batch f32 FullyConnected (OpenVINO gives it to MLAS) on one thread: its implementation, best time."""
    import numpy as np
    import openvino
    import openvino.opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([-1, 576], openvino.Type.f32, name="x")
    w = ops.constant(rng.random((1536, 576), dtype=np.float32))
    model = openvino.Model([ops.matmul(x, w, False, True)], [x])
    compiled = openvino.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32",
                                                            "INFERENCE_NUM_THREADS": 1})
    request, a = compiled.create_infer_request(), rng.random((256, 576), dtype=np.float32)
    request.infer({"x": a})
    kinds = sorted({op.get_rt_info()["primitiveType"].astype(str)
                    for op in compiled.get_runtime_model().get_ordered_ops()
                    if op.get_rt_info()["layerType"].astype(str) == "FullyConnected"})
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        request.infer({"x": a})
        best = min(best, time.perf_counter() - start)
    return {"fully_connected": kinds, "best_ms": round(best * 1e3, 3),
            "gflops": round(2 * 256 * 576 * 1536 / best / 1e9, 1)}


def child() -> None:
    import torch  # the synthesis job's encoder (the ranker) runs in the same process as the engine

    print(json.dumps({"dispatch": dispatch_answers(), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
                      "runtime_graph": runtime_graph(), "mlas": mlas_gflops()}))


def main() -> None:
    if sys.argv[1:] == ["--child"]:
        child()
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent / "src"),
                                                                      os.environ.get("PYTHONPATH")]))}
    settings = {}
    for rnd in range(2):  # twice, to see how far the MLAS timing moves between runs
        for name, prefix in SETTINGS.items():
            load = os.getloadavg()[0]
            done = subprocess.run([*prefix, sys.executable, __file__, "--child"], env=env, check=True,
                                  capture_output=True, text=True)
            report = json.loads(done.stdout.strip().splitlines()[-1])
            report["loadavg_1m_before_after"] = [round(load, 2), round(os.getloadavg()[0], 2)]
            if rnd == 0:
                settings[name] = report
            else:
                settings[name]["mlas_again"] = report["mlas"]
            print(name, json.dumps(report["dispatch"]), report["torch_cpu_capability"], report["mlas"], flush=True)
    from reasonir.hardware import describe

    write_results(RESULTS, {"benchmark": "isa_cap_avx2", "command": "python benchmarks/bench_isa_cap.py",
                            "cpu": describe(), "settings": {k: " ".join(v) or "(none)" for k, v in SETTINGS.items()},
                            "results": settings})


if __name__ == "__main__":
    main()
