/*
 * counters.h: nnspy's cost model. Pure C, no CUDA header: plain shapes and data
 * types in, a cost out. The preload's only job is to turn a descriptor into these
 * shapes; every formula lives here once, with its convention, and is unit-tested on
 * numbers derived by hand (tests/unit/test_counters.c).
 *
 * Conventions (also in README.md):
 *  - 1 MAC = one multiply and one add = 2 FLOPs. MACs and FLOPs are reported side
 *    by side; FLOPs = 2 x MACs + the elementwise FLOPs documented per operation.
 *  - Complex arithmetic is counted in real operations: one complex MAC is 4 real
 *    MACs (4 real multiplies and 4 real adds) = 8 FLOPs.
 *  - Convolutions count every kernel tap at every output position, padding
 *    included, as thop, ptflops, fvcore and published tables do.
 *  - Bytes are element count x element size of every tensor an operation must read
 *    or write; an output is also read when the call accumulates into it (beta != 0).
 *  - Every product is checked: on 64-bit overflow the cost's `overflow` flag is set
 *    and the affected value saturates at UINT64_MAX.
 */
#ifndef NNSPY_COUNTERS_H
#define NNSPY_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

/* Element data types, independent of any NVIDIA enum. */
typedef enum nn_dtype {
    NN_DTYPE_UNKNOWN = 0,
    NN_DTYPE_F64,
    NN_DTYPE_F32,
    NN_DTYPE_TF32, /* stored as 32-bit float */
    NN_DTYPE_F16,
    NN_DTYPE_BF16,
    NN_DTYPE_FP8_E4M3,
    NN_DTYPE_FP8_E5M2,
    NN_DTYPE_FP8_E8M0,
    NN_DTYPE_FP4_E2M1,
    NN_DTYPE_I64,
    NN_DTYPE_I32,
    NN_DTYPE_U32,
    NN_DTYPE_I16,
    NN_DTYPE_I8,
    NN_DTYPE_U8,
    NN_DTYPE_I4,
    NN_DTYPE_U4,
    NN_DTYPE_BOOL,
    NN_DTYPE_BIT, /* a packed bit mask (cuBLASLt's ReLU aux output) */
    NN_DTYPE_C16F, /* complex half: two 16-bit floats */
    NN_DTYPE_C32F, /* complex float */
    NN_DTYPE_C64F, /* complex double */
    NN_DTYPE_C8I,  /* complex int8 */
    NN_DTYPE_C32I, /* complex int32 */
    NN_DTYPE_COUNT_
} nn_dtype;

/* Storage size of one element in bits (sub-byte types are packed); 0 if unknown. */
unsigned nn_dtype_bits(nn_dtype t);
/* Short lower-case name: "f32", "bf16", "fp8e4m3", "c32f", "unknown", ... */
const char *nn_dtype_name(nn_dtype t);
bool nn_dtype_is_complex(nn_dtype t);

/* Checked arithmetic. Return false on overflow, leaving UINT64_MAX in *out. */
bool nn_mul_u64(uint64_t a, uint64_t b, uint64_t *out);
bool nn_add_u64(uint64_t a, uint64_t b, uint64_t *out);

/*
 * Bytes occupied by `elements` elements of type t (sub-byte types round up to a
 * whole byte). Sets *overflow on overflow (overflow may be NULL); returns 0 for an
 * unknown type.
 */
uint64_t nn_bytes_of(uint64_t elements, nn_dtype t, bool *overflow);

/* The cost of one operation. */
typedef struct nn_cost {
    uint64_t macs;
    uint64_t flops;
    uint64_t bytes_read;
    uint64_t bytes_written;
    bool overflow;      /* some value exceeded 64 bits: saturated at UINT64_MAX */
    bool unknown_dtype; /* a data type had no known size: bytes are a lower bound */
} nn_cost;

/* Adds b into a (checked); used to accumulate totals. */
void nn_cost_add(nn_cost *a, const nn_cost *b);

/* The cost of `runs` runs of an operation costing c (checked). */
nn_cost nn_cost_times(const nn_cost *c, uint64_t runs);

/* ---------------------------------------------------------------- convolution */

#define NN_MAX_SPATIAL 3

