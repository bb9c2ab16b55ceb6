"""What the Python test drivers (run_e2e.py, run_report.py, run_diff.py) share: the build
paths, the assertion recorder and the simulated device's clock model."""
import os

B = os.environ.get("B", "build")
LIB = os.path.abspath(f"{B}/libnnspy.so")
SIM = os.path.abspath(f"{B}/sim")
NNSPY = os.path.abspath(f"{B}/nnspy")
# Sanitizer builds: the sanitizer runtime, which must be loaded before anything else.
SAN_PRELOAD = os.environ.get("SAN_PRELOAD", "")

failures = []


def check(cond, what, detail=""):
    """Records one assertion; `detail` (e.g. the program's stderr) shows only on failure."""
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("       " + str(detail)[-800:].replace("\n", "\n       "))
    return cond


# ------------------------------------------------------- the simulated device's clock
# tests/sim/README.md: a kernel lasts 2000 + max(FLOPs / 100000, bytes / 2000) ns
# (integer division); the sim counts its own FLOPs and bytes (distinct buffers once).
def kernel_ns(flops, nbytes):
    return 2000 + max(flops // 100000, nbytes // 2000)


def alexnet_frame_ns(k2=192, batch=1):
    """AlexNet's 27 kernels back to back on one stream (examples/alexnet, with conv2's
    width a parameter): one frame's GPU latency, derived from the clock model above."""
    f, total = 4, 0
    convs = [(3, 224, 64, 11, 55), (64, 27, k2, 5, 27), (k2, 13, 384, 3, 13),
             (384, 13, 256, 3, 13), (256, 13, 256, 3, 13)]
    pool_after = {0: (55, 27), 1: (27, 13), 4: (13, 6)}
    for i, (c, h, k, ks, oh) in enumerate(convs):
        x, w, y = batch * c * h * h, k * c * ks * ks, batch * k * oh * oh
        total += kernel_ns(2 * y * c * ks * ks, (x + w + y) * f)   # convolution
        total += kernel_ns(y, (k + y) * f)                          # bias add into y
        total += kernel_ns(y, y * f)                                # ReLU in place
        if i in pool_after:
            a, b = pool_after[i]
            total += kernel_ns(batch * k * b * b * 9, batch * k * (a * a + b * b) * f)
    total += kernel_ns(batch * 256 * 36, 2 * batch * 256 * 36 * f)  # 1x1 average pool
    for i, (fin, fout) in enumerate([(9216, 4096), (4096, 4096), (4096, 1000)]):
        total += kernel_ns(2 * fin * fout * batch, (fin * fout + (fin + fout) * batch) * f)
        total += kernel_ns(fout * batch, (fout + fout * batch) * f)
        if i < 2:
            total += kernel_ns(fout * batch, fout * batch * f)
    return total
