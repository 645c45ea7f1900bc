/*
 * jobs.c - the SGD job and the exploration job (Ma, Du and Matusik, "Efficient Continuous
 * Pareto Exploration in Multi-Task Learning", ICML 2020, Figure 5 on UCI Census-Income).
 */
#include "pareto/jobs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pareto/log.h"
#include "pareto/min_norm.h"
#include "pareto/minres.h"

#define EVAL_CHUNK 1024
#define PI 3.14159265358979323846

/* --- batches --------------------------------------------------------------------------- */

/* Room for one batch of sparse rows, in the layout the network reads. */
typedef struct {
    int capacity;
    uint16_t *idx;   /* (capacity, CENSUS_NNZ) */
    float *val;      /* (capacity, CENSUS_NNZ) */
    uint8_t *labels; /* (capacity, CENSUS_TASKS) */
    sparse_batch view;
} batch_buffer;

static int batch_buffer_init(batch_buffer *b, int capacity, pareto_error *err)
{
    memset(b, 0, sizeof *b);
    b->capacity = capacity;
    b->idx = pareto_malloc((size_t)capacity * CENSUS_NNZ * sizeof *b->idx, "batch", err);
    b->val = pareto_malloc((size_t)capacity * CENSUS_NNZ * sizeof *b->val, "batch", err);
    b->labels = pareto_malloc((size_t)capacity * CENSUS_TASKS, "batch labels", err);
    return b->idx && b->val && b->labels ? 0 : -1;
}

static void batch_buffer_free(batch_buffer *b)
{
    free(b->idx);
    free(b->val);
    free(b->labels);
}

/* Copies rows[0..n) of split into b: the one-hot features with value 1, then the six raw
 * continuous values at their feature indices. rows == NULL means rows first..first+n-1. */
static void gather(const census_data *data, const census_split *split, const int32_t *rows,
                   int first, int n, batch_buffer *b)
{
    for (int i = 0; i < n; i++) {
        size_t r = rows ? (size_t)rows[i] : (size_t)(first + i);
        uint16_t *idx = b->idx + (size_t)i * CENSUS_NNZ;
        float *val = b->val + (size_t)i * CENSUS_NNZ;
        for (int c = 0; c < CENSUS_CATEGORICAL; c++) {
            idx[c] = split->onehot[r * CENSUS_CATEGORICAL + c];
            val[c] = 1.0f;
        }
        for (int c = 0; c < CENSUS_CONTINUOUS; c++) {
            idx[CENSUS_CATEGORICAL + c] = data->cont_feature[c];
            val[CENSUS_CATEGORICAL + c] = split->cont[r * CENSUS_CONTINUOUS + c];
        }
        memcpy(b->labels + (size_t)i * CENSUS_TASKS, split->labels + r * CENSUS_TASKS,
               CENSUS_TASKS);
    }
    b->view = (sparse_batch){n, CENSUS_NNZ, b->idx, b->val, b->labels};
}

/* A shuffling loader over the training rows that drops the last partial batch and reshuffles
 * (from its own stream) each time it runs out, continuing across calls. */
typedef struct {
    const census_data *data;
    int batch_size;
    int batches_per_epoch;
    int next_batch;
    int32_t *perm;
    rng_state rng;
    batch_buffer buf;
} loader;

static int loader_init(loader *ld, const census_data *data, int batch_size, rng_state rng,
                       pareto_error *err)
{
    memset(ld, 0, sizeof *ld);
    int n = data->train.n_rows;
    if (batch_size > n)
        return pareto_fail(err, "batch size %d is larger than the %d training rows",
                           batch_size, n);
    ld->data = data;
    ld->batch_size = batch_size;
    ld->batches_per_epoch = n / batch_size;
    ld->next_batch = ld->batches_per_epoch; /* shuffle before the first batch */
    ld->rng = rng;
    ld->perm = pareto_malloc((size_t)n * sizeof *ld->perm, "loader permutation", err);
    if (!ld->perm || batch_buffer_init(&ld->buf, batch_size, err) != 0) {
        free(ld->perm);
        return -1;
    }
    return 0;
}

static void loader_free(loader *ld)
{
    free(ld->perm);
    batch_buffer_free(&ld->buf);
}

static const sparse_batch *loader_next(loader *ld)
{
    if (ld->next_batch == ld->batches_per_epoch) {
        int n = ld->data->train.n_rows;
        for (int i = 0; i < n; i++)
            ld->perm[i] = i;
        rng_shuffle(&ld->rng, ld->perm, (size_t)n);
        ld->next_batch = 0;
    }
    const int32_t *rows = ld->perm + (size_t)ld->next_batch * ld->batch_size;
    gather(ld->data, &ld->data->train, rows, 0, ld->batch_size, &ld->buf);
    ld->next_batch++;
    return &ld->buf.view;
}

