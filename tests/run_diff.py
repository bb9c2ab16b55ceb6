#!/usr/bin/env python3
"""End-to-end checks of `nnspy diff` (and of merged traces in `nnspy report`).

Programs run under libnnspy.so on the simulated device; every expected number is
derived by hand below, never taken from nnspy's output. Standalone:

    B=build python3 tests/run_diff.py              # everything
    B=build python3 tests/run_diff.py --json-only  # only what needs no trace file

The --json-only part checks the programs themselves through the JSON summary
(NNSPY_JSON): AlexNet with 128 filters in conv2 costs what the hand count says.
The rest needs the trace writer (NNSPY_OUTPUT), the reader and `nnspy diff` /
`nnspy report`.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import B, LIB, NNSPY, SAN_PRELOAD, SIM, alexnet_frame_ns, check, failures  # noqa: E402,F401

ALEXNET = os.path.abspath(f"{B}/examples/alexnet")
FORK_WORKERS = os.path.abspath(f"{B}/tests/fork_workers")

# ----------------------------------------------------------- AlexNet, by hand
# torchvision's AlexNet, batch 1, 224x224 (tests/run_e2e.py): 714,188,480 MACs,
# 61,100,840 parameters, 1,430,080,104 FLOPs (2 x MACs + 1,703,144 elementwise).
#
# --conv2-filters K changes conv2's output channels (K, torchvision 192) and so
# conv3's input channels. conv2: 64 -> K channels, 5x5, output 27x27; conv3:
# K -> 384 channels, 3x3, output 13x13. Per K:
#   conv2 MACs   = K x 27 x 27 x 64 x 25  = K x 1,166,400
#   conv2 params = K x 64 x 25 + K (bias) = K x 1,601
#   conv3 MACs   = 384 x 13 x 13 x K x 9  = K x 584,064
#   conv3 params = 384 x K x 9 (+ 384 bias, unchanged) = K x 3,456
#   conv2's ReLU, bias add and pool2 change no MACs (and no parameters but the bias)
# K = 192 -> 128 (K - 192 = -64):
#   conv2 MACs   -64 x 1,166,400 = -74,649,600   (223,948,800 -> 149,299,200)
#   conv3 MACs   -64 x 584,064   = -37,380,096   (112,140,288 ->  74,760,192)
#   MACs total   -112,029,696: 714,188,480 -> 602,158,784 (-15.686%; back up: +18.605%)
#   conv2 params -64 x 1,601 = -102,464 (weights -102,400, bias -64)
#   conv3 params -64 x 3,456 = -221,184
#   params total -323,648: 61,100,840 -> 60,777,192 (-0.530%; back up: +0.533%)
# FLOPs (README conventions): 2 x each MAC, and per conv2 output element (27 x 27
# x 64 = 46,656 fewer) 1 for the bias add and 1 for the ReLU; pool2 (3x3 max) 8 per
# output (13 x 13 x 64 = 10,816 fewer):
#   conv2 -149,299,200, bias add -46,656, ReLU -46,656, pool2 -86,528, conv3 -74,760,192
#   FLOPs total 2 x -112,029,696 - 179,840 = -224,239,232: 1,430,080,104 -> 1,205,840,872
# Calls: 27 either way; the five above change shape, the other 22 do not.
K_A, K_B = 192, 128
MACS_A, MACS_B = 714_188_480, 602_158_784
PARAMS_A, PARAMS_B = 61_100_840, 60_777_192
FLOPS_A, FLOPS_B = 1_430_080_104, 1_205_840_872
CALLS = 27
# (op, A shape, B shape, delta MACs, delta FLOPs, delta params), in call order
CHANGES = [
    ("conv_fwd", "1x64x27x27 * 192x64x5x5 -> 1x192x27x27",
     "1x64x27x27 * 128x64x5x5 -> 1x128x27x27", -74_649_600, -149_299_200, -102_400),
    ("add_tensor", "1x192x1x1 + 1x192x27x27", "1x128x1x1 + 1x128x27x27", 0, -46_656, -64),
    ("activation", "1x192x27x27 -> 1x192x27x27 relu", "1x128x27x27 -> 1x128x27x27 relu",
     0, -46_656, 0),
    ("pool_fwd", "1x192x27x27 -> 1x192x13x13 max", "1x128x27x27 -> 1x128x13x13 max",
     0, -86_528, 0),
    ("conv_fwd", "1x192x13x13 * 384x192x3x3 -> 1x384x13x13",
     "1x128x13x13 * 384x128x3x3 -> 1x384x13x13", -37_380_096, -74_760_192, -221_184),
]
assert MACS_A - MACS_B == 64 * (27 * 27 * 64 * 25 + 384 * 13 * 13 * 9) == 112_029_696
assert PARAMS_A - PARAMS_B == 64 * (64 * 25 + 1 + 384 * 9) == 323_648
assert FLOPS_A - FLOPS_B == 2 * 112_029_696 + 64 * (27 * 27 * 2 + 13 * 13 * 8) == 224_239_232
assert sum(c[3] for c in CHANGES) == MACS_B - MACS_A
assert sum(c[4] for c in CHANGES) == FLOPS_B - FLOPS_A
assert sum(c[5] for c in CHANGES) == PARAMS_B - PARAMS_A


# The five kernels that change, 192 -> 128 filters (ns, from kernel_ns):
#   conv2    6,478 -> 4,985 (FLOPs bound: 447,897,600 -> 298,598,400 / 1e5)   -1,493
#   bias add 2,280 -> 2,186 (bytes: (192 + 139,968) x 4 -> (128 + 93,312) x 4)   -94
#   ReLU     2,279 -> 2,186 (bytes 559,872 -> 373,248)                            -93
#   pool2    2,344 -> 2,229 (bytes 192 x 898 x 4 -> 128 x 898 x 4)               -115
#   conv3    4,242 -> 3,495 (FLOPs 224,280,576 -> 149,520,384)                   -747
# frame latency 187,358 -> 184,816 ns: -2,542 ns (-1.3568%; back up +1.3754%)
LAT_A_NS, LAT_B_NS = 187_358, 184_816
assert alexnet_frame_ns(K_A) == LAT_A_NS and alexnet_frame_ns(K_B) == LAT_B_NS

# fork_workers: worker i runs i + 1 GEMMs of m=8, n=4, k=16 = 512 MACs; the parent none
WORKER_CALLS = [1, 2, 3, 4]
WORKER_MACS = 512

def sim_env(extra=None):
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "NNSPY_JSON", "NNSPY_OUTPUT"):
        env.pop(k, None)
    env["LD_LIBRARY_PATH"] = SIM
    env["LD_PRELOAD"] = f"{SAN_PRELOAD}:{LIB}" if SAN_PRELOAD else LIB
    env["NNSPY_REPORT"] = "none"
    env.update(extra or {})
    return env


def run(argv, env=None, timeout=300):
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)


def alexnet_json(k, *args):
    """AlexNet with k filters in conv2 under the preload; its NNSPY_JSON summary."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.json")
        p = run([ALEXNET, "--conv2-filters", str(k), *args], env=sim_env({"NNSPY_JSON": path}))
        report = json.load(open(path)) if os.path.exists(path) else None
    return p, report


