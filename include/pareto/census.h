/*
 * census.h - the UCI Census-Income (KDD) data, read straight from its gzip files.
 *
 * Each line has 42 fields separated by ", " and ends in ".". The columns are 32 categorical
 * ones (one-hot encoded over the sorted set of values seen in train and test together), 6
 * continuous ones (kept as raw floats), 3 label sources (age, education, marital stat) and one
 * ignored column (instance weight). That gives 487 features, and each row has exactly 32 ones
 * and 6 raw values: the rows are stored sparsely, as the feature index of each categorical
 * column's one plus the six raw values.
 *
 * Labels: task 1 is age >= 40; task 2 is an education value starting with "Bachelors", "Some",
 * "Maters", "Asso", "Doctorate" or "Prof" (sic: "Maters" matches no value, so Masters degrees
 * are 0, as in the reference); task 3 is marital stat equal to "Never married".
 */
#ifndef PARETO_CENSUS_H
#define PARETO_CENSUS_H

#include <stdint.h>
#include "pareto/error.h"

#define CENSUS_FIELDS 42
#define CENSUS_CATEGORICAL 32
#define CENSUS_CONTINUOUS 6
#define CENSUS_TASKS 3
#define CENSUS_FEATURES 487
/* Nonzero inputs per row: one per categorical column plus the continuous values. */
#define CENSUS_NNZ (CENSUS_CATEGORICAL + CENSUS_CONTINUOUS)

typedef struct {
    int n_rows;
    uint16_t *onehot;   /* (n_rows, 32): feature index of the one of each categorical column */
    float *cont;        /* (n_rows, 6): raw continuous values */
    uint8_t *labels;    /* (n_rows, 3): 0/1 label of each task */
} census_split;

typedef struct {
    census_split train;
    census_split test;
    int n_features;                           /* 487 on the real data */
    uint16_t cont_feature[CENSUS_CONTINUOUS]; /* feature index of each continuous column */
} census_data;

typedef struct {
    /* Rows whose field count is not 42 are skipped; loading fails when more than this
     * fraction of a file's non-empty lines are skipped. */
    double max_bad_row_fraction;
    /* Print the loader's summary (rows read and skipped, features, positive rates). */
    int verbose;
} census_options;

/* Loads both files. On failure returns -1 with a message naming the file and line. */
int census_load(const char *train_path, const char *test_path, const census_options *opts,
                census_data *data, pareto_error *err);
void census_free(census_data *data);

/* Rate of label 1 of a task in a split, in [0, 1]. */
double census_positive_rate(const census_split *split, int task);

#endif
