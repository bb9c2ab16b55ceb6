#!/usr/bin/env python3
"""End-to-end checks of `nnspy report`: traces written by tests/make_trace.py (from
docs/trace-format.md alone), reported in every format; the outputs parsed back
(json, csv) and their numbers compared with numbers derived by hand here. Then, when
libnnspy.so writes traces, a round trip: `nnspy report --format json` of a run's
trace against the NNSPY_JSON summary the same run wrote, number for number.

Run by `make e2e` (B= the build directory, default build).
"""
import csv
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_trace import GPU_TIME, OP, STRING, U64_MAX, Trace, demo, header, record  # noqa: E402

from harness import B, LIB, NNSPY, SAN_PRELOAD, SIM, check, failures  # noqa: E402

def report(*args):
    """Runs nnspy report; returns (rc, stdout, stderr). Line ends are kept as they are."""
    p = subprocess.run([NNSPY, "report", *args], capture_output=True, timeout=120)
    p.stdout, p.stderr = p.stdout.decode(), p.stderr.decode()
    return p.returncode, p.stdout, p.stderr


def report_json(*args):
    rc, out, err = report("--format", "json", *args)
    try:
        return rc, json.loads(out), err
    except ValueError as e:
        return rc, None, f"{err}\nnot JSON ({e}): {out[:400]}"


def g9(x):
    """A double as the report prints it (%.9g), read back."""
    return float("%.9g" % x)


# ----------------------------------------------------------------- one trace, auto
# demo(): 2 set-up GEMMs of 64 MACs, then 4 frames of conv (1,000,000 MACs), bias add
# (1,000 FLOPs), GEMM (500,000 MACs). Frame k (0..3) runs on the GPU from
# 10,000(k+1) ns: conv 2,000 ns, add 500 ns, GEMM 1,500 + 100k ns, back to back.
DEMO_MACS = 2 * 64 + 4 * (1_000_000 + 500_000)                 # 6,000,128
DEMO_FLOPS = 2 * 128 + 4 * (2_000_000 + 1_000 + 1_000_000)     # 12,004,256
DEMO_LAT_NS = [4000, 4100, 4200, 4300]                          # latency = busy per frame


