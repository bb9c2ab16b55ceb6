/*
 * output.c: buffered writes to a file descriptor without malloc or stdio.
 */
#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void nn_out_init(nn_out *o, int fd)
{
    o->fd = fd;
    o->failed = false;
    o->used = 0;
}

void nn_out_init_memory(nn_out *o)
{
    nn_out_init(o, -1);
}

static void write_all(nn_out *o, const char *p, size_t n)
{
    if (o->fd < 0) {
        o->failed |= n > 0;
        return;
    }
    while (n > 0 && !o->failed) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            o->failed = true;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

bool nn_out_flush(nn_out *o)
{
    if (o->fd < 0) return !o->failed; /* memory: the text stays in buf */
    write_all(o, o->buf, o->used);
    o->used = 0;
    return !o->failed;
}

void nn_out_printf(nn_out *o, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t room = sizeof o->buf - o->used;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->used, room, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if ((size_t)n < room) {
            o->used += (size_t)n;
            return;
        }
        /* Did not fit: flush and format again into the empty buffer (one line never
         * exceeds the buffer; if it did, it is cut). In memory, it is dropped. */
        if (o->fd < 0) {
            o->failed = true;
            return;
        }
        nn_out_flush(o);
        if (attempt == 1) o->used = sizeof o->buf - 1;
    }
}

void nn_out_json_string(nn_out *o, const char *s)
{
    nn_out_printf(o, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            nn_out_printf(o, "\\%c", c);
        else if (c < 0x20)
            nn_out_printf(o, "\\u%04x", c);
        else
            nn_out_printf(o, "%c", c);
    }
    nn_out_printf(o, "\"");
}
