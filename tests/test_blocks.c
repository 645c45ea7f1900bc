/*
 * test_blocks.c - the blocked, threaded kernels of the jobs against the plain ones.
 *
 * Every SGD, Jacobian and HVP batch is cut into BATCH_BLOCKS blocks of rows, block s weighted by
 * its share n_s / n of the batch mean, and the blocks run on a team of threads. Two properties
 * are checked here, on the census-sized network (487 -> 256 -> 128 -> 3 x 2) and random sparse
 * rows:
 *
 * 1. The threads never change a bit: a team of 1 thread and a team of BATCH_BLOCKS threads give
 *    identical results (memcmp), since each block writes its own buffer and the buffers are
 *    added in block order. The same holds for the test pass, split by chunks.
 * 2. Blocking computes the same thing as the whole batch at once (mlp_hvp_apply,
 *    mlp_task_grads_add and mlp_weighted_grad, whose derivatives test_mlp checks against finite differences): the
 *    mean over the batch is the n_s / n weighted sum of the block means. In float32 the two
 *    differ only by the order of the additions. Each entry of these vectors is a sum of at
 *    most 2048 (rows) x 256 (hidden units) products; with the float32 unit roundoff
 *    u = 6e-8, reordering moves such a sum by at most about (terms) u |sum of |terms||, and
 *    in practice by ~sqrt(terms) u, i.e. a relative 1e-5 of the vector's norm at most here.
 *    The test asks for 1e-5 of the norm, while a block with a wrong weight (n_s instead of
 *    n_s / n, say) or a block left out is off by a relative 1e-2 or more (the damping term
 *    of the HVP dilutes the error; the Jacobian is off by about 1).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pareto/jobs.h"
#include "pareto/mlp.h"
#include "pareto/team.h"

#define MAX_ROWS 2048
#define NNZ 38
#define REL_TOL 1e-5

typedef struct {
    mlp_shape shape;
    size_t p;
    real *theta;
    uint16_t idx[MAX_ROWS * NNZ];
    float val[MAX_ROWS * NNZ];
    uint8_t labels[MAX_ROWS * 3];
} fixture;

/* Rows like the census data: 32 one-hot features, one from each of 32 ranges of 14, then 6
 * continuous values at features 448..453; labels at random. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->shape = mlp_census_shape();
    f->p = mlp_num_params(&f->shape);
    f->theta = malloc(f->p * sizeof(real));
    rng_state rng;
    rng_seed(&rng, 2020, 7, 0, 0);
    mlp_init(&f->shape, f->theta, &rng);
    for (int n = 0; n < MAX_ROWS; n++) {
        for (int j = 0; j < 32; j++) {
            f->idx[n * NNZ + j] = (uint16_t)(14 * j + (int)rng_below(&rng, 14));
            f->val[n * NNZ + j] = 1.0f;
        }
        for (int j = 0; j < 6; j++) {
            f->idx[n * NNZ + 32 + j] = (uint16_t)(448 + j);
            f->val[n * NNZ + 32 + j] = (float)(2.0 * rng_uniform(&rng) - 1.0);
        }
        for (int k = 0; k < 3; k++)
            f->labels[n * 3 + k] = (uint8_t)rng_below(&rng, 2);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->theta);
    free(f);
    return 0;
}

static sparse_batch rows_of(fixture *f, int first, int n)
{
    return (sparse_batch){n, NNZ, f->idx + first * NNZ, f->val + first * NNZ,
                          f->labels + first * 3};
}

static real *random_vector(size_t n, uint64_t seed)
{
    real *v = malloc(n * sizeof(real));
    rng_state rng;
    rng_seed(&rng, seed, 1, 2, 3);
    for (size_t i = 0; i < n; i++)
        v[i] = (real)(0.1 * (2.0 * rng_uniform(&rng) - 1.0));
    return v;
}

/* |a - b| / |b| in the 2-norm. */
static double relative_difference(const real *a, const real *b, size_t n)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        diff += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        norm += (double)b[i] * b[i];
    }
    return sqrt(diff / norm);
}

/* y = (H + damping I) v by the blocked operator on a team of `threads`. */
static void blocked_hvp(fixture *f, int threads, const sparse_batch *batch, const double *alpha,
                        real damping, const real *v, real *y)
{
    pareto_error err;
    team *t = team_new(threads, &err);
    assert_non_null(t);
    assert_int_equal(team_threads(t), threads);
    damped_hessian op;
    assert_int_equal(damped_hessian_init(&op, &f->shape, MAX_ROWS, t, &err), 0);
    damped_hessian_prepare(&op, f->theta, batch, alpha, damping);
    damped_hessian_apply(&op, v, y);
    damped_hessian_free(&op);
    team_free(t);
}

