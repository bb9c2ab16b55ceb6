/* trace_writer.h: the `.nns` trace file written by the preload (trace.c). */
#ifndef NNSPY_PRELOAD_TRACE_WRITER_H
#define NNSPY_PRELOAD_TRACE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* One intercepted call (the first one creates the file), from call site `site`
 * (sites.h; 0: none), whose SITE record is written first the first time. */
void nn_trace_write_op(uint64_t call, const nn_op *op, uint64_t params_read, uint64_t signature,
                 int64_t host_ns, uint32_t given_frame, uint32_t site);
/* A call's GPU interval, when read back. */
void nn_trace_write_gpu_time(uint64_t call, int64_t start_ns, int64_t end_ns);
/* A frame the program marked, when it ends (or at exit, still open). */
void nn_trace_write_frame(uint32_t id, int64_t begin_ns, int64_t end_ns, bool open_at_exit);
/* Records dropped because the writer could not keep up. */
uint64_t nn_trace_dropped(void);
/* Writes out what is buffered (before exec; in a signal handler, if it can). */
void nn_trace_flush(bool from_signal);
/* The END record (a JSON object of len bytes): the file is complete and closed to
 * later records. from_signal: in a signal handler (nothing waits). */
void nn_trace_finish(const char *end_json, size_t len, bool from_signal);

#endif
