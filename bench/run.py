#!/usr/bin/env python3
"""nnspy's cost, measured on the simulated device: `make bench`.

1. Time added per intercepted call, per configuration (CONFIGS), against the same
   driver without nnspy: each repetition runs every configuration once, in turn
   (interleaved), and the figures are medians over repetitions of the difference to
   that repetition's own baseline. The driver times only its call loop, in CPU time
   of the whole process (all threads, nnspy's trace writer included): on a shared
   machine, other programs' load disturbs it least. The same configurations also
   run under callgrind (1 thread): instructions added per call, an exact count that
   no other load disturbs (when valgrind is installed).
2. Memory and trace: the driver with nnspy's defaults (events, trace, listing) for
   1 M and 10 M calls: peak RSS of each, and trace bytes per call in steady state
   ((size at 10 M - size at 1 M) / 9 M: the header and interned strings cancel out).
3. `nnspy report` on the 10 M-call trace: records per CPU second and peak RSS, for the
   table (a line per call) and for html (totals, frames, charts: no line per call).

Every figure is a CPU timing on the simulated device, whose kernels do no math and
never sleep: what is timed is the call path itself. Targets are printed alongside.

    python3 bench/run.py [--quick]     (B=build by default)
"""
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

B = os.environ.get("B", "build")
LIB = os.path.abspath(f"{B}/libnnspy.so")
DRIVER = os.path.abspath(f"{B}/bench/driver")
NNSPY = os.path.abspath(f"{B}/nnspy")
QUICK = "--quick" in sys.argv
MIX = "conv,gemm,lt,graph"  # legacy convolution, GEMM, Lt matmul, cudnnBackendExecute
CALLS = 20_000 if QUICK else 200_000  # per thread, per run of part 1
REPEAT = 3 if QUICK else 7
LONG_RUNS = (100_000, 1_000_000) if QUICK else (1_000_000, 10_000_000)

COUNTING = {"LD_PRELOAD": LIB, "NNSPY_TIMING": "off", "NNSPY_OUTPUT": "off", "NNSPY_MAX_OPS": "0"}


# name, extra environment, target in ns added per call (None: no target), shown when.
# Call sites are taken only for a trace (their only reader): attribution's cost is
# the trace with sites (the default) against the trace without (NNSPY_SITES=off).
CONFIGS = [
    ("counting only", COUNTING, 50, True),
    ("counting + event timing", dict(COUNTING, NNSPY_TIMING="events"), 1000, True),
    ("counting + trace", dict(COUNTING, NNSPY_OUTPUT="TRACE", NNSPY_SITES="off"), None, True),
    ("counting + trace + attribution", dict(COUNTING, NNSPY_OUTPUT="TRACE"), None, True),
    ("timing + trace + attribution (the defaults)",
     dict(COUNTING, NNSPY_TIMING="events", NNSPY_OUTPUT="TRACE"), None, True),
]


def run(argv, extra, scratch):
    """Runs argv in scratch with the simulated device; returns its stdout."""
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.abspath(f"{B}/sim"), NNSPY_REPORT="none")
    for k in ("NNSPY_JSON", "NNSPY_OUTPUT", "LD_PRELOAD", "NNSPY_SITES"):
        env.pop(k, None)
    env.update({k: (os.path.join(scratch, "run.nns") if v == "TRACE" else v)
                for k, v in extra.items()})
    p = subprocess.run(argv, env=env, capture_output=True, cwd=scratch)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed ({p.returncode}): {p.stderr.decode()[-500:]}")
    return p.stdout.decode()


def driver(threads, calls, extra, scratch):
    out = run([DRIVER, MIX, str(threads), str(calls)], extra, scratch)
    clear(scratch)
    return float(out.split()[2])  # CPU ns per call, all threads


def clear(scratch):
    for f in os.listdir(scratch):
        os.unlink(os.path.join(scratch, f))


def peak_rss_kib(argv, extra, scratch):
    """Runs argv; returns its peak RSS (KiB) and CPU seconds, from the kernel's rusage
    of the child (CPU time: what other load on the machine disturbs least)."""
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.abspath(f"{B}/sim"), NNSPY_REPORT="none")
    env.pop("NNSPY_OUTPUT", None)
    env.update(extra)
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        sys.exit(f"bench: {' '.join(argv)} failed (status {status})")
    return usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def end_record(path):
    """(calls, dropped records) from the trace's END record, at its end."""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 65536))
        tail = f.read().decode("latin-1")
    calls = re.findall(r'"totals": \{"calls": (\d+)', tail)
    dropped = re.findall(r'"dropped_records": (\d+)', tail)
    if not calls or not dropped:
        sys.exit(f"bench: {path} has no END record")
    return int(calls[-1]), int(dropped[-1])


def per_call_costs(threads, scratch):
    """{config: (median ns added per call, median ratio)} over interleaved repetitions."""
    shown = [c for c in CONFIGS if c[3]]
    added = {c[0]: [] for c in shown}
    ratio = {c[0]: [] for c in shown}
    base_all = []
    for _ in range(REPEAT):
        base = driver(threads, CALLS, {}, scratch)
        base_all.append(base)
        for name, extra, _, _ in shown:
            t = driver(threads, CALLS, extra, scratch)
            added[name].append(t - base)
            ratio[name].append(t / base)
    return statistics.median(base_all), {
        n: (statistics.median(added[n]), statistics.median(ratio[n])) for n in added}


