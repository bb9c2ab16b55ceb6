/*
 * cli.c: parsing `nnspy run [--sim] [--json FILE] [--] PROGRAM [ARGS...]`.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <getopt.h>
#include <stddef.h>
#include <string.h>

run_parse_result parse_run_options(int argc, char **argv, run_options *o)
{
    static const struct option opts[] = {
        {"sim", no_argument, NULL, 's'},
        {"json", required_argument, NULL, 'j'},
        {"frames", required_argument, NULL, 'f'},
        {"timing", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (run_options){0};
    optind = 0; /* a full reset of getopt's state (GNU), so this can run again */
    opterr = 0;
    int c;
    /* '+': stop at PROGRAM, so that its own options stay its own. */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 's': o->sim = true; break;
        case 'j': o->json = optarg; break;
        case 'f': o->frames = optarg; break;
        case 't': o->timing = optarg; break;
        case 'h': return RUN_PARSE_HELP;
        case ':':
        case '?':
        default:
            o->error = "unknown option, or an option without its value";
            o->culprit = argv[optind - 1];
            return RUN_PARSE_ERROR;
        }
    }
    if (optind >= argc) {
        o->error = "no PROGRAM given";
        return RUN_PARSE_ERROR;
    }
    if (o->json && !*o->json) {
        o->error = "--json needs a file name";
        return RUN_PARSE_ERROR;
    }
    if (o->frames && strcmp(o->frames, "auto") && strcmp(o->frames, "marker") &&
        strcmp(o->frames, "sync") && !(strncmp(o->frames, "nvtx:", 5) == 0 && o->frames[5])) {
        o->error = "--frames is auto, marker, sync or nvtx:NAME";
        o->culprit = o->frames;
        return RUN_PARSE_ERROR;
    }
    if (o->timing && strcmp(o->timing, "events") && strcmp(o->timing, "cupti") &&
        strcmp(o->timing, "off")) {
        o->error = "--timing is events, cupti or off";
        o->culprit = o->timing;
        return RUN_PARSE_ERROR;
    }
    o->program = argv + optind;
    return RUN_PARSE_OK;
}