def traces_in(d):
    return sorted(glob.glob(os.path.join(d, "*.nns")))


def record(d, argv):
    """Runs argv under the preload with NNSPY_OUTPUT=d/%p.nns; returns the process."""
    os.makedirs(d, exist_ok=True)
    return run(argv, env=sim_env({"NNSPY_OUTPUT": os.path.join(d, "%p.nns")}))


def nnspy(*args):
    return run([NNSPY, *args], env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"})


def diff_json(*args):
    p = nnspy("diff", "--format", "json", *args)
    try:
        return p, json.loads(p.stdout)
    except ValueError:
        return p, None


# ------------------------------------------------------------------ today
def test_conv2_filters_json():
    print("AlexNet --conv2-filters 128: the JSON summary has the hand-derived cost")
    for k, macs, params, flops, lat in ((K_A, MACS_A, PARAMS_A, FLOPS_A, LAT_A_NS),
                                        (K_B, MACS_B, PARAMS_B, FLOPS_B, LAT_B_NS)):
        p, r = alexnet_json(k)
        if not check(p.returncode == 0 and r is not None, f"K={k}: ran, JSON written", p.stderr):
            continue
        t = r["totals"]
        check(t["macs"] == macs, f"K={k}: MACs {t['macs']:,} == {macs:,}")
        check(t["params"] == params, f"K={k}: params {t['params']:,} == {params:,}")
        check(t["flops"] == flops, f"K={k}: FLOPs {t['flops']:,} == {flops:,}")
        check(t["calls"] == CALLS and t["failed_calls"] == 0, f"K={k}: {CALLS} calls, none failed")
        lat_ms = ((r.get("frames") or {}).get("latency_ms") or {}).get("p50")
        check(lat_ms == lat / 1e6, f"K={k}: frame latency {lat:,} ns on the simulated clock",
              str(r.get("frames")))
        if k == K_B:
            ops = r["ops"]
            conv = [o for o in ops if o["op"] == "conv_fwd"]
            check(conv[1]["macs"] == 128 * 1_166_400 and conv[1]["params"] == 128 * 64 * 25,
                  "conv2: 149,299,200 MACs, 204,800 weights")
            check(conv[2]["macs"] == 128 * 584_064 and conv[2]["params"] == 384 * 128 * 9,
                  "conv3: 74,760,192 MACs, 442,368 weights")
            shapes = [o["shape"] for o in ops]
            check(all(c[2] in shapes for c in CHANGES), "the five changed shapes, as expected",
                  "\n".join(shapes))
    p = run([ALEXNET, "--conv2-filters", "0"], env=sim_env())
    check(p.returncode == 2 and "usage" in p.stderr, "--conv2-filters 0 is a usage error")


def test_fork_workers_json():
    print("fork_workers: 4 workers, one JSON summary each, 10 GEMMs in all")
    with tempfile.TemporaryDirectory() as tmp:
        p = run([FORK_WORKERS], env=sim_env({"NNSPY_JSON": os.path.join(tmp, "r-%p.json")}))
        check(p.returncode == 0 and "4 workers, 0 failed" in p.stdout, "ran", p.stderr)
        reports = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(tmp, "r-*")))]
        calls = sorted(r["totals"]["calls"] for r in reports)
        check(calls == WORKER_CALLS, f"4 summaries with 1, 2, 3, 4 calls (got {calls})")
        check(sum(r["totals"]["macs"] for r in reports) == 5120, "5,120 MACs in all")


