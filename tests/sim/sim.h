/*
 * sim.h: what the simulated device's libraries share (test equipment, see README.md).
 *
 * The virtual device clock lives in the simulated libcudart; libcudnn, libcublas and
 * libcublasLt reach it through the nnspy_sim_* functions declared here, which the sim
 * libcudart exports. Everything else in this header is static inline: element
 * conversions for the optional CPU math (NNSPY_SIM_MATH=1) and checked arithmetic.
 */
#ifndef NNSPY_SIM_H
#define NNSPY_SIM_H

#include <cuda_runtime_api.h>
#include <library_types.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------- exported by the sim libcudart.so.13 */

/* "nnspy simulated device": nnspy's preload looks this symbol up to know it runs here. */
const char *nnspy_sim_device_name(void);

/*
 * Runs one kernel on `stream`: it starts when the stream (and the calling thread) are
 * ready and lasts nnspy_sim_kernel_ns(flops, bytes). cudaErrorInvalidResourceHandle
 * if the stream is not a live one.
 */
cudaError_t nnspy_sim_launch(cudaStream_t stream, uint64_t flops, uint64_t bytes);

/* CUDA graphs: whether the stream is being captured (its kernels then go to the
 * graph, not to the device), and a kernel added to a graph directly (cuDNN's
 * cudnnBackendPopulateCudaGraph). */
int nnspy_sim_stream_capturing(cudaStream_t stream);
cudaError_t nnspy_sim_graph_add_kernel(cudaGraph_t graph, uint64_t flops, uint64_t bytes);
/* The runtime's capture and graph calls as the sim driver reaches them: the same,
 * but they leave the runtime's last error alone. */
cudaError_t nnspy_sim_begin_capture(cudaStream_t stream, int mode);
cudaError_t nnspy_sim_end_capture(cudaStream_t stream, cudaGraph_t *graph);
cudaError_t nnspy_sim_graph_instantiate(cudaGraphExec_t *exec, cudaGraph_t graph);
cudaError_t nnspy_sim_graph_launch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t nnspy_sim_graph_destroy(cudaGraph_t graph);
cudaError_t nnspy_sim_graph_exec_destroy(cudaGraphExec_t exec);
cudaError_t nnspy_sim_begin_capture_to_graph(cudaStream_t stream, cudaGraph_t graph, int mode);
cudaError_t nnspy_sim_graph_create(cudaGraph_t *graph);
cudaError_t nnspy_sim_graph_add_child(cudaGraphNode_t *node, cudaGraph_t graph, cudaGraph_t child);

/* The time model: 2000 + max(flops / 100000, bytes / 2000) ns, integer division. */
uint64_t nnspy_sim_kernel_ns(uint64_t flops, uint64_t bytes);

/* Virtual time (ns) at which all work enqueued so far on `stream` completes;
 * UINT64_MAX for an invalid stream. */
uint64_t nnspy_sim_stream_time_ns(cudaStream_t stream);

/* The calling thread's virtual host time (ns): advanced by the synchronising calls. */
uint64_t nnspy_sim_host_time_ns(void);

/* Kernels (compute calls, copies, memsets) run since the process started. */
uint64_t nnspy_sim_kernel_count(void);

/* 1 when NNSPY_SIM_MATH is set to a value other than "0": kernels compute on the CPU. */
int nnspy_sim_math_enabled(void);

/*
 * Device work as the sim libcupti records it (plumbing between the sim libraries).
 * The runtime calls the registered hook for every kernel (each nnspy_sim_launch:
 * the compute calls of cuDNN, cuBLAS and cuBLASLt, and a test's own kernels), copy
 * and memset, once the work is enqueued: on the launching thread, with no lock of
 * the runtime held, so the hook may call the runtime (work it launches is reported
 * too: re-entry is the hook's business).
 */
enum nnspy_sim_work_kind {
    NNSPY_SIM_WORK_KERNEL = 1,
    NNSPY_SIM_WORK_MEMCPY = 2,
    NNSPY_SIM_WORK_MEMSET = 3,
};

/* Where a copy's or memset's memory lives; numbered as CUpti_ActivityMemoryKind. */
enum nnspy_sim_memory_kind {
    NNSPY_SIM_MEMORY_PAGEABLE = 1, /* host memory the runtime did not allocate */
    NNSPY_SIM_MEMORY_PINNED = 2,   /* cudaMallocHost / cudaHostAlloc */
    NNSPY_SIM_MEMORY_DEVICE = 3,   /* cudaMalloc / cudaMallocAsync */
};

