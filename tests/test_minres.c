/*
 * test_minres.c - MINRES against a dense direct solve, and its stop reasons (float64 build).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pareto/minres.h"

#define N 30

/* A dense symmetric operator; calls counts applications, nan_after > 0 makes the
 * nan_after-th and later applications return NaN. */
typedef struct {
    size_t n;
    const double *a; /* (n, n) row-major */
    int calls;
    int nan_after;
} dense_op;

static void dense_matvec(void *ctx, const real *x, real *y)
{
    dense_op *op = ctx;
    op->calls++;
    for (size_t i = 0; i < op->n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < op->n; j++)
            s += op->a[i * op->n + j] * x[j];
        y[i] = (op->nan_after > 0 && op->calls >= op->nan_after) ? NAN : s;
    }
}

/* xorshift64*: a fixed, platform-independent stream for the test matrices. */
static double uniform(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (double)((*state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

/* a = Q diag(eig) Q^T with Q a product of three random Householder reflections, so the
 * eigenvalues (and hence cond(A) = max|eig| / min|eig|) are known exactly. */
static void symmetric_with_eigenvalues(size_t n, const double *eig, uint64_t seed, double *a)
{
    uint64_t state = seed;
    memset(a, 0, n * n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i * n + i] = eig[i];
    double u[N];
    for (int h = 0; h < 3; h++) {
        double unorm2 = 0.0;
        for (size_t i = 0; i < n; i++) {
            u[i] = uniform(&state) - 0.5;
            unorm2 += u[i] * u[i];
        }
        /* a <- H a H with H = I - 2 u u^T / (u^T u): a - u p^T - p u^T with
         * p = (2/uu) a u - (2/uu)^2 (u^T a u / 2) u. */
        double c = 2.0 / unorm2;
        double p[N], uau = 0.0;
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += a[i * n + j] * u[j];
            p[i] = c * s;
            uau += u[i] * s;
        }
        for (size_t i = 0; i < n; i++)
            p[i] -= 0.5 * c * c * uau * u[i];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                a[i * n + j] -= u[i] * p[j] + p[i] * u[j];
    }
}

/* x = A^{-1} b by Gaussian elimination with partial pivoting, in double. */
static void dense_solve(size_t n, const double *a_in, const double *b, double *x)
{
    double a[N * N], r[N];
    memcpy(a, a_in, n * n * sizeof *a);
    memcpy(r, b, n * sizeof *r);
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t i = col + 1; i < n; i++)
            if (fabs(a[i * n + col]) > fabs(a[piv * n + col]))
                piv = i;
        for (size_t j = 0; j < n; j++) {
            double t = a[col * n + j];
            a[col * n + j] = a[piv * n + j];
            a[piv * n + j] = t;
        }
        double t = r[col];
        r[col] = r[piv];
        r[piv] = t;
        for (size_t i = col + 1; i < n; i++) {
            double f = a[i * n + col] / a[col * n + col];
            for (size_t j = col; j < n; j++)
                a[i * n + j] -= f * a[col * n + j];
            r[i] -= f * r[col];
        }
    }
    for (size_t i = n; i-- > 0;) {
        double s = r[i];
        for (size_t j = i + 1; j < n; j++)
            s -= a[i * n + j] * x[j];
        x[i] = s / a[i * n + i];
    }
}

static double norm2(size_t n, const double *v)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* ||b - A x|| / ||b||, recomputed from A itself rather than from MINRES's estimate. */
static double true_rel_residual(size_t n, const double *a, const double *b, const double *x)
{
    double r[N];
    for (size_t i = 0; i < n; i++) {
        double s = b[i];
        for (size_t j = 0; j < n; j++)
            s -= a[i * n + j] * x[j];
        r[i] = s;
    }
    return norm2(n, r) / norm2(n, b);
}

