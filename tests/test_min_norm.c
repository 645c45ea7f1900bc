/*
 * test_min_norm.c - MGDA min-norm weights against hand-solved cases, a brute-force grid over
 * the 2-simplex, the m = 2 closed form and a projected-gradient reference (float64 build).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pareto/min_norm.h"

#define MAX_N 50
#define GRID 2000 /* brute-force step 1/GRID over the 2-simplex */

static double uniform(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (double)((*state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void gram_of(int m, size_t n, const double *vecs, double *gram)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
            double s = 0.0;
            for (size_t t = 0; t < n; t++)
                s += vecs[i * n + t] * vecs[j * n + t];
            gram[i * m + j] = s;
        }
}

static double quad(int m, const double *gram, const double *alpha)
{
    double q = 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            q += alpha[i] * gram[i * m + j] * alpha[j];
    return q;
}

/* Checks alpha is on the simplex, info is consistent, and the simplex optimality conditions hold:
 * (G alpha)_i >= alpha^T G alpha for every i (no vertex direction descends). */
static void check_simplex_optimal(int m, const double *gram, const double *alpha,
                                  const min_norm_info *info, double tol)
{
    double sum = 0.0;
    for (int i = 0; i < m; i++) {
        assert_true(alpha[i] >= 0.0);
        sum += alpha[i];
    }
    assert_true(fabs(sum - 1.0) <= 1e-12);
    assert_true(info->iterations >= 1 && info->iterations <= (1 << m) - 1);
    double q = quad(m, gram, alpha);
    assert_true(fabs(info->norm_sq - q) <= 1e-12 * (1.0 + fabs(q)));
    for (int i = 0; i < m; i++) {
        double gi = 0.0;
        for (int j = 0; j < m; j++)
            gi += gram[i * m + j] * alpha[j];
        assert_true(gi >= q - tol);
    }
}

/* The grid minimiser of alpha^T G alpha over (a, b, 1 - a - b), a, b multiples of 1/GRID. */
static double brute_force_3(const double *gram, double *argmin)
{
    double best = INFINITY;
    for (int i = 0; i <= GRID; i++) {
        for (int j = 0; i + j <= GRID; j++) {
            double a[3] = {(double)i / GRID, (double)j / GRID, (double)(GRID - i - j) / GRID};
            double q = quad(3, gram, a);
            if (q < best) {
                best = q;
                for (int k = 0; k < 3; k++)
                    argmin[k] = a[k];
            }
        }
    }
    return best;
}

/* Euclidean projection of y onto the simplex (sort, then shift by the threshold tau). */
static void project_simplex(int m, double *y)
{
    double s[8];
    for (int i = 0; i < m; i++)
        s[i] = y[i];
    for (int i = 1; i < m; i++) /* insertion sort, descending */
        for (int j = i; j > 0 && s[j] > s[j - 1]; j--) {
            double t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    double cum = 0.0, tau = 0.0;
    for (int k = 0; k < m; k++) {
        cum += s[k];
        double t = (cum - 1.0) / (k + 1);
        if (s[k] - t > 0.0)
            tau = t;
    }
    for (int i = 0; i < m; i++)
        y[i] = fmax(y[i] - tau, 0.0);
}

/* Reference: projected gradient descent alpha <- P(alpha - 2 G alpha / L), L = 2 trace(G) >=
 * 2 lambda_max(G), run long enough that for these strongly convex cases it is at its limit. */
static void projected_gradient(int m, const double *gram, double *alpha)
{
    double trace = 0.0;
    for (int i = 0; i < m; i++) {
        trace += gram[i * m + i];
        alpha[i] = 1.0 / m;
    }
    double step = 1.0 / trace; /* 2 / L with L = 2 trace */
    for (int it = 0; it < 200000; it++) {
        double y[8];
        for (int i = 0; i < m; i++) {
            double gi = 0.0;
            for (int j = 0; j < m; j++)
                gi += gram[i * m + j] * alpha[j];
            y[i] = alpha[i] - step * gi;
        }
        project_simplex(m, y);
        for (int i = 0; i < m; i++)
            alpha[i] = y[i];
    }
}

/* Three 2-d vectors through min_norm_weights, with the Gram matrix recomputed here. */
static void solve_2d(const double vecs[6], double *alpha, double *gram, min_norm_info *info)
{
    assert_int_equal(min_norm_weights(3, 2, vecs, alpha, info), 0);
    gram_of(3, 2, vecs, gram);
    check_simplex_optimal(3, gram, alpha, info, 1e-12);
}

static void assert_alpha_near(int m, const double *alpha, const double *expected, double tol)
{
    for (int i = 0; i < m; i++)
        assert_true(fabs(alpha[i] - expected[i]) <= tol);
}

/* g1 = (0.1, 0), g2 = (1, 1), g3 = (1, -1). At alpha = e_1 the point is g1 and
 * g1.g1 = 0.01 <= g1.g2 = g1.g3 = 0.1, so no direction towards g2 or g3 descends: e_1 is optimal,
 * with value 0.01. It is unique: (1 - a) g1 = b g2 + c g3 forces b = c and 0.1 (1 - a) = 2b =
 * 1 - a, so a = 1. */
static void test_short_gradient_inside_gives_vertex(void **state)
{
    (void)state;
    const double vecs[6] = {0.1, 0.0, 1.0, 1.0, 1.0, -1.0};
    double alpha[3], gram[9], grid_alpha[3];
    min_norm_info info;
    solve_2d(vecs, alpha, gram, &info);

    const double expected[3] = {1.0, 0.0, 0.0};
    assert_alpha_near(3, alpha, expected, 1e-12);
    assert_true(fabs(info.norm_sq - 0.01) <= 1e-15);
    assert_true(info.norm_sq <= brute_force_3(gram, grid_alpha) + 1e-14);
    assert_alpha_near(3, grid_alpha, expected, 1e-3);
}

/* g1 = (2, 1), g2 = (-1, 1), g3 = (0.5, 4). The segment g1-g2 lies on y = 1 and crosses x = 0
 * at a g1 + (1 - a) g2 with 3a - 1 = 0: point (0, 1), alpha = (1/3, 2/3, 0), value 1. g3 is far:
 * g3.(0, 1) = 4 >= 1, so moving towards it does not descend. */
static void test_opposite_gradients_give_edge(void **state)
{
    (void)state;
    const double vecs[6] = {2.0, 1.0, -1.0, 1.0, 0.5, 4.0};
    double alpha[3], gram[9], grid_alpha[3];
    min_norm_info info;
    solve_2d(vecs, alpha, gram, &info);

    const double expected[3] = {1.0 / 3.0, 2.0 / 3.0, 0.0};
    assert_alpha_near(3, alpha, expected, 1e-12);
    assert_true(fabs(info.norm_sq - 1.0) <= 1e-12);
    assert_true(info.norm_sq <= brute_force_3(gram, grid_alpha) + 1e-14);
    assert_alpha_near(3, grid_alpha, expected, 1e-3);
}

/* g1 = (1, 0), g2 = (-1, 1), g3 = (-1, -1) surround the origin: a g1 + b g2 + c g3 = 0 with
 * a + b + c = 1 gives b = c, a = 2b, so alpha = (1/2, 1/4, 1/4) and the norm is 0. */
static void test_gradients_around_origin_give_interior_zero(void **state)
{
    (void)state;
    const double vecs[6] = {1.0, 0.0, -1.0, 1.0, -1.0, -1.0};
    double alpha[3], gram[9], grid_alpha[3];
    min_norm_info info;
    solve_2d(vecs, alpha, gram, &info);

    const double expected[3] = {0.5, 0.25, 0.25};
    assert_alpha_near(3, alpha, expected, 1e-12);
    assert_true(info.norm_sq <= 1e-15);
    assert_true(info.norm_sq <= brute_force_3(gram, grid_alpha) + 1e-14);
    assert_alpha_near(3, grid_alpha, expected, 1e-3);
}

/* g1 = g2 = (1, 2), g3 = (3, -1). The hull is the segment (1, 2) + t (2, -3); its nearest point
 * has (1, 2).(2, -3) + 13 t = 0, t = 4/13: point (21/13, 14/13), value 637/169 = 49/13. Only
 * alpha_1 + alpha_2 = 9/13 is determined; ties go to the smaller, earlier face {1, 3}. */
static void test_equal_gradients_split_deterministically(void **state)
{
    (void)state;
    const double vecs[6] = {1.0, 2.0, 1.0, 2.0, 3.0, -1.0};
    double alpha[3], gram[9], grid_alpha[3];
    min_norm_info info;
    solve_2d(vecs, alpha, gram, &info);

    assert_true(fabs(info.norm_sq - 49.0 / 13.0) <= 1e-12);
    assert_true(fabs(alpha[0] + alpha[1] - 9.0 / 13.0) <= 1e-12);
    assert_true(fabs(alpha[2] - 4.0 / 13.0) <= 1e-12);
    const double expected[3] = {9.0 / 13.0, 0.0, 4.0 / 13.0};
    assert_alpha_near(3, alpha, expected, 1e-12);
    assert_true(info.norm_sq <= brute_force_3(gram, grid_alpha) + 1e-14);
}

/* g1 = (1, 1), g2 = 3 g1, g3 = (-1, 2). The nearest point of segment g1-g3, (1, 1) + t (-2, 1)
 * with t = 1/5, is (0.6, 1.2), value 1.8; g2.(0.6, 1.2) = 5.4 >= 1.8. alpha = (4/5, 0, 1/5) is
 * unique since p = (a + 3b) g1 + c g3 with g1, g3 independent forces b = 0. */
static void test_parallel_gradients_use_shorter_one(void **state)
{
    (void)state;
    const double vecs[6] = {1.0, 1.0, 3.0, 3.0, -1.0, 2.0};
    double alpha[3], gram[9], grid_alpha[3];
    min_norm_info info;
    solve_2d(vecs, alpha, gram, &info);

    const double expected[3] = {0.8, 0.0, 0.2};
    assert_alpha_near(3, alpha, expected, 1e-12);
    assert_true(fabs(info.norm_sq - 1.8) <= 1e-12);
    assert_true(info.norm_sq <= brute_force_3(gram, grid_alpha) + 1e-14);
    assert_alpha_near(3, grid_alpha, expected, 1e-3);
}

/* m = 2: the minimiser of ||gamma g1 + (1 - gamma) g2||^2 is
 * gamma = clamp((g2 - g1).g2 / ||g1 - g2||^2, 0, 1). Random pairs plus g2 = 3 g1 (gamma = 1). */
static void test_two_gradients_match_closed_form(void **state)
{
    (void)state;
    uint64_t rng = 11;
    for (int trial = 0; trial < 200; trial++) {
        double vecs[2 * 5];
        size_t n = 5;
        for (size_t t = 0; t < n; t++) {
            vecs[t] = uniform(&rng) - 0.3;
            vecs[n + t] = trial == 0 ? 3.0 * vecs[t] : uniform(&rng) - 0.3;
        }
        double d2 = 0.0, num = 0.0;
        for (size_t t = 0; t < n; t++) {
            double d = vecs[n + t] - vecs[t];
            d2 += d * d;
            num += d * vecs[n + t];
        }
        double gamma = fmin(fmax(num / d2, 0.0), 1.0);

        double alpha[2], gram[4];
        min_norm_info info;
        assert_int_equal(min_norm_weights(2, n, vecs, alpha, &info), 0);
        gram_of(2, n, vecs, gram);
        check_simplex_optimal(2, gram, alpha, &info, 1e-12);
        assert_true(fabs(alpha[0] - gamma) <= 1e-10);
        if (trial == 0)
            assert_true(alpha[0] == 1.0);
    }
}

/* Random vectors g_k = c + s_k z_k in 50 dimensions: a shared component c and individual parts
 * of different sizes s_k, so that some weights are zero and some not. */
static void random_vectors(int m, size_t n, uint64_t *rng, double *vecs)
{
    double c[MAX_N];
    for (size_t t = 0; t < n; t++)
        c[t] = 0.6 * (uniform(rng) - 0.5);
    for (int k = 0; k < m; k++) {
        double s = 0.2 + 1.5 * uniform(rng);
        for (size_t t = 0; t < n; t++)
            vecs[k * n + t] = c[t] + s * (uniform(rng) - 0.5);
    }
}

/* m = 3, n = 50 against the brute-force grid. m <= n independent vectors make G positive
 * definite, so the minimiser is unique; the grid argmin lies within a few grid steps of it. */
static void test_random_three_gradients_match_brute_force(void **state)
{
    (void)state;
    uint64_t rng = 12;
    for (int trial = 0; trial < 5; trial++) {
        double vecs[3 * MAX_N], alpha[3], gram[9], grid_alpha[3];
        min_norm_info info;
        random_vectors(3, MAX_N, &rng, vecs);
        assert_int_equal(min_norm_weights(3, MAX_N, vecs, alpha, &info), 0);
        gram_of(3, MAX_N, vecs, gram);
        check_simplex_optimal(3, gram, alpha, &info, 1e-10);
        assert_int_equal(info.iterations, 7);

        double grid_q = brute_force_3(gram, grid_alpha);
        assert_true(info.norm_sq <= grid_q + 1e-12);
        assert_alpha_near(3, alpha, grid_alpha, 5e-3);
    }
}

/* m = 5, n = 50 against projected gradient descent. */
static void test_random_five_gradients_match_projected_gradient(void **state)
{
    (void)state;
    uint64_t rng = 13;
    for (int trial = 0; trial < 5; trial++) {
        double vecs[5 * MAX_N], alpha[5], gram[25], ref[5];
        min_norm_info info;
        random_vectors(5, MAX_N, &rng, vecs);
        assert_int_equal(min_norm_weights(5, MAX_N, vecs, alpha, &info), 0);
        gram_of(5, MAX_N, vecs, gram);
        check_simplex_optimal(5, gram, alpha, &info, 1e-10);
        assert_int_equal(info.iterations, 31);

        projected_gradient(5, gram, ref);
        assert_true(info.norm_sq <= quad(5, gram, ref) + 1e-12);
        assert_alpha_near(5, alpha, ref, 1e-6);
    }
}

static void test_single_gradient_gets_full_weight(void **state)
{
    (void)state;
    const double g[3] = {1.0, -2.0, 0.5};
    double alpha[1];
    min_norm_info info;
    assert_int_equal(min_norm_weights(1, 3, g, alpha, &info), 0);
    assert_true(alpha[0] == 1.0);
    assert_int_equal(info.iterations, 1);
    assert_true(fabs(info.norm_sq - 5.25) <= 1e-15);
}

static void test_out_of_range_m_or_nonfinite_gram_fails(void **state)
{
    (void)state;
    double alpha[MIN_NORM_MAX_M + 1], gram[81] = {0};
    min_norm_info info;
    assert_int_equal(min_norm_from_gram(0, gram, alpha, &info), -1);
    assert_int_equal(min_norm_from_gram(MIN_NORM_MAX_M + 1, gram, alpha, &info), -1);
    const double bad[4] = {1.0, NAN, NAN, 1.0};
    assert_int_equal(min_norm_from_gram(2, bad, alpha, &info), -1);
    const double inf[4] = {INFINITY, 0.0, 0.0, 1.0};
    assert_int_equal(min_norm_from_gram(2, inf, alpha, &info), -1);
}

/* m = 8 (255 faces): eight 2-d unit vectors at 45-degree steps surround the origin; by symmetry
 * the norm is 0, and every face is examined. */
static void test_eight_gradients_examine_all_faces(void **state)
{
    (void)state;
    double vecs[16], gram[64], alpha[8];
    for (int k = 0; k < 8; k++) {
        vecs[2 * k] = cos(k * atan(1.0));
        vecs[2 * k + 1] = sin(k * atan(1.0));
    }
    min_norm_info info;
    assert_int_equal(min_norm_weights(8, 2, vecs, alpha, &info), 0);
    gram_of(8, 2, vecs, gram);
    check_simplex_optimal(8, gram, alpha, &info, 1e-12);
    assert_int_equal(info.iterations, 255);
    assert_true(info.norm_sq <= 1e-15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_gradient_inside_gives_vertex),
        cmocka_unit_test(test_opposite_gradients_give_edge),
        cmocka_unit_test(test_gradients_around_origin_give_interior_zero),
        cmocka_unit_test(test_equal_gradients_split_deterministically),
        cmocka_unit_test(test_parallel_gradients_use_shorter_one),
        cmocka_unit_test(test_two_gradients_match_closed_form),
        cmocka_unit_test(test_random_three_gradients_match_brute_force),
        cmocka_unit_test(test_random_five_gradients_match_projected_gradient),
        cmocka_unit_test(test_single_gradient_gets_full_weight),
        cmocka_unit_test(test_out_of_range_m_or_nonfinite_gram_fails),
        cmocka_unit_test(test_eight_gradients_examine_all_faces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
