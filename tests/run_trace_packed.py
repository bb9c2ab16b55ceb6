#!/usr/bin/env python3
"""End-to-end checks of trace format version 2 (KIND and PACKED records,
docs/trace-format.md):

- the same calls written as version 1 and as version 2 by tests/make_trace.py (an
  independent writer, from the format document) report identically;
- a trace the preload writes on the simulated device reads back with the exact
  counts derived by hand, every call and every GPU time in it, at no more than
  32 bytes per timed call past the first ones;
- every call of a trace has its shape text, also past the calls listed for the
  exit table (NNSPY_MAX_OPS).

Run by `make e2e` (B= the build directory, default build).
"""
import csv
import io
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_trace import Trace, demo  # noqa: E402

from harness import B, LIB, NNSPY, SAN_PRELOAD, SIM, check, failures  # noqa: E402


def report_json(path):
    p = subprocess.run([NNSPY, "report", "--format", "json", path], capture_output=True,
                       timeout=120)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"error": p.stderr.decode()[-400:]}


def without_paths(r):
    for t in r.get("traces", []):
        t.pop("path", None)
    return r


def test_versions_agree(tmp):
    print("version 1 and version 2 of the same calls report the same")
    for complete in (True, False):
        reports = []
        for version in (1, 2):
            path = os.path.join(tmp, f"v{version}-{complete}.nns")
            demo(4, complete=complete, version=version).write(path)
            reports.append(without_paths(report_json(path)))
        check("error" not in reports[1] and reports[0] == reports[1],
              f"{'complete' if complete else 'incomplete'} trace: same JSON report",
              reports[1].get("error", ""))
    with open(os.path.join(tmp, "v1-True.nns"), "rb") as f1, \
            open(os.path.join(tmp, "v2-True.nns"), "rb") as f2:
        n1, n2 = len(f1.read()), len(f2.read())
    check(n2 < n1, f"version 2 is smaller ({n2} bytes against {n1})")


def preload_trace(tmp, iters, **env_extra):
    """tests/threads with 1 thread, `iters` iterations (a GEMM and a convolution each),
    timed with events, its trace written; returns the trace's path."""
    path = os.path.join(tmp, f"threads-{iters}-{len(env_extra)}.nns")
    env = dict(os.environ, LD_LIBRARY_PATH=SIM, NNSPY_REPORT="none", NNSPY_OUTPUT=path,
               NNSPY_TIMING="events",
               LD_PRELOAD=" ".join(x for x in (SAN_PRELOAD, LIB) if x), **env_extra)
    env.pop("NNSPY_JSON", None)
    subprocess.run([f"{B}/tests/threads", "1", str(iters)], env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    return path


def test_preload_trace(tmp):
    print("a trace written by the preload (version 2)")
    small, large = 500, 1500
    paths = {n: preload_trace(tmp, n) for n in (small, large)}
    with open(paths[large], "rb") as f:
        head = f.read(12)
    check(head[:8] == b"NNSPYTRC" and int.from_bytes(head[8:12], "little") == 2,
          "written as format version 2")
    r = report_json(paths[large])
    t = r.get("totals", {})
    # tests/threads: per iteration one Sgemm m=8 n=4 k=16 (512 MACs) and one 3x3
    # convolution to a 2x2 output (2*2*9 = 36 MACs): 548 MACs, 2 calls.
    check(t.get("calls") == 2 * large and t.get("macs") == 548 * large,
          f"exact calls ({2 * large:,}) and MACs ({548 * large:,}) read back", t or r)
    tr = r.get("traces", [{}])[0]
    check(tr.get("dropped_records") == 0 and tr.get("complete") is True,
          "complete, nothing dropped", tr)
    timing = r.get("timing", {})
    check(timing.get("timed_calls") == 2 * large, "every call's GPU time read back", timing)
    # The sim's clock: each kernel lasts 2000 ns plus a data term of at most a few ns
    # (tests/sim/README.md); every call is one kernel, so each GPU time is >= 2 us.
    check(r.get("frames", {}).get("latency_ms", {}).get("min", 0) >= 0.002,
          "GPU times decoded (no frame shorter than one kernel)", r.get("frames"))
    extra = os.path.getsize(paths[large]) - os.path.getsize(paths[small])
    per_call = extra / (2 * (large - small))
    check(per_call <= 32, f"{per_call:.1f} bytes per timed call past the first ones (<= 32)")


def test_shapes_past_listing(tmp):
    print("shapes in the trace past the calls listed for the table")
    path = preload_trace(tmp, 20, NNSPY_MAX_OPS="3")
    p = subprocess.run([NNSPY, "report", "--format", "csv", path], capture_output=True,
                       timeout=120)
    rows = list(csv.DictReader(io.StringIO(p.stdout.decode())))
    # tests/threads: Sgemm C(8x4) = A(8x16) * B(16x4), no transposes; a 1x1x4x4 input
    # convolved with a 1x1x3x3 filter to 1x1x2x2 (README's shape column).
    want = {"gemm": "NN 8x16 * 16x4 -> 8x4", "conv_fwd": "1x1x4x4 * 1x1x3x3 -> 1x1x2x2"}
    check(len(rows) == 40 and all(r["shape"] == want.get(r["op"]) for r in rows),
          "all 40 calls have their shape, not only the 3 listed",
          [(r["call"], r["op"], r["shape"]) for r in rows[-4:]])


def test_sites_and_autotuning(tmp):
    print("call sites and autotuning written by the independent writer (make_trace.py)")
    # A Python site and a native one in a module that is not on this machine. Then 3
    # plans (variants 7, 8, 9) of one graph (key 5), 2 runs each, and plan 8 for 4 more
    # runs: every run up to plan 9's last (6 calls) is autotuning, plan 8's last 4 are
    # not. And a search (cudnnFind*).
    t = Trace(version=2)
    t.module(1, "/nonexistent/libmodel.so", build_id=bytes(range(20)))
    t.site(1, python=[("model.py", "forward", 42)])
    t.site(2, native=[(1, 0x1234)])
    t.op("conv_fwd", macs=10, host_ns=100, site=1)
    t.op("conv_fwd_search", macs=30, host_ns=200, site=2, tune_search=True)
    host = 300
    for variant, runs in ((7, 2), (8, 2), (9, 2), (8, 4)):
        for _ in range(runs):
            t.op("conv_fwd", macs=100, host_ns=host, site=2, tune_key=5, tune_variant=variant)
            host += 100
    path = os.path.join(tmp, "sites.nns")
    t.end()
    t.write(path)
    r = report_json(path)
    ops = r.get("ops", [])
    check(len(ops) == 12, f"12 calls read back (got {len(ops)})", r.get("error", ""))
    sites = [o.get("site", "") for o in ops] or [""]
    check(sites[:1] == ["forward at model.py:42"],
          f"the Python site is named from its SITE record (got {sites[:1]})")
    check(len(sites) > 1 and all("libmodel.so" in s for s in sites[1:]),
          f"the native site names its module, not found here (got {sites[-1]!r})")
    tune = r.get("frames", {}).get("autotune", {})
    check(tune.get("calls") == 7 and tune.get("macs") == 30 + 6 * 100,
          f"autotuning from the OP payload: the search and 6 benchmark runs, 630 MACs (got {tune})")


def main():
    with tempfile.TemporaryDirectory(prefix="nnspy-packed-") as tmp:
        test_versions_agree(tmp)
        test_preload_trace(tmp)
        test_shapes_past_listing(tmp)
        test_sites_and_autotuning(tmp)
    if failures:
        print(f"run_trace_packed: {len(failures)} check(s) failed")
        return 1
    print("run_trace_packed: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