typedef enum nn_conv_direction {
    NN_CONV_FORWARD,         /* y = conv(x, w) */
    NN_CONV_BACKWARD_DATA,   /* dx = conv_transpose(dy, w) */
    NN_CONV_BACKWARD_FILTER, /* dw = correlate(x, dy) */
} nn_conv_direction;

/*
 * A convolution in the forward problem's terms, whatever the direction: x is the
 * input (dx for backward data), y the output (dy for backward data and filter).
 * Sizes are the tensors' own (read from the descriptors), so padding, stride and
 * dilation are already reflected in out_size.
 */
typedef struct nn_conv_shape {
    int spatial_dims; /* 1..NN_MAX_SPATIAL */
    uint64_t batch;
    uint64_t in_channels;  /* C of x */
    uint64_t out_channels; /* K of y and of the filter */
    uint64_t groups;       /* C / groups = filter's second dimension */
    uint64_t in_size[NN_MAX_SPATIAL];
    uint64_t out_size[NN_MAX_SPATIAL];
    uint64_t kernel[NN_MAX_SPATIAL];
    nn_dtype x_dtype, w_dtype, y_dtype;
} nn_conv_shape;

/* Elements of the filter: K x (C / groups) x prod(kernel); 0 for an invalid shape
 * (see nn_conv_cost). overflow may be NULL. */
uint64_t nn_conv_filter_elements(const nn_conv_shape *s, bool *overflow);

/*
 * MACs = N x K x prod(out_size) x (C / groups) x prod(kernel), the same for all
 * three directions (each is the same set of products, rearranged).
 * FLOPs = 2 x MACs. Bytes: forward reads x and w and writes y; backward data reads
 * dy and w and writes dx; backward filter reads x and dy and writes dw. With
 * `accumulate` (beta != 0) the written tensor is read too.
 * Invalid shapes (zero groups, C not divisible by groups, spatial_dims out of range)
 * give a zero cost with overflow=false and unknown_dtype=true.
 */
nn_cost nn_conv_cost(const nn_conv_shape *s, nn_conv_direction dir, bool accumulate);

/* ----------------------------------------------------------------------- GEMM */

/*
 * D[b] = alpha x op(A[b]) x op(B[b]) + beta x C[b] for b in [0, batch):
 * op(A) is m x k, op(B) is k x n, C and D are m x n.
 * a_matrices / b_matrices / c_matrices: how many distinct matrices are read (batch,
 * or 1 when the batch stride is 0 and one matrix is broadcast to every product).
 * D is written batch times (separate outputs) unless d_matrices says fewer.
 */
typedef struct nn_gemm_shape {
    uint64_t m, n, k, batch;
    uint64_t a_matrices, b_matrices, c_matrices, d_matrices;
    nn_dtype a_dtype, b_dtype, c_dtype, d_dtype;
    bool complex_math; /* complex products: each complex MAC counts as 4 real MACs */
} nn_gemm_shape;

/*
 * MACs = m x n x k x batch (x 4 for complex). FLOPs = 2 x MACs; alpha and beta
 * scaling is not counted, as in every published table. Bytes read: A and B, and C
 * when `accumulate`; bytes written: D.
 */
nn_cost nn_gemm_cost(const nn_gemm_shape *s, bool accumulate);

/* ------------------------------------------------------------ elementwise ops */

typedef enum nn_activation {
    NN_ACT_IDENTITY = 0,
    NN_ACT_RELU,         /* max(x, 0): 1 FLOP */
    NN_ACT_CLIPPED_RELU, /* min(max(x, 0), c): 2 FLOPs */
    NN_ACT_SIGMOID,      /* 1 / (1 + exp(-x)): 4 FLOPs (negate, exp, add, divide) */
    NN_ACT_TANH,         /* tanh(x): 1 FLOP (one transcendental) */
    NN_ACT_ELU,          /* x > 0 ? x : a(exp(x) - 1): 3 FLOPs (exp, subtract, multiply) */
    NN_ACT_SWISH,        /* x * sigmoid(bx): 6 FLOPs (multiply by b, sigmoid 4, multiply) */
    NN_ACT_GELU,         /* 0.5x(1 + erf(x / sqrt 2)): 5 FLOPs (divide, erf, add, 2 multiplies) */
    NN_ACT_GELU_TANH,    /* 0.5x(1 + tanh(c(x + 0.044715x^3))): 9 FLOPs */
    NN_ACT_COUNT_
} nn_activation;