def test_one_trace(tmp):
    print("one trace, auto frames: table, json, csv, chrome")
    path = os.path.join(tmp, "demo.nns")
    demo(4).write(path)
    rc, out, err = report(path)
    check(rc == 0, "table: exit 0", err)
    check("1 MAC = 1 multiply + 1 add = 2 FLOPs" in out and "MB = 10^6 bytes" in out,
          "table: conventions and decimal units stated", out[:600])
    check("frames (auto): 4 after 1 warm-up, 3 calls each; per frame 1,500,000 MACs, "
          "3,001,000 FLOPs" in out, "table: 4 frames of 3 calls after 1 warm-up frame", out)
    # latencies 4,000..4,300 ns: mean 4,150; nearest rank p50 = 2nd = 4,100, p90 = p99 = 4th
    check("GPU latency ms: mean 0.004150  p50 0.004100  p90 0.004300  p99 0.004300  "
          "min 0.004000  max 0.004300 (4 frames)" in out, "table: latency statistics", out)
    # FPS: 4 frames over host 1,010,000 .. 1,042,000 ns = 32 us -> 125,000 per second
    check("FPS 125000.00" in out, "table: FPS 125,000")
    check("MACs           6,000,128 (6.00 M)" in out, "table: total MACs")

    rc, r, err = report_json(path)
    check(rc == 0 and r is not None, "json: exit 0, parses", err)
    if not r:
        return
    t, fr = r["totals"], r["frames"]
    check(r["schema"] == "nnspy.report/1", "json: schema nnspy.report/1")
    check(t["calls"] == 14 and t["macs"] == DEMO_MACS and t["flops"] == DEMO_FLOPS and
          t["params"] == 6792 and t["param_bytes"] == 4 * 6792, "json: totals as derived", t)
    check((fr["count"], fr["warmup"], fr["calls_per_frame"], fr["macs_per_frame"],
           fr["flops_per_frame"]) == (4, 1, 3, 1_500_000, 3_001_000), "json: frames", fr)
    lat = fr["latency_ms"]
    check(lat == {"mean": 0.00415, "p50": 0.0041, "p90": 0.0043, "p99": 0.0043, "min": 0.004,
                  "max": 0.0043, "frames": 4}, "json: latency in ms", lat)
    busy = sum(DEMO_LAT_NS)
    check(fr["fps"] == 125000 and fr["host_interval_ms"] == 0.01 and
          fr["achieved_tflops"] == g9(4 * 3_001_000 / busy / 1e3),
          "json: FPS, host interval, achieved TFLOP/s = 12,004,000 FLOPs / 16,600 ns", fr)
    ops = r["ops"]
    # op 4: the first steady GEMM, 1,000,000 FLOPs in 1,500 ns: 666 GFLOP/s -> 0.666 TFLOP/s
    check(len(ops) == 14 and ops[4]["gpu_time_ms"] == 0.0015 and
          ops[4]["achieved_tflops"] == 0.666 and ops[4]["call"] == "cublasSgemm_v2",
          "json: per-op GPU time and TFLOP/s", ops[4] if len(ops) > 4 else ops)
    tr = r["traces"]
    check(len(tr) == 1 and tr[0]["path"] == path and tr[0]["pid"] == 4242 and
          tr[0]["rank"] == 0 and tr[0]["host"] == "testhost" and tr[0]["complete"] is True,
          "json: traces [{path, pid, rank, host, complete}]", tr)

    rc, out, err = report("--format", "csv", path)
    rows = list(csv.reader(io.StringIO(out, newline="")))
    check(rc == 0 and len(rows) == 15, "csv: a header and 14 rows", err + out[:300])
    head = rows[0]
    check(all(c in head for c in ("macs", "flops", "bytes_read", "workspace_bytes", "host_ns",
                                  "gpu_time_us", "achieved_tflops")),
          "csv: header names the units (_bytes, _ns, _us, _tflops)", head)
    row = dict(zip(head, rows[3]))
    check(row["op"] == "conv_fwd" and row["macs"] == "1000000" and row["flops"] == "2000000" and
          row["gpu_time_us"] == "2.000" and row["gpu_start_ns"] == "10000" and
          row["shape"] == "1x3x32x32 * 64x3x3x3 -> 1x64x30x30", "csv: a conv row", row)
    raw = subprocess.run([NNSPY, "report", "--format", "csv", path], capture_output=True).stdout
    check(raw.count(b"\r\n") == 15 and raw.count(b"\n") == 15, "csv: CRLF line ends (RFC 4180)")

    rc, out, err = report("--format", "chrome", path)
    try:
        ev = json.loads(out)["traceEvents"]
    except (ValueError, KeyError) as e:
        check(False, "chrome: JSON with traceEvents", f"{e}: {out[:300]}")
        return
    calls = [e for e in ev if e["ph"] == "X" and e.get("cat") != "frame"]
    frames = [e for e in ev if e["ph"] == "X" and e.get("cat") == "frame"]
    meta = [e for e in ev if e["ph"] == "M"]
    check(len(calls) == 14 and all(e["pid"] == 4242 for e in calls), "chrome: 14 call events")
    conv = calls[2]
    check(conv["ts"] == 10.0 and conv["dur"] == 2.0 and conv["tid"] == 1 and
          conv["name"] == "conv_fwd", "chrome: ts/dur in microseconds, tid = api", conv)
    check([f["name"] for f in frames] == ["frame 2", "frame 3", "frame 4", "frame 5"] and
          frames[0]["ts"] == 10.0 and frames[0]["dur"] == 4.0 and
          len({f["tid"] for f in frames}) == 1 and frames[0]["tid"] not in (1, 2, 3),
          "chrome: the 4 steady frames on a track of their own", frames)
    check(any(m["name"] == "process_name" and m["args"]["name"].startswith("rank 0 (pid 4242")
              for m in meta), "chrome: the process named by rank and pid", meta)

    out_path = os.path.join(tmp, "o.json")
    rc, out, err = report("--format", "json", "-o", out_path, path)
    with open(out_path) as f:
        check(rc == 0 and out == "" and json.load(f)["totals"]["calls"] == 14,
              "-o FILE: written there, nothing on stdout", err)


