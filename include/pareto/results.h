/*
 * results.h - one row of the output CSV per evaluation of the test set, and the CSV itself.
 */
#ifndef PARETO_RESULTS_H
#define PARETO_RESULTS_H

#include <stdio.h>
#include "pareto/error.h"

#define RESULT_TASKS 3

typedef enum { PHASE_SGD = 0, PHASE_EXPLORE = 1 } result_phase;

typedef struct {
    int phase;                     /* result_phase */
    int weight_index;
    double weight[RESULT_TASKS];
    int direction;                 /* 0 for SGD rows, 1..6 for exploration */
    int step;                      /* epoch (SGD, from 1) or exploration step (from 1) */
    double loss[RESULT_TASKS];     /* mean test cross-entropy per task */
    double acc[RESULT_TASKS];      /* test top-1 accuracy per task, in [0, 1] */
    double alpha[RESULT_TASKS];    /* exploration: the averaged min-norm weights used */
    int minres_iters;              /* exploration: MINRES iterations, stop code, residual */
    int minres_stop;
    double minres_rnorm;
    double wall_s;                 /* wall time of this row's epoch or step */
} result_row;

/* "011" for direction 3: character k is 1 when task k+1 is selected. */
void direction_bits(int direction, char out[4]);

/* The CSV header line (no newline). */
const char *results_csv_header(void);
/* One row as CSV, newline-terminated. Deterministic: fixed formats, no locale. */
void results_format_row(const result_row *row, char *buf, size_t len);

/* Sorts rows by weight index, phase, direction, step. */
void results_sort(result_row *rows, size_t n);

/* Writes header + rows to path via a temporary file in the same folder, renamed at the end;
 * on failure nothing is left at path or at the temporary name. */
int results_write_csv(const char *path, const result_row *rows, size_t n, pareto_error *err);

/* Reads a CSV written by results_write_csv (for summaries and resume). */
int results_read_csv(const char *path, result_row **rows, size_t *n, pareto_error *err);

#endif
