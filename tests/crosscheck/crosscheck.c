/*
 * crosscheck.c - the C half of the cross-check against PyTorch and SciPy.
 *
 * Loads the shipped census data, draws one network (the float32 library's own init) and a
 * fixed set of training rows, computes every quantity the exploration and the SGD are made of
 * on those rows, and writes inputs and results to one exchange file. crosscheck.py reads the
 * file, recomputes each quantity independently (PyTorch autograd, SciPy's MINRES, its own
 * min-norm solver) from the same parameters and rows, and compares.
 *
 *   usage: crosscheck OUT.bin DATA_DIR
 *
 * Exchange file: a sequence of records, each
 *   char name[32] (NUL padded) | int32 type | int32 ndim | int64 dims[ndim] | data,
 * little-endian, row-major, type 0 = float32, 1 = float64, 2 = int32, 3 = uint16, 4 = uint8.
 * Parameters are written in this library's layout (mlp.h: weights input-major, (in, out)).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pareto/census.h"
#include "pareto/config.h"
#include "pareto/jobs.h"
#include "pareto/log.h"
#include "pareto/min_norm.h"
#include "pareto/minres.h"
#include "pareto/mlp.h"
#include "pareto/rng.h"

/* Sizes of the batches each check uses, and the SGD schedule position of check (f). */
enum {
    JAC_BATCH = 256,      /* (a), (c): per-task gradients and their min-norm weights */
    HVP_BATCH = 2048,     /* (b), (d), (e): the Hessian batch */
    N_HVP_VECTORS = 3,    /* (b): random directions */
    BEGIN_BATCHES = 4,    /* (e): batches averaged by explore_begin */
    STEP_BATCHES = 2,     /* (e): Jacobian batches of the step */
    SGD_STEPS = 2,        /* (f): consecutive SGD steps */
    EXPLORE_DIRECTION = 3, /* (d), (e): "011", tasks 2 and 3 */
    SHORT_MINRES_ITER = 5  /* (d), (e): the short solve, besides the paper's limit */
};
static const uint64_t CROSSCHECK_SEED = 20200712;
static const long SGD_TOTAL_STEPS = 30L * 779; /* the paper's 30 epochs of 779 batches */
static const long SGD_FIRST_STEP = 9000;       /* a point where the cosine is far from 0, 1 */

enum { T_F32 = 0, T_F64 = 1, T_I32 = 2, T_U16 = 3, T_U8 = 4 };
static const size_t type_size[] = {4, 8, 4, 2, 1};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("crosscheck: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("out of memory");
    return p;
}

/* Writes one record: name, type, shape (ndim entries of dims), then the data. */
static void put(FILE *f, const char *name, int type, int ndim, const int64_t *dims,
                const void *data)
{
    char padded[32] = {0};
    strncpy(padded, name, sizeof padded - 1);
    int32_t head[2] = {type, ndim};
    size_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= (size_t)dims[i];
    if (fwrite(padded, 1, 32, f) != 32 || fwrite(head, sizeof head, 1, f) != 1 ||
        fwrite(dims, sizeof *dims, (size_t)ndim, f) != (size_t)ndim ||
        fwrite(data, type_size[type], count, f) != count)
        die("cannot write record '%s' of the exchange file", name);
}

static void put1(FILE *f, const char *name, int type, int64_t n, const void *data)
{
    put(f, name, type, 1, &n, data);
}

static void put2(FILE *f, const char *name, int type, int64_t n0, int64_t n1, const void *data)
{
    int64_t dims[2] = {n0, n1};
    put(f, name, type, 2, dims, data);
}

/* Writes a batch as sparse rows: NAME_idx (n, nnz), NAME_val (n, nnz), NAME_y (n, tasks). */
static void put_batch(FILE *f, const char *name, const sparse_batch *b)
{
    char key[32];
    snprintf(key, sizeof key, "%s_idx", name);
    put2(f, key, T_U16, b->n, b->nnz, b->idx);
    snprintf(key, sizeof key, "%s_val", name);
    put2(f, key, T_F32, b->n, b->nnz, b->val);
    snprintf(key, sizeof key, "%s_y", name);
    put2(f, key, T_U8, b->n, CENSUS_TASKS, b->labels);
}

/* A batch of training rows rows[0..n). */
static void gather(const census_data *data, const int32_t *rows, int n, batch_buffer *b)
{
    pareto_error err;
    if (batch_buffer_init(b, n, &err) != 0)
        die("%s", err.msg);
    batch_gather(data, &data->train, rows, 0, n, b);
}

