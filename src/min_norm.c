/*
 * min_norm.c - MGDA weights by exact active-set enumeration over the faces of the simplex.
 *
 * The problem  min_alpha alpha^T G alpha  s.t.  alpha >= 0, 1^T alpha = 1  is a convex quadratic
 * over the simplex, so its minimum is attained in the relative interior of some face
 * F_S = {alpha : alpha_i = 0 for i not in S}. On that face the minimiser satisfies the KKT system
 *
 *     [ G_SS  1 ] [ a  ]   [ 0 ]
 *     [ 1^T   0 ] [ nu ] = [ 1 ],       nu = -lambda / 2 for the multiplier lambda of 1^T a = 1,
 *
 * and a >= 0. With m <= MIN_NORM_MAX_M = 8 there are at most 2^m - 1 = 255 faces, each a solve
 * of order at most 9, so every face is tried and the best feasible candidate is the exact
 * minimiser (up to rounding). No iteration count or tolerance on optimality is involved.
 */
#include "pareto/min_norm.h"

#include <math.h>

#define KKT_MAX (MIN_NORM_MAX_M + 1)

/* A pivot below this times the largest |entry| of the (scaled) KKT matrix counts as zero. */
#define PIVOT_RTOL 1e-12
/* A face solution with a_i >= -NEG_TOL is feasible up to rounding (then clipped to 0). */
#define NEG_TOL 1e-10
/* A later candidate replaces the best only if lower by more than this (relative to max G_ii). */
#define TIE_RTOL 1e-13

/* Solves the k x k system A z = rhs (A row-major, destroyed) by Gaussian elimination with partial
 * pivoting. Returns -1 if a pivot is below tol (numerically singular), else 0. */
static int solve_dense(int k, double *a, double *rhs, double tol)
{
    for (int col = 0; col < k; col++) {
        /* Pivot: the row with the largest |a_{r,col}|, r >= col. */
        int piv = col;
        for (int r = col + 1; r < k; r++)
            if (fabs(a[r * k + col]) > fabs(a[piv * k + col]))
                piv = r;
        if (!(fabs(a[piv * k + col]) > tol))
            return -1;
        if (piv != col) {
            for (int c = 0; c < k; c++) {
                double t = a[col * k + c];
                a[col * k + c] = a[piv * k + c];
                a[piv * k + c] = t;
            }
            double t = rhs[col];
            rhs[col] = rhs[piv];
            rhs[piv] = t;
        }

        /* Eliminate below the pivot. */
        for (int r = col + 1; r < k; r++) {
            double f = a[r * k + col] / a[col * k + col];
            for (int c = col; c < k; c++)
                a[r * k + c] -= f * a[col * k + c];
            rhs[r] -= f * rhs[col];
        }
    }

    /* Back substitution. */
    for (int r = k - 1; r >= 0; r--) {
        double s = rhs[r];
        for (int c = r + 1; c < k; c++)
            s -= a[r * k + c] * rhs[c];
        rhs[r] = s / a[r * k + r];
    }
    return 0;
}

static double quad_form(int m, const double *gram, const double *alpha)
{
    double q = 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            q += alpha[i] * gram[i * m + j] * alpha[j];
    return q;
}

static int popcount(unsigned v)
{
    int c = 0;
    for (; v; v &= v - 1)
        c++;
    return c;
}

/* The minimiser of alpha^T G alpha on the affine hull of face `mask`, if it is nondegenerate
 * and (up to rounding) inside the face: fills alpha (length m, zeros off the face) and
 * returns 0; else returns -1. g is G scaled so that max_i G_ii = 1. */
