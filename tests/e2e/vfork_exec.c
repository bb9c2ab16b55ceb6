/*
 * vfork_exec: one GEMM (8x4x16 = 512 MACs), then three vfork + execve of
 * /bin/true, as CPython's subprocess does. A vfork child shares its parent's
 * memory until it execs, so it must not write the parent's report: the run leaves
 * exactly one report, the parent's, with its one call.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

int main(void)
{
    cublasHandle_t h;
    float *a, *b, *c, one = 1.0f, zero = 0.0f;
    if (cublasCreate(&h) || cudaMalloc((void **)&a, 512) || cudaMalloc((void **)&b, 256) ||
        cudaMalloc((void **)&c, 128) ||
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8)) {
        fprintf(stderr, "vfork_exec: setup or GEMM failed\n");
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
        pid_t pid = vfork();
        if (pid == 0) {
            execve(argv[0], argv, envp);
            _exit(127);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
            return 1;
    }
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    cublasDestroy(h);
    return 0;
}
