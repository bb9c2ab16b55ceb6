#!/usr/bin/env python3
"""End-to-end scenarios: real C programs under libnnspy.so on the simulated device.

Every expected number is derived by hand (the comments show the arithmetic) or
taken from a published table (torchvision's AlexNet: 61,100,840 parameters), never
from nnspy's own output. Run by `make check` (or `make e2e`).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import B, LIB, NNSPY, SAN_PRELOAD, SIM, alexnet_frame_ns, check, failures  # noqa: E402,F401

ALEXNET = f"{B}/examples/alexnet"
TESTS = f"{B}/tests"
# Fewer iterations for the slow sanitizer builds; the checks scale with them.
SCALE = float(os.environ.get("E2E_SCALE", "1"))

# ------------------------------------------------------------------ AlexNet by hand
# conv MACs = K x Hout x Wout x C x kh x kw (batch 1)
ALEXNET_CONV_MACS = [
    64 * 55 * 55 * 3 * 11 * 11,    # conv1: 70,276,800
    192 * 27 * 27 * 64 * 5 * 5,    # conv2: 223,948,800
    384 * 13 * 13 * 192 * 3 * 3,   # conv3: 112,140,288
    256 * 13 * 13 * 384 * 3 * 3,   # conv4: 149,520,384
    256 * 13 * 13 * 256 * 3 * 3,   # conv5: 99,680,256
]
ALEXNET_FC_MACS = [9216 * 4096, 4096 * 4096, 4096 * 1000]
ALEXNET_MACS = 714_188_480         # the figure (thop's 714.21M minus its pool term)
ALEXNET_PARAMS = 61_100_840        # torchvision's published parameter count
# Elementwise FLOPs of one 224x224 image (README conventions):
#  bias adds, 1 per output element: conv outputs 193,600 + 139,968 + 64,896 + 43,264
#  + 43,264 = 484,992, FC outputs 4,096 + 4,096 + 1,000 = 9,192      -> 494,184
#  ReLU, 1 per element: conv outputs 484,992 + FC1, FC2 8,192          -> 493,184
#  max pool 3x3, 8 comparisons per output: (46,656 + 32,448 + 9,216) x 8 -> 706,560
#  adaptive average pool 6->6 is a 1x1 average: 1 FLOP per output      ->   9,216
ALEXNET_ELEMENTWISE_FLOPS = 494_184 + 493_184 + 706_560 + 9_216
# calls: 5 x (conv, bias add, ReLU) + 3 max pools + 1 average pool
#        + 3 x (GEMM, bias add) + 2 ReLU
ALEXNET_CALLS = 5 * 3 + 4 + 3 * 2 + 2

def run(argv, preload=True, sim=True, env_extra=None, json_out=False):
    """Runs argv; returns (returncode, stdout, stderr, parsed JSON or None)."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("NNSPY_JSON", None)
    if sim:
        env["LD_LIBRARY_PATH"] = SIM
    if preload:
        env["LD_PRELOAD"] = f"{SAN_PRELOAD}:{LIB}" if SAN_PRELOAD else LIB
    elif SAN_PRELOAD:
        env["LD_PRELOAD"] = SAN_PRELOAD
    report = None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.json")
        if json_out:
            env["NNSPY_JSON"] = path
        env.update(env_extra or {})
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        if json_out and os.path.exists(path):
            with open(path) as f:
                report = json.load(f)
    return p.returncode, p.stdout, p.stderr, report


def alexnet(*args, **kw):
    return run([ALEXNET, *args], json_out=True, **kw)