static int face_candidate(int m, const double *g, unsigned mask, double *alpha)
{
    int idx[MIN_NORM_MAX_M];
    int k = 0;
    for (int i = 0; i < m; i++)
        if (mask & (1u << i))
            idx[k++] = i;

    /* [G_SS 1; 1^T 0] [a; nu] = [0; 1]. */
    int order = k + 1;
    double kkt[KKT_MAX * KKT_MAX];
    double rhs[KKT_MAX];
    double scale = 1.0;
    for (int r = 0; r < k; r++) {
        for (int c = 0; c < k; c++) {
            double v = g[idx[r] * m + idx[c]];
            kkt[r * order + c] = v;
            scale = fmax(scale, fabs(v));
        }
        kkt[r * order + k] = 1.0;
        kkt[k * order + r] = 1.0;
        rhs[r] = 0.0;
    }
    kkt[k * order + k] = 0.0;
    rhs[k] = 1.0;

    /* A singular KKT system is skipped. This loses nothing: singularity means some d != 0 with
     * 1^T d = 0 and G_SS d + t 1 = 0, so d^T G_SS d = -t 1^T d = 0 and, G being positive
     * semidefinite, G_SS d = 0. The objective is then constant along d within the face, and
     * moving a minimiser along d until a coordinate reaches 0 gives an equally good minimiser on
     * a smaller face, which is enumerated separately (vertices always have a regular system). */
    if (solve_dense(order, kkt, rhs, PIVOT_RTOL * scale) != 0)
        return -1;

    /* Feasible only if a >= 0 up to rounding; clip and renormalise onto the simplex. */
    double sum = 0.0;
    for (int r = 0; r < k; r++) {
        if (!isfinite(rhs[r]) || rhs[r] < -NEG_TOL)
            return -1;
        rhs[r] = fmax(rhs[r], 0.0);
        sum += rhs[r];
    }
    if (!(sum > 0.0))
        return -1;
    for (int i = 0; i < m; i++)
        alpha[i] = 0.0;
    for (int r = 0; r < k; r++)
        alpha[idx[r]] = rhs[r] / sum;
    return 0;
}

int min_norm_from_gram(int m, const double *gram, double *alpha, min_norm_info *info)
{
    if (m < 1 || m > MIN_NORM_MAX_M)
        return -1;
    double gmax = 0.0;
    for (int i = 0; i < m * m; i++)
        if (!isfinite(gram[i]))
            return -1;
    for (int i = 0; i < m; i++)
        gmax = fmax(gmax, gram[i * m + i]);

    /* All vectors zero (G PSD with zero diagonal is zero): any alpha is optimal; take e_0. */
    if (!(gmax > 0.0)) {
        for (int i = 0; i < m; i++)
            alpha[i] = i == 0 ? 1.0 : 0.0;
        if (info) {
            info->iterations = 0;
            info->norm_sq = 0.0;
        }
        return 0;
    }

    /* Scale G so that max_i G_ii = 1: the minimiser is unchanged and the pivot test relative. */
    double g[MIN_NORM_MAX_M * MIN_NORM_MAX_M];
    for (int i = 0; i < m * m; i++)
        g[i] = gram[i] / gmax;

    /* Faces in order of size, then of mask, so that ties go to the smaller, earlier face. */
    double best[MIN_NORM_MAX_M], cand[MIN_NORM_MAX_M];
    double best_q = INFINITY;
    int faces = 0;
    unsigned nmask = 1u << m;
    for (int size = 1; size <= m; size++) {
        for (unsigned mask = 1; mask < nmask; mask++) {
            if (popcount(mask) != size)
                continue;
            faces++;
            if (face_candidate(m, g, mask, cand) != 0)
                continue;
            /* Candidate value q = alpha^T G alpha, evaluated at the feasible point itself. */
            double q = quad_form(m, g, cand);
            if (q < best_q - TIE_RTOL) {
                best_q = q;
                for (int i = 0; i < m; i++)
                    best[i] = cand[i];
            }
        }
    }

    /* Every vertex gives a regular KKT system with a = 1, so best is always set. */
    for (int i = 0; i < m; i++)
        alpha[i] = best[i];
    if (info) {
        info->iterations = faces;
        info->norm_sq = fmax(quad_form(m, gram, alpha), 0.0);
    }
    return 0;
}

int min_norm_weights(int m, size_t n, const real *vecs, double *alpha, min_norm_info *info)
{
    if (m < 1 || m > MIN_NORM_MAX_M)
        return -1;

    /* G_ij = g_i . g_j, accumulated in double. */
    double gram[MIN_NORM_MAX_M * MIN_NORM_MAX_M];
    for (int i = 0; i < m; i++) {
        for (int j = i; j < m; j++) {
            const real *gi = vecs + (size_t)i * n;
            const real *gj = vecs + (size_t)j * n;
            double s = 0.0;
            for (size_t t = 0; t < n; t++)
                s += (double)gi[t] * (double)gj[t];
            gram[i * m + j] = s;
            gram[j * m + i] = s;
        }
    }
    return min_norm_from_gram(m, gram, alpha, info);
}
