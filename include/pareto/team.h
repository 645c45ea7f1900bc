/*
 * team.h - a fixed set of threads that run the independent parts of one unit of work.
 *
 * team_run(t, parts, fn, ctx) calls fn(ctx, part) for every part in 0..parts-1 and returns
 * when all have finished. Thread w (the caller is thread 0) runs parts w, w + threads,
 * w + 2 threads, ...; a part must write only its own output, so that what is computed never
 * depends on how many threads there are or which one ran a part. A team of one thread (or a
 * NULL team) runs the parts in order in the caller.
 *
 * Between runs the workers spin briefly, then sleep on a condition variable, so that a run
 * that follows closely on the last one starts within microseconds.
 */
#ifndef PARETO_TEAM_H
#define PARETO_TEAM_H

#include "pareto/error.h"

typedef struct team team;
typedef void (*team_part)(void *ctx, int part);

/* threads >= 1 (the caller counts as one). */
team *team_new(int threads, pareto_error *err);
void team_free(team *t);
int team_threads(const team *t);
void team_run(team *t, int parts, team_part fn, void *ctx);

#endif
