/*
 * log.h - leveled log lines on stderr: "[time] LEVEL rank N | message".
 */
#ifndef PARETO_LOG_H
#define PARETO_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level;

/* Lines below this level are dropped (--quiet raises it to LOG_WARN). */
void log_set_level(log_level level);
/* The MPI rank shown in every line; -1 (the default) shows none. */
void log_set_rank(int rank);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* Seconds since an arbitrary fixed point (monotonic clock). */
double wall_seconds(void);

#endif
