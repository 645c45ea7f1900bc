/*
 * jobs.h - the two kinds of job of a run, each a plain function call with its own inputs and
 * its own random stream:
 *
 *   SGD job (weight index i): weighted-sum SGD from the shared initial network, evaluating the
 *   test set after every epoch.
 *   Exploration job (i, d): continuous Pareto exploration from SGD job i's network along
 *   direction d (1..6), evaluating the test set after every step.
 *
 * Jobs print nothing; they report progress through an optional callback and fill result rows.
 */
#ifndef PARETO_JOBS_H
#define PARETO_JOBS_H

#include "pareto/census.h"
#include "pareto/config.h"
#include "pareto/error.h"
#include "pareto/mlp.h"
#include "pareto/results.h"

/* Called after each epoch or step with the row just filled; may be NULL. */
typedef void (*job_progress)(void *ctx, const result_row *row, int done, int total);

/* The network every SGD job starts from: drawn from the run's seed. */
void jobs_initial_params(const pareto_config *cfg, const mlp_shape *shape, real *theta);

/* rows has cfg->sgd_epochs entries. theta holds the start on entry and the result on exit. */
int sgd_job(const pareto_config *cfg, const census_data *data, int weight_index, real *theta,
            result_row *rows, job_progress progress, void *progress_ctx, pareto_error *err);

/* rows has cfg->explore_steps entries. theta holds SGD job i's network on entry and the last
 * step's network on exit. */
int explore_job(const pareto_config *cfg, const census_data *data, int weight_index,
                int direction, real *theta, result_row *rows, job_progress progress,
                void *progress_ctx, pareto_error *err);

#endif
