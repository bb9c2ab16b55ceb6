#!/usr/bin/env python3
"""Cost of nnspy per intercepted call, on the simulated device, as ratios.

Runs `threads 1 N` (N iterations of one cublasSgemm + one cudnnConvolutionForward)
without nnspy; with nnspy counting only (no GPU timing, no trace, NNSPY_MAX_OPS=0:
the steady state of a long run); counting plus GPU timing with events; counting plus
the trace file; and counting with every call listed, each REPEAT times, alternating. It reports the best time of each, the
extra nanoseconds per call, and the cost of timing as a ratio to counting alone.
The simulated kernels do no math, so the baseline is the cost of the call itself.

    python3 bench/overhead.py [N] [REPEAT]
"""
import os
import subprocess
import tempfile
import sys
import time

B = os.environ.get("B", "build")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 5
PROG = [f"{B}/tests/threads", "1", str(N)]
CALLS = 2 * N


def run(extra):
    env = dict(os.environ, LD_LIBRARY_PATH=f"{B}/sim", NNSPY_REPORT="none", **extra)
    env.pop("NNSPY_JSON", None)
    t0 = time.perf_counter()
    subprocess.run(PROG, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    lib = os.path.abspath(f"{B}/libnnspy.so")
    scratch = tempfile.mkdtemp(prefix="nnspy-bench-")
    counting = {"LD_PRELOAD": lib, "NNSPY_MAX_OPS": "0", "NNSPY_TIMING": "off",
                "NNSPY_OUTPUT": "off"}
    modes = {
        "without nnspy": {},
        "counting only": counting,
        "counting + GPU timing": dict(counting, NNSPY_TIMING="events"),
        "counting + trace file": dict(counting, NNSPY_OUTPUT=os.path.join(scratch, "%p.nns")),
        "counting, every call listed": dict(counting, NNSPY_MAX_OPS=str(CALLS)),
    }
    best = {m: float("inf") for m in modes}
    for _ in range(REPEAT):
        for m, extra in modes.items():
            best[m] = min(best[m], run(extra))
            for f in os.listdir(scratch):
                os.unlink(os.path.join(scratch, f))
    os.rmdir(scratch)
    base = best["without nnspy"]
    print(f"{CALLS:,} calls, best of {REPEAT} runs each")
    for m, t in best.items():
        extra_ns = (t - base) / CALLS * 1e9
        print(f"  {m:28s} {t:7.3f} s   x{t / base:5.2f}   {extra_ns:+7.0f} ns per call")
    count_ns = (best["counting only"] - base) / CALLS * 1e9
    timing_ns = (best["counting + GPU timing"] - base) / CALLS * 1e9
    if count_ns > 0:
        print(f"GPU timing costs {timing_ns - count_ns:.0f} ns per call more than counting "
              f"alone: x{timing_ns / count_ns:.2f} nnspy's own cost")


if __name__ == "__main__":
    main()