static double rel_error(size_t n, const double *x, const double *ref)
{
    double d[N];
    for (size_t i = 0; i < n; i++)
        d[i] = x[i] - ref[i];
    return norm2(n, d) / norm2(n, ref);
}

/* Eigenvalues 1..10 (SPD, cond 10) or +-(1..10) alternating in sign (indefinite, cond 10). */
static void test_eigenvalues(int indefinite, double *eig)
{
    for (int i = 0; i < N; i++) {
        double mag = 1.0 + 9.0 * i / (N - 1);
        eig[i] = (indefinite && i % 2) ? -mag : mag;
    }
}

/* Solves a random system with known cond(A) = 10 and compares with the dense solve.
 * With rtol = 1e-12, MINRES stops once ||r|| <= 1e-12 ||A||est ||x||, where ||A||est (the
 * Frobenius norm of the Lanczos tridiagonal) is at most sqrt(3 k) ||A|| after k <= 4n steps, so
 * ||x - x*|| / ||x*|| <= cond(A) sqrt(3 k) 1e-12 ~ 2e-10, plus rounding of order
 * cond(A) k 1e-16. The test allows 1e-8. */
static void check_against_dense(int indefinite, int with_x0, uint64_t seed)
{
    double eig[N], a[N * N], b[N], x[N], ref[N], work[7 * N];
    assert_true(minres_work_size(N) <= sizeof work / sizeof work[0]);
    test_eigenvalues(indefinite, eig);
    symmetric_with_eigenvalues(N, eig, seed, a);
    uint64_t state = seed + 17;
    for (int i = 0; i < N; i++)
        b[i] = uniform(&state) - 0.5;
    for (int i = 0; i < N; i++)
        x[i] = with_x0 ? uniform(&state) - 0.5 : 12345.0; /* ignored without x0 */
    dense_solve(N, a, b, ref);

    dense_op op = {N, a, 0, 0};
    minres_options opts = {4 * N, 1e-12};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, with_x0, &opts, work);

    assert_true(res.stop == MINRES_CONVERGED || res.stop == MINRES_EPS);
    assert_true(res.iterations > 0 && res.iterations < 4 * N);
    /* One application for r = b - A x0, then one per iteration. */
    assert_int_equal(op.calls, res.iterations + (with_x0 ? 1 : 0));
    assert_true(rel_error(N, x, ref) <= 1e-8);
    assert_true(true_rel_residual(N, a, b, x) <= 1e-10);
    assert_true(res.rel_resid <= 1e-12);
    /* ||A|| = 10 and cond(A) = 10; MINRES's estimates are within small factors of them. */
    assert_true(res.anorm >= 5.0 && res.anorm <= 10.0 * sqrt(3.0 * res.iterations));
    assert_true(res.acond >= 1.0 && res.acond <= 100.0);
}

static void test_spd_matches_dense_solve(void **state)
{
    (void)state;
    check_against_dense(0, 0, 1);
}

static void test_spd_with_initial_guess_matches_dense_solve(void **state)
{
    (void)state;
    check_against_dense(0, 1, 2);
}

static void test_indefinite_matches_dense_solve(void **state)
{
    (void)state;
    check_against_dense(1, 0, 3);
}

static void test_indefinite_with_initial_guess_matches_dense_solve(void **state)
{
    (void)state;
    check_against_dense(1, 1, 4);
}

/* A = diag(1..5 repeating), x0 integers, b = A x0 exactly: b - A x0 = 0 in floating point. */
static void test_exact_initial_guess_returns_at_once(void **state)
{
    (void)state;
    double a[N * N] = {0}, b[N], x[N], x0[N], work[7 * N];
    for (int i = 0; i < N; i++) {
        a[i * N + i] = 1 + i % 5;
        x0[i] = (double)(i % 7) - 3.0;
        b[i] = a[i * N + i] * x0[i];
        x[i] = x0[i];
    }
    dense_op op = {N, a, 0, 0};
    minres_options opts = {4 * N, 1e-12};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, 1, &opts, work);

    assert_int_equal(res.stop, MINRES_X0_SOLVES);
    assert_int_equal(res.iterations, 0);
    assert_int_equal(op.calls, 1);
    assert_memory_equal(x, x0, sizeof x);
    assert_false(isnan(res.rnorm) || isnan(res.rel_resid) || isnan(res.anorm)
                 || isnan(res.acond));
}