/* --- evaluation ------------------------------------------------------------------------ */

/* Mean test loss and top-1 accuracy of each task. */
static void evaluate_test(const census_data *data, const mlp_shape *shape, const real *theta,
                          mlp_workspace *ws, batch_buffer *buf, double *loss, double *acc)
{
    double loss_sum[CENSUS_TASKS] = {0};
    long correct[CENSUS_TASKS] = {0};
    int n = data->test.n_rows;
    for (int first = 0; first < n; first += EVAL_CHUNK) {
        int count = n - first < EVAL_CHUNK ? n - first : EVAL_CHUNK;
        gather(data, &data->test, NULL, first, count, buf);
        mlp_evaluate(shape, theta, &buf->view, ws, loss_sum, correct);
    }
    for (int k = 0; k < CENSUS_TASKS; k++) {
        loss[k] = loss_sum[k] / n;
        acc[k] = (double)correct[k] / n;
    }
}

static int all_finite(const double *x, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static int vector_finite(const real *x, size_t n)
{
    /* A NaN or Inf term makes the sum NaN or Inf. */
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i];
    return isfinite(s);
}

void jobs_initial_params(const pareto_config *cfg, const mlp_shape *shape, real *theta)
{
    rng_state rng;
    rng_seed(&rng, cfg->seed, RNG_PURPOSE_INIT, 0, 0);
    mlp_init(shape, theta, &rng);
}

static void fill_row_identity(result_row *row, const double *weight, int weight_index,
                              int phase, int direction, int step)
{
    memset(row, 0, sizeof *row);
    row->phase = phase;
    row->weight_index = weight_index;
    for (int k = 0; k < CENSUS_TASKS; k++)
        row->weight[k] = weight[k];
    row->direction = direction;
    row->step = step;
}

static int weight_vector(const pareto_config *cfg, int weight_index, double *w,
                         pareto_error *err)
{
    int count = config_weight_vectors(cfg->grid, NULL);
    if (weight_index < 0 || weight_index >= count)
        return pareto_fail(err, "weight index %d is outside 0..%d", weight_index, count - 1);
    double *all = pareto_malloc((size_t)count * 3 * sizeof *all, "weight vectors", err);
    if (!all)
        return -1;
    config_weight_vectors(cfg->grid, all);
    memcpy(w, all + 3 * weight_index, 3 * sizeof *w);
    free(all);
    return 0;
}

/* --- weighted-sum SGD ------------------------------------------------------------------ */

int sgd_job(const pareto_config *cfg, const census_data *data, int weight_index, real *theta,
            result_row *rows, job_progress progress, void *progress_ctx, pareto_error *err)
{
    mlp_shape shape = mlp_census_shape();
    size_t p = mlp_num_params(&shape);
    double weight[3];
    if (weight_vector(cfg, weight_index, weight, err) != 0)
        return -1;

    rng_state rng;
    rng_seed(&rng, cfg->seed, RNG_PURPOSE_SGD, (uint64_t)weight_index, 0);
    loader ld;
    if (loader_init(&ld, data, cfg->sgd_batch_size, rng, err) != 0)
        return -1;
    int max_batch = cfg->sgd_batch_size > EVAL_CHUNK ? cfg->sgd_batch_size : EVAL_CHUNK;
    mlp_workspace *ws = mlp_workspace_new(&shape, max_batch);
    real *grad = pareto_malloc(p * sizeof(real), "gradient", err);
    real *velocity = pareto_calloc(p, sizeof(real), "momentum buffer", err);
    batch_buffer eval_buf;
    int status = -1;
    if (!ws || !grad || !velocity || batch_buffer_init(&eval_buf, EVAL_CHUNK, err) != 0) {
        if (!ws)
            pareto_fail(err, "out of memory for the network workspace");
        goto done_no_eval;
    }

    /* Cosine annealing over every batch of every epoch, stepped after each batch. */
    long total_steps = (long)cfg->sgd_epochs * ld.batches_per_epoch, t = 0;
    for (int epoch = 1; epoch <= cfg->sgd_epochs; epoch++) {
        double start = wall_seconds();
        for (int b = 0; b < ld.batches_per_epoch; b++, t++) {
            const sparse_batch *batch = loader_next(&ld);
            mlp_weighted_grad(&shape, theta, batch, weight, ws, grad, NULL);

            /* buf <- mu * buf + g;  theta <- theta - lr_t * buf */
            real lr = (real)(cfg->sgd_lr * 0.5 * (1.0 + cos(PI * (double)t / total_steps)));
            real mu = (real)cfg->sgd_momentum;
            for (size_t i = 0; i < p; i++) {
                velocity[i] = mu * velocity[i] + grad[i];
                theta[i] -= lr * velocity[i];
            }
        }
        result_row *row = &rows[epoch - 1];
        fill_row_identity(row, weight, weight_index, PHASE_SGD, 0, epoch);
        evaluate_test(data, &shape, theta, ws, &eval_buf, row->loss, row->acc);
        row->wall_s = wall_seconds() - start;
        if (!all_finite(row->loss, 3)) {
            pareto_fail(err, "SGD job w%d: test loss is not finite after epoch %d "
                        "(%g, %g, %g)", weight_index, epoch, row->loss[0], row->loss[1],
                        row->loss[2]);
            goto done;
        }
        if (progress)
            progress(progress_ctx, row, epoch, cfg->sgd_epochs);
    }
    status = 0;
done:
    batch_buffer_free(&eval_buf);
done_no_eval:
    free(grad);
    free(velocity);
    mlp_workspace_free(ws);
    loader_free(&ld);
    return status;
}

