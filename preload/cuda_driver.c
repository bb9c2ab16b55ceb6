/*
 * cuda_driver.c: the CUDA driver API's host synchronisations, for programs that
 * call the driver directly; each ends a frame in NNSPY_FRAME=sync (frame_marks.c).
 * The CUDA runtime reaches the driver through its own function table, not through
 * these symbols, so a runtime call is never seen twice.
 */
#define _GNU_SOURCE

#include <cuda.h>

#include "core.h"
#include "frame_marks.h"


NN_WRAP0(NN_FAMILY_CUDA_DRIVER, CUresult, cuCtxSynchronize)
{
    NN_SYNC_WRAPPER_BODY(cuCtxSynchronize, CUDA_ERROR_NOT_INITIALIZED);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuStreamSynchronize, (CUstream hStream), (hStream))
{
    NN_SYNC_WRAPPER_BODY(cuStreamSynchronize, CUDA_ERROR_NOT_INITIALIZED, hStream);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuEventSynchronize, (CUevent hEvent), (hEvent))
{
    NN_SYNC_WRAPPER_BODY(cuEventSynchronize, CUDA_ERROR_NOT_INITIALIZED, hEvent);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuMemcpyDtoH_v2,
        (void *dstHost, CUdeviceptr srcDevice, size_t ByteCount), (dstHost, srcDevice, ByteCount))
{
    NN_SYNC_WRAPPER_BODY(cuMemcpyDtoH_v2, CUDA_ERROR_NOT_INITIALIZED, dstHost, srcDevice, ByteCount);
}
