/*
 * device.c: which device the program runs on, for the report's first lines.
 * Asked once, at the first recorded call, when the program has already set up
 * CUDA: a simulated device (nnspy's test stand-ins) announces itself through
 * nnspy_sim_device_name; a real one is named by the driver.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cuda.h>

#include "core.h"
#include "device.h"

static nn_device_info info = {.name = "unknown"};

static void name_real_device(void)
{
    CUresult (*get_device)(CUdevice *) =
        (CUresult(*)(CUdevice *))nn_lookup(NN_FAMILY_CUDA_DRIVER, "cuCtxGetDevice");
    CUresult (*get_name)(char *, int, CUdevice) =
        (CUresult(*)(char *, int, CUdevice))nn_lookup(NN_FAMILY_CUDA_DRIVER, "cuDeviceGetName");
    CUdevice dev;
    char name[sizeof info.name];
    if (get_device && get_name && get_device(&dev) == CUDA_SUCCESS &&
        get_name(name, (int)sizeof name, dev) == CUDA_SUCCESS) {
        name[sizeof name - 1] = '\0';
        memcpy(info.name, name, sizeof name);
    }
}

static void detect(void)
{
    const char *(*sim_name)(void) =
        (const char *(*)(void))nn_lookup(NN_FAMILY_CUDART, "nnspy_sim_device_name");
    if (sim_name) {
        info.simulated = true;
        snprintf(info.name, sizeof info.name, "%s", sim_name());
        return;
    }
    name_real_device();
}

void nn_device_note(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, detect);
}

const nn_device_info *nn_device_get(void)
{
    return &info;
}