/* FLOPs per element of the activation above; a transcendental counts as 1 FLOP. */
uint64_t nn_activation_flops_per_element(nn_activation a);
const char *nn_activation_name(nn_activation a);

/*
 * An elementwise activation y = act(x) over `elements` elements: FLOPs =
 * elements x flops_per_element; reads x (and y when accumulating), writes y.
 */
nn_cost nn_activation_cost(nn_activation a, uint64_t elements, nn_dtype x_dtype,
                           nn_dtype y_dtype, bool accumulate);

/*
 * Tensor addition C = alpha x A + beta x C with A broadcast over C
 * (cudnnAddTensor, a bias add): 1 FLOP per element of C (the add; scaling free).
 * Reads A's elements once and C when `accumulate`; writes C.
 */
nn_cost nn_add_tensor_cost(uint64_t a_elements, nn_dtype a_dtype, uint64_t c_elements,
                           nn_dtype c_dtype, bool accumulate);

typedef enum nn_pool_mode { NN_POOL_MAX, NN_POOL_AVERAGE } nn_pool_mode;

/*
 * Pooling with a window of `window` elements (product of the window's dims):
 * max: window - 1 comparisons per output element; average: window - 1 adds and one
 * divide = window FLOPs per output element. No MACs. Reads the input once, writes
 * the output.
 */
nn_cost nn_pool_cost(nn_pool_mode mode, uint64_t window, uint64_t in_elements,
                     uint64_t out_elements, nn_dtype dtype, bool accumulate);

/*
 * Epilogue fused after a convolution or GEMM producing `out_elements` elements:
 * bias add (1 FLOP per element, reads bias_elements), a residual z added with
 * scaling (2 FLOPs per element: multiply and add, reads z), then the activation.
 * The result is added into *cost.
 */
typedef struct nn_epilogue {
    bool bias;
    uint64_t bias_elements;
    nn_dtype bias_dtype;
    bool residual; /* z (conv-bias-activation's alpha2 x z) */
    nn_dtype residual_dtype;
    nn_activation activation;
    bool aux_output; /* an auxiliary output (GELU_AUX, RELU_AUX) of out_elements */
    nn_dtype aux_dtype;
} nn_epilogue;

void nn_epilogue_add_cost(nn_cost *cost, const nn_epilogue *e, uint64_t out_elements);

/* ------------------------------------------- helpers shared by the cost files */

/*
 * Product of n factors: exactly 0 when any factor is 0 (an empty tensor costs
 * nothing, even if the other factors' product would overflow); otherwise checked,
 * UINT64_MAX with *overflow set when it exceeds 64 bits.
 */
uint64_t nn_product_u64(const uint64_t *factors, unsigned n, bool *overflow);

/*
 * Bytes of a tensor of prod(dims) elements of type t. An unknown type gives 0 and
 * sets c->unknown_dtype; an overflow (of the element count or of the bytes) gives
 * UINT64_MAX and sets c->overflow.
 */
uint64_t nn_tensor_bytes(const uint64_t *dims, unsigned n, nn_dtype t, nn_cost *c);

/* *acc += v, checked: saturates and sets *overflow. */
void nn_accumulate_u64(uint64_t *acc, uint64_t v, bool *overflow);

/* ------------------------------------------- cuDNN graph (backend) operations */

/*
 * The graph API's operations count compute here and bytes where they are
 * assembled (preload/cudnn_graph_cost.c): each non-virtual tensor an operation
 * reads or writes, once per operation; virtual tensors (intermediates that stay on
 * chip) move no memory.
 */

/* What one element of a pointwise operation costs. */
typedef enum nn_pointwise_kind {
    NN_PW_FREE,           /* identity, index generation: 0 FLOPs */
    NN_PW_ONE,            /* one arithmetic, comparison, logical or select op, or one
                             transcendental (exp, log, sqrt, rsqrt, erf, sin...): 1 FLOP */
    NN_PW_ADD_SQUARE,     /* a + b * b: 2 FLOPs */
    NN_PW_SOFTPLUS,       /* log(1 + exp(b x)) / b: 3 FLOPs */
    NN_PW_ACTIVATION,     /* the activation's FLOPs (nn_activation_flops_per_element) */
    NN_PW_ACTIVATION_BWD, /* dy x act'(x): the activation's FLOPs + 1 (the multiply) */
} nn_pointwise_kind;

