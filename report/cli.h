/* cli.h: the options of `nnspy run`, parsed apart from acting on them (and fuzzed). */
#ifndef NNSPY_REPORT_CLI_H
#define NNSPY_REPORT_CLI_H

#include <stdbool.h>

typedef struct run_options {
    bool sim;
    const char *json;    /* NULL: none */
    const char *frames;  /* NNSPY_FRAME value, or NULL */
    const char *timing;  /* NNSPY_TIMING value, or NULL */
    char **program;      /* PROGRAM and its arguments, NULL-terminated (argv's tail) */
    const char *error;   /* why parsing failed, for the message */
    const char *culprit; /* the argument at fault, or NULL */
} run_options;

typedef enum { RUN_PARSE_OK, RUN_PARSE_HELP, RUN_PARSE_ERROR } run_parse_result;

/* Parses `run`'s argv (argv[0] is "run"). Quiet: the caller prints. */
run_parse_result parse_run_options(int argc, char **argv, run_options *o);

/* `nnspy report [--format F] [--frames MODE] [-o FILE] TRACE|DIR...` */
typedef enum {
    REPORT_TABLE,
    REPORT_JSON,
    REPORT_CSV,
    REPORT_CHROME,
    REPORT_HTML,
} report_format;

typedef struct report_options {
    report_format format;
    const char *frames;  /* auto, marker, sync, nvtx, nvtx:NAME; NULL: as recorded */
    const char *output;  /* NULL: stdout */
    char **inputs;       /* traces and directories (argv's tail, after permutation) */
    int n_inputs;
    const char *error;   /* why parsing failed, for the message */
    const char *culprit; /* the argument at fault, or NULL */
    const char *debug_dir; /* --debug-dir: where moved modules and debug files are */
} report_options;

/* Parses `report`'s argv (argv[0] is "report"); options may follow the traces
 * (argv is permuted). Quiet: the caller prints. */
run_parse_result parse_report_options(int argc, char **argv, report_options *o);

#endif
