/*
 * symbolize.h: names for the call sites of traces (elfutils' libdwfl), at report
 * time, on whatever machine the report is made.
 */
#ifndef NNSPY_SYMBOLIZE_H
#define NNSPY_SYMBOLIZE_H

#include <stddef.h>

#include "trace.h"

/*
 * Names every site of the traces (nn_trace_site's name, function, file, line), from
 * the first frame of each: a Python frame when there is one, else the native one:
 *   - function and file:line from DWARF, where the module has debug information
 *     (in itself or in a separate debug file found by build-id);
 *   - else the nearest symbol and the offset from it, from the symbol table;
 *   - else the module's file name and the address in it.
 * A module is found at its recorded path when the file there has the recorded
 * build-id, else by build-id under each directory of debug_dirs (colon-separated:
 * DIR/.build-id/xx/rest.debug, DIR/.build-id/xx/rest, then any file in DIR with
 * that build-id), then under /usr/lib/debug. A file whose build-id differs is never
 * used: its addresses would name the wrong code.
 */
void nn_symbolize(nn_trace *traces, size_t n, const char *debug_dirs);

#endif
