/*
 * cudnn.c: the simulated cuDNN legacy API (libcudnn.so.9). Test equipment: README.md.
 *
 * Descriptors are heap structures that behave as the toolkit's libcudnn does (the
 * argument checks below were compared call by call with the real library, whose
 * descriptor functions run without a GPU). Operations check their shapes, run one
 * kernel on the handle's stream of the virtual device, and with NNSPY_SIM_MATH=1
 * compute their result on the CPU for float, double, half, bfloat16 and 8/32-bit
 * integer tensors, following each tensor's own strides (so NCHW, NHWC and any
 * other layout work). Scaling factors are double for double tensors, float otherwise,
 * and beta == 0 never reads the output, as cuDNN documents.
 */
#include <cudnn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_cudnn.h"

#define HANDLE_MAGIC 0x444e4e48u /* "DNNH" */
#define MAX_DIMS CUDNN_DIM_MAX   /* 8 */
#define MAX_SPATIAL (MAX_DIMS - 2)
#define MAX_POOL_DIMS 3
#define MAX_ELEMENTS 2147483647LL /* larger tensors are CUDNN_STATUS_NOT_SUPPORTED */

struct cudnnContext {
    uint32_t magic;
    cudaStream_t stream;
};

struct cudnnTensorStruct {
    const char *owner; /* &owner_tag of the copy of the library that created it */
    cudnnDataType_t dtype;
    int nb;
    int vect; /* channels per vector element (NCHW_VECT_C), else 1 */
    int dim[MAX_DIMS];
    int stride[MAX_DIMS];
};

struct cudnnFilterStruct {
    const char *owner;
    cudnnDataType_t dtype;
    cudnnTensorFormat_t format;
    int nb;
    int dim[MAX_DIMS]; /* K, C, spatial... whatever the format */
};

struct cudnnConvolutionStruct {
    const char *owner;
    int len; /* spatial dimensions */
    int pad[MAX_SPATIAL], stride[MAX_SPATIAL], dilation[MAX_SPATIAL];
    cudnnConvolutionMode_t mode;
    cudnnDataType_t compute;
    int groups;
    cudnnMathType_t math;
    cudnnReorderType_t reorder;
};

struct cudnnPoolingStruct {
    cudnnPoolingMode_t mode;
    cudnnNanPropagation_t nan;
    int nb;
    int window[MAX_POOL_DIMS], pad[MAX_POOL_DIMS], stride[MAX_POOL_DIMS];
};

struct cudnnActivationStruct {
    cudnnActivationMode_t mode;
    cudnnNanPropagation_t nan;
    double coef, swish_beta;
};

struct cudnnLRNStruct {
    unsigned n;
    double alpha, beta, k;
};

struct cudnnOpTensorStruct {
    cudnnOpTensorOp_t op;
    cudnnDataType_t compute;
    cudnnNanPropagation_t nan;
};

typedef struct cudnnTensorStruct tensor_t;
typedef struct cudnnFilterStruct filter_t;
typedef struct cudnnConvolutionStruct conv_t;

/*
 * Which loaded copy of this library a descriptor belongs to. A process may load
 * two copies (two files, each dlopen'ed RTLD_LOCAL); each has its own owner_tag,
 * so a tensor, filter or convolution descriptor records the address of its
 * creator's. Every function refuses another copy's descriptor with BAD_PARAM,
 * which makes a profiler that reads descriptors through the wrong copy's getters
 * fail visibly instead of reading a look-alike structure.
 */
static const char owner_tag;

/* Non-NULL and made by another copy (NULL is left to each function's own checks). */
#define FOREIGN(desc) ((desc) != NULL && (desc)->owner != &owner_tag)

/* cudnnConvolutionForward calls this copy has run (launched a kernel), for tests
 * that check each call reached the copy its descriptors came from. */
static unsigned long conv_fwd_calls;

unsigned long nnspy_sim_cudnn_conv_calls(void);
unsigned long nnspy_sim_cudnn_conv_calls(void)
{
    return __atomic_load_n(&conv_fwd_calls, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------- data types */

/* The types the legacy API accepts for tensors (CUDNN_DATA_FLOAT .. BFLOAT16). */
static int legacy_type(cudnnDataType_t t)
{
    return t >= CUDNN_DATA_FLOAT && t <= CUDNN_DATA_BFLOAT16;
}

static int vector_length(cudnnDataType_t t)
{
    return t == CUDNN_DATA_INT8x4 || t == CUDNN_DATA_UINT8x4 ? 4 : t == CUDNN_DATA_INT8x32 ? 32 : 1;
}

/* Bytes of one element as stored (a vector type's element is the whole vector). */
static size_t type_size(cudnnDataType_t t)
{
    switch (t) {
    case CUDNN_DATA_DOUBLE: return 8;
    case CUDNN_DATA_FLOAT: case CUDNN_DATA_INT32: case CUDNN_DATA_INT8x4:
    case CUDNN_DATA_UINT8x4: return 4;
    case CUDNN_DATA_HALF: case CUDNN_DATA_BFLOAT16: return 2;
    case CUDNN_DATA_INT8: case CUDNN_DATA_UINT8: return 1;
    case CUDNN_DATA_INT8x32: return 32;
    default: return 0;
    }
}

/* The element type for the CPU math; -1 (no math) for vector types. */
static cudaDataType math_type(cudnnDataType_t t)
{
    switch (t) {
    case CUDNN_DATA_FLOAT: return CUDA_R_32F;
    case CUDNN_DATA_DOUBLE: return CUDA_R_64F;
    case CUDNN_DATA_HALF: return CUDA_R_16F;
    case CUDNN_DATA_BFLOAT16: return CUDA_R_16BF;
    case CUDNN_DATA_INT8: return CUDA_R_8I;
    case CUDNN_DATA_UINT8: return CUDA_R_8U;
    case CUDNN_DATA_INT32: return CUDA_R_32I;
    default: return (cudaDataType)-1;
    }
}

static int is_int8_family(cudnnDataType_t t)
{
    return t == CUDNN_DATA_INT8 || t == CUDNN_DATA_UINT8 || t == CUDNN_DATA_INT8x4 ||
           t == CUDNN_DATA_UINT8x4 || t == CUDNN_DATA_INT8x32;
}

/* Scaling factors are double for double data, float for every other type. */
static double scale_of(const void *p, cudnnDataType_t data)
{
    return data == CUDNN_DATA_DOUBLE ? *(const double *)p : *(const float *)p;
}

/* ------------------------------------------------------ versions and errors */

size_t cudnnGetVersion(void)
{
    return CUDNN_VERSION;
}

size_t cudnnGetMaxDeviceVersion(void)
{
    return 1210; /* what the toolkit's library reports */
}

size_t cudnnGetCudartVersion(void)
{
    return 13010; /* what the toolkit's library reports (CUDA 13.1) */
}

cudnnStatus_t cudnnGetProperty(libraryPropertyType type, int *value)
{
    if (!value)
        return CUDNN_STATUS_BAD_PARAM;
    switch (type) {
    case MAJOR_VERSION: *value = CUDNN_MAJOR; return CUDNN_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUDNN_MINOR; return CUDNN_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUDNN_PATCHLEVEL; return CUDNN_STATUS_SUCCESS;
    }
    return CUDNN_STATUS_BAD_PARAM;
}

#define STATUS(s) {s, #s}
static const struct {
    cudnnStatus_t code;
    const char *name;
} k_statuses[] = {
    STATUS(CUDNN_STATUS_SUCCESS),
    STATUS(CUDNN_STATUS_NOT_INITIALIZED),
    STATUS(CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH),
    STATUS(CUDNN_STATUS_SERIALIZATION_VERSION_MISMATCH),
    STATUS(CUDNN_STATUS_DEPRECATED),
    STATUS(CUDNN_STATUS_LICENSE_ERROR),
    STATUS(CUDNN_STATUS_RUNTIME_IN_PROGRESS),
    STATUS(CUDNN_STATUS_RUNTIME_FP_OVERFLOW),
    STATUS(CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED),
    STATUS(CUDNN_STATUS_BAD_PARAM),
    STATUS(CUDNN_STATUS_INVALID_VALUE),
    STATUS(CUDNN_STATUS_BAD_PARAM_NULL_POINTER),
    STATUS(CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER),
    STATUS(CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED),
    STATUS(CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND),
    STATUS(CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT),
    STATUS(CUDNN_STATUS_BAD_PARAM_STREAM_MISMATCH),
    STATUS(CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH),
    STATUS(CUDNN_STATUS_BAD_PARAM_DUPLICATED_ENTRIES),
    STATUS(CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE),
    STATUS(CUDNN_STATUS_BAD_PARAM_CUDA_GRAPH_MISMATCH),
    STATUS(CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_SHAPE),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_LAYOUT),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_PADDING),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_BAD_LAUNCH_PARAM),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_CUDA_GRAPH_NATIVE_API),
    STATUS(CUDNN_STATUS_NOT_SUPPORTED_INVALID_DYNAMIC_SHAPE),
    STATUS(CUDNN_STATUS_INTERNAL_ERROR),
    STATUS(CUDNN_STATUS_INTERNAL_ERROR_COMPILATION_FAILED),
    STATUS(CUDNN_STATUS_INTERNAL_ERROR_UNEXPECTED_VALUE),
    STATUS(CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED),
    STATUS(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED),
    STATUS(CUDNN_STATUS_INTERNAL_ERROR_BAD_LAUNCH_PARAM),
    STATUS(CUDNN_STATUS_INTERNAL_ERROR_TEXTURE_CREATION_FAILED),
    STATUS(CUDNN_STATUS_EXECUTION_FAILED),
    STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER),
    STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUBLAS),
    STATUS(CUDNN_STATUS_EXECUTION_FAILED_CUDART),
    STATUS(CUDNN_STATUS_EXECUTION_FAILED_CURAND),
};

const char *cudnnGetErrorString(cudnnStatus_t status)
{
    for (size_t i = 0; i < sizeof k_statuses / sizeof k_statuses[0]; i++)
        if (k_statuses[i].code == status)
            return k_statuses[i].name;
    return "CUDNN_UNKNOWN_STATUS";
}

void cudnnGetLastErrorString(char *message, size_t max_size)
{
    if (message && max_size)
        message[0] = '\0'; /* the sim keeps no error log */
}

/* ------------------------------------------------------------------ handle */

static int valid_handle(cudnnHandle_t h)
{
    return h && h->magic == HANDLE_MAGIC;
}

int sim_cudnn_handle_stream(cudnnHandle_t handle, cudaStream_t *stream)
{
    if (!valid_handle(handle))
        return 0;
    *stream = handle->stream;
    return 1;
}

