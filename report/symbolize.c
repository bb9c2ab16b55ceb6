/*
 * symbolize.c: call sites named at report time with elfutils (symbolize.h).
 *
 * Each module a trace names (path + build-id) is opened once, on its own Dwfl
 * session (offline, as a file, not as a process), so its ELF addresses are the
 * ones the preload recorded plus the session's bias. A module whose file cannot be
 * found with the right build-id keeps its name and address: never a guess.
 */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dirent.h>
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIR_SCAN 4096 /* files looked at per debug directory, for a moved binary */

/* One module, opened (or not) once for all the traces. */
typedef struct opened {
    const nn_trace_module *key; /* path and build-id */
    Dwfl *dwfl;                 /* NULL: not found */
    Dwfl_Module *mod;
    struct opened *next;
} opened;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ------------------------------------------------------------ finding files */

/* Whether the ELF file at path has exactly this build-id. */
static bool has_build_id(const char *path, const unsigned char *id, uint32_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool same = false;
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    const void *found;
    ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &found) : -1;
    same = n > 0 && (uint32_t)n == len && memcmp(found, id, len) == 0;
    if (elf) elf_end(elf);
    close(fd);
    return same;
}

static bool regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR/.build-id/xx/rest(.debug), the layout of debug directories. */
static bool in_build_id_tree(const char *dir, const nn_trace_module *m, char *out, size_t len)
{
    char hex[2 * 64 + 1];
    for (uint32_t i = 0; i < m->build_id_len; i++) sprintf(hex + 2 * i, "%02x", m->build_id[i]);
    static const char *const suffixes[] = {".debug", ""};
    for (size_t k = 0; k < 2; k++) {
        snprintf(out, len, "%s/.build-id/%.2s/%s%s", dir, hex, hex + 2, suffixes[k]);
        if (regular_file(out) && has_build_id(out, m->build_id, m->build_id_len)) return true;
    }
    return false;
}

/* A file directly in dir with the build-id: the same name first, then any. */
static bool in_directory(const char *dir, const nn_trace_module *m, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, base_name(m->path));
    if (regular_file(out) && has_build_id(out, m->build_id, m->build_id_len)) return true;
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    for (int seen = 0; !found && seen < MAX_DIR_SCAN && (e = readdir(d)); seen++) {
        if (e->d_name[0] == '.') continue;
        snprintf(out, len, "%s/%s", dir, e->d_name);
        found = regular_file(out) && has_build_id(out, m->build_id, m->build_id_len);
    }
    closedir(d);
    return found;
}

/* The file of module m: at its path, or by build-id under the debug directories. */
static bool find_file(const nn_trace_module *m, const char *debug_dirs, char *out, size_t len)
{
    if (!m->build_id_len) { /* nothing to check it by: only where it was */
        snprintf(out, len, "%s", m->path);
        return regular_file(out);
    }
    if (has_build_id(m->path, m->build_id, m->build_id_len)) {
        snprintf(out, len, "%s", m->path);
        return true;
    }
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s%s/usr/lib/debug", debug_dirs ? debug_dirs : "",
             debug_dirs && *debug_dirs ? ":" : "");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save))
        if (in_build_id_tree(dir, m, out, len) || in_directory(dir, m, out, len)) return true;
    return false;
}

/* ------------------------------------------------------------ opening modules */

static char *debuginfo_path; /* for dwfl_standard_find_debuginfo: separate debug files */

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static void open_module(opened *o, const char *debug_dirs)
{
    char file[4096];
    if (!find_file(o->key, debug_dirs, file, sizeof file)) return;
    o->dwfl = dwfl_begin(&callbacks);
    if (!o->dwfl) return;
    o->mod = dwfl_report_offline(o->dwfl, base_name(o->key->path), file, -1);
    dwfl_report_end(o->dwfl, NULL, NULL);
    if (!o->mod) {
        dwfl_end(o->dwfl);
        o->dwfl = NULL;
    }
}

