"""A stand-in for a framework's own package (tests/run_sites.py): its GEMM helper is
what NNSPY_PYTHON_SKIP passes over, to reach the user's line that called it."""


def matmul(blas, handle, args):
    return blas.cublasSgemm_v2(handle, *args)  # site: framework-gemm
