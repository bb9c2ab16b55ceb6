/*
 * signals: makes N GEMM calls, says "ready", then waits to be ended.
 *   signals N term      waits for a SIGTERM (default action): the process dies of it
 *   signals N handler   installs its own SIGTERM handler first; exits 0 when it runs
 *   signals N abort     calls abort() after the calls
 *   signals N loop      keeps making GEMMs after "ready" until a SIGTERM ends it (the
 *                       signal lands in the middle of nnspy's work at random)
 * Each GEMM: m=8, n=4, k=16 = 512 MACs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
    (void)sig;
    terminated = 1;
}

static void die(const char *what)
{
    fprintf(stderr, "signals: %s failed\n", what);
    exit(1);
}

/* Each call frees what it made: the sanitizer builds check for leaks. */
static void gemm_loop(void)
{
    cublasHandle_t h;
    float *a, *b, *c, one = 1.0f, zero = 0.0f;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) die("cublasCreate");
    if (cudaMalloc((void **)&a, 512) || cudaMalloc((void **)&b, 256) || cudaMalloc((void **)&c, 128))
        die("cudaMalloc");
    printf("ready\n");
    fflush(stdout);
    for (;;)
        if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8))
            die("cublasSgemm");
}

static void gemms(int n)
{
    cublasHandle_t h;
    float *a, *b, *c, one = 1.0f, zero = 0.0f;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) die("cublasCreate");
    if (cudaMalloc((void **)&a, 8 * 16 * sizeof *a) || cudaMalloc((void **)&b, 16 * 4 * sizeof *b) ||
        cudaMalloc((void **)&c, 8 * 4 * sizeof *c))
        die("cudaMalloc");
    for (int i = 0; i < n; i++)
        if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8) !=
            CUBLAS_STATUS_SUCCESS)
            die("cublasSgemm");
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    cublasDestroy(h);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: signals N term|handler|abort\n");
        return 2;
    }
    const char *mode = argv[2];
    if (strcmp(mode, "handler") == 0) signal(SIGTERM, on_term);
    if (strcmp(mode, "loop") == 0) gemm_loop();
    gemms(atoi(argv[1]));
    if (strcmp(mode, "abort") == 0) abort();
    printf("ready\n");
    fflush(stdout);
    while (!terminated) pause();
    printf("handled\n");
    return 0;
}
