/*
 * conv.c: convolution cost. Every kernel tap counts at every output position,
 * padding included (the thop / ptflops / fvcore convention), so the count follows
 * from the tensors' own sizes: out_size already reflects padding, stride and
 * dilation, and dilation only spreads the taps without changing their number.
 */
#include "counters.h"

#include <stddef.h>

/* The invalid-shape rule of counters.h: these give a zero cost. */
static bool conv_shape_valid(const nn_conv_shape *s)
{
    return s != NULL && s->spatial_dims >= 1 && s->spatial_dims <= NN_MAX_SPATIAL &&
           s->groups != 0 && s->in_channels % s->groups == 0;
}

/* Fills f with lead0, lead1, then the spatial sizes; returns the factor count. */
static unsigned conv_dims(uint64_t *f, uint64_t lead0, uint64_t lead1,
                          const uint64_t *spatial, int spatial_dims)
{
    unsigned n = 0;
    f[n++] = lead0;
    f[n++] = lead1;
    for (int i = 0; i < spatial_dims; i++)
        f[n++] = spatial[i];
    return n;
}

uint64_t nn_conv_filter_elements(const nn_conv_shape *s, bool *overflow)
{
    bool ignored = false;
    if (overflow == NULL)
        overflow = &ignored;
    if (!conv_shape_valid(s))
        return 0;
    uint64_t f[2 + NN_MAX_SPATIAL];
    unsigned n = conv_dims(f, s->out_channels, s->in_channels / s->groups, s->kernel,
                           s->spatial_dims);
    return nn_product_u64(f, n, overflow);
}

/* N x K x prod(out) x (C / groups) x prod(kernel): each output element of a group
 * sums over that group's C / groups input channels and every kernel tap. */
static uint64_t conv_macs(const nn_conv_shape *s, bool *overflow)
{
    uint64_t f[3 + 2 * NN_MAX_SPATIAL];
    unsigned n = conv_dims(f, s->batch, s->out_channels, s->out_size, s->spatial_dims);
    f[n++] = s->in_channels / s->groups;
    for (int i = 0; i < s->spatial_dims; i++)
        f[n++] = s->kernel[i];
    return nn_product_u64(f, n, overflow);
}

/* Bytes of the three tensors, named by their role in the forward problem. */
typedef struct conv_bytes {
    uint64_t x, w, y;
} conv_bytes;

static conv_bytes conv_tensor_bytes(const nn_conv_shape *s, nn_cost *c)
{
    conv_bytes b;
    uint64_t f[2 + NN_MAX_SPATIAL];
    unsigned n = conv_dims(f, s->batch, s->in_channels, s->in_size, s->spatial_dims);
    b.x = nn_tensor_bytes(f, n, s->x_dtype, c);
    n = conv_dims(f, s->batch, s->out_channels, s->out_size, s->spatial_dims);
    b.y = nn_tensor_bytes(f, n, s->y_dtype, c);
    n = conv_dims(f, s->out_channels, s->in_channels / s->groups, s->kernel, s->spatial_dims);
    b.w = nn_tensor_bytes(f, n, s->w_dtype, c);
    return b;
}

nn_cost nn_conv_cost(const nn_conv_shape *s, nn_conv_direction dir, bool accumulate)
{
    nn_cost c = {0};
    if (!conv_shape_valid(s)) {
        c.unknown_dtype = true; /* nothing is known, so every count is a lower bound */
        return c;
    }
    c.macs = conv_macs(s, &c.overflow);
    if (!nn_mul_u64(2, c.macs, &c.flops))
        c.overflow = true;

    /* Backward data and filter are the same products rearranged: the MACs do not
     * change, only which two tensors are read and which one is written. */
    conv_bytes b = conv_tensor_bytes(s, &c);
    uint64_t read1, read2, written;
    switch (dir) {
    case NN_CONV_BACKWARD_DATA:
        read1 = b.y, read2 = b.w, written = b.x;
        break;
    case NN_CONV_BACKWARD_FILTER:
        read1 = b.x, read2 = b.y, written = b.w;
        break;
    case NN_CONV_FORWARD:
    default:
        read1 = b.x, read2 = b.w, written = b.y;
        break;
    }
    nn_accumulate_u64(&c.bytes_read, read1, &c.overflow);
    nn_accumulate_u64(&c.bytes_read, read2, &c.overflow);
    if (accumulate) /* beta != 0: the old output is read before it is overwritten */
        nn_accumulate_u64(&c.bytes_read, written, &c.overflow);
    c.bytes_written = written;
    return c;
}