# ---------------------------------------------------- with traces and the CLI
def check_alexnet_diff(d, label, method):
    """d: `nnspy diff --format json` of 192 (A) against 128 (B) filters."""
    ops = d.get("operations", {})
    check(ops.get("method") == method, f"{label}: compared by {method} (got {ops.get('method')})")
    check((ops.get("changed"), ops.get("added"), ops.get("removed"), ops.get("unchanged")) ==
          (5, 0, 0, 22), f"{label}: 5 changed, 0 added, 0 removed, 22 unchanged", str(ops))
    changes = d.get("changes", [])
    got = [(c["op"], c["a"]["shape"], c["b"]["shape"], c["delta"]["macs"], c["delta"]["flops"],
            c["delta"]["params"]) for c in changes if c.get("a") and c.get("b")]
    check(got == CHANGES, f"{label}: each changed op with its shapes and exact deltas",
          "\n".join(map(str, got)))
    t = d.get("totals", {})
    m, pr, fl = t.get("macs", {}), t.get("params", {}), t.get("flops", {})
    check((m.get("a"), m.get("b"), m.get("delta")) == (MACS_A * d["_iters"], MACS_B * d["_iters"],
                                                      (MACS_B - MACS_A) * d["_iters"]),
          f"{label}: MACs {MACS_A:,} -> {MACS_B:,} per pass, delta -112,029,696", str(m))
    check(abs(m.get("relative_pct", 0) - (MACS_B - MACS_A) / MACS_A * 100) < 1e-5,
          f"{label}: MACs -15.686%", str(m))
    check((pr.get("a"), pr.get("b"), pr.get("delta")) == (PARAMS_A, PARAMS_B, PARAMS_B - PARAMS_A),
          f"{label}: params 61,100,840 -> 60,777,192, delta -323,648", str(pr))
    check(fl.get("delta") == (FLOPS_B - FLOPS_A) * d["_iters"],
          f"{label}: FLOPs delta -224,239,232 per pass", str(fl))
    lat = (d.get("latency_ms") or {}).get("p50") or {}
    check(lat.get("a") == LAT_A_NS / 1e6 and lat.get("b") == LAT_B_NS / 1e6 and
          lat.get("delta") == (LAT_B_NS - LAT_A_NS) / 1e6,
          f"{label}: p50 frame latency 0.187358 -> 0.184816 ms (-2,542 ns)", str(lat))


