/*
 * config.h - the run's configuration, read from YAML with libyaml.
 *
 * Every key has the paper's value as its default, so an empty mapping is the Figure 5 run
 * (except for the data paths, which default to the shipped files under data/). Layout:
 *
 *   seed: 42
 *   grid: 5                    # weight vectors: (a,b,c) in {1/(g+1)..g/(g+1)}^3, a+b+c = 1
 *   weights: [0, 4]            # optional: indices into the weight vectors (default: all)
 *   directions: [1, 2, 3, 4, 5, 6]   # 1..6 as 3 bits; [] runs the weighted-sum SGD only
 *   threads: 0                 # threads per process (at most 2); 0 = 1 under MPI, the cores alone
 *   data:    {train: ..., test: ..., max_bad_row_fraction: 0.001}
 *   output:  {dir: results/fig5, csv: fig5.csv}
 *   sgd:     {epochs: 30, batch_size: 256, lr: 0.001, momentum: 0.9}
 *   explore: {steps: 20, jacobian_fraction: 0.25, hvp_batch: 2048, damping: 0.1,
 *             momentum: 0.9, lr: 0.01, minres_max_iter: 100, minres_rtol: 1e-5}
 */
#ifndef PARETO_CONFIG_H
#define PARETO_CONFIG_H

#include <stdint.h>
#include "pareto/error.h"

#define CONFIG_PATH_MAX 1024
#define CONFIG_MAX_WEIGHTS 1024
#define CONFIG_NUM_DIRECTIONS 6

typedef struct {
    uint64_t seed;
    int grid;
    int n_weights_selected;               /* 0: all weight vectors */
    int weights_selected[CONFIG_MAX_WEIGHTS];
    int n_directions;                     /* 0: SGD only */
    int directions[CONFIG_NUM_DIRECTIONS];
    int threads;

    char train_path[CONFIG_PATH_MAX];
    char test_path[CONFIG_PATH_MAX];
    double max_bad_row_fraction;

    char out_dir[CONFIG_PATH_MAX];
    char csv_name[256];

    int sgd_epochs;
    int sgd_batch_size;
    double sgd_lr;
    double sgd_momentum;

    int explore_steps;
    double jacobian_fraction;
    int hvp_batch;
    double damping;
    double explore_momentum;
    double explore_lr;
    int minres_max_iter;
    double minres_rtol;
} pareto_config;

/* The paper's values. */
void config_defaults(pareto_config *cfg);

/* Reads path over the defaults and validates every value. Relative data and output paths are
 * taken relative to the current directory. On error: -1 and a message with the file, line and
 * column, the key, what was expected and what was found. */
int config_load(const char *path, pareto_config *cfg, pareto_error *err);

/* Number of weight vectors for grid g, g(g-1)/2: all (a,b,c)/(g+1) with a+b+c = g+1 and
 * each >= 1. Writes them (lexicographic order) when w is not NULL: w[3*i + k]. */
int config_weight_vectors(int grid, double *w);

/* Weight indices this run trains, in increasing order; returns their count. */
int config_selected_weights(const pareto_config *cfg, int *indices);

/* A canonical text of every value that affects results (not the output location, not the
 * thread count): equal texts mean equal results. */
void config_canonical(const pareto_config *cfg, char *buf, size_t len);

#endif