/* y = (H + damping I) v by one mlp_hvp over the whole batch. */
static void whole_hvp(fixture *f, const sparse_batch *batch, const double *alpha, real damping,
                      const real *v, real *y)
{
    mlp_hvp *h = mlp_hvp_new(&f->shape, batch->n);
    mlp_hvp_prepare(h, f->theta, batch, alpha);
    mlp_hvp_apply(h, v, y);
    for (size_t i = 0; i < f->p; i++)
        y[i] += damping * v[i];
    mlp_hvp_free(h);
}

static void check_hvp_blocks(fixture *f, int n)
{
    const double alpha[3] = {0.2, 0.3, 0.5};
    const real damping = 0.1f;
    sparse_batch batch = rows_of(f, 0, n);
    real *v = random_vector(f->p, 11);
    real *y1 = malloc(f->p * sizeof(real)), *y2 = malloc(f->p * sizeof(real));
    real *ref = malloc(f->p * sizeof(real));

    blocked_hvp(f, 1, &batch, alpha, damping, v, y1);
    blocked_hvp(f, BATCH_BLOCKS, &batch, alpha, damping, v, y2);
    whole_hvp(f, &batch, alpha, damping, v, ref);

    assert_memory_equal(y1, y2, f->p * sizeof(real));
    double rel = relative_difference(y1, ref, f->p);
    print_message("HVP of %d rows: blocked vs whole batch, relative difference %.2e\n", n, rel);
    assert_true(rel <= REL_TOL);
    free(v);
    free(y1);
    free(y2);
    free(ref);
}

static void test_blocked_hvp_of_2048_rows_matches_whole_batch_on_any_thread_count(void **state)
{
    check_hvp_blocks(*state, 2048);
}

static void test_blocked_hvp_of_odd_rows_weights_unequal_blocks(void **state)
{
    check_hvp_blocks(*state, 7);
}

static void test_blocked_hvp_of_one_row_leaves_an_empty_block(void **state)
{
    check_hvp_blocks(*state, 1);
}

/* A batch source over consecutive slices of the fixture's rows. */
typedef struct {
    fixture *f;
    int batch_rows, next;
    sparse_batch current;
} slices;

static const sparse_batch *next_slice(void *ctx)
{
    slices *s = ctx;
    s->current = rows_of(s->f, s->next * s->batch_rows, s->batch_rows);
    s->next++;
    return &s->current;
}

static void blocked_jacobian(fixture *f, int threads, int batch_rows, int n_batches, real *jac)
{
    pareto_error err;
    team *t = team_new(threads, &err);
    assert_non_null(t);
    explore_state st;
    assert_int_equal(explore_state_init(&st, &f->shape, batch_rows, 64, t, &err), 0);
    slices src = {f, batch_rows, 0, {0}};
    assert_int_equal(jacobian_average(&st, f->theta, next_slice, &src, n_batches, jac, &err), 0);
    assert_int_equal(src.next, n_batches);
    explore_state_free(&st);
    team_free(t);
}

static void check_jacobian_blocks(fixture *f, int batch_rows, int n_batches)
{
    size_t n = 3 * f->p;
    real *j1 = malloc(n * sizeof(real)), *j2 = malloc(n * sizeof(real));
    real *ref = calloc(n, sizeof(real));
    blocked_jacobian(f, 1, batch_rows, n_batches, j1);
    blocked_jacobian(f, BATCH_BLOCKS, batch_rows, n_batches, j2);

    mlp_workspace *ws = mlp_workspace_new(&f->shape, batch_rows);
    for (int b = 0; b < n_batches; b++) {
        sparse_batch batch = rows_of(f, b * batch_rows, batch_rows);
        mlp_task_grads_add(&f->shape, f->theta, &batch, (real)(1.0 / n_batches), ws, ref);
    }
    mlp_workspace_free(ws);

    assert_memory_equal(j1, j2, n * sizeof(real));
    for (int k = 0; k < 3; k++) {
        double rel = relative_difference(j1 + k * f->p, ref + k * f->p, f->p);
        print_message("Jacobian row %d, %d batches of %d: blocked vs whole batches, relative "
                      "difference %.2e\n", k, n_batches, batch_rows, rel);
        assert_true(rel <= REL_TOL);
    }
    free(j1);
    free(j2);
    free(ref);
}

static void test_blocked_jacobian_matches_whole_batches_on_any_thread_count(void **state)
{
    check_jacobian_blocks(*state, 256, 8);
}

static void test_blocked_jacobian_of_odd_batches_weights_unequal_blocks(void **state)
{
    check_jacobian_blocks(*state, 33, 5);
}

/* --- SGD steps ---------------------------------------------------------------------------- */