static void test_zero_rhs_without_guess_returns_zero(void **state)
{
    (void)state;
    double a[N * N] = {0}, b[N] = {0}, x[N], work[7 * N];
    for (int i = 0; i < N; i++) {
        a[i * N + i] = 1.0;
        x[i] = 99.0; /* contents ignored when has_x0 is 0 */
    }
    dense_op op = {N, a, 0, 0};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, 0, NULL, work);

    assert_int_equal(res.stop, MINRES_X0_SOLVES);
    assert_int_equal(res.iterations, 0);
    assert_int_equal(op.calls, 0);
    for (int i = 0; i < N; i++)
        assert_true(x[i] == 0.0);
}

/* As SciPy: b = 0 with a nonzero initial guess returns the exact solution x = 0 at once. */
static void test_zero_rhs_with_nonzero_guess_returns_zero(void **state)
{
    (void)state;
    double a[N * N] = {0}, b[N] = {0}, x[N], work[7 * N];
    for (int i = 0; i < N; i++) {
        a[i * N + i] = 2.0;
        x[i] = 1.0;
    }
    dense_op op = {N, a, 0, 0};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, 1, NULL, work);

    assert_int_equal(res.stop, MINRES_X0_SOLVES);
    assert_int_equal(res.iterations, 0);
    for (int i = 0; i < N; i++)
        assert_true(x[i] == 0.0);
}

/* Thirty distinct eigenvalues cannot be resolved to 1e-12 by a degree-3 polynomial. */
static void test_tight_iteration_limit_stops_with_max_iter(void **state)
{
    (void)state;
    double eig[N], a[N * N], b[N], x[N], work[7 * N];
    test_eigenvalues(0, eig);
    symmetric_with_eigenvalues(N, eig, 5, a);
    uint64_t rng = 6;
    for (int i = 0; i < N; i++)
        b[i] = uniform(&rng) - 0.5;
    dense_op op = {N, a, 0, 0};
    minres_options opts = {3, 1e-12};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, 0, &opts, work);

    assert_int_equal(res.stop, MINRES_MAX_ITER);
    assert_int_equal(res.iterations, 3);
    assert_int_equal(op.calls, 3);
    /* Three MINRES steps still reduce the residual, and the estimate matches the true one. */
    double rel = true_rel_residual(N, a, b, x);
    assert_true(rel < 1.0);
    assert_true(fabs(res.rnorm / norm2(N, b) - rel) <= 1e-10);
}

/* A = 2 I: b is an eigenvector, beta_2 = 0, and the first step gives x = b / 2 exactly. */
static void test_eigenvector_rhs_converges_in_one_step(void **state)
{
    (void)state;
    double a[N * N] = {0}, b[N], x[N], work[7 * N];
    uint64_t rng = 7;
    for (int i = 0; i < N; i++) {
        a[i * N + i] = 2.0;
        b[i] = uniform(&rng) - 0.5;
    }
    dense_op op = {N, a, 0, 0};
    minres_options opts = {4 * N, 1e-12};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, 0, &opts, work);

    assert_int_equal(res.stop, MINRES_CONVERGED);
    assert_int_equal(res.iterations, 1);
    for (int i = 0; i < N; i++)
        assert_true(fabs(x[i] - 0.5 * b[i]) <= 1e-14);
}

/* A = diag(1, 2, 3, ..., 0) is singular, but b has no component along the null vector e_n:
 * the system is consistent, and MINRES (started from 0, so staying in range(A)) converges to
 * its minimum-norm solution x = (b_1 / a_11, ..., b_{n-1} / a_{n-1,n-1}, 0). */
