/*
 * bench_units.c - times the units of work of a run on the real Census-Income data.
 *
 *   bench_units [--config FILE] [--repeats N] [--threads T] [--csv FILE]
 *
 * Units (each timed N times; the median, the spread min..max and the achieved GFLOP/s of the
 * median are printed):
 *   sgd_epoch          779 SGD steps on shuffled batches of 256, then a test pass
 *   test_pass          the forward pass and metrics over the 99,762 test rows
 *   jacobian_quarter   per-task gradients over 194 batches of 256 (one exploration step's J)
 *   minres_solve       prepare the HVP batch of 2048, then MINRES (<= 100 iterations) on
 *                      (H + damping I) x = rhs from x0 = mean of the Jacobian rows
 *   hvp                one damped Hessian-vector product inside that solve (mean per solve)
 *   explore_step       explore_step() (J, min-norm, HVP solve, update) plus a test pass
 *   jacobian_full      per-task gradients over the full pass of 779 batches
 *   explore_job_smoke  one exploration job of the config (the smoke config: 3 steps)
 * Hyper-parameters (batch sizes, damping, MINRES limits, steps) come from the config. The
 * network is the run's initial network after one untimed SGD epoch of weights (1/3, 1/3, 1/3),
 * so that the solves see a trained-like Hessian.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pareto/census.h"
#include "pareto/config.h"
#include "pareto/jobs.h"
#include "pareto/log.h"
#include "pareto/min_norm.h"
#include "pareto/minres.h"
#include "pareto/mlp.h"
#include "pareto/rng.h"

#define MAX_REPEATS 100
#define BENCH_DIRECTION 3 /* "011": the right-hand side sums the Jacobian rows of tasks 2, 3 */

/* The CSV is written to a temporary name opened at start (so that an unwritable path fails
 * before minutes of timing) and renamed into place at the end; a run that dies removes it. */
static char csv_tmp_path[4096];

static void remove_csv_tmp(void)
{
    if (csv_tmp_path[0])
        remove(csv_tmp_path);
}

static void remove_csv_tmp_on_signal(int sig)
{
    if (csv_tmp_path[0])
        unlink(csv_tmp_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_units: %s: %s\n", what, msg);
    exit(1);
}

/* An integer option's value, all of it a decimal integer in [lo, hi]. */
static int parse_int_option(const char *name, const char *text, int lo, int hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "bench_units: %s: '%s' is not an integer in %d..%d\n", name, text, lo,
                hi);
        exit(2);
    }
    return (int)v;
}

static void *xmalloc(size_t size, const char *what)
{
    void *p = malloc(size);
    if (!p)
        die("out of memory", what);
    return p;
}

/* --- floating-point work ---------------------------------------------------------------- */

/*
 * FLOPs are counted as the multiply-adds of the matrix products, 2 per multiply-add:
 *   a dense (m, k) x (k, n) product costs 2 m n k;
 *   the sparse first layer costs 2 per stored nonzero per output column: 2 B nnz h1 for a
 *   batch of B rows with nnz = 38 nonzeros each (the zeros of the one-hot input are skipped,
 *   so they are not counted).
 * Elementwise work (bias adds and column sums, ReLU and its mask, softmax, the SGD update,
 * the MINRES vector updates, the min-norm Gram matrix) is not counted: it is below 3% of the
 * total for every unit, and memory-bound. With h1 = 256, h2 = 128, o = 2 T = 6 outputs and
 * T = 3 tasks:
 *   forward        2 B (nnz h1 + h1 h2 + h2 o)
 *   weighted grad  forward + 2 B (h2 o [dW3] + h2 o [D2] + h1 h2 [dW2] + h1 h2 [D1]
 *                  + nnz h1 [dW1])
 *   task grads     forward + T * 2 B (2 h2 [dW3 of the head] + 2 h2 [D2_k] + h1 h2 [dW2]
 *                  + h1 h2 [D1_k] + nnz h1 [dW1])
 *   HVP prepare    forward + 2 B h2 o [D2]
 *   HVP apply      2 B (2 nnz h1 [R{A1}, X^T R{D1}] + 6 h1 h2 [R{A2}, dW2, R{D1}: two products
 *                  each] + 6 h2 o [R{O}, dW3, R{D2}: two products each])
 */
