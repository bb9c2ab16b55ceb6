/*
 * output.h: a small buffered writer over a file descriptor, for the exit report.
 * No allocation and no stdio: the report may be written from a signal handler
 * (SIGTERM) or just before exec, when the program's heap and FILEs may be in any
 * state. One writer is used at a time (under the record lock).
 */
#ifndef NNSPY_PRELOAD_OUTPUT_H
#define NNSPY_PRELOAD_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct nn_out {
    int fd;
    bool failed; /* a write failed: the rest is dropped */
    size_t used;
    char buf[16384];
} nn_out;

void nn_out_init(nn_out *o, int fd);
/* Into the buffer only (fd -1): what does not fit is dropped and `failed` set. */
void nn_out_init_memory(nn_out *o);
void nn_out_printf(nn_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s: quotes, backslashes and control bytes escaped. */
void nn_out_json_string(nn_out *o, const char *s);
/* Writes what is buffered; false if any write failed. */
bool nn_out_flush(nn_out *o);

#endif
