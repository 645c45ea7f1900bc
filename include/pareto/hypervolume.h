/*
 * hypervolume.h - the exact hypervolume of a 3-D point set, and its non-dominated points.
 *
 * Every objective is minimised. Points are rows of a (n, 3) row-major array. A point p
 * dominates q when p_k <= q_k for every k and p != q. The hypervolume with respect to a
 * reference point r is the volume of the union of the boxes [p, r] over the points p that
 * strictly dominate r (p_k < r_k for every k); the other points add nothing and are ignored.
 * Dominated and repeated points add nothing either, so the hypervolume of a set equals that
 * of its non-dominated points.
 */
#ifndef PARETO_HYPERVOLUME_H
#define PARETO_HYPERVOLUME_H

#include <stddef.h>
#include "pareto/error.h"

#define HV_DIM 3

/* Sets *volume to the hypervolume of points (n, 3) with respect to ref. Exact up to float64
 * rounding: slices along the third objective and sweeps a 2-D staircase in each slice,
 * O(n^2) time, O(n) memory. Returns 0, or -1 (err filled) if a coordinate of a point or of
 * ref is not finite, or if memory runs out. n may be 0 (volume 0). */
int hypervolume_3d(const double *points, size_t n, const double ref[HV_DIM], double *volume,
                   pareto_error *err);

/* Marks the non-dominated points: nondominated[i] = 1 when no point of the set dominates point
 * i, else 0. Copies of one point count once: only the first copy in input order is marked.
 * Returns the number of marked points. O(n^2) comparisons; allocates nothing. */
size_t pareto_nondominated(const double *points, size_t n, unsigned char *nondominated);

#endif