typedef struct {
    double nnz, h1, h2, o, tasks;
} flop_model;

static double flops_forward(const flop_model *f, double b)
{
    return 2 * b * (f->nnz * f->h1 + f->h1 * f->h2 + f->h2 * f->o);
}

static double flops_weighted_grad(const flop_model *f, double b)
{
    return flops_forward(f, b) +
           2 * b * (2 * f->h2 * f->o + 2 * f->h1 * f->h2 + f->nnz * f->h1);
}

static double flops_task_grads(const flop_model *f, double b)
{
    return flops_forward(f, b) +
           f->tasks * 2 * b * (4 * f->h2 + 2 * f->h1 * f->h2 + f->nnz * f->h1);
}

static double flops_hvp_prepare(const flop_model *f, double b)
{
    return flops_forward(f, b) + 2 * b * f->h2 * f->o;
}

static double flops_hvp_apply(const flop_model *f, double b)
{
    return 2 * b * (2 * f->nnz * f->h1 + 6 * f->h1 * f->h2 + 6 * f->h2 * f->o);
}

/* --- timings ----------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    int n;
    double seconds[MAX_REPEATS];
    double flops[MAX_REPEATS]; /* work done by each sample */
    double hvps_per_solve;     /* mean over the samples; 0 for a unit without a solve */
    char note[128];
} unit_timing;

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *v, int n)
{
    double sorted[MAX_REPEATS];
    memcpy(sorted, v, (size_t)n * sizeof *v);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_double);
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

static void record(unit_timing *u, double seconds, double flops)
{
    u->seconds[u->n] = seconds;
    u->flops[u->n] = flops;
    u->n++;
}

/* Batch streams: the library's train_loader, each from its own random stream. */
static void bench_loader_init(train_loader *ld, const census_data *data, int batch_size,
                              uint64_t seed, uint64_t stream)
{
    pareto_error err;
    rng_state rng;
    rng_seed(&rng, seed, 100 + stream, 0, 0);
    if (train_loader_init(ld, data, batch_size, rng, &err) != 0)
        die("batch loader", err.msg);
}

/* --- the units --------------------------------------------------------------------------- */

typedef struct {
    const pareto_config *cfg;
    const census_data *data;
    mlp_shape shape;
    size_t p;
    flop_model fm;
    sgd_workspace sgd;
    test_evaluator ev;
} bench_ctx;

/* The test pass: every test row through the network in chunks; returns the FLOPs. */
static double test_pass(bench_ctx *b, const real *theta, double *loss, double *acc)
{
    evaluate_test(&b->ev, theta, loss, acc);
    return flops_forward(&b->fm, b->data->test.n_rows);
}

/* One epoch of weighted-sum SGD with the cosine schedule over total_steps from step t0. */
static double sgd_epoch(bench_ctx *b, train_loader *ld, real *theta, real *velocity,
                        const double *weight, long t0, long total_steps)
{
    double flops = 0;
    for (int i = 0; i < ld->batches_per_epoch; i++) {
        const sparse_batch *batch = train_loader_next(ld);
        sgd_step(&b->sgd, theta, velocity, batch, weight,
                 cosine_lr(b->cfg->sgd_lr, t0 + i, total_steps), b->cfg->sgd_momentum);
        flops += flops_weighted_grad(&b->fm, batch->n);
    }
    return flops;
}

/* jac (3, P) = per-task gradients averaged over n_batches batches of ld, by the library's
 * blocked Jacobian on the state's team. */
static double jacobian(bench_ctx *b, explore_state *st, train_loader *ld, const real *theta,
                       int n_batches, real *jac)
{
    pareto_error err;
    if (jacobian_average(st, theta, train_loader_next, ld, n_batches, jac, &err) != 0)
        die("Jacobian", err.msg);
    return n_batches * flops_task_grads(&b->fm, ld->batch_size);
}

/* The library's damped operator, counting and timing its applications. */
typedef struct {
    damped_hessian *op;
    int count;
    double seconds;
} counted_operator;

