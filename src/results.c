/* results.c - the output CSV: one row per evaluation of the test set. */
#include "pareto/results.h"

#include <errno.h>
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

int results_read_csv(const char *path, result_row **out, size_t *n_out, pareto_error *err)
{
    *out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return pareto_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char line[2048];
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
        if (split_csv(line, fld, 24) != 20)
            goto bad;
        if (n == cap) {
            result_row *grown = realloc(rows, 2 * cap * sizeof *rows);
            if (!grown)
                break;
            rows = grown;
            cap *= 2;
        }
        result_row *r = &rows[n];
        memset(r, 0, sizeof *r);
        if (strcmp(fld[0], "sgd") == 0)
            r->phase = PHASE_SGD;
        else if (strcmp(fld[0], "explore") == 0)
            r->phase = PHASE_EXPLORE;
        else
            goto bad;
        char *end;
        r->weight_index = (int)strtol(fld[1], &end, 10);
        for (int k = 0; k < 3; k++) {
            r->weight[k] = strtod(fld[2 + k], &end);
            r->loss[k] = strtod(fld[7 + k], &end);
            r->acc[k] = strtod(fld[10 + k], &end);
        }
        r->direction = (int)strtol(fld[5], &end, 2);
        r->step = (int)strtol(fld[6], &end, 10);
        if (r->phase == PHASE_EXPLORE) {
            for (int k = 0; k < 3; k++)
                r->alpha[k] = strtod(fld[13 + k], &end);
            r->minres_iters = (int)strtol(fld[16], &end, 10);
            r->minres_stop = parse_stop(fld[17]);
            r->minres_rnorm = strtod(fld[18], &end);
        }
        r->wall_s = strtod(fld[19], &end);
        n++;
        continue;
    bad:
        free(rows);
        fclose(f);
        return pareto_fail(err, "%s:%ld: not a result row of 20 fields", path, lineno);
    }
    fclose(f);
    if (!rows)
        return pareto_fail(err, "%s: out of memory reading results", path);
    *out = rows;
    *n_out = n;
    return 0;
}
