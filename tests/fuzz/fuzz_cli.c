/*
 * fuzz_cli: libFuzzer target for the option parsing of `nnspy run` and `nnspy
 * report`. The first byte chooses the command (odd: report); the rest is split at
 * NUL bytes into argv (argv[0] = the command).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void check_run(int argc, char **argv)
{
    run_options o;
    run_parse_result r = parse_run_options(argc, argv, &o);
    /* A successful parse names a program inside argv, and a --json value that is not empty. */
    if (r == RUN_PARSE_OK && (!o.program || o.program < argv + 1 || o.program >= argv + argc))
        abort();
    if (r == RUN_PARSE_OK && o.json && !*o.json) abort();
    if (r == RUN_PARSE_ERROR && !o.error) abort();
}

static void check_report(int argc, char **argv)
{
    report_options o;
    run_parse_result r = parse_report_options(argc, argv, &o);
    /* A successful parse names at least one input, all inside argv and not empty. */
    if (r == RUN_PARSE_OK) {
        if (o.n_inputs < 1 || o.inputs < argv + 1 || o.inputs + o.n_inputs > argv + argc) abort();
        for (int i = 0; i < o.n_inputs; i++)
            if (!o.inputs[i] || !o.inputs[i][0]) abort();
        if (o.output && !*o.output) abort();
        if (o.format > REPORT_HTML) abort();
    }
    if (r == RUN_PARSE_ERROR && !o.error) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX_ARGS = 16 };
    bool report = size > 0 && (data[0] & 1);
    if (size > 0) data++, size--;
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[MAX_ARGS + 2] = {report ? "report" : "run"};
    int argc = 1;
    for (char *p = copy; p <= copy + size && argc <= MAX_ARGS; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;
    if (report)
        check_report(argc, argv);
    else
        check_run(argc, argv);
    free(copy);
    return 0;
}