/* A batch_source over a fixed list of batches. */
typedef struct {
    batch_buffer *batches;
    int count, next;
} batch_list;

static const sparse_batch *batch_list_next(void *ctx)
{
    batch_list *list = ctx;
    if (list->next >= list->count)
        die("the exploration asked for more batches than were prepared");
    return &list->batches[list->next++].view;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: crosscheck OUT.bin DATA_DIR\n");
        return 2;
    }
    log_set_level(LOG_WARN);
    char train_path[1024], test_path[1024];
    snprintf(train_path, sizeof train_path, "%s/census-income.data.gz", argv[2]);
    snprintf(test_path, sizeof test_path, "%s/census-income.test.gz", argv[2]);
    census_data data;
    census_options copts = {.max_bad_row_fraction = 0.001, .verbose = 0};
    pareto_error err;
    if (census_load(train_path, test_path, &copts, &data, &err) != 0)
        die("%s", err.msg);

    pareto_config cfg;
    config_defaults(&cfg);
    mlp_shape shape = mlp_census_shape();
    size_t p = mlp_num_params(&shape);
    FILE *f = fopen(argv[1], "wb");
    if (!f)
        die("cannot open '%s' for writing", argv[1]);

    /* The network: the library's PyTorch-style uniform init from a fixed stream. */
    rng_state rng;
    rng_seed(&rng, CROSSCHECK_SEED, RNG_PURPOSE_INIT, 0, 0);
    real *theta0 = xmalloc(p * sizeof(real));
    mlp_init(&shape, theta0, &rng);
    int32_t dims[4] = {shape.in, shape.h1, shape.h2, shape.tasks};
    put1(f, "shape", T_I32, 4, dims);
    put1(f, "theta0", T_F32, (int64_t)p, theta0);
    double settings[4] = {cfg.damping, cfg.explore_momentum, cfg.explore_lr, cfg.minres_rtol};
    put1(f, "settings", T_F64, 4, settings);
    int32_t ints[2] = {cfg.minres_max_iter, EXPLORE_DIRECTION};
    put1(f, "settings_int", T_I32, 2, ints);

    /* Every batch is a disjoint slice of one fixed permutation of the training rows. */
    int n_train = data.train.n_rows;
    int32_t *perm = xmalloc((size_t)n_train * sizeof *perm);
    for (int i = 0; i < n_train; i++)
        perm[i] = i;
    rng_seed(&rng, CROSSCHECK_SEED, RNG_PURPOSE_SGD, 0, 0);
    rng_shuffle(&rng, perm, (size_t)n_train);
    const int32_t *next_rows = perm;

    /* (a) per-task gradients on a 256 batch: jac (3, P). */
    batch_buffer jac_batch;
    gather(&data, next_rows, JAC_BATCH, &jac_batch);
    next_rows += JAC_BATCH;
    mlp_workspace *ws = mlp_workspace_new(&shape, HVP_BATCH);
    if (!ws)
        die("out of memory for the workspace");
    real *jac = calloc(3 * p, sizeof(real));
    if (!jac)
        die("out of memory");
    mlp_task_grads_add(&shape, theta0, &jac_batch.view, 1, ws, jac);
    put_batch(f, "a", &jac_batch.view);
    put2(f, "a_jac", T_F32, 3, (int64_t)p, jac);

    /* (c) their min-norm weights. */
    double alpha_c[3];
    min_norm_info info;
    if (min_norm_weights(3, p, jac, alpha_c, &info) != 0)
        die("min_norm_weights failed");
    put1(f, "c_alpha", T_F64, 3, alpha_c);

    /* ... and of two derived triples whose minimum lies on the boundary of the simplex:
     * (J_1, J_2, 3 (J_1 + J_2)), and the collinear (J_1, 2 J_1, 3 J_1), minimum at J_1. */
    real *triple = xmalloc(3 * p * sizeof(real));
    double alpha_faces[6];
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < p; i++) {
            real g1 = jac[i], g2 = jac[p + i];
            triple[i] = g1;
            triple[p + i] = t == 0 ? g2 : 2 * g1;
            triple[2 * p + i] = t == 0 ? 3 * (g1 + g2) : 3 * g1;
        }
        if (min_norm_weights(3, p, triple, alpha_faces + 3 * t, &info) != 0)
            die("min_norm_weights failed on a derived triple");
    }
    put2(f, "c_alpha_faces", T_F64, 2, 3, alpha_faces);
    free(triple);

    /* (b) (H + damping I) v for random v on a 2048 batch, H the Hessian of sum alpha_k L_k. */
    batch_buffer hvp_batch;
    gather(&data, next_rows, HVP_BATCH, &hvp_batch);
    next_rows += HVP_BATCH;
    /* The operator and the exploration run on a team of BATCH_BLOCKS threads, as a process on
     * its own does. */
    team *team = team_new(BATCH_BLOCKS, &err);
    damped_hessian op;
    if (!team || damped_hessian_init(&op, &shape, HVP_BATCH, team, &err) != 0)
        die("%s", err.msg);
    const double alpha_b[3] = {0.2, 0.3, 0.5};
    damped_hessian_prepare(&op, theta0, &hvp_batch.view, alpha_b, (real)cfg.damping);
    real *vs = xmalloc(N_HVP_VECTORS * p * sizeof(real));
    real *hvs = xmalloc(N_HVP_VECTORS * p * sizeof(real));
    for (size_t i = 0; i < N_HVP_VECTORS * p; i++)
        vs[i] = (real)(2.0 * rng_uniform(&rng) - 1.0);
    for (int j = 0; j < N_HVP_VECTORS; j++)
        damped_hessian_apply(&op, vs + j * p, hvs + j * p);
    put_batch(f, "b", &hvp_batch.view);
    put1(f, "b_alpha", T_F64, 3, alpha_b);
    put2(f, "b_v", T_F32, N_HVP_VECTORS, (int64_t)p, vs);
    put2(f, "b_hv", T_F32, N_HVP_VECTORS, (int64_t)p, hvs);

    /* (d) MINRES on (H + damping I) x = J_2 + J_3 from x0 = mean_k J_k, with the Hessian of
     * the (c) weights on the (b) batch and J the (a) gradients: once with a few iterations
     * (where float32 iterates of two implementations still agree closely) and once with the
     * paper's limit. */
    damped_hessian_prepare(&op, theta0, &hvp_batch.view, alpha_c, (real)cfg.damping);
    real *rhs = xmalloc(p * sizeof(real)), *x0 = xmalloc(p * sizeof(real));
    real *x = xmalloc(p * sizeof(real));
    real *work = xmalloc(minres_work_size(p) * sizeof(real));
    for (size_t i = 0; i < p; i++) {
        rhs[i] = jac[p + i] + jac[2 * p + i];
        x0[i] = (real)(((double)jac[i] + jac[p + i] + jac[2 * p + i]) / 3.0);
    }
    put1(f, "d_x0", T_F32, (int64_t)p, x0);
    const int limits[2] = {SHORT_MINRES_ITER, cfg.minres_max_iter};
    int32_t d_iters[2], d_stops[2];
    double minres_s = 0;
    for (int run = 0; run < 2; run++) {
        memcpy(x, x0, p * sizeof(real));
        minres_options mopts = {limits[run], cfg.minres_rtol};
        double t0 = wall_seconds();
        minres_result mr = minres_solve(p, damped_hessian_apply, &op, rhs, x, 1, &mopts, work);
        minres_s = wall_seconds() - t0;
        d_iters[run] = mr.iterations;
        d_stops[run] = (int32_t)mr.stop;
        put1(f, run == 0 ? "d_short_x" : "d_x", T_F32, (int64_t)p, x);
    }
    put1(f, "d_limits", T_I32, 2, (const int32_t[]){limits[0], limits[1]});
    put1(f, "d_iterations", T_I32, 2, d_iters);
    put1(f, "d_stops", T_I32, 2, d_stops);

    /* (e) one exploration step from theta0: explore_begin on BEGIN_BATCHES batches, then
     * explore_step with STEP_BATCHES Jacobian batches and its own HVP batch; again with a
     * few MINRES iterations and with the paper's limit, each from a fresh state. */
    batch_buffer jac_batches[BEGIN_BATCHES + STEP_BATCHES], step_hvp_batch;
    for (int b = 0; b < BEGIN_BATCHES + STEP_BATCHES; b++) {
        gather(&data, next_rows, JAC_BATCH, &jac_batches[b]);
        next_rows += JAC_BATCH;
        char key[32];
        snprintf(key, sizeof key, "e_jac%d", b);
        put_batch(f, key, &jac_batches[b].view);
    }
    gather(&data, next_rows, HVP_BATCH, &step_hvp_batch);
    next_rows += HVP_BATCH;
    put_batch(f, "e_hvp", &step_hvp_batch.view);
    explore_state st;
    if (explore_state_init(&st, &shape, JAC_BATCH, HVP_BATCH, team, &err) != 0)
        die("%s", err.msg);
    real *theta = xmalloc(p * sizeof(real));
    int32_t e_iters[2], e_stops[2];
    for (int run = 0; run < 2; run++) {
        batch_list begin_list = {jac_batches, BEGIN_BATCHES, 0};
        batch_list step_list = {jac_batches + BEGIN_BATCHES, STEP_BATCHES, 0};
        pareto_config step_cfg = cfg;
        step_cfg.minres_max_iter = limits[run];
        memcpy(theta, theta0, p * sizeof(real));
        if (explore_begin(&st, theta, batch_list_next, &begin_list, BEGIN_BATCHES, &err) != 0)
            die("%s", err.msg);
        if (run == 0)
            put1(f, "e_alpha_begin", T_F64, 3, st.alpha_avg);
        minres_result emr;
        if (explore_step(&st, &step_cfg, EXPLORE_DIRECTION, theta, batch_list_next, &step_list,
                         STEP_BATCHES, &step_hvp_batch.view, &emr, &err) != 0)
            die("%s", err.msg);
        if (run == 0) {
            put1(f, "e_alpha", T_F64, 3, st.alpha);
            put1(f, "e_alpha_avg", T_F64, 3, st.alpha_avg);
        }
        put1(f, run == 0 ? "e_short_theta" : "e_theta", T_F32, (int64_t)p, theta);
        e_iters[run] = emr.iterations;
        e_stops[run] = (int32_t)emr.stop;
    }
    put1(f, "e_iterations", T_I32, 2, e_iters);
    put1(f, "e_stops", T_I32, 2, e_stops);

    /* (f) SGD_STEPS consecutive SGD steps with momentum and the cosine schedule, from theta0
     * with an empty momentum buffer, at schedule position SGD_FIRST_STEP. */
    batch_buffer sgd_batches[SGD_STEPS];
    real *velocity = calloc(p, sizeof(real));
    sgd_workspace sgd;
    if (!velocity || sgd_workspace_init(&sgd, &shape, JAC_BATCH, team, &err) != 0)
        die("out of memory for the SGD workspace");
    memcpy(theta, theta0, p * sizeof(real));
    const double sgd_weight[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    double lrs[SGD_STEPS];
    for (int s = 0; s < SGD_STEPS; s++) {
        gather(&data, next_rows, JAC_BATCH, &sgd_batches[s]);
        next_rows += JAC_BATCH;
        lrs[s] = cosine_lr(cfg.sgd_lr, SGD_FIRST_STEP + s, SGD_TOTAL_STEPS);
        sgd_step(&sgd, theta, velocity, &sgd_batches[s].view, sgd_weight, lrs[s],
                 cfg.sgd_momentum);
        char key[32];
        snprintf(key, sizeof key, "f_batch%d", s);
        put_batch(f, key, &sgd_batches[s].view);
    }
    double sched[4] = {cfg.sgd_lr, cfg.sgd_momentum, (double)SGD_FIRST_STEP,
                       (double)SGD_TOTAL_STEPS};
    put1(f, "f_schedule", T_F64, 4, sched);
    put1(f, "f_weight", T_F64, 3, sgd_weight);
    put1(f, "f_lr", T_F64, SGD_STEPS, lrs);
    put1(f, "f_theta", T_F32, (int64_t)p, theta);
    put1(f, "f_velocity", T_F32, (int64_t)p, velocity);

    if (fclose(f) != 0)
        die("cannot finish writing '%s'", argv[1]);
    printf("crosscheck: C side done; MINRES of (d): %d iterations (%s, %.2f s); of the "
           "exploration step: %d iterations (%s)\n", d_iters[1],
           minres_stop_name((minres_stop)d_stops[1]), minres_s, e_iters[1],
           minres_stop_name((minres_stop)e_stops[1]));

    explore_state_free(&st);
    damped_hessian_free(&op);
    team_free(team);
    mlp_workspace_free(ws);
    batch_buffer_free(&jac_batch);
    batch_buffer_free(&hvp_batch);
    batch_buffer_free(&step_hvp_batch);
    for (int b = 0; b < BEGIN_BATCHES + STEP_BATCHES; b++)
        batch_buffer_free(&jac_batches[b]);
    for (int s = 0; s < SGD_STEPS; s++)
        batch_buffer_free(&sgd_batches[s]);
    free(theta0);
    free(theta);
    free(jac);
    free(vs);
    free(hvs);
    free(rhs);
    free(x0);
    free(x);
    free(work);
    free(velocity);
    sgd_workspace_free(&sgd);
    free(perm);
    census_free(&data);
    return 0;
}
