/*
 * sim_cudnn.h: what the simulated cuDNN's two files share (cudnn.c, the legacy
 * API; cudnn_backend.c, the graph API). Internal to libcudnn.so.9: not exported.
 */
#ifndef NNSPY_SIM_CUDNN_H
#define NNSPY_SIM_CUDNN_H

#include <cudnn.h>

/* The stream of a live handle of this copy of the library; 0 for a handle that is
 * not one. */
int sim_cudnn_handle_stream(cudnnHandle_t handle, cudaStream_t *stream);

#endif