/* theta and velocity after `steps` SGD steps on consecutive batches, on a team of `threads`. */
static void blocked_sgd(fixture *f, int threads, int batch_rows, int steps, real *theta,
                        real *velocity)
{
    pareto_error err;
    team *t = team_new(threads, &err);
    assert_non_null(t);
    sgd_workspace sw;
    assert_int_equal(sgd_workspace_init(&sw, &f->shape, batch_rows, t, &err), 0);
    const double weight[3] = {0.5, 0.3, 0.2};
    memcpy(theta, f->theta, f->p * sizeof(real));
    memset(velocity, 0, f->p * sizeof(real));
    for (int i = 0; i < steps; i++) {
        sparse_batch batch = rows_of(f, i * batch_rows, batch_rows);
        sgd_step(&sw, theta, velocity, &batch, weight, 0.05, 0.9);
    }
    sgd_workspace_free(&sw);
    team_free(t);
}

static void check_sgd_blocks(fixture *f, int batch_rows, int steps)
{
    size_t p = f->p;
    real *theta1 = malloc(p * sizeof(real)), *vel1 = malloc(p * sizeof(real));
    real *theta2 = malloc(p * sizeof(real)), *vel2 = malloc(p * sizeof(real));
    blocked_sgd(f, 1, batch_rows, steps, theta1, vel1);
    blocked_sgd(f, BATCH_BLOCKS, batch_rows, steps, theta2, vel2);
    assert_memory_equal(theta1, theta2, p * sizeof(real));
    assert_memory_equal(vel1, vel2, p * sizeof(real));

    /* The same steps written out with the whole-batch gradient. */
    const double weight[3] = {0.5, 0.3, 0.2};
    real *theta = malloc(p * sizeof(real)), *vel = calloc(p, sizeof(real));
    real *grad = malloc(p * sizeof(real)), *step1 = malloc(p * sizeof(real));
    real *step_ref = malloc(p * sizeof(real));
    memcpy(theta, f->theta, p * sizeof(real));
    mlp_workspace *ws = mlp_workspace_new(&f->shape, batch_rows);
    for (int i = 0; i < steps; i++) {
        sparse_batch batch = rows_of(f, i * batch_rows, batch_rows);
        mlp_weighted_grad(&f->shape, theta, &batch, weight, ws, grad, NULL);
        for (size_t j = 0; j < p; j++) {
            vel[j] = (real)(0.9 * vel[j] + grad[j]);
            theta[j] -= (real)(0.05 * vel[j]);
        }
    }
    mlp_workspace_free(ws);
    /* compare the displacement theta - theta0, not theta itself, which would hide it */
    for (size_t j = 0; j < p; j++) {
        step1[j] = theta1[j] - f->theta[j];
        step_ref[j] = theta[j] - f->theta[j];
    }
    double rel_theta = relative_difference(step1, step_ref, p);
    double rel_vel = relative_difference(vel1, vel, p);
    print_message("%d SGD steps on batches of %d: blocked vs whole batch, relative difference "
                  "%.2e (theta - theta0), %.2e (velocity)\n", steps, batch_rows, rel_theta,
                  rel_vel);
    assert_true(rel_theta <= REL_TOL);
    assert_true(rel_vel <= REL_TOL);
    free(theta1);
    free(vel1);
    free(theta2);
    free(vel2);
    free(theta);
    free(vel);
    free(grad);
    free(step1);
    free(step_ref);
}

static void test_blocked_sgd_matches_whole_batches_on_any_thread_count(void **state)
{
    check_sgd_blocks(*state, 256, 4);
}

static void test_blocked_sgd_of_odd_batches_weights_unequal_blocks(void **state)
{
    check_sgd_blocks(*state, 33, 3);
}

static void test_blocked_sgd_of_one_row_leaves_an_empty_block(void **state)
{
    check_sgd_blocks(*state, 1, 3);
}

/* --- the test pass ------------------------------------------------------------------------ */

/* A test split of `rows` rows copied from the fixture's, in the loader's layout. */
static census_data synthetic_census(fixture *f, int rows)
{
    census_data d;
    memset(&d, 0, sizeof d);
    d.n_features = CENSUS_FEATURES;
    for (int c = 0; c < CENSUS_CONTINUOUS; c++)
        d.cont_feature[c] = (uint16_t)(448 + c);
    census_split *t = &d.test;
    t->n_rows = rows;
    t->onehot = malloc((size_t)rows * CENSUS_CATEGORICAL * sizeof *t->onehot);
    t->cont = malloc((size_t)rows * CENSUS_CONTINUOUS * sizeof *t->cont);
    t->labels = malloc((size_t)rows * CENSUS_TASKS);
    for (int n = 0; n < rows; n++) {
        int src = n % MAX_ROWS;
        for (int j = 0; j < CENSUS_CATEGORICAL; j++)
            t->onehot[n * CENSUS_CATEGORICAL + j] = f->idx[src * NNZ + j];
        for (int j = 0; j < CENSUS_CONTINUOUS; j++)
            t->cont[n * CENSUS_CONTINUOUS + j] = f->val[src * NNZ + 32 + j];
        memcpy(t->labels + n * CENSUS_TASKS, f->labels + src * 3, 3);
    }
    return d;
}

