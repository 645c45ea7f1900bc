/* rng.c - xoshiro256** streams seeded through SplitMix64 (Blackman and Vigna, 2018). */
#include "pareto/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(rng_state *rng, uint64_t seed, uint64_t purpose, uint64_t weight_index,
              uint64_t direction)
{
    /* Mix each part of the identity in turn, so that nearby identities give unrelated streams. */
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ (purpose * 0xD1B54A32D192ED03ull);
    h = splitmix64(&x);
    x = h ^ (weight_index * 0xABC98388FB8FAC03ull);
    h = splitmix64(&x);
    x = h ^ (direction * 0x8CB92BA72F3D8DD7ull);
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(rng_state *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(rng_state *rng)
{
    return (double)(rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t rng_below(rng_state *rng, uint64_t bound)
{
    /* Rejection from the top of the range keeps every value equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do {
        r = rng_next(rng);
    } while (r >= limit);
    return r % bound;
}

void rng_shuffle(rng_state *rng, int32_t *perm, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(rng, i);
        int32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
