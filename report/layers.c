/*
 * layers.c: operations grouped by call site (layers.h).
 */
#include "layers.h"

#include <jansson.h>
#include <stdlib.h>

#include "numfmt.h"

static void add(uint64_t *acc, uint64_t v, bool *overflow)
{
    if (*acc > UINT64_MAX - v) {
        *acc = UINT64_MAX;
        *overflow = true;
    } else {
        *acc += v;
    }
}

nn_layer *nn_trace_layers(const nn_trace *t, size_t *n)
{
    *n = 0;
    if (!t->n_sites) return NULL;
    /* the layer of each site, by the site's position in t->sites (sorted by id) */
    size_t *layer_of = malloc(t->n_sites * sizeof *layer_of);
    nn_layer *layers = calloc(t->n_sites, sizeof *layers);
    if (!layer_of || !layers) {
        free(layer_of), free(layers);
        return NULL;
    }
    for (size_t i = 0; i < t->n_sites; i++) layer_of[i] = SIZE_MAX;
    for (size_t i = 0; i < t->n_ops; i++) { /* ops are in call order */
        const nn_trace_op *op = &t->ops[i];
        const nn_trace_site *s = nn_trace_site_of(t, op->site);
        if (!s) continue;
        size_t k = (size_t)(s - t->sites);
        if (layer_of[k] == SIZE_MAX) {
            layer_of[k] = (*n)++;
            layers[layer_of[k]] = (nn_layer){.site = s, .first_call = op->call};
        }
        nn_layer *l = &layers[layer_of[k]];
        l->calls++;
        if ((op->flags & NN_TOP_SUCCEEDED) && (op->flags & NN_TOP_COST_KNOWN)) {
            add(&l->macs, op->macs, &l->overflow);
            add(&l->flops, op->flops, &l->overflow);
        }
        if (op->gpu_start_ns != NN_UNTIMED && op->gpu_end_ns != NN_UNTIMED) {
            l->gpu_ns += op->gpu_end_ns - op->gpu_start_ns;
            l->timed++;
        }
    }
    free(layer_of);
    if (*n == 0) {
        free(layers);
        return NULL;
    }
    return layers;
}

static const char *name_of(const nn_layer *l)
{
    return l->site->name ? l->site->name : "?";
}

void nn_layers_table(FILE *f, const nn_trace *t)
{
    size_t n;
    nn_layer *layers = nn_trace_layers(t, &n);
    if (!layers) return;
    fprintf(f, "layers (calls grouped by call site, in order of first call):\n");
    fprintf(f, "%6s  %8s  %15s  %15s  %12s  %s\n", "layer", "calls", "MACs", "FLOPs", "GPU us",
            "site");
    for (size_t i = 0; i < n; i++) {
        const nn_layer *l = &layers[i];
        char m[32], fl[32], us[32] = "-";
        if (l->timed) snprintf(us, sizeof us, "%.3f", (double)l->gpu_ns / 1e3);
        fprintf(f, "%6zu  %8llu  %15s  %15s  %12s  %s%s\n", i, (unsigned long long)l->calls,
                nn_fmt_grouped(l->macs, m), nn_fmt_grouped(l->flops, fl), us, name_of(l),
                l->overflow ? "  OVERFLOW" : "");
    }
    free(layers);
}

static void json_text(FILE *f, const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    if (j) json_dumpf(j, f, JSON_ENCODE_ANY);
    else fputs("null", f);
    json_decref(j);
}

void nn_layers_json(FILE *f, const char *in, const nn_trace *t)
{
    size_t n;
    nn_layer *layers = nn_trace_layers(t, &n);
    if (!layers) return;
    fprintf(f, "%s\"layers\": [\n", in);
    for (size_t i = 0; i < n; i++) {
        const nn_layer *l = &layers[i];
        fprintf(f, "%s  {\"index\": %zu, \"site\": ", in, i);
        json_text(f, name_of(l));
        fprintf(f, ", \"function\": ");
        json_text(f, l->site->function);
        fprintf(f, ", \"file\": ");
        json_text(f, l->site->file);
        if (l->site->line) fprintf(f, ", \"line\": %u", l->site->line);
        else fputs(", \"line\": null", f);
        fprintf(f,
                ", \"python\": %s, \"first_call\": %llu, \"calls\": %llu, \"macs\": %llu, "
                "\"flops\": %llu, \"overflow\": %s, \"gpu_time_ms\": ",
                l->site->n_python ? "true" : "false", (unsigned long long)l->first_call,
                (unsigned long long)l->calls, (unsigned long long)l->macs,
                (unsigned long long)l->flops, l->overflow ? "true" : "false");
        if (l->timed) fprintf(f, "%.9g}", (double)l->gpu_ns / 1e6);
        else fputs("null}", f);
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fprintf(f, "%s],\n", in);
    free(layers);
}
