/*
 * minres.c - MINRES for symmetric A x = b, matrix-free, no preconditioner, no shift.
 *
 * C. C. Paige and M. A. Saunders, "Solution of sparse indefinite systems of linear equations",
 * SIAM J. Numer. Anal. 12(4), 1975. The recurrences and the order of the stopping tests are
 * those of the Paige-Saunders code as distributed in SciPy (scipy.sparse.linalg.minres with
 * M = I and shift = 0):
 *
 *   Lanczos:   beta_{k+1} v_{k+1} = A v_k - alpha_k v_k - beta_k v_{k-1}
 *   QR of the tridiagonal T_k by Givens rotations (c_k, s_k), giving the diagonals gamma_k,
 *   delta_k, epsilon_k of R_k, and the updates
 *     w_k = (v_k - epsilon_k w_{k-2} - delta_k w_{k-1}) / gamma_k,   x_k = x_{k-1} + phi_k w_k,
 *   where phibar_{k+1} = s_k phibar_k estimates ||b - A x_k||.
 *
 * Vectors are `real`; every dot product and norm is accumulated in double and every scalar of
 * the recurrence is a double. eps is the machine epsilon of `real`, as SciPy uses the epsilon
 * of the vectors' dtype.
 *
 * Stop codes. minres_stop numbers the outcomes as LSQR does; SciPy's istop maps onto them as
 *   istop  0 (beta1 = 0)                     -> MINRES_X0_SOLVES
 *   istop -1 (beta2 = 0: b is an eigenvector,
 *             the first step solves exactly) -> MINRES_CONVERGED
 *   istop  1 (test1 <= rtol)                 -> MINRES_CONVERGED
 *   istop  2 (test2 <= rtol)                 -> MINRES_LEAST_SQUARES
 *   istop  1 (1 + test1 <= 1)                -> MINRES_EPS
 *   istop  2 (1 + test2 <= 1)                -> MINRES_LEAST_SQUARES_EPS
 *   istop  3 (||A|| ||x|| eps >= beta1)      -> MINRES_EPS
 *   istop  4 (Acond >= 0.1 / eps)            -> MINRES_COND_EPS
 *   istop  6 (itn >= maxiter)                -> MINRES_MAX_ITER
 *   ValueError('non-symmetric matrix')       -> MINRES_BREAKDOWN
 * and a NaN or Inf in any scalar, or in the next iterate, stops with MINRES_NONFINITE before
 * x is overwritten, so x always holds the last finite iterate. MINRES_COND_RTOL is not
 * produced: SciPy's MINRES has no user condition limit.
 */
#include "pareto/minres.h"

#include <float.h>
#include <math.h>

#ifdef PARETO_REAL_DOUBLE
#define REAL_EPS DBL_EPSILON
#define REAL_MAX DBL_MAX
#else
#define REAL_EPS ((double)FLT_EPSILON)
#define REAL_MAX ((double)FLT_MAX)
#endif

/* Vectors of the work buffer, each of length n. */
enum { WORK_R1, WORK_R2, WORK_Y, WORK_V, WORK_W, WORK_W1, WORK_W2, WORK_VECTORS };

const char *minres_stop_name(minres_stop stop)
{
    switch (stop) {
    case MINRES_X0_SOLVES: return "x0_solves";
    case MINRES_CONVERGED: return "converged";
    case MINRES_LEAST_SQUARES: return "least_squares";
    case MINRES_COND_RTOL: return "cond_rtol";
    case MINRES_EPS: return "eps";
    case MINRES_LEAST_SQUARES_EPS: return "least_squares_eps";
    case MINRES_COND_EPS: return "cond_eps";
    case MINRES_MAX_ITER: return "max_iter";
    case MINRES_BREAKDOWN: return "breakdown";
    case MINRES_NONFINITE: return "nonfinite";
    }
    return "unknown";
}

size_t minres_work_size(size_t n)
{
    return (size_t)WORK_VECTORS * n;
}

/* Sums in double over DOT_LANES interleaved partial sums, added up at the end: independent
 * sums let the compiler use vector registers and keep several additions in flight, where one
 * running sum would wait for each addition in turn (a few cycles per element). */
#define DOT_LANES 32

static double sum_lanes(const double *part)
{
    double s = 0.0;
    for (int k = 0; k < DOT_LANES; k++)
        s += part[k];
    return s;
}

/* a' b */
static double dot(size_t n, const real *restrict a, const real *restrict b)
{
    double part[DOT_LANES] = {0};
    size_t i = 0;
    for (; i + DOT_LANES <= n; i += DOT_LANES)
        for (int k = 0; k < DOT_LANES; k++)
            part[k] += (double)a[i + k] * (double)b[i + k];
    for (; i < n; i++)
        part[i % DOT_LANES] += (double)a[i] * (double)b[i];
    return sum_lanes(part);
}

