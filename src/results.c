/* results.c - the output CSV: one row per evaluation of the test set. */
#include "pareto/results.h"

#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pareto/minres.h"

void direction_bits(int direction, char out[4])
{
    for (int k = 0; k < 3; k++)
        out[k] = (char)('0' + ((direction >> (2 - k)) & 1));
    out[3] = '\0';
}

const char *results_csv_header(void)
{
    return "phase,weight_index,w1,w2,w3,direction,step,loss1,loss2,loss3,acc1,acc2,acc3,"
           "alpha1,alpha2,alpha3,minres_iters,minres_stop,minres_residual,wall_s";
}

void results_format_row(const result_row *r, char *buf, size_t len)
{
    char bits[4] = "000";
    if (r->phase == PHASE_EXPLORE)
        direction_bits(r->direction, bits);
    /* %.9g keeps every float32 digit of the losses; accuracies are counts / n, exact in %.9g
     * for the test set's 99,762 rows. */
    int at = snprintf(buf, len, "%s,%d,%.9g,%.9g,%.9g,%s,%d,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g",
                      r->phase == PHASE_SGD ? "sgd" : "explore", r->weight_index, r->weight[0],
                      r->weight[1], r->weight[2], bits, r->step, r->loss[0], r->loss[1],
                      r->loss[2], r->acc[0], r->acc[1], r->acc[2]);
    if (r->phase == PHASE_EXPLORE)
        at += snprintf(buf + at, len - (size_t)at, ",%.9g,%.9g,%.9g,%d,%s,%.6g", r->alpha[0],
                       r->alpha[1], r->alpha[2], r->minres_iters,
                       minres_stop_name((minres_stop)r->minres_stop), r->minres_rnorm);
    else
        at += snprintf(buf + at, len - (size_t)at, ",,,,,,");
    snprintf(buf + at, len - (size_t)at, ",%.3f\n", r->wall_s);
}

static int row_cmp(const void *a, const void *b)
{
    const result_row *x = a, *y = b;
    if (x->weight_index != y->weight_index)
        return x->weight_index < y->weight_index ? -1 : 1;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    if (x->direction != y->direction)
        return x->direction < y->direction ? -1 : 1;
    if (x->step != y->step)
        return x->step < y->step ? -1 : 1;
    return 0;
}

void results_sort(result_row *rows, size_t n)
{
    if (n > 1)
        qsort(rows, n, sizeof *rows, row_cmp);
}

int results_write_csv(const char *path, const result_row *rows, size_t n, pareto_error *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return pareto_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fprintf(f, "%s\n", results_csv_header()) > 0;
    char line[1024];
    for (size_t i = 0; ok && i < n; i++) {
        results_format_row(&rows[i], line, sizeof line);
        ok = fputs(line, f) >= 0;
    }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return pareto_fail(err, "%s: write failed: %s", tmp, strerror(saved));
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        return pareto_fail(err, "%s: cannot rename to %s: %s", tmp, path, strerror(saved));
    }
    return 0;
}

static int parse_stop(const char *name)
{
    for (int code = 0; code <= MINRES_NONFINITE; code++)
        if (strcmp(minres_stop_name((minres_stop)code), name) == 0)
            return code;
    return -1;
}

/* Splits line at commas in place; returns the number of fields. */
static int split_csv(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return n;
}

/* Column names of the CSV, in order (the header split at its commas). */
static void column_name(int col, char *buf, size_t len)
{
    const char *h = results_csv_header();
    for (int c = 0; c < col && h; c++) {
        h = strchr(h, ',');
        if (h)
            h++;
    }
    size_t n = h ? strcspn(h, ",") : 0;
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), h ? h : "?");
}