uint64_t nn_pointwise_flops_per_element(nn_pointwise_kind kind, nn_activation act);

/* A reduction of in_elements into out_elements (each output reduces
 * in / out inputs). */
typedef enum nn_reduction_kind {
    NN_REDUCE_SUM,   /* add, mul, min, max: in - out FLOPs (r - 1 per output) */
    NN_REDUCE_AMAX,  /* max of |x|: in (abs) + in - out */
    NN_REDUCE_AVG,   /* sum, then one divide per output: in FLOPs */
    NN_REDUCE_NORM1, /* sum of |x|: in + in - out */
    NN_REDUCE_NORM2, /* sqrt of the sum of squares: in + in - out + out = 2 in */
} nn_reduction_kind;

uint64_t nn_reduction_flops(nn_reduction_kind kind, uint64_t in_elements,
                            uint64_t out_elements, bool *overflow);

/*
 * Normalisation over `elements` elements in `groups` statistics groups (per
 * channel for batch norm, per row for layer and RMS norm).
 *  - NN_NORM_APPLY (batch norm inference, with running statistics given):
 *    (x - mean) x inv_std x scale + bias = 4 FLOPs per element; 2 per group (add
 *    epsilon, rsqrt).
 *  - NN_NORM_FORWARD (statistics computed from x: layer, instance, group norm,
 *    batch norm training): mean 1 + variance 3 (subtract, square, add) + normalise 2
 *    + scale and shift 2 = 8 FLOPs per element; 4 per group (two divides, add
 *    epsilon, rsqrt). RMS norm has no mean and no shift: 2 + 1 + 1 = 4 per element,
 *    3 per group. Batch norm training also updates the running mean and variance:
 *    3 FLOPs each per group (two multiplies, one add).
 *  - NN_NORM_BACKWARD: dbias 1 + dscale 4 (recompute x_hat 2, multiply, add) + dx 8
 *    = 13 FLOPs per element (RMS norm: 10, no mean terms); 4 per group.
 */
typedef enum nn_norm_kind { NN_NORM_LAYER, NN_NORM_RMS, NN_NORM_BATCH, NN_NORM_OTHER } nn_norm_kind;
typedef enum nn_norm_phase { NN_NORM_APPLY, NN_NORM_FORWARD, NN_NORM_BACKWARD } nn_norm_phase;

uint64_t nn_norm_flops(nn_norm_kind kind, nn_norm_phase phase, uint64_t elements, uint64_t groups,
                       bool *overflow);

/*
 * Scaled dot-product attention, batch b, h query heads, query length s_q, key
 * length s_k, head dimensions d (Q, K) and d_v (V, O). S = b h s_q s_k scores.
 *  - Forward: Q.K^T and P.V: MACs = S (d + d_v) (2 b h s_q s_k d when d_v = d,
 *    as torch.utils.flop_counter counts it, at 2 FLOPs per MAC). Softmax: scale,
 *    subtract the row max, exp, divide = 4 FLOPs per score, plus the row max and
 *    row sum reductions, 2 (s_k - 1) per row: 4 S + 2 (S - b h s_q) FLOPs.
 *  - Backward: dV = P^T.dO, dP = dO.V^T, dQ = dS.K, dK = dS^T.Q and the
 *    recomputation of Q.K^T that a fused kernel does: MACs = S (3 d + 2 d_v)
 *    (flop_counter leaves out the recomputation: S (2 d + 2 d_v)). Softmax backward:
 *    recompute P (scale, subtract, exp: 3), dS = P (dP - D) (2) = 5 FLOPs per score,
 *    plus D = rowsum(dO x O), 2 d_v per row.
 */
typedef struct nn_attention_shape {
    uint64_t b, h, s_q, s_k, d, d_v;
} nn_attention_shape;

uint64_t nn_attention_macs(const nn_attention_shape *a, bool backward, bool *overflow);
uint64_t nn_attention_softmax_flops(const nn_attention_shape *a, bool backward, bool *overflow);

#endif