static void run_test_pass(census_data *d, fixture *f, int threads, double *loss, double *acc)
{
    pareto_error err;
    team *t = team_new(threads, &err);
    assert_non_null(t);
    test_evaluator ev;
    assert_int_equal(test_evaluator_init(&ev, d, &f->shape, t, &err), 0);
    evaluate_test(&ev, f->theta, loss, acc);
    test_evaluator_free(&ev);
    team_free(t);
}

/* 2 1/2 chunks of rows: both threads get work, and the last chunk is partial. */
static void test_test_pass_is_the_same_on_any_thread_count_and_matches_one_batch(void **state)
{
    fixture *f = *state;
    int rows = 2 * TEST_CHUNK + TEST_CHUNK / 2;
    census_data d = synthetic_census(f, rows);
    double loss1[3], acc1[3], loss2[3], acc2[3];
    run_test_pass(&d, f, 1, loss1, acc1);
    run_test_pass(&d, f, BATCH_BLOCKS, loss2, acc2);
    assert_memory_equal(loss1, loss2, sizeof loss1);
    assert_memory_equal(acc1, acc2, sizeof acc1);

    /* The same rows as one batch through mlp_evaluate. The products of a batch of another
     * height may round the float32 logits differently (OpenBLAS picks its kernels by shape),
     * so the mean losses agree to float32 precision: a relative 1e-6 is 16 u, while a chunk
     * counted twice or left out moves the mean by 1e-2 or more. */
    uint16_t *idx = malloc((size_t)rows * NNZ * sizeof *idx);
    float *val = malloc((size_t)rows * NNZ * sizeof *val);
    for (int n = 0; n < rows; n++) {
        memcpy(idx + n * NNZ, f->idx + (n % MAX_ROWS) * NNZ, NNZ * sizeof *idx);
        memcpy(val + n * NNZ, f->val + (n % MAX_ROWS) * NNZ, NNZ * sizeof *val);
    }
    sparse_batch all = {rows, NNZ, idx, val, d.test.labels};
    mlp_workspace *ws = mlp_workspace_new(&f->shape, rows);
    double loss_sum[3] = {0};
    long correct[3] = {0};
    mlp_evaluate(&f->shape, f->theta, &all, ws, loss_sum, correct);
    for (int k = 0; k < 3; k++) {
        double rel = fabs(loss1[k] - loss_sum[k] / rows) / loss1[k];
        print_message("task %d: test loss %.6f (one batch: relative difference %.1e), accuracy "
                      "%.4f (one batch %.4f)\n", k + 1, loss1[k], rel, acc1[k],
                      (double)correct[k] / rows);
        assert_true(rel <= 1e-6);
        assert_true(fabs(acc1[k] - (double)correct[k] / rows) <= 1.0 / rows);
    }
    mlp_workspace_free(ws);
    free(idx);
    free(val);
    census_free(&d);
}

/* --- the team itself --------------------------------------------------------------------- */

typedef struct {
    int runs[64];
} part_counts;

static void count_part(void *ctx, int part)
{
    part_counts *c = ctx;
    c->runs[part]++;
}

static void test_team_runs_every_part_exactly_once(void **state)
{
    pareto_error err;
    for (int threads = 1; threads <= 4; threads++) {
        team *t = team_new(threads, &err);
        assert_non_null(t);
        for (int parts = 0; parts <= 9; parts++) {
            for (int round = 0; round < 50; round++) {
                part_counts c = {{0}};
                team_run(t, parts, count_part, &c);
                for (int i = 0; i < 64; i++)
                    assert_int_equal(c.runs[i], i < parts ? 1 : 0);
            }
        }
        team_free(t);
    }
}

static void test_team_rejects_zero_threads(void **state)
{
    pareto_error err;
    assert_null(team_new(0, &err));
    assert_non_null(strstr(err.msg, "at least one thread"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_team_runs_every_part_exactly_once),
        cmocka_unit_test(test_team_rejects_zero_threads),
        cmocka_unit_test_setup_teardown(
            test_blocked_hvp_of_2048_rows_matches_whole_batch_on_any_thread_count, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_blocked_hvp_of_odd_rows_weights_unequal_blocks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_hvp_of_one_row_leaves_an_empty_block,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_blocked_jacobian_matches_whole_batches_on_any_thread_count, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_blocked_jacobian_of_odd_batches_weights_unequal_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_blocked_sgd_matches_whole_batches_on_any_thread_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_sgd_of_odd_batches_weights_unequal_blocks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_sgd_of_one_row_leaves_an_empty_block,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_test_pass_is_the_same_on_any_thread_count_and_matches_one_batch, setup,
            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