/* Parses field col as a finite number in [lo, hi]; on failure fills why and returns -1. */
static int parse_number(char **fld, int col, double lo, double hi, double *out, char *why,
                        size_t len)
{
    char *end, name[32];
    errno = 0;
    double v = strtod(fld[col], &end);
    if (end == fld[col] || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        column_name(col, name, sizeof name);
        snprintf(why, len, "column %d (%s): expected a number in [%g, %g], found '%s'", col + 1,
                 name, lo, hi, fld[col]);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses field col as an integer in [lo, hi]. */
static int parse_int(char **fld, int col, int lo, int hi, int *out, char *why, size_t len)
{
    double v;
    if (parse_number(fld, col, lo, hi, &v, why, len) != 0)
        return -1;
    if (v != floor(v)) {
        char name[32];
        column_name(col, name, sizeof name);
        snprintf(why, len, "column %d (%s): expected an integer, found '%s'", col + 1, name,
                 fld[col]);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* Fills r from the 20 fields of one row; on a bad field returns -1 with why filled. */
static int parse_row(char **fld, result_row *r, char *why, size_t len)
{
    memset(r, 0, sizeof *r);
    if (strcmp(fld[0], "sgd") == 0) {
        r->phase = PHASE_SGD;
    } else if (strcmp(fld[0], "explore") == 0) {
        r->phase = PHASE_EXPLORE;
    } else {
        snprintf(why, len, "column 1 (phase): expected 'sgd' or 'explore', found '%s'", fld[0]);
        return -1;
    }
    if (parse_int(fld, 1, 0, 1000000, &r->weight_index, why, len))
        return -1;
    for (int k = 0; k < 3; k++) {
        if (parse_number(fld, 2 + k, 0, 1, &r->weight[k], why, len) ||
            parse_number(fld, 7 + k, 0, 1e30, &r->loss[k], why, len) ||
            parse_number(fld, 10 + k, 0, 1, &r->acc[k], why, len))
            return -1;
    }
    const char *bits = fld[5];
    int valid_bits = strlen(bits) == 3 && strspn(bits, "01") == 3;
    r->direction = valid_bits ? (int)strtol(bits, NULL, 2) : -1;
    int want_zero = r->phase == PHASE_SGD;
    if (!valid_bits || (want_zero ? r->direction != 0 : r->direction < 1 || r->direction > 6)) {
        snprintf(why, len, "column 6 (direction): expected %s, found '%s'",
                 want_zero ? "000 on an sgd row" : "three bits 001..110", bits);
        return -1;
    }
    if (parse_int(fld, 6, 1, 1000000000, &r->step, why, len))
        return -1;
    if (r->phase == PHASE_EXPLORE) {
        for (int k = 0; k < 3; k++)
            if (parse_number(fld, 13 + k, 0, 1, &r->alpha[k], why, len))
                return -1;
        if (parse_int(fld, 16, 0, 1000000000, &r->minres_iters, why, len))
            return -1;
        r->minres_stop = parse_stop(fld[17]);
        if (r->minres_stop < 0) {
            snprintf(why, len, "column 18 (minres_stop): unknown stop reason '%s'", fld[17]);
            return -1;
        }
        if (parse_number(fld, 18, 0, 1e300, &r->minres_rnorm, why, len))
            return -1;
    }
    return parse_number(fld, 19, 0, 1e12, &r->wall_s, why, len);
}

int results_read_csv(const char *path, result_row **out, size_t *n_out, pareto_error *err)
{
    *out = NULL;
    *n_out = 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return pareto_fail(err, "%s: is a folder; expected a CSV file", path);
    FILE *f = fopen(path, "r");
    if (!f)
        return pareto_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char line[2048], why[256];
    if (!fgets(line, sizeof line, f) || strncmp(line, results_csv_header(),
                                                strlen(results_csv_header())) != 0) {
        fclose(f);
        return pareto_fail(err, "%s:1: expected the header '%s'", path, results_csv_header());
    }
    size_t cap = 256, n = 0;
    result_row *rows = malloc(cap * sizeof *rows);
    long lineno = 1;
    while (rows && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        char *fld[24];
        int fields = split_csv(line, fld, 24);
        if (fields != 20)
            snprintf(why, sizeof why, "expected 20 fields, found %d", fields);
        if (n == cap) {
            result_row *grown = realloc(rows, 2 * cap * sizeof *rows);
            if (!grown) {
                free(rows);
                rows = NULL;
                break;
            }
            rows = grown;
            cap *= 2;
        }
        if (fields != 20 || parse_row(fld, &rows[n], why, sizeof why) != 0) {
            free(rows);
            fclose(f);
            return pareto_fail(err, "%s:%ld: %s", path, lineno, why);
        }
        n++;
    }
    fclose(f);
    if (!rows)
        return pareto_fail(err, "%s: out of memory reading results", path);
    *out = rows;
    *n_out = n;
    return 0;
}
