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
 * Normalisation (the graph API's NORM_FORWARD and NORM_BACKWARD), FLOPs per element
 * of x, as the legacy batch norm counts them (nn_bn_flops_per_element); per-group
 * arithmetic (a mean, a variance, an rsqrt per channel or row, running statistics)
 * is not counted:
 *  - NN_NORM_APPLY (batch norm inference, with given statistics): 4;
 *  - NN_NORM_FORWARD (statistics computed from x: layer, instance and group norm,
 *    batch norm training): 8. RMS norm has no mean and no shift: sum of squares 2,
 *    normalise 1, scale 1 = 4;
 *  - NN_NORM_BACKWARD: 9 (RMS norm: no sum of dy, no mean: x-hat 1, sum of dy x x-hat
 *    2, dx 3 = 6).
 */
typedef enum nn_norm_kind { NN_NORM_LAYER, NN_NORM_RMS, NN_NORM_BATCH, NN_NORM_OTHER } nn_norm_kind;
typedef enum nn_norm_phase { NN_NORM_APPLY, NN_NORM_FORWARD, NN_NORM_BACKWARD } nn_norm_phase;

uint64_t nn_norm_flops(nn_norm_kind kind, nn_norm_phase phase, uint64_t elements, bool *overflow);

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

/* The terms elementwise costs are made of (checked, saturating): c->flops +=
 * elements x per_element; bytes of `elements` elements read or written; and an
 * out-of-place op's input read, output written, and output read first when
 * `accumulate` (beta != 0). */
void nn_cost_add_flops(nn_cost *c, uint64_t elements, uint64_t per_element);
void nn_cost_add_read(nn_cost *c, uint64_t elements, nn_dtype t);
void nn_cost_add_written(nn_cost *c, uint64_t elements, nn_dtype t);
void nn_cost_add_in_out(nn_cost *c, uint64_t in_elements, nn_dtype in_dtype,
                        uint64_t out_elements, nn_dtype out_dtype, bool accumulate);

/* ------------------------------------------- normalisation and the rest of cuDNN */

/*
 * Batch normalisation over `elements` elements of x with `channels` elements in
 * each per-channel tensor (scale, shift, mean, variance: C, or C x H x W per
 * activation). Per-channel arithmetic (C values, against N x H x W per channel) is
 * not counted; FLOPs per element of x:
 *  - inference: 4 (subtract the mean, multiply by 1/sqrt(var + eps), multiply by
 *    the scale, add the shift);
 *  - training forward: 8 (mean: 1 add; variance: subtract, square, add = 3; then
 *    the inference's 4);
 *  - backward: 9 (sum of dy: 1; x-hat again: 2; sum of dy x x-hat: 2; dx = k (dy
 *    - mean(dy) - x-hat x mean(dy x-hat)): 4).
 * The Ex variants' fused ops: forward, a residual z (1 FLOP per element, z read)
 * and an activation (its FLOPs per element); backward, the activation's gradient
 * (its FLOPs + 1 multiply per element, y read) and the residual's gradient dz
 * (written, no FLOPs).
 * Bytes: x (and dy for backward) and every per-channel tensor the call is given are
 * read; y (dx) and the per-channel outputs are written; running statistics are
 * read and written; y is also read when accumulating.
 */
typedef enum nn_bn_phase { NN_BN_INFERENCE, NN_BN_TRAINING, NN_BN_BACKWARD } nn_bn_phase;

typedef struct nn_bn_shape {
    nn_bn_phase phase;
    uint64_t elements; /* of x (= y, dy, dx) */
    uint64_t channels; /* of each per-channel tensor */
    nn_dtype x_dtype, y_dtype, param_dtype;
    unsigned channel_tensors_read;    /* per-channel tensors only read */
    unsigned channel_tensors_written; /* per-channel tensors only written */
    unsigned channel_tensors_updated; /* read and written (running statistics) */
    bool residual;                    /* Ex: z added before the activation (dz written) */
    nn_activation activation;         /* Ex: NN_ACT_IDENTITY otherwise */
    bool accumulate;                  /* beta != 0 for y (dx) */
} nn_bn_shape;

uint64_t nn_bn_flops_per_element(nn_bn_phase phase);
nn_cost nn_bn_cost(const nn_bn_shape *s);

typedef enum nn_softmax_algo {
    NN_SOFTMAX_FAST,     /* exp, sum, divide: 3 FLOPs per element */
    NN_SOFTMAX_ACCURATE, /* max (1 comparison), subtract, exp, sum, divide: 5 */
    NN_SOFTMAX_LOG,      /* max, subtract, exp, sum, subtract log(sum): 5 */
} nn_softmax_algo;

/*
 * Softmax over `elements` elements: forward FLOPs per element as above (the one
 * log or reciprocal per group is not counted); backward: 4 per element (the
 * product dy x y or exp(y), its sum, a subtract and a multiply). Reads x (forward)
 * or y and dy (backward), writes y or dx, and reads the output too when
 * accumulating.
 */
nn_cost nn_softmax_cost(nn_softmax_algo algo, bool backward, uint64_t elements, nn_dtype dtype,
                        bool accumulate);

/*
 * Cross-channel LRN forward with a window of n channels: 2n + 3 FLOPs per element
 * (n squares and n - 1 adds, multiply by alpha / n, add k, the power, the divide).
 * Reads x, writes y (and reads it when accumulating).
 */
nn_cost nn_lrn_cost(uint64_t window, uint64_t elements, nn_dtype dtype, bool accumulate);

/*
 * cudnnOpTensor: C = op(alpha1 A, alpha2 B) + beta C: 1 FLOP per element of C for
 * every op (add, mul, min, max, sqrt, not); scaling is not counted, as for GEMM.
 * A unary op (sqrt, not) does not read B. B (and A) may broadcast over C: each is
 * read once at its own size. C is read when accumulating.
 */
nn_cost nn_op_tensor_cost(bool unary, uint64_t a_elements, nn_dtype a_dtype, uint64_t b_elements,
                          nn_dtype b_dtype, uint64_t c_elements, nn_dtype c_dtype,
                          bool accumulate);

/* cudnnScaleTensor: y = alpha y, 1 FLOP per element; reads and writes y. */
nn_cost nn_scale_tensor_cost(uint64_t elements, nn_dtype dtype);

/* cudnnTransformTensor: a copy with another layout or type: no FLOPs; reads x,
 * writes y (and reads it when accumulating). */
nn_cost nn_transform_cost(uint64_t elements, nn_dtype x_dtype, nn_dtype y_dtype, bool accumulate);

/*
 * Dropout forward: 2 FLOPs per element (compare the random number with the rate,
 * multiply by the mask and 1 / (1 - rate)); drawing the random numbers is not
 * counted. Reads x, writes y and the mask (reserve space, in bytes). Backward: 1
 * FLOP per element (multiply by the mask's scale); reads dy and the mask, writes dx.
 */
nn_cost nn_dropout_cost(bool backward, uint64_t elements, nn_dtype dtype, uint64_t reserve_bytes);

/*
 * Activation backward, dx = dy x f'(x): the forward's FLOPs per element plus one
 * multiply. Reads y, dy and x; writes dx (and reads it when accumulating).
 */
nn_cost nn_activation_backward_cost(nn_activation a, uint64_t elements, nn_dtype dtype,
                                    bool accumulate);

/*
 * Pooling backward: the forward's FLOPs per output element (max: the window's
 * comparisons to find where the gradient goes; average: its adds and divide).
 * Reads y, dy (out_elements) and x (in_elements); writes dx (in_elements).
 */
nn_cost nn_pool_backward_cost(nn_pool_mode mode, uint64_t window, uint64_t in_elements,
                              uint64_t out_elements, nn_dtype dtype, bool accumulate);

/* --------------------------------------------------- BLAS level 1 and 2, geam */

/*
 * gemv, y = alpha op(A) x + beta y with A rows x cols: rows x cols MACs per
 * product (one multiply-add per matrix element), times batch (x 4 for complex).
 * Reads A (a_matrices distinct ones), x, and y when accumulating; writes y.
 */
typedef struct nn_gemv_shape {
    uint64_t rows, cols, batch, a_matrices;
    bool transposed; /* op(A) = A^T: x has rows elements and y cols */
    nn_dtype a_dtype, x_dtype, y_dtype;
    bool complex_math;
} nn_gemv_shape;

nn_cost nn_gemv_cost(const nn_gemv_shape *s, bool accumulate);

/* dot = sum of x[i] y[i]: n MACs (x 4 for complex); reads x and y, writes one
 * result element. */
nn_cost nn_dot_cost(uint64_t n, nn_dtype x_dtype, nn_dtype y_dtype, nn_dtype result_dtype,
                    bool complex_math);

/*
 * geam, C = alpha op(A) + beta op(B), rows x cols: 1 FLOP per element (the add,
 * 2 real FLOPs for complex) when B is used (beta != 0), none for a scaled copy or
 * transpose (beta == 0, B not read); scaling is not counted, as for GEMM. Reads A
 * (and B), writes C.
 */
nn_cost nn_geam_cost(uint64_t rows, uint64_t cols, bool uses_b, nn_dtype dtype, bool complex_math);

/* ------------------------------------------------------------------- RNN */

typedef enum nn_rnn_cell {
    NN_RNN_RELU, /* h = relu(W x + R h + b): 1 gate */
    NN_RNN_TANH, /* h = tanh(W x + R h + b): 1 gate */
    NN_RNN_LSTM, /* 4 gates: input, forget, cell, output */
    NN_RNN_GRU,  /* 3 gates: reset, update, new */
} nn_rnn_cell;

/*
 * A cuDNN RNN over `steps` time steps in all (the sum of the batch's sequence
 * lengths), `layers` layers of `directions` (1 or 2) directions. Layer 0 reads
 * input_size features (none multiplied with skip_input), later layers the previous
 * layer's directions x proj_size outputs. proj_size = hidden_size without an LSTM
 * projection.
 */
typedef struct nn_rnn_shape {
    nn_rnn_cell cell;
    uint64_t input_size, hidden_size, proj_size, layers, directions;
    uint64_t steps, batch;
    unsigned bias_vectors; /* 0, 1 (single input or recurrent bias) or 2 (double) */
    bool skip_input;
    nn_dtype dtype;
} nn_rnn_shape;

/* Gates per cell: 1 (ReLU, tanh), 4 (LSTM), 3 (GRU). */
uint64_t nn_rnn_gates(nn_rnn_cell cell);
/*
 * Gate math per hidden unit per step, besides the biases (a transcendental counts
 * as 1 FLOP, a sigmoid 4): ReLU/tanh cell 2 (sum the two products, activation);
 * LSTM 22 (4 sums, 3 sigmoids 12, tanh 1, c = f c + i g 3, h = o tanh(c) 2); GRU 17
 * (2 sums, 2 sigmoids 8, n = tanh(W x + r (R h)) 3, h = (1 - z) n + z h 4).
 */
uint64_t nn_rnn_cell_flops(nn_rnn_cell cell);
/*
 * Parameters (the weight space): per layer and direction, gates x hidden x (inputs
 * + proj_size) matrix elements, gates x hidden per bias vector, and hidden x
 * proj_size for an LSTM projection. 0 with *overflow set on overflow.
 */
uint64_t nn_rnn_params(const nn_rnn_shape *s, bool *overflow);
/*
 * Forward: MACs = steps x sum over layers and directions of the input GEMM
 * (gates x hidden x inputs), the recurrent GEMM (gates x hidden x proj_size) and
 * the projection (hidden x proj_size); FLOPs = 2 x MACs + steps x layers x
 * directions x hidden x (cell FLOPs + gates x bias vectors). Backward data does the
 * same products transposed and the gates' derivatives: the same MACs and FLOPs.
 * Backward weights: the same MACs, no elementwise FLOPs. Bytes: x, the weights and
 * the initial states read, y and the final states written (forward); the gradients
 * alike for the backward passes.
 */
typedef enum nn_rnn_pass { NN_RNN_FORWARD, NN_RNN_BACKWARD_DATA, NN_RNN_BACKWARD_WEIGHTS } nn_rnn_pass;
nn_cost nn_rnn_cost(const nn_rnn_shape *s, nn_rnn_pass pass);

/* ---------------------------------------------------- multi-head attention */

/*
 * cuDNN's multi-head attention (cudnnMultiHeadAttnForward and its backward calls).
 * A projection size of 0 means no projection: the head works on the input as is.
 * Token counts are sums of sequence lengths (batch x beam sequences for the
 * queries); `scores` is the sum over query sequences of (query length x key
 * length), the score matrix's elements per head.
 */
typedef struct nn_attn_shape {
    uint64_t heads;
    uint64_t q_size, k_size, v_size;
    uint64_t q_proj, k_proj, v_proj, o_proj;
    bool proj_biases;
    bool residual; /* the forward pass adds residuals to its output */
    uint64_t q_tokens, k_tokens, scores;
    nn_dtype dtype;
} nn_attn_shape;

/*
 * Parameters (the weight buffer; Q, K and V are activations, never parameters):
 * heads x (q_proj x q_size + k_proj x k_size + v_proj x v_size) + o_proj x heads x
 * head_v, plus with biases heads x (q_proj + k_proj + v_proj) + o_proj. head_v is
 * v_proj, or v_size without a projection. 0 with *overflow set on overflow.
 */
uint64_t nn_attn_params(const nn_attn_shape *s, bool *overflow);

/*
 * Forward MACs: the projections (q_tokens x heads x q_size x q_proj, k_tokens x
 * heads x k_size x k_proj, k_tokens x heads x v_size x v_proj, q_tokens x heads x
 * head_v x o_proj), plus Q K^T and P V: scores x heads x (head_q + head_v), i.e.
 * 2 x b x h x s_q x s_k x d when head_q = head_v = d. FLOPs = 2 x MACs + softmax
 * (5 per score: max, subtract, exp, sum, divide; the scaling is not counted) + 1
 * per projected element for biases + 1 per output element for residuals.
 * Backward data: each projection once (transposed) and Q K^T and P V twice (the
 * gradients of both operands): FLOPs = 2 x MACs + 4 per score (softmax backward).
 * Backward weights: the projections once; + 1 FLOP per bias gradient element.
 * Bytes: Q, K, V, the weights (and residuals) read, the output written; the
 * gradients alike for the backward passes.
 */
typedef enum nn_attn_pass { NN_ATTN_FORWARD, NN_ATTN_BACKWARD_DATA, NN_ATTN_BACKWARD_WEIGHTS } nn_attn_pass;
nn_cost nn_attn_cost(const nn_attn_shape *s, nn_attn_pass pass);

#endif
