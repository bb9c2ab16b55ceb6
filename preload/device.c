/*
 * device.c: which device the program runs on, for the report's first lines.
 * Asked once, at the first recorded call, when the program has already set up
 * CUDA: a simulated device (nnspy's test stand-ins) announces itself through
 * nnspy_sim_device_name; a real one is named by the driver.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <cuda.h>

#include "core.h"
#include "device.h"

static nn_device_info info = {.name = "unknown"};
static int detected; /* 0: not yet, 1: being published, 2: published */

static void name_real_device(nn_device_info *out)
{
    CUresult (*get_device)(CUdevice *) =
        (CUresult(*)(CUdevice *))nn_lookup(NN_FAMILY_CUDA_DRIVER, "cuCtxGetDevice");
    CUresult (*get_name)(char *, int, CUdevice) =
        (CUresult(*)(char *, int, CUdevice))nn_lookup(NN_FAMILY_CUDA_DRIVER, "cuDeviceGetName");
    CUdevice dev;
    char name[sizeof out->name];
    if (get_device && get_name && get_device(&dev) == CUDA_SUCCESS &&
        get_name(name, (int)sizeof name, dev) == CUDA_SUCCESS) {
        name[sizeof name - 1] = '\0';
        memcpy(out->name, name, sizeof name);
    }
}

/*
 * Published dense (no sparsity) 16-bit tensor-core peaks, in TFLOP/s, of common
 * data-centre GPUs (SXM forms where there are several), matched by name. The
 * simulated device's time model computes at 100 TFLOP/s (tests/sim/README.md).
 * More specific names first.
 */
static const struct {
    const char *name;
    double tflops;
} peaks[] = {
    {"nnspy simulated device", 100.0},
    {"H200", 989.0},
    {"H100", 989.0},
    {"A100", 312.0},
    {"L40S", 362.0},
    {"L4", 121.0},
    {"V100", 125.0},
    {"T4", 65.0},
};

/* Whether `token` appears in `name` as a whole word ("L4" is not in "NVIDIA L40"). */
static bool name_has_token(const char *name, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = strstr(name, token); p; p = strstr(p + 1, token)) {
        bool starts = p == name || !isalnum((unsigned char)p[-1]);
        bool ends = !isalnum((unsigned char)p[n]);
        if (starts && ends) return true;
    }
    return false;
}

static double peak_of(const char *name)
{
    for (size_t i = 0; i < sizeof peaks / sizeof peaks[0]; i++)
        if (name_has_token(name, peaks[i].name)) return peaks[i].tflops;
    return 0;
}

static void detect(nn_device_info *out)
{
    *out = (nn_device_info){.name = "unknown"};
    const char *(*sim_name)(void) =
        (const char *(*)(void))nn_lookup(NN_FAMILY_CUDART, "nnspy_sim_device_name");
    if (sim_name) {
        out->simulated = true;
        snprintf(out->name, sizeof out->name, "%s", sim_name());
    } else {
        name_real_device(out);
    }
    out->peak_tflops = peak_of(out->name);
}

/* The lookups take the dynamic loader's lock, so no lock or once of nnspy is held
 * around them (a library constructor running under the loader's lock may be making
 * a wrapped call at the same time); two first calls may both detect, one publishes. */
void nn_device_note(void)
{
    if (__atomic_load_n(&detected, __ATOMIC_ACQUIRE) == 2) return;
    nn_device_info found;
    detect(&found);
    int expected = 0;
    if (__atomic_compare_exchange_n(&detected, &expected, 1, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        info = found;
        __atomic_store_n(&detected, 2, __ATOMIC_RELEASE);
    }
}

const nn_device_info *nn_device_get(void)
{
    return &info;
}
