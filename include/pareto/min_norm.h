/*
 * min_norm.h - MGDA weights: the point of the convex hull of m vectors nearest the origin.
 *
 * Finds alpha on the simplex (alpha >= 0, sum alpha = 1) minimising || sum_k alpha_k g_k ||^2
 * = alpha^T G alpha, where G is the Gram matrix of the vectors.
 */
#ifndef PARETO_MIN_NORM_H
#define PARETO_MIN_NORM_H

#include <stddef.h>
#include "pareto/real.h"

#define MIN_NORM_MAX_M 8

typedef struct {
    int iterations;  /* candidate faces examined or iterations taken; bounded */
    double norm_sq;  /* the minimum of alpha^T G alpha */
} min_norm_info;

/* From a Gram matrix gram (m, m), row-major, m <= MIN_NORM_MAX_M. Returns 0, or -1 if m is out
 * of range or gram holds a non-finite value. */
int min_norm_from_gram(int m, const double *gram, double *alpha, min_norm_info *info);

/* From m vectors of length n stored as rows of vecs (m, n); the Gram matrix is accumulated in
 * double precision. */
int min_norm_weights(int m, size_t n, const real *vecs, double *alpha, min_norm_info *info);

#endif
