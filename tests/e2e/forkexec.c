/*
 * forkexec: a fork-and-exec storm. `forkexec SELF CHILDREN` makes 1 GEMM, then
 * forks CHILDREN children at once; each makes 2 GEMMs and execs SELF as
 * `forkexec --image2`, which makes 3 GEMMs and exits. The parent waits for all.
 * Each GEMM: m=8, n=4, k=16 = 512 MACs. Every process image leaves its own report:
 * the parent (1 call), each child before exec (2 calls) and after it (3 calls).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

static void gemms(int n)
{
    cublasHandle_t h;
    float *a, *b, *c, one = 1.0f, zero = 0.0f;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS || cudaMalloc((void **)&a, 512) ||
        cudaMalloc((void **)&b, 256) || cudaMalloc((void **)&c, 128)) {
        fprintf(stderr, "forkexec: setup failed\n");
        exit(1);
    }
    for (int i = 0; i < n; i++)
        if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8)) {
            fprintf(stderr, "forkexec: cublasSgemm failed\n");
            exit(1);
        }
    /* freed: the sanitizer builds check for leaks */
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    cublasDestroy(h);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--image2") == 0) {
        gemms(3);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: forkexec SELF CHILDREN\n");
        return 2;
    }
    gemms(1);
    int children = atoi(argv[2]), failed = 0;
    for (int i = 0; i < children; i++) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            gemms(2);
            execl(argv[1], argv[1], "--image2", (char *)NULL);
            _exit(127);
        }
    }
    for (int i = 0; i < children; i++) {
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    printf("%d children, %d failed\n", children, failed);
    return failed != 0;
}
