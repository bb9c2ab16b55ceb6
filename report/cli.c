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

run_parse_result parse_report_options(int argc, char **argv, report_options *o)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'F'},
        {"frames", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"debug-dir", required_argument, NULL, 'D'},
        {NULL, 0, NULL, 0},
    };
    static const char *const formats[] = {
        [REPORT_TABLE] = "table", [REPORT_JSON] = "json", [REPORT_CSV] = "csv",
        [REPORT_CHROME] = "chrome", [REPORT_HTML] = "html",
    };
    *o = (report_options){.format = REPORT_TABLE};
    optind = 0;
    opterr = 0;
    int c;
    bool format_set = false;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'F': {
            size_t i = 0;
            while (i < sizeof formats / sizeof formats[0] && strcmp(optarg, formats[i])) i++;
            if (i == sizeof formats / sizeof formats[0]) {
                o->error = "--format is table, json, csv, chrome or html";
                o->culprit = optarg;
                return RUN_PARSE_ERROR;
            }
            if (format_set && o->format != (report_format)i) {
                o->error = "--format given twice";
                o->culprit = optarg;
                return RUN_PARSE_ERROR;
            }
            o->format = (report_format)i;
            format_set = true;
            break;
        }
        case 'f': o->frames = optarg; break;
        case 'o': o->output = optarg; break;
        case 'D': o->debug_dir = optarg; break;
        case 'h': return RUN_PARSE_HELP;
        case ':':
        case '?':
        default:
            o->error = "unknown option, or an option without its value";
            o->culprit = argv[optind - 1];
            return RUN_PARSE_ERROR;
        }
    }
    if (o->output && !*o->output) {
        o->error = "-o needs a file name";
        return RUN_PARSE_ERROR;
    }
    if (o->frames && strcmp(o->frames, "auto") && strcmp(o->frames, "marker") &&
        strcmp(o->frames, "sync") && strcmp(o->frames, "nvtx") &&
        !(strncmp(o->frames, "nvtx:", 5) == 0 && o->frames[5])) {
        o->error = "--frames is auto, marker, sync, nvtx or nvtx:NAME";
        o->culprit = o->frames;
        return RUN_PARSE_ERROR;
    }
    if (optind >= argc) {
        o->error = "no TRACE or DIR given";
        return RUN_PARSE_ERROR;
    }
    for (int i = optind; i < argc; i++)
        if (!argv[i][0]) {
            o->error = "an empty TRACE name";
            return RUN_PARSE_ERROR;
        }
    o->inputs = argv + optind;
    o->n_inputs = argc - optind;
    return RUN_PARSE_OK;
}
