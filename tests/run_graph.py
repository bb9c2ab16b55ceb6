#!/usr/bin/env python3
"""cuDNN's graph (backend) API and CUDA graphs on the simulated device.

Every expected number is derived by hand below, never taken from nnspy's output.
Run by `make check` (or `make e2e`).
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import B, alexnet_frame_ns, check, failures  # noqa: E402
from run_e2e import ALEXNET, ALEXNET_MACS, run  # noqa: E402

GRAPH_API = f"{B}/tests/graph_api"
F32 = 4

# Convolution cases of tests/e2e/graph_api.c: MACs = N K prod(out) (C / groups) prod(kernel)
# (every tap at every output position). Bytes: x and w read, y written, 4 bytes each.
CONV_CASES = [
    # name, legacy too, MACs, filter elements, x, y elements
    ("plain", True, 2 * 8 * 16 * 16 * 3 * 9, 8 * 3 * 9, 2 * 3 * 256, 2 * 8 * 256),         # 110,592
    ("grouped", True, 1 * 8 * 8 * 8 * 2 * 9, 8 * 2 * 9, 8 * 100, 8 * 64),                 # 9,216
    ("strided", True, 6 * 7 * 7 * 4 * 9, 6 * 4 * 9, 4 * 225, 6 * 49),                    # 10,584
    ("dilated", True, 3 * 8 * 8 * 2 * 9, 3 * 2 * 9, 2 * 144, 3 * 64),                    # 3,456
    ("asymmetric", False, 5 * 5 * 1 * 4, 4, 25, 25),                                  # 100
    ("3d", True, 4 * 4 * 6 * 6 * 2 * 27, 4 * 2 * 27, 2 * 4 * 36, 4 * 4 * 36),            # 31,104
]

# Attention: b=2, h=4, s_q=64, s_k=128, d=d_v=32.
B_, H, SQ, SK, D = 2, 4, 64, 128, 32
ATT_MACS = 2 * B_ * H * SQ * SK * D                      # Q.K^T and P.V: 4,194,304
SCORES, ROWS = B_ * H * SQ * SK, B_ * H * SQ             # 65,536 and 512
# Softmax: scale, subtract max, exp, divide (4 per score) + row max and row sum
# (s_k - 1 per row each). The composite graph has exactly these nodes: MUL, SUB,
# EXP, DIV pointwise (one FLOP per score each), MAX and ADD reductions (in - out).
SOFTMAX_FLOPS = 4 * SCORES + 2 * (SCORES - ROWS)         # 392,192
ATT_FLOPS = 2 * ATT_MACS + SOFTMAX_FLOPS                 # 8,780,800
ATT_READ = (B_ * H * SQ * D + 2 * B_ * H * SK * D) * F32  # Q, K, V: 327,680
ATT_WRITTEN = B_ * H * SQ * D * F32                      # O: 65,536


def same_cost(a, b):
    keys = ("macs", "flops", "params", "bytes_read", "bytes_written")
    return all(a[k] == b[k] for k in keys)


def check_convolutions(ops):
    i = 0
    for name, legacy, macs, filt, x, y in CONV_CASES:
        rows = ops[i:i + (3 if legacy else 2)]
        i += len(rows)
        graph_rows = rows[-2:]
        check(all(r["call"] == "cudnnBackendExecute" and r["op"] == "conv_fwd" for r in graph_rows),
              f"{name}: the cached plan executed twice, counted as conv_fwd twice")
        g = graph_rows[0]
        check(g["macs"] == macs and g["flops"] == 2 * macs,
              f"{name}: graph API MACs {g['macs']:,} == {macs:,}, FLOPs 2 x MACs")
        check(g["params"] == filt, f"{name}: the filter's {filt} elements are parameters")
        check(g["bytes_read"] == (x + filt) * F32 and g["bytes_written"] == y * F32,
              f"{name}: bytes read {(x + filt) * F32:,} (x, w), written {y * F32:,} (y)")
        check(same_cost(graph_rows[0], graph_rows[1]), f"{name}: both executions cost the same")
        if legacy:
            check(rows[0]["call"] == "cudnnConvolutionForward" and same_cost(rows[0], g),
                  f"{name}: legacy and graph API give the same MACs, FLOPs, params and bytes")
    return i


def check_attention(ops, i):
    node, failed, composite = ops[i], ops[i + 1], ops[i + 2]
    check(node["op"] == "sdpa_fwd" and node["macs"] == ATT_MACS,
          f"SDPA node: MACs {node['macs']:,} == 2 b h s_q s_k d = {ATT_MACS:,}")
    check(node["flops"] == ATT_FLOPS,
          f"SDPA node: FLOPs {node['flops']:,} == 4 b h s_q s_k d + softmax {SOFTMAX_FLOPS:,}")
    check(node["bytes_read"] == ATT_READ and node["bytes_written"] == ATT_WRITTEN,
          "SDPA node: reads Q, K, V and writes O")
    check(composite["op"] == "graph" and "8 ops" in composite["shape"],
          f"composite attention: one graph of 8 operations ({composite['shape']})")
    check(composite["macs"] == ATT_MACS and composite["flops"] == ATT_FLOPS,
          "composite attention: the same MACs and FLOPs as the SDPA node")
    check(composite["bytes_read"] == ATT_READ and composite["bytes_written"] == ATT_WRITTEN,
          "composite attention: virtual intermediates move no memory (same bytes as the node)")
    check(node["params"] == 0 and composite["params"] == 0,
          "attention: none of Q, K, V is a parameter")
    check(not failed["succeeded"] and failed["call"] == "cudnnBackendExecute",
          "an execution with an incomplete variant pack is a failed call")
    return i + 3


def check_populated(ops, i):
    rows = ops[i:i + 7]
    check(len(rows) == 7, f"3 launches of the populated graph and a GEMM: 7 rows (got {len(rows)})")
    launches, convs, gemm = rows[0:6:2], rows[1:6:2], rows[6]
    check(all(r["api"] == "cuda" and r["op"] == "graph_launch" and r["macs"] == 0 for r in launches),
          "each launch adds a graph_launch row of no work")
    check(all(r["gpu_time_ms"] is not None and r["gpu_time_ms"] > 0 for r in launches),
          "each launch row carries the graph's GPU time")
    check(all(r["op"] == "conv_fwd" and r["macs"] == CONV_CASES[0][2] for r in convs),
          "each launch counts the populated convolution again (110,592 MACs)")
    # The update moved the convolution's output to y2: the GEMM reading y2 as A takes
    # its B (64 x 8 = 512) as the weight.
    check(gemm["api"] == "cublas" and gemm["params"] == 64 * 8,
          f"after cudnnBackendUpdateCudaGraph the launches write the new output: the GEMM's "
          f"parameter is its B, 512 (got {gemm['params']})")
    return i + 7


# Two linear layers in one graph (row-major): X[32,64].W1[64,128] -> H (virtual),
# H.W2[128,16] -> Y. MACs 32*128*64 + 32*16*128 = 262,144 + 65,536. Parameters: W1 and
# W2, 8,192 + 2,048 = 10,240 (X, from the host, is not one: cuDNN's B is the weight).
def check_mlp(r, ops, i):
    row = ops[i]
    check(row["op"] == "graph" and row["macs"] == 262_144 + 65_536,
          f"two matmuls in one graph: {262_144 + 65_536:,} MACs (got {row['macs']:,})")
    check(row["params"] == 8_192 + 2_048,
          f"both weights are parameters, not the input: 10,240 (got {row['params']:,})")
    return i + 1


# A graph writing C and D = ReLU(C) (both in memory), then a GEMM reading D as A with
# a weight W3 (128 x 16 = 2,048) as B: D is an activation, W3 the GEMM's parameter.
def check_two_outputs(r, ops, i):
    graph, gemm = ops[i], ops[i + 1]
    check(graph["macs"] == 32 * 128 * 64 and graph["params"] == 64 * 128,
          "the graph: X.W1 (262,144 MACs), W1 its parameter (8,192)")
    check(gemm["api"] == "cublas" and gemm["params"] == 128 * 16,
          f"the GEMM after it reads the graph's second output as an activation: its parameter "
          f"is W3, 2,048 (got {gemm['params']:,})")
    return i + 2


# Autotuning of the plain convolution (110,592 MACs): a legacy search that ran 3
# algorithms (3 x 110,592 = 331,776 MACs), then 3 plans of one graph run 3 times
# each, then the second plan 5 times. Every run up to the third plan's last is
# benchmarking: 1 + 9 calls, 331,776 + 9 x 110,592 = 1,327,104 MACs.
CONV_MACS = CONV_CASES[0][2]
TUNE_CALLS, TUNE_MACS = 1 + 9, 3 * CONV_MACS + 9 * CONV_MACS


def check_autotuning(r, ops, i):
    search = ops[i]
    check(search["call"] == "cudnnFindConvolutionForwardAlgorithm" and
          search["op"] == "conv_fwd_search" and search["macs"] == 3 * CONV_MACS,
          f"the search of 3 algorithms costs 3 convolutions: {3 * CONV_MACS:,} MACs")
    runs = ops[i + 1:]
    check(len(runs) == 14 and all(o["macs"] == CONV_MACS for o in runs),
          f"9 benchmark runs and 5 steady runs of the convolution (got {len(runs)} rows)")
    tune = r["frames"].get("autotune", {})
    check(tune.get("calls") == TUNE_CALLS and tune.get("macs") == TUNE_MACS,
          f"autotuning shown apart: {TUNE_CALLS} calls, {TUNE_MACS:,} MACs (got {tune})")
    check(r["totals"]["macs"] >= TUNE_MACS, "autotuning is in the totals")
    f = r["frames"]
    check(f["count"] == 5 and f["calls_per_frame"] == 1 and f["macs_per_frame"] == CONV_MACS,
          "the steady state after autotuning: 5 frames of one convolution "
          f"(got {f['count']} frames of {f['calls_per_frame']} calls, {f['macs_per_frame']:,} MACs)")


# Convolution, batch norm at inference and ReLU in one graph, on the plain
# convolution's output y (2 x 8 x 16 x 16 = 4,096 elements): 110,592 MACs; FLOPs
# 2 x MACs + batch norm 4 per element + ReLU 1 per element = 221,184 + 20,480.
# Bytes: x 1,536 and w 216 elements read, the four 8-element statistics read, y
# written; the intermediate tensors are virtual. Parameters: the filter (216), scale
# and bias (8 + 8); buffers: mean and inverse variance (8 + 8).
def check_conv_bn(r, ops, i):
    row = ops[i]
    y = 2 * 8 * 16 * 16
    check(row["op"] == "conv_fwd" and "3 ops" in row["shape"],
          f"conv + batch norm + ReLU: one conv_fwd row, a graph of 3 ops ({row['shape']})")
    check(row["macs"] == CONV_MACS and row["flops"] == 2 * CONV_MACS + 5 * y,
          f"MACs {CONV_MACS:,}; FLOPs 2 x MACs + 5 x {y:,} (got {row['flops']:,})")
    check(row["bytes_read"] == (1536 + 216 + 4 * 8) * F32 and row["bytes_written"] == y * F32,
          "virtual intermediates move no memory: x, w, statistics read, y written")
    check(row["params"] == 216 + 16, "the filter, scale and bias are parameters (232)")
    check(r["totals"].get("buffers") == 16,
          f"mean and inverse variance are buffers (16), not parameters (got {r['totals'].get('buffers')})")
    return i + 1


def test_graph_api():
    print("cuDNN graph API: convolutions, attention, a populated CUDA graph")
    rc, out, err, r = run([GRAPH_API], json_out=True)
    check(rc == 0, f"exit status 0 (got {rc})", err)
    if not r:
        check(False, "JSON summary written", err)
        return
    ops = r["ops"]
    i = check_convolutions(ops)
    i = check_attention(ops, i)
    i = check_populated(ops, i)
    i = check_conv_bn(r, ops, i)
    i = check_mlp(r, ops, i)
    i = check_two_outputs(r, ops, i)
    check_autotuning(r, ops, i)
    conv_params = sum(c[3] for c in CONV_CASES)  # legacy and graph share each filter: 850
    # The populated graph, the autotuning and the conv-BN graph each have a filter of
    # their own.
    check(r["totals"]["params"] ==
          conv_params + 3 * CONV_CASES[0][3] + 16 + 10_240 + 8_192 + 2_048 + 512,
          f"distinct parameters: {conv_params} + 3 more filters of 216 + a scale and bias of 8 "
          "+ the two linear layers' 10,240 + W1 8,192 and W3 2,048 after them + 512")
    check(r["totals"]["failed_calls"] == 1, "one failed call")


def test_alexnet_cuda_graph():
    print("AlexNet captured once into a CUDA graph, launched 10 times")
    rc, out, err, r = run([ALEXNET, "--cuda-graph", "--iters", "10"], json_out=True)
    check(rc == 0, f"exit status 0 (got {rc})", err)
    if not r:
        check(False, "JSON summary written", err)
        return
    f = r["frames"]
    check(f["count"] == 10 and f["warmup"] == 0, f"10 frames, no warm-up (got {f['count']})")
    check(f["macs_per_frame"] == ALEXNET_MACS, f"each frame {ALEXNET_MACS:,} MACs")
    check(r["totals"]["macs"] == 10 * ALEXNET_MACS, "10 x the MACs in the totals")
    check(r["totals"]["params"] == 61_100_840, "parameters counted once: 61,100,840")
    check(f["calls_per_frame"] == 28, "27 calls and the launch row per frame")
    want = alexnet_frame_ns() / 1e6
    got = f["latency_ms"]["mean"] if f.get("latency_ms") else None
    check(got is not None and abs(got - want) < 1e-6,
          f"latency per frame = the graph launch's GPU time, {want:.6f} ms (got {got})")
    launches = [o for o in r["ops"] if o["op"] == "graph_launch"]
    check(len(launches) == 10, "10 launch rows")


def test_driver_api_graph():
    print("CUDA graphs through the driver API: a capture launched 4 times, then a capture "
          "into a graph made beforehand, added to a parent as a child node, launched twice")
    rc, out, err, r = run([f"{B}/tests/driver_graph"], json_out=True)
    check(rc == 0, f"exit status 0 (got {rc})", err)
    if not r:
        check(False, "JSON summary written", err)
        return
    # Convolution 1x4x8x8 * 6x4x3x3 -> 1x6x6x6: 6 x 36 x 4 x 9 = 7,776 MACs; GEMM
    # 32 x 16 x 8 = 4,096 MACs; each launch replays both.
    conv, gemm = 6 * 36 * 4 * 9, 32 * 16 * 8
    launches = [o for o in r["ops"] if o["op"] == "graph_launch"]
    check(len(launches) == 6 and len(r["ops"]) == 18, "6 launch rows, each with its 2 calls")
    check(r["totals"]["macs"] == 6 * (conv + gemm), f"6 x ({conv:,} + {gemm:,}) MACs "
          f"(got {r['totals']['macs']:,})")
    check([o["op"] for o in r["ops"][12:]] == ["graph_launch", "conv_fwd", "gemm"] * 2,
          "the parent's launches replay the child's captured calls")
    # The filter (6x4x3x3 = 216) and the GEMM's A (32 x 8 = 256), counted once.
    check(r["totals"]["params"] == 216 + 256, "parameters counted once: 216 + 256")
    f = r["frames"]
    check(f["count"] == 6 and f["macs_per_frame"] == conv + gemm,
          f"6 frames of {conv + gemm:,} MACs (got {f['count']})")


def main():
    # Traces of the programs run here go to a scratch directory, not the checkout.
    traces = tempfile.mkdtemp(prefix="nnspy-graph-traces-")
    os.environ["NNSPY_OUTPUT"] = os.path.join(traces, "%e-%p.nns")
    try:
        test_graph_api()
        test_alexnet_cuda_graph()
        test_driver_api_graph()
    finally:
        shutil.rmtree(traces, ignore_errors=True)
    if failures:
        print(f"run_graph: {len(failures)} check(s) failed")
        sys.exit(1)
    print("run_graph: all checks passed")


if __name__ == "__main__":
    main()
