/*
 * test_mlp.c - the network's derivatives against central finite differences, in float64.
 *
 * The networks are small and random (7 -> 5 -> 4 -> 3 heads, and 50 -> 136 -> 6 -> 3 heads,
 * wide enough for the vectorised tiles of the sparse layer plus a remainder); so is the
 * sparse batch. With a step
 * h = 1e-5, a central difference of a smooth function has truncation error ~h^2 * f''' ~ 1e-10
 * and rounding error ~eps * |f| / h ~ 1e-11, so agreement to a relative 1e-6 (of the largest
 * component) leaves a wide margin while any wrong term in a derivative (an error of order 1)
 * fails it. ReLU kinks would break the smoothness; with random parameters no pre-activation is
 * within 1e-5 of zero, which the test checks before trusting the differences.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pareto/mlp.h"

#define BATCH 6
#define NNZ 3
#define FD_STEP 1e-5
#define REL_TOL 1e-6

typedef struct {
    mlp_shape shape;
    size_t p;
    real *theta;
    uint16_t idx[BATCH * NNZ];
    float val[BATCH * NNZ];
    uint8_t labels[BATCH * 3];
    sparse_batch batch;
    mlp_workspace *ws;
} fixture;

static void draw(fixture *f, uint64_t seed);

/* Finite differences are only valid away from ReLU kinks: no pre-activation within 1e-3 of
 * zero, while the differences move them by less than 1e-4. */
static int preactivations_away_from_zero(const fixture *f)
{
    mlp_layout l = mlp_layout_of(&f->shape);
    const mlp_shape *s = &f->shape;
    for (int n = 0; n < BATCH; n++) {
        double z1[256], a1[256];
        for (int c = 0; c < s->h1; c++) {
            z1[c] = f->theta[l.b1 + c];
            for (int j = 0; j < NNZ; j++)
                z1[c] += f->val[n * NNZ + j] * f->theta[l.w1 + f->idx[n * NNZ + j] * s->h1 + c];
            if (fabs(z1[c]) <= 1e-3)
                return 0;
            a1[c] = z1[c] > 0 ? z1[c] : 0;
        }
        for (int c = 0; c < s->h2; c++) {
            double z2 = f->theta[l.b2 + c];
            for (int r = 0; r < s->h1; r++)
                z2 += a1[r] * f->theta[l.w2 + r * s->h2 + c];
            if (fabs(z2) <= 1e-3)
                return 0;
        }
    }
    return 1;
}

static int setup_shape(void **state, mlp_shape shape)
{
    fixture *f = calloc(1, sizeof *f);
    f->shape = shape;
    f->p = mlp_num_params(&f->shape);
    f->theta = malloc(f->p * sizeof(real));
    /* Draw networks and batches until none sits on a ReLU kink. */
    for (uint64_t seed = 7; seed < 200; seed++) {
        draw(f, seed);
        if (preactivations_away_from_zero(f))
            break;
    }
    f->batch = (sparse_batch){BATCH, NNZ, f->idx, f->val, f->labels};
    f->ws = mlp_workspace_new(&f->shape, BATCH);
    *state = f;
    return preactivations_away_from_zero(f) ? 0 : -1;
}

static void draw(fixture *f, uint64_t seed)
{
    mlp_shape shape = f->shape;
    rng_state rng;
    rng_seed(&rng, seed, 99, 0, 0);
    mlp_init(&f->shape, f->theta, &rng);
    /* Larger weights than the default init, so that the loss is far from flat. */
    for (size_t i = 0; i < f->p; i++)
        f->theta[i] *= 2.0;
    for (int n = 0; n < BATCH; n++) {
        /* Three distinct features per row, increasing, with values of either sign. */
        int third = shape.in / 3;
        int a = (int)rng_below(&rng, (uint64_t)third);
        int b = third + (int)rng_below(&rng, (uint64_t)third);
        int c = 2 * third + (int)rng_below(&rng, (uint64_t)(shape.in - 2 * third));
        f->idx[n * NNZ + 0] = (uint16_t)a;
        f->idx[n * NNZ + 1] = (uint16_t)b;
        f->idx[n * NNZ + 2] = (uint16_t)c;
        for (int j = 0; j < NNZ; j++)
            f->val[n * NNZ + j] = (float)(2.0 * rng_uniform(&rng) - 1.0) * 1.5f;
        for (int k = 0; k < 3; k++)
            f->labels[n * 3 + k] = (uint8_t)rng_below(&rng, 2);
    }
}

