/*
 * summary.h - the Pareto summary of a run's rows: points, non-dominated points, hypervolume.
 *
 * Definitions (docs/figure.md says the same for readers of the output):
 * - objectives: the test top-1 error, in percent, of tasks 1, 2, 3: 100 * (1 - acc_k),
 *   all minimised;
 * - points: for each weight vector its SGD end point (the SGD row of the last epoch), plus
 *   every exploration row (each step of each direction);
 * - non-dominated: a point that no other point dominates (copies of a point count once);
 * - hypervolume: the volume, in %^3, dominated by the points and bounded by the reference point;
 *   by default the reference is the per-task maximum error over all points plus 1 percentage
 *   point, so every point contributes;
 * - gain of weight vector i: HV({SGD end of i} and the exploration points of i) minus
 *   HV({SGD end of i}), both against the same reference point.
 */
#ifndef PARETO_SUMMARY_H
#define PARETO_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

#include "pareto/error.h"
#include "pareto/results.h"

/* Added to the per-task maximum error to give the default reference point, in % points. */
#define SUMMARY_DEFAULT_MARGIN 1.0
/* The figure leaves out exploration points with an accuracy below this fraction of the lowest
 * SGD end accuracy of that task (as the paper does); the summary counts them. */
#define SUMMARY_FIGURE_ACC_FRACTION 0.99

typedef struct {
    int weight_index;
    double weight[RESULT_TASKS];
    int has_sgd_end;                   /* 0 when the rows hold no SGD row of this weight */
    int sgd_end_epoch;
    double sgd_end_error[RESULT_TASKS];
    size_t n_explore;                  /* its exploration points */
    double hv_sgd_end;                 /* HV({SGD end}) */
    double hv_with_explore;            /* HV({SGD end} and its exploration points) */
} summary_weight;

typedef struct {
    size_t n_sgd_end, n_explore, n_points;
    size_t n_nondominated;
    size_t n_figure_dropped;           /* exploration points the figure leaves out */
    double ref[RESULT_TASKS];
    int ref_is_default;
    double hypervolume;                /* HV of all points */
    int n_weights;
    summary_weight *weights;           /* n_weights, by weight index; owned */
} pareto_summary;

/* Computes the summary of rows; ref is the reference point in % error, or NULL for the
 * default. Returns 0, or -1 (err filled) when there is no point, an accuracy is not a number
 * in [0, 1], or memory runs out. Free with summary_free. */
int summary_compute(const result_row *rows, size_t n, const double *ref, pareto_summary *out,
                    pareto_error *err);
void summary_free(pareto_summary *summary);

/* Prints the summary as plain lines; source names the rows' origin (a CSV path). */
void summary_print(FILE *out, const char *source, const pareto_summary *summary);

/* summary_compute, summary_print, summary_free in one. */
int summary_report(FILE *out, const char *source, const result_row *rows, size_t n,
                   const double *ref, pareto_error *err);

/* The "pareto_mpi summary FILE.csv [--ref e1,e2,e3]" command; argv[0] is "summary".
 * Returns the exit status: 0, 1 on an unreadable CSV, 2 on a command-line error. */
int summary_main(int argc, char **argv);

#endif
