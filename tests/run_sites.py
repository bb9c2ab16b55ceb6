#!/usr/bin/env python3
"""End-to-end checks of call sites: layers named by where the program calls from.

- AlexNet (examples/alexnet.c) on the simulated device: every layer named by its
  function and file:line, from DWARF. The expected function and line of each call
  are read from alexnet.c itself, never from nnspy's output.
- The same binary stripped of debug information: named by symbol + offset, which
  binutils (nm, addr2line on the unstripped twin) must map back to the same line.
- A trace symbolized after the binary moved, by build-id: a decoy at the old path
  (another build-id) is never used; --debug-dir finds the binary; a separate debug
  file under DIR/.build-id/ (NNSPY_DEBUG_PATH) gives file:line to a stripped one.
- A Python script (tests/e2e/tiny_model.py) calling the simulated cuBLAS through
  ctypes: each operation named by its Python file:line and function, read from
  the script's `# site:` comments; NNSPY_PYTHON_SKIP passes over a "framework"
  package; with the GIL released (ctypes.CDLL) no Python line is claimed.

Run by `make e2e` (B= the build directory, default build).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import B, LIB, NNSPY, SAN_PRELOAD, SIM, check, failures  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALEXNET = os.path.abspath(f"{B}/examples/alexnet")
ALEXNET_SRC = os.path.join(ROOT, "examples", "alexnet.c")
MODEL = os.path.join(ROOT, "tests", "e2e", "tiny_model.py")
FRAMEWORK = os.path.join(ROOT, "tests", "e2e", "pyfw")

# AlexNet's calls, in the order of their first call, and how many of each one
# inference makes (torchvision's AlexNet, examples/alexnet.c):
#   5 convolutions, each followed by a bias add and a ReLU;
#   3 fully connected layers (GEMMs), each followed by a bias add, the first two by
#   a ReLU; so bias adds 5 + 3 = 8, ReLUs 5 + 2 = 7;
#   3 max pools (after conv1, conv2, conv5) + 1 adaptive average pool = 4 poolings.
ALEXNET_CALLS = [("cudnnConvolutionForward", 5), ("cudnnAddTensor", 8),
                 ("cudnnActivationForward", 7), ("cudnnPoolingForward", 4),
                 ("cublasSgemm", 3)]

C_FUNCTION = re.compile(r"^(?:static\s+)?(?:[A-Za-z_]\w*\s+\**)+([A-Za-z_]\w*)\(")


def c_call_sites(path, names):
    """{name: (enclosing function, line)} of the one call of each name in a C file."""
    found, function = {}, None
    for number, text in enumerate(open(path).read().splitlines(), 1):
        m = C_FUNCTION.match(text)
        if m and not text.rstrip().endswith(";"):
            function = m.group(1)
        for name in names:
            if re.search(r"\b%s\(" % name, text):
                found.setdefault(name, []).append((function, number))
    for name in names:
        check(len(found.get(name, [])) == 1,
              f"{os.path.basename(path)} calls {name} in one place",
              found.get(name))
    return {name: found[name][0] for name in names if name in found}


def py_sites(path):
    """{marker: (enclosing def, line)} of each `# site: marker` line of a Python file."""
    found, function = {}, None
    for number, text in enumerate(open(path).read().splitlines(), 1):
        m = re.match(r"\s*def (\w+)\(", text)
        if m:
            function = m.group(1)
        m = re.search(r"# site: ([\w-]+)", text)
        if m:
            found[m.group(1)] = (function, number)
    return found


def run_traced(argv, out_dir, env_extra=None):
    """Runs argv on the simulated device under libnnspy.so; returns (process, traces)."""
    os.makedirs(out_dir, exist_ok=True)
    env = dict(os.environ, LD_LIBRARY_PATH=SIM, NNSPY_REPORT="none",
               NNSPY_OUTPUT=os.path.join(out_dir, "%e-%p.nns"),
               LD_PRELOAD=f"{SAN_PRELOAD}:{LIB}" if SAN_PRELOAD else LIB, **(env_extra or {}))
    p = subprocess.run(argv, env=env, capture_output=True, timeout=300)
    traces = sorted(os.path.join(out_dir, f) for f in os.listdir(out_dir) if ".nns" in f)
    return p, traces


def report_json(trace, *options, env_extra=None):
    env = dict(os.environ)
    env.pop("NNSPY_DEBUG_PATH", None)  # only what the check gives
    env.update(env_extra or {})
    p = subprocess.run([NNSPY, "report", "--format", "json", *options, trace], env=env,
                       capture_output=True, timeout=120)
    try:
        return json.loads(p.stdout.decode()), p.stderr.decode()
    except ValueError:
        return None, p.stderr.decode() + p.stdout.decode()[:400]


def alexnet_layers_named(tmp, sites, what, report, expect_name):
    """Checks the layers of an AlexNet report: in order, counts, and names."""
    if not check(report is not None and "layers" in report, f"{what}: the report has layers"):
        return []
    layers = report["layers"]
    check(len(layers) == len(ALEXNET_CALLS), f"{what}: {len(ALEXNET_CALLS)} layers",
          [l["site"] for l in layers])
    for layer, (name, calls) in zip(layers, ALEXNET_CALLS):
        function, line = sites[name]
        check(layer["calls"] == calls, f"{what}: {name}'s layer has {calls} calls", layer)
        check(expect_name(layer, function, line), f"{what}: {name}'s layer named for "
              f"{function} at alexnet.c:{line}", layer)
    return layers


def test_alexnet(tmp):
    print("AlexNet: layers named by function and file:line in alexnet.c")
    sites = c_call_sites(ALEXNET_SRC, [n for n, _ in ALEXNET_CALLS])
    p, traces = run_traced([ALEXNET], os.path.join(tmp, "alexnet"))
    if not check(p.returncode == 0 and len(traces) == 1, "AlexNet runs and writes one trace",
                 p.stderr.decode()):
        return
    report, err = report_json(traces[0])

    def by_dwarf(layer, function, line):
        return (layer["function"] == function and layer["line"] == line and
                layer["file"].endswith("examples/alexnet.c") and layer["python"] is False and
                layer["site"] == f"{function} at alexnet.c:{line}")
    layers = alexnet_layers_named(tmp, sites, "DWARF", report, by_dwarf)
    if not layers:
        return
    by_call = {name: f"{f} at alexnet.c:{ln}" for name, (f, ln) in sites.items()}
    ops_named = all(op["site"] == by_call[op["call"].replace("_v2", "")] for op in report["ops"])
    check(ops_named, "every op of the JSON names its own call's site")
    check(sum(l["macs"] for l in layers) == report["totals"]["macs"],
          "the layers' MACs add up to the total")
    rc = subprocess.run([NNSPY, "report", traces[0]], capture_output=True, timeout=60)
    table = rc.stdout.decode()
    check("layers (calls grouped by call site" in table and
          f"{by_call['cudnnConvolutionForward']}" in table, "the table lists the layers by site")
    rc = subprocess.run([NNSPY, "report", "--format", "csv", traces[0]], capture_output=True,
                        timeout=60)
    lines = rc.stdout.decode().splitlines()
    check(lines[0].endswith(",site") and lines[1].endswith("," + by_call["cudnnConvolutionForward"]),
          "csv: a site column, named", lines[:2])


def nm_functions(binary):
    out = subprocess.run(["nm", binary], capture_output=True, text=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (l.split() for l in out.splitlines())
            if len(parts) == 3 and parts[1] in "tT"}


def addr2line_innermost(binary, address):
    out = subprocess.run(["addr2line", "-i", "-e", binary, hex(address)], capture_output=True,
                         text=True).stdout.splitlines()
    m = re.match(r".*:(\d+)", out[0]) if out else None
    return int(m.group(1)) if m else None


def test_stripped(tmp):
    print("AlexNet stripped of debug information: layers named by symbol")
    sites = c_call_sites(ALEXNET_SRC, [n for n, _ in ALEXNET_CALLS])
    d = os.path.join(tmp, "stripped")
    os.makedirs(d)
    binary = os.path.join(d, "alexnet")
    shutil.copy(ALEXNET, binary)
    subprocess.run(["strip", "--strip-debug", binary], check=True)
    p, traces = run_traced([binary], os.path.join(d, "out"))
    if not check(p.returncode == 0 and len(traces) == 1, "stripped AlexNet runs",
                 p.stderr.decode()):
        return
    report, err = report_json(traces[0])
    symbols = nm_functions(binary)

    def by_symbol(layer, function, line):
        # sym+0xOFF (alexnet): binutils maps sym's address + OFF, in the unstripped
        # twin (same code, same addresses), back to the call's line.
        m = re.fullmatch(r"(\w+)\+0x([0-9a-f]+) \(alexnet\)", layer["site"])
        return (m is not None and m.group(1) in symbols and layer["line"] is None and
                addr2line_innermost(ALEXNET, symbols[m.group(1)] + int(m.group(2), 16)) == line)
    alexnet_layers_named(tmp, sites, "symbols", report, by_symbol)


def build_id(binary):
    out = subprocess.run(["readelf", "-n", binary], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    return m.group(1) if m else None


def test_moved(tmp):
    print("a trace symbolized after the binary moved: by build-id")
    sites = c_call_sites(ALEXNET_SRC, [n for n, _ in ALEXNET_CALLS])
    d = os.path.join(tmp, "moved")
    os.makedirs(os.path.join(d, "a"))
    os.makedirs(os.path.join(d, "b"))
    old = os.path.join(d, "a", "alexnet")
    shutil.copy(ALEXNET, old)
    p, traces = run_traced([old], os.path.join(d, "out"))
    if not check(p.returncode == 0 and len(traces) == 1, "AlexNet runs from a/",
                 p.stderr.decode()):
        return
    new = os.path.join(d, "b", "renamed_net")
    shutil.move(old, new)
    decoy = os.path.join(B, "tests", "nocuda")
    shutil.copy(decoy, old)  # another program, another build-id, at the recorded path
    check(build_id(old) != build_id(new), "the decoy has another build-id")

    def by_dwarf(layer, function, line):
        return layer["site"] == f"{function} at alexnet.c:{line}"

    def by_address(layer, function, line):
        return re.fullmatch(r"alexnet\+0x[0-9a-f]+", layer["site"]) is not None
    report, err = report_json(traces[0])
    alexnet_layers_named(tmp, sites, "moved, decoy at the old path", report, by_address)
    report, err = report_json(traces[0], "--debug-dir", os.path.join(d, "b"))
    alexnet_layers_named(tmp, sites, "moved, --debug-dir", report, by_dwarf)

    # a stripped binary at the recorded path, its debug information in a separate
    # file under DIR/.build-id/xx/rest.debug
    subprocess.run(["strip", "-g", "-o", old, new], check=True)
    bid = build_id(new)
    debug = os.path.join(d, "dbg", ".build-id", bid[:2], bid[2:] + ".debug")
    os.makedirs(os.path.dirname(debug))
    subprocess.run(["objcopy", "--only-keep-debug", new, debug], check=True)
    os.remove(new)
    report, err = report_json(traces[0], env_extra={"NNSPY_DEBUG_PATH": os.path.join(d, "dbg")})
    alexnet_layers_named(tmp, sites, "stripped, separate debug file by build-id", report,
                         by_dwarf)


def test_skip_and_unreadable(tmp):
    print("NNSPY_SKIP, and stacks that cannot be read down to a frame of interest")
    sites = c_call_sites(ALEXNET_SRC, [n for n, _ in ALEXNET_CALLS])
    # alexnet's own frames skipped: the site is the first frame outside it (libc's
    # start-up code), never a line of alexnet.c
    p, traces = run_traced([ALEXNET], os.path.join(tmp, "skip"), {"NNSPY_SKIP": "alex*"})
    report, err = report_json(traces[0]) if traces else (None, "no trace")
    layers = report and report.get("layers")
    check(bool(layers) and all("alexnet" not in l["site"] for l in layers),
          "NNSPY_SKIP=alex*: no layer is named in alexnet", layers)
    # every module skipped: no frame of interest; the site says so and keeps the
    # intercepted function's caller, which is certain
    p, traces = run_traced([ALEXNET], os.path.join(tmp, "skip-all"), {"NNSPY_SKIP": "*"})
    report, err = report_json(traces[0]) if traces else (None, "no trace")

    def unreadable(layer, function, line):
        return layer["site"] == f"[stack unreadable past] {function} at alexnet.c:{line}"
    alexnet_layers_named(tmp, sites, "NNSPY_SKIP=*", report, unreadable)
    # a call from generated code (a JIT's): in no loaded object, said so, with its
    # address in the page the program generated
    jit = os.path.join(B, "tests", "jit_caller")
    p, traces = run_traced([jit], os.path.join(tmp, "jit"))
    out = p.stdout.decode().split()
    if not check(p.returncode == 0 and len(traces) == 1 and out[:1] == ["jit"],
                 "jit_caller runs", p.stderr.decode()):
        return
    if out[1] == "none":
        print("  skip the generated call (not x86-64)")
        return
    report, err = report_json(traces[0])
    layers = report["layers"] if report else []
    direct = c_call_sites(os.path.join(ROOT, "tests", "e2e", "jit_caller.c"),
                          ["cudnnAddTensor"])["cudnnAddTensor"]
    check(len(layers) == 2 and layers[0]["site"] == f"{direct[0]} at jit_caller.c:{direct[1]}",
          "the direct call is named from DWARF", layers)
    m = re.fullmatch(r"code in no loaded object \(JIT\?\) at 0x([0-9a-f]+)",
                     layers[1]["site"]) if len(layers) == 2 else None
    page = int(out[1], 16)
    check(m is not None and page <= int(m.group(1), 16) < page + 4096,
          "the generated call: in no loaded object, at an address in the generated page",
          layers)


def python_layers(tmp, name, mode, env_extra):
    out = os.path.join(tmp, name)
    env = dict(env_extra)
    if "asan" in SAN_PRELOAD:
        env["ASAN_OPTIONS"] = "detect_leaks=0"  # the interpreter's own allocations
    p, traces = run_traced([sys.executable, MODEL, SIM, mode], out, env)
    if not check(p.returncode == 0 and len(traces) == 1, f"{name}: the script runs",
                 p.stderr.decode()):
        return None
    report, err = report_json(traces[0])
    check(report is not None and report["totals"]["calls"] == 12,
          f"{name}: 12 GEMMs (3 steps of 2 linear, 1 scores, 1 head)", err)
    return report and report.get("layers")


def test_python(tmp):
    print("Python through ctypes: each operation named by its Python file:line")
    sites = py_sites(MODEL)
    sites.update(py_sites(os.path.join(FRAMEWORK, "fwops.py")))

    def named(layers, expected, what):
        if not check(layers is not None and len(layers) == len(expected),
                     f"{what}: {len(expected)} layers", layers):
            return
        for layer, (marker, file, calls) in zip(layers, expected):
            function, line = sites[marker]
            check(layer["python"] is True and layer["function"] == function and
                  layer["line"] == line and os.path.samefile(layer["file"], file) and
                  layer["calls"] == calls and
                  layer["site"] == f"{function} at {os.path.basename(file)}:{line}",
                  f"{what}: '{marker}' named {function} at {os.path.basename(file)}:{line}, "
                  f"{calls} calls", layer)
    fw = os.path.join(FRAMEWORK, "fwops.py")
    # per step: fc1 and fc2 (one line, Linear.forward), scores, head; 3 steps
    layers = python_layers(tmp, "pydll", "pydll", {"NNSPY_PYTHON_SKIP": FRAMEWORK})
    named(layers, [("linear", MODEL, 6), ("scores", MODEL, 3), ("head", MODEL, 3)],
          "GIL held, framework skipped")
    layers = python_layers(tmp, "pydll-noskip", "pydll", {})
    named(layers, [("linear", MODEL, 6), ("scores", MODEL, 3), ("framework-gemm", fw, 3)],
          "GIL held, nothing skipped")
    layers = python_layers(tmp, "cdll", "cdll", {})
    check(layers is not None and all(not l["python"] and ".py:" not in l["site"]
                                     for l in layers),
          "GIL released (ctypes.CDLL): no Python line claimed", layers)


def test_cuda_graph(tmp):
    print("AlexNet replayed by a CUDA graph: each call keeps the site it was captured at")
    sites = c_call_sites(ALEXNET_SRC, [n for n, _ in ALEXNET_CALLS] + ["cudaGraphLaunch"])
    p, traces = run_traced([ALEXNET, "--cuda-graph", "--iters", "3"], os.path.join(tmp, "graph"))
    if not check(p.returncode == 0 and len(traces) == 1, "AlexNet --cuda-graph writes one trace",
                 p.stderr.decode()):
        return
    report, err = report_json(traces[0])
    if not check(report is not None, "the trace reports", err):
        return
    by_call = {name: f"{f} at alexnet.c:{ln}" for name, (f, ln) in sites.items()}
    replayed = [op for op in report["ops"] if op["op"] != "graph_launch"]
    launches = [op for op in report["ops"] if op["op"] == "graph_launch"]
    check(len(replayed) == 3 * 27 and
          all(op["site"] == by_call[op["call"].replace("_v2", "")] for op in replayed),
          "the 81 replayed calls are named by their capture site, not the launch")
    check(len(launches) == 3 and all(op["site"] == by_call["cudaGraphLaunch"] for op in launches),
          f"each launch row is named by the cudaGraphLaunch call ({by_call.get('cudaGraphLaunch')})")


def main():
    if not os.path.exists(NNSPY) or not os.path.exists(LIB):
        print("run_sites.py: nnspy or libnnspy.so is not built")
        sys.exit(1)
    tmp = tempfile.mkdtemp(prefix="nnspy-sites-")
    try:
        for test in (test_alexnet, test_stripped, test_moved, test_skip_and_unreadable,
                     test_python, test_cuda_graph):
            test(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} call-site check(s) failed:")
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print("\nall call-site checks passed")


if __name__ == "__main__":
    main()