static int setup(void **state) { return setup_shape(state, (mlp_shape){7, 5, 4, 3}); }
static int setup_wide(void **state) { return setup_shape(state, (mlp_shape){50, 136, 6, 3}); }

static int teardown(void **state)
{
    fixture *f = *state;
    mlp_workspace_free(f->ws);
    free(f->theta);
    free(f);
    return 0;
}

/* sum_k w_k L_k at theta, from the evaluation path (independent of the backward code). */
static double weighted_loss(fixture *f, const real *theta, const double *w)
{
    double loss_sum[3] = {0};
    long correct[3] = {0};
    mlp_evaluate(&f->shape, theta, &f->batch, f->ws, loss_sum, correct);
    double total = 0;
    for (int k = 0; k < 3; k++)
        total += w[k] * loss_sum[k] / BATCH;
    return total;
}

static void random_vector(real *v, size_t n, uint64_t seed)
{
    rng_state rng;
    rng_seed(&rng, seed, 1, 2, 3);
    for (size_t i = 0; i < n; i++)
        v[i] = 2.0 * rng_uniform(&rng) - 1.0;
}

static double max_abs(const real *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

static double max_abs_diff(const real *a, const real *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static void fd_gradient(fixture *f, const double *w, real *grad_fd)
{
    real *t = malloc(f->p * sizeof(real));
    memcpy(t, f->theta, f->p * sizeof(real));
    for (size_t i = 0; i < f->p; i++) {
        real keep = t[i];
        t[i] = keep + FD_STEP;
        double up = weighted_loss(f, t, w);
        t[i] = keep - FD_STEP;
        double down = weighted_loss(f, t, w);
        t[i] = keep;
        grad_fd[i] = (up - down) / (2 * FD_STEP);
    }
    free(t);
}

static void test_weighted_gradient_matches_finite_differences(void **state)
{
    fixture *f = *state;
    double w[3] = {0.2, 0.5, 0.3};
    real *grad = malloc(f->p * sizeof(real)), *grad_fd = malloc(f->p * sizeof(real));
    double loss[3];
    mlp_weighted_grad(&f->shape, f->theta, &f->batch, w, f->ws, grad, loss);
    fd_gradient(f, w, grad_fd);
    double err = max_abs_diff(grad, grad_fd, f->p) / max_abs(grad_fd, f->p);
    print_message("weighted gradient: max relative deviation from FD %.2e\n", err);
    assert_true(err < REL_TOL);
    assert_true(max_abs(grad, f->p) > 1e-3);
    free(grad);
    free(grad_fd);
}

static void test_each_task_gradient_matches_finite_differences(void **state)
{
    fixture *f = *state;
    real *jac = calloc(3 * f->p, sizeof(real)), *grad_fd = malloc(f->p * sizeof(real));
    mlp_task_grads_add(&f->shape, f->theta, &f->batch, 1.0, f->ws, jac);
    for (int k = 0; k < 3; k++) {
        double w[3] = {0, 0, 0};
        w[k] = 1;
        fd_gradient(f, w, grad_fd);
        double err = max_abs_diff(jac + k * f->p, grad_fd, f->p) / max_abs(grad_fd, f->p);
        print_message("task %d gradient: max relative deviation from FD %.2e\n", k + 1, err);
        assert_true(err < REL_TOL);
    }
    free(jac);
    free(grad_fd);
}

static void test_task_gradients_accumulate_with_scale(void **state)
{
    fixture *f = *state;
    real *once = calloc(3 * f->p, sizeof(real)), *twice = calloc(3 * f->p, sizeof(real));
    mlp_task_grads_add(&f->shape, f->theta, &f->batch, 1.0, f->ws, once);
    mlp_task_grads_add(&f->shape, f->theta, &f->batch, 0.25, f->ws, twice);
    mlp_task_grads_add(&f->shape, f->theta, &f->batch, 0.75, f->ws, twice);
    assert_true(max_abs_diff(once, twice, 3 * f->p) < 1e-12 * max_abs(once, 3 * f->p));
    free(once);
    free(twice);
}

static void fd_hvp(fixture *f, const double *alpha, const real *v, real *hv_fd)
{
    real *t = malloc(f->p * sizeof(real)), *g_up = malloc(f->p * sizeof(real));
    real *g_down = malloc(f->p * sizeof(real));
    for (size_t i = 0; i < f->p; i++)
        t[i] = f->theta[i] + FD_STEP * v[i];
    mlp_weighted_grad(&f->shape, t, &f->batch, alpha, f->ws, g_up, NULL);
    for (size_t i = 0; i < f->p; i++)
        t[i] = f->theta[i] - FD_STEP * v[i];
    mlp_weighted_grad(&f->shape, t, &f->batch, alpha, f->ws, g_down, NULL);
    for (size_t i = 0; i < f->p; i++)
        hv_fd[i] = (g_up[i] - g_down[i]) / (2 * FD_STEP);
    free(t);
    free(g_up);
    free(g_down);
}

static void test_hvp_matches_finite_differences_of_gradient(void **state)
{
    fixture *f = *state;
    double alpha[3] = {0.5, 0.2, 0.3};
    real *v = malloc(f->p * sizeof(real)), *hv = malloc(f->p * sizeof(real));
    real *hv_fd = malloc(f->p * sizeof(real));
    mlp_hvp *h = mlp_hvp_new(&f->shape, BATCH);
    mlp_hvp_prepare(h, f->theta, &f->batch, alpha);
    /* Several directions through one prepared batch: the saved forward pass is reused. */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        random_vector(v, f->p, seed);
        mlp_hvp_apply(h, v, hv);
        fd_hvp(f, alpha, v, hv_fd);
        double err = max_abs_diff(hv, hv_fd, f->p) / max_abs(hv_fd, f->p);
        print_message("HVP direction %d: max relative deviation from FD %.2e\n", (int)seed,
                      err);
        assert_true(err < REL_TOL);
        assert_true(max_abs(hv, f->p) > 1e-3);
    }
    mlp_hvp_free(h);
    free(v);
    free(hv);
    free(hv_fd);
}

static void test_hvp_is_symmetric(void **state)
{
    fixture *f = *state;
    double alpha[3] = {0.3, 0.3, 0.4};
    real *u = malloc(f->p * sizeof(real)), *v = malloc(f->p * sizeof(real));
    real *hu = malloc(f->p * sizeof(real)), *hv = malloc(f->p * sizeof(real));
    random_vector(u, f->p, 11);
    random_vector(v, f->p, 12);
    mlp_hvp *h = mlp_hvp_new(&f->shape, BATCH);
    mlp_hvp_prepare(h, f->theta, &f->batch, alpha);
    mlp_hvp_apply(h, u, hu);
    mlp_hvp_apply(h, v, hv);
    double u_hv = 0, v_hu = 0;
    for (size_t i = 0; i < f->p; i++) {
        u_hv += u[i] * hv[i];
        v_hu += v[i] * hu[i];
    }
    assert_true(fabs(u_hv - v_hu) <= 1e-12 * (fabs(u_hv) + 1));
    mlp_hvp_free(h);
    free(u);
    free(v);
    free(hu);
    free(hv);
}

static void test_census_layout_has_158598_parameters(void **state)
{
    (void)state;
    mlp_shape s = mlp_census_shape();
    mlp_layout l = mlp_layout_of(&s);
    assert_int_equal(l.total, 158598);
    assert_int_equal(l.w2, 487 * 256 + 256);
    assert_int_equal(l.b3, l.total - 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_census_layout_has_158598_parameters),
        cmocka_unit_test_setup_teardown(test_weighted_gradient_matches_finite_differences,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_task_gradient_matches_finite_differences,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_gradients_accumulate_with_scale, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hvp_matches_finite_differences_of_gradient, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hvp_is_symmetric, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_gradient_matches_finite_differences,
                                        setup_wide, teardown),
        cmocka_unit_test_setup_teardown(test_each_task_gradient_matches_finite_differences,
                                        setup_wide, teardown),
        cmocka_unit_test_setup_teardown(test_hvp_matches_finite_differences_of_gradient,
                                        setup_wide, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
