/* avx2cpu.so: make this process (and, through LD_PRELOAD in the environment, its children) see an AVX2-only x86 CPU.
 *
 * Linux's CPUID faulting (arch_prctl(ARCH_SET_CPUID, 0); /proc/cpuinfo flag cpuid_fault) makes every CPUID
 * instruction of the process raise SIGSEGV; the handler below runs the real CPUID and returns its answer with the
 * AVX-512, AMX, AVX512-BF16/FP16, AVX-VNNI and AVX10 bits cleared. Every library that picks its kernels from CPUID at
 * run time (oneDNN, MLAS, OpenVINO's Xbyak checks, PyTorch's cpuinfo, ggml's feature report) then takes its AVX2
 * path. Same cores, caches and memory: only the instruction set is capped. glibc's own string functions are chosen
 * before this runs: cap them with GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,... (see run_avx2.sh).
 * The setting is per thread and inherited by threads created later; execve resets it (the child's copy of this
 * library sets it again). Other SIGSEGV handlers installed later are chained behind this one. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <dlfcn.h>

static atomic_ulong traps;
static struct sigaction next_handler;  /* what the program asked for SIGSEGV; called for faults that are not CPUID */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static long set_cpuid(int enabled) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled); }

static void cpuid_raw(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

#define BIT(n) (1u << (n))
static void mask(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    if (leaf == 7 && sub == 0) {
        /* AVX512 F DQ IFMA PF ER CD BW VL */
        r[1] &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31));
        /* AVX512 VBMI VBMI2 VNNI BITALG VPOPCNTDQ */
        r[2] &= ~(BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14));
        /* AVX512 4VNNIW 4FMAPS VP2INTERSECT, AMX-BF16, AVX512-FP16, AMX-TILE, AMX-INT8 */
        r[3] &= ~(BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25));
    } else if (leaf == 7 && sub == 1) {
        r[0] &= ~(BIT(4) | BIT(5) | BIT(21) | BIT(23));                  /* AVX-VNNI AVX512-BF16 AMX-FP16 AVX-IFMA */
        /* AVX-VNNI-INT8 AVX-NE-CONVERT AMX-COMPLEX AVX-VNNI-INT16 AVX10 */
        r[3] &= ~(BIT(4) | BIT(5) | BIT(8) | BIT(10) | BIT(19));
    } else if (leaf == 0xd && sub == 0) {
        r[0] &= ~(BIT(5) | BIT(6) | BIT(7) | BIT(17) | BIT(18));         /* opmask, ZMM and AMX tile state */
    } else if (leaf == 0x1d || leaf == 0x1e || leaf == 0x24) {           /* AMX tile and AVX10 leaves */
        r[0] = r[1] = r[2] = r[3] = 0;
    }
}

static void on_segv(int sig, siginfo_t *info, void *vctx) {
    ucontext_t *ctx = vctx;
    greg_t *g = ctx->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)g[REG_RIP];
    if (ip && ip[0] == 0x0f && ip[1] == 0xa2) {
        uint32_t r[4], leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
        set_cpuid(1);
        cpuid_raw(leaf, sub, r);
        set_cpuid(0);
        mask(leaf, sub, r);
        g[REG_RAX] = r[0]; g[REG_RBX] = r[1]; g[REG_RCX] = r[2]; g[REG_RDX] = r[3];
        g[REG_RIP] += 2;
        atomic_fetch_add_explicit(&traps, 1, memory_order_relaxed);
        return;
    }
    if ((next_handler.sa_flags & SA_SIGINFO) && next_handler.sa_sigaction) {
        next_handler.sa_sigaction(sig, info, vctx);
    } else if (next_handler.sa_handler != SIG_DFL && next_handler.sa_handler != SIG_IGN) {
        next_handler.sa_handler(sig);
    } else {  /* default: crash as the program would have */
        struct sigaction dfl = {0};
        dfl.sa_handler = SIG_DFL;
        real_sigaction(SIGSEGV, &dfl, NULL);
    }
}

/* keep on_segv first: a later sigaction(SIGSEGV, ...) (Python's faulthandler, for one) becomes the next handler */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    if (!real_sigaction) real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    if (sig != SIGSEGV) return real_sigaction(sig, act, old);
    if (old) *old = next_handler;
    if (act) next_handler = *act;
    return 0;
}

__attribute__((constructor)) static void start(void) {
    real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    struct sigaction sa = {0};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    next_handler.sa_handler = SIG_DFL;
    if (real_sigaction(SIGSEGV, &sa, NULL) != 0 || set_cpuid(0) != 0) {
        fprintf(stderr, "avx2cpu: CPUID faulting is not available here (needs the cpuid_fault CPU flag); refusing to "
                        "run uncapped\n");
        _exit(97);
    }
}

__attribute__((destructor)) static void stop(void) {
    const char *report = getenv("AVX2CPU_REPORT");
    if (report && *report) fprintf(stderr, "avx2cpu[%d]: %lu CPUID instructions answered as an AVX2-only CPU\n",
                                   (int)getpid(), (unsigned long)atomic_load(&traps));
}
