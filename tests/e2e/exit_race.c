/*
 * exit_race: the process exits from a worker thread while 8 other threads are in
 * the middle of GEMM calls (and so inside nnspy's wrappers). Each GEMM: m=8, n=4,
 * k=16 = 512 MACs. The report must be complete and consistent for the calls that
 * were recorded, and the exit must not hang.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

static void *hammer(void *arg)
{
    (void)arg;
    cublasHandle_t h;
    float *a, *b, *c, one = 1.0f, zero = 0.0f;
    if (cublasCreate(&h) || cudaMalloc((void **)&a, 512) || cudaMalloc((void **)&b, 256) ||
        cudaMalloc((void **)&c, 128)) {
        fprintf(stderr, "exit_race: setup failed\n");
        _exit(1);
    }
    for (;;)
        if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8)) {
            fprintf(stderr, "exit_race: cublasSgemm failed\n");
            _exit(1);
        }
    return NULL;
}

static void *exit_soon(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    exit(0); /* from this thread, with the others still calling */
}

int main(void)
{
    pthread_t t;
    for (int i = 0; i < 8; i++)
        if (pthread_create(&t, NULL, hammer, NULL)) return 1;
    if (pthread_create(&t, NULL, exit_soon, NULL)) return 1;
    for (;;) pause();
}