static void test_consistent_singular_system_converges_to_min_norm_solution(void **state)
{
    (void)state;
    double a[N * N] = {0}, b[N], x[N], work[7 * N];
    uint64_t rng = 8;
    for (int i = 0; i < N; i++) {
        a[i * N + i] = i < N - 1 ? 1.0 + i % 3 : 0.0;
        b[i] = i < N - 1 ? uniform(&rng) - 0.5 : 0.0;
    }
    dense_op op = {N, a, 0, 0};
    minres_options opts = {4 * N, 1e-12};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, 0, &opts, work);

    assert_true(res.stop == MINRES_CONVERGED || res.stop == MINRES_EPS);
    for (int i = 0; i < N - 1; i++)
        assert_true(fabs(x[i] - b[i] / a[i * N + i]) <= 1e-10);
    assert_true(x[N - 1] == 0.0);
}

static void check_nan_operator(int nan_after)
{
    double eig[N], a[N * N], b[N], x[N], work[7 * N];
    test_eigenvalues(1, eig);
    symmetric_with_eigenvalues(N, eig, 9, a);
    uint64_t rng = 10;
    for (int i = 0; i < N; i++)
        b[i] = uniform(&rng) - 0.5;
    dense_op op = {N, a, 0, nan_after};
    minres_options opts = {4 * N, 1e-12};
    minres_result res = minres_solve(N, dense_matvec, &op, b, x, 0, &opts, work);

    assert_int_equal(res.stop, MINRES_NONFINITE);
    assert_int_equal(res.iterations, nan_after);
    for (int i = 0; i < N; i++)
        assert_true(isfinite(x[i]));
    assert_false(isnan(res.rnorm) || isnan(res.rel_resid) || isnan(res.anorm)
                 || isnan(res.acond));
}

static void test_nan_from_first_operator_call_stops_nonfinite(void **state)
{
    (void)state;
    check_nan_operator(1);
}

/* The NaN appears at the fourth application: x keeps the third (finite) iterate. */
static void test_nan_from_later_operator_call_keeps_last_finite_iterate(void **state)
{
    (void)state;
    check_nan_operator(4);
}

static void test_stop_names_are_short_and_lowercase(void **state)
{
    (void)state;
    assert_string_equal(minres_stop_name(MINRES_X0_SOLVES), "x0_solves");
    assert_string_equal(minres_stop_name(MINRES_CONVERGED), "converged");
    assert_string_equal(minres_stop_name(MINRES_MAX_ITER), "max_iter");
    assert_string_equal(minres_stop_name(MINRES_NONFINITE), "nonfinite");
    assert_string_equal(minres_stop_name(MINRES_BREAKDOWN), "breakdown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spd_matches_dense_solve),
        cmocka_unit_test(test_spd_with_initial_guess_matches_dense_solve),
        cmocka_unit_test(test_indefinite_matches_dense_solve),
        cmocka_unit_test(test_indefinite_with_initial_guess_matches_dense_solve),
        cmocka_unit_test(test_exact_initial_guess_returns_at_once),
        cmocka_unit_test(test_zero_rhs_without_guess_returns_zero),
        cmocka_unit_test(test_zero_rhs_with_nonzero_guess_returns_zero),
        cmocka_unit_test(test_tight_iteration_limit_stops_with_max_iter),
        cmocka_unit_test(test_eigenvector_rhs_converges_in_one_step),
        cmocka_unit_test(test_consistent_singular_system_converges_to_min_norm_solution),
        cmocka_unit_test(test_nan_from_first_operator_call_stops_nonfinite),
        cmocka_unit_test(test_nan_from_later_operator_call_keeps_last_finite_iterate),
        cmocka_unit_test(test_stop_names_are_short_and_lowercase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