static void counted_apply(void *ctx, const real *x, real *y)
{
    counted_operator *c = ctx;
    double start = wall_seconds();
    damped_hessian_apply(c->op, x, y);
    c->seconds += wall_seconds() - start;
    c->count++;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_units [--config FILE] [--repeats N] [--threads T] [--csv FILE]\n"
                 "  --config FILE  run settings (default configs/smoke.yaml)\n"
                 "  --repeats N    samples of each unit, 1..%d (default 3)\n"
                 "  --threads T    threads of the library's team, 1..%d (default 1)\n"
                 "  --csv FILE     also write the timings as CSV\n",
            MAX_REPEATS / 4, BATCH_BLOCKS);
}

static void print_unit(FILE *out, const unit_timing *u)
{
    double med = median_of(u->seconds, u->n), lo = u->seconds[0], hi = u->seconds[0];
    for (int i = 1; i < u->n; i++) {
        lo = u->seconds[i] < lo ? u->seconds[i] : lo;
        hi = u->seconds[i] > hi ? u->seconds[i] : hi;
    }
    double gflops = median_of(u->flops, u->n) / med * 1e-9;
    fprintf(out, "%-18s %10.4f   %9.4f .. %-9.4f %8.1f   %s\n", u->name, med, lo, hi, gflops,
            u->note);
}

static void write_csv(FILE *f, const char *path, const unit_timing *units, int n_units,
                      int threads, double rss_mb)
{
    fprintf(f, "unit,median_s,min_s,max_s,samples,gflops,hvps_per_solve,threads,peak_rss_mb,"
               "note\n");
    for (int i = 0; i < n_units; i++) {
        const unit_timing *u = &units[i];
        double med = median_of(u->seconds, u->n), lo = u->seconds[0], hi = u->seconds[0];
        for (int j = 1; j < u->n; j++) {
            lo = u->seconds[j] < lo ? u->seconds[j] : lo;
            hi = u->seconds[j] > hi ? u->seconds[j] : hi;
        }
        fprintf(f, "%s,%.6f,%.6f,%.6f,%d,%.2f,%.1f,%d,%.1f,\"%s\"\n", u->name, med, lo, hi,
                u->n, median_of(u->flops, u->n) / med * 1e-9, u->hvps_per_solve, threads, rss_mb,
                u->note);
    }
    if (fclose(f) != 0 || rename(csv_tmp_path, path) != 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "writing the CSV failed: %s", strerror(errno));
        die(path, msg);
    }
    csv_tmp_path[0] = '\0';
}

/* Opens csv_path's temporary file (see csv_tmp_path), or stops with the reason. */
static FILE *open_csv_tmp(const char *csv_path)
{
    struct stat st;
    if (csv_path[0] == '\0')
        die("--csv", "the path is empty");
    if (stat(csv_path, &st) == 0 && S_ISDIR(st.st_mode))
        die(csv_path, "is a directory, not a file for the CSV");
    if (snprintf(csv_tmp_path, sizeof csv_tmp_path, "%s.tmp", csv_path) >=
        (int)sizeof csv_tmp_path)
        die(csv_path, "path too long");
    FILE *f = fopen(csv_tmp_path, "w");
    if (!f) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot open for writing: %s", strerror(errno));
        csv_tmp_path[0] = '\0';
        die(csv_path, msg);
    }
    atexit(remove_csv_tmp);
    signal(SIGINT, remove_csv_tmp_on_signal);
    signal(SIGTERM, remove_csv_tmp_on_signal);
    return f;
}

