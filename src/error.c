/* error.c - error messages handed back to callers. */
#include "pareto/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int pareto_fail(pareto_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void *pareto_malloc(size_t size, const char *what, pareto_error *err)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        pareto_fail(err, "out of memory allocating %zu bytes for %s", size, what);
    return p;
}

void *pareto_calloc(size_t count, size_t size, const char *what, pareto_error *err)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        pareto_fail(err, "out of memory allocating %zu x %zu bytes for %s", count, size, what);
    return p;
}
