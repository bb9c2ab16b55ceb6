/*
 * cuda_types.h: NVIDIA's data-type enums and scalars, turned into the counters'
 * plain types. The only place that knows both worlds' numbering.
 */
#ifndef NNSPY_PRELOAD_CUDA_TYPES_H
#define NNSPY_PRELOAD_CUDA_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include <cudnn.h>
#include <library_types.h>

#include "counters.h"

nn_dtype nn_from_cudnn_dtype(cudnnDataType_t t);
nn_dtype nn_from_cuda_dtype(cudaDataType_t t);

/*
 * Whether a host scalar (alpha, beta) of `size` bytes made of `parts` equal
 * components (2 for complex) is zero. For floating-point types the sign bit of each
 * component is ignored, so that -0.0 counts as zero.
 */
bool nn_host_scalar_is_zero(const void *p, size_t size, int parts, bool is_float);

#endif
