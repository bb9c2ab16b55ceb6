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

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), or 0. */
static int utf8_length(const unsigned char *s)
{
    unsigned char c = s[0];
    int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    for (int i = 1; i < n; i++)
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF)) return 0;
    return n;
}

/* Program names, arguments and host names are outside input: bytes that are not
 * UTF-8 become U+FFFD, so that the JSON stays valid. */
void nn_out_json_string(nn_out *o, const char *s)
{
    nn_out_printf(o, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned char c = *p;
        int n = c < 0x80 ? 1 : utf8_length(p);
        if (c == '"' || c == '\\') nn_out_printf(o, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) nn_out_printf(o, "\\u%04x", c);
        else if (n == 1) nn_out_printf(o, "%c", c);
        else if (n > 1) nn_out_printf(o, "%.*s", n, (const char *)p);
        else nn_out_printf(o, "\\ufffd");
        p += n > 0 ? n : 1;
    }
    nn_out_printf(o, "\"");
}