def test_alexnet_diff():
    print("nnspy diff: AlexNet, 192 against 128 filters in conv2")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for k in (K_A, K_B):
            for iters in (1, 3):
                d = os.path.join(tmp, f"k{k}-i{iters}")
                p = record(d, [ALEXNET, "--conv2-filters", str(k), "--iters", str(iters)])
                ok = check(p.returncode == 0 and len(traces_in(d)) == 1,
                           f"K={k}, {iters} pass(es): ran, one trace in {os.path.basename(d)}",
                           p.stderr + " files: " + str(os.listdir(d)))
                runs[(k, iters)] = d if ok else None
        if not all(runs.values()):
            check(False, "traces written (NNSPY_OUTPUT): the rest needs them")
            return
        a1, b1, a3, b3 = runs[(K_A, 1)], runs[(K_B, 1)], runs[(K_A, 3)], runs[(K_B, 3)]

        # one pass: no repeating frame, every call compared (longest common subsequence);
        # directories and single trace files alike
        for label, a, b in (("directories", a1, b1),
                            ("trace files", traces_in(a1)[0], traces_in(b1)[0])):
            p, d = diff_json(a, b)
            if check(p.returncode == 0 and d is not None, f"{label}: exit 0, JSON", p.stderr):
                check(d.get("schema") == "nnspy.diff/1", f"{label}: schema nnspy.diff/1")
                d["_iters"] = 1
                check_alexnet_diff(d, label, "lcs")
        # three passes: one steady frame each (27 calls), position by position
        p, d = diff_json(a3, b3)
        if check(p.returncode == 0 and d is not None, "3 passes: exit 0, JSON", p.stderr):
            d["_iters"] = 3
            check_alexnet_diff(d, "3 passes", "position")
            check(d["a"].get("frames_found") and d["a"].get("compared_calls") == CALLS,
                  "3 passes: one frame of 27 calls compared", str(d.get("a")))
            fm = d.get("frame_macs") or {}
            check((fm.get("a"), fm.get("b")) == (MACS_A, MACS_B), "3 passes: MACs per frame",
                  str(fm))
            lat = (d["a"].get("latency_ms") or {})
            check(lat.get("frames") == 3, "3 passes: latency over 3 frames", str(lat))
        # a frame against a whole one-pass run
        p, d = diff_json(a3, b1)
        if check(p.returncode == 0 and d is not None, "3 passes against 1: exit 0", p.stderr):
            ops = d.get("operations", {})
            check((ops.get("changed"), ops.get("added"), ops.get("removed")) == (5, 0, 0),
                  "3 passes against 1: the same 5 changes", str(ops))

        # the table
        p = nnspy("diff", a1, b1)
        check(p.returncode == 0 and "-112,029,696" in p.stdout and "-323,648" in p.stdout and
              "5 changed, 0 added, 0 removed, 22 unchanged" in p.stdout,
              "table: exit 0, the totals' differences and the counts", p.stdout + p.stderr)

        # checks, B over A: 128 -> 192 is +18.605% MACs, +0.533% params, +1.375% latency
        for args, rc, what in ((["--fail-macs", "10"], 3, "--fail-macs 10: +18.6% fails"),
                               (["--fail-macs", "18.6"], 3, "--fail-macs 18.6 fails"),
                               (["--fail-macs", "18.61"], 0, "--fail-macs 18.61 passes"),
                               (["--fail-params", "0.5"], 3, "--fail-params 0.5: +0.533% fails"),
                               (["--fail-params", "1"], 0, "--fail-params 1 passes"),
                               (["--fail-latency", "1"], 3, "--fail-latency 1: +1.375% fails"),
                               (["--fail-latency", "2"], 0, "--fail-latency 2 passes")):
            p = nnspy("diff", *args, b1, a1)
            failed_lines = [l for l in p.stderr.splitlines() if "check failed" in l]
            ok = p.returncode == rc and (rc == 0 or (len(failed_lines) == 1 and
                                                     args[0] in failed_lines[0]))
            check(ok, f"{what} (exit {rc})", f"exit {p.returncode}: {p.stderr}")
        # a decrease never fails
        p = nnspy("diff", "--fail-macs", "0", "--fail-params", "0", "--fail-latency", "0", a1, b1)
        check(p.returncode == 0, "A -> B (fewer filters) passes every check at 0%",
              p.stdout + p.stderr)

        # usage and unreadable traces
        p = nnspy("diff", a1)
        check(p.returncode == 2 and "usage: nnspy diff" in p.stderr, "one run only: exit 2",
              p.stderr)
        p = nnspy("diff", "--fail-macs", "ten", a1, b1)
        check(p.returncode == 2 and "ten" in p.stderr, "a bad percentage: exit 2", p.stderr)
        bad = os.path.join(tmp, "bad.nns")
        with open(bad, "wb") as f:
            f.write(b"NOTATRACE" + bytes(32))
        p = nnspy("diff", a1, bad)
        check(p.returncode == 1 and "bad.nns" in p.stderr and p.stdout == "",
              "a file that is not a trace: exit 1 with the reader's message", p.stderr)
        p = nnspy("diff", a1, os.path.join(tmp, "missing"))
        check(p.returncode == 1 and "missing" in p.stderr, "a missing run: exit 1", p.stderr)
        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        p = nnspy("diff", a1, empty)
        check(p.returncode == 1 and "no trace" in p.stderr, "a directory without traces: exit 1",
              p.stderr)