struct nnspy_sim_work {
    enum nnspy_sim_work_kind kind;
    cudaStream_t stream;         /* the handle the work was enqueued with */
    uint32_t stream_id;          /* nnspy_sim_stream_id(stream) */
    uint64_t start_ns, end_ns;   /* on the stream clocks, as NNSPY_SIM_TRACE prints */
    uint64_t flops, bytes;       /* the time model's inputs (a copy moves 2 x count bytes) */
    uint64_t count;              /* MEMCPY, MEMSET: bytes copied or set */
    int async;                   /* MEMCPY, MEMSET: the *Async entry point */
    enum nnspy_sim_memory_kind src, dst; /* MEMCPY: source, destination; MEMSET: dst */
    int value;                   /* MEMSET: the value */
};

typedef void (*nnspy_sim_work_hook)(const struct nnspy_sim_work *work);

/* Installs the hook (NULL removes it); one at a time, the last one set wins. */
void nnspy_sim_set_work_hook(nnspy_sim_work_hook hook);

/* A small integer naming a live stream, stable for its life and never reused: 1 for
 * the legacy default stream (NULL, cudaStreamLegacy), 2 for cudaStreamPerThread, 3, 4...
 * for created streams in creation order; 0 for a stream that is not live. */
uint32_t nnspy_sim_stream_id(cudaStream_t stream);

/*
 * The runtime's state and objects as the sim driver (libcuda.so.1, cuda.c) sees them;
 * plumbing between the sim libraries, not for tests (which use the real API).
 */

/* 1 once the runtime has taken its first API call (the driver then counts as
 * initialised: the real runtime calls cuInit). */
int nnspy_sim_runtime_started(void);

/* Runtime calls on the calling thread that used the primary context (memory,
 * streams, events, kernels...): each makes it current if no context is. */
uint64_t nnspy_sim_runtime_context_uses(void);

/* Counts as such a call: cuDNN and cuBLAS handle creation use the runtime on the
 * calling thread, as the real libraries do. */
void nnspy_sim_runtime_use(void);

/* cudaDeviceGetAttribute's value for a cudaDeviceAttr (numbered as CUdevice_attribute). */
int nnspy_sim_device_attribute(int attr);

/* Stream and event operations of the driver API on the runtime's streams and events
 * (a CUstream is a cudaStream_t, a CUevent a cudaEvent_t): as the runtime's own
 * calls, but they leave the last error alone. cudaErrorInvalidResourceHandle for a
 * stream or event that is not live. */
