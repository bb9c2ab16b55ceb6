#!/usr/bin/env python3
"""Cost of call-site attribution per intercepted call, as a ratio to counting alone.

Two programs on the simulated device, each run in four modes, REPEAT times, the
modes alternating (so that a slow moment of the machine hits them alike); the best
time of each is kept:

- without nnspy;
- counting alone (no GPU timing, no trace, NNSPY_MAX_OPS=0: sites are taken only for
  a trace, so none here);
- counting + the trace file, attribution off (NNSPY_SITES=off);
- counting + the trace file with attribution (the default).

Attribution's cost per call is the difference of the last two; it is given as a
ratio to counting alone's cost per call. The programs:

- native: `threads 1 N` (N iterations of one cublasSgemm + one
  cudnnConvolutionForward, from C): the site is found by the return address;
- python: a loop of N cublasSgemm_v2 calls through ctypes.PyDLL (the GIL held):
  each call also reads the innermost Python frame and its line.

    python3 bench/attribution.py [N] [REPEAT]
"""
import os
import subprocess
import sys
import tempfile
import time

B = os.environ.get("B", "build")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 5

PY_LOOP = """
import ctypes, os, sys
sim, n = sys.argv[1], int(sys.argv[2])
rt = ctypes.PyDLL(os.path.join(sim, "libcudart.so.13"))
blas = ctypes.PyDLL(os.path.join(sim, "libcublas.so.13"))
h, a, b, c = (ctypes.c_void_p() for _ in range(4))
for p in (a, b, c):
    rt.cudaMalloc(ctypes.byref(p), ctypes.c_size_t(4 * 64))
blas.cublasCreate_v2(ctypes.byref(h))
one, zero = ctypes.byref(ctypes.c_float(1)), ctypes.byref(ctypes.c_float(0))
gemm = blas.cublasSgemm_v2
for _ in range(n):
    gemm(h, 0, 0, 8, 8, 8, one, a, 8, b, 8, zero, c, 8)
"""

PROGRAMS = {
    "native": ([f"{B}/tests/threads", "1", str(N)], 2 * N),
    "python": ([sys.executable, "-c", PY_LOOP, os.path.abspath(f"{B}/sim"), str(N)], N),
}


def run(argv, extra):
    env = dict(os.environ, LD_LIBRARY_PATH=f"{B}/sim", NNSPY_REPORT="none", **extra)
    env.pop("NNSPY_JSON", None)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    scratch = tempfile.mkdtemp(prefix="nnspy-bench-")
    counting = {"LD_PRELOAD": os.path.abspath(f"{B}/libnnspy.so"), "NNSPY_MAX_OPS": "0",
                "NNSPY_TIMING": "off", "NNSPY_OUTPUT": "off"}
    traced = dict(counting, NNSPY_OUTPUT=os.path.join(scratch, "%p.nns"))
    modes = {"without nnspy": {}, "counting alone": counting,
             "trace, sites off": dict(traced, NNSPY_SITES="off"), "trace + sites": traced}
    for name, (argv, calls) in PROGRAMS.items():
        best = {m: float("inf") for m in modes}
        for _ in range(REPEAT):
            for m, extra in modes.items():
                best[m] = min(best[m], run(argv, extra))
                for f in os.listdir(scratch):
                    os.unlink(os.path.join(scratch, f))
        base = best["without nnspy"]
        print(f"{name}: {calls:,} calls, best of {REPEAT} runs each")
        for m, t in best.items():
            print(f"  {m:18s} {t:7.3f} s   {(t - base) / calls * 1e9:+7.0f} ns per call")
        count_ns = (best["counting alone"] - base) / calls * 1e9
        sites_ns = (best["trace + sites"] - best["trace, sites off"]) / calls * 1e9
        if count_ns > 0:
            print(f"  attribution: {sites_ns:+.0f} ns per call, x{sites_ns / count_ns:.2f} "
                  f"the cost of counting alone")
    os.rmdir(scratch)


if __name__ == "__main__":
    main()
