/*
 * cuda_driver.c: the CUDA driver API's host synchronisations, for programs that
 * call the driver directly; each ends a frame in NNSPY_FRAME=sync (frame_marks.c).
 * The CUDA runtime reaches the driver through its own function table, not through
 * these symbols, so a runtime call is never seen twice.
 */
#define _GNU_SOURCE
#include <errno.h>

#include <cuda.h>

#include "core.h"
#include "frame_marks.h"

#define SYNC_WRAPPER_BODY(NAME, ...)                                                              \
    NN_REAL_OR_RETURN(NAME, CUDA_ERROR_NOT_INITIALIZED);                                        \
    bool outer = nn_enter();                                                                    \
    CUresult st = real(__VA_ARGS__);                                                            \
    int saved = errno;                                                                          \
    if (outer) nn_frame_sync_point();                                                           \
    nn_leave();                                                                                 \
    errno = saved;                                                                              \
    return st

NN_WRAP0(NN_FAMILY_CUDA_DRIVER, CUresult, cuCtxSynchronize)
{
    SYNC_WRAPPER_BODY(cuCtxSynchronize);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuStreamSynchronize, (CUstream hStream), (hStream))
{
    SYNC_WRAPPER_BODY(cuStreamSynchronize, hStream);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuEventSynchronize, (CUevent hEvent), (hEvent))
{
    SYNC_WRAPPER_BODY(cuEventSynchronize, hEvent);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuMemcpyDtoH_v2,
        (void *dstHost, CUdeviceptr srcDevice, size_t ByteCount), (dstHost, srcDevice, ByteCount))
{
    SYNC_WRAPPER_BODY(cuMemcpyDtoH_v2, dstHost, srcDevice, ByteCount);
}
