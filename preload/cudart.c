/*
 * cudart.c: device memory coming and going, from the CUDA runtime. Nothing here
 * is counted as work: nnspy only learns which buffer a freed pointer was, so that
 * memory reused for another tensor (a model loaded after another one ran, a C++
 * program that allocates per frame) is judged afresh as weight or activation.
 *
 * A program that links the runtime statically, or that allocates through the
 * driver API or a caching allocator that never frees, is not seen here; that only
 * matters when device memory is handed out again for something else.
 */
#define _GNU_SOURCE
#include <errno.h>

#include <cuda_runtime_api.h>

#include "core.h"
#include "frame_marks.h"

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaMalloc, (void **devPtr, size_t size), (devPtr, size))
{
    NN_REAL_OR_RETURN(cudaMalloc, cudaErrorInitializationError);
    cudaError_t st = real(devPtr, size);
    int saved = errno;
    if (st == cudaSuccess && devPtr && nn_active()) nn_note_allocation(*devPtr, size);
    errno = saved;
    return st;
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaMallocManaged,
        (void **devPtr, size_t size, unsigned int flags), (devPtr, size, flags))
{
    NN_REAL_OR_RETURN(cudaMallocManaged, cudaErrorInitializationError);
    cudaError_t st = real(devPtr, size, flags);
    int saved = errno;
    if (st == cudaSuccess && devPtr && nn_active()) nn_note_allocation(*devPtr, size);
    errno = saved;
    return st;
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaMallocAsync,
        (void **devPtr, size_t size, cudaStream_t hStream), (devPtr, size, hStream))
{
    NN_REAL_OR_RETURN(cudaMallocAsync, cudaErrorInitializationError);
    cudaError_t st = real(devPtr, size, hStream);
    int saved = errno;
    if (st == cudaSuccess && devPtr && nn_active()) nn_note_allocation(*devPtr, size);
    errno = saved;
    return st;
}

/* Forgotten before the real free: once freed, the address may be handed out again
 * by another thread before this one gets to it. */
NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaFree, (void *devPtr), (devPtr))
{
    NN_REAL_OR_RETURN(cudaFree, cudaErrorInitializationError);
    int saved = errno;
    if (nn_active()) nn_note_free(devPtr);
    errno = saved;
    return real(devPtr);
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaFreeAsync, (void *devPtr, cudaStream_t hStream),
        (devPtr, hStream))
{
    NN_REAL_OR_RETURN(cudaFreeAsync, cudaErrorInitializationError);
    int saved = errno;
    if (nn_active()) nn_note_free(devPtr);
    errno = saved;
    return real(devPtr, hStream);
}

/* ------------------------------------------------------------ host synchronisation */

/* Each host synchronisation ends a frame in NNSPY_FRAME=sync (frame_marks.c). One
 * made inside an intercepted call (a library waiting for itself) is not the
 * program's and does not count. */

NN_WRAP0(NN_FAMILY_CUDART, cudaError_t, cudaDeviceSynchronize)
{
    NN_SYNC_WRAPPER_BODY(cudaDeviceSynchronize, cudaErrorInitializationError);
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaStreamSynchronize, (cudaStream_t stream), (stream))
{
    NN_SYNC_WRAPPER_BODY(cudaStreamSynchronize, cudaErrorInitializationError, stream);
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaEventSynchronize, (cudaEvent_t event), (event))
{
    NN_SYNC_WRAPPER_BODY(cudaEventSynchronize, cudaErrorInitializationError, event);
}

/* A device-to-host copy blocks the host until the device has caught up. */
NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaMemcpy,
        (void *dst, const void *src, size_t count, enum cudaMemcpyKind kind),
        (dst, src, count, kind))
{
    NN_REAL_OR_RETURN(cudaMemcpy, cudaErrorInitializationError);
    bool outer = nn_enter();
    cudaError_t st = real(dst, src, count, kind);
    int saved = errno;
    /* cudaMemcpyDefault may go either way: not counted (an upload is no frame end). */
    if (outer && kind == cudaMemcpyDeviceToHost) nn_frame_sync_point();
    nn_leave();
    errno = saved;
    return st;
}
