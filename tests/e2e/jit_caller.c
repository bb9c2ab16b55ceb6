/*
 * jit_caller: cudnnAddTensor called twice, once from this program's own code and
 * once from machine code written at run time into anonymous memory, as a JIT
 * compiler's output would be (x86-64 only). Code in no loaded object has no symbol
 * and no unwind information: nnspy must say so, not guess (tests/run_sites.py).
 *
 * Prints "jit PAGE" (the address of the page the generated code lies in).
 */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef cudnnStatus_t (*add_tensor_fn)(cudnnHandle_t, const void *, cudnnTensorDescriptor_t,
                                       const void *, const void *, cudnnTensorDescriptor_t, void *);

static void must(int ok, const char *what)
{
    if (ok) return;
    fprintf(stderr, "jit_caller: %s failed\n", what);
    exit(1);
}

/*
 * A function that calls `target` with its own 7 arguments (6 in registers, the 7th
 * on the stack) from inside the generated code, so that the return address lies
 * there:
 *   push qword [rsp+8]   ; the 7th argument again, below our return address
 *   mov  rax, target
 *   call rax
 *   add  rsp, 8
 *   ret
 */
static add_tensor_fn generate(void *target, void **page_out)
{
#if defined(__x86_64__)
    unsigned char code[] = {0xff, 0x74, 0x24, 0x08, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,
                            0xff, 0xd0, 0x48, 0x83, 0xc4, 0x08, 0xc3};
    uintptr_t t = (uintptr_t)target;
    memcpy(code + 6, &t, sizeof t);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    must(page != MAP_FAILED, "mmap");
    memcpy(page, code, sizeof code);
    must(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0, "mprotect");
    *page_out = page;
    add_tensor_fn fn;
    memcpy(&fn, &page, sizeof fn);
    return fn;
#else
    (void)target, (void)page_out;
    return NULL;
#endif
}

int main(void)
{
    cudnnHandle_t h;
    cudnnTensorDescriptor_t bias, y;
    float *b, *out, one = 1.0f;
    must(cudnnCreate(&h) == CUDNN_STATUS_SUCCESS, "cudnnCreate");
    must(cudnnCreateTensorDescriptor(&bias) == CUDNN_STATUS_SUCCESS, "descriptor");
    must(cudnnCreateTensorDescriptor(&y) == CUDNN_STATUS_SUCCESS, "descriptor");
    must(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 8, 1, 1) ==
             CUDNN_STATUS_SUCCESS, "bias descriptor");
    must(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 8, 4, 4) ==
             CUDNN_STATUS_SUCCESS, "output descriptor");
    must(cudaMalloc((void **)&b, 8 * sizeof *b) == cudaSuccess, "cudaMalloc");
    must(cudaMalloc((void **)&out, 128 * sizeof *out) == cudaSuccess, "cudaMalloc");
    must(cudnnAddTensor(h, &one, bias, b, &one, y, out) == CUDNN_STATUS_SUCCESS, "direct call");
    void *page = NULL;
    add_tensor_fn jit = generate((void *)cudnnAddTensor, &page);
    if (jit) {
        must(jit(h, &one, bias, b, &one, y, out) == CUDNN_STATUS_SUCCESS,
             "call from generated code");
        printf("jit %p\n", page);
    } else {
        printf("jit none\n");
    }
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyTensorDescriptor(y);
    cudaFree(b);
    cudaFree(out);
    cudnnDestroy(h);
    return 0;
}