def instructions(calls, extra, scratch):
    """Instructions the driver executes for `calls` calls on 1 thread (callgrind: exact,
    all threads, whatever else the machine runs)."""
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
            DRIVER, MIX, "1", str(calls)]
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.abspath(f"{B}/sim"), NNSPY_REPORT="none")
    for k in ("NNSPY_JSON", "NNSPY_OUTPUT", "LD_PRELOAD", "NNSPY_SITES"):
        env.pop(k, None)
    env.update({k: (os.path.join(scratch, "run.nns") if v == "TRACE" else v)
                for k, v in extra.items()})
    p = subprocess.run(argv, env=env, capture_output=True, cwd=scratch)
    clear(scratch)
    found = re.findall(r"Collected : (\d+)", p.stderr.decode())
    if p.returncode != 0 or not found:
        sys.exit(f"bench: callgrind failed: {p.stderr.decode()[-500:]}")
    return int(found[-1])


def instructions_added(scratch):
    """{config: instructions nnspy adds per call}: the difference between 20,000 and
    40,000 calls, so that start-up and exit cancel out, less the same without nnspy."""
    lo, hi = (2_000, 4_000) if QUICK else (20_000, 40_000)

    def per_call(extra):
        return (instructions(hi, extra, scratch) - instructions(lo, extra, scratch)) / (hi - lo)

    base = per_call({})
    return base, {name: per_call(extra) - base for name, extra, _, shown in CONFIGS if shown}


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0]
    return (f"{model}, {os.cpu_count()} CPUs, Linux {platform.release()}, "
            f"load {load:.2f} at start; simulated device (CPU timings)")


def verdict(value, target, lower_is_better=True):
    if target is None:
        return ""
    ok = value <= target if lower_is_better else value >= target
    return f"target {'<=' if lower_is_better else '>='} {target:,}: {'met' if ok else 'NOT met'}"


def main():
    for path in (LIB, DRIVER, NNSPY):
        if not os.path.exists(path):
            sys.exit(f"bench: {path} is missing: run `make bench`")
    scratch = tempfile.mkdtemp(prefix="nnspy-bench-")
    t_start = time.perf_counter()
    print(f"nnspy bench: {machine()}")
    print(f"mix {MIX}; part 1: {CALLS:,} calls per thread per run, median of {REPEAT} "
          f"interleaved repetitions\n")
    print(f"| figure | value | target |\n|---|---|---|")
    for threads in (1, 2):
        base, costs = per_call_costs(threads, scratch)
        print(f"| {threads} thread(s): a call without nnspy (CPU) | {base:.0f} ns | |")
        for name, _, target, _ in (c for c in CONFIGS if c[3]):
            ns, r = costs[name]
            print(f"| {threads} thread(s): {name} | {ns:+.0f} ns/call (x{r:.2f}) | "
                  f"{verdict(round(ns), target)} |")

    if shutil.which("valgrind"):
        base, added = instructions_added(scratch)
        print(f"| 1 thread: instructions of a call without nnspy (callgrind) | {base:.0f} | |")
        for name, n in added.items():
            print(f"| 1 thread: {name}, instructions added per call | {n:+.0f} | |")
    else:
        print("| instructions per call | (valgrind not installed) | |")

    defaults = {"LD_PRELOAD": LIB, "NNSPY_OUTPUT": os.path.join(scratch, "long.nns")}
    sizes, rss = {}, {}
    for calls in LONG_RUNS:
        rss[calls], _ = peak_rss_kib([DRIVER, MIX, "1", str(calls)], defaults, scratch)
        sizes[calls] = os.path.getsize(os.path.join(scratch, "long.nns"))
        if calls != LONG_RUNS[-1]:
            clear(scratch)
    small, large = LONG_RUNS
    base_rss, _ = peak_rss_kib([DRIVER, MIX, "1", str(large)], {}, scratch)
    for calls in LONG_RUNS:
        print(f"| peak RSS, {calls:,} calls, defaults (timing, trace, listing) | "
              f"{rss[calls] / 1024:.1f} MiB | |")
    print(f"| peak RSS, {large:,} calls, without nnspy | {base_rss / 1024:.1f} MiB | |")
    growth = (rss[large] - rss[small]) / 1024
    # Flat: 10x the calls, under 5 % more memory (what remains is the frame history
    # filling its last entries: it stops at 1,048,576 calls).
    flat = abs(rss[large] - rss[small]) < 0.05 * rss[small]
    print(f"| RSS growth from {small:,} to {large:,} calls | {growth:+.1f} MiB | "
          f"target flat: {'met' if flat else 'NOT met'} |")
    per_call = (sizes[large] - sizes[small]) / (large - small)
    print(f"| trace bytes per call, steady state (timed) | {per_call:.1f} B | "
          f"{verdict(round(per_call, 1), 32)} |")

    trace_path = os.path.join(scratch, "long.nns")
    calls, dropped = end_record(trace_path)
    print(f"| records dropped while tracing {large:,} calls | {dropped:,} | 0 |")
    if dropped:
        print("(records were dropped: the trace's bytes per call understate, and the report's "
              "records per second, counted per call made, overstate)")
    for fmt, out, what in (("table", "/dev/null", "table of every call"),
                           ("html", os.path.join(scratch, "r.html"), "html: totals, frames, charts")):
        report_rss, cpu = peak_rss_kib([NNSPY, "report", "--format", fmt, "-o", out, trace_path],
                                       {}, scratch)
        rate = calls / cpu
        print(f"| nnspy report, {what}: {calls:,} calls ({sizes[large] / 1e6:.0f} MB trace) | "
              f"{rate / 1e6:.2f} M records/s ({cpu:.1f} s CPU), peak RSS {report_rss / 1024:.0f} MiB | "
              f"{verdict(round(rate / 1e6, 2), 5, False)} M/s |")
    clear(scratch)
    os.rmdir(scratch)
    print(f"\nbench took {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
