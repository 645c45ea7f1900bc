/* log.c - leveled, timestamped log lines on stderr. */
#include "pareto/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static log_level min_level = LOG_INFO;
static int log_rank = -1;

void log_set_level(log_level level) { min_level = level; }
void log_set_rank(int rank) { log_rank = rank; }

double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void log_msg(log_level level, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < min_level)
        return;

    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);

    char line[2048];
    int len;
    if (log_rank >= 0)
        len = snprintf(line, sizeof line, "[%s] %-5s rank %d | ", stamp, names[level], log_rank);
    else
        len = snprintf(line, sizeof line, "[%s] %-5s | ", stamp, names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + len, sizeof line - (size_t)len, fmt, ap);
    va_end(ap);
    /* One write per line so that lines from several ranks do not interleave mid-line. */
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}
