/* device.h: the device the profiled program ran on, as far as nnspy could tell. */
#ifndef NNSPY_PRELOAD_DEVICE_H
#define NNSPY_PRELOAD_DEVICE_H

#include <stdbool.h>

typedef struct nn_device_info {
    char name[128];
    bool simulated;     /* nnspy's simulated device (test equipment), not a GPU */
    double peak_tflops; /* dense 16-bit tensor-core peak; 0 when the device is not known */
} nn_device_info;

const nn_device_info *nn_device_get(void);

#endif
