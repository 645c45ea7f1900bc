/* summary.c - the Pareto summary of a run's rows, and the "summary" command. */
#include "pareto/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pareto/hypervolume.h"

static const char summary_usage[] =
    "usage: pareto_mpi summary FILE.csv [--ref E1,E2,E3]\n"
    "\n"
    "Prints the Pareto summary of a results CSV: the points (the SGD end point of each weight\n"
    "vector and every exploration step), how many are non-dominated on the test top-1 errors\n"
    "(%) of tasks 1, 2, 3, the exact hypervolume of the error front with respect to a reference\n"
    "point, and for each weight vector how much its exploration points add to the hypervolume\n"
    "of its SGD end point alone.\n"
    "\n"
    "  --ref E1,E2,E3  the reference point, in % test error of tasks 1, 2, 3 (default: the\n"
    "                  per-task maximum error over all points + 1 percentage point)\n"
    "  --help          this text\n";

static void row_error(const result_row *row, double error[RESULT_TASKS])
{
    for (int k = 0; k < RESULT_TASKS; k++)
        error[k] = 100.0 * (1.0 - row->acc[k]);
}

static int check_row(const result_row *row, pareto_error *err)
{
    for (int k = 0; k < RESULT_TASKS; k++) {
        if (!(row->acc[k] >= 0.0 && row->acc[k] <= 1.0)) {
            char bits[4] = "000";
            if (row->phase == PHASE_EXPLORE)
                direction_bits(row->direction, bits);
            return pareto_fail(err, "row %s w%d d%s step %d: acc%d is %g, expected a number in "
                               "[0, 1]", row->phase == PHASE_SGD ? "sgd" : "explore",
                               row->weight_index, bits, row->step, k + 1, row->acc[k]);
        }
    }
    return 0;
}

static int compare_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The distinct weight indices of rows, ascending, into out->weights. */
static int collect_weights(const result_row *rows, size_t n, pareto_summary *out,
                           pareto_error *err)
{
    int *indices = pareto_malloc(n * sizeof *indices, "the weight indices", err);
    if (!indices)
        return -1;
    for (size_t i = 0; i < n; i++)
        indices[i] = rows[i].weight_index;
    qsort(indices, n, sizeof *indices, compare_int);
    int distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || indices[i] != indices[i - 1])
            indices[distinct++] = indices[i];
    out->weights = pareto_calloc((size_t)distinct, sizeof *out->weights,
                                 "the summary's weight vectors", err);
    if (!out->weights) {
        free(indices);
        return -1;
    }
    out->n_weights = distinct;
    for (int w = 0; w < distinct; w++)
        out->weights[w].weight_index = indices[w];
    free(indices);
    return 0;
}

/* The entry of weight_index; collect_weights made one for every index of the rows. */
static const summary_weight *find_weight_const(const pareto_summary *s, int weight_index)
{
    for (int w = 0; w < s->n_weights; w++)
        if (s->weights[w].weight_index == weight_index)
            return &s->weights[w];
    return NULL;
}

static summary_weight *find_weight(pareto_summary *s, int weight_index)
{
    return (summary_weight *)find_weight_const(s, weight_index);
}

/* The SGD end point of each weight: its SGD row with the largest epoch. */
static void find_sgd_ends(const result_row *rows, size_t n, pareto_summary *s)
{
    for (size_t i = 0; i < n; i++) {
        const result_row *r = &rows[i];
        summary_weight *w = find_weight(s, r->weight_index);
        memcpy(w->weight, r->weight, sizeof w->weight);
        if (r->phase == PHASE_SGD && (!w->has_sgd_end || r->step > w->sgd_end_epoch)) {
            w->has_sgd_end = 1;
            w->sgd_end_epoch = r->step;
            row_error(r, w->sgd_end_error);
        } else if (r->phase == PHASE_EXPLORE) {
            w->n_explore++;
        }
    }
}

