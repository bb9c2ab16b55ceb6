"""A tiny model written in Python, calling the simulated cuBLAS through ctypes
(tests/run_sites.py). Each GEMM line carries a `# site: NAME` comment: the checks
find the expected file:line and function by reading this file, not from nnspy.

    python3 tiny_model.py SIM_DIR [pydll|cdll]

pydll (default) keeps the GIL during the calls, as ctypes.PyDLL does; cdll releases
it, as ctypes.CDLL (and PyTorch's dispatch) do."""
import ctypes
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pyfw import fwops  # noqa: E402

SIM = sys.argv[1]
LOADER = ctypes.CDLL if len(sys.argv) > 2 and sys.argv[2] == "cdll" else ctypes.PyDLL
rt = LOADER(os.path.join(SIM, "libcudart.so.13"))
blas = LOADER(os.path.join(SIM, "libcublas.so.13"))
N, T = 0, 1  # CUBLAS_OP_N, CUBLAS_OP_T
one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)


def device_floats(n):
    p = ctypes.c_void_p()
    assert rt.cudaMalloc(ctypes.byref(p), ctypes.c_size_t(4 * n)) == 0
    return p


def gemm_args(m, n, k, a, b, c):
    """Y (m x n) = A^T (m x k) * X (k x n), column-major, A stored k x m."""
    return (T, N, m, n, k, ctypes.byref(one), a, k, b, k, ctypes.byref(zero), c, m)


class Linear:
    def __init__(self, fin, fout, batch):
        self.fin, self.fout, self.batch = fin, fout, batch
        self.w = device_floats(fin * fout)
        self.y = device_floats(fout * batch)

    def forward(self, x):
        assert blas.cublasSgemm_v2(handle, *gemm_args(self.fout, self.batch, self.fin, self.w, x, self.y)) == 0  # site: linear
        return self.y


def attention_scores(q, k, tokens, dim, out):
    assert blas.cublasSgemm_v2(handle, *gemm_args(tokens, tokens, dim, k, q, out)) == 0  # site: scores
    return out


def head(x, w, out):
    # through the "framework": the site is this line when NNSPY_PYTHON_SKIP names pyfw
    assert fwops.matmul(blas, handle, gemm_args(10, 1, 32, w, x, out)) == 0  # site: head
    return out


handle = ctypes.c_void_p()
assert blas.cublasCreate_v2(ctypes.byref(handle)) == 0
fc1, fc2 = Linear(64, 32, 1), Linear(32, 32, 1)
x = device_floats(64)
q, kk, s = device_floats(16 * 8), device_floats(16 * 8), device_floats(16 * 16)
w_head, logits = device_floats(32 * 10), device_floats(10)
for step in range(3):
    h = fc2.forward(fc1.forward(x))
    attention_scores(q, kk, 16, 8, s)
    head(h, w_head, logits)
blas.cublasDestroy_v2(handle)
