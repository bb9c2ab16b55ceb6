/*
 * fork_busy: forks while another thread is in the middle of intercepted calls (so
 * holding nnspy's locks at random), 50 times; each child exits at once through
 * exit(), which runs nnspy's exit path. A child must never hang on a lock its
 * parent's thread held. (The child makes no CUDA call: CUDA, like the simulated
 * device, cannot be used in the child of a process that initialised it.)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>

static float *a, *b, *c;

static void gemm_once(cublasHandle_t h)
{
    float one = 1.0f, zero = 0.0f;
    if (cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8)) {
        fprintf(stderr, "fork_busy: cublasSgemm failed\n");
        _exit(1);
    }
}

static void *busy(void *arg)
{
    (void)arg;
    cublasHandle_t h;
    if (cublasCreate(&h)) _exit(1);
    for (;;) gemm_once(h);
    return NULL;
}

int main(void)
{
    if (cudaMalloc((void **)&a, 512) || cudaMalloc((void **)&b, 256) || cudaMalloc((void **)&c, 128))
        return 1;
    pthread_t t;
    if (pthread_create(&t, NULL, busy, NULL)) return 1;
    usleep(20000);
    for (int i = 0; i < 50; i++) {
        pid_t pid = fork();
        if (pid == 0) exit(0); /* runs nnspy's exit path in the child */
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
            return 1;
    }
    printf("50 children done\n");
    fflush(stdout);
    _exit(0);
}
