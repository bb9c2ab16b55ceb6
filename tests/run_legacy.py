#!/usr/bin/env python3
"""End-to-end checks of the rest of the legacy cuDNN API (batch norm, op-tensor, ...)
and of cuBLAS beyond GEMM, on the simulated device.

Every expected number is derived by hand below (the comments show the arithmetic),
never copied from nnspy's output. Run by `make e2e` (and so `make check`).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import B, LIB, NNSPY, SAN_PRELOAD, SIM, check, failures  # noqa: E402

TESTS = f"{B}/tests"
# Each run's JSON and trace, removed at the end.
SCRATCH = tempfile.mkdtemp(prefix="nnspy-legacy-")


def run(argv, preload=True, env_extra=None):
    """Runs argv on the simulated device; returns (rc, stdout, stderr, JSON, trace path)."""
    env = dict(os.environ, LD_LIBRARY_PATH=SIM)
    env.pop("NNSPY_JSON", None)
    if preload:
        env["LD_PRELOAD"] = f"{SAN_PRELOAD}:{LIB}" if SAN_PRELOAD else LIB
    elif SAN_PRELOAD:
        env["LD_PRELOAD"] = SAN_PRELOAD
    else:
        env.pop("LD_PRELOAD", None)
    tmp = tempfile.mkdtemp(dir=SCRATCH)
    json_path, trace = os.path.join(tmp, "r.json"), os.path.join(tmp, "t.nns")
    env.update({"NNSPY_JSON": json_path, "NNSPY_OUTPUT": trace}, **(env_extra or {}))
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    report = None
    if os.path.exists(json_path):
        with open(json_path) as f:
            report = json.load(f)
    return p.returncode, p.stdout, p.stderr, report, trace


def ops_of(r, kind):
    return [o for o in r["ops"] if o["op"] == kind]


# --------------------------------------------------------- ResNet bottleneck by hand
# x 1x256x56x56; 56 x 56 = 3,136 positions. Convolution MACs = K x H x W x C x kh x kw:
HW = 56 * 56
CONV_MACS = [64 * HW * 256 * 1 * 1,     # conv1 1x1 256->64:   51,380,224
             64 * HW * 64 * 3 * 3,      # conv2 3x3 64->64:   115,605,504
             256 * HW * 64 * 1 * 1]     # conv3 1x1 64->256:   51,380,224
BOTTLENECK_MACS = 218_365_952
CONV_PARAMS = 256 * 64 + 64 * 64 * 9 + 64 * 256      # 69,632 filter weights, no bias
BN_PARAMS = 2 * (64 + 64 + 256)                      # scale + shift per channel: 768
BN_BUFFERS = 2 * (64 + 64 + 256)                     # running mean + variance: 768
MID, OUT = 64 * HW, 256 * HW                         # 200,704 and 802,816 elements
# Inference, elementwise FLOPs (README table): batch norm 4 per element, ReLU 1,
# op-tensor add 1:
#   BN1, BN2 4 x 200,704 each = 1,605,632; BN3 4 x 802,816 = 3,211,264
#   ReLU1, ReLU2 200,704 each = 401,408; residual add 802,816; last ReLU 802,816
INFERENCE_ELEMENTWISE = 4 * MID * 2 + 4 * OUT + MID * 2 + OUT + OUT      # 6,823,936
# Training: batch norm 8 per element; BN3 is the Ex form with z added (1) and ReLU
# (1) fused: 10 per element; ReLU1, ReLU2 stay separate calls:
#   8 x 200,704 x 2 = 3,211,264; 10 x 802,816 = 8,028,160; 401,408
TRAINING_ELEMENTWISE = 8 * MID * 2 + 10 * OUT + MID * 2                  # 11,640,832


def check_bottleneck_common(r, what):
    t = r["totals"]
    check(sum(CONV_MACS) == BOTTLENECK_MACS, "hand-derived conv MACs add up to 218,365,952")
    check(t["macs"] == BOTTLENECK_MACS, f"{what}: MACs {t['macs']:,} == 218,365,952")
    check([o["macs"] for o in ops_of(r, "conv_fwd")] == CONV_MACS, f"{what}: each conv's MACs")
    check(CONV_PARAMS == 69_632, "conv parameters 256*64 + 64*64*9 + 64*256 = 69,632")
    check(t["params"] == CONV_PARAMS + BN_PARAMS,
          f"{what}: params {t['params']:,} == 69,632 + 768 (scale and shift) = 70,400")
    check(t["param_bytes"] == 4 * (CONV_PARAMS + BN_PARAMS), f"{what}: parameter bytes, float")
    check(t.get("buffers") == BN_BUFFERS,
          f"{what}: buffers {t.get('buffers')} == 768 running mean + variance elements")
    check(t.get("buffer_bytes") == 4 * BN_BUFFERS, f"{what}: buffer bytes 3,072")
    check(t["unknown_cost_calls"] == 0, f"{what}: no call of unknown cost")


def test_bottleneck_inference():
    print("ResNet bottleneck, inference (cudnnBatchNormalizationForwardInference)")
    rc, out, err, r, trace = run([f"{TESTS}/bottleneck"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    check_bottleneck_common(r, "inference")
    t = r["totals"]
    flops = 2 * BOTTLENECK_MACS + INFERENCE_ELEMENTWISE
    check(t["flops"] == flops, f"FLOPs {t['flops']:,} == 2 x MACs + 6,823,936 = {flops:,}")
    # conv, BN, ReLU twice; conv3, BN3, op-tensor add, ReLU: 3 + 3 + 4 = 10
    check(t["calls"] == 10 and t["failed_calls"] == 0, f"10 calls, none failed (got {t['calls']})")
    bn = ops_of(r, "bn_inference")
    check([o["params"] for o in bn] == [128, 128, 512],
          "each batch norm reads 2 x C parameters (running statistics not among them)")
    # BN1 reads x (200,704 floats) and four 64-float channel tensors, writes y:
    check(bn and bn[0]["bytes_read"] == 4 * (MID + 4 * 64), "BN1 bytes read 4 x (200,704 + 256)")
    check(bn and bn[0]["bytes_written"] == 4 * MID, "BN1 bytes written 4 x 200,704")
    check(bn and bn[0]["flops"] == 4 * MID and bn[0]["macs"] == 0, "BN1: 4 FLOPs per element, 0 MACs")
    add = ops_of(r, "op_tensor")
    # the residual add reads A and B (802,816 floats each), writes C
    check(add and add[0]["params"] == 0, "the residual add counts no parameters")
    check(add and add[0]["bytes_read"] == 8 * OUT and add[0]["bytes_written"] == 4 * OUT,
          "residual add: reads 2 x 802,816 floats, writes 802,816")
    check("buffers        768" in err, "exit table shows the buffers apart", err)
    _, out2, _, _, _ = run([f"{TESTS}/bottleneck"], preload=False)
    check(out == out2, "program stdout identical with and without nnspy")
    # The trace carries the buffers to nnspy report.
    p = subprocess.run([NNSPY, "report", "--format", "json", trace], capture_output=True,
                       text=True, timeout=60)
    try:
        rt = json.loads(p.stdout)["totals"]
    except (ValueError, KeyError):
        rt = {}
    check(rt.get("buffers") == BN_BUFFERS and rt.get("params") == CONV_PARAMS + BN_PARAMS,
          "nnspy report reads params and buffers back from the trace", p.stderr)


def test_bottleneck_training():
    print("ResNet bottleneck, training forward (ForwardTraining, ForwardTrainingEx)")
    rc, _, err, r, _ = run([f"{TESTS}/bottleneck", "--train"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    check_bottleneck_common(r, "training")
    t = r["totals"]
    flops = 2 * BOTTLENECK_MACS + TRAINING_ELEMENTWISE
    check(t["flops"] == flops, f"FLOPs {t['flops']:,} == 2 x MACs + 11,640,832 = {flops:,}")
    check(t["calls"] == 8, f"8 calls: 3 x (conv, BN) + 2 ReLU, nothing after the fused BN3 "
          f"(got {t['calls']})")
    bn = ops_of(r, "bn_training")
    # BN1 training: reads x, scale, shift, running mean and variance; writes y, the
    # running statistics and the saved mean and inverse variance.
    check(bn and bn[0]["bytes_read"] == 4 * (MID + 4 * 64), "BN1 training bytes read")
    check(bn and bn[0]["bytes_written"] == 4 * (MID + 4 * 64), "BN1 training bytes written")
    # BN3 Ex also reads z (802,816 floats)
    check(len(bn) == 3 and bn[2]["bytes_read"] == 4 * (2 * OUT + 4 * 256), "BN3 Ex reads z too")


def test_failed_batch_norm():
    print("a batch norm cuDNN rejects is counted as failed, not in the totals")
    rc, _, err, r, _ = run([f"{TESTS}/bottleneck", "--bad-call"])
    if not check(rc == 0 and r is not None, "runs (the program expects BAD_PARAM)", err):
        return
    t = r["totals"]
    check(t["failed_calls"] == 1 and t["calls"] == 11, "11 calls (10 + the rejected one), 1 failed")
    check(t["macs"] == BOTTLENECK_MACS and t["flops"] == 2 * BOTTLENECK_MACS + INFERENCE_ELEMENTWISE,
          "totals unchanged by the failed call")
    check(t["params"] == CONV_PARAMS + BN_PARAMS and t["buffers"] == BN_BUFFERS,
          "parameters and buffers unchanged by the failed call")


# ------------------------------------------------------------ cuBLAS beyond GEMM
# gemv MACs = rows x cols of A per product; dot MACs = n; geam: 1 FLOP per element
# when B is added, none for a transpose (beta 0). Parameters: gemv's A unless an
# earlier operation wrote it or it differs per product of a batch.
GEMV_MACS = [512 * 1000,      # fc1, T 512x1000:             512,000 (W1 512,000 params)
             10 * 1000,       # fc2, N 10x1000:               10,000 (W2 10,000 params)
             4 * 8 * 16,      # strided, shared 8x16 weight:     512 (128 params)
             4 * 8 * 16,      # strided, 4 distinct matrices:    512 (none)
             2 * 8 * 16,      # pointer arrays:                  256 (never read: none)
             100 * 200]       # on geam's output:             20,000 (an activation: none)
DOT_MACS = [1000, 500]
VEC_MACS = sum(GEMV_MACS) + sum(DOT_MACS)                    # 544,780
VEC_PARAMS = 512 * 1000 + 10 * 1000 + 8 * 16                 # 522,128
VEC_FLOPS = 2 * VEC_MACS + 100 * 200                         # + geam's adds: 1,109,560


def test_blas_vec():
    print("cuBLAS beyond GEMM: gemv (plain, strided, batched), dot, DotEx, geam")
    rc, out, err, r, _ = run([f"{TESTS}/blas_vec"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    t = r["totals"]
    check(VEC_MACS == 544_780 and t["macs"] == VEC_MACS, f"MACs {t['macs']:,} == 544,780")
    check(t["flops"] == VEC_FLOPS, f"FLOPs {t['flops']:,} == 2 x 544,780 + 20,000 = 1,109,560")
    check(t["params"] == VEC_PARAMS, f"params {t['params']:,} == 512,000 + 10,000 + 128 = 522,128")
    check(t["calls"] == 11 and t["failed_calls"] == 1, "11 calls, the rejected gemv failed")
    check([o["macs"] for o in ops_of(r, "gemv") if o["succeeded"]] == GEMV_MACS,
          "each gemv's MACs")
    check([o["params"] for o in ops_of(r, "gemv") if o["succeeded"]] ==
          [512_000, 10_000, 128, 0, 0, 0], "each gemv's parameters")
    check([o["macs"] for o in ops_of(r, "dot")] == DOT_MACS, "dot MACs = n")
    geam = ops_of(r, "geam")
    check([(o["macs"], o["flops"]) for o in geam] == [(0, 20_000), (0, 0)],
          "geam: 20,000 adds, then a transpose of no FLOPs")
    # fc1 reads A (512,000 floats) and x (512), writes y (1,000): bytes x 4
    fc1 = ops_of(r, "gemv")[0]
    check(fc1["bytes_read"] == 4 * (512_000 + 512) and fc1["bytes_written"] == 4 * 1000,
          "fc1 bytes read and written")
    _, out2, _, _, _ = run([f"{TESTS}/blas_vec"], preload=False)
    check(out == out2, "program stdout identical with and without nnspy")


# ------------------------------------------------------------------ RNN by hand
# MACs per step = sum over layers and directions of gates x hidden x (inputs +
# hidden): the input and recurrent GEMMs. Steps = the sum of the sequence lengths.
LSTM_STEPS = 35 + 35 + 30 + 20                                # 120
LSTM_STEP_MACS = 4 * 512 * (256 + 512) + 4 * 512 * (512 + 512)  # 1,572,864 + 2,097,152
LSTM_MACS = LSTM_STEPS * LSTM_STEP_MACS                       # 440,401,920
# PyTorch's nn.LSTM(256, 512, num_layers=2) parameter count: 4h(i + h + 2) per layer
LSTM_PARAMS = 4 * 512 * (256 + 512 + 2) + 4 * 512 * (512 + 512 + 2)   # 3,678,208
# gate math: 22 FLOPs + 4 gates x 2 bias vectors = 30 per hidden unit per step per layer
LSTM_GATE_FLOPS = LSTM_STEPS * 2 * 512 * (22 + 4 * 2)         # 3,686,400
GRU_STEPS = 10 + 10
GRU_MACS = GRU_STEPS * 2 * 3 * 128 * (64 + 128)               # 2 directions: 2,949,120
GRU_PARAMS = 2 * 3 * 128 * (64 + 128 + 2)                     # nn.GRU(64, 128, bidirectional): 148,992
GRU_GATE_FLOPS = GRU_STEPS * 2 * 128 * (17 + 3 * 2)           # 117,760


def test_rnn():
    print("RNN: LSTM (2 layers, variable lengths) and bidirectional GRU, cudnnRNNForward")
    rc, out, err, r, _ = run([f"{TESTS}/rnn"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    check(LSTM_MACS == 440_401_920 and LSTM_PARAMS == 3_678_208, "hand counts: LSTM")
    fwd = ops_of(r, "rnn_fwd")
    check([o["macs"] for o in fwd] == [LSTM_MACS, GRU_MACS],
          "LSTM 440,401,920 and GRU 2,949,120 MACs")
    check([o["params"] for o in fwd] == [LSTM_PARAMS, GRU_PARAMS],
          "weight spaces: 3,678,208 and 148,992 parameters (PyTorch's counts)")
    check([o["flops"] for o in fwd] == [2 * LSTM_MACS + LSTM_GATE_FLOPS, 2 * GRU_MACS + GRU_GATE_FLOPS],
          "FLOPs = 2 x MACs + the gate math")
    check(r["totals"]["params"] == LSTM_PARAMS + GRU_PARAMS, "total parameters 3,827,200")
    # The simulated library sizes the weight space with its own code: 4 bytes each.
    check(f"weight space {4 * LSTM_PARAMS} bytes" in out, "the library's weight space agrees", out)
    print("RNN training: forward, backward data, backward weights")
    rc, _, err, r, _ = run([f"{TESTS}/rnn", "--train"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    t = r["totals"]
    check(t["macs"] == 3 * LSTM_MACS, "3 passes of 440,401,920 MACs")
    # backward weights has no gate math: 2 x MACs; the other two add it
    check(t["flops"] == 3 * 2 * LSTM_MACS + 2 * LSTM_GATE_FLOPS, "FLOPs of the three passes")
    check(t["params"] == LSTM_PARAMS, "weights counted once; their gradient is no parameter")


# ------------------------------------------------------- multi-head attention by hand
# Embedding 512, 8 heads of 64, biases; sequences of 64 and 48 tokens: 112 tokens.
TOKENS = 64 + 48
PROJ = TOKENS * 8 * 512 * 64                     # one projection: 29,360,128 MACs
PROJECTIONS = 4 * PROJ                           # Q, K, V and output: 117,440,512
FULL_SCORES = 64 * 64 + 48 * 48                  # query x key pairs per head: 6,400
CAUSAL_SCORES = 64 * 65 // 2 + 48 * 49 // 2      # keys 0..t for step t: 3,256
# Q K^T and P V together: 2 x h x d x scores = 2 x b x h x s_q x s_k x d
FULL_MACS = PROJECTIONS + 2 * 8 * 64 * FULL_SCORES          # 123,994,112
CAUSAL_MACS = PROJECTIONS + 2 * 8 * 64 * CAUSAL_SCORES      # 120,774,656
# decoding step 10: 2 query tokens (one per sequence), each seeing its 64 or 48 keys;
# K and V are projected whole
STEP_MACS = 2 * 2 * 8 * 512 * 64 + 2 * PROJ + 2 * 8 * 64 * (64 + 48)   # 59,883,520
# nn.MultiheadAttention(512, 8): 4 x 512^2 weights + 4 x 512 biases
MHA_PARAMS = 4 * 512 * 512 + 4 * 512            # 1,050,624
# elementwise: softmax 5 per score per head; 1 per biased projected element
BIAS_ADDS = TOKENS * 8 * 64 * 3 + TOKENS * 512   # 229,376
FULL_FLOPS = 2 * FULL_MACS + 5 * 8 * FULL_SCORES + BIAS_ADDS   # 248,473,600


def test_mha():
    print("multi-head attention: full, causal, one decoding step")
    rc, out, err, r, _ = run([f"{TESTS}/mha"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    fwd = ops_of(r, "mha_fwd")
    check([o["macs"] for o in fwd] == [FULL_MACS, CAUSAL_MACS, STEP_MACS],
          "MACs 123,994,112 (full), 120,774,656 (causal), 59,883,520 (one step)")
    check(fwd and fwd[0]["flops"] == FULL_FLOPS, "full: FLOPs 248,473,600")
    check(r["totals"]["params"] == MHA_PARAMS,
          "parameters 1,050,624 (nn.MultiheadAttention(512, 8)); Q, K, V are not parameters")
    check(f"weight buffer {4 * MHA_PARAMS} bytes" in out, "the library's weight buffer agrees", out)
    print("multi-head attention training: forward, backward data, backward weights")
    rc, _, err, r, _ = run([f"{TESTS}/mha", "--train"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    # backward data: the projections once, Q K^T and P V twice; backward weights:
    # the projections once
    bwd_data = PROJECTIONS + 2 * 2 * 8 * 64 * FULL_SCORES       # 130,547,712
    check([o["macs"] for o in r["ops"]] == [FULL_MACS, bwd_data, PROJECTIONS],
          "MACs of the three passes")
    check([o["flops"] for o in r["ops"]][1:] ==
          [2 * bwd_data + 4 * 8 * FULL_SCORES, 2 * PROJECTIONS + BIAS_ADDS],
          "backward FLOPs: softmax gradient 4 per score; bias gradients 1 per element")
    check(r["totals"]["params"] == MHA_PARAMS, "weights counted once; their gradient is no parameter")


# ------------------------------------------- the other legacy operations by hand
# x = 2x16x8x8 = 2,048 float elements (8,192 bytes); FLOPs per element (README table)
E = 2 * 16 * 8 * 8
OPS_FLOPS = {
    "softmax": 5 * E,            # accurate: max, subtract, exp, sum, divide: 10,240
    "softmax_bwd": 4 * E,        # 8,192
    "lrn": (2 * 5 + 3) * E,      # window 5: 26,624
    "dropout": 2 * E,            # 4,096
    "dropout_bwd": 1 * E,        # 2,048
    "scale_tensor": 1 * E,       # 2,048
    "transform": 0,
    "activation_bwd": (1 + 1) * E,   # ReLU's 1 + the multiply by dy: 4,096
    "pool_bwd": (4 - 1) * 512,   # 2x2 max: 3 comparisons per output of 2x16x4x4: 1,536
    "bn_backward": 9 * E,        # 18,432
    "op_tensor": 1 * E,          # 2,048
}


def test_legacy_ops():
    print("softmax, LRN, dropout, scale, transform, activation/pooling/batch-norm backward, op-tensor")
    rc, _, err, r, _ = run([f"{TESTS}/legacy_ops"])
    if not check(rc == 0 and r is not None, "runs, writes its JSON", err):
        return
    got = {o["op"]: o["flops"] for o in r["ops"]}
    check(got == OPS_FLOPS, "each operation's FLOPs", got)
    t = r["totals"]
    check(t["macs"] == 0 and t["flops"] == sum(OPS_FLOPS.values()) == 79_360,
          "0 MACs, 79,360 FLOPs in all")
    # batch-norm backward reads its scale (16 floats); nothing else reads weights
    check(t["params"] == 16, "parameters: the batch norm's 16 scales")
    by_op = {o["op"]: o for o in r["ops"]}
    # dropout: reads x, writes y and the one-byte-per-element mask (the sim's size)
    check(by_op["dropout"]["bytes_read"] == 4 * E and by_op["dropout"]["bytes_written"] == 4 * E + E,
          "dropout bytes: x read, y and its 2,048-byte mask written")
    # pooling backward: y and dy (512 each) and x read, dx written
    check(by_op["pool_bwd"]["bytes_read"] == 4 * (512 + 512 + E) and
          by_op["pool_bwd"]["bytes_written"] == 4 * E, "pooling backward bytes")
    # batch-norm backward: x, dy, scale and the saved mean and inverse variance read;
    # dx and the scale and shift gradients written
    check(by_op["bn_backward"]["bytes_read"] == 4 * (2 * E + 3 * 16) and
          by_op["bn_backward"]["bytes_written"] == 4 * (E + 2 * 16), "batch-norm backward bytes")


def main():
    try:
        for test in (test_bottleneck_inference, test_bottleneck_training, test_failed_batch_norm,
                     test_legacy_ops, test_blas_vec, test_rnn, test_mha):
            test()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    if failures:
        print(f"\n{len(failures)} legacy check(s) failed:")
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print("\nall legacy checks passed")


if __name__ == "__main__":
    main()