/* ||x + phi w||^2 of the vector as it would be stored (rounded to real) */
static double updated_norm_sq(size_t n, const real *restrict x, double phi,
                              const real *restrict w)
{
    double part[DOT_LANES] = {0};
    size_t i = 0;
    for (; i + DOT_LANES <= n; i += DOT_LANES)
        for (int k = 0; k < DOT_LANES; k++) {
            double xi = (double)(real)((double)x[i + k] + phi * (double)w[i + k]);
            part[k] += xi * xi;
        }
    for (; i < n; i++) {
        double xi = (double)(real)((double)x[i] + phi * (double)w[i]);
        part[i % DOT_LANES] += xi * xi;
    }
    return sum_lanes(part);
}

static int all_finite(int count, const double *values)
{
    for (int i = 0; i < count; i++)
        if (!isfinite(values[i]))
            return 0;
    return 1;
}

minres_result minres_solve(size_t n, minres_matvec matvec, void *ctx, const real *b, real *x,
                           int has_x0, const minres_options *opts, real *work)
{
    minres_result res = {MINRES_X0_SOLVES, 0, 0.0, 0.0, 0.0, 0.0};
    const double eps = REAL_EPS;
    /* SciPy's defaults when no options (or a non-positive limit) are given. */
    const int max_iter = (opts && opts->max_iter > 0) ? opts->max_iter : (int)(5 * n);
    const double rtol = opts ? opts->rtol : 1e-5;

    real *r1 = work + (size_t)WORK_R1 * n;
    real *r2 = work + (size_t)WORK_R2 * n;
    real *y = work + (size_t)WORK_Y * n;
    real *v = work + (size_t)WORK_V * n;
    real *w = work + (size_t)WORK_W * n;
    real *w1 = work + (size_t)WORK_W1 * n;
    real *w2 = work + (size_t)WORK_W2 * n;

    /* r1 = b - A x0 (r1 = b when there is no initial guess, and x0 = 0). */
    if (has_x0) {
        matvec(ctx, x, r1);
        for (size_t i = 0; i < n; i++)
            r1[i] = b[i] - r1[i];
    } else {
        for (size_t i = 0; i < n; i++) {
            x[i] = 0;
            r1[i] = b[i];
        }
    }

    /* beta1^2 = r1' r1; with M = I, y = r1 and v_1 = r1 / beta1. */
    double beta1 = dot(n, r1, r1);
    double bnorm = sqrt(dot(n, b, b));
    if (!isfinite(beta1) || !isfinite(bnorm)) {
        res.stop = MINRES_NONFINITE;
        return res;
    }
    if (beta1 == 0.0)
        return res; /* x0 solves A x = b exactly */
    if (bnorm == 0.0) {
        /* b = 0 with a nonzero residual from x0: the solution is x = 0. */
        for (size_t i = 0; i < n; i++)
            x[i] = 0;
        return res;
    }
    beta1 = sqrt(beta1);

    double oldb = 0.0, beta = beta1, dbar = 0.0, epsln = 0.0;
    double phibar = beta1, rhs1 = beta1, rhs2 = 0.0, tnorm2 = 0.0;
    double gmax = 0.0, gmin = REAL_MAX, cs = -1.0, sn = 0.0;
    double anorm = 0.0, acond = 0.0, rnorm = beta1, test1 = INFINITY;
    int istop_eigen = 0; /* SciPy's istop = -1: beta2 = 0 after the first step */
    int stop = -1;       /* -1 while running, else a minres_stop */
    int itn = 0;

    for (size_t i = 0; i < n; i++) {
        r2[i] = r1[i];
        w[i] = 0;
        w2[i] = 0;
    }

    while (itn < max_iter) {
        itn++;

        /* v_k = y / beta_k, with y = r2 since M = I. */
        double s = 1.0 / beta;
        for (size_t i = 0; i < n; i++)
            v[i] = (real)(s * (double)r2[i]);

        /* y = A v_k - (beta_k / beta_{k-1}) r1. */
        matvec(ctx, v, y);
        if (itn >= 2) {
            double c = beta / oldb;
            for (size_t i = 0; i < n; i++)
                y[i] = (real)((double)y[i] - c * (double)r1[i]);
        }

        /* alpha_k = v_k' y;  y -= (alpha_k / beta_k) r2. */
        double alfa = dot(n, v, y);
        if (!isfinite(alfa)) {
            stop = MINRES_NONFINITE;
            break;
        }
        double c = alfa / beta;
        for (size_t i = 0; i < n; i++)
            y[i] = (real)((double)y[i] - c * (double)r2[i]);

        /* r1 <- r2, r2 <- y;  beta_{k+1} = ||r2||. */
        real *spare = r1;
        r1 = r2;
        r2 = y;
        y = spare;
        oldb = beta;
        double beta_sq = dot(n, r2, r2);
        if (!isfinite(beta_sq)) {
            stop = MINRES_NONFINITE;
            break;
        }
        if (beta_sq < 0.0) {
            stop = MINRES_BREAKDOWN; /* only reachable with an indefinite preconditioner */
            break;
        }
        beta = sqrt(beta_sq);
        tnorm2 += alfa * alfa + oldb * oldb + beta * beta;

        /* beta_2 = 0: the Krylov space is invariant and this step solves exactly. */
        if (itn == 1 && beta / beta1 <= 10.0 * eps)
            istop_eigen = 1;

        /* Previous rotation Q_{k-1}:
         *   [delta_k  epsln_{k+1}] = [cs  sn] [dbar_k   0        ]
         *   [gbar_k   dbar_{k+1} ]   [sn -cs] [alpha_k  beta_{k+1}] */
        double oldeps = epsln;
        double delta = cs * dbar + sn * alfa;
        double gbar = sn * dbar - cs * alfa;
        epsln = sn * beta;
        dbar = -cs * beta;
        double root = hypot(gbar, dbar);

        /* Next rotation Q_k: gamma_k = ||(gbar_k, beta_{k+1})||, phi_k = c_k phibar_k. */
        double gamma = fmax(hypot(gbar, beta), eps);
        cs = gbar / gamma;
        sn = beta / gamma;
        double phi = cs * phibar;
        double phibar_next = sn * phibar;
        double scalars[] = {delta, gbar, epsln, dbar, root, gamma, cs, sn, phi, tnorm2};
        if (!all_finite((int)(sizeof scalars / sizeof scalars[0]), scalars)) {
            stop = MINRES_NONFINITE;
            break;
        }
        phibar = phibar_next;

        /* w_k = (v_k - epsln_k w_{k-2} - delta_k w_{k-1}) / gamma_k, written over w_{k-2}. */
        double denom = 1.0 / gamma;
        for (size_t i = 0; i < n; i++)
            w1[i] = (real)(((double)v[i] - oldeps * (double)w2[i] - delta * (double)w[i])
                           * denom);
        real *w_new = w1;
        w1 = w2;
        w2 = w;
        w = w_new;

        /* x_k = x_{k-1} + phi_k w_k: ||x_k|| first, so that a non-finite x_k is never stored. */
        double ynorm_sq = updated_norm_sq(n, x, phi, w);
        if (!isfinite(ynorm_sq)) {
            stop = MINRES_NONFINITE;
            break;
        }
        for (size_t i = 0; i < n; i++)
            x[i] = (real)((double)x[i] + phi * (double)w[i]);

        gmax = fmax(gmax, gamma);
        gmin = fmin(gmin, gamma);
        double z = rhs1 / gamma;
        rhs1 = rhs2 - delta * z;
        rhs2 = -epsln * z;

        /* Estimates: ||A|| from T_k, ||r_k|| = phibar_{k+1}, cond(A) from diag(R_k). */
        anorm = sqrt(tnorm2);
        double ynorm = sqrt(ynorm_sq);
        double epsx = anorm * ynorm * eps;
        rnorm = phibar;
        test1 = (ynorm == 0.0 || anorm == 0.0) ? INFINITY : rnorm / (anorm * ynorm);
        double test2 = (anorm == 0.0) ? INFINITY : root / anorm;
        acond = gmax / gmin;

        if (istop_eigen) {
            stop = MINRES_CONVERGED;
            break;
        }

        /* Stopping tests in SciPy's order; a later test overrides an earlier one. */
        int code = -1;
        if (1.0 + test2 <= 1.0)
            code = MINRES_LEAST_SQUARES_EPS;
        if (1.0 + test1 <= 1.0)
            code = MINRES_EPS;
        if (itn >= max_iter)
            code = MINRES_MAX_ITER;
        if (acond >= 0.1 / eps)
            code = MINRES_COND_EPS;
        if (epsx >= beta1)
            code = MINRES_EPS;
        if (test2 <= rtol)
            code = MINRES_LEAST_SQUARES;
        if (test1 <= rtol)
            code = MINRES_CONVERGED;
        if (code >= 0) {
            stop = code;
            break;
        }
    }

    /* The loop only ends without a code when max_iter <= 0 iterations were allowed. */
    res.stop = stop >= 0 ? (minres_stop)stop : MINRES_MAX_ITER;
    res.iterations = itn;
    res.rnorm = rnorm;
    res.rel_resid = test1;
    res.anorm = anorm;
    res.acond = acond;
    return res;
}
