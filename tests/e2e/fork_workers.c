/*
 * fork_workers: a parent that forks 4 worker processes at once and waits for them,
 * making no intercepted call itself. Worker i (i = 0..3) creates its own cuBLAS
 * handle after the fork, runs i + 1 GEMMs (cublasSgemm_v2, m=8, n=4, k=16: 512 MACs
 * each) and exits normally. So the run leaves one trace (or report) per worker and
 * none for the parent: 1 + 2 + 3 + 4 = 10 GEMMs, 10 x 512 = 5,120 MACs in all.
 *
 * Prints "4 workers, N failed" and exits 0 when every worker succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#define WORKERS 4

static int worker(int index)
{
    cublasHandle_t h;
    float *a, *b, *c, one = 1.0f, zero = 0.0f;
    /* column-major A 8x16 (ld 8), B 16x4 (ld 16), C 8x4 (ld 8) floats */
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "fork_workers: worker %d: cublasCreate failed\n", index);
        return 1;
    }
    if (cudaMalloc((void **)&a, 8 * 16 * sizeof(float)) != cudaSuccess ||
        cudaMalloc((void **)&b, 16 * 4 * sizeof(float)) != cudaSuccess ||
        cudaMalloc((void **)&c, 8 * 4 * sizeof(float)) != cudaSuccess) {
        fprintf(stderr, "fork_workers: worker %d: cudaMalloc failed\n", index);
        return 1;
    }
    for (int i = 0; i <= index; i++)
        if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8) !=
            CUBLAS_STATUS_SUCCESS) {
            fprintf(stderr, "fork_workers: worker %d: cublasSgemm failed\n", index);
            return 1;
        }
    if (cudaDeviceSynchronize() != cudaSuccess) return 1;
    /* freed: the sanitizer builds check for leaks */
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    cublasDestroy(h);
    return 0;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: fork_workers\n");
        return 2;
    }
    pid_t pids[WORKERS];
    int failed = 0;
    fflush(NULL); /* nothing buffered is written twice */
    for (int i = 0; i < WORKERS; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            perror("fork_workers: fork");
            return 1;
        }
        if (pids[i] == 0) exit(worker(i)); /* exit, not _exit: atexit handlers run */
    }
    for (int i = 0; i < WORKERS; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    printf("%d workers, %d failed\n", WORKERS, failed);
    return failed != 0;
}