cudnnStatus_t cudnnCreate(cudnnHandle_t *handle)
{
    struct cudnnContext *h;
    if (!handle)
        return CUDNN_STATUS_BAD_PARAM;
    nnspy_sim_runtime_use(); /* the real one sets up on the current device */
    h = calloc(1, sizeof *h);
    if (!h)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    h->magic = HANDLE_MAGIC;
    *handle = h;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle)
{
    if (!valid_handle(handle))
        return CUDNN_STATUS_BAD_PARAM;
    handle->magic = 0;
    free(handle);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId)
{
    if (!valid_handle(handle))
        return CUDNN_STATUS_BAD_PARAM;
    handle->stream = streamId;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetStream(cudnnHandle_t handle, cudaStream_t *streamId)
{
    if (!valid_handle(handle) || !streamId)
        return CUDNN_STATUS_BAD_PARAM;
    *streamId = handle->stream;
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------- descriptors: create/destroy */

#define CREATE_DESTROY(create, destroy, handle_t)                                                \
    cudnnStatus_t create(handle_t *desc)                                                       \
    {                                                                                          \
        if (!desc)                                                                             \
            return CUDNN_STATUS_BAD_PARAM;                                                     \
        *desc = calloc(1, sizeof **desc);                                                      \
        return *desc ? CUDNN_STATUS_SUCCESS                                                    \
                     : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;                     \
    }                                                                                          \
    cudnnStatus_t destroy(handle_t desc)                                                       \
    {                                                                                          \
        free(desc);                                                                            \
        return CUDNN_STATUS_SUCCESS;                                                           \
    }

/* The same for the descriptors that remember their copy (see owner_tag). */
#define CREATE_DESTROY_OWNED(create, destroy, handle_t)                                          \
    cudnnStatus_t create(handle_t *desc)                                                       \
    {                                                                                          \
        if (!desc)                                                                             \
            return CUDNN_STATUS_BAD_PARAM;                                                     \
        *desc = calloc(1, sizeof **desc);                                                      \
        if (!*desc)                                                                            \
            return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;                         \
        (*desc)->owner = &owner_tag;                                                           \
        return CUDNN_STATUS_SUCCESS;                                                           \
    }                                                                                          \
    cudnnStatus_t destroy(handle_t desc)                                                       \
    {                                                                                          \
        if (FOREIGN(desc))                                                                     \
            return CUDNN_STATUS_BAD_PARAM;                                                     \
        free(desc);                                                                            \
        return CUDNN_STATUS_SUCCESS;                                                           \
    }

CREATE_DESTROY_OWNED(cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor,
                     cudnnTensorDescriptor_t)
CREATE_DESTROY_OWNED(cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor,
                     cudnnFilterDescriptor_t)
CREATE_DESTROY(cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor,
               cudnnPoolingDescriptor_t)
CREATE_DESTROY(cudnnCreateOpTensorDescriptor, cudnnDestroyOpTensorDescriptor,
               cudnnOpTensorDescriptor_t)

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc)
{
    if (!convDesc)
        return CUDNN_STATUS_BAD_PARAM;
    *convDesc = calloc(1, sizeof **convDesc);
    if (!*convDesc)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    (*convDesc)->owner = &owner_tag;
    (*convDesc)->groups = 1;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc)
{
    if (FOREIGN(convDesc))
        return CUDNN_STATUS_BAD_PARAM;
    free(convDesc);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateActivationDescriptor(cudnnActivationDescriptor_t *activationDesc)
{
    if (!activationDesc)
        return CUDNN_STATUS_BAD_PARAM;
    *activationDesc = calloc(1, sizeof **activationDesc);
    if (!*activationDesc)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    (*activationDesc)->swish_beta = 1.0;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyActivationDescriptor(cudnnActivationDescriptor_t activationDesc)
{
    free(activationDesc);
    return CUDNN_STATUS_SUCCESS;
}

/* Krizhevsky'12 defaults, as cudnn_ops.h documents. */
cudnnStatus_t cudnnCreateLRNDescriptor(cudnnLRNDescriptor_t *normDesc)
{
    if (!normDesc)
        return CUDNN_STATUS_BAD_PARAM;
    *normDesc = malloc(sizeof **normDesc);
    if (!*normDesc)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    (*normDesc)->n = 5;
    (*normDesc)->alpha = 1e-4;
    (*normDesc)->beta = 0.75;
    (*normDesc)->k = 2.0;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroyLRNDescriptor(cudnnLRNDescriptor_t lrnDesc)
{
    free(lrnDesc);
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------- tensor descriptors */

/* Channels as laid out in memory: vectors of `vect` channels for NCHW_VECT_C. */
static int64_t dim_in_memory(const tensor_t *t, int i)
{
    return i == 1 ? t->dim[1] / t->vect : t->dim[i];
}

/* Elements spanned in memory: 1 + sum (dim - 1) |stride|, as cuDNN sizes tensors. */
static int64_t tensor_extent(const tensor_t *t)
{
    int64_t e = 1;
    if (t->nb == 0)
        return 0;
    for (int i = 0; i < t->nb; i++)
        e += (dim_in_memory(t, i) - 1) * llabs((long long)t->stride[i]);
    return e;
}

static uint64_t tensor_bytes(const tensor_t *t)
{
    return sim_mul((uint64_t)tensor_extent(t), type_size(t->dtype));
}

/* Logical element count (product of dims). */
static int64_t tensor_elements(const tensor_t *t)
{
    int64_t e = t->nb ? 1 : 0;
    for (int i = 0; i < t->nb; i++)
        e = (int64_t)sim_mul((uint64_t)e, (uint64_t)t->dim[i]);
    return e;
}

static cudnnStatus_t check_dims(int nb, const int *dim)
{
    for (int i = 0; i < nb; i++)
        if (dim[i] <= 0)
            return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

/* A stride may be anything (the real library takes negative ones) but 0 on a
 * dimension longer than 1. */
static cudnnStatus_t check_strides(int nb, const int *dim, const int *stride)
{
    for (int i = 0; i < nb; i++)
        if (dim[i] > 1 && stride[i] == 0)
            return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

/* Fully packed strides for a format; NHWC keeps C innermost whatever the rank. */
static void packed_strides(tensor_t *t, cudnnTensorFormat_t format)
{
    int64_t acc = 1;
    if (format == CUDNN_TENSOR_NHWC && t->nb >= 2) {
        t->stride[1] = 1;
        acc = t->dim[1];
        for (int i = t->nb - 1; i >= 2; i--) {
            t->stride[i] = (int)acc;
            acc *= t->dim[i];
        }
        t->stride[0] = (int)acc;
        return;
    }
    for (int i = t->nb - 1; i >= 0; i--) {
        t->stride[i] = (int)acc;
        acc *= dim_in_memory(t, i);
    }
}

/* Tensors of more than 2^31 - 1 elements are stored but reported unsupported. */
static cudnnStatus_t check_size(const tensor_t *t)
{
    return tensor_extent(t) > MAX_ELEMENTS || tensor_elements(t) > MAX_ELEMENTS
               ? CUDNN_STATUS_NOT_SUPPORTED
               : CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t set_packed(tensor_t *t, cudnnTensorFormat_t format, cudnnDataType_t dtype,
                                int nb, const int *dim)
{
    int vect = vector_length(dtype);
    if (!t || FOREIGN(t) || !dim || format < CUDNN_TENSOR_NCHW ||
        format > CUDNN_TENSOR_NCHW_VECT_C ||
        !legacy_type(dtype) || check_dims(nb, dim) != CUDNN_STATUS_SUCCESS)
        return CUDNN_STATUS_BAD_PARAM;
    if (format == CUDNN_TENSOR_NCHW_VECT_C && (nb < 4 || vect == 1 || dim[1] % vect != 0))
        return CUDNN_STATUS_BAD_PARAM;
    t->dtype = dtype;
    t->nb = nb;
    t->vect = format == CUDNN_TENSOR_NCHW_VECT_C ? vect : 1;
    memcpy(t->dim, dim, (size_t)nb * sizeof *dim);
    packed_strides(t, format);
    return check_size(t);
}

cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc,
                                         cudnnTensorFormat_t format, cudnnDataType_t dataType,
                                         int n, int c, int h, int w)
{
    int dim[4] = {n, c, h, w};
    return set_packed(tensorDesc, format, dataType, 4, dim);
}

cudnnStatus_t cudnnSetTensorNdDescriptorEx(cudnnTensorDescriptor_t tensorDesc,
                                           cudnnTensorFormat_t format, cudnnDataType_t dataType,
                                           int nbDims, const int dimA[])
{
    if (nbDims < 2 || nbDims > 5)
        return CUDNN_STATUS_BAD_PARAM;
    return set_packed(tensorDesc, format, dataType, nbDims, dimA);
}

static cudnnStatus_t set_strided(tensor_t *t, cudnnDataType_t dtype, int nb, const int *dim,
                                 const int *stride)
{
    if (!t || FOREIGN(t) || !dim || !stride || !legacy_type(dtype) ||
        check_dims(nb, dim) != CUDNN_STATUS_SUCCESS ||
        check_strides(nb, dim, stride) != CUDNN_STATUS_SUCCESS)
        return CUDNN_STATUS_BAD_PARAM;
    t->dtype = dtype;
    t->nb = nb;
    t->vect = 1;
    memcpy(t->dim, dim, (size_t)nb * sizeof *dim);
    memcpy(t->stride, stride, (size_t)nb * sizeof *stride);
    return CUDNN_STATUS_SUCCESS;
}

/* The real library checks no size limit here (unlike the other three setters). */
cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t tensorDesc,
                                           cudnnDataType_t dataType, int n, int c, int h, int w,
                                           int nStride, int cStride, int hStride, int wStride)
{
    int dim[4] = {n, c, h, w}, stride[4] = {nStride, cStride, hStride, wStride};
    return set_strided(tensorDesc, dataType, 4, dim, stride);
}

cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t tensorDesc,
                                         cudnnDataType_t dataType, int nbDims, const int dimA[],
                                         const int strideA[])
{
    if (nbDims < 2)
        return CUDNN_STATUS_BAD_PARAM;
    if (nbDims > MAX_DIMS)
        return CUDNN_STATUS_NOT_SUPPORTED;
    cudnnStatus_t s = set_strided(tensorDesc, dataType, nbDims, dimA, strideA);
    return s == CUDNN_STATUS_SUCCESS ? check_size(tensorDesc) : s;
}

/* The first four dimensions, whatever the rank (as the real library answers). */
cudnnStatus_t cudnnGetTensor4dDescriptor(const cudnnTensorDescriptor_t tensorDesc,
                                         cudnnDataType_t *dataType, int *n, int *c, int *h,
                                         int *w, int *nStride, int *cStride, int *hStride,
                                         int *wStride)
{
    const tensor_t *t = tensorDesc;
    if (!t || FOREIGN(t) || !dataType || !n || !c || !h || !w || !nStride || !cStride ||
        !hStride || !wStride)
        return CUDNN_STATUS_BAD_PARAM;
    *dataType = t->dtype;
    *n = t->dim[0], *c = t->dim[1], *h = t->dim[2], *w = t->dim[3];
    *nStride = t->stride[0], *cStride = t->stride[1], *hStride = t->stride[2];
    *wStride = t->stride[3];
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetTensorNdDescriptor(const cudnnTensorDescriptor_t tensorDesc,
                                         int nbDimsRequested, cudnnDataType_t *dataType,
                                         int *nbDims, int dimA[], int strideA[])
{
    const tensor_t *t = tensorDesc;
    if (!t || FOREIGN(t) || !dataType || !nbDims)
        return CUDNN_STATUS_BAD_PARAM;
    int n = nbDimsRequested < t->nb ? nbDimsRequested : t->nb;
    if (n > 0 && (!dimA || !strideA))
        return CUDNN_STATUS_BAD_PARAM;
    *dataType = t->dtype;
    *nbDims = t->nb;
    for (int i = 0; i < n; i++) {
        dimA[i] = t->dim[i];
        strideA[i] = t->stride[i];
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetTensorSizeInBytes(const cudnnTensorDescriptor_t tensorDesc, size_t *size)
{
    if (!tensorDesc || FOREIGN(tensorDesc) || !size)
        return CUDNN_STATUS_BAD_PARAM;
    *size = (size_t)tensor_bytes(tensorDesc);
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------- filter descriptors */

static int filter_type(cudnnDataType_t t)
{
    return legacy_type(t) && t != CUDNN_DATA_INT32;
}

static cudnnStatus_t set_filter(filter_t *f, cudnnDataType_t dtype, cudnnTensorFormat_t format,
                                int nb, const int *dim)
{
    int vect = vector_length(dtype);
    if (!f || FOREIGN(f) || !dim || !filter_type(dtype) || format < CUDNN_TENSOR_NCHW ||
        format > CUDNN_TENSOR_NCHW_VECT_C || check_dims(nb, dim) != CUDNN_STATUS_SUCCESS)
        return CUDNN_STATUS_BAD_PARAM;
    if (format == CUDNN_TENSOR_NCHW_VECT_C && (vect == 1 || dim[1] % vect != 0))
        return CUDNN_STATUS_BAD_PARAM;
    f->dtype = dtype;
    f->format = format;
    f->nb = nb;
    memcpy(f->dim, dim, (size_t)nb * sizeof *dim);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc,
                                         cudnnDataType_t dataType, cudnnTensorFormat_t format,
                                         int k, int c, int h, int w)
{
    int dim[4] = {k, c, h, w};
    return set_filter(filterDesc, dataType, format, 4, dim);
}

cudnnStatus_t cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t filterDesc,
                                         cudnnDataType_t dataType, cudnnTensorFormat_t format,
                                         int nbDims, const int filterDimA[])
{
    if (nbDims < 3)
        return CUDNN_STATUS_BAD_PARAM;
    if (nbDims > MAX_DIMS)
        return CUDNN_STATUS_NOT_SUPPORTED;
    return set_filter(filterDesc, dataType, format, nbDims, filterDimA);
}

cudnnStatus_t cudnnGetFilter4dDescriptor(const cudnnFilterDescriptor_t filterDesc,
                                         cudnnDataType_t *dataType, cudnnTensorFormat_t *format,
                                         int *k, int *c, int *h, int *w)
{
    const filter_t *f = filterDesc;
    if (!f || FOREIGN(f) || !dataType || !format || !k || !c || !h || !w)
        return CUDNN_STATUS_BAD_PARAM;
    *dataType = f->dtype;
    *format = f->format;
    *k = f->dim[0], *c = f->dim[1], *h = f->dim[2], *w = f->dim[3];
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetFilterNdDescriptor(const cudnnFilterDescriptor_t filterDesc,
                                         int nbDimsRequested, cudnnDataType_t *dataType,
                                         cudnnTensorFormat_t *format, int *nbDims,
                                         int filterDimA[])
{
    const filter_t *f = filterDesc;
    if (!f || FOREIGN(f) || !dataType || !format || !nbDims)
        return CUDNN_STATUS_BAD_PARAM;
    /* Like the real library, fills every requested entry (stale ones past nbDims). */
    int n = nbDimsRequested < MAX_DIMS ? nbDimsRequested : MAX_DIMS;
    if (n > 0 && !filterDimA)
        return CUDNN_STATUS_BAD_PARAM;
    *dataType = f->dtype;
    *format = f->format;
    *nbDims = f->nb;
    for (int i = 0; i < n; i++)
        filterDimA[i] = f->dim[i];
    return CUDNN_STATUS_SUCCESS;
}

static int64_t filter_elements(const filter_t *f)
{
    int64_t e = f->nb ? 1 : 0;
    for (int i = 0; i < f->nb; i++)
        e = (int64_t)sim_mul((uint64_t)e, (uint64_t)f->dim[i]);
    return e;
}

static uint64_t filter_bytes(const filter_t *f)
{
    int vect = f->format == CUDNN_TENSOR_NCHW_VECT_C ? vector_length(f->dtype) : 1;
    return sim_mul((uint64_t)filter_elements(f) / (uint64_t)vect, type_size(f->dtype));
}

cudnnStatus_t cudnnGetFilterSizeInBytes(const cudnnFilterDescriptor_t filterDesc, size_t *size)
{
    if (!filterDesc || FOREIGN(filterDesc) || !size)
        return CUDNN_STATUS_BAD_PARAM;
    *size = (size_t)filter_bytes(filterDesc);
    return CUDNN_STATUS_SUCCESS;
}

/* Strides of the logical [K, C, spatial...] filter: NHWC stores K, spatial..., C. */
static void filter_strides(const filter_t *f, int64_t *stride)
{
    int64_t acc = 1;
    if (f->format == CUDNN_TENSOR_NHWC) {
        stride[1] = 1;
        acc = f->dim[1];
        for (int i = f->nb - 1; i >= 2; i--) {
            stride[i] = acc;
            acc *= f->dim[i];
        }
        stride[0] = acc;
        return;
    }
    for (int i = f->nb - 1; i >= 0; i--) {
        stride[i] = acc;
        acc *= f->dim[i];
    }
}

/* -------------------------------------------------- convolution descriptors */

static int conv_compute_type(cudnnDataType_t t)
{
    return t == CUDNN_DATA_FLOAT || t == CUDNN_DATA_DOUBLE || t == CUDNN_DATA_HALF ||
           t == CUDNN_DATA_INT32;
}

static cudnnStatus_t set_conv(conv_t *c, int len, const int *pad, const int *stride,
                              const int *dilation, cudnnConvolutionMode_t mode,
                              cudnnDataType_t compute)
{
    if (!c || FOREIGN(c) || len < 0 || (len > 0 && (!pad || !stride || !dilation)))
        return CUDNN_STATUS_BAD_PARAM;
    if (len > MAX_SPATIAL)
        return CUDNN_STATUS_NOT_SUPPORTED;
    if ((mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION) ||
        !conv_compute_type(compute))
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < len; i++)
        if (pad[i] < 0 || stride[i] <= 0 || dilation[i] <= 0)
            return CUDNN_STATUS_BAD_PARAM;
    c->len = len;
    memcpy(c->pad, pad, (size_t)len * sizeof *pad);
    memcpy(c->stride, stride, (size_t)len * sizeof *stride);
    memcpy(c->dilation, dilation, (size_t)len * sizeof *dilation);
    c->mode = mode;
    c->compute = compute;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h,
                                              int pad_w, int u, int v, int dilation_h,
                                              int dilation_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType)
{
    int pad[2] = {pad_h, pad_w}, stride[2] = {u, v}, dilation[2] = {dilation_h, dilation_w};
    return set_conv(convDesc, 2, pad, stride, dilation, mode, computeType);
}

cudnnStatus_t cudnnSetConvolutionNdDescriptor(cudnnConvolutionDescriptor_t convDesc,
                                              int arrayLength, const int padA[],
                                              const int filterStrideA[], const int dilationA[],
                                              cudnnConvolutionMode_t mode,
                                              cudnnDataType_t computeType)
{
    return set_conv(convDesc, arrayLength, padA, filterStrideA, dilationA, mode, computeType);
}

/* The first two spatial dimensions, whatever the rank (as the real library answers). */
cudnnStatus_t cudnnGetConvolution2dDescriptor(const cudnnConvolutionDescriptor_t convDesc,
                                              int *pad_h, int *pad_w, int *u, int *v,
                                              int *dilation_h, int *dilation_w,
                                              cudnnConvolutionMode_t *mode,
                                              cudnnDataType_t *computeType)
{
    const conv_t *c = convDesc;
    if (!c || FOREIGN(c) || !pad_h || !pad_w || !u || !v || !dilation_h || !dilation_w ||
        !mode || !computeType)
        return CUDNN_STATUS_BAD_PARAM;
    *pad_h = c->pad[0], *pad_w = c->pad[1];
    *u = c->stride[0], *v = c->stride[1];
    *dilation_h = c->dilation[0], *dilation_w = c->dilation[1];
    *mode = c->mode;
    *computeType = c->compute;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionNdDescriptor(const cudnnConvolutionDescriptor_t convDesc,
                                              int arrayLengthRequested, int *arrayLength,
                                              int padA[], int strideA[], int dilationA[],
                                              cudnnConvolutionMode_t *mode,
                                              cudnnDataType_t *computeType)
{
    const conv_t *c = convDesc;
    if (!c || FOREIGN(c) || !arrayLength || !mode || !computeType)
        return CUDNN_STATUS_BAD_PARAM;
    /* Like the real library, fills every requested entry (stale ones past the length). */
    int n = arrayLengthRequested < MAX_SPATIAL ? arrayLengthRequested : MAX_SPATIAL;
    if (n > 0 && (!padA || !strideA || !dilationA))
        return CUDNN_STATUS_BAD_PARAM;
    *arrayLength = c->len;
    for (int i = 0; i < n; i++) {
        padA[i] = c->pad[i];
        strideA[i] = c->stride[i];
        dilationA[i] = c->dilation[i];
    }
    *mode = c->mode;
    *computeType = c->compute;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int groupCount)
{
    if (!convDesc || FOREIGN(convDesc) || groupCount <= 0)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->groups = groupCount;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionGroupCount(cudnnConvolutionDescriptor_t convDesc, int *groupCount)
{
    if (!convDesc || FOREIGN(convDesc) || !groupCount)
        return CUDNN_STATUS_BAD_PARAM;
    *groupCount = convDesc->groups;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc,
                                          cudnnMathType_t mathType)
{
    if (!convDesc || FOREIGN(convDesc) || mathType < CUDNN_DEFAULT_MATH ||
        mathType > CUDNN_FMA_MATH)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->math = mathType;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc,
                                          cudnnMathType_t *mathType)
{
    if (!convDesc || FOREIGN(convDesc) || !mathType)
        return CUDNN_STATUS_BAD_PARAM;
    *mathType = convDesc->math;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetConvolutionReorderType(cudnnConvolutionDescriptor_t convDesc,
                                             cudnnReorderType_t reorderType)
{
    if (!convDesc || FOREIGN(convDesc) || reorderType < CUDNN_DEFAULT_REORDER ||
        reorderType > CUDNN_NO_REORDER)
        return CUDNN_STATUS_BAD_PARAM;
    convDesc->reorder = reorderType;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionReorderType(cudnnConvolutionDescriptor_t convDesc,
                                             cudnnReorderType_t *reorderType)
{
    if (!convDesc || FOREIGN(convDesc) || !reorderType)
        return CUDNN_STATUS_BAD_PARAM;
    *reorderType = convDesc->reorder;
    return CUDNN_STATUS_SUCCESS;
}

/*
 * Output dimensions of conv(x, w): N, K, then per spatial dimension
 * 1 + (in + 2 pad - ((f - 1) dilation + 1)) / stride. BAD_PARAM when the ranks
 * disagree, x's channels are not the filter's times the group count, or the
 * dilated filter is larger than the padded input.
 */
static cudnnStatus_t conv_output(const conv_t *c, const tensor_t *x, const filter_t *w, int *out)
{
    if (!c || !x || !w || FOREIGN(c) || FOREIGN(x) || FOREIGN(w) || x->nb < 3 ||
        x->nb != w->nb || x->nb != c->len + 2)
        return CUDNN_STATUS_BAD_PARAM;
    if ((int64_t)x->dim[1] != (int64_t)w->dim[1] * c->groups)
        return CUDNN_STATUS_BAD_PARAM;
    out[0] = x->dim[0];
    out[1] = w->dim[0];
    for (int i = 0; i < c->len; i++) {
        int64_t span = (int64_t)x->dim[i + 2] + 2LL * c->pad[i] -
                       ((int64_t)(w->dim[i + 2] - 1) * c->dilation[i] + 1);
        if (span < 0)
            return CUDNN_STATUS_BAD_PARAM;
        out[i + 2] = (int)(span / c->stride[i] + 1);
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc,
                                                    int *n, int *c, int *h, int *w)
{
    int out[MAX_DIMS];
    if (!n || !c || !h || !w || !inputTensorDesc || FOREIGN(inputTensorDesc) ||
        inputTensorDesc->nb < 4)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = conv_output(convDesc, inputTensorDesc, filterDesc, out);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    *n = out[0], *c = out[1], *h = out[2], *w = out[3];
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionNdForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc,
                                                    const cudnnTensorDescriptor_t inputTensorDesc,
                                                    const cudnnFilterDescriptor_t filterDesc,
                                                    int nbDims, int tensorOuputDimA[])
{
    int out[MAX_DIMS];
    if (!tensorOuputDimA || !inputTensorDesc || FOREIGN(inputTensorDesc) || nbDims < 1 ||
        nbDims > inputTensorDesc->nb)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = conv_output(convDesc, inputTensorDesc, filterDesc, out);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    memcpy(tensorOuputDimA, out, (size_t)nbDims * sizeof *out);
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------ pooling descriptors */

static cudnnStatus_t set_pooling(cudnnPoolingDescriptor_t p, cudnnPoolingMode_t mode,
                                 cudnnNanPropagation_t nan, int nb, const int *window,
                                 const int *pad, const int *stride)
{
    if (!p || !window || !pad || !stride || nb < 1 || nb > MAX_POOL_DIMS ||
        mode < CUDNN_POOLING_MAX || mode > CUDNN_POOLING_MAX_DETERMINISTIC ||
        (nan != CUDNN_NOT_PROPAGATE_NAN && nan != CUDNN_PROPAGATE_NAN))
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < nb; i++)
        if (window[i] <= 0 || stride[i] <= 0)
            return CUDNN_STATUS_BAD_PARAM; /* padding may be anything, as in the real one */
    p->mode = mode;
    p->nan = nan;
    p->nb = nb;
    memcpy(p->window, window, (size_t)nb * sizeof *window);
    memcpy(p->pad, pad, (size_t)nb * sizeof *pad);
    memcpy(p->stride, stride, (size_t)nb * sizeof *stride);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetPooling2dDescriptor(cudnnPoolingDescriptor_t poolingDesc,
                                          cudnnPoolingMode_t mode,
                                          cudnnNanPropagation_t maxpoolingNanOpt,
                                          int windowHeight, int windowWidth, int verticalPadding,
                                          int horizontalPadding, int verticalStride,
                                          int horizontalStride)
{
    int window[2] = {windowHeight, windowWidth}, pad[2] = {verticalPadding, horizontalPadding};
    int stride[2] = {verticalStride, horizontalStride};
    return set_pooling(poolingDesc, mode, maxpoolingNanOpt, 2, window, pad, stride);
}

cudnnStatus_t cudnnSetPoolingNdDescriptor(cudnnPoolingDescriptor_t poolingDesc,
                                          const cudnnPoolingMode_t mode,
                                          const cudnnNanPropagation_t maxpoolingNanOpt,
                                          int nbDims, const int windowDimA[], const int paddingA[],
                                          const int strideA[])
{
    return set_pooling(poolingDesc, mode, maxpoolingNanOpt, nbDims, windowDimA, paddingA,
                       strideA);
}

cudnnStatus_t cudnnGetPooling2dDescriptor(const cudnnPoolingDescriptor_t poolingDesc,
                                          cudnnPoolingMode_t *mode,
                                          cudnnNanPropagation_t *maxpoolingNanOpt,
                                          int *windowHeight, int *windowWidth,
                                          int *verticalPadding, int *horizontalPadding,
                                          int *verticalStride, int *horizontalStride)
{
    const struct cudnnPoolingStruct *p = poolingDesc;
    if (!p || !mode || !maxpoolingNanOpt || !windowHeight || !windowWidth || !verticalPadding ||
        !horizontalPadding || !verticalStride || !horizontalStride)
        return CUDNN_STATUS_BAD_PARAM;
    *mode = p->mode;
    *maxpoolingNanOpt = p->nan;
    *windowHeight = p->window[0], *windowWidth = p->window[1];
    *verticalPadding = p->pad[0], *horizontalPadding = p->pad[1];
    *verticalStride = p->stride[0], *horizontalStride = p->stride[1];
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetPoolingNdDescriptor(const cudnnPoolingDescriptor_t poolingDesc,
                                          int nbDimsRequested, cudnnPoolingMode_t *mode,
                                          cudnnNanPropagation_t *maxpoolingNanOpt, int *nbDims,
                                          int windowDimA[], int paddingA[], int strideA[])
{
    const struct cudnnPoolingStruct *p = poolingDesc;
    if (!p || !mode || !maxpoolingNanOpt || !nbDims)
        return CUDNN_STATUS_BAD_PARAM;
    /* Like the real library, fills every requested entry (stale ones past nbDims). */
    int n = nbDimsRequested < MAX_POOL_DIMS ? nbDimsRequested : MAX_POOL_DIMS;
    if (n > 0 && (!windowDimA || !paddingA || !strideA))
        return CUDNN_STATUS_BAD_PARAM;
    *mode = p->mode;
    *maxpoolingNanOpt = p->nan;
    *nbDims = p->nb;
    for (int i = 0; i < n; i++) {
        windowDimA[i] = p->window[i];
        paddingA[i] = p->pad[i];
        strideA[i] = p->stride[i];
    }
    return CUDNN_STATUS_SUCCESS;
}

/* N, C, then 1 + (in + 2 pad - window) / stride per spatial dimension. */
static cudnnStatus_t pooling_output(const struct cudnnPoolingStruct *p, const tensor_t *x,
                                    int *out)
{
    if (!p || !x || FOREIGN(x) || p->nb == 0 || x->nb != p->nb + 2)
        return CUDNN_STATUS_BAD_PARAM;
    out[0] = x->dim[0];
    out[1] = x->dim[1];
    for (int i = 0; i < p->nb; i++) {
        int64_t span = (int64_t)x->dim[i + 2] + 2LL * p->pad[i] - p->window[i];
        if (span < 0)
            return CUDNN_STATUS_BAD_PARAM;
        out[i + 2] = (int)(span / p->stride[i] + 1);
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetPooling2dForwardOutputDim(const cudnnPoolingDescriptor_t poolingDesc,
                                                const cudnnTensorDescriptor_t inputTensorDesc,
                                                int *n, int *c, int *h, int *w)
{
    int out[MAX_DIMS];
    if (!n || !c || !h || !w || !poolingDesc || poolingDesc->nb != 2)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = pooling_output(poolingDesc, inputTensorDesc, out);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    *n = out[0], *c = out[1], *h = out[2], *w = out[3];
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetPoolingNdForwardOutputDim(const cudnnPoolingDescriptor_t poolingDesc,
                                                const cudnnTensorDescriptor_t inputTensorDesc,
                                                int nbDims, int outputTensorDimA[])
{
    int out[MAX_DIMS];
    if (!outputTensorDimA || !inputTensorDesc || FOREIGN(inputTensorDesc) ||
        nbDims != inputTensorDesc->nb)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = pooling_output(poolingDesc, inputTensorDesc, out);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    memcpy(outputTensorDimA, out, (size_t)nbDims * sizeof *out);
    return CUDNN_STATUS_SUCCESS;
}

/* --------------------------------------------------- activation descriptors */

cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t activationDesc,
                                           cudnnActivationMode_t mode,
                                           cudnnNanPropagation_t reluNanOpt, double coef)
{
    if (!activationDesc || mode < CUDNN_ACTIVATION_SIGMOID || mode > CUDNN_ACTIVATION_SWISH ||
        (reluNanOpt != CUDNN_NOT_PROPAGATE_NAN && reluNanOpt != CUDNN_PROPAGATE_NAN))
        return CUDNN_STATUS_BAD_PARAM;
    activationDesc->mode = mode;
    activationDesc->nan = reluNanOpt;
    activationDesc->coef = coef;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetActivationDescriptor(const cudnnActivationDescriptor_t activationDesc,
                                           cudnnActivationMode_t *mode,
                                           cudnnNanPropagation_t *reluNanOpt, double *coef)
{
    if (!activationDesc || !mode || !reluNanOpt || !coef)
        return CUDNN_STATUS_BAD_PARAM;
    *mode = activationDesc->mode;
    *reluNanOpt = activationDesc->nan;
    *coef = activationDesc->coef;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetActivationDescriptorSwishBeta(cudnnActivationDescriptor_t activationDesc,
                                                    double swish_beta)
{
    if (!activationDesc)
        return CUDNN_STATUS_BAD_PARAM;
    activationDesc->swish_beta = swish_beta;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetActivationDescriptorSwishBeta(cudnnActivationDescriptor_t activationDesc,
                                                    double *swish_beta)
{
    if (!activationDesc || !swish_beta)
        return CUDNN_STATUS_BAD_PARAM;
    *swish_beta = activationDesc->swish_beta;
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------- LRN and OpTensor */

cudnnStatus_t cudnnSetLRNDescriptor(cudnnLRNDescriptor_t normDesc, unsigned lrnN, double lrnAlpha,
                                    double lrnBeta, double lrnK)
{
    if (!normDesc || lrnN < CUDNN_LRN_MIN_N || lrnN > CUDNN_LRN_MAX_N || lrnK < CUDNN_LRN_MIN_K ||
        lrnBeta < CUDNN_LRN_MIN_BETA)
        return CUDNN_STATUS_BAD_PARAM;
    normDesc->n = lrnN;
    normDesc->alpha = lrnAlpha;
    normDesc->beta = lrnBeta;
    normDesc->k = lrnK;
    return CUDNN_STATUS_SUCCESS;
}

/* Any of the output pointers may be NULL (cudnn_ops.h). */
cudnnStatus_t cudnnGetLRNDescriptor(cudnnLRNDescriptor_t normDesc, unsigned *lrnN,
                                    double *lrnAlpha, double *lrnBeta, double *lrnK)
{
    if (!normDesc)
        return CUDNN_STATUS_BAD_PARAM;
    if (lrnN)
        *lrnN = normDesc->n;
    if (lrnAlpha)
        *lrnAlpha = normDesc->alpha;
    if (lrnBeta)
        *lrnBeta = normDesc->beta;
    if (lrnK)
        *lrnK = normDesc->k;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetOpTensorDescriptor(cudnnOpTensorDescriptor_t opTensorDesc,
                                         cudnnOpTensorOp_t opTensorOp,
                                         cudnnDataType_t opTensorCompType,
                                         cudnnNanPropagation_t opTensorNanOpt)
{
    if (!opTensorDesc || opTensorOp < CUDNN_OP_TENSOR_ADD || opTensorOp > CUDNN_OP_TENSOR_NOT ||
        !legacy_type(opTensorCompType) ||
        (opTensorNanOpt != CUDNN_NOT_PROPAGATE_NAN && opTensorNanOpt != CUDNN_PROPAGATE_NAN))
        return CUDNN_STATUS_BAD_PARAM;
    opTensorDesc->op = opTensorOp;
    opTensorDesc->compute = opTensorCompType;
    opTensorDesc->nan = opTensorNanOpt;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetOpTensorDescriptor(const cudnnOpTensorDescriptor_t opTensorDesc,
                                         cudnnOpTensorOp_t *opTensorOp,
                                         cudnnDataType_t *opTensorCompType,
                                         cudnnNanPropagation_t *opTensorNanOpt)
{
    if (!opTensorDesc || !opTensorOp || !opTensorCompType || !opTensorNanOpt)
        return CUDNN_STATUS_BAD_PARAM;
    *opTensorOp = opTensorDesc->op;
    *opTensorCompType = opTensorDesc->compute;
    *opTensorNanOpt = opTensorDesc->nan;
    return CUDNN_STATUS_SUCCESS;
}

/* ----------------------------------------------------------- kernels: common */

/* Distinct buffers of an operation: an operand read and written in place counts once. */
typedef struct buffers {
    const void *p[6];
    int n;
    uint64_t bytes;
} buffers;

static void add_buffer(buffers *b, const void *p, uint64_t bytes)
{
    for (int i = 0; i < b->n; i++)
        if (p && b->p[i] == p)
            return;
    b->p[b->n++] = p;
    b->bytes = sim_add(b->bytes, bytes);
}

static cudnnStatus_t launch(cudnnHandle_t h, uint64_t flops, uint64_t bytes)
{
    return nnspy_sim_launch(h->stream, flops, bytes) == cudaSuccess
               ? CUDNN_STATUS_SUCCESS
               : CUDNN_STATUS_EXECUTION_FAILED;
}

/* Whether NNSPY_SIM_MATH is on and every tensor type involved has CPU math. */
static int math_on(const cudnnDataType_t *types, int n)
{
    if (!nnspy_sim_math_enabled())
        return 0;
    for (int i = 0; i < n; i++)
        if (!sim_dtype_has_math(math_type(types[i])))
            return 0;
    return 1;
}

static int same_dims(const tensor_t *a, const tensor_t *b)
{
    if (a->nb != b->nb)
        return 0;
    for (int i = 0; i < a->nb; i++)
        if (a->dim[i] != b->dim[i])
            return 0;
    return 1;
}

/* Every dimension of a is 1 or that of c (a broadcast over c). */
static int broadcasts_to(const tensor_t *a, const tensor_t *c)
{
    if (a->nb != c->nb)
        return 0;
    for (int i = 0; i < a->nb; i++)
        if (a->dim[i] != 1 && a->dim[i] != c->dim[i])
            return 0;
    return 1;
}

/* Multi-index of the e-th element in row-major order of dims. */
static void unravel(int64_t e, int nb, const int *dim, int *idx)
{
    for (int i = nb - 1; i >= 0; i--) {
        idx[i] = (int)(e % dim[i]);
        e /= dim[i];
    }
}

/* Memory offset of a multi-index; dimensions of size 1 broadcast. */
static int64_t offset_of(const tensor_t *t, const int *idx)
{
    int64_t off = 0;
    for (int i = 0; i < t->nb; i++)
        if (t->dim[i] != 1)
            off += (int64_t)idx[i] * t->stride[i];
    return off;
}

static double load(const tensor_t *t, const void *p, int64_t off)
{
    return sim_load_real(p, math_type(t->dtype), off);
}

/* y = alpha v + beta y; with beta == 0, y is not read. */
static void blend(const tensor_t *t, void *p, int64_t off, double alpha, double v, double beta)
{
    double r = alpha * v;
    if (beta != 0)
        r += beta * load(t, p, off);
    sim_store_real(p, math_type(t->dtype), off, r);
}

/* ----------------------------------------------------- kernels: elementwise */

cudnnStatus_t cudnnAddTensor(cudnnHandle_t handle, const void *alpha,
                             const cudnnTensorDescriptor_t aDesc, const void *A, const void *beta,
                             const cudnnTensorDescriptor_t cDesc, void *C)
{
    int idx[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !alpha || !beta || !aDesc || !A || !cDesc || !C ||
        FOREIGN(aDesc) || FOREIGN(cDesc) || aDesc->dtype != cDesc->dtype ||
        !broadcasts_to(aDesc, cDesc))
        return CUDNN_STATUS_BAD_PARAM;
    if (cDesc->nb > 5)
        return CUDNN_STATUS_NOT_SUPPORTED;
    add_buffer(&b, A, tensor_bytes(aDesc));
    add_buffer(&b, C, tensor_bytes(cDesc));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(cDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&cDesc->dtype, 1))
        return s;
    double al = scale_of(alpha, cDesc->dtype), be = scale_of(beta, cDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(cDesc); e < n_; e++) {
        unravel(e, cDesc->nb, cDesc->dim, idx);
        blend(cDesc, C, offset_of(cDesc, idx), al, load(aDesc, A, offset_of(aDesc, idx)), be);
    }
    return CUDNN_STATUS_SUCCESS;
}

/* y[i] = value, where *valuePtr has the tensor's own data type. */
cudnnStatus_t cudnnSetTensor(cudnnHandle_t handle, const cudnnTensorDescriptor_t yDesc, void *y,
                             const void *valuePtr)
{
    int idx[MAX_DIMS];
    if (!valid_handle(handle) || !yDesc || FOREIGN(yDesc) || !y || !valuePtr)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = launch(handle, 0, tensor_bytes(yDesc));
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&yDesc->dtype, 1))
        return s;
    double v = sim_load_real(valuePtr, math_type(yDesc->dtype), 0);
    for (int64_t e = 0, n_ = tensor_elements(yDesc); e < n_; e++) {
        unravel(e, yDesc->nb, yDesc->dim, idx);
        sim_store_real(y, math_type(yDesc->dtype), offset_of(yDesc, idx), v);
    }
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnScaleTensor(cudnnHandle_t handle, const cudnnTensorDescriptor_t yDesc, void *y,
                               const void *alpha)
{
    int idx[MAX_DIMS];
    if (!valid_handle(handle) || !yDesc || FOREIGN(yDesc) || !y || !alpha)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(yDesc), tensor_bytes(yDesc));
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&yDesc->dtype, 1))
        return s;
    double al = scale_of(alpha, yDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(yDesc); e < n_; e++) {
        unravel(e, yDesc->nb, yDesc->dim, idx);
        int64_t off = offset_of(yDesc, idx);
        sim_store_real(y, math_type(yDesc->dtype), off, al * load(yDesc, y, off));
    }
    return CUDNN_STATUS_SUCCESS;
}

/* y = alpha x + beta y between two layouts of the same shape and type. */
cudnnStatus_t cudnnTransformTensor(cudnnHandle_t handle, const void *alpha,
                                   const cudnnTensorDescriptor_t xDesc, const void *x,
                                   const void *beta, const cudnnTensorDescriptor_t yDesc, void *y)
{
    int idx[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !alpha || !beta || !xDesc || !x || !yDesc || !y ||
        FOREIGN(xDesc) || FOREIGN(yDesc) || !same_dims(xDesc, yDesc) ||
        xDesc->dtype != yDesc->dtype)
        return CUDNN_STATUS_BAD_PARAM;
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(yDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&yDesc->dtype, 1))
        return s;
    double al = scale_of(alpha, yDesc->dtype), be = scale_of(beta, yDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(yDesc); e < n_; e++) {
        unravel(e, yDesc->nb, yDesc->dim, idx);
        blend(yDesc, y, offset_of(yDesc, idx), al, load(xDesc, x, offset_of(xDesc, idx)), be);
    }
    return CUDNN_STATUS_SUCCESS;
}

static double op_tensor(cudnnOpTensorOp_t op, double a, double b)
{
    switch (op) {
    case CUDNN_OP_TENSOR_ADD: return a + b;
    case CUDNN_OP_TENSOR_MUL: return a * b;
    case CUDNN_OP_TENSOR_MIN: return a < b ? a : b;
    case CUDNN_OP_TENSOR_MAX: return a > b ? a : b;
    case CUDNN_OP_TENSOR_SQRT: return sqrt(a);
    case CUDNN_OP_TENSOR_NOT: return 1.0 - a;
    }
    return 0;
}

/* C = op(alpha1 A, alpha2 B) + beta C; B broadcasts, and is unused by SQRT and NOT. */
cudnnStatus_t cudnnOpTensor(cudnnHandle_t handle, const cudnnOpTensorDescriptor_t opTensorDesc,
                            const void *alpha1, const cudnnTensorDescriptor_t aDesc, const void *A,
                            const void *alpha2, const cudnnTensorDescriptor_t bDesc, const void *B,
                            const void *beta, const cudnnTensorDescriptor_t cDesc, void *C)
{
    int idx[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !opTensorDesc || !alpha1 || !alpha2 || !beta || !aDesc || !A ||
        !bDesc || !B || !cDesc || !C || FOREIGN(aDesc) || FOREIGN(bDesc) || FOREIGN(cDesc) ||
        !same_dims(aDesc, cDesc) || !broadcasts_to(bDesc, cDesc) ||
        aDesc->dtype != cDesc->dtype || bDesc->dtype != cDesc->dtype)
        return CUDNN_STATUS_BAD_PARAM;
    add_buffer(&b, A, tensor_bytes(aDesc));
    add_buffer(&b, B, tensor_bytes(bDesc));
    add_buffer(&b, C, tensor_bytes(cDesc));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(cDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&cDesc->dtype, 1))
        return s;
    double a1 = scale_of(alpha1, cDesc->dtype), a2 = scale_of(alpha2, cDesc->dtype);
    double be = scale_of(beta, cDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(cDesc); e < n_; e++) {
        unravel(e, cDesc->nb, cDesc->dim, idx);
        double v = op_tensor(opTensorDesc->op, a1 * load(aDesc, A, offset_of(aDesc, idx)),
                             a2 * load(bDesc, B, offset_of(bDesc, idx)));
        blend(cDesc, C, offset_of(cDesc, idx), 1.0, v, be);
    }
    return CUDNN_STATUS_SUCCESS;
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static double activate(const struct cudnnActivationStruct *a, double x)
{
    switch (a->mode) {
    case CUDNN_ACTIVATION_SIGMOID: return sigmoid(x);
    case CUDNN_ACTIVATION_RELU: return x > 0 ? x : 0;
    case CUDNN_ACTIVATION_TANH: return tanh(x);
    case CUDNN_ACTIVATION_CLIPPED_RELU: return x > 0 ? (x < a->coef ? x : a->coef) : 0;
    case CUDNN_ACTIVATION_ELU: return x > 0 ? x : a->coef * (exp(x) - 1.0);
    case CUDNN_ACTIVATION_IDENTITY: return x;
    case CUDNN_ACTIVATION_SWISH: return x * sigmoid(a->swish_beta * x);
    }
    return x;
}

/* y = alpha act(x) + beta y, x and y of the same shape and type (strides may differ). */
cudnnStatus_t cudnnActivationForward(cudnnHandle_t handle,
                                     cudnnActivationDescriptor_t activationDesc,
                                     const void *alpha, const cudnnTensorDescriptor_t xDesc,
                                     const void *x, const void *beta,
                                     const cudnnTensorDescriptor_t yDesc, void *y)
{
    int idx[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !activationDesc || !alpha || !beta || !xDesc || !x || !yDesc ||
        !y || FOREIGN(xDesc) || FOREIGN(yDesc) || !same_dims(xDesc, yDesc) ||
        xDesc->dtype != yDesc->dtype)
        return CUDNN_STATUS_BAD_PARAM;
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(yDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&yDesc->dtype, 1))
        return s;
    double al = scale_of(alpha, yDesc->dtype), be = scale_of(beta, yDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(yDesc); e < n_; e++) {
        unravel(e, yDesc->nb, yDesc->dim, idx);
        double v = activate(activationDesc, load(xDesc, x, offset_of(xDesc, idx)));
        blend(yDesc, y, offset_of(yDesc, idx), al, v, be);
    }
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------- kernels: pooling, softmax */

typedef struct window_stats {
    double max, sum;
    int64_t count;
    int nan;
} window_stats;

/* Reads the in-bounds elements of the pooling window of output position idx. */
static window_stats pool_window(const struct cudnnPoolingStruct *p, const tensor_t *xd,
                                const void *x, const int *out_idx)
{
    window_stats w = {-INFINITY, 0, 0, 0};
    int64_t size = 1;
    int r[MAX_POOL_DIMS], in[MAX_DIMS];
    for (int i = 0; i < p->nb; i++)
        size *= p->window[i];
    in[0] = out_idx[0];
    in[1] = out_idx[1];
    for (int64_t e = 0; e < size; e++) {
        int inside = 1;
        unravel(e, p->nb, p->window, r);
        for (int i = 0; i < p->nb && inside; i++) {
            in[i + 2] = out_idx[i + 2] * p->stride[i] - p->pad[i] + r[i];
            inside = in[i + 2] >= 0 && in[i + 2] < xd->dim[i + 2];
        }
        if (!inside)
            continue;
        double v = load(xd, x, offset_of(xd, in));
        w.nan |= isnan(v);
        if (v > w.max)
            w.max = v;
        w.sum += v;
        w.count++;
    }
    return w;
}

static double pool_value(const struct cudnnPoolingStruct *p, window_stats w)
{
    int64_t size = 1;
    for (int i = 0; i < p->nb; i++)
        size *= p->window[i];
    switch (p->mode) {
    case CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING: return w.sum / (double)size;
    case CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING: return w.count ? w.sum / (double)w.count : 0;
    default:
        if (w.nan && p->nan == CUDNN_PROPAGATE_NAN)
            return NAN;
        return w.count ? w.max : 0;
    }
}

/* y = alpha pool(x) + beta y; y's spatial size is taken as given. */
cudnnStatus_t cudnnPoolingForward(cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc,
                                  const void *alpha, const cudnnTensorDescriptor_t xDesc,
                                  const void *x, const void *beta,
                                  const cudnnTensorDescriptor_t yDesc, void *y)
{
    int idx[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !poolingDesc || !alpha || !beta || !xDesc || !x || !yDesc ||
        !y || FOREIGN(xDesc) || FOREIGN(yDesc) || xDesc->nb != poolingDesc->nb + 2 ||
        yDesc->nb != xDesc->nb ||
        xDesc->dim[0] != yDesc->dim[0] || xDesc->dim[1] != yDesc->dim[1] ||
        xDesc->dtype != yDesc->dtype)
        return CUDNN_STATUS_BAD_PARAM;
    uint64_t window = 1;
    for (int i = 0; i < poolingDesc->nb; i++)
        window = sim_mul(window, (uint64_t)poolingDesc->window[i]);
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    cudnnStatus_t s = launch(handle, sim_mul((uint64_t)tensor_elements(yDesc), window), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&yDesc->dtype, 1))
        return s;
    double al = scale_of(alpha, yDesc->dtype), be = scale_of(beta, yDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(yDesc); e < n_; e++) {
        unravel(e, yDesc->nb, yDesc->dim, idx);
        double v = pool_value(poolingDesc, pool_window(poolingDesc, xDesc, x, idx));
        blend(yDesc, y, offset_of(yDesc, idx), al, v, be);
    }
    return CUDNN_STATUS_SUCCESS;
}

/* Softmax groups: per image (INSTANCE: over C and all spatial) or per pixel (CHANNEL). */
static void softmax_group(cudnnSoftmaxAlgorithm_t algo, cudnnSoftmaxMode_t mode, double al,
                          const tensor_t *xd, const void *x, double be, const tensor_t *yd,
                          void *y, const int *outer)
{
    int idx[MAX_DIMS];
    int64_t inner = mode == CUDNN_SOFTMAX_MODE_INSTANCE ? tensor_elements(xd) / xd->dim[0]
                                                        : xd->dim[1];
    double max = -INFINITY, sum = 0;
    for (int pass = 0; pass < 3; pass++) {
        for (int64_t i = 0; i < inner; i++) {
            memcpy(idx, outer, sizeof idx);
            if (mode == CUDNN_SOFTMAX_MODE_INSTANCE)
                unravel(i, xd->nb - 1, xd->dim + 1, idx + 1);
            else
                idx[1] = (int)i;
            double v = load(xd, x, offset_of(xd, idx));
            double shift = algo == CUDNN_SOFTMAX_FAST ? 0 : max;
            if (pass == 0 && v > max)
                max = v;
            else if (pass == 1)
                sum += exp(v - shift);
            else if (pass == 2)
                blend(yd, y, offset_of(yd, idx), al,
                      algo == CUDNN_SOFTMAX_LOG ? v - shift - log(sum) : exp(v - shift) / sum, be);
        }
    }
}

cudnnStatus_t cudnnSoftmaxForward(cudnnHandle_t handle, cudnnSoftmaxAlgorithm_t algo,
                                  cudnnSoftmaxMode_t mode, const void *alpha,
                                  const cudnnTensorDescriptor_t xDesc, const void *x,
                                  const void *beta, const cudnnTensorDescriptor_t yDesc, void *y)
{
    int outer[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !alpha || !beta || !xDesc || !x || !yDesc || !y ||
        FOREIGN(xDesc) || FOREIGN(yDesc) || algo < CUDNN_SOFTMAX_FAST || algo > CUDNN_SOFTMAX_LOG ||
        (mode != CUDNN_SOFTMAX_MODE_INSTANCE && mode != CUDNN_SOFTMAX_MODE_CHANNEL) ||
        !same_dims(xDesc, yDesc) || xDesc->dtype != yDesc->dtype || xDesc->nb < 2)
        return CUDNN_STATUS_BAD_PARAM;
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(yDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&yDesc->dtype, 1))
        return s;
    double al = scale_of(alpha, yDesc->dtype), be = scale_of(beta, yDesc->dtype);
    int64_t groups = tensor_elements(xDesc) /
                     (mode == CUDNN_SOFTMAX_MODE_INSTANCE ? tensor_elements(xDesc) / xDesc->dim[0]
                                                          : xDesc->dim[1]);
    for (int64_t g = 0; g < groups; g++) {
        /* outer index: n, then (CHANNEL) the spatial position; channel left at 0 */
        if (mode == CUDNN_SOFTMAX_MODE_INSTANCE) {
            memset(outer, 0, sizeof outer);
            outer[0] = (int)g;
        } else {
            int dims[MAX_DIMS];
            memcpy(dims, xDesc->dim, sizeof dims);
            dims[1] = 1;
            unravel(g, xDesc->nb, dims, outer);
        }
        softmax_group(algo, mode, al, xDesc, x, be, yDesc, y, outer);
    }
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------- kernels: normalisations */

/* y = x / (k + alpha / n * sum of x^2 over the channel window)^beta. */
static double lrn_value(const struct cudnnLRNStruct *l, const tensor_t *xd, const void *x,
                        const int *idx)
{
    int at[MAX_DIMS];
    int behind = (int)(l->n - 1) / 2, ahead = (int)l->n - behind - 1;
    double sum = 0;
    memcpy(at, idx, sizeof at);
    for (int c = idx[1] - behind; c <= idx[1] + ahead; c++) {
        if (c < 0 || c >= xd->dim[1])
            continue;
        at[1] = c;
        double v = load(xd, x, offset_of(xd, at));
        sum += v * v;
    }
    return load(xd, x, offset_of(xd, idx)) / pow(l->k + l->alpha / l->n * sum, l->beta);
}

cudnnStatus_t cudnnLRNCrossChannelForward(cudnnHandle_t handle, cudnnLRNDescriptor_t normDesc,
                                          cudnnLRNMode_t lrnMode, const void *alpha,
                                          const cudnnTensorDescriptor_t xDesc, const void *x,
                                          const void *beta, const cudnnTensorDescriptor_t yDesc,
                                          void *y)
{
    int idx[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !normDesc || lrnMode != CUDNN_LRN_CROSS_CHANNEL_DIM1 || !alpha ||
        !beta || !xDesc || !x || !yDesc || !y || FOREIGN(xDesc) || FOREIGN(yDesc) ||
        !same_dims(xDesc, yDesc) || xDesc->dtype != yDesc->dtype || xDesc->nb < 3)
        return CUDNN_STATUS_BAD_PARAM;
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(yDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&yDesc->dtype, 1))
        return s;
    double al = scale_of(alpha, yDesc->dtype), be = scale_of(beta, yDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(yDesc); e < n_; e++) {
        unravel(e, yDesc->nb, yDesc->dim, idx);
        blend(yDesc, y, offset_of(yDesc, idx), al, lrn_value(normDesc, xDesc, x, idx), be);
    }
    return CUDNN_STATUS_SUCCESS;
}

/* Scale/bias/mean/variance shape: 1xCx1x1 (spatial modes) or 1xCxHxW (per activation). */
static void bn_dims(const tensor_t *x, cudnnBatchNormMode_t mode, int *dim)
{
    for (int i = 0; i < x->nb; i++)
        dim[i] = i == 0 ? 1 : (i == 1 || mode == CUDNN_BATCHNORM_PER_ACTIVATION) ? x->dim[i] : 1;
}

static cudnnDataType_t bn_type(cudnnDataType_t x)
{
    return x == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
}

cudnnStatus_t cudnnDeriveBNTensorDescriptor(cudnnTensorDescriptor_t derivedBnDesc,
                                            const cudnnTensorDescriptor_t xDesc,
                                            cudnnBatchNormMode_t mode)
{
    int dim[MAX_DIMS];
    if (!derivedBnDesc || !xDesc || FOREIGN(derivedBnDesc) || FOREIGN(xDesc) || xDesc->nb < 4 ||
        mode < CUDNN_BATCHNORM_PER_ACTIVATION ||
        mode > CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
        return CUDNN_STATUS_BAD_PARAM;
    bn_dims(xDesc, mode, dim);
    return set_packed(derivedBnDesc, CUDNN_TENSOR_NCHW, bn_type(xDesc->dtype), xDesc->nb, dim);
}

cudnnStatus_t cudnnBatchNormalizationForwardInference(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
    void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, const void *estimatedMean, const void *estimatedVariance, double epsilon)
{
    const tensor_t *bn = bnScaleBiasMeanVarDesc;
    int idx[MAX_DIMS], dim[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !alpha || !beta || !xDesc || !x || !yDesc || !y || !bn ||
        !bnScale || !bnBias || !estimatedMean || !estimatedVariance ||
        mode < CUDNN_BATCHNORM_PER_ACTIVATION || mode > CUDNN_BATCHNORM_SPATIAL_PERSISTENT ||
        epsilon < CUDNN_BN_MIN_EPSILON || FOREIGN(xDesc) || FOREIGN(yDesc) || FOREIGN(bn) ||
        !same_dims(xDesc, yDesc) || xDesc->nb < 4)
        return CUDNN_STATUS_BAD_PARAM;
    bn_dims(xDesc, mode, dim);
    for (int i = 0; i < xDesc->nb; i++)
        if (bn->nb != xDesc->nb || bn->dim[i] != dim[i])
            return CUDNN_STATUS_BAD_PARAM;
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    add_buffer(&b, bnScale, tensor_bytes(bn));
    add_buffer(&b, bnBias, tensor_bytes(bn));
    add_buffer(&b, estimatedMean, tensor_bytes(bn));
    add_buffer(&b, estimatedVariance, tensor_bytes(bn));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(yDesc), b.bytes);
    cudnnDataType_t types[3] = {xDesc->dtype, yDesc->dtype, bn->dtype};
    if (s != CUDNN_STATUS_SUCCESS || !math_on(types, 3))
        return s;
    double al = scale_of(alpha, yDesc->dtype), be = scale_of(beta, yDesc->dtype);
    for (int64_t e = 0, n_ = tensor_elements(yDesc); e < n_; e++) {
        unravel(e, yDesc->nb, yDesc->dim, idx);
        int64_t p = offset_of(bn, idx); /* bn's unit dimensions broadcast */
        double v = load(bn, bnScale, p) * (load(xDesc, x, offset_of(xDesc, idx)) -
                                           load(bn, estimatedMean, p)) /
                       sqrt(epsilon + load(bn, estimatedVariance, p)) +
                   load(bn, bnBias, p);
        blend(yDesc, y, offset_of(yDesc, idx), al, v, be);
    }
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------------------------ kernels: convolution */

/*
 * Shape checks shared by the three directions, with x the forward input, y the
 * forward output: CUDNN_STATUS_NOT_SUPPORTED unless the tensors are 4-D or 5-D with
 * non-negative strides; CUDNN_STATUS_BAD_PARAM for mismatched ranks, channels, group
 * counts, data types, or a y whose dimensions are not the computed output's.
 */
static cudnnStatus_t conv_check(const conv_t *c, const tensor_t *x, const filter_t *w,
                                const tensor_t *y)
{
    int out[MAX_DIMS];
    if (!c || !x || !w || !y || FOREIGN(c) || FOREIGN(x) || FOREIGN(w) || FOREIGN(y) ||
        x->nb != y->nb || x->nb != w->nb)
        return CUDNN_STATUS_BAD_PARAM;
    if (x->nb < 4 || x->nb > 5)
        return CUDNN_STATUS_NOT_SUPPORTED;
    cudnnStatus_t s = conv_output(c, x, w, out);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    if (w->dim[0] % c->groups != 0)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < y->nb; i++)
        if (y->dim[i] != out[i])
            return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < x->nb; i++)
        if (x->stride[i] < 0 || y->stride[i] < 0)
            return CUDNN_STATUS_NOT_SUPPORTED;
    /* Same type throughout, but for int8 inputs producing float, int32 or int8. */
    if (x->dtype != w->dtype ||
        (y->dtype != x->dtype &&
         !(is_int8_family(x->dtype) && (y->dtype == CUDNN_DATA_FLOAT ||
                                        y->dtype == CUDNN_DATA_INT32 || is_int8_family(y->dtype)))))
        return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

static int64_t spatial_size(int nb, const int *dim)
{
    int64_t n = 1;
    for (int i = 2; i < nb; i++)
        n *= dim[i];
    return n;
}

/* 2 N K outSpatial (C / groups) kernelSpatial: a multiply and an add per tap. */
static uint64_t conv_flops(const tensor_t *x, const filter_t *w, const tensor_t *y)
{
    uint64_t per_output = sim_mul((uint64_t)w->dim[1], (uint64_t)spatial_size(w->nb, w->dim));
    (void)x;
    return sim_mul(2, sim_mul((uint64_t)tensor_elements(y), per_output));
}

typedef enum conv_dir { CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_FILTER } conv_dir;

/* One convolution with its operands; the accumulator follows the result's logical
 * order (y, x or w for the three directions). */
typedef struct conv_job {
    const conv_t *c;
    const tensor_t *x, *y;
    const filter_t *w;
    const void *xp, *wp, *yp;
    int64_t wstride[MAX_DIMS];
    double *acc;
} conv_job;

/* Input position of output o and filter tap r; 0 if it falls in the padding. */
static int input_position(const conv_job *j, const int *o, const int *r, int *in, int64_t *in_lin)
{
    *in_lin = 0;
    for (int d = 0; d < j->c->len; d++) {
        in[d] = o[d] * j->c->stride[d] - j->c->pad[d] + r[d] * j->c->dilation[d];
        if (in[d] < 0 || in[d] >= j->x->dim[d + 2])
            return 0;
        *in_lin = *in_lin * j->x->dim[d + 2] + in[d];
    }
    return 1;
}

/* The filter tap r as stored: CUDNN_CONVOLUTION flips the kernel. */
static int64_t filter_tap(const conv_job *j, const int *r, int64_t *tap_lin)
{
    int64_t off = 0;
    *tap_lin = 0;
    for (int d = 0; d < j->c->len; d++) {
        int f = j->w->dim[d + 2];
        int t = j->c->mode == CUDNN_CONVOLUTION ? f - 1 - r[d] : r[d];
        off += t * j->wstride[d + 2];
        *tap_lin = *tap_lin * f + t;
    }
    return off;
}

static int64_t spatial_offset(const tensor_t *t, const int *pos)
{
    int64_t off = 0;
    for (int d = 2; d < t->nb; d++)
        off += (int64_t)pos[d - 2] * t->stride[d];
    return off;
}

/* Visits every (input, tap, output) product once and accumulates it by direction. */
static void conv_accumulate(const conv_job *j, conv_dir dir)
{
    const int s = j->c->len, N = j->x->dim[0], C = j->x->dim[1], K = j->w->dim[0];
    const int cg = j->w->dim[1], kg = K / j->c->groups;
    const int64_t outs = spatial_size(j->y->nb, j->y->dim), ins = spatial_size(j->x->nb, j->x->dim);
    const int64_t taps = spatial_size(j->w->nb, j->w->dim);
    cudaDataType xt = math_type(j->x->dtype), wt = math_type(j->w->dtype), yt = math_type(j->y->dtype);
    int o[MAX_SPATIAL], r[MAX_SPATIAL], in[MAX_SPATIAL];
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int64_t ol = 0; ol < outs; ol++) {
                unravel(ol, s, j->y->dim + 2, o);
                int64_t yo = (int64_t)n * j->y->stride[0] + (int64_t)k * j->y->stride[1] +
                             spatial_offset(j->y, o);
                for (int c = 0; c < cg; c++) {
                    int cin = k / kg * cg + c;
                    for (int64_t rl = 0; rl < taps; rl++) {
                        int64_t il, tl;
                        unravel(rl, s, j->w->dim + 2, r);
                        if (!input_position(j, o, r, in, &il))
                            continue;
                        int64_t xo = (int64_t)n * j->x->stride[0] +
                                     (int64_t)cin * j->x->stride[1] + spatial_offset(j->x, in);
                        int64_t wo = k * j->wstride[0] + c * j->wstride[1] + filter_tap(j, r, &tl);
                        if (dir == CONV_FORWARD)
                            j->acc[((int64_t)n * K + k) * outs + ol] +=
                                sim_load_real(j->xp, xt, xo) * sim_load_real(j->wp, wt, wo);
                        else if (dir == CONV_BACKWARD_DATA)
                            j->acc[((int64_t)n * C + cin) * ins + il] +=
                                sim_load_real(j->yp, yt, yo) * sim_load_real(j->wp, wt, wo);
                        else
                            j->acc[((int64_t)k * cg + c) * taps + tl] +=
                                sim_load_real(j->xp, xt, xo) * sim_load_real(j->yp, yt, yo);
                    }
                }
            }
}

static void conv_job_init(conv_job *j, const conv_t *c, const tensor_t *x, const void *xp,
                          const filter_t *w, const void *wp, const tensor_t *y, const void *yp)
{
    memset(j, 0, sizeof *j);
    j->c = c;
    j->x = x;
    j->w = w;
    j->y = y;
    j->xp = xp;
    j->wp = wp;
    j->yp = yp;
    filter_strides(w, j->wstride);
}

/* result = alpha acc + beta result over a tensor in its logical order. */
static void store_tensor(const tensor_t *t, void *p, const double *acc, double al, double be)
{
    int idx[MAX_DIMS];
    for (int64_t e = 0, n_ = tensor_elements(t); e < n_; e++) {
        unravel(e, t->nb, t->dim, idx);
        blend(t, p, offset_of(t, idx), al, acc[e], be);
    }
}

static void store_filter(const conv_job *j, void *p, double al, double be)
{
    int idx[MAX_DIMS];
    cudaDataType t = math_type(j->w->dtype);
    for (int64_t e = 0, n_ = filter_elements(j->w); e < n_; e++) {
        int64_t off = 0;
        unravel(e, j->w->nb, j->w->dim, idx);
        for (int i = 0; i < j->w->nb; i++)
            off += idx[i] * j->wstride[i];
        double r = al * j->acc[e];
        if (be != 0)
            r += be * sim_load_real(p, t, off);
        sim_store_real(p, t, off, r);
    }
}

/* Runs the CPU math of one direction; the result's size picks the accumulator. */
static cudnnStatus_t conv_math(conv_job *j, conv_dir dir, void *out, double al, double be)
{
    int64_t n = dir == CONV_FORWARD    ? tensor_elements(j->y)
                : dir == CONV_BACKWARD_DATA ? tensor_elements(j->x)
                                           : filter_elements(j->w);
    j->acc = calloc((size_t)n, sizeof *j->acc);
    if (!j->acc)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    conv_accumulate(j, dir);
    if (dir == CONV_FORWARD)
        store_tensor(j->y, out, j->acc, al, be);
    else if (dir == CONV_BACKWARD_DATA)
        store_tensor(j->x, out, j->acc, al, be);
    else
        store_filter(j, out, al, be);
    free(j->acc);
    return CUDNN_STATUS_SUCCESS;
}

static int conv_types_have_math(const tensor_t *x, const filter_t *w, const tensor_t *y)
{
    cudnnDataType_t types[3] = {x->dtype, w->dtype, y->dtype};
    return math_on(types, 3);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha,
                                      const cudnnTensorDescriptor_t xDesc, const void *x,
                                      const cudnnFilterDescriptor_t wDesc, const void *w,
                                      const cudnnConvolutionDescriptor_t convDesc,
                                      cudnnConvolutionFwdAlgo_t algo, void *workSpace,
                                      size_t workSpaceSizeInBytes, const void *beta,
                                      const cudnnTensorDescriptor_t yDesc, void *y)
{
    conv_job j;
    buffers b = {0};
    (void)workSpace;
    (void)workSpaceSizeInBytes; /* the sim's algorithms need no workspace */
    if (!valid_handle(handle) || !alpha || !beta || !x || !w || !y || algo < 0 ||
        algo >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = conv_check(convDesc, xDesc, wDesc, yDesc);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, w, filter_bytes(wDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    s = launch(handle, conv_flops(xDesc, wDesc, yDesc), b.bytes);
    if (s == CUDNN_STATUS_SUCCESS)
        __atomic_add_fetch(&conv_fwd_calls, 1, __ATOMIC_RELAXED);
    if (s != CUDNN_STATUS_SUCCESS || !conv_types_have_math(xDesc, wDesc, yDesc))
        return s;
    conv_job_init(&j, convDesc, xDesc, x, wDesc, w, yDesc, NULL);
    return conv_math(&j, CONV_FORWARD, y, scale_of(alpha, yDesc->dtype),
                     scale_of(beta, yDesc->dtype));
}

cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha,
                                           const cudnnFilterDescriptor_t wDesc, const void *w,
                                           const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                           const cudnnConvolutionDescriptor_t convDesc,
                                           cudnnConvolutionBwdDataAlgo_t algo, void *workSpace,
                                           size_t workSpaceSizeInBytes, const void *beta,
                                           const cudnnTensorDescriptor_t dxDesc, void *dx)
{
    conv_job j;
    buffers b = {0};
    (void)workSpace;
    (void)workSpaceSizeInBytes;
    if (!valid_handle(handle) || !alpha || !beta || !w || !dy || !dx || algo < 0 ||
        algo >= CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = conv_check(convDesc, dxDesc, wDesc, dyDesc);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    add_buffer(&b, dy, tensor_bytes(dyDesc));
    add_buffer(&b, w, filter_bytes(wDesc));
    add_buffer(&b, dx, tensor_bytes(dxDesc));
    s = launch(handle, conv_flops(dxDesc, wDesc, dyDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !conv_types_have_math(dxDesc, wDesc, dyDesc))
        return s;
    conv_job_init(&j, convDesc, dxDesc, NULL, wDesc, w, dyDesc, dy);
    return conv_math(&j, CONV_BACKWARD_DATA, dx, scale_of(alpha, dxDesc->dtype),
                     scale_of(beta, dxDesc->dtype));
}

cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha,
                                             const cudnnTensorDescriptor_t xDesc, const void *x,
                                             const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                             const cudnnConvolutionDescriptor_t convDesc,
                                             cudnnConvolutionBwdFilterAlgo_t algo,
                                             void *workSpace, size_t workSpaceSizeInBytes,
                                             const void *beta,
                                             const cudnnFilterDescriptor_t dwDesc, void *dw)
{
    conv_job j;
    buffers b = {0};
    (void)workSpace;
    (void)workSpaceSizeInBytes;
    if (!valid_handle(handle) || !alpha || !beta || !x || !dy || !dw || algo < 0 ||
        algo >= CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = conv_check(convDesc, xDesc, dwDesc, dyDesc);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, dy, tensor_bytes(dyDesc));
    add_buffer(&b, dw, filter_bytes(dwDesc));
    s = launch(handle, conv_flops(xDesc, dwDesc, dyDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !conv_types_have_math(xDesc, dwDesc, dyDesc))
        return s;
    conv_job_init(&j, convDesc, xDesc, x, dwDesc, NULL, dyDesc, dy);
    return conv_math(&j, CONV_BACKWARD_FILTER, dw, scale_of(alpha, dwDesc->dtype),
                     scale_of(beta, dwDesc->dtype));
}

/* db = alpha * (dy summed over every dimension but C) + beta db; db is 1xKx1x1. */
cudnnStatus_t cudnnConvolutionBackwardBias(cudnnHandle_t handle, const void *alpha,
                                           const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                           const void *beta, const cudnnTensorDescriptor_t dbDesc,
                                           void *db)
{
    int idx[MAX_DIMS];
    buffers b = {0};
    if (!valid_handle(handle) || !alpha || !beta || !dyDesc || !dy || !dbDesc || !db ||
        FOREIGN(dyDesc) || FOREIGN(dbDesc) || dbDesc->nb != dyDesc->nb || dbDesc->dim[1] != dyDesc->dim[1] ||
        dbDesc->dtype != dyDesc->dtype || tensor_elements(dbDesc) != dyDesc->dim[1])
        return CUDNN_STATUS_BAD_PARAM;
    add_buffer(&b, dy, tensor_bytes(dyDesc));
    add_buffer(&b, db, tensor_bytes(dbDesc));
    cudnnStatus_t s = launch(handle, (uint64_t)tensor_elements(dyDesc), b.bytes);
    if (s != CUDNN_STATUS_SUCCESS || !math_on(&dyDesc->dtype, 1))
        return s;
    double *acc = calloc((size_t)dyDesc->dim[1], sizeof *acc);
    if (!acc)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    for (int64_t e = 0, n_ = tensor_elements(dyDesc); e < n_; e++) {
        unravel(e, dyDesc->nb, dyDesc->dim, idx);
        acc[idx[1]] += load(dyDesc, dy, offset_of(dyDesc, idx));
    }
    store_tensor(dbDesc, db, acc, scale_of(alpha, dbDesc->dtype), scale_of(beta, dbDesc->dtype));
    free(acc);
    return CUDNN_STATUS_SUCCESS;
}

/* bias is 1xKx1x1 (same rank as y); z, when alpha2 != 0, has y's shape. */
static cudnnStatus_t bias_act_check(const tensor_t *y, const tensor_t *z, const void *zp,
                                    double alpha2, const tensor_t *bias,
                                    const struct cudnnActivationStruct *act,
                                    cudnnConvolutionFwdAlgo_t algo)
{
    if (!bias || !act || FOREIGN(bias) || (alpha2 != 0 && FOREIGN(z)) || bias->nb != y->nb || bias->dim[1] != y->dim[1] ||
        tensor_elements(bias) != y->dim[1])
        return CUDNN_STATUS_BAD_PARAM;
    if (alpha2 != 0 && (!z || !zp || !same_dims(z, y)))
        return CUDNN_STATUS_BAD_PARAM;
    /* cuDNN supports RELU, and IDENTITY only with IMPLICIT_PRECOMP_GEMM. */
    if (act->mode != CUDNN_ACTIVATION_RELU &&
        !(act->mode == CUDNN_ACTIVATION_IDENTITY &&
          algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM))
        return CUDNN_STATUS_NOT_SUPPORTED;
    return CUDNN_STATUS_SUCCESS;
}

/* y = act(alpha1 conv(x) + alpha2 z + bias), from the forward accumulator. */
static void store_bias_act(const conv_job *j, void *y, double alpha1, const tensor_t *z,
                           const void *zp, double alpha2, const tensor_t *bias, const void *bp,
                           const struct cudnnActivationStruct *act)
{
    int idx[MAX_DIMS];
    for (int64_t e = 0, n_ = tensor_elements(j->y); e < n_; e++) {
        unravel(e, j->y->nb, j->y->dim, idx);
        double v = alpha1 * j->acc[e] + load(bias, bp, offset_of(bias, idx));
        if (alpha2 != 0)
            v += alpha2 * load(z, zp, offset_of(z, idx));
        sim_store_real(y, math_type(j->y->dtype), offset_of(j->y, idx), activate(act, v));
    }
}

cudnnStatus_t cudnnConvolutionBiasActivationForward(
    cudnnHandle_t handle, const void *alpha1, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc,
    cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes,
    const void *alpha2, const cudnnTensorDescriptor_t zDesc, const void *z,
    const cudnnTensorDescriptor_t biasDesc, const void *bias,
    const cudnnActivationDescriptor_t activationDesc, const cudnnTensorDescriptor_t yDesc, void *y)
{
    conv_job j;
    buffers b = {0};
    (void)workSpace;
    (void)workSpaceSizeInBytes;
    if (!valid_handle(handle) || !alpha1 || !alpha2 || !x || !w || !y || !bias || algo < 0 ||
        algo >= CUDNN_CONVOLUTION_FWD_ALGO_COUNT)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t s = conv_check(convDesc, xDesc, wDesc, yDesc);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    double a1 = scale_of(alpha1, yDesc->dtype), a2 = scale_of(alpha2, yDesc->dtype);
    s = bias_act_check(yDesc, zDesc, z, a2, biasDesc, activationDesc, algo);
    if (s != CUDNN_STATUS_SUCCESS)
        return s;
    /* the convolution, then one FLOP per output for the bias, z and the activation */
    uint64_t stages = 1 + (a2 != 0) + (activationDesc->mode != CUDNN_ACTIVATION_IDENTITY);
    add_buffer(&b, x, tensor_bytes(xDesc));
    add_buffer(&b, w, filter_bytes(wDesc));
    if (a2 != 0)
        add_buffer(&b, z, tensor_bytes(zDesc));
    add_buffer(&b, bias, tensor_bytes(biasDesc));
    add_buffer(&b, y, tensor_bytes(yDesc));
    s = launch(handle,
               sim_add(conv_flops(xDesc, wDesc, yDesc),
                       sim_mul(stages, (uint64_t)tensor_elements(yDesc))),
               b.bytes);
    cudnnDataType_t types[5] = {xDesc->dtype, wDesc->dtype, yDesc->dtype, biasDesc->dtype,
                                a2 != 0 ? zDesc->dtype : yDesc->dtype};
    if (s != CUDNN_STATUS_SUCCESS || !math_on(types, 5))
        return s;
    conv_job_init(&j, convDesc, xDesc, x, wDesc, w, yDesc, NULL);
    j.acc = calloc((size_t)tensor_elements(yDesc), sizeof *j.acc);
    if (!j.acc)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    conv_accumulate(&j, CONV_FORWARD);
    store_bias_act(&j, y, a1, zDesc, z, a2, biasDesc, bias, activationDesc);
    free(j.acc);
    return CUDNN_STATUS_SUCCESS;
}

/* ------------------------------------- convolution algorithms and workspaces */

/* Modelled time of one convolution, in ms, for the perf results. */
static float conv_time_ms(const tensor_t *x, const filter_t *w, const tensor_t *y)
{
    uint64_t bytes = sim_add(sim_add(tensor_bytes(x), filter_bytes(w)), tensor_bytes(y));
    return (float)((double)nnspy_sim_kernel_ns(conv_flops(x, w, y), bytes) / 1e6);
}

/*
 * Every algorithm works here, needs no workspace and takes the modelled time:
 * IMPLICIT_PRECOMP_GEMM (1) first (the one that also runs IDENTITY bias-activation),
 * then the others in enum order. The same perf struct layout serves all three
 * directions.
 */
#define FILL_PERF(perf, requested, returned, count, ms, math)                                  \
    do {                                                                                       \
        int n_ = (requested) < (count) ? (requested) : (count);                                \
        for (int i_ = 0; i_ < n_; i_++) {                                                      \
            memset(&(perf)[i_], 0, sizeof (perf)[i_]);                                         \
            (perf)[i_].algo = i_ == 0 ? 1 : i_ == 1 ? 0 : i_;                                  \
            (perf)[i_].status = CUDNN_STATUS_SUCCESS;                                          \
            (perf)[i_].time = (ms);                                                          \
            (perf)[i_].memory = 0;                                                             \
            (perf)[i_].determinism = CUDNN_DETERMINISTIC;                                      \
            (perf)[i_].mathType = (math);                                                      \
        }                                                                                      \
        *(returned) = n_;                                                                      \
    } while (0)

static cudnnStatus_t query_check(cudnnHandle_t h, int requested, const int *returned,
                                 const void *perf)
{
    return valid_handle(h) && requested >= 1 && returned && perf ? CUDNN_STATUS_SUCCESS
                                                                 : CUDNN_STATUS_BAD_PARAM;
}

static cudnnStatus_t fwd_algos(cudnnHandle_t h, const tensor_t *x, const filter_t *w,
                               const conv_t *c, const tensor_t *y, int requested, int *returned,
                               cudnnConvolutionFwdAlgoPerf_t *perf)
{
    cudnnStatus_t s = query_check(h, requested, returned, perf);
    if (s == CUDNN_STATUS_SUCCESS)
        s = conv_check(c, x, w, y);
    if (s == CUDNN_STATUS_SUCCESS)
        FILL_PERF(perf, requested, returned, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                  conv_time_ms(x, w, y), c->math);
    return s;
}

static cudnnStatus_t bwd_data_algos(cudnnHandle_t h, const filter_t *w, const tensor_t *dy,
                                    const conv_t *c, const tensor_t *dx, int requested,
                                    int *returned, cudnnConvolutionBwdDataAlgoPerf_t *perf)
{
    cudnnStatus_t s = query_check(h, requested, returned, perf);
    if (s == CUDNN_STATUS_SUCCESS)
        s = conv_check(c, dx, w, dy);
    if (s == CUDNN_STATUS_SUCCESS)
        FILL_PERF(perf, requested, returned, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT,
                  conv_time_ms(dx, w, dy), c->math);
    return s;
}

static cudnnStatus_t bwd_filter_algos(cudnnHandle_t h, const tensor_t *x, const tensor_t *dy,
                                      const conv_t *c, const filter_t *dw, int requested,
                                      int *returned, cudnnConvolutionBwdFilterAlgoPerf_t *perf)
{
    cudnnStatus_t s = query_check(h, requested, returned, perf);
    if (s == CUDNN_STATUS_SUCCESS)
        s = conv_check(c, x, dw, dy);
    if (s == CUDNN_STATUS_SUCCESS)
        FILL_PERF(perf, requested, returned, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT,
                  conv_time_ms(x, dw, dy), c->math);
    return s;
}

static cudnnStatus_t max_count(cudnnHandle_t handle, int *count, int value)
{
    if (!valid_handle(handle) || !count)
        return CUDNN_STATUS_BAD_PARAM;
    *count = value;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t handle, int *count)
{
    return max_count(handle, count, CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t handle, int *count)
{
    return max_count(handle, count, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t handle, int *count)
{
    return max_count(handle, count, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
    const cudnnFilterDescriptor_t filterDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t destDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionFwdAlgoPerf_t *perfResults)
{
    return fwd_algos(handle, srcDesc, filterDesc, convDesc, destDesc, requestedAlgoCount,
                     returnedAlgoCount, perfResults);
}

/* Find* benchmarks: it answers from the model, and runs one kernel (2000 ns, no
 * work modelled) for each algorithm it reports, as the real search runs each one. */
#define RUN_ALGOS(handle, result, perf, returned)                                                  \
    do {                                                                                           \
        cudnnStatus_t s_ = (result);                                                               \
        for (int i_ = 0; s_ == CUDNN_STATUS_SUCCESS && i_ < *(returned); i_++)                     \
            if ((perf)[i_].status == CUDNN_STATUS_SUCCESS) s_ = launch(handle, 0, 0);              \
        return s_;                                                                                 \
    } while (0)

cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc,
    const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionFwdAlgoPerf_t *perfResults)
{
    cudnnStatus_t found = fwd_algos(handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount,
                                    returnedAlgoCount, perfResults);
    RUN_ALGOS(handle, found, perfResults, returnedAlgoCount);
}

cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t yDesc, void *y, const int requestedAlgoCount,
    int *returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t *perfResults, void *workSpace,
    size_t workSpaceSizeInBytes)
{
    (void)workSpace;
    (void)workSpaceSizeInBytes;
    if (!x || !w || !y) return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t found = fwd_algos(handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount,
                                    returnedAlgoCount, perfResults);
    RUN_ALGOS(handle, found, perfResults, returnedAlgoCount);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t filterDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnTensorDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdDataAlgoPerf_t *perfResults)
{
    return bwd_data_algos(handle, filterDesc, diffDesc, convDesc, gradDesc, requestedAlgoCount,
                          returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,
    const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdDataAlgoPerf_t *perfResults)
{
    cudnnStatus_t found = bwd_data_algos(handle, wDesc, dyDesc, convDesc, dxDesc,
                                         requestedAlgoCount, returnedAlgoCount, perfResults);
    RUN_ALGOS(handle, found, perfResults, returnedAlgoCount);
}

cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const void *w,
    const cudnnTensorDescriptor_t dyDesc, const void *dy,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc, void *dx,
    const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdDataAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes)
{
    (void)workSpace;
    (void)workSpaceSizeInBytes;
    if (!w || !dy || !dx) return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t found = bwd_data_algos(handle, wDesc, dyDesc, convDesc, dxDesc,
                                         requestedAlgoCount, returnedAlgoCount, perfResults);
    RUN_ALGOS(handle, found, perfResults, returnedAlgoCount);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t srcDesc,
    const cudnnTensorDescriptor_t diffDesc, const cudnnConvolutionDescriptor_t convDesc,
    const cudnnFilterDescriptor_t gradDesc, const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdFilterAlgoPerf_t *perfResults)
{
    return bwd_filter_algos(handle, srcDesc, diffDesc, convDesc, gradDesc, requestedAlgoCount,
                            returnedAlgoCount, perfResults);
}

cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc,
    const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdFilterAlgoPerf_t *perfResults)
{
    cudnnStatus_t found = bwd_filter_algos(handle, xDesc, dyDesc, convDesc, dwDesc,
                                           requestedAlgoCount, returnedAlgoCount, perfResults);
    RUN_ALGOS(handle, found, perfResults, returnedAlgoCount);
}

cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x,
    const cudnnTensorDescriptor_t dyDesc, const void *y,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc, void *dw,
    const int requestedAlgoCount, int *returnedAlgoCount,
    cudnnConvolutionBwdFilterAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes)
{
    (void)workSpace;
    (void)workSpaceSizeInBytes;
    if (!x || !y || !dw) return CUDNN_STATUS_BAD_PARAM;
    cudnnStatus_t found = bwd_filter_algos(handle, xDesc, dyDesc, convDesc, dwDesc,
                                           requestedAlgoCount, returnedAlgoCount, perfResults);
    RUN_ALGOS(handle, found, perfResults, returnedAlgoCount);
}

/* No algorithm of the sim needs a workspace: 0 bytes once the shapes check out. */
static cudnnStatus_t no_workspace(cudnnHandle_t h, cudnnStatus_t shapes, int algo, int count,
                                  size_t *size)
{
    if (!valid_handle(h) || !size || algo < 0 || algo >= count) return CUDNN_STATUS_BAD_PARAM;
    if (shapes != CUDNN_STATUS_SUCCESS) return shapes;
    *size = 0;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle,
                                                      const cudnnTensorDescriptor_t xDesc,
                                                      const cudnnFilterDescriptor_t wDesc,
                                                      const cudnnConvolutionDescriptor_t convDesc,
                                                      const cudnnTensorDescriptor_t yDesc,
                                                      cudnnConvolutionFwdAlgo_t algo,
                                                      size_t *sizeInBytes)
{
    return no_workspace(handle, conv_check(convDesc, xDesc, wDesc, yDesc), algo,
                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(
    cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,
    cudnnConvolutionBwdDataAlgo_t algo, size_t *sizeInBytes)
{
    return no_workspace(handle, conv_check(convDesc, dxDesc, wDesc, dyDesc), algo,
                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, sizeInBytes);
}

cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(
    cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnTensorDescriptor_t dyDesc,
    const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t gradDesc,
    cudnnConvolutionBwdFilterAlgo_t algo, size_t *sizeInBytes)
{
    return no_workspace(handle, conv_check(convDesc, xDesc, gradDesc, dyDesc), algo,
                        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, sizeInBytes);
}

/* ------------------------------------------- kernels: training and backward passes */
/*
 * These validate their arguments as cuDNN documents (CUDNN_STATUS_BAD_PARAM for a
 * NULL handle, pointer or descriptor, mismatched shapes or types, an out-of-range
 * mode, epsilon below CUDNN_BN_MIN_EPSILON) and advance the virtual clock. They do
 * no CPU math, even with NNSPY_SIM_MATH: nnspy never reads the results.
 */

/* The per-channel descriptor of a batch norm fits x and mode. */
static int bn_fits(const tensor_t *x, const tensor_t *bn, cudnnBatchNormMode_t mode)
{
    int dim[MAX_DIMS];
    if (!bn || FOREIGN(bn) || bn->nb != x->nb || mode < CUDNN_BATCHNORM_PER_ACTIVATION ||
        mode > CUDNN_BATCHNORM_SPATIAL_PERSISTENT)
        return 0;
    bn_dims(x, mode, dim);
    for (int i = 0; i < x->nb; i++)
        if (bn->dim[i] != dim[i])
            return 0;
    return 1;
}

/* Two tensors of one shape and type, both ours. */
static int twins(const tensor_t *a, const tensor_t *b)
{
    return a && b && !FOREIGN(a) && !FOREIGN(b) && same_dims(a, b) && a->dtype == b->dtype;
}

/* Optional outputs come in pairs: both given, or neither. */
static int paired(const void *a, const void *b)
{
    return (a == NULL) == (b == NULL);
}

/* Kernel time from `passes` reads and writes of x-sized tensors: the model wants a
 * plausible duration, not the exact traffic. */
static cudnnStatus_t launch_passes(cudnnHandle_t h, const tensor_t *x, uint64_t flops_per_element,
                                   uint64_t passes)
{
    uint64_t elements = (uint64_t)tensor_elements(x);
    return launch(h, sim_mul(elements, flops_per_element), sim_mul(tensor_bytes(x), passes));
}

static int bn_training_args_ok(cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha,
                               const void *beta, const tensor_t *x, const void *xp,
                               const tensor_t *y, const void *yp, const tensor_t *bn,
                               const void *scale, const void *bias, const void *run_mean,
                               const void *run_var, double epsilon, const void *save_mean,
                               const void *save_inv_var)
{
    return valid_handle(handle) && alpha && beta && xp && yp && scale && bias && twins(x, y) &&
           x->nb >= 4 && bn_fits(x, bn, mode) && epsilon >= CUDNN_BN_MIN_EPSILON &&
           paired(run_mean, run_var) && paired(save_mean, save_inv_var);
}

cudnnStatus_t cudnnBatchNormalizationForwardTraining(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
    void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
    void *resultRunningVariance, double epsilon, void *resultSaveMean,
    void *resultSaveInvVariance)
{
    (void)exponentialAverageFactor;
    if (!bn_training_args_ok(handle, mode, alpha, beta, xDesc, x, yDesc, y,
                             bnScaleBiasMeanVarDesc, bnScale, bnBias, resultRunningMean,
                             resultRunningVariance, epsilon, resultSaveMean,
                             resultSaveInvVariance))
        return CUDNN_STATUS_BAD_PARAM;
    return launch_passes(handle, xDesc, 8, 3); /* x read twice, y written */
}

/* The Ex forms' fused ops: z for BN_ADD_ACTIVATION, an activation unless BN alone. */
static int bn_ops_ok(cudnnBatchNormOps_t ops, const tensor_t *x, const tensor_t *z, const void *zp,
                     cudnnActivationDescriptor_t act)
{
    if (ops < CUDNN_BATCHNORM_OPS_BN || ops > CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION)
        return 0;
    if (ops != CUDNN_BATCHNORM_OPS_BN && !act)
        return 0;
    return ops != CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION || (zp && twins(x, z));
}

cudnnStatus_t cudnnBatchNormalizationForwardTrainingEx(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps, const void *alpha,
    const void *beta, const cudnnTensorDescriptor_t xDesc, const void *xData,
    const cudnnTensorDescriptor_t zDesc, const void *zData, const cudnnTensorDescriptor_t yDesc,
    void *yData, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
    const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
    void *resultRunningVariance, double epsilon, void *resultSaveMean,
    void *resultSaveInvVariance, cudnnActivationDescriptor_t activationDesc, void *workspace,
    size_t workSpaceSizeInBytes, void *reserveSpace, size_t reserveSpaceSizeInBytes)
{
    (void)exponentialAverageFactor, (void)workspace, (void)workSpaceSizeInBytes;
    (void)reserveSpace, (void)reserveSpaceSizeInBytes;
    if (!bn_training_args_ok(handle, mode, alpha, beta, xDesc, xData, yDesc, yData,
                             bnScaleBiasMeanVarDesc, bnScale, bnBias, resultRunningMean,
                             resultRunningVariance, epsilon, resultSaveMean,
                             resultSaveInvVariance) ||
        !bn_ops_ok(bnOps, xDesc, zDesc, zData, activationDesc))
        return CUDNN_STATUS_BAD_PARAM;
    return launch_passes(handle, xDesc, 10, 4);
}

cudnnStatus_t cudnnBatchNormalizationBackward(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alphaDataDiff,
    const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff,
    const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc,
    const void *dy, const cudnnTensorDescriptor_t dxDesc, void *dx,
    const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScale, void *dBnScaleResult,
    void *dBnBiasResult, double epsilon, const void *savedMean, const void *savedInvVariance)
{
    if (!valid_handle(handle) || !alphaDataDiff || !betaDataDiff || !alphaParamDiff ||
        !betaParamDiff || !x || !dy || !dx || !bnScale || !dBnScaleResult || !dBnBiasResult ||
        !twins(xDesc, dyDesc) || !twins(xDesc, dxDesc) || xDesc->nb < 4 ||
        !bn_fits(xDesc, dBnScaleBiasDesc, mode) || epsilon < CUDNN_BN_MIN_EPSILON ||
        !paired(savedMean, savedInvVariance))
        return CUDNN_STATUS_BAD_PARAM;
    return launch_passes(handle, xDesc, 9, 3);
}

cudnnStatus_t cudnnBatchNormalizationBackwardEx(
    cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps,
    const void *alphaDataDiff, const void *betaDataDiff, const void *alphaParamDiff,
    const void *betaParamDiff, const cudnnTensorDescriptor_t xDesc, const void *xData,
    const cudnnTensorDescriptor_t yDesc, const void *yData, const cudnnTensorDescriptor_t dyDesc,
    const void *dyData, const cudnnTensorDescriptor_t dzDesc, void *dzData,
    const cudnnTensorDescriptor_t dxDesc, void *dxData,
    const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScaleData,
    const void *bnBiasData, void *dBnScaleData, void *dBnBiasData, double epsilon,
    const void *savedMean, const void *savedInvVariance,
    cudnnActivationDescriptor_t activationDesc, void *workSpace, size_t workSpaceSizeInBytes,
    void *reserveSpace, size_t reserveSpaceSizeInBytes)
{
    (void)workSpace, (void)workSpaceSizeInBytes, (void)reserveSpace, (void)reserveSpaceSizeInBytes;
    if (!valid_handle(handle) || !alphaDataDiff || !betaDataDiff || !alphaParamDiff ||
        !betaParamDiff || !xData || !dyData || !dxData || !bnScaleData || !dBnScaleData ||
        !dBnBiasData || !twins(xDesc, dyDesc) || !twins(xDesc, dxDesc) || xDesc->nb < 4 ||
        !bn_fits(xDesc, dBnScaleBiasDesc, mode) || epsilon < CUDNN_BN_MIN_EPSILON ||
        !paired(savedMean, savedInvVariance) ||
        !bn_ops_ok(bnOps, xDesc, dzDesc, dzData, activationDesc) ||
        (bnOps != CUDNN_BATCHNORM_OPS_BN && (!yData || !bnBiasData || !twins(xDesc, yDesc))))
        return CUDNN_STATUS_BAD_PARAM;
    return launch_passes(handle, xDesc, 12, 4);
}

/* y, dy of one shape; x, dx of another; all of one type. */
static int backward_args_ok(cudnnHandle_t handle, const void *alpha, const void *beta,
                            const tensor_t *y, const void *yp, const tensor_t *dy, const void *dyp,
                            const tensor_t *x, const void *xp, const tensor_t *dx, const void *dxp)
{
    return valid_handle(handle) && alpha && beta && yp && dyp && xp && dxp && twins(y, dy) &&
           twins(x, dx) && x->dtype == y->dtype;
}

cudnnStatus_t cudnnActivationBackward(cudnnHandle_t handle,
                                      cudnnActivationDescriptor_t activationDesc,
                                      const void *alpha, const cudnnTensorDescriptor_t yDesc,
                                      const void *y, const cudnnTensorDescriptor_t dyDesc,
                                      const void *dy, const cudnnTensorDescriptor_t xDesc,
                                      const void *x, const void *beta,
                                      const cudnnTensorDescriptor_t dxDesc, void *dx)
{
    if (!activationDesc ||
        !backward_args_ok(handle, alpha, beta, yDesc, y, dyDesc, dy, xDesc, x, dxDesc, dx) ||
        !same_dims(xDesc, yDesc))
        return CUDNN_STATUS_BAD_PARAM;
    return launch_passes(handle, xDesc, 2, 4);
}

cudnnStatus_t cudnnPoolingBackward(cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc,
                                   const void *alpha, const cudnnTensorDescriptor_t yDesc,
                                   const void *y, const cudnnTensorDescriptor_t dyDesc,
                                   const void *dy, const cudnnTensorDescriptor_t xDesc,
                                   const void *x, const void *beta,
                                   const cudnnTensorDescriptor_t dxDesc, void *dx)
{
    int out[MAX_DIMS];
    if (!poolingDesc ||
        !backward_args_ok(handle, alpha, beta, yDesc, y, dyDesc, dy, xDesc, x, dxDesc, dx) ||
        pooling_output(poolingDesc, xDesc, out) != CUDNN_STATUS_SUCCESS)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < yDesc->nb; i++)
        if (yDesc->nb != xDesc->nb || out[i] != yDesc->dim[i])
            return CUDNN_STATUS_BAD_PARAM;
    return launch_passes(handle, xDesc, 2, 2);
}

cudnnStatus_t cudnnSoftmaxBackward(cudnnHandle_t handle, cudnnSoftmaxAlgorithm_t algo,
                                   cudnnSoftmaxMode_t mode, const void *alpha,
                                   const cudnnTensorDescriptor_t yDesc, const void *y,
                                   const cudnnTensorDescriptor_t dyDesc, const void *dy,
                                   const void *beta, const cudnnTensorDescriptor_t dxDesc, void *dx)
{
    if (!valid_handle(handle) || !alpha || !beta || !y || !dy || !dx || !twins(yDesc, dyDesc) ||
        !twins(yDesc, dxDesc) || algo < CUDNN_SOFTMAX_FAST || algo > CUDNN_SOFTMAX_LOG ||
        (mode != CUDNN_SOFTMAX_MODE_INSTANCE && mode != CUDNN_SOFTMAX_MODE_CHANNEL) ||
        yDesc->nb < 2)
        return CUDNN_STATUS_BAD_PARAM;
    return launch_passes(handle, yDesc, 4, 3);
}

/* ------------------------------------------------------------------ dropout */

struct cudnnDropoutStruct {
    int set;
    float rate;
    void *states;
    size_t state_bytes;
    unsigned long long seed;
};

CREATE_DESTROY(cudnnCreateDropoutDescriptor, cudnnDestroyDropoutDescriptor,
               cudnnDropoutDescriptor_t)

/* The generator's state: a fixed size, as cuDNN's depends only on the device. */
#define DROPOUT_STATE_BYTES (64u * 1024)

cudnnStatus_t cudnnDropoutGetStatesSize(cudnnHandle_t handle, size_t *sizeInBytes)
{
    if (!valid_handle(handle) || !sizeInBytes)
        return CUDNN_STATUS_BAD_PARAM;
    *sizeInBytes = DROPOUT_STATE_BYTES;
    return CUDNN_STATUS_SUCCESS;
}

/* The mask: one byte per element of x. */
cudnnStatus_t cudnnDropoutGetReserveSpaceSize(cudnnTensorDescriptor_t xdesc, size_t *sizeInBytes)
{
    if (!xdesc || FOREIGN(xdesc) || !sizeInBytes)
        return CUDNN_STATUS_BAD_PARAM;
    *sizeInBytes = (size_t)tensor_elements(xdesc);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetDropoutDescriptor(cudnnDropoutDescriptor_t dropoutDesc,
                                        cudnnHandle_t handle, float dropout, void *states,
                                        size_t stateSizeInBytes, unsigned long long seed)
{
    if (!dropoutDesc || !valid_handle(handle) || dropout < 0 || dropout > 1 ||
        (states && stateSizeInBytes < DROPOUT_STATE_BYTES))
        return CUDNN_STATUS_BAD_PARAM;
    *dropoutDesc = (struct cudnnDropoutStruct){1, dropout, states, stateSizeInBytes, seed};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetDropoutDescriptor(cudnnDropoutDescriptor_t dropoutDesc,
                                        cudnnHandle_t handle, float *dropout, void **states,
                                        unsigned long long *seed)
{
    if (!dropoutDesc || !valid_handle(handle) || !dropout || !states || !seed)
        return CUDNN_STATUS_BAD_PARAM;
    *dropout = dropoutDesc->rate;
    *states = dropoutDesc->states;
    *seed = dropoutDesc->seed;
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t dropout_run(cudnnHandle_t handle, const cudnnDropoutDescriptor_t d,
                                 const tensor_t *in, const void *inp, const tensor_t *out,
                                 const void *outp, const void *reserve, size_t reserve_bytes)
{
    if (!valid_handle(handle) || !d || !d->set || !d->states || !inp || !outp || !reserve ||
        !twins(in, out))
        return CUDNN_STATUS_BAD_PARAM;
    if (reserve_bytes < (size_t)tensor_elements(in))
        return CUDNN_STATUS_INVALID_VALUE;
    return launch(handle, sim_mul((uint64_t)tensor_elements(in), 2),
                  sim_add(sim_mul(tensor_bytes(in), 2), reserve_bytes));
}

cudnnStatus_t cudnnDropoutForward(cudnnHandle_t handle, const cudnnDropoutDescriptor_t dropoutDesc,
                                  const cudnnTensorDescriptor_t xdesc, const void *x,
                                  const cudnnTensorDescriptor_t ydesc, void *y, void *reserveSpace,
                                  size_t reserveSpaceSizeInBytes)
{
    return dropout_run(handle, dropoutDesc, xdesc, x, ydesc, y, reserveSpace,
                       reserveSpaceSizeInBytes);
}

cudnnStatus_t cudnnDropoutBackward(cudnnHandle_t handle, const cudnnDropoutDescriptor_t dropoutDesc,
                                   const cudnnTensorDescriptor_t dydesc, const void *dy,
                                   const cudnnTensorDescriptor_t dxdesc, void *dx,
                                   void *reserveSpace, size_t reserveSpaceSizeInBytes)
{
    return dropout_run(handle, dropoutDesc, dydesc, dy, dxdesc, dx, reserveSpace,
                       reserveSpaceSizeInBytes);
}

/* ------------------------------------------------------------------ RNN */
/*
 * The v8 RNN API: descriptors as cuDNN keeps them, the weight-space size from the
 * cell's matrices and biases, and forward and backward passes that validate their
 * arguments (CUDNN_STATUS_BAD_PARAM for NULL or mismatched descriptors, a vector
 * size that is not the descriptor's, a weight space smaller than required) and
 * advance the virtual clock. No CPU math.
 */

struct cudnnRNNStruct {
    int set;
    cudnnRNNAlgo_t algo;
    cudnnRNNMode_t mode;
    cudnnRNNBiasMode_t bias;
    cudnnDirectionMode_t dir;
    cudnnRNNInputMode_t input_mode;
    cudnnDataType_t dtype, math_prec;
    cudnnMathType_t math;
    int32_t input, hidden, proj, layers;
    cudnnDropoutDescriptor_t dropout;
    uint32_t aux;
};

struct cudnnRNNDataStruct {
    int set;
    cudnnDataType_t dtype;
    cudnnRNNDataLayout_t layout;
    int max_len, batch, vector;
    int *lengths;
};

CREATE_DESTROY(cudnnCreateRNNDescriptor, cudnnDestroyRNNDescriptor, cudnnRNNDescriptor_t)

cudnnStatus_t cudnnSetRNNDescriptor_v8(cudnnRNNDescriptor_t rnnDesc, cudnnRNNAlgo_t algo,
                                       cudnnRNNMode_t cellMode, cudnnRNNBiasMode_t biasMode,
                                       cudnnDirectionMode_t dirMode,
                                       cudnnRNNInputMode_t inputMode, cudnnDataType_t dataType,
                                       cudnnDataType_t mathPrec, cudnnMathType_t mathType,
                                       int32_t inputSize, int32_t hiddenSize, int32_t projSize,
                                       int32_t numLayers, cudnnDropoutDescriptor_t dropoutDesc,
                                       uint32_t auxFlags)
{
    if (!rnnDesc || cellMode < CUDNN_RNN_RELU || cellMode > CUDNN_GRU ||
        biasMode < CUDNN_RNN_NO_BIAS || biasMode > CUDNN_RNN_SINGLE_REC_BIAS ||
        (dirMode != CUDNN_UNIDIRECTIONAL && dirMode != CUDNN_BIDIRECTIONAL) ||
        (inputMode != CUDNN_LINEAR_INPUT && inputMode != CUDNN_SKIP_INPUT) ||
        (dataType != CUDNN_DATA_FLOAT && dataType != CUDNN_DATA_HALF &&
         dataType != CUDNN_DATA_DOUBLE) ||
        inputSize <= 0 || hiddenSize <= 0 || numLayers <= 0 || projSize <= 0 ||
        projSize > hiddenSize || (projSize != hiddenSize && cellMode != CUDNN_LSTM) ||
        (inputMode == CUDNN_SKIP_INPUT && inputSize != hiddenSize))
        return CUDNN_STATUS_BAD_PARAM;
    *rnnDesc = (struct cudnnRNNStruct){1,          algo,       cellMode,  biasMode,  dirMode,
                                       inputMode,  dataType,   mathPrec,  mathType,  inputSize,
                                       hiddenSize, projSize,   numLayers, dropoutDesc, auxFlags};
    return CUDNN_STATUS_SUCCESS;
}

#define PUT(p, v)                                                                                \
    do {                                                                                         \
        if (p)                                                                                   \
            *(p) = (v);                                                                          \
    } while (0)

cudnnStatus_t cudnnGetRNNDescriptor_v8(cudnnRNNDescriptor_t rnnDesc, cudnnRNNAlgo_t *algo,
                                       cudnnRNNMode_t *cellMode, cudnnRNNBiasMode_t *biasMode,
                                       cudnnDirectionMode_t *dirMode,
                                       cudnnRNNInputMode_t *inputMode, cudnnDataType_t *dataType,
                                       cudnnDataType_t *mathPrec, cudnnMathType_t *mathType,
                                       int32_t *inputSize, int32_t *hiddenSize, int32_t *projSize,
                                       int32_t *numLayers, cudnnDropoutDescriptor_t *dropoutDesc,
                                       uint32_t *auxFlags)
{
    if (!rnnDesc || !rnnDesc->set)
        return CUDNN_STATUS_BAD_PARAM;
    const struct cudnnRNNStruct *r = rnnDesc;
    PUT(algo, r->algo);
    PUT(cellMode, r->mode);
    PUT(biasMode, r->bias);
    PUT(dirMode, r->dir);
    PUT(inputMode, r->input_mode);
    PUT(dataType, r->dtype);
    PUT(mathPrec, r->math_prec);
    PUT(mathType, r->math);
    PUT(inputSize, r->input);
    PUT(hiddenSize, r->hidden);
    PUT(projSize, r->proj);
    PUT(numLayers, r->layers);
    PUT(dropoutDesc, r->dropout);
    PUT(auxFlags, r->aux);
    return CUDNN_STATUS_SUCCESS;
}

static int rnn_gates(cudnnRNNMode_t m)
{
    return m == CUDNN_LSTM ? 4 : m == CUDNN_GRU ? 3 : 1;
}

/* Elements of the weight space: per layer and direction, the input and recurrent
 * matrices, the bias vectors and an LSTM's projection. */
static uint64_t rnn_weight_elements(const struct cudnnRNNStruct *r)
{
    uint64_t gh = (uint64_t)rnn_gates(r->mode) * (uint64_t)r->hidden, dirs = r->dir ? 2 : 1;
    uint64_t biases = r->bias == CUDNN_RNN_DOUBLE_BIAS ? 2 : r->bias == CUDNN_RNN_NO_BIAS ? 0 : 1;
    uint64_t total = 0;
    for (int l = 0; l < r->layers; l++) {
        uint64_t in = l ? dirs * (uint64_t)r->proj
                        : (r->input_mode == CUDNN_SKIP_INPUT ? 0 : (uint64_t)r->input);
        uint64_t per = sim_add(sim_mul(gh, sim_add(in, (uint64_t)r->proj)), sim_mul(gh, biases));
        if (r->proj != r->hidden)
            per = sim_add(per, sim_mul((uint64_t)r->hidden, (uint64_t)r->proj));
        total = sim_add(total, sim_mul(per, dirs));
    }
    return total;
}

cudnnStatus_t cudnnGetRNNWeightSpaceSize(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                         size_t *weightSpaceSize)
{
    if (!valid_handle(handle) || !rnnDesc || !rnnDesc->set || !weightSpaceSize)
        return CUDNN_STATUS_BAD_PARAM;
    *weightSpaceSize = (size_t)sim_mul(rnn_weight_elements(rnnDesc), type_size(rnnDesc->dtype));
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateRNNDataDescriptor(cudnnRNNDataDescriptor_t *rnnDataDesc)
{
    if (!rnnDataDesc)
        return CUDNN_STATUS_BAD_PARAM;
    *rnnDataDesc = calloc(1, sizeof **rnnDataDesc);
    return *rnnDataDesc ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
}

cudnnStatus_t cudnnDestroyRNNDataDescriptor(cudnnRNNDataDescriptor_t rnnDataDesc)
{
    if (rnnDataDesc)
        free(rnnDataDesc->lengths);
    free(rnnDataDesc);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t rnnDataDesc,
                                        cudnnDataType_t dataType, cudnnRNNDataLayout_t layout,
                                        int maxSeqLength, int batchSize, int vectorSize,
                                        const int seqLengthArray[], void *paddingFill)
{
    (void)paddingFill;
    if (!rnnDataDesc || !seqLengthArray || maxSeqLength <= 0 || batchSize <= 0 ||
        vectorSize <= 0 || layout < CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED ||
        layout > CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < batchSize; i++)
        if (seqLengthArray[i] <= 0 || seqLengthArray[i] > maxSeqLength)
            return CUDNN_STATUS_BAD_PARAM;
    int *lengths = malloc((size_t)batchSize * sizeof *lengths);
    if (!lengths)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    memcpy(lengths, seqLengthArray, (size_t)batchSize * sizeof *lengths);
    free(rnnDataDesc->lengths);
    *rnnDataDesc = (struct cudnnRNNDataStruct){1,         dataType,   layout, maxSeqLength,
                                               batchSize, vectorSize, lengths};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetRNNDataDescriptor(cudnnRNNDataDescriptor_t rnnDataDesc,
                                        cudnnDataType_t *dataType, cudnnRNNDataLayout_t *layout,
                                        int *maxSeqLength, int *batchSize, int *vectorSize,
                                        int arrayLengthRequested, int seqLengthArray[],
                                        void *paddingFill)
{
    (void)paddingFill;
    if (!rnnDataDesc || !rnnDataDesc->set || !dataType || !layout || !maxSeqLength ||
        !batchSize || !vectorSize || arrayLengthRequested < 0 ||
        (arrayLengthRequested > 0 && !seqLengthArray))
        return CUDNN_STATUS_BAD_PARAM;
    const struct cudnnRNNDataStruct *d = rnnDataDesc;
    *dataType = d->dtype, *layout = d->layout, *maxSeqLength = d->max_len;
    *batchSize = d->batch, *vectorSize = d->vector;
    int n = arrayLengthRequested < d->batch ? arrayLengthRequested : d->batch;
    if (n > 0)
        memcpy(seqLengthArray, d->lengths, (size_t)n * sizeof *seqLengthArray);
    return CUDNN_STATUS_SUCCESS;
}

static int64_t rnn_steps(const struct cudnnRNNDataStruct *d)
{
    int64_t s = 0;
    for (int i = 0; i < d->batch; i++)
        s += d->lengths[i];
    return s;
}

cudnnStatus_t cudnnGetRNNTempSpaceSizes(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                        cudnnForwardMode_t fwdMode,
                                        cudnnRNNDataDescriptor_t xDesc, size_t *workSpaceSize,
                                        size_t *reserveSpaceSize)
{
    if (!valid_handle(handle) || !rnnDesc || !rnnDesc->set || !xDesc || !xDesc->set ||
        (fwdMode != CUDNN_FWD_MODE_INFERENCE && fwdMode != CUDNN_FWD_MODE_TRAINING))
        return CUDNN_STATUS_BAD_PARAM;
    /* the gates of every step of every layer: a plausible scratch size */
    uint64_t gates = sim_mul(sim_mul((uint64_t)rnn_steps(xDesc), (uint64_t)rnnDesc->layers),
                             sim_mul((uint64_t)rnn_gates(rnnDesc->mode), (uint64_t)rnnDesc->hidden));
    uint64_t bytes = sim_mul(sim_mul(gates, rnnDesc->dir ? 2 : 1), type_size(rnnDesc->dtype));
    PUT(workSpaceSize, (size_t)bytes);
    PUT(reserveSpaceSize, fwdMode == CUDNN_FWD_MODE_TRAINING ? (size_t)bytes : 0);
    return CUDNN_STATUS_SUCCESS;
}

/* x's vectors are the input size, y's the directions' outputs, same batch. */
static int rnn_args_ok(cudnnHandle_t handle, const struct cudnnRNNStruct *r,
                       const struct cudnnRNNDataStruct *x, const struct cudnnRNNDataStruct *y,
                       size_t weight_bytes, const void *weights)
{
    int dirs = r && r->dir ? 2 : 1;
    return valid_handle(handle) && r && r->set && x && x->set && y && y->set && weights &&
           x->vector == r->input && y->vector == dirs * r->proj && x->batch == y->batch &&
           x->dtype == r->dtype && y->dtype == r->dtype &&
           weight_bytes >= sim_mul(rnn_weight_elements(r), type_size(r->dtype));
}

static cudnnStatus_t rnn_launch(cudnnHandle_t h, const struct cudnnRNNStruct *r,
                                const struct cudnnRNNDataStruct *x)
{
    uint64_t w = rnn_weight_elements(r), steps = (uint64_t)rnn_steps(x);
    return launch(h, sim_mul(2, sim_mul(w, steps)),
                  sim_mul(sim_add(w, sim_mul(steps, (uint64_t)(x->vector + r->hidden))),
                          type_size(r->dtype)));
}

cudnnStatus_t cudnnRNNForward(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                              cudnnForwardMode_t fwdMode, const int32_t devSeqLengths[],
                              cudnnRNNDataDescriptor_t xDesc, const void *x,
                              cudnnRNNDataDescriptor_t yDesc, void *y,
                              cudnnTensorDescriptor_t hDesc, const void *hx, void *hy,
                              cudnnTensorDescriptor_t cDesc, const void *cx, void *cy,
                              size_t weightSpaceSize, const void *weightSpace,
                              size_t workSpaceSize, void *workSpace, size_t reserveSpaceSize,
                              void *reserveSpace)
{
    (void)hDesc, (void)hx, (void)hy, (void)cDesc, (void)cx, (void)cy;
    (void)workSpaceSize, (void)workSpace, (void)reserveSpaceSize, (void)reserveSpace;
    if (!devSeqLengths || !x || !y ||
        (fwdMode != CUDNN_FWD_MODE_INFERENCE && fwdMode != CUDNN_FWD_MODE_TRAINING) ||
        !rnn_args_ok(handle, rnnDesc, xDesc, yDesc, weightSpaceSize, weightSpace))
        return CUDNN_STATUS_BAD_PARAM;
    return rnn_launch(handle, rnnDesc, xDesc);
}

cudnnStatus_t cudnnRNNBackwardData_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                      const int32_t devSeqLengths[],
                                      cudnnRNNDataDescriptor_t yDesc, const void *y,
                                      const void *dy, cudnnRNNDataDescriptor_t xDesc, void *dx,
                                      cudnnTensorDescriptor_t hDesc, const void *hx,
                                      const void *dhy, void *dhx, cudnnTensorDescriptor_t cDesc,
                                      const void *cx, const void *dcy, void *dcx,
                                      size_t weightSpaceSize, const void *weightSpace,
                                      size_t workSpaceSize, void *workSpace,
                                      size_t reserveSpaceSize, void *reserveSpace)
{
    (void)hDesc, (void)hx, (void)dhy, (void)dhx, (void)cDesc, (void)cx, (void)dcy, (void)dcx;
    (void)workSpaceSize, (void)workSpace;
    if (!devSeqLengths || !y || !dy || !dx || !reserveSpace || !reserveSpaceSize ||
        !rnn_args_ok(handle, rnnDesc, xDesc, yDesc, weightSpaceSize, weightSpace))
        return CUDNN_STATUS_BAD_PARAM;
    return rnn_launch(handle, rnnDesc, xDesc);
}

cudnnStatus_t cudnnRNNBackwardWeights_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                         cudnnWgradMode_t addGrad, const int32_t devSeqLengths[],
                                         cudnnRNNDataDescriptor_t xDesc, const void *x,
                                         cudnnTensorDescriptor_t hDesc, const void *hx,
                                         cudnnRNNDataDescriptor_t yDesc, const void *y,
                                         size_t weightSpaceSize, void *dweightSpace,
                                         size_t workSpaceSize, void *workSpace,
                                         size_t reserveSpaceSize, void *reserveSpace)
{
    (void)hDesc, (void)hx, (void)workSpaceSize, (void)workSpace;
    if (!devSeqLengths || !x || !y || addGrad != CUDNN_WGRAD_MODE_ADD || !reserveSpace ||
        !reserveSpaceSize ||
        !rnn_args_ok(handle, rnnDesc, xDesc, yDesc, weightSpaceSize, dweightSpace))
        return CUDNN_STATUS_BAD_PARAM;
    return rnn_launch(handle, rnnDesc, xDesc);
}

/* ---------------------------------------------------------- multi-head attention */
/*
 * The attention and sequence-data descriptors, the weight buffer's size, and the
 * three passes: they validate their arguments (CUDNN_STATUS_BAD_PARAM for a NULL
 * or unset descriptor, a vector size other than the descriptor's, a batch or beam
 * beyond its maximum, a weight buffer smaller than required) and advance the
 * virtual clock. No CPU math.
 */

struct cudnnAttnStruct {
    int set;
    unsigned mode;
    int heads;
    double scaler;
    cudnnDataType_t dtype, compute;
    cudnnMathType_t math;
    cudnnDropoutDescriptor_t attn_dropout, post_dropout;
    int q, k, v, q_proj, k_proj, v_proj, o_proj, qo_max, kv_max, max_batch, max_beam;
};

struct cudnnSeqDataStruct {
    int set;
    cudnnDataType_t dtype;
    int dim[CUDNN_SEQDATA_DIM_COUNT];
    cudnnSeqDataAxis_t axes[CUDNN_SEQDATA_DIM_COUNT];
    int *lengths;
    size_t n_lengths;
};

CREATE_DESTROY(cudnnCreateAttnDescriptor, cudnnDestroyAttnDescriptor, cudnnAttnDescriptor_t)

cudnnStatus_t cudnnSetAttnDescriptor(cudnnAttnDescriptor_t attnDesc, unsigned attnMode,
                                     int nHeads, double smScaler, cudnnDataType_t dataType,
                                     cudnnDataType_t computePrec, cudnnMathType_t mathType,
                                     cudnnDropoutDescriptor_t attnDropoutDesc,
                                     cudnnDropoutDescriptor_t postDropoutDesc, int qSize,
                                     int kSize, int vSize, int qProjSize, int kProjSize,
                                     int vProjSize, int oProjSize, int qoMaxSeqLength,
                                     int kvMaxSeqLength, int maxBatchSize, int maxBeamSize)
{
    /* Q K^T needs one dimension for queries and keys: the projections', or the
     * inputs' when unprojected. */
    int head_q = qProjSize ? qProjSize : qSize, head_k = kProjSize ? kProjSize : kSize;
    if (!attnDesc || nHeads <= 0 || qSize <= 0 || kSize <= 0 || vSize <= 0 || qProjSize < 0 ||
        kProjSize < 0 || vProjSize < 0 || oProjSize < 0 || head_q != head_k ||
        qoMaxSeqLength <= 0 || kvMaxSeqLength <= 0 || maxBatchSize <= 0 || maxBeamSize <= 0 ||
        smScaler < 0 || (attnMode & ~(CUDNN_ATTN_QUERYMAP_ONE_TO_ONE | CUDNN_ATTN_ENABLE_PROJ_BIASES)))
        return CUDNN_STATUS_BAD_PARAM;
    *attnDesc = (struct cudnnAttnStruct){
        1,          attnMode,       nHeads,    smScaler,       dataType,
        computePrec, mathType,      attnDropoutDesc, postDropoutDesc, qSize,
        kSize,      vSize,          qProjSize, kProjSize,      vProjSize,
        oProjSize,  qoMaxSeqLength, kvMaxSeqLength, maxBatchSize, maxBeamSize};
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetAttnDescriptor(cudnnAttnDescriptor_t attnDesc, unsigned *attnMode,
                                     int *nHeads, double *smScaler, cudnnDataType_t *dataType,
                                     cudnnDataType_t *computePrec, cudnnMathType_t *mathType,
                                     cudnnDropoutDescriptor_t *attnDropoutDesc,
                                     cudnnDropoutDescriptor_t *postDropoutDesc, int *qSize,
                                     int *kSize, int *vSize, int *qProjSize, int *kProjSize,
                                     int *vProjSize, int *oProjSize, int *qoMaxSeqLength,
                                     int *kvMaxSeqLength, int *maxBatchSize, int *maxBeamSize)
{
    if (!attnDesc || !attnDesc->set)
        return CUDNN_STATUS_BAD_PARAM;
    const struct cudnnAttnStruct *a = attnDesc;
    PUT(attnMode, a->mode);
    PUT(nHeads, a->heads);
    PUT(smScaler, a->scaler);
    PUT(dataType, a->dtype);
    PUT(computePrec, a->compute);
    PUT(mathType, a->math);
    PUT(attnDropoutDesc, a->attn_dropout);
    PUT(postDropoutDesc, a->post_dropout);
    PUT(qSize, a->q);
    PUT(kSize, a->k);
    PUT(vSize, a->v);
    PUT(qProjSize, a->q_proj);
    PUT(kProjSize, a->k_proj);
    PUT(vProjSize, a->v_proj);
    PUT(oProjSize, a->o_proj);
    PUT(qoMaxSeqLength, a->qo_max);
    PUT(kvMaxSeqLength, a->kv_max);
    PUT(maxBatchSize, a->max_batch);
    PUT(maxBeamSize, a->max_beam);
    return CUDNN_STATUS_SUCCESS;
}

/* Elements of the weight buffer: the four projection matrices and their biases. */
static uint64_t attn_weight_elements(const struct cudnnAttnStruct *a)
{
    uint64_t h = (uint64_t)a->heads, head_v = (uint64_t)(a->v_proj ? a->v_proj : a->v);
    uint64_t w = sim_mul(h, sim_add(sim_add(sim_mul((uint64_t)a->q_proj, (uint64_t)a->q),
                                            sim_mul((uint64_t)a->k_proj, (uint64_t)a->k)),
                                    sim_mul((uint64_t)a->v_proj, (uint64_t)a->v)));
    w = sim_add(w, sim_mul((uint64_t)a->o_proj, sim_mul(h, head_v)));
    if (a->mode & CUDNN_ATTN_ENABLE_PROJ_BIASES)
        w = sim_add(w, sim_add(sim_mul(h, (uint64_t)(a->q_proj + a->k_proj + a->v_proj)),
                               (uint64_t)a->o_proj));
    return w;
}

cudnnStatus_t cudnnGetMultiHeadAttnBuffers(cudnnHandle_t handle,
                                           const cudnnAttnDescriptor_t attnDesc,
                                           size_t *weightSizeInBytes, size_t *workSpaceSizeInBytes,
                                           size_t *reserveSpaceSizeInBytes)
{
    if (!valid_handle(handle) || !attnDesc || !attnDesc->set || !weightSizeInBytes ||
        !workSpaceSizeInBytes)
        return CUDNN_STATUS_BAD_PARAM;
    const struct cudnnAttnStruct *a = attnDesc;
    uint64_t scores = sim_mul(sim_mul((uint64_t)a->qo_max, (uint64_t)a->kv_max),
                              sim_mul((uint64_t)a->heads, (uint64_t)(a->max_batch * a->max_beam)));
    *weightSizeInBytes = (size_t)sim_mul(attn_weight_elements(a), type_size(a->dtype));
    *workSpaceSizeInBytes = (size_t)sim_mul(scores, type_size(a->dtype));
    PUT(reserveSpaceSizeInBytes, *workSpaceSizeInBytes);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateSeqDataDescriptor(cudnnSeqDataDescriptor_t *seqDataDesc)
{
    if (!seqDataDesc)
        return CUDNN_STATUS_BAD_PARAM;
    *seqDataDesc = calloc(1, sizeof **seqDataDesc);
    return *seqDataDesc ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
}

cudnnStatus_t cudnnDestroySeqDataDescriptor(cudnnSeqDataDescriptor_t seqDataDesc)
{
    if (seqDataDesc)
        free(seqDataDesc->lengths);
    free(seqDataDesc);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetSeqDataDescriptor(cudnnSeqDataDescriptor_t seqDataDesc,
                                        cudnnDataType_t dataType, int nbDims, const int dimA[],
                                        const cudnnSeqDataAxis_t axes[], size_t seqLengthArraySize,
                                        const int seqLengthArray[], void *paddingFill)
{
    (void)paddingFill;
    if (!seqDataDesc || nbDims != CUDNN_SEQDATA_DIM_COUNT || !dimA || !axes || !seqLengthArray)
        return CUDNN_STATUS_BAD_PARAM;
    for (int i = 0; i < CUDNN_SEQDATA_DIM_COUNT; i++)
        if (dimA[i] <= 0 || axes[i] < CUDNN_SEQDATA_TIME_DIM || axes[i] > CUDNN_SEQDATA_VECT_DIM)
            return CUDNN_STATUS_BAD_PARAM;
    size_t n = (size_t)dimA[CUDNN_SEQDATA_BATCH_DIM] * (size_t)dimA[CUDNN_SEQDATA_BEAM_DIM];
    if (seqLengthArraySize != n)
        return CUDNN_STATUS_BAD_PARAM;
    for (size_t i = 0; i < n; i++)
        if (seqLengthArray[i] < 0 || seqLengthArray[i] > dimA[CUDNN_SEQDATA_TIME_DIM])
            return CUDNN_STATUS_BAD_PARAM;
    int *lengths = malloc(n * sizeof *lengths);
    if (!lengths)
        return CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED;
    memcpy(lengths, seqLengthArray, n * sizeof *lengths);
    free(seqDataDesc->lengths);
    seqDataDesc->set = 1;
    seqDataDesc->dtype = dataType;
    memcpy(seqDataDesc->dim, dimA, sizeof seqDataDesc->dim);
    memcpy(seqDataDesc->axes, axes, sizeof seqDataDesc->axes);
    seqDataDesc->lengths = lengths;
    seqDataDesc->n_lengths = n;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetSeqDataDescriptor(const cudnnSeqDataDescriptor_t seqDataDesc,
                                        cudnnDataType_t *dataType, int *nbDims,
                                        int nbDimsRequested, int dimA[], cudnnSeqDataAxis_t axes[],
                                        size_t *seqLengthArraySize, size_t seqLengthSizeRequested,
                                        int seqLengthArray[], void *paddingFill)
{
    (void)paddingFill;
    if (!seqDataDesc || !seqDataDesc->set || !dataType || !nbDims || !seqLengthArraySize ||
        nbDimsRequested < 0 || (nbDimsRequested && (!dimA || !axes)) ||
        (seqLengthSizeRequested && !seqLengthArray))
        return CUDNN_STATUS_BAD_PARAM;
    *dataType = seqDataDesc->dtype;
    *nbDims = CUDNN_SEQDATA_DIM_COUNT;
    for (int i = 0; i < nbDimsRequested && i < CUDNN_SEQDATA_DIM_COUNT; i++)
        dimA[i] = seqDataDesc->dim[i], axes[i] = seqDataDesc->axes[i];
    *seqLengthArraySize = seqDataDesc->n_lengths;
    size_t n = seqLengthSizeRequested < seqDataDesc->n_lengths ? seqLengthSizeRequested
                                                               : seqDataDesc->n_lengths;
    if (n)
        memcpy(seqLengthArray, seqDataDesc->lengths, n * sizeof *seqLengthArray);
    return CUDNN_STATUS_SUCCESS;
}

/* A sequence of `vector`-sized elements, within the descriptor's limits. */
static int seq_fits(const struct cudnnSeqDataStruct *s, const struct cudnnAttnStruct *a,
                    int vector, int max_time)
{
    return s && s->set && s->dtype == a->dtype && s->dim[CUDNN_SEQDATA_VECT_DIM] == vector &&
           s->dim[CUDNN_SEQDATA_BATCH_DIM] <= a->max_batch &&
           s->dim[CUDNN_SEQDATA_BEAM_DIM] <= a->max_beam &&
           s->dim[CUDNN_SEQDATA_TIME_DIM] <= max_time;
}

static int attn_args_ok(cudnnHandle_t handle, const struct cudnnAttnStruct *a,
                        const struct cudnnSeqDataStruct *q, const struct cudnnSeqDataStruct *k,
                        const struct cudnnSeqDataStruct *v, size_t weight_bytes,
                        const void *weights)
{
    return valid_handle(handle) && a && a->set && seq_fits(q, a, a->q, a->qo_max) &&
           seq_fits(k, a, a->k, a->kv_max) && seq_fits(v, a, a->v, a->kv_max) &&
           (attn_weight_elements(a) == 0 ||
            (weights && weight_bytes >= sim_mul(attn_weight_elements(a), type_size(a->dtype))));
}

static cudnnStatus_t attn_launch(cudnnHandle_t h, const struct cudnnAttnStruct *a)
{
    uint64_t w = attn_weight_elements(a);
    uint64_t tokens = sim_mul((uint64_t)a->qo_max, (uint64_t)(a->max_batch * a->max_beam));
    return launch(h, sim_mul(2, sim_mul(w, tokens)), sim_mul(sim_add(w, tokens), type_size(a->dtype)));
}

cudnnStatus_t cudnnMultiHeadAttnForward(
    cudnnHandle_t handle, const cudnnAttnDescriptor_t attnDesc, int currIdx, const int loWinIdx[],
    const int hiWinIdx[], const int devSeqLengthsQO[], const int devSeqLengthsKV[],
    const cudnnSeqDataDescriptor_t qDesc, const void *queries, const void *residuals,
    const cudnnSeqDataDescriptor_t kDesc, const void *keys, const cudnnSeqDataDescriptor_t vDesc,
    const void *values, const cudnnSeqDataDescriptor_t oDesc, void *out, size_t weightSizeInBytes,
    const void *weights, size_t workSpaceSizeInBytes, void *workSpace,
    size_t reserveSpaceSizeInBytes, void *reserveSpace)
{
    (void)residuals, (void)workSpaceSizeInBytes, (void)workSpace;
    (void)reserveSpaceSizeInBytes, (void)reserveSpace;
    if (!loWinIdx || !hiWinIdx || !devSeqLengthsQO || !devSeqLengthsKV || !queries || !keys ||
        !values || !out || !oDesc || !oDesc->set ||
        (attnDesc && currIdx >= attnDesc->qo_max) ||
        !attn_args_ok(handle, attnDesc, qDesc, kDesc, vDesc, weightSizeInBytes, weights))
        return CUDNN_STATUS_BAD_PARAM;
    return attn_launch(handle, attnDesc);
}

cudnnStatus_t cudnnMultiHeadAttnBackwardData(
    cudnnHandle_t handle, const cudnnAttnDescriptor_t attnDesc, const int loWinIdx[],
    const int hiWinIdx[], const int devSeqLengthsDQDO[], const int devSeqLengthsDKDV[],
    const cudnnSeqDataDescriptor_t doDesc, const void *dout, const cudnnSeqDataDescriptor_t dqDesc,
    void *dqueries, const void *queries, const cudnnSeqDataDescriptor_t dkDesc, void *dkeys,
    const void *keys, const cudnnSeqDataDescriptor_t dvDesc, void *dvalues, const void *values,
    size_t weightSizeInBytes, const void *weights, size_t workSpaceSizeInBytes, void *workSpace,
    size_t reserveSpaceSizeInBytes, void *reserveSpace)
{
    (void)workSpaceSizeInBytes, (void)workSpace;
    if (!loWinIdx || !hiWinIdx || !devSeqLengthsDQDO || !devSeqLengthsDKDV || !dout ||
        !dqueries || !queries || !dkeys || !keys || !dvalues || !values || !doDesc ||
        !doDesc->set || !reserveSpace || !reserveSpaceSizeInBytes ||
        !attn_args_ok(handle, attnDesc, dqDesc, dkDesc, dvDesc, weightSizeInBytes, weights))
        return CUDNN_STATUS_BAD_PARAM;
    return attn_launch(handle, attnDesc);
}

cudnnStatus_t cudnnMultiHeadAttnBackwardWeights(
    cudnnHandle_t handle, const cudnnAttnDescriptor_t attnDesc, cudnnWgradMode_t addGrad,
    const cudnnSeqDataDescriptor_t qDesc, const void *queries, const cudnnSeqDataDescriptor_t kDesc,
    const void *keys, const cudnnSeqDataDescriptor_t vDesc, const void *values,
    const cudnnSeqDataDescriptor_t doDesc, const void *dout, size_t weightSizeInBytes,
    const void *weights, void *dweights, size_t workSpaceSizeInBytes, void *workSpace,
    size_t reserveSpaceSizeInBytes, void *reserveSpace)
{
    (void)workSpaceSizeInBytes, (void)workSpace;
    if ((addGrad != CUDNN_WGRAD_MODE_ADD && addGrad != CUDNN_WGRAD_MODE_SET) || !queries ||
        !keys || !values || !dout || !doDesc || !doDesc->set || !dweights || !reserveSpace ||
        !reserveSpaceSizeInBytes ||
        !attn_args_ok(handle, attnDesc, qDesc, kDesc, vDesc, weightSizeInBytes, weights))
        return CUDNN_STATUS_BAD_PARAM;
    return attn_launch(handle, attnDesc);
}