def test_alexnet_batch1():
    print("AlexNet, batch 1, 224x224")
    rc, out, err, r = alexnet("--batch", "1", "--size", "224", "--iters", "1")
    check(rc == 0, f"exit status 0 (got {rc})", err)
    if r is None:
        check(False, "JSON summary written")
        return
    t = r["totals"]
    check(sum(ALEXNET_CONV_MACS) + sum(ALEXNET_FC_MACS) == ALEXNET_MACS,
          "hand-derived layer MACs add up to 714,188,480")
    check(t["macs"] == ALEXNET_MACS, f"MACs {t['macs']:,} == {ALEXNET_MACS:,}")
    check(t["params"] == ALEXNET_PARAMS, f"params {t['params']:,} == {ALEXNET_PARAMS:,}")
    check(t["param_bytes"] == 4 * ALEXNET_PARAMS, "parameter bytes = 4 x params (float)")
    flops = 2 * ALEXNET_MACS + ALEXNET_ELEMENTWISE_FLOPS
    check(t["flops"] == flops, f"FLOPs {t['flops']:,} == 2 x MACs + elementwise = {flops:,}")
    check(t["calls"] == ALEXNET_CALLS, f"calls {t['calls']} == {ALEXNET_CALLS}")
    check(t["failed_calls"] == 0 and t["unknown_cost_calls"] == 0, "no failed or unknown calls")
    check(r["schema"] == "nnspy.report/1", "schema name")
    check(r["device"]["simulated"] is True, "device reported as simulated")
    conv_macs = [o["macs"] for o in r["ops"] if o["op"] == "conv_fwd"]
    check(conv_macs == ALEXNET_CONV_MACS, "each convolution's MACs match the hand count")
    gemm_macs = [o["macs"] for o in r["ops"] if o["op"] == "gemm"]
    check(gemm_macs == ALEXNET_FC_MACS, "each FC layer's MACs match the hand count")
    conv1 = r["ops"][0]
    # reads x 3x224x224 + w 64x3x11x11 floats = (150,528 + 23,232) x 4; writes 64x55x55 x 4
    check(conv1["bytes_read"] == (150_528 + 23_232) * 4, "conv1 bytes read")
    check(conv1["bytes_written"] == 193_600 * 4, "conv1 bytes written")
    check(conv1["params"] == 23_232, "conv1 reads 64x3x11x11 = 23,232 weights")
    check(err.startswith("nnspy: SIMULATED DEVICE"), "report's first line says simulated device")
    check("714,188,480" in err and "61,100,840" in err, "table totals on stderr")
    check("1 MAC = 1 multiply + 1 add = 2 FLOPs" in err, "convention stated in the report")
    rc2, out2, _, _ = alexnet("--batch", "1", preload=False)
    check(rc2 == 0 and out == out2, "program stdout identical with and without nnspy")


def test_alexnet_variants():
    print("AlexNet: batch 2, 448x448, five iterations")
    _, _, _, r = alexnet("--batch", "2")
    check(r and r["totals"]["macs"] == 2 * ALEXNET_MACS, "batch 2: 1,428,376,960 MACs")
    check(r and r["totals"]["params"] == ALEXNET_PARAMS, "batch 2: same parameters")
    _, _, err, r = alexnet("--size", "448")
    check(r and r["totals"]["macs"] == 2_832_827_072,
          f"448x448: 2,832,827,072 MACs (got {r and r['totals']['macs']})", err)
    _, _, _, r = alexnet("--iters", "5")
    check(r and r["totals"]["macs"] == 5 * ALEXNET_MACS, "5 iterations: 5 x MACs")
    check(r and r["totals"]["params"] == ALEXNET_PARAMS, "5 iterations: parameters unchanged")
    check(r and r["totals"]["calls"] == 5 * ALEXNET_CALLS, "5 iterations: 5 x calls")


def test_bit_identical():
    print("small network with CPU math: outputs bit-identical with and without nnspy")
    math = {"NNSPY_SIM_MATH": "1"}
    rc1, out1, err1, r = run([f"{TESTS}/smallnet"], env_extra=math, json_out=True)
    rc2, out2, _, _ = run([f"{TESTS}/smallnet"], preload=False, env_extra=math)
    check(rc1 == 0 and rc2 == 0, f"both runs succeed ({rc1}, {rc2})", err1)
    check(len(out1) > 0 and out1 == out2, "outputs identical byte for byte")
    check(r is not None and r["totals"]["calls"] > 0 and r["totals"]["failed_calls"] == 0,
          "smallnet's calls were counted")


def test_plugin_local_scope():
    print("plugin loaded with dlopen(RTLD_LOCAL), as Python extension modules are")
    so = os.path.abspath(f"{TESTS}/plugin_conv.so")
    rc, _, err, r = run([f"{TESTS}/dlopen_host", so, "3"], json_out=True)
    check(rc == 0, f"plugin ran ({rc})", err)
    # one 1x3x8x8 conv, 3->2 channels, 3x3, no padding: 2 x 6x6 x 3 x 3x3 = 1,944 MACs
    check(r and r["totals"]["macs"] == 3 * 1944, "3 convolutions counted: 5,832 MACs")
    # filter 2x3x3x3 = 54 weights + bias 2
    check(r and r["totals"]["params"] == 56, "filter and bias: 56 parameters")


def test_threads():
    print("8 threads at once")
    threads, iters = 8, max(50, int(2000 * SCALE))
    rc, _, err, r = run([f"{TESTS}/threads", str(threads), str(iters)], json_out=True,
                        env_extra={"NNSPY_MAX_OPS": "0", "NNSPY_REPORT": "none"})
    check(rc == 0, f"threads ran ({rc})", err)
    # per thread-iteration: GEMM 8x4x16 = 512 MACs + conv 2x2 outputs x 3x3 = 36 MACs
    check(r and r["totals"]["macs"] == threads * iters * (512 + 36), "exact MACs over threads")
    check(r and r["totals"]["calls"] == threads * iters * 2, "exact call count over threads")
    check(r and r["ops_not_listed"] == threads * iters * 2, "NNSPY_MAX_OPS=0 lists no op")
    check(err == "", "NNSPY_REPORT=none prints nothing")