/* Counts the exploration points the figure leaves out (see SUMMARY_FIGURE_ACC_FRACTION). */
static size_t count_figure_dropped(const result_row *rows, size_t n, const pareto_summary *s)
{
    if (s->n_sgd_end == 0)
        return 0;
    double min_acc[RESULT_TASKS] = {INFINITY, INFINITY, INFINITY};
    for (size_t i = 0; i < n; i++) {
        const result_row *r = &rows[i];
        const summary_weight *w = find_weight_const(s, r->weight_index);
        if (r->phase != PHASE_SGD || r->step != w->sgd_end_epoch)
            continue;
        for (int k = 0; k < RESULT_TASKS; k++)
            min_acc[k] = fmin(min_acc[k], r->acc[k]);
    }
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].phase != PHASE_EXPLORE)
            continue;
        int drop = 0;
        for (int k = 0; k < RESULT_TASKS; k++)
            drop = drop || rows[i].acc[k] < SUMMARY_FIGURE_ACC_FRACTION * min_acc[k];
        dropped += (size_t)drop;
    }
    return dropped;
}

int summary_compute(const result_row *rows, size_t n, const double *ref, pareto_summary *out,
                    pareto_error *err)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++)
        if (check_row(&rows[i], err) != 0)
            return -1;
    if (collect_weights(rows, n, out, err) != 0)
        return -1;
    find_sgd_ends(rows, n, out);

    /* points (n_points, 3): the SGD ends, then the exploration rows, as % errors */
    for (int w = 0; w < out->n_weights; w++)
        out->n_sgd_end += (size_t)out->weights[w].has_sgd_end;
    for (int w = 0; w < out->n_weights; w++)
        out->n_explore += out->weights[w].n_explore;
    out->n_points = out->n_sgd_end + out->n_explore;
    if (out->n_points == 0) {
        summary_free(out);
        return pareto_fail(err, "no points: the rows hold no SGD or exploration row");
    }
    double *points = pareto_malloc(out->n_points * 3 * sizeof *points, "the summary's points",
                                   err);
    unsigned char *flags = pareto_malloc(out->n_points, "the non-dominated flags", err);
    if (!points || !flags)
        goto fail;
    size_t at = 0;
    for (int w = 0; w < out->n_weights; w++)
        if (out->weights[w].has_sgd_end)
            memcpy(points + 3 * at++, out->weights[w].sgd_end_error, 3 * sizeof *points);
    for (size_t i = 0; i < n; i++)
        if (rows[i].phase == PHASE_EXPLORE)
            row_error(&rows[i], points + 3 * at++);

    /* the reference point: given, or the per-task maximum error + the margin */
    out->ref_is_default = ref == NULL;
    for (int k = 0; k < RESULT_TASKS; k++) {
        if (ref) {
            out->ref[k] = ref[k];
            continue;
        }
        out->ref[k] = points[k];
        for (size_t i = 1; i < out->n_points; i++)
            out->ref[k] = fmax(out->ref[k], points[3 * i + k]);
        out->ref[k] += SUMMARY_DEFAULT_MARGIN;
    }

    out->n_nondominated = pareto_nondominated(points, out->n_points, flags);
    out->n_figure_dropped = count_figure_dropped(rows, n, out);
    if (hypervolume_3d(points, out->n_points, out->ref, &out->hypervolume, err) != 0)
        goto fail;

    /* per weight: its SGD end alone, then with its exploration points (gathered in place) */
    for (int w = 0; w < out->n_weights; w++) {
        summary_weight *sw = &out->weights[w];
        size_t m = 0;
        if (sw->has_sgd_end)
            memcpy(points + 3 * m++, sw->sgd_end_error, 3 * sizeof *points);
        if (hypervolume_3d(points, m, out->ref, &sw->hv_sgd_end, err) != 0)
            goto fail;
        for (size_t i = 0; i < n; i++)
            if (rows[i].phase == PHASE_EXPLORE && rows[i].weight_index == sw->weight_index)
                row_error(&rows[i], points + 3 * m++);
        if (hypervolume_3d(points, m, out->ref, &sw->hv_with_explore, err) != 0)
            goto fail;
    }
    free(points);
    free(flags);
    return 0;

fail:
    free(points);
    free(flags);
    summary_free(out);
    return -1;
}

void summary_free(pareto_summary *summary)
{
    free(summary->weights);
    summary->weights = NULL;
    summary->n_weights = 0;
}