int main(int argc, char **argv)
{
    const char *config_path = "configs/smoke.yaml", *csv_path = NULL;
    int repeats = 3, threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        int known = strcmp(opt, "--config") == 0 || strcmp(opt, "--repeats") == 0 ||
                    strcmp(opt, "--threads") == 0 || strcmp(opt, "--csv") == 0;
        if (!known || i + 1 >= argc) {
            fprintf(stderr, "bench_units: %s: %s\n", opt,
                    known ? "missing its value" : "unknown option");
            usage(stderr);
            return 2;
        }
        const char *val = argv[++i];
        if (strcmp(opt, "--config") == 0)
            config_path = val;
        else if (strcmp(opt, "--repeats") == 0)
            repeats = parse_int_option("--repeats", val, 1, MAX_REPEATS / 4);
        else if (strcmp(opt, "--threads") == 0)
            threads = parse_int_option("--threads", val, 1, BATCH_BLOCKS);
        else
            csv_path = val;
    }

    pareto_error err;
    pareto_config cfg;
    if (config_load(config_path, &cfg, &err) != 0)
        die("config", err.msg);
    FILE *csv = csv_path ? open_csv_tmp(csv_path) : NULL;
    /* The library's threads split each Jacobian and HVP batch into blocks; OpenBLAS stays on
     * one thread, as in pareto_mpi. */
    openblas_set_num_threads(1);
    int team_size = threads < BATCH_BLOCKS ? threads : BATCH_BLOCKS;
    team *team = team_new(team_size, &err);
    if (!team)
        die("threads", err.msg);
    census_options copts = {cfg.max_bad_row_fraction, 0};
    census_data data;
    double load_start = wall_seconds();
    if (census_load(cfg.train_path, cfg.test_path, &copts, &data, &err) != 0)
        die("data", err.msg);
    double load_s = wall_seconds() - load_start;

    bench_ctx b;
    memset(&b, 0, sizeof b);
    b.cfg = &cfg;
    b.data = &data;
    b.shape = mlp_census_shape();
    b.p = mlp_num_params(&b.shape);
    b.fm = (flop_model){CENSUS_NNZ, b.shape.h1, b.shape.h2, 2 * b.shape.tasks, b.shape.tasks};
    if (sgd_workspace_init(&b.sgd, &b.shape, cfg.sgd_batch_size, team, &err) != 0 ||
        test_evaluator_init(&b.ev, &data, &b.shape, team, &err) != 0)
        die("workspace", err.msg);
    size_t p = b.p;

    printf("bench_units: config %s, threads %d (SGD, Jacobian and HVP batches in %d blocks, "
           "test pass in chunks; OpenBLAS %d), repeats %d\n", config_path, team_size,
           BATCH_BLOCKS, openblas_get_num_threads(), repeats);
    printf("data: %d train rows, %d test rows, %d features (loaded in %.2f s); "
           "network %zu parameters\n", data.train.n_rows, data.test.n_rows, data.n_features,
           load_s, p);

    /* The starting network: the run's initial network after one untimed SGD epoch. */
    const double equal_weight[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    real *theta0 = xmalloc(p * sizeof(real), "theta");
    real *theta = xmalloc(p * sizeof(real), "theta");
    real *velocity = xmalloc(p * sizeof(real), "velocity");
    jobs_initial_params(&cfg, &b.shape, theta0);
    train_loader sgd_ld;
    bench_loader_init(&sgd_ld, &data, cfg.sgd_batch_size, cfg.seed, 1);
    long total_steps = (long)cfg.sgd_epochs * sgd_ld.batches_per_epoch;
    memset(velocity, 0, p * sizeof(real));
    sgd_epoch(&b, &sgd_ld, theta0, velocity, equal_weight, 0, total_steps);

    enum { U_SGD, U_TEST, U_JAC_Q, U_SOLVE, U_HVP, U_STEP, U_JAC_FULL, U_JOB, N_UNITS };
    static unit_timing units[N_UNITS];
    const char *names[N_UNITS] = {"sgd_epoch", "test_pass", "jacobian_quarter", "minres_solve",
                                  "hvp", "explore_step", "jacobian_full",
                                  "explore_job_smoke"};
    for (int u = 0; u < N_UNITS; u++)
        units[u].name = names[u];
    double loss[3], acc[3];

    /* sgd_epoch and test_pass: an epoch from the starting network (its momentum reset), at
     * the schedule's second epoch. */
    for (int r = 0; r < repeats; r++) {
        memcpy(theta, theta0, p * sizeof(real));
        memset(velocity, 0, p * sizeof(real));
        double start = wall_seconds();
        double flops = sgd_epoch(&b, &sgd_ld, theta, velocity, equal_weight,
                                 sgd_ld.batches_per_epoch, total_steps);
        double mid = wall_seconds();
        double test_flops = test_pass(&b, theta, loss, acc);
        double end = wall_seconds();
        record(&units[U_SGD], end - start, flops + test_flops);
        record(&units[U_TEST], end - mid, test_flops);
    }
    snprintf(units[U_SGD].note, sizeof units[U_SGD].note, "%d batches of %d + test pass",
             sgd_ld.batches_per_epoch, cfg.sgd_batch_size);
    snprintf(units[U_TEST].note, sizeof units[U_TEST].note, "%d rows, chunks of %d",
             data.test.n_rows, TEST_CHUNK);

    /* jacobian_quarter and minres_solve: the pieces of one exploration step. */
    train_loader jac_ld, hvp_ld;
    bench_loader_init(&jac_ld, &data, cfg.sgd_batch_size, cfg.seed, 2);
    bench_loader_init(&hvp_ld, &data, cfg.hvp_batch, cfg.seed, 3);
    int jac_batches = (int)(jac_ld.batches_per_epoch * cfg.jacobian_fraction);
    jac_batches = jac_batches < 1 ? 1 : jac_batches;
    real *jac = xmalloc(3 * p * sizeof(real), "Jacobian");
    real *rhs = xmalloc(p * sizeof(real), "right-hand side");
    real *x = xmalloc(p * sizeof(real), "solution");
    real *work = xmalloc(minres_work_size(p) * sizeof(real), "MINRES scratch");
    explore_state st;
    if (explore_state_init(&st, &b.shape, cfg.sgd_batch_size, cfg.hvp_batch, team, &err) != 0)
        die("exploration state", err.msg);
    char bits[4];
    direction_bits(BENCH_DIRECTION, bits);
    int hvp_total = 0, iters_min = 1 << 30, iters_max = 0;
    for (int r = 0; r < repeats; r++) {
        double start = wall_seconds();
        double flops = jacobian(&b, &st, &jac_ld, theta0, jac_batches, jac);
        record(&units[U_JAC_Q], wall_seconds() - start, flops);

        /* Untimed: the right-hand side, x0 and alpha from this J, as a step would. */
        double alpha[3];
        min_norm_info info;
        if (min_norm_weights(3, p, jac, alpha, &info) != 0)
            die("min-norm weights", "failed");
        memset(rhs, 0, p * sizeof(real));
        for (int k = 0; k < 3; k++)
            if (bits[k] == '1')
                cblas_saxpy((int)p, 1, jac + (size_t)k * p, 1, rhs, 1);
        for (size_t i = 0; i < p; i++)
            x[i] = (real)(((double)jac[i] + jac[p + i] + jac[2 * p + i]) / 3.0);

        const sparse_batch *hb = train_loader_next(&hvp_ld);
        counted_operator op = {&st.hessian, 0, 0};
        minres_options mopts = {cfg.minres_max_iter, cfg.minres_rtol};
        start = wall_seconds();
        damped_hessian_prepare(&st.hessian, theta0, hb, alpha, (real)cfg.damping);
        minres_result mr = minres_solve(p, counted_apply, &op, rhs, x, 1, &mopts, work);
        double seconds = wall_seconds() - start;
        record(&units[U_SOLVE], seconds,
               flops_hvp_prepare(&b.fm, hb->n) + op.count * flops_hvp_apply(&b.fm, hb->n));
        record(&units[U_HVP], op.seconds / op.count, flops_hvp_apply(&b.fm, hb->n));
        hvp_total += op.count;
        iters_min = mr.iterations < iters_min ? mr.iterations : iters_min;
        iters_max = mr.iterations > iters_max ? mr.iterations : iters_max;
    }
    snprintf(units[U_JAC_Q].note, sizeof units[U_JAC_Q].note, "%d batches of %d",
             jac_batches, cfg.sgd_batch_size);
    snprintf(units[U_SOLVE].note, sizeof units[U_SOLVE].note,
             "batch %d, %d..%d iterations, %.1f HVPs per solve", cfg.hvp_batch, iters_min,
             iters_max, (double)hvp_total / repeats);
    units[U_SOLVE].hvps_per_solve = (double)hvp_total / repeats;
    snprintf(units[U_HVP].note, sizeof units[U_HVP].note, "batch %d, damped, per product",
             cfg.hvp_batch);

    /* explore_step: the library's step (J, min-norm, solve, update) plus a test pass. */
    memcpy(theta, theta0, p * sizeof(real));
    double begin_start = wall_seconds();
    if (explore_begin(&st, theta, train_loader_next, &jac_ld, jac_ld.batches_per_epoch,
                      &err) != 0)
        die("explore_begin", err.msg);
    record(&units[U_JAC_FULL], wall_seconds() - begin_start,
           jac_ld.batches_per_epoch * flops_task_grads(&b.fm, cfg.sgd_batch_size));
    for (int r = 0; r < repeats; r++) {
        minres_result mr;
        const sparse_batch *hb = train_loader_next(&hvp_ld);
        double start = wall_seconds();
        if (explore_step(&st, &cfg, BENCH_DIRECTION, theta, train_loader_next, &jac_ld,
                         jac_batches, hb, &mr, &err) != 0)
            die("explore_step", err.msg);
        double flops = test_pass(&b, theta, loss, acc);
        record(&units[U_STEP], wall_seconds() - start,
               flops + jac_batches * flops_task_grads(&b.fm, cfg.sgd_batch_size) +
                   flops_hvp_prepare(&b.fm, hb->n) +
                   (mr.iterations + 1) * flops_hvp_apply(&b.fm, hb->n));
    }
    snprintf(units[U_STEP].note, sizeof units[U_STEP].note,
             "J + min-norm + solve + update + test pass");

    /* jacobian_full: the rest of its samples (the first came from explore_begin above). */
    for (int r = 1; r < repeats; r++) {
        double start = wall_seconds();
        double flops = jacobian(&b, &st, &jac_ld, theta0, jac_ld.batches_per_epoch, jac);
        record(&units[U_JAC_FULL], wall_seconds() - start, flops);
    }
    snprintf(units[U_JAC_FULL].note, sizeof units[U_JAC_FULL].note, "%d batches of %d",
             jac_ld.batches_per_epoch, cfg.sgd_batch_size);

    /* explore_job_smoke: a whole job of the config, from the starting network. */
    int weight_index = cfg.n_weights_selected ? cfg.weights_selected[0] : 0;
    int direction = cfg.n_directions ? cfg.directions[0] : BENCH_DIRECTION;
    result_row *rows = xmalloc((size_t)cfg.explore_steps * sizeof *rows, "result rows");
    for (int r = 0; r < repeats; r++) {
        memcpy(theta, theta0, p * sizeof(real));
        double start = wall_seconds();
        if (explore_job(&cfg, &data, weight_index, direction, theta, team, rows, NULL,
                        NULL, &err) != 0)
            die("explore_job", err.msg);
        double seconds = wall_seconds() - start;
        double flops = jac_ld.batches_per_epoch * flops_task_grads(&b.fm, cfg.sgd_batch_size);
        for (int s = 0; s < cfg.explore_steps; s++)
            flops += jac_batches * flops_task_grads(&b.fm, cfg.sgd_batch_size) +
                     flops_hvp_prepare(&b.fm, cfg.hvp_batch) +
                     (rows[s].minres_iters + 1) * flops_hvp_apply(&b.fm, cfg.hvp_batch) +
                     flops_forward(&b.fm, data.test.n_rows);
        record(&units[U_JOB], seconds, flops);
    }
    direction_bits(direction, bits);
    snprintf(units[U_JOB].note, sizeof units[U_JOB].note,
             "w%d d%s: full J + %d steps", weight_index, bits, cfg.explore_steps);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss * 1024.0 / 1e6; /* ru_maxrss is in KiB on Linux */

    printf("\n%-18s %10s   %-22s %8s   %s\n", "unit", "median s", "min s .. max s", "GFLOP/s",
           "notes");
    for (int u = 0; u < N_UNITS; u++)
        print_unit(stdout, &units[u]);
    printf("\npeak RSS: %.1f MB (the data, one SGD and one exploration workspace)\n", rss_mb);
    if (csv)
        write_csv(csv, csv_path, units, N_UNITS, team_size, rss_mb);

    free(rows);
    free(jac);
    free(rhs);
    free(x);
    free(work);
    explore_state_free(&st);
    team_free(team);
    train_loader_free(&jac_ld);
    train_loader_free(&hvp_ld);
    train_loader_free(&sgd_ld);
    free(theta0);
    free(theta);
    free(velocity);
    test_evaluator_free(&b.ev);
    sgd_workspace_free(&b.sgd);
    census_free(&data);
    return 0;
}
