/*
 * report_cmd.h: `nnspy report [--format table|json|csv|chrome|html] [--frames MODE]
 * [-o FILE] TRACE|DIR...`: the report of one or more `.nns` traces, made again
 * from the traces alone (report_cmd.c).
 */
#ifndef NNSPY_REPORT_CMD_H
#define NNSPY_REPORT_CMD_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "summary.h"

/* The usage lines and the help of `nnspy report`. */
extern const char nn_report_usage[];
extern const char nn_report_help[];

/* `nnspy report` (argv[0] is "report"); returns the exit status: 0, 1 when a trace
 * could not be read or the output not written, 2 for a usage error. */
int nn_report_main(int argc, char **argv);

/* Writes the report of s[0 .. n) in `format` to out; 0, or -1 on a write error
 * (or no memory). Pure but for the stream: the fuzzer drives it too. */
int nn_report_write(FILE *out, report_format format, const nn_trace_summary *s, size_t n);

/*
 * The traces named by args: each a trace, or a directory whose *.nns and *.nns.N
 * files are read (in name order). Returns 0 with *traces (*n of them, at least one;
 * free each with nn_trace_free, then the array), or -1 with a message in err.
 */
int nn_report_load(char *const *args, size_t n_args, nn_trace **traces, size_t *n, char *err,
                   size_t errlen);

#endif
