#!/bin/sh
# Run a command as on an AVX2-only x86 CPU, on this one (an emulation: same cores, caches and memory, only the
# instruction set capped). Three layers, each for what picks kernels at run time:
#   avx2cpu.so (LD_PRELOAD, see avx2cpu.c): every CPUID the process and its children run is answered without
#     AVX-512, AMX, AVX512-BF16/FP16, AVX-VNNI or AVX10 (oneDNN, MLAS, OpenVINO's own checks, PyTorch, ggml);
#   GLIBC_TUNABLES: glibc's string functions, chosen before avx2cpu.so is loaded, without their AVX-512 variants;
#   ONEDNN_MAX_CPU_ISA / OV_CPU_MAX_ISA: oneDNN's and OpenVINO's own caps (OpenVINO wants both set alike).
# Needs a C compiler and CPUID faulting (the cpuid_fault flag in /proc/cpuinfo); refuses to run without it.
#   benchmarks/isa_cap/run_avx2.sh .venv/bin/python benchmarks/bench_llm_engines.py ...
here=$(cd "$(dirname "$0")" && pwd)
lib="${TMPDIR:-/tmp}/reasonir-avx2cpu-$(id -u).so"
if [ ! -f "$lib" ] || [ "$here/avx2cpu.c" -nt "$lib" ]; then
    cc -O2 -shared -fPIC -o "$lib.partial" "$here/avx2cpu.c" -ldl && mv "$lib.partial" "$lib" || exit 1
fi
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
export GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL,-AVX512ER,-AVX512PF,-AVX_VNNI,-AMX_BF16,-AMX_TILE,-AMX_INT8"
export ONEDNN_MAX_CPU_ISA=AVX2 OV_CPU_MAX_ISA=AVX2
exec "$@"
