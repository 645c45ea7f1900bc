/*
 * error.h - an error message that travels back to the caller.
 *
 * Library functions return 0 on success and -1 on failure; on failure they fill a
 * pareto_error with one sentence that says what went wrong and where (file, line, key, job).
 */
#ifndef PARETO_ERROR_H
#define PARETO_ERROR_H

#include <stddef.h>

typedef struct {
    char msg[1024];
} pareto_error;

/* Sets err->msg from a printf-style format; err may be NULL. Always returns -1. */
int pareto_fail(pareto_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* malloc/calloc that return NULL and fill err (naming what was being allocated) on failure. */
void *pareto_malloc(size_t size, const char *what, pareto_error *err);
void *pareto_calloc(size_t count, size_t size, const char *what, pareto_error *err);

#endif