/* --- continuous Pareto exploration ----------------------------------------------------- */

typedef struct {
    mlp_hvp *hvp;
    size_t n;
    real damping;
} damped_hessian;

/* y = (H + damping I) x */
static void damped_hessian_apply(void *ctx, const real *x, real *y)
{
    damped_hessian *op = ctx;
    mlp_hvp_apply(op->hvp, x, y);
    REAL_AXPY((int)op->n, op->damping, x, 1, y, 1);
}

/* jac (3, P) = per-task gradients averaged over the loader's next n_batches batches. */
static void jacobian_average(const mlp_shape *shape, const real *theta, loader *ld,
                             int n_batches, mlp_workspace *ws, real *jac, size_t p)
{
    memset(jac, 0, (size_t)CENSUS_TASKS * p * sizeof(real));
    for (int b = 0; b < n_batches; b++)
        mlp_task_grads_add(shape, theta, loader_next(ld), (real)(1.0 / n_batches), ws, jac);
}

int explore_job(const pareto_config *cfg, const census_data *data, int weight_index,
                int direction, real *theta, result_row *rows, job_progress progress,
                void *progress_ctx, pareto_error *err)
{
    mlp_shape shape = mlp_census_shape();
    size_t p = mlp_num_params(&shape);
    double weight[3];
    if (weight_vector(cfg, weight_index, weight, err) != 0)
        return -1;
    if (direction < 1 || direction > 6)
        return pareto_fail(err, "direction %d is outside 1..6", direction);
    char bits[4];
    direction_bits(direction, bits);

    rng_state jac_rng, hvp_rng;
    rng_seed(&jac_rng, cfg->seed, RNG_PURPOSE_JACOBIAN, (uint64_t)weight_index,
             (uint64_t)direction);
    rng_seed(&hvp_rng, cfg->seed, RNG_PURPOSE_HVP, (uint64_t)weight_index,
             (uint64_t)direction);
    loader jac_loader, hvp_loader;
    if (loader_init(&jac_loader, data, cfg->sgd_batch_size, jac_rng, err) != 0)
        return -1;
    if (loader_init(&hvp_loader, data, cfg->hvp_batch, hvp_rng, err) != 0) {
        loader_free(&jac_loader);
        return -1;
    }

    int status = -1;
    int max_batch = cfg->sgd_batch_size > EVAL_CHUNK ? cfg->sgd_batch_size : EVAL_CHUNK;
    mlp_workspace *ws = mlp_workspace_new(&shape, max_batch);
    mlp_hvp *hvp = mlp_hvp_new(&shape, cfg->hvp_batch);
    real *jac = pareto_malloc(3 * p * sizeof(real), "Jacobian", err);
    real *jac_avg = pareto_malloc(3 * p * sizeof(real), "Jacobian average", err);
    real *rhs = pareto_malloc(p * sizeof(real), "MINRES right-hand side", err);
    real *x = pareto_malloc(p * sizeof(real), "MINRES solution", err);
    real *work = pareto_malloc(minres_work_size(p) * sizeof(real), "MINRES workspace", err);
    batch_buffer eval_buf;
    memset(&eval_buf, 0, sizeof eval_buf);
    if (!ws || !hvp || !jac || !jac_avg || !rhs || !x || !work ||
        batch_buffer_init(&eval_buf, EVAL_CHUNK, err) != 0) {
        if (!ws || !hvp)
            pareto_fail(err, "out of memory for the network workspace");
        goto done;
    }

    /* J_avg <- per-task gradients over one full pass; alpha_avg <- min-norm weights of it */
    int steps_per_jacobian = (int)(jac_loader.batches_per_epoch * cfg->jacobian_fraction);
    if (steps_per_jacobian < 1)
        steps_per_jacobian = 1;
    jacobian_average(&shape, theta, &jac_loader, jac_loader.batches_per_epoch, ws, jac_avg, p);
    double alpha_avg[3], alpha[3];
    min_norm_info mn;
    if (!vector_finite(jac_avg, 3 * p) || min_norm_weights(3, p, jac_avg, alpha_avg, &mn)) {
        pareto_fail(err, "exploration job w%d/d%s: the initial Jacobian is not finite",
                    weight_index, bits);
        goto done;
    }

    double mu = cfg->explore_momentum;
    damped_hessian op = {hvp, p, (real)cfg->damping};
    minres_options mopts = {cfg->minres_max_iter, cfg->minres_rtol};
    for (int step = 1; step <= cfg->explore_steps; step++) {
        double start = wall_seconds();

        /* 1. J <- per-task gradients over the next fraction of an epoch;
         *    J_avg <- mu J_avg + (1 - mu) J */
        jacobian_average(&shape, theta, &jac_loader, steps_per_jacobian, ws, jac, p);
        if (!vector_finite(jac, 3 * p)) {
            pareto_fail(err, "exploration job w%d/d%s step %d: a task gradient is not finite",
                        weight_index, bits, step);
            goto done;
        }
        for (size_t i = 0; i < 3 * p; i++)
            jac_avg[i] = (real)(mu * jac_avg[i] + (1.0 - mu) * jac[i]);

        /* 2. alpha <- min-norm weights of J; alpha_avg <- mu alpha_avg + (1 - mu) alpha */
        min_norm_weights(3, p, jac, alpha, &mn);
        for (int k = 0; k < 3; k++)
            alpha_avg[k] = mu * alpha_avg[k] + (1.0 - mu) * alpha[k];

        /* 3. A = H + damping I, H the Hessian of sum_k alpha_avg_k L_k on the next HVP batch */
        mlp_hvp_prepare(hvp, theta, loader_next(&hvp_loader), alpha_avg);

        /* 4. solve A x = sum_{k in d} J_avg_k from x0 = mean_k J_avg_k */
        memset(rhs, 0, p * sizeof(real));
        for (int k = 0; k < 3; k++) {
            if (bits[k] == '1')
                REAL_AXPY((int)p, 1, jac_avg + (size_t)k * p, 1, rhs, 1);
        }
        for (size_t i = 0; i < p; i++)
            x[i] = (real)(((double)jac_avg[i] + jac_avg[p + i] + jac_avg[2 * p + i]) / 3.0);
        minres_result mr = minres_solve(p, damped_hessian_apply, &op, rhs, x, 1, &mopts, work);
        double norm = 0;
        for (size_t i = 0; i < p; i++)
            norm += (double)x[i] * x[i];
        norm = sqrt(norm);
        if (mr.stop == MINRES_NONFINITE || !isfinite(norm) || norm == 0) {
            pareto_fail(err, "exploration job w%d/d%s step %d: MINRES gave no usable "
                        "direction (stop %s after %d iterations, |x| = %g)", weight_index,
                        bits, step, minres_stop_name(mr.stop), mr.iterations, norm);
            goto done;
        }

        /* 5. theta <- theta - lr x / |x| */
        REAL_AXPY((int)p, (real)(-cfg->explore_lr / norm), x, 1, theta, 1);

        /* 6. evaluate */
        result_row *row = &rows[step - 1];
        fill_row_identity(row, weight, weight_index, PHASE_EXPLORE, direction, step);
        evaluate_test(data, &shape, theta, ws, &eval_buf, row->loss, row->acc);
        for (int k = 0; k < 3; k++)
            row->alpha[k] = alpha_avg[k];
        row->minres_iters = mr.iterations;
        row->minres_stop = (int)mr.stop;
        row->minres_rnorm = mr.rnorm;
        row->wall_s = wall_seconds() - start;
        if (!all_finite(row->loss, 3)) {
            pareto_fail(err, "exploration job w%d/d%s step %d: test loss is not finite",
                        weight_index, bits, step);
            goto done;
        }
        if (progress)
            progress(progress_ctx, row, step, cfg->explore_steps);
    }
    status = 0;
done:
    batch_buffer_free(&eval_buf);
    free(jac);
    free(jac_avg);
    free(rhs);
    free(x);
    free(work);
    mlp_hvp_free(hvp);
    mlp_workspace_free(ws);
    loader_free(&jac_loader);
    loader_free(&hvp_loader);
    return status;
}
