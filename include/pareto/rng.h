/*
 * rng.h - deterministic random streams (xoshiro256**, seeded through SplitMix64).
 *
 * Every job owns its stream, derived from the run's seed and the job's identity, so results
 * do not depend on which rank runs the job or how many ranks there are.
 */
#ifndef PARETO_RNG_H
#define PARETO_RNG_H

#include <stdint.h>
#include <stddef.h>

typedef struct {
    uint64_t s[4];
} rng_state;

/* Purposes of the streams a run uses; part of a stream's identity. */
enum {
    RNG_PURPOSE_INIT = 1,       /* the initial network parameters */
    RNG_PURPOSE_SGD = 2,        /* shuffling of the SGD loader */
    RNG_PURPOSE_JACOBIAN = 3,   /* shuffling of the exploration's 256-batch Jacobian loader */
    RNG_PURPOSE_HVP = 4,        /* shuffling of the exploration's HVP loader */
};

/* Seeds a stream from (seed, purpose, weight index, direction). */
void rng_seed(rng_state *rng, uint64_t seed, uint64_t purpose, uint64_t weight_index,
              uint64_t direction);
uint64_t rng_next(rng_state *rng);
/* Uniform double in [0, 1). */
double rng_uniform(rng_state *rng);
/* Unbiased integer in [0, bound). */
uint64_t rng_below(rng_state *rng, uint64_t bound);
/* Fisher-Yates shuffle of perm[0..n). */
void rng_shuffle(rng_state *rng, int32_t *perm, size_t n);

#endif