cudaError_t nnspy_sim_stream_check(cudaStream_t stream);
cudaError_t nnspy_sim_stream_synchronize(cudaStream_t stream);
cudaError_t nnspy_sim_event_create(cudaEvent_t *event, unsigned int flags);
cudaError_t nnspy_sim_event_record(cudaEvent_t event, cudaStream_t stream, unsigned int flags);
cudaError_t nnspy_sim_event_query(cudaEvent_t event);
cudaError_t nnspy_sim_event_synchronize(cudaEvent_t event);
cudaError_t nnspy_sim_event_elapsed(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t nnspy_sim_event_destroy(cudaEvent_t event);

/* ------------------------------------------------------------ checked arithmetic */

/* a * b, saturating at UINT64_MAX (the time model only needs an upper bound). */
static inline uint64_t sim_mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

static inline uint64_t sim_add(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* ------------------------------------------------------------- element types */

/* Storage bits of one element of a cudaDataType; 0 when unknown. */
static inline unsigned sim_dtype_bits(cudaDataType t)
{
    switch (t) {
    case CUDA_R_4I: case CUDA_R_4U: case CUDA_R_4F_E2M1: return 4;
    case CUDA_R_6F_E2M3: case CUDA_R_6F_E3M2: return 6;
    case CUDA_R_8I: case CUDA_R_8U: case CUDA_R_8F_E4M3: case CUDA_R_8F_E5M2:
    case CUDA_R_8F_UE8M0: case CUDA_C_4I: case CUDA_C_4U: return 8;
    case CUDA_R_16F: case CUDA_R_16BF: case CUDA_R_16I: case CUDA_R_16U:
    case CUDA_C_8I: case CUDA_C_8U: return 16;
    case CUDA_R_32F: case CUDA_R_32I: case CUDA_R_32U:
    case CUDA_C_16F: case CUDA_C_16BF: case CUDA_C_16I: case CUDA_C_16U: return 32;
    case CUDA_R_64F: case CUDA_R_64I: case CUDA_R_64U:
    case CUDA_C_32F: case CUDA_C_32I: case CUDA_C_32U: return 64;
    case CUDA_C_64F: case CUDA_C_64I: case CUDA_C_64U: return 128;
    }
    return 0;
}

/* Bytes of `elements` elements (sub-byte types packed, rounded up). */
static inline uint64_t sim_dtype_bytes(cudaDataType t, uint64_t elements)
{
    uint64_t bits = sim_mul(elements, sim_dtype_bits(t));
    return bits == UINT64_MAX ? bits : (bits + 7) / 8;
}

static inline int sim_dtype_is_complex(cudaDataType t)
{
    switch (t) {
    case CUDA_C_16F: case CUDA_C_16BF: case CUDA_C_32F: case CUDA_C_64F:
    case CUDA_C_4I: case CUDA_C_4U: case CUDA_C_8I: case CUDA_C_8U: case CUDA_C_16I:
    case CUDA_C_16U: case CUDA_C_32I: case CUDA_C_32U: case CUDA_C_64I: case CUDA_C_64U:
        return 1;
    default:
        return 0;
    }
}

/* Types the CPU math reads and writes; others (fp8, fp6, fp4, 4-bit ints) get no math. */
static inline int sim_dtype_has_math(cudaDataType t)
{
    switch (t) {
    case CUDA_R_16F: case CUDA_R_16BF: case CUDA_R_32F: case CUDA_R_64F:
    case CUDA_R_8I: case CUDA_R_8U: case CUDA_R_32I:
    case CUDA_C_16F: case CUDA_C_32F: case CUDA_C_64F:
        return 1;
    default:
        return 0;
    }
}

/* IEEE half <-> float, round to nearest even. */
static inline float sim_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    uint32_t bits;
    float f;
    if (exp == 0) {
        f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    bits = exp == 31 ? sign | 0x7f800000u | (mant << 13)
                     : sign | ((exp - 15 + 127) << 23) | (mant << 13);
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t sim_float_to_half(float f)
{
    uint32_t x, sign, absx, mant, h, rem;
    memcpy(&x, &f, sizeof x);
    sign = (x >> 16) & 0x8000u;
    absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (absx >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u); /* >= 65520 rounds to infinity */
    if (absx < 0x38800000u) {             /* below 2^-14: subnormal half */
        float a;
        memcpy(&a, &absx, sizeof a);
        return (uint16_t)(sign | (uint32_t)nearbyintf(a * 16777216.0f));
    }
    mant = absx & 0x7fffffu;
    h = ((((absx >> 23) - 127 + 15)) << 10) | (mant >> 13);
    rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
        h++;
    return (uint16_t)(sign | h);
}

static inline float sim_bf16_to_float(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t sim_float_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

/* One element as a complex double (im = 0 for real types). */
typedef struct sim_cplx {
    double re, im;
} sim_cplx;

static inline double sim_round_sat(double v, double lo, double hi)
{
    if (isnan(v))
        return 0;
    v = nearbyint(v);
    return v < lo ? lo : v > hi ? hi : v;
}

static inline sim_cplx sim_load(const void *base, cudaDataType t, int64_t i)
{
    sim_cplx v = {0, 0};
    switch (t) {
    case CUDA_R_16F: v.re = sim_half_to_float(((const uint16_t *)base)[i]); break;
    case CUDA_R_16BF: v.re = sim_bf16_to_float(((const uint16_t *)base)[i]); break;
    case CUDA_R_32F: v.re = ((const float *)base)[i]; break;
    case CUDA_R_64F: v.re = ((const double *)base)[i]; break;
    case CUDA_R_8I: v.re = ((const int8_t *)base)[i]; break;
    case CUDA_R_8U: v.re = ((const uint8_t *)base)[i]; break;
    case CUDA_R_32I: v.re = ((const int32_t *)base)[i]; break;
    case CUDA_C_16F:
        v.re = sim_half_to_float(((const uint16_t *)base)[2 * i]);
        v.im = sim_half_to_float(((const uint16_t *)base)[2 * i + 1]);
        break;
    case CUDA_C_32F:
        v.re = ((const float *)base)[2 * i];
        v.im = ((const float *)base)[2 * i + 1];
        break;
    case CUDA_C_64F:
        v.re = ((const double *)base)[2 * i];
        v.im = ((const double *)base)[2 * i + 1];
        break;
    default: break;
    }
    return v;
}

static inline void sim_store(void *base, cudaDataType t, int64_t i, sim_cplx v)
{
    switch (t) {
    case CUDA_R_16F: ((uint16_t *)base)[i] = sim_float_to_half((float)v.re); break;
    case CUDA_R_16BF: ((uint16_t *)base)[i] = sim_float_to_bf16((float)v.re); break;
    case CUDA_R_32F: ((float *)base)[i] = (float)v.re; break;
    case CUDA_R_64F: ((double *)base)[i] = v.re; break;
    case CUDA_R_8I: ((int8_t *)base)[i] = (int8_t)sim_round_sat(v.re, -128, 127); break;
    case CUDA_R_8U: ((uint8_t *)base)[i] = (uint8_t)sim_round_sat(v.re, 0, 255); break;
    case CUDA_R_32I:
        ((int32_t *)base)[i] = (int32_t)sim_round_sat(v.re, -2147483648.0, 2147483647.0);
        break;
    case CUDA_C_16F:
        ((uint16_t *)base)[2 * i] = sim_float_to_half((float)v.re);
        ((uint16_t *)base)[2 * i + 1] = sim_float_to_half((float)v.im);
        break;
    case CUDA_C_32F:
        ((float *)base)[2 * i] = (float)v.re;
        ((float *)base)[2 * i + 1] = (float)v.im;
        break;
    case CUDA_C_64F:
        ((double *)base)[2 * i] = v.re;
        ((double *)base)[2 * i + 1] = v.im;
        break;
    default: break;
    }
}

static inline double sim_load_real(const void *base, cudaDataType t, int64_t i)
{
    return sim_load(base, t, i).re;
}

static inline void sim_store_real(void *base, cudaDataType t, int64_t i, double v)
{
    sim_cplx c = {v, 0};
    sim_store(base, t, i, c);
}

static inline sim_cplx sim_cmul(sim_cplx a, sim_cplx b)
{
    sim_cplx r = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
    return r;
}

static inline sim_cplx sim_cadd(sim_cplx a, sim_cplx b)
{
    sim_cplx r = {a.re + b.re, a.im + b.im};
    return r;
}

static inline int sim_cis_zero(sim_cplx a)
{
    return a.re == 0 && a.im == 0;
}

/* ------------------------------------------------------------- GEMM operands */

/*
 * A strided matrix as the CPU GEMM sees it: element (r, c) of the operand (after
 * any transpose) is p[r * rs + c * cs], conjugated when conj is set.
 */
typedef struct sim_mat {
    const void *p;
    cudaDataType t;
    int64_t rs, cs;
    int conj;
} sim_mat;

static inline sim_cplx sim_mat_get(const sim_mat *m, int64_t r, int64_t c)
{
    sim_cplx v = sim_load(m->p, m->t, r * m->rs + c * m->cs);
    if (m->conj)
        v.im = -v.im;
    return v;
}

static inline void sim_mat_set(const sim_mat *m, int64_t r, int64_t c, sim_cplx v)
{
    sim_store((void *)m->p, m->t, r * m->rs + c * m->cs, v);
}

/* sum over l < k of A(i, l) * B(l, j), accumulated in double. */
static inline sim_cplx sim_dot(const sim_mat *a, const sim_mat *b, int64_t i, int64_t j,
                               int64_t k)
{
    sim_cplx acc = {0, 0};
    for (int64_t l = 0; l < k; l++)
        acc = sim_cadd(acc, sim_cmul(sim_mat_get(a, i, l), sim_mat_get(b, l, j)));
    return acc;
}

/* ---------------------------------------------- cuBLAS statuses (cublas, cublasLt) */

#ifdef CUBLAS_VER_MAJOR
/* Names and texts as the toolkit's libcublas and libcublasLt print them. */
static inline const char *sim_cublas_status(cublasStatus_t s, int text)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS:
        return text ? "success" : "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
        return text ? "the library was not initialized" : "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
        return text ? "the resource allocation failed" : "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
        return text ? "an unsupported value or parameter was passed to the function"
                    : "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
        return text ? "the function requires an architectural feature absent from the device"
                    : "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
        return text ? "an access to GPU memory space failed" : "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
        return text ? "the function failed to launch on the GPU"
                    : "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
        return text ? "an internal operation failed" : "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
        return text ? "the requested functionality is not supported"
                    : "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
        return text ? "the license check failed" : "CUBLAS_STATUS_LICENSE_ERROR";
    }
    return "unrecognized status";
}

/* Scale type (of alpha and beta) that a cuBLAS compute type implies; -1 if unknown. */
static inline int sim_scale_type(cublasComputeType_t c, int complex_data)
{
    switch (c) {
    case CUBLAS_COMPUTE_16F: case CUBLAS_COMPUTE_16F_PEDANTIC:
        return complex_data ? CUDA_C_16F : CUDA_R_16F;
    case CUBLAS_COMPUTE_32F: case CUBLAS_COMPUTE_32F_PEDANTIC: case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF: case CUBLAS_COMPUTE_32F_FAST_TF32:
    case CUBLAS_COMPUTE_32F_EMULATED_16BFX9:
        return complex_data ? CUDA_C_32F : CUDA_R_32F;
    case CUBLAS_COMPUTE_64F: case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT:
        return complex_data ? CUDA_C_64F : CUDA_R_64F;
    case CUBLAS_COMPUTE_32I: case CUBLAS_COMPUTE_32I_PEDANTIC:
        return CUDA_R_32I;
    }
    return -1;
}
#endif

#endif /* NNSPY_SIM_H */