void summary_print(FILE *out, const char *source, const pareto_summary *s)
{
    fprintf(out, "Pareto summary of %s\n", source);
    fprintf(out, "objectives: test top-1 error (%%) of tasks 1, 2, 3, minimised\n");
    fprintf(out, "points: %zu = %zu SGD end points + %zu exploration points (the figure leaves "
            "out %zu)\n", s->n_points, s->n_sgd_end, s->n_explore, s->n_figure_dropped);
    fprintf(out, "non-dominated points: %zu of %zu\n", s->n_nondominated, s->n_points);
    fprintf(out, "reference point: (%.4f, %.4f, %.4f) %% error, %s\n", s->ref[0], s->ref[1],
            s->ref[2], s->ref_is_default ? "default: per-task maximum + 1"
                                         : "given by --ref");
    fprintf(out, "hypervolume: %.6g %%^3\n", s->hypervolume);
    fprintf(out, "per weight vector: HV of its SGD end alone, with its exploration points, "
            "gain:\n");
    for (int w = 0; w < s->n_weights; w++) {
        const summary_weight *sw = &s->weights[w];
        fprintf(out, "  w%d (%.4f, %.4f, %.4f): ", sw->weight_index, sw->weight[0],
                sw->weight[1], sw->weight[2]);
        if (!sw->has_sgd_end) {
            fprintf(out, "no SGD row; HV of its %zu exploration points %.6g\n", sw->n_explore,
                    sw->hv_with_explore);
            continue;
        }
        fprintf(out, "SGD end (epoch %d) error (%.3f, %.3f, %.3f)\n", sw->sgd_end_epoch,
                sw->sgd_end_error[0], sw->sgd_end_error[1], sw->sgd_end_error[2]);
        double gain = sw->hv_with_explore - sw->hv_sgd_end;
        fprintf(out, "      HV %.6g alone, %.6g with %zu exploration points: gain %.6g",
                sw->hv_sgd_end, sw->hv_with_explore, sw->n_explore, gain);
        if (sw->hv_sgd_end > 0.0)
            fprintf(out, " (%+.2f%%)", 100.0 * gain / sw->hv_sgd_end);
        fputc('\n', out);
    }
    fflush(out);
}

int summary_report(FILE *out, const char *source, const result_row *rows, size_t n,
                   const double *ref, pareto_error *err)
{
    pareto_summary s;
    if (summary_compute(rows, n, ref, &s, err) != 0)
        return -1;
    summary_print(out, source, &s);
    summary_free(&s);
    return 0;
}

/* "E1,E2,E3" -> ref; returns 0, or -1 unless it is three finite numbers. */
static int parse_ref(const char *text, double ref[RESULT_TASKS])
{
    const char *p = text;
    for (int k = 0; k < RESULT_TASKS; k++) {
        char *end;
        ref[k] = strtod(p, &end);
        if (end == p || !isfinite(ref[k]))
            return -1;
        if (k < RESULT_TASKS - 1 && *end != ',')
            return -1;
        p = end + (k < RESULT_TASKS - 1);
        if (k == RESULT_TASKS - 1 && *end != '\0')
            return -1;
    }
    return 0;
}

int summary_main(int argc, char **argv)
{
    const char *csv_path = NULL;
    double ref[RESULT_TASKS];
    int have_ref = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(summary_usage, stdout);
            return 0;
        } else if (strcmp(a, "--ref") == 0 && i + 1 < argc) {
            if (parse_ref(argv[++i], ref) != 0) {
                fprintf(stderr, "pareto_mpi summary: --ref '%s': expected three numbers "
                        "E1,E2,E3 (%% test error of tasks 1, 2, 3)\n", argv[i]);
                return 2;
            }
            have_ref = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "pareto_mpi summary: unknown option '%s' (or missing value)\n%s", a,
                    summary_usage);
            return 2;
        } else if (!csv_path) {
            csv_path = a;
        } else {
            fprintf(stderr, "pareto_mpi summary: unexpected argument '%s'\n%s", a,
                    summary_usage);
            return 2;
        }
    }
    if (!csv_path) {
        fprintf(stderr, "pareto_mpi summary: missing FILE.csv\n%s", summary_usage);
        return 2;
    }

    pareto_error err;
    result_row *rows;
    size_t n;
    if (results_read_csv(csv_path, &rows, &n, &err) != 0) {
        fprintf(stderr, "pareto_mpi summary: %s\n", err.msg);
        return 1;
    }
    int status = summary_report(stdout, csv_path, rows, n, have_ref ? ref : NULL, &err);
    if (status != 0)
        fprintf(stderr, "pareto_mpi summary: %s: %s\n", csv_path, err.msg);
    free(rows);
    return status != 0;
}
