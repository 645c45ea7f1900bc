/*
 * minres.h - MINRES for symmetric (possibly indefinite) systems A x = b, matrix-free.
 *
 * C. C. Paige and M. A. Saunders, "Solution of sparse indefinite systems of linear equations",
 * SIAM J. Numer. Anal. 12(4), 1975. The iteration, its stopping tests and its stop codes follow
 * the Paige-Saunders reference implementation as distributed in SciPy
 * (scipy.sparse.linalg.minres, no preconditioner, shift 0), so that the same operator and
 * right-hand side give the same iterates. The stop codes are numbered as in LSQR; minres.c
 * maps SciPy's istop values onto them.
 *
 * The solver sees A only through a callback; it knows nothing about networks.
 */
#ifndef PARETO_MINRES_H
#define PARETO_MINRES_H

#include <stddef.h>
#include "pareto/real.h"

/* y = A x for a symmetric A of order n. */
typedef void (*minres_matvec)(void *ctx, const real *x, real *y);

typedef enum {
    MINRES_X0_SOLVES = 0,     /* b - A x0 = 0: x0 is returned unchanged */
    MINRES_CONVERGED = 1,     /* relative residual below rtol */
    MINRES_LEAST_SQUARES = 2, /* a least-squares solution to rtol (A singular) */
    MINRES_COND_RTOL = 3,     /* estimated cond(A) too large for rtol */
    MINRES_EPS = 4,           /* converged to machine precision */
    MINRES_LEAST_SQUARES_EPS = 5,
    MINRES_COND_EPS = 6,      /* cond(A) beyond 0.1/eps */
    MINRES_MAX_ITER = 7,      /* iteration limit reached */
    MINRES_BREAKDOWN = 9,     /* beta < 0: A (or the preconditioner) is not symmetric */
    MINRES_NONFINITE = 10,    /* a NaN or Inf appeared in an iterate or a scalar */
} minres_stop;

typedef struct {
    int max_iter;  /* at most this many iterations (operator applications after A x0) */
    double rtol;   /* relative tolerance, 1e-5 as SciPy's default */
} minres_options;

typedef struct {
    minres_stop stop;
    int iterations;
    double rnorm;      /* estimate of ||b - A x|| */
    double rel_resid;  /* rnorm / (||A|| ||x||), SciPy's test1 */
    double anorm;      /* estimate of ||A|| */
    double acond;      /* estimate of cond(A) */
} minres_result;

const char *minres_stop_name(minres_stop stop);

/* Number of reals of scratch that minres_solve needs for order n. */
size_t minres_work_size(size_t n);

/* Solves A x = b. x holds the initial guess on entry (all zeros when has_x0 is 0, in which
 * case its contents are ignored) and the solution on exit. work has minres_work_size(n) reals. */
minres_result minres_solve(size_t n, minres_matvec matvec, void *ctx, const real *b, real *x,
                           int has_x0, const minres_options *opts, real *work);

#endif