def test_fork_workers_traces():
    print("fork_workers: 4 traces, merged by nnspy report and nnspy diff")
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "run")
        p = record(d, [FORK_WORKERS])
        check(p.returncode == 0 and "4 workers, 0 failed" in p.stdout, "ran", p.stderr)
        files = traces_in(d)
        if not check(len(files) == 4, f"4 traces, one per worker, none for the parent "
                     f"(got {len(files)})", str(os.listdir(d))):
            return
        p = nnspy("report", "--format", "json", d)
        try:
            r = json.loads(p.stdout)
        except ValueError:
            r = None
        if check(p.returncode == 0 and r is not None, "nnspy report --format json DIR: exit 0, JSON",
                 p.stderr):
            t = r.get("totals", {})
            check(t.get("macs") == 5120,
                  f"merged MACs 5,120 (got {t.get('macs')})", str(t))
            check(t.get("calls") == 10, f"merged calls 10 (got {t.get('calls')})", str(t))
        p, dj = diff_json(d, d)
        if check(p.returncode == 0 and dj is not None, "diff of the run with itself: exit 0",
                 p.stderr):
            ops = dj.get("operations", {})
            # one frame per trace: a worker's GEMMs repeat (period 1), so each of the four
            # traces contributes one GEMM (worker 0's whole run is its one GEMM)
            check(ops.get("unchanged") == 4 and not ops.get("changed") and not ops.get("added")
                  and not ops.get("removed"), "one GEMM per worker compared, all unchanged",
                  str(ops))
            check(len(dj["a"].get("traces", [])) == 4 and dj["totals"]["macs"]["a"] == 5120 and
                  dj["totals"]["calls"]["a"] == 10, "4 traces merged: 10 calls, 5,120 MACs",
                  str(dj.get("totals")))
        # one worker's trace against the merged run: 9 GEMMs more in B
        p, dj = diff_json(files[0], d)
        if check(p.returncode == 0 and dj is not None, "one trace against all four: exit 0",
                 p.stderr):
            t = dj["totals"]["macs"]
            check(t["b"] == 5120 and t["delta"] == 5120 - t["a"] and t["a"] in (512, 1024, 1536, 2048),
                  "MACs: one worker's against 5,120", str(t))


def main():
    json_only = "--json-only" in sys.argv[1:]
    tests = [test_conv2_filters_json, test_fork_workers_json]
    if not json_only:
        tests += [test_alexnet_diff, test_fork_workers_traces]
    # The JSON-only runs also write the default trace (nnspy-PROGRAM-PID.nns in the
    # working directory): run everything from a scratch directory.
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        for test in tests:
            test()
    if failures:
        print(f"\n{len(failures)} diff check(s) failed:")
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print("\nall diff checks passed")


if __name__ == "__main__":
    main()