def test_nested_call_counted_once():
    print("a cuBLAS GEMM that calls cublasLtMatmul inside is counted once")
    rc, _, err, r = run([f"{TESTS}/nested", "10"], json_out=True)
    check(rc == 0, f"nested ran ({rc})", err)
    check(r and r["totals"]["calls"] == 10, "10 calls, not 20")
    check(r and r["totals"]["macs"] == 10 * 4 * 4 * 4, "10 x 4x4x4 = 640 MACs")
    check(r and all(o["api"] == "cublas" for o in r["ops"]), "recorded as cuBLAS calls")


def test_bad_input():
    print("bad input: the program sees exactly what the library returns")
    rc1, out1, err1, r = run([f"{TESTS}/badinput"], json_out=True)
    rc2, out2, _, _ = run([f"{TESTS}/badinput"], preload=False)
    check(rc1 == rc2 == 0, f"same exit status ({rc1}, {rc2})", err1)
    check(out1 == out2 and len(out1) > 0, "same statuses printed, with and without nnspy")
    # badinput makes 7 intercepted calls: conv with a NULL filter descriptor, conv with
    # mismatched channels, sgemm with m = -1, sgemm with a NULL handle, cublasLtMatmul
    # with mismatched layouts (5 rejected), an int8 add-tensor and a valid conv.
    t = r["totals"] if r else {}
    check(t.get("calls") == 7, f"7 intercepted calls (got {t.get('calls')})")
    check(t.get("failed_calls") == 5, f"5 failed calls counted apart (got {t.get('failed_calls')})")
    # the valid conv: 1x3x8x8 input, 2x3x3x3 filter, 6x6 output: 2*36*3*9 = 1,944 MACs
    check(t.get("macs") == 1944, "only the successful calls are in the totals")


def test_inert_without_cuda():
    print("programs that never touch CUDA")
    for argv in (["/bin/true"], [f"{TESTS}/nocuda"]):
        rc1, out1, err1, r = run(argv, sim=False, json_out=True)
        rc2, out2, err2, _ = run(argv, preload=False, sim=False)
        name = os.path.basename(argv[0])
        check(rc1 == rc2 and out1 == out2 and err1 == err2 == "", f"{name}: same behaviour, no output")
        check(r is None, f"{name}: no JSON written when nothing was intercepted")


def test_disable_and_env_errors():
    print("NNSPY_DISABLE and bad environment values")
    rc, _, err, r = alexnet(env_extra={"NNSPY_DISABLE": "1"})
    check(rc == 0 and err == "" and r is None, "NNSPY_DISABLE=1: inert")
    rc, _, err, r = alexnet(env_extra={"NNSPY_MAX_OPS": "lots"})
    check(rc == 0 and "NNSPY_MAX_OPS" in err and r is not None,
          "a bad NNSPY_MAX_OPS is named, and nnspy carries on")
    rc, _, err, _ = run([ALEXNET], env_extra={"NNSPY_JSON": "/nonexistent-dir/x.json"})
    check(rc == 0 and "cannot write the JSON summary" in err, "unwritable JSON path: one warning")


