/*
 * fuzz_cli: libFuzzer target for `nnspy run`'s option parsing. The input is split
 * at NUL bytes into argv (argv[0] = "run").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX_ARGS = 16 };
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[MAX_ARGS + 2] = {"run"};
    int argc = 1;
    for (char *p = copy; p <= copy + size && argc <= MAX_ARGS; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;
    run_options o;
    run_parse_result r = parse_run_options(argc, argv, &o);
    /* A successful parse names a program inside argv, and a --json value that is not empty. */
    if (r == RUN_PARSE_OK && (!o.program || o.program < argv + 1 || o.program >= argv + argc))
        abort();
    if (r == RUN_PARSE_OK && o.json && !*o.json) abort();
    if (r == RUN_PARSE_ERROR && !o.error) abort();
    free(copy);
    return 0;
}
