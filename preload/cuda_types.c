/*
 * cuda_types.c: NVIDIA data types and scalars in the counters' terms.
 */
#include "cuda_types.h"

#include <string.h>

nn_dtype nn_from_cudnn_dtype(cudnnDataType_t t)
{
    switch ((int)t) {
    case CUDNN_DATA_FLOAT: return NN_DTYPE_F32;
    case CUDNN_DATA_DOUBLE: return NN_DTYPE_F64;
    case CUDNN_DATA_HALF: return NN_DTYPE_F16;
    case CUDNN_DATA_BFLOAT16: return NN_DTYPE_BF16;
    case CUDNN_DATA_INT8: return NN_DTYPE_I8;
    case CUDNN_DATA_UINT8: return NN_DTYPE_U8;
    case CUDNN_DATA_INT32: return NN_DTYPE_I32;
    case CUDNN_DATA_UINT32: return NN_DTYPE_U32;
    case CUDNN_DATA_INT64: return NN_DTYPE_I64;
    case CUDNN_DATA_BOOLEAN: return NN_DTYPE_BOOL;
    case CUDNN_DATA_FP8_E4M3: return NN_DTYPE_FP8_E4M3;
    case CUDNN_DATA_FP8_E5M2: return NN_DTYPE_FP8_E5M2;
    case CUDNN_DATA_FP8_E8M0: return NN_DTYPE_FP8_E8M0;
    case CUDNN_DATA_FP4_E2M1: return NN_DTYPE_FP4_E2M1;
    case CUDNN_DATA_INT4: return NN_DTYPE_I4;
    case CUDNN_DATA_UINT4: return NN_DTYPE_U4;
    case CUDNN_DATA_COMPLEX_FP32: return NN_DTYPE_C32F;
    case CUDNN_DATA_COMPLEX_FP64: return NN_DTYPE_C64F;
    /* The vectorised int8 layouts are int8 elements, grouped in memory. */
    case CUDNN_DATA_INT8x4: return NN_DTYPE_I8;
    case CUDNN_DATA_UINT8x4: return NN_DTYPE_U8;
    case CUDNN_DATA_INT8x32: return NN_DTYPE_I8;
    default: return NN_DTYPE_UNKNOWN;
    }
}

nn_dtype nn_from_cuda_dtype(cudaDataType_t t)
{
    switch ((int)t) {
    case CUDA_R_16F: return NN_DTYPE_F16;
    case CUDA_C_16F: return NN_DTYPE_C16F;
    case CUDA_R_16BF: return NN_DTYPE_BF16;
    case CUDA_R_32F: return NN_DTYPE_F32;
    case CUDA_C_32F: return NN_DTYPE_C32F;
    case CUDA_R_64F: return NN_DTYPE_F64;
    case CUDA_C_64F: return NN_DTYPE_C64F;
    case CUDA_R_4I: return NN_DTYPE_I4;
    case CUDA_R_4U: return NN_DTYPE_U4;
    case CUDA_R_8I: return NN_DTYPE_I8;
    case CUDA_C_8I: return NN_DTYPE_C8I;
    case CUDA_R_8U: return NN_DTYPE_U8;
    case CUDA_R_16I: return NN_DTYPE_I16;
    case CUDA_R_32I: return NN_DTYPE_I32;
    case CUDA_C_32I: return NN_DTYPE_C32I;
    case CUDA_R_32U: return NN_DTYPE_U32;
    case CUDA_R_64I: return NN_DTYPE_I64;
    case CUDA_R_8F_E4M3: return NN_DTYPE_FP8_E4M3;
    case CUDA_R_8F_E5M2: return NN_DTYPE_FP8_E5M2;
    case CUDA_R_8F_UE8M0: return NN_DTYPE_FP8_E8M0;
    case CUDA_R_4F_E2M1: return NN_DTYPE_FP4_E2M1;
    default: return NN_DTYPE_UNKNOWN;
    }
}

bool nn_host_scalar_is_zero(const void *p, size_t size, int parts, bool is_float)
{
    if (!p || size == 0 || parts <= 0 || size > 32) return false;
    unsigned char bytes[32];
    memcpy(bytes, p, size);
    size_t part = size / (size_t)parts;
    for (int i = 0; is_float && i < parts; i++)
        bytes[(size_t)i * part + part - 1] &= 0x7f; /* little-endian: sign is the top bit */
    for (size_t i = 0; i < size; i++)
        if (bytes[i]) return false;
    return true;
}