static opened *module_for(opened **list, const nn_trace_module *m, const char *debug_dirs)
{
    for (opened *o = *list; o; o = o->next)
        if (strcmp(o->key->path, m->path) == 0 && o->key->build_id_len == m->build_id_len &&
            memcmp(o->key->build_id, m->build_id, m->build_id_len) == 0)
            return o;
    opened *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->key = m;
    open_module(o, debug_dirs);
    o->next = *list;
    *list = o;
    return o;
}

/* ------------------------------------------------------------ naming */

/* The innermost function (inlined or not) that DWARF says holds addr. */
static const char *dwarf_function(Dwfl_Module *mod, Dwarf_Addr addr)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
    Dwarf_Die *scopes = NULL;
    int n = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : 0;
    const char *name = NULL;
    for (int i = 0; i < n && !name; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine)
            name = dwarf_diename(&scopes[i]);
    }
    free(scopes);
    return name;
}

static char *text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    return s;
}

/* Names site s from its native frame f in module m (NULL: in no module). */
static void name_native(nn_trace_site *s, const nn_trace_native *f, const nn_trace_module *m,
                        opened *o)
{
    if (!m) {
        s->name = text("code in no loaded object (JIT?) at 0x%" PRIx64, f->address);
        return;
    }
    const char *module = base_name(m->path);
    if (!o || !o->mod) {
        s->name = text("%s+0x%" PRIx64, module, f->address);
        return;
    }
    Dwarf_Addr bias = 0;
    dwfl_module_getelf(o->mod, &bias);
    Dwarf_Addr addr = f->address + bias;
    Dwfl_Line *line = dwfl_module_getsrc(o->mod, addr);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    const char *function = dwarf_function(o->mod, addr);
    if (file && lineno > 0) {
        s->file = strdup(file);
        s->line = (uint32_t)lineno;
    }
    GElf_Off offset = 0;
    GElf_Sym sym;
    const char *symbol = dwfl_module_addrinfo(o->mod, addr, &offset, &sym, NULL, NULL, NULL);
    if (!function) function = symbol;
    if (function) s->function = strdup(function);
    if (function && s->file)
        s->name = text("%s at %s:%u", function, base_name(s->file), s->line);
    else if (symbol)
        s->name = text("%s+0x%" PRIx64 " (%s)", symbol, (uint64_t)offset, module);
    else s->name = text("%s+0x%" PRIx64, module, f->address);
}

static void name_site(const nn_trace *t, nn_trace_site *s, opened **list, const char *debug_dirs)
{
    if (s->n_python) {
        const nn_trace_python *py = &s->python[0];
        s->function = strdup(py->function);
        s->file = strdup(py->file);
        s->line = py->line;
        s->name = text("%s at %s:%u", py->function, base_name(py->file), py->line);
        return;
    }
    if (!s->n_native) {
        s->name = strdup("[no stack]");
        return;
    }
    const nn_trace_module *m = nn_trace_module_of(t, s->native[0].module);
    opened *o = m ? module_for(list, m, debug_dirs) : NULL;
    name_native(s, &s->native[0], m, o);
    if (s->name && (s->flags & NN_TSITE_UNREADABLE)) {
        char *marked = text("[stack unreadable past] %s", s->name);
        free(s->name);
        s->name = marked;
    }
}

void nn_symbolize(nn_trace *traces, size_t n, const char *debug_dirs)
{
    opened *list = NULL;
    elf_version(EV_CURRENT);
    char *dirs = text("%s%s/usr/lib/debug", debug_dirs ? debug_dirs : "",
                      debug_dirs && *debug_dirs ? ":" : "");
    debuginfo_path = dirs;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < traces[i].n_sites; k++)
            name_site(&traces[i], &traces[i].sites[k], &list, debug_dirs);
    while (list) {
        opened *next = list->next;
        if (list->dwfl) dwfl_end(list->dwfl);
        free(list);
        list = next;
    }
    debuginfo_path = NULL;
    free(dirs);
}
