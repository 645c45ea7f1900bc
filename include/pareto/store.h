/*
 * store.h - finished jobs saved under the run's output folder, for --resume.
 *
 *   <out_dir>/run.config            canonical text of the config the jobs were computed with
 *   <out_dir>/jobs/sgd_w<i>.csv     an SGD job's rows
 *   <out_dir>/jobs/sgd_w<i>.net     its network (float32 parameters, with a small header)
 *   <out_dir>/jobs/explore_w<i>_d<d>.csv   an exploration job's rows
 *
 * Every file is written to a temporary name and renamed, so a killed run leaves only complete
 * files. Only rank 0 writes them.
 */
#ifndef PARETO_STORE_H
#define PARETO_STORE_H

#include <stddef.h>
#include "pareto/config.h"
#include "pareto/error.h"
#include "pareto/real.h"
#include "pareto/results.h"

/* Prepares out_dir for a run: creates it and jobs/, checks it is writable, and compares or
 * writes run.config. resume: keep saved jobs (refuse if run.config differs); force: delete saved
 * jobs and the final CSV; neither: refuse if saved jobs or the final CSV exist. */
int store_prepare(const pareto_config *cfg, const char *csv_path, int resume, int force,
                  pareto_error *err);

/* 1 if the job's files are all present. direction 0 means the SGD job. */
int store_has_job(const pareto_config *cfg, int weight_index, int direction);

int store_save_rows(const pareto_config *cfg, int weight_index, int direction,
                    const result_row *rows, size_t n, pareto_error *err);
int store_load_rows(const pareto_config *cfg, int weight_index, int direction,
                    result_row **rows, size_t *n, pareto_error *err);
int store_save_network(const pareto_config *cfg, int weight_index, const real *theta,
                       size_t p, pareto_error *err);
int store_load_network(const pareto_config *cfg, int weight_index, real *theta, size_t p,
                       pareto_error *err);

#endif