# ------------------------------------------------------------------ marked frames
def marker_trace(path, mode="marker"):
    """Frame 1 [100, 900] with 2 calls, frame 2 [1,000, 1,000] empty, frame 3
    [2,000, 3,000] with 1 call, one call outside any frame at 3,500."""
    t = Trace(pid=7, frame_mode=mode)
    c = t.op("conv_fwd", macs=300, host_ns=200, frame=1, signature=1)
    t.gpu_time(c, 0, 50)
    c = t.op("gemm", macs=100, host_ns=300, frame=1, signature=2)
    t.gpu_time(c, 50, 120)
    t.frame(1, 100, 900)
    t.frame(2, 1000, 1000)
    c = t.op("conv_fwd", macs=300, host_ns=2500, frame=3, signature=1)
    t.gpu_time(c, 200, 260)
    t.frame(3, 2000, 3000)
    t.op("gemm", macs=1, host_ns=3500, frame=0, signature=3)
    t.end()
    t.write(path)


def test_marked_frames(tmp):
    print("marked frames: marker, sync, nvtx; --frames overrides")
    path = os.path.join(tmp, "marker.nns")
    marker_trace(path)
    rc, r, err = report_json(path)
    fr = (r or {}).get("frames") or {}
    # 3 frames (the empty one counts); latency over the 2 with calls: 120 and 60 ns
    check(rc == 0 and fr.get("mode") == "marker" and fr.get("count") == 3 and
          fr.get("macs_per_frame") == 700 // 3, "marker: 3 frames, one empty", str(fr) + err)
    check((fr.get("latency_ms") or {}).get("mean") == 0.00009, "marker: mean latency 90 ns")
    # FPS: 3 frames from frame 1's begin (100) to the last call (3,500): 3,400 ns
    check(fr.get("fps") == g9(3 / (3400 / 1e9)), "marker: FPS over the marked host span",
          fr.get("fps"))
    rc, r, err = report_json("--frames", "auto", path)
    check(rc == 0 and r["frames"]["mode"] == "auto", "--frames auto from a marker trace", err)
    rc, _, err = report("--frames", "sync", path)
    check(rc == 1 and "recorded with NNSPY_FRAME=marker" in err,
          "--frames sync from a marker trace: refused, and why", err)

    sync = Trace(pid=8, frame_mode="sync")
    for k in (1, 2, 3):
        sync.frame(k, 1000 * (k - 1), 1000 * k)
        sync.op("gemm", macs=10, host_ns=1000 * k - 500, frame=k, signature=5)
    # frame 4, opened by the last synchronisation, has no call and never ends: no
    # FRAME record (they are written when frames end); not a frame
    sync.end()
    spath = os.path.join(tmp, "sync.nns")
    sync.write(spath)
    rc, r, err = report_json(spath)
    check(rc == 0 and r["frames"]["count"] == 3 and r["frames"]["fps"] == g9(3 / 3e-6),
          "sync: a trailing frame with no call is dropped", err or r["frames"])

    nv = Trace(pid=9, frame_mode="nvtx:step")
    nv.op("gemm", macs=8, host_ns=10, frame=1, signature=5)
    nv.frame(1, 5, 20)
    nv.end()
    npath = os.path.join(tmp, "nvtx.nns")
    nv.write(npath)
    rc, r, err = report_json(npath)
    check(rc == 0 and r["frames"]["mode"] == "nvtx" and r["frames"]["count"] == 1,
          "nvtx:step: frames from the trace", err)
    rc, _, err = report("--frames", "nvtx:other", npath)
    check(rc == 1 and "nvtx:other" in err, "--frames nvtx:other from an nvtx:step trace: refused",
          err)
    rc, out, err = report("--frames", "nvtx", npath)
    check(rc == 0 and "frames (nvtx:step): 1" in out, "--frames nvtx: the recorded range", err)


# ------------------------------------------------------------------ damaged traces
def test_incomplete_and_corrupt(tmp):
    print("incomplete and corrupt traces")
    t = demo(3, complete=False)
    path = os.path.join(tmp, "crashed.nns")
    data = t.write(path)
    rc, r, err = report_json(path)
    check(rc == 0 and "incomplete trace" in err, "no END: accepted, said on stderr", err)
    if r:
        tot = r["totals"]
        check(r["traces"][0]["complete"] is False and tot["calls"] == 11 and
              tot["macs"] == 128 + 3 * 1_500_000 and tot["params_incomplete"] is True,
              "no END: totals recomputed from the calls, parameters unknown", tot)
    rc, out, err = report(path)
    check("INCOMPLETE TRACE" in out and "params         unknown" in out,
          "no END: the table says so", out[:400])

    # cut inside the last OP record (a process killed mid-write): the records before it
    # are read, and the report names where the file was cut
    last_op = len(data) - (8 + 24) - (8 + 104)  # the last records: OP, then GPU_TIME
    cut = os.path.join(tmp, "cut.nns")
    with open(cut, "wb") as f:
        f.write(data[:last_op + 50])
    rc, _, err = report(cut)
    check(rc == 0 and f"offset {last_op}: the file ends inside a record" in err,
          "cut mid-record: read up to it, the offset named", err)

    def bad(name, blob, expect):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(blob)
        rc, _, err = report(p)
        check(rc == 1 and expect in err, f"{name}: {expect}", err)

    good = demo(1).to_bytes()
    hlen = struct.unpack_from("<I", good, 12)[0]
    bad("magic.nns", b"NOTATRACE" + good[9:], "offset 0: not an nnspy trace")
    bad("version.nns", good[:8] + struct.pack("<I", 3) + good[12:], "offset 8: trace format "
        "version 3")
    bad("huge.nns", good[:16 + hlen] + record(STRING, b"", length=2**20 + 1),
        f"offset {16 + hlen + 4}: record payload of 1048577 bytes is over the 1 MiB limit")
    op = Trace()
    op.raw(OP, struct.pack("<QI4IIII6QqQ", 0, 0, 9, 0, 0, 0, 3, 0, 0, *([0] * 6), 0, 0))
    bad("undefined.nns", op.to_bytes(), "string id 9 used before it is defined")
    skip = demo(1)
    skip.raw(77, b"future record")
    skip.records.insert(0, skip.records.pop())
    p = os.path.join(tmp, "unknown.nns")
    skip.write(p)
    rc, out, err = report(p)
    check(rc == 0 and "1 records of unknown types skipped" in err,
          "a record of an unknown type: skipped, said", err)
    rc, _, err = report(os.path.join(tmp, "missing.nns"))
    check(rc == 1 and "No such file" in err, "a missing file: exit 1", err)
    rc, _, err = report("--format", "xml", path)
    check(rc == 2 and "--format" in err, "a bad --format: usage error (2)", err)
    empty = os.path.join(tmp, "emptydir")
    os.mkdir(empty)
    rc, _, err = report(empty)
    check(rc == 1 and "no trace" in err, "a directory without traces: exit 1", err)


# ------------------------------------------------------------------ several traces
def rank_trace(rank, pid, frame_ns, host="node"):
    """3 frames of conv (1,000 MACs, 100 params) + GEMM (2,000 MACs, 50 params);
    each frame takes frame_ns on the GPU."""
    t = Trace(pid=pid, rank=rank, host=host)
    for k in range(3):
        h, g = 1_000_000 + 10_000 * k, 100_000 * k
        c = t.op("conv_fwd", macs=1000, params=100, signature=1, host_ns=h)
        t.gpu_time(c, g, g + frame_ns // 2)
        c = t.op("gemm", macs=2000, params=50, signature=2, host_ns=h + 100)
        t.gpu_time(c, g + frame_ns // 2, g + frame_ns)
    t.end(params=150, param_bytes=600)
    return t


def test_merged(tmp):
    print("several traces: merged totals, one row each, the slowest rank")
    d = os.path.join(tmp, "job")
    os.mkdir(d)
    rank_trace(0, 100, 4000).write(os.path.join(d, "app-100.nns"))
    rank_trace(1, 101, 6000).write(os.path.join(d, "app-101.nns"))
    rank_trace(2, 100, 5000, host="other").write(os.path.join(d, "app-100.nns.1"))  # same pid
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("not a trace")
    rc, r, err = report_json(d)
    check(rc == 0 and r is not None and r.get("merged") is True and len(r["traces"]) == 3,
          "a directory: its 3 traces (*.nns and *.nns.1), nothing else", err)
    if not r:
        return
    t = r["totals"]
    # per trace: 6 calls, 3 x 3,000 = 9,000 MACs, 18,000 FLOPs, 150 params (600 bytes)
    check(t["calls"] == 18 and t["macs"] == 27_000 and t["flops"] == 54_000 and
          t["params"] == 450 and t["param_bytes"] == 1800, "merged totals: the sums", t)
    rows = {row["rank"]: row for row in r["traces"]}
    check(rows[1]["calls"] == 6 and rows[1]["macs"] == 9000 and
          rows[1]["gpu_busy_ms"] == 0.018 and rows[1]["frames"] == 3 and
          rows[1]["latency_p50_ms"] == 0.006 and rows[2]["host"] == "other",
          "one row per trace: calls, MACs, GPU busy (3 x 6 us), frames, p50", rows.get(1))
    s = r["slowest"] or {}
    check(s.get("rank") == 1 and s.get("pid") == 101 and s.get("latency_mean_ms") == 0.006,
          "the slowest rank: 1 (mean frame latency 6 us)", s)
    check(len(r["reports"]) == 3 and r["reports"][0]["totals"]["calls"] == 6,
          "each trace's own report included")
    rc, out, err = report(d)
    check(rc == 0 and "slowest: rank 1 (pid 101, host node)" in out and
          "calls          18 (0 failed)" in out, "table: merged, slowest named", out)
    rc, out, err = report("--format", "csv", d)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    check(len(rows) == 18 and sorted({r["rank"] for r in rows}) == ["0", "1", "2"],
          "csv: every call of every trace, with its rank", err)
    rc, out, err = report("--format", "chrome", d)
    ev = json.loads(out)["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in ev if e["name"] == "process_name"}
    check(len(names) == 3 and any("rank 2 (pid 100, host other)" == n for n in names.values()),
          "chrome: one process per trace, apart even when two pids are equal", names)


def test_odd_values(tmp):
    print("strings that need quoting, numbers beyond 2^63")
    t = Trace(pid=5)
    shape = 'a, "b"\nc'
    c = t.op("gemm", macs=U64_MAX, flops=U64_MAX, overflow=True, shape=shape, host_ns=1)
    t.gpu_time(c, 0, 1000)
    tot = t.totals()
    tot["overflow"] = True
    t.end(totals=tot)
    path = os.path.join(tmp, "odd.nns")
    t.write(path)
    rc, out, err = report("--format", "csv", path)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    check(rc == 0 and len(rows) == 1 and rows[0]["shape"] == shape and
          rows[0]["macs"] == str(U64_MAX), "csv: a shape with comma, quotes and newline", out)
    rc, r, err = report_json(path)
    check(rc == 0 and r["totals"]["macs"] == U64_MAX and r["totals"]["overflow"] is True and
          r["ops"][0]["shape"] == shape, "json: 2^64 - 1 exactly, strings escaped", err)


# ------------------------------------------------------------------ round trip
def preload_run(tmp, argv, env_extra):
    """Runs argv on the simulated device with libnnspy.so; returns (NNSPY_JSON, traces,
    the program's stderr, where the exit table is)."""
    out = tempfile.mkdtemp(dir=tmp)
    env = dict(os.environ, LD_LIBRARY_PATH=SIM, NNSPY_REPORT="table",
               NNSPY_JSON=os.path.join(out, "r.json"),
               NNSPY_OUTPUT=os.path.join(out, "%e-%p.nns"),
               LD_PRELOAD=f"{SAN_PRELOAD}:{LIB}" if SAN_PRELOAD else LIB, **env_extra)
    p = subprocess.run(argv, env=env, capture_output=True, timeout=300)
    traces = sorted(os.path.join(out, f) for f in os.listdir(out) if ".nns" in f)
    js = os.path.join(out, "r.json")
    return (json.load(open(js)) if os.path.exists(js) else None), traces, p.stderr.decode()


def differences(a, b, path=""):
    """Where b differs from a, over a's keys (b may have more)."""
    if isinstance(a, dict):
        if not isinstance(b, dict):
            return [path]
        return [d for k in a for d in (differences(a[k], b[k], f"{path}.{k}") if k in b
                                       else [f"{path}.{k} missing"])]
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return [f"{path} length"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]


def test_round_trip(tmp):
    print("round trip: nnspy report --format json == the run's NNSPY_JSON, every number")
    if not os.path.exists(LIB):
        print("  skip (no libnnspy.so)")
        return
    runs = [("AlexNet, auto", [f"{B}/examples/alexnet", "--iters", "3"], {}),
            ("AlexNet, CUPTI", [f"{B}/examples/alexnet", "--iters", "2"],
             {"NNSPY_TIMING": "cupti"}),
            ("decoder, auto", [f"{B}/tests/frames", "decoder", "5"], {}),
            ("two streams, marker", [f"{B}/tests/frames", "streams", "5"],
             {"NNSPY_FRAME": "marker"}),
            ("sync", [f"{B}/tests/frames", "sync", "5"], {"NNSPY_FRAME": "sync"}),
            ("AlexNet, sync", [f"{B}/examples/alexnet", "--iters", "3"],
             {"NNSPY_FRAME": "sync"}),
            ("AlexNet, marker without markers", [f"{B}/examples/alexnet"],
             {"NNSPY_FRAME": "marker"}),
            ("4 threads", [f"{B}/tests/threads", "4", "500"], {}),
            ("nvtx:step", [f"{B}/tests/nvtx_frames"], {"NNSPY_FRAME": "nvtx:step"}),
            ("timing off", [f"{B}/examples/alexnet"], {"NNSPY_TIMING": "off"})]
    for name, argv, env in runs:
        if not os.path.exists(argv[0]):
            print(f"  skip {name} ({argv[0]} not built)")
            continue
        summary, traces, table = preload_run(tmp, argv, env)
        if not traces:
            print(f"  skip {name}: libnnspy.so wrote no trace")
            continue
        rc, ours, err = report_json(traces[0])
        check(rc == 0 and ours is not None and len(traces) == 1, f"{name}: the trace reads",
              err)
        if not ours or not summary:
            continue
        check(ours["traces"][0]["complete"] is True, f"{name}: the trace has its END record")
        diff = differences(summary, ours)
        check(not diff, f"{name}: every number of NNSPY_JSON reproduced", "\n".join(diff[:12]))
        if name.startswith("AlexNet"):
            # the exit table, line for line: ours adds the trace's and the units' lines
            rc, text, err = report(traces[0])
            ours_lines = [ln for ln in text.splitlines()
                          if not ln.startswith(("trace: ", "units: "))]
            theirs = [ln for ln in table.splitlines() if not ln.startswith("top1 ")]
            check(ours_lines == theirs, f"{name}: the exit table reproduced line for line",
                  "\n".join(a + "  |  " + b for a, b in zip(theirs, ours_lines) if a != b))


def main():
    if not os.path.exists(NNSPY):
        print(f"run_report.py: {NNSPY} is not built")
        sys.exit(1)
    tmp = tempfile.mkdtemp(prefix="nnspy-report-")
    try:
        for test in (test_one_trace, test_marked_frames, test_incomplete_and_corrupt,
                     test_merged, test_odd_values, test_round_trip):
            test(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} report check(s) failed:")
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print("\nall report checks passed")


if __name__ == "__main__":
    main()