def test_cli():
    print("nnspy run")
    # In sanitizer builds the runtime must come first: it is the "existing" preload.
    base = dict(os.environ)
    base.pop("NNSPY_JSON", None)
    base.pop("LD_PRELOAD", None)
    if SAN_PRELOAD:
        base["LD_PRELOAD"] = SAN_PRELOAD
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r.json")
        p = subprocess.run([NNSPY, "run", "--sim", "--json", path, "--", ALEXNET, "--batch", "2"],
                           env=base, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, f"exit status passed through ({p.returncode})", p.stderr)
        ok = os.path.exists(path)
        check(ok and json.load(open(path))["totals"]["macs"] == 2 * ALEXNET_MACS,
              "--json written with the right MACs")
        check("SIMULATED DEVICE" in p.stderr, "report printed")
    p = subprocess.run([NNSPY, "run", "--", "sh", "-c", "exit 7"], env=base, capture_output=True,
                       timeout=60)
    check(p.returncode == 7, "exit code 7 passed through")
    p = subprocess.run([NNSPY, "run", "--", "sh", "-c", "kill -TERM $$"], env=base,
                       capture_output=True, timeout=60)
    check(p.returncode == -15, "nnspy dies of the SIGTERM that killed the program")
    # SIG_IGN inherited (nohup) stays SIG_IGN for the program: SigIgn bit 2 is SIGINT.
    # (The outer shell runs without the sanitizer runtime: TSan does not survive
    # `trap '' INT` in an uninstrumented shell.)
    plain = {k: v for k, v in base.items() if k != "LD_PRELOAD"}
    preload = f"env LD_PRELOAD={SAN_PRELOAD} " if SAN_PRELOAD else ""
    p = subprocess.run(["sh", "-c", f"trap '' INT; exec {preload}{NNSPY} run -- "
                        "sh -c 'grep SigIgn /proc/self/status'"],
                       env=plain, capture_output=True, text=True, timeout=60)
    ign = int(p.stdout.split()[-1], 16) if p.stdout.strip() else 0
    check(ign & 0x2 != 0, "an ignored SIGINT stays ignored in the program", p.stdout + p.stderr)
    # SIGTERM sent to nnspy reaches the program
    p = subprocess.Popen([NNSPY, "run", "--", "sh", "-c", "echo up; exec sleep 30"], env=base,
                         stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    p.terminate()
    check(p.wait(timeout=30) == -15, "SIGTERM to nnspy is passed on; both end")
    p = subprocess.run([NNSPY, "run"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 2 and "no PROGRAM" in p.stderr, "missing PROGRAM: usage error")
    p = subprocess.run([NNSPY, "run", "--", "/nonexistent"], capture_output=True, timeout=60)
    check(p.returncode == 127, "missing program: 127")
    p = subprocess.run([NNSPY, "--help"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "--sim" in p.stdout and "--json" in p.stdout, "--help")
    existing = f"{SAN_PRELOAD}:libm.so.6" if SAN_PRELOAD else "libm.so.6"
    env = dict(base, LD_PRELOAD=existing)
    p = subprocess.run([NNSPY, "run", "--", "sh", "-c", "echo $LD_PRELOAD"], env=env,
                       capture_output=True, text=True, timeout=60)
    check(p.stdout.strip() == f"{existing}:{LIB}", "existing LD_PRELOAD kept, nnspy after it")


def sim_env(json_path):
    env = dict(os.environ, LD_LIBRARY_PATH=SIM, NNSPY_JSON=json_path)
    env["LD_PRELOAD"] = f"{SAN_PRELOAD}:{LIB}" if SAN_PRELOAD else LIB
    return env


def test_signals():
    print("SIGTERM, the program's own handler, abort: the report is kept")
    n = 7  # GEMMs before the signal, 8x4x16 = 512 MACs each
    import signal
    for mode, expect_rc in (("term", -signal.SIGTERM), ("handler", 0), ("abort", -signal.SIGABRT)):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "r.json")
            p = subprocess.Popen([f"{TESTS}/signals", str(n), mode], env=sim_env(path),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if mode != "abort":
                ready = p.stdout.readline()
                check(ready.strip() == "ready", f"{mode}: program reached its wait")
                p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=60)
            check(p.returncode == expect_rc, f"{mode}: exit status {p.returncode} == {expect_rc}",
                  err)
            r = json.load(open(path)) if os.path.exists(path) else None
            check(r is not None and r["totals"]["calls"] == n and r["totals"]["macs"] == n * 512,
                  f"{mode}: JSON complete up to the signal ({n} calls, {n * 512} MACs)")
            check("nnspy report" in err, f"{mode}: table printed", err)
            if mode == "handler":
                check("handled" in out, "the program's own SIGTERM handler ran")


def test_signal_at_random_moments():
    print("SIGTERM at random moments of a busy loop: never a hang")
    import random
    import signal
    import time
    hangs = 0
    runs = max(5, int(30 * SCALE))
    for i in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            p = subprocess.Popen([f"{TESTS}/signals", "1", "loop"],
                                 env=sim_env(os.path.join(tmp, "r.json")),
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            p.stdout.readline()
            time.sleep(random.uniform(0, 0.02))
            p.send_signal(signal.SIGTERM)
            try:
                if p.wait(timeout=10) != -signal.SIGTERM:
                    hangs += 1
            except subprocess.TimeoutExpired:
                p.kill()
                hangs += 1
    check(hangs == 0, f"{runs} runs ended by SIGTERM, none hung ({hangs})")


def test_fork_while_busy():
    print("fork while another thread is inside nnspy: children never hang")
    try:
        # The children inherit the busy thread's allocations without the thread:
        # LeakSanitizer would call them leaks.
        rc, out, err, _ = run([f"{TESTS}/fork_busy"],
                              env_extra={"NNSPY_REPORT": "none", "ASAN_OPTIONS": "detect_leaks=0"})
        check(rc == 0 and "50 children done" in out, "50 forks, 50 children exited", err)
    except subprocess.TimeoutExpired:
        check(False, "50 forks, 50 children exited (timed out: a child hung)")


def test_trace_after_sigkill():
    print("trace: readable after SIGKILL, up to the last flush; an unwritable location")
    import signal
    import time
    with tempfile.TemporaryDirectory() as tmp:
        env = sim_env(os.path.join(tmp, "r.json"))
        env["NNSPY_OUTPUT"] = os.path.join(tmp, "t.nns")
        p = subprocess.Popen([f"{TESTS}/signals", "1", "loop"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        p.stdout.readline()
        time.sleep(0.6)  # the writer flushes every 200 ms: most of these calls are out
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        q = subprocess.run([NNSPY, "report", "--format", "json", os.path.join(tmp, "t.nns")],
                           capture_output=True, text=True, timeout=120)
        r = json.loads(q.stdout) if q.returncode == 0 else {}
        calls = (r.get("totals") or {}).get("calls", 0)
        check(q.returncode == 0 and calls > 0 and "incomplete" in q.stderr,
              f"killed run's trace read as incomplete, {calls} calls", q.stderr[-300:])
        check((r.get("totals") or {}).get("macs") == 512 * calls, "each call's 512 MACs kept")
    rc, _, err, _ = run([f"{TESTS}/nocuda"], env_extra={"NNSPY_OUTPUT": "/nonexistent/x.nns"})
    check(rc == 3 and err == "", "no call, no trace, no message")
    rc, _, err, r = alexnet(env_extra={"NNSPY_OUTPUT": "/nonexistent-dir/t.nns"})
    check(rc == 0 and err.count("cannot create the trace") == 1 and r is not None,
          "unwritable trace location: one warning, the program runs on, the report still comes")


def test_fork_exec_storm():
    print("fork-and-exec storm: every process image keeps its own report")
    children = 20
    with tempfile.TemporaryDirectory() as tmp:
        env = sim_env(os.path.join(tmp, "r-%p.json"))
        exe = os.path.abspath(f"{TESTS}/forkexec")
        p = subprocess.run([exe, exe, str(children)], env=env, capture_output=True, text=True,
                           timeout=300)
        check(p.returncode == 0, f"storm ran ({p.returncode})", p.stderr)
        reports = [json.load(open(os.path.join(tmp, f))) for f in sorted(os.listdir(tmp))
                   if f.startswith("r-")]
        calls = sorted(r["totals"]["calls"] for r in reports)
        # the parent (1 GEMM), each child before exec (2), each child after exec (3)
        expected = sorted([1] + [2] * children + [3] * children)
        check(calls == expected, f"{len(reports)} reports with 1, 2 and 3 calls "
              f"(expected {len(expected)})", str(calls))
        check(all(r["totals"]["macs"] == 512 * r["totals"]["calls"] for r in reports),
              "each report's MACs match its calls")
        check(not [f for f in os.listdir(tmp) if f.endswith(".tmp")], "no temporary file left")
        # Each child's pid names both of its images: r-PID.json before exec (2 calls)
        # and r-PID.json.1 after it (3 calls): %p is the writer's own pid.
        second = [f for f in os.listdir(tmp) if f.endswith(".json.1")]
        pairs_ok = len(second) == children and all(
            json.load(open(os.path.join(tmp, f)))["totals"]["calls"] == 3 and
            json.load(open(os.path.join(tmp, f[:-2])))["totals"]["calls"] == 2 for f in second)
        check(pairs_ok, "each child's two images under its own pid, none overwritten")


def test_vfork_exec():
    print("vfork + exec (CPython's subprocess): the child does not write the parent's report")
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([f"{TESTS}/vfork_exec"], env=sim_env(os.path.join(tmp, "r-%p.json")),
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, "ran", p.stderr)
        names = os.listdir(tmp)
        reports = [json.load(open(os.path.join(tmp, f))) for f in names]
        check(len(names) == 1 and reports[0]["totals"]["calls"] == 1,
              "one report, the parent's, with its one call", str(names))


def test_tensorflow_style_loading():
    print("dlopen(RTLD_LOCAL) + dlsym(handle), eagerly (TensorFlow) and through implib trampolines")
    iters = 5
    for mode in ("eager", "lazy"):
        rc, _, err, r = run([f"{TESTS}/tf_loader", mode, str(iters)], json_out=True)
        check(rc == 0, f"{mode}: ran ({rc})", err)
        t = r["totals"] if r else {}
        # per iteration: conv 2x6x6 outputs x 3x3x3 = 1,944 MACs (+ bias add), GEMM 8x4x16 = 512
        check(t.get("macs") == iters * (1944 + 512), f"{mode}: {iters} x 2,456 MACs")
        check(t.get("calls") == 3 * iters, f"{mode}: 3 calls per iteration, each counted once")
        # filter 2x3x3x3 = 54, bias 2, GEMM weight A 8x16 = 128
        check(t.get("params") == 184, f"{mode}: 184 parameters")


def test_two_copies():
    print("two copies of cuDNN in one process")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name in ("a", "b"):
            os.mkdir(os.path.join(tmp, name))
            paths.append(os.path.join(tmp, name, "libcudnn.so.9"))
            shutil.copy(f"{SIM}/libcudnn.so.9", paths[-1])
        rc, out, err, r = run([f"{TESTS}/two_copies", *paths], json_out=True)
        check(rc == 0 and out.strip() == "A 1 B 2", "each call reached its own copy", err + out)
        t = r["totals"] if r else {}
        # copy A: 2x6x6 x 3x3x3 = 1,944; copy B twice: 5x8x8 x 4x3x3 = 11,520
        check(t.get("calls") == 3 and t.get("macs") == 1944 + 2 * 11520,
              "each call counted once, with its own copy's descriptors (24,984 MACs)")
        check(t.get("params") == 54 + 180, "filters of both copies: 234 parameters")
        check(t.get("unknown_cost_calls") == 0, "every descriptor was readable")


def test_two_sonames():
    print("two cuDNN versions (libcudnn.so.9 and .so.8), each called directly by its plugin")
    a = os.path.abspath(f"{TESTS}/plugin_conv.so")
    b = os.path.abspath(f"{TESTS}/plugin_conv_v8.so")
    env = {"LD_LIBRARY_PATH": f"{SIM}:{os.path.abspath(B)}/sim-v8"}
    rc, out, err, r = run([f"{TESTS}/two_sonames", a, b], json_out=True, env_extra=env)
    rc0, out0, _, _ = run([f"{TESTS}/two_sonames", a, b], preload=False, env_extra=env)
    check(rc0 == 0 and out0.strip() == "v9 2 v8 3", "without nnspy: each plugin uses its own cuDNN",
          out0)
    check(rc == 0 and out.strip() == "v9 2 v8 3", "with nnspy: each call still reaches its own cuDNN",
          err + out)
    t = r["totals"] if r else {}
    # 5 convolutions of 1,944 MACs; 2 filters of 54 and 2 biases of 2
    check(t.get("macs") == 5 * 1944 and t.get("params") == 2 * 56 and
          t.get("unknown_cost_calls") == 0 and t.get("failed_calls") == 0,
          "counted with each copy's own descriptors: 9,720 MACs, 112 parameters")


def test_stacked_interposer():
    print("stacked with another interposer that uses dlsym(RTLD_NEXT), in both orders")
    other = os.path.abspath(f"{TESTS}/plugin_interposer.so")
    for order in ((other, LIB), (LIB, other)):
        env = dict(os.environ, LD_LIBRARY_PATH=SIM, LD_PRELOAD=":".join(
            ([SAN_PRELOAD] if SAN_PRELOAD else []) + list(order)))
        with tempfile.TemporaryDirectory() as tmp:
            env["NNSPY_JSON"] = os.path.join(tmp, "r.json")
            p = subprocess.run([ALEXNET], env=env, capture_output=True, text=True, timeout=300)
            name = "interposer first" if order[0] == other else "nnspy first"
            check(p.returncode == 0, f"{name}: no recursion, program ran", p.stderr)
            # AlexNet's 5 convolutions, 8 bias adds and 3 GEMMs pass through the interposer
            check("interposer: 16 calls" in p.stderr, f"{name}: the interposer saw its 16 calls",
                  p.stderr)
            r = json.load(open(env["NNSPY_JSON"])) if os.path.exists(env["NNSPY_JSON"]) else {}
            check(r.get("totals", {}).get("calls") == ALEXNET_CALLS and
                  r["totals"]["macs"] == ALEXNET_MACS, f"{name}: nnspy counted each call once")


def test_unload_and_reload():
    print("cuDNN loaded, unloaded and loaded again with its plugin")
    so = os.path.abspath(f"{TESTS}/plugin_conv.so")
    rc, _, err, r = run([f"{TESTS}/dlopen_host", so, "2", "3"], json_out=True)
    check(rc == 0, f"3 rounds of dlopen, run, dlclose ({rc})", err)
    # 3 rounds x 2 convolutions x 1,944 MACs
    check(r and r["totals"]["macs"] == 3 * 2 * 1944, "every round counted: 11,664 MACs")


def test_exit_while_calling():
    print("exit() from a worker thread while 8 threads are inside wrappers")
    rc, _, err, r = run([f"{TESTS}/exit_race"], json_out=True, env_extra={"NNSPY_REPORT": "none"})
    check(rc == 0, f"exit status 0 ({rc})", err)
    t = r["totals"] if r else {}
    check(t.get("calls", 0) > 0 and t.get("macs") == 512 * t["calls"],
          "report written and consistent: 512 MACs per recorded call")


def test_memory_reuse():
    print("device memory freed and handed out again as another tensor")
    rc, out, err, r = run([f"{TESTS}/reuse"], json_out=True)
    check(rc == 0 and out.strip() == "reused", "the allocator handed the addresses back", err + out)
    t = r["totals"] if r else {}
    # filter A (54, freed: still counted) + filter B at A's old address (54, counted anew)
    # + a 1x2x6x6 bias (72) where conv A's output was: 180; 2 convolutions x 1,944 MACs
    check(t.get("params") == 180 and t.get("macs") == 2 * 1944,
          "a freed buffer is judged afresh: 180 parameters", str(t))


def test_timing_alexnet():
    print("GPU time and frames: AlexNet, 20 iterations")
    rc, _, err, r = alexnet("--iters", "20", env_extra={"NNSPY_MAX_OPS": "100"})
    check(rc == 0 and r is not None, "ran", err)
    fr, tm = (r or {}).get("frames") or {}, (r or {}).get("timing") or {}
    check(tm.get("available") is True and tm.get("timed_calls") == 20 * ALEXNET_CALLS,
          "every call timed")
    check(fr.get("mode") == "auto" and fr.get("count") == 20 and fr.get("warmup") == 0 and
          fr.get("calls_per_frame") == ALEXNET_CALLS, "automatic frames: 20 of 27 calls", str(fr))
    check(fr.get("macs_per_frame") == ALEXNET_MACS, "714,188,480 MACs per frame")
    expected_ms = alexnet_frame_ns() / 1e6  # 187,358 ns
    lat = fr.get("latency_ms") or {}
    check(all(lat.get(k) == expected_ms for k in ("mean", "p50", "p90", "p99", "min", "max")),
          f"latency {expected_ms} ms, the model's time to the nanosecond", str(lat))
    conv1 = r["ops"][0] if r else {}
    # conv1: 140,553,600 FLOPs / 100,000 = 1,405 ns; 1,469,440 bytes / 2,000 = 734: 3,405 ns
    check(conv1.get("gpu_time_ms") == 0.003405, "conv1's own time: 3.405 us")
    check(fr.get("fps") and fr["fps"] > 0, "FPS reported")
    # one stream, back to back: busy time = latency; FLOPs per frame over it, in TFLOP/s
    tflops = (2 * ALEXNET_MACS + ALEXNET_ELEMENTWISE_FLOPS) / alexnet_frame_ns() / 1e3
    check(abs((fr.get("achieved_tflops") or 0) - tflops) < 1e-6 and fr.get("peak_tflops") == 100,
          f"achieved {tflops:.4f} TFLOP/s of the simulated 100 TFLOP/s peak")
    check("GPU latency ms" in err and "FPS" in err, "frames in the table")


def test_frame_modes():
    print("frames: a decoder whose shapes grow, two streams, marker, sync, empty frame")
    rc, _, err, r = run([f"{TESTS}/frames", "decoder", "5"], json_out=True)
    fr = (r or {}).get("frames") or {}
    # prefill of 2 GEMMs = 1 warm-up frame; 5 steps of 3 GEMMs whose shapes grow with t:
    # 4096t + 64t^2 + 4096t MACs, over t = 1..5: 122,880 + 3,520 = 126,400; mean 25,280
    check(rc == 0 and fr.get("count") == 5 and fr.get("warmup") == 1 and
          fr.get("calls_per_frame") == 3, "decoder: 5 frames of 3 calls after warm-up", str(fr))
    check(fr.get("macs_per_frame") == 25280, "decoder: mean MACs per frame 25,280")
    rc, _, err, r = run([f"{TESTS}/frames", "streams", "5"], json_out=True,
                        env_extra={"NNSPY_FRAME": "marker"})
    fr = (r or {}).get("frames") or {}
    lat = fr.get("latency_ms") or {}
    # per frame: conv on stream A (2,000 ns) beside a 256^3 GEMM on stream B:
    # 33,554,432 FLOPs -> 335 ns, 786,432 bytes -> 393 ns: 2,393 ns; the streams overlap
    check(rc == 0 and fr.get("mode") == "marker" and fr.get("count") == 6,
          "marker: 6 frames, one of them empty", str(fr))
    check(lat.get("frames") == 5 and lat.get("max") == 0.002393 and lat.get("min") == 0.002393,
          "two streams: latency 2.393 us, the longer stream", str(lat))
    rc, _, err, r = run([f"{TESTS}/frames", "sync", "5"], json_out=True,
                        env_extra={"NNSPY_FRAME": "sync"})
    fr = (r or {}).get("frames") or {}
    check(rc == 0 and fr.get("mode") == "sync" and fr.get("count") == 5 and
          fr.get("macs_per_frame") == 512, "sync: each device-to-host copy ends a frame", str(fr))
    rc, out, err, r = run([f"{TESTS}/nvtx_frames"], json_out=True,
                          env_extra={"NNSPY_FRAME": "nvtx:step"})
    fr = (r or {}).get("frames") or {}
    # 5 ranges named "step" (4 pushed, 1 started), each around 2 GEMMs of 8x4x16 = 512 MACs
    # (one inside a nested range "inner"); 6 more GEMMs outside any range
    check(rc == 0 and "levels tracked" in out and fr.get("mode") == "nvtx" and
          fr.get("count") == 5 and fr.get("macs_per_frame") == 1024,
          "nvtx:step: 5 frames of 1,024 MACs", str(fr) + err)
    rc, _, err, r = alexnet(env_extra={"NNSPY_FRAME": "bogus"})
    check(rc == 0 and "NNSPY_FRAME" in err and r["frames"]["mode"] == "auto",
          "a bad NNSPY_FRAME is named and auto is used")


def test_cupti():
    print("NNSPY_TIMING=cupti: every kernel, the framework's own apart")
    rc, _, err, r = alexnet("--iters", "3", env_extra={"NNSPY_TIMING": "cupti"})
    tm, fr = (r or {}).get("timing") or {}, (r or {}).get("frames") or {}
    check(rc == 0 and tm.get("mode") == "cupti" and tm.get("attributed_kernels") == 3 * 27,
          "AlexNet: each of the 81 kernels attributed to its call", str(tm) + err)
    check((fr.get("latency_ms") or {}).get("max") == alexnet_frame_ns() / 1e6,
          "the same latency as with events, to the nanosecond")
    rc, _, err, r = run([f"{TESTS}/frames", "custom", "4"], json_out=True,
                        env_extra={"NNSPY_TIMING": "cupti"})
    tm = (r or {}).get("timing") or {}
    # each custom kernel: 200,000,000 FLOPs / 100,000 = 2,000 ns + 2,000 ns launch
    check(rc == 0 and tm.get("other_kernels") == 4 and tm.get("other_gpu_ms") == 0.016,
          "4 kernels of the program's own: other GPU work, 4 x 4 us", str(tm) + err)
    check("other GPU work" in err, "other GPU work in the table")
    rc, _, err, r = alexnet(env_extra={"NNSPY_TIMING": "cupti", "NNSPY_SIM_CUPTI_BUSY": "1"})
    tm = (r or {}).get("timing") or {}
    check(rc == 0 and tm.get("mode") == "events" and tm.get("available") is True and
          "held by another tool" in err, "CUPTI held by another tool: events instead, said")


def test_no_driver():
    print("no CUDA driver: counts go on, timing is unavailable")
    with tempfile.TemporaryDirectory() as tmp:
        for lib in os.listdir(SIM):
            if lib != "libcuda.so.1":
                os.symlink(os.path.join(SIM, lib), os.path.join(tmp, lib))
        env = {"LD_LIBRARY_PATH": tmp}
        rc, _, err, r = run([ALEXNET], json_out=True, env_extra=env)
    check(rc == 0 and r and r["totals"]["flops"] == 2 * ALEXNET_MACS + ALEXNET_ELEMENTWISE_FLOPS,
          "FLOPs reported", err)
    check(r and r["timing"]["available"] is False and r["frames"]["latency_ms"] is None,
          "timing reported as unavailable")
    check(err.count("GPU timing unavailable") == 1, "said once")


def test_many_threads():
    print("16 threads x 100,000 calls")
    threads, iters = 16, max(100, int(50_000 * SCALE))  # 2 calls per iteration
    rc, _, err, r = run([f"{TESTS}/threads", str(threads), str(iters)], json_out=True,
                        env_extra={"NNSPY_MAX_OPS": "0", "NNSPY_REPORT": "none"})
    check(rc == 0, f"{threads} threads x {2 * iters} calls ran", err)
    t = r["totals"] if r else {}
    check(t.get("calls") == threads * iters * 2, f"exact call count ({threads * iters * 2:,})")
    check(t.get("macs") == threads * iters * (512 + 36), "exact MACs")


def main():
    # Traces of every program run here go to one scratch directory, not the checkout.
    traces = tempfile.mkdtemp(prefix="nnspy-e2e-traces-")
    os.environ["NNSPY_OUTPUT"] = os.path.join(traces, "%e-%p.nns")
    for test in (test_alexnet_batch1, test_alexnet_variants, test_bit_identical,
                 test_plugin_local_scope, test_threads, test_nested_call_counted_once,
                 test_bad_input, test_inert_without_cuda, test_disable_and_env_errors, test_cli,
                 test_signals, test_fork_exec_storm, test_tensorflow_style_loading,
                 test_two_copies, test_two_sonames, test_stacked_interposer, test_many_threads,
                 test_unload_and_reload, test_exit_while_calling, test_vfork_exec,
                 test_memory_reuse, test_signal_at_random_moments, test_fork_while_busy,
                 test_trace_after_sigkill,
                 test_timing_alexnet, test_frame_modes, test_no_driver,
                 test_cupti):
        test()
    shutil.rmtree(traces, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} end-to-end check(s) failed:")
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print("\nall end-to-end checks passed")


if __name__ == "__main__":
    main()
