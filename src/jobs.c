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

#define PI 3.14159265358979323846

/* --- batches --------------------------------------------------------------------------- */

int batch_buffer_init(batch_buffer *b, int capacity, pareto_error *err)
{
    memset(b, 0, sizeof *b);
    b->capacity = capacity;
    b->idx = pareto_malloc((size_t)capacity * CENSUS_NNZ * sizeof *b->idx, "batch", err);
    b->val = pareto_malloc((size_t)capacity * CENSUS_NNZ * sizeof *b->val, "batch", err);
    b->labels = pareto_malloc((size_t)capacity * CENSUS_TASKS, "batch labels", err);
    return b->idx && b->val && b->labels ? 0 : -1;
}

void batch_buffer_free(batch_buffer *b)
{
    free(b->idx);
    free(b->val);
    free(b->labels);
}

void batch_gather(const census_data *data, const census_split *split, const int32_t *rows,
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

int train_loader_init(train_loader *ld, const census_data *data, int batch_size, rng_state rng,
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

void train_loader_free(train_loader *ld)
{
    free(ld->perm);
    batch_buffer_free(&ld->buf);
}

const sparse_batch *train_loader_next(void *ctx)
{
    train_loader *ld = ctx;
    if (ld->next_batch == ld->batches_per_epoch) {
        int n = ld->data->train.n_rows;
        for (int i = 0; i < n; i++)
            ld->perm[i] = i;
        rng_shuffle(&ld->rng, ld->perm, (size_t)n);
        ld->next_batch = 0;
    }
    const int32_t *rows = ld->perm + (size_t)ld->next_batch * ld->batch_size;
    batch_gather(ld->data, &ld->data->train, rows, 0, ld->batch_size, &ld->buf);
    ld->next_batch++;
    return &ld->buf.view;
}

/* --- evaluation ------------------------------------------------------------------------ */

int test_evaluator_init(test_evaluator *ev, const census_data *data, const mlp_shape *shape,
                        team *team, pareto_error *err)
{
    memset(ev, 0, sizeof *ev);
    ev->team = team;
    ev->data = data;
    ev->shape = *shape;
    ev->workers = team_threads(team) < BATCH_BLOCKS ? team_threads(team) : BATCH_BLOCKS;
    size_t terms = (size_t)data->test.n_rows * shape->tasks;
    ev->row_loss = pareto_malloc((terms ? terms : 1) * sizeof *ev->row_loss, "test losses", err);
    ev->row_correct = pareto_malloc(terms ? terms : 1, "test predictions", err);
    if (!ev->row_loss || !ev->row_correct) {
        test_evaluator_free(ev);
        return -1;
    }
    for (int w = 0; w < ev->workers; w++) {
        ev->ws[w] = mlp_workspace_new(shape, TEST_CHUNK);
        if (!ev->ws[w]) {
            test_evaluator_free(ev);
            return pareto_fail(err, "out of memory for the test pass workspace");
        }
        if (batch_buffer_init(&ev->buf[w], TEST_CHUNK, err) != 0) {
            test_evaluator_free(ev);
            return -1;
        }
    }
    return 0;
}

void test_evaluator_free(test_evaluator *ev)
{
    for (int w = 0; w < BATCH_BLOCKS; w++) {
        mlp_workspace_free(ev->ws[w]);
        batch_buffer_free(&ev->buf[w]);
    }
    free(ev->row_loss);
    free(ev->row_correct);
    memset(ev, 0, sizeof *ev);
}

/* Thread w: the per-row losses of chunks w, w + workers, ... */
static void test_chunks(void *ctx, int w)
{
    test_evaluator *ev = ctx;
    const census_data *data = ev->data;
    int n = data->test.n_rows, tasks = ev->shape.tasks;
    for (int first = w * TEST_CHUNK; first < n; first += ev->workers * TEST_CHUNK) {
        int count = n - first < TEST_CHUNK ? n - first : TEST_CHUNK;
        batch_gather(data, &data->test, NULL, first, count, &ev->buf[w]);
        mlp_row_losses(&ev->shape, ev->theta, &ev->buf[w].view, ev->ws[w],
                       ev->row_loss + (size_t)first * tasks,
                       ev->row_correct + (size_t)first * tasks);
    }
}

void evaluate_test(test_evaluator *ev, const real *theta, double *loss, double *acc)
{
    int n = ev->data->test.n_rows, tasks = ev->shape.tasks;
    ev->theta = theta;
    team_run(ev->team, ev->workers, test_chunks, ev);

    double loss_sum[MLP_MAX_TASKS] = {0};
    long correct[MLP_MAX_TASKS] = {0};
    for (size_t i = 0; i < (size_t)n; i++) {
        for (int k = 0; k < tasks; k++) {
            loss_sum[k] += ev->row_loss[i * tasks + k];
            correct[k] += ev->row_correct[i * tasks + k];
        }
    }
    for (int k = 0; k < tasks; k++) {
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

double cosine_lr(double lr0, long t, long total)
{
    return lr0 * 0.5 * (1.0 + cos(PI * (double)t / (double)total));
}

int sgd_workspace_init(sgd_workspace *sw, const mlp_shape *shape, int batch_size, team *team,
                       pareto_error *err)
{
    memset(sw, 0, sizeof *sw);
    sw->team = team;
    sw->shape = *shape;
    sw->n = mlp_num_params(shape);
    int block_max = (batch_size + BATCH_BLOCKS - 1) / BATCH_BLOCKS;
    for (int s = 0; s < BATCH_BLOCKS; s++) {
        sw->ws[s] = mlp_workspace_new(shape, block_max > 0 ? block_max : 1);
        if (!sw->ws[s]) {
            sgd_workspace_free(sw);
            return pareto_fail(err, "out of memory for the network workspace");
        }
        sw->grad[s] = pareto_malloc(sw->n * sizeof(real), "gradient", err);
        sw->row_grad[s] = pareto_malloc((size_t)shape->h1 * sizeof(real), "gradient row", err);
        if (!sw->grad[s] || !sw->row_grad[s]) {
            sgd_workspace_free(sw);
            return -1;
        }
    }
    return 0;
}

void sgd_workspace_free(sgd_workspace *sw)
{
    for (int s = 0; s < BATCH_BLOCKS; s++) {
        mlp_workspace_free(sw->ws[s]);
        free(sw->grad[s]);
        free(sw->row_grad[s]);
    }
    memset(sw, 0, sizeof *sw);
}

static void sgd_grad_block(void *ctx, int s)
{
    sgd_workspace *sw = ctx;
    const sparse_batch *batch = sw->batch;
    int first, count;
    batch_block_rows(batch->n, s, &first, &count);
    if (count == 0) {
        memset(sw->grad[s], 0, sw->n * sizeof(real)); /* a batch of fewer rows than blocks */
        return;
    }
    /* block s carries n_s / n of the batch mean; its dW1 waits for sgd_update_part */
    double weight[MLP_MAX_TASKS];
    for (int k = 0; k < sw->shape.tasks; k++)
        weight[k] = sw->weight[k] * count / batch->n;
    sparse_batch rows = batch_rows_view(batch, first, count, sw->shape.tasks);
    mlp_weighted_grad_upper(&sw->shape, sw->theta, &rows, weight, sw->ws[s], sw->grad[s],
                            NULL);
}

/* buf <- mu * buf + g;  theta <- theta - lr * buf, over [lo, hi) */
static void momentum_update(real *restrict velocity, real *restrict theta,
                            const real *restrict g, size_t lo, size_t hi, real mu, real lr)
{
    for (size_t i = lo; i < hi; i++) {
        velocity[i] = mu * velocity[i] + g[i];
        theta[i] -= lr * velocity[i];
    }
}

/* Part p updates one range of the first layer's rows (features) and one range of the other
 * parameters. A row of dW1 is summed over the blocks straight into scratch and applied at
 * once; the other gradients are added block by block. */
static void sgd_update_part(void *ctx, int part)
{
    sgd_workspace *sw = ctx;
    mlp_layout l = mlp_layout_of(&sw->shape);
    int in = sw->shape.in, h1 = sw->shape.h1;
    real mu = sw->momentum, lr = sw->lr;

    real *row = sw->row_grad[part];
    int j0 = in * part / BATCH_BLOCKS, j1 = in * (part + 1) / BATCH_BLOCKS;
    for (int j = j0; j < j1; j++) {
        size_t at = l.w1 + (size_t)j * h1;
        mlp_first_layer_grad_row(&sw->shape, sw->active, sw->n_active, j, row);
        momentum_update(sw->velocity + at, sw->theta + at, row, 0, (size_t)h1, mu, lr);
    }

    size_t rest = l.total - l.b1;
    size_t lo = l.b1 + rest * (size_t)part / BATCH_BLOCKS;
    size_t hi = l.b1 + rest * (size_t)(part + 1) / BATCH_BLOCKS;
    real *g = sw->grad[0];
    for (int s = 1; s < BATCH_BLOCKS; s++)
        for (size_t i = lo; i < hi; i++)
            g[i] += sw->grad[s][i];
    momentum_update(sw->velocity, sw->theta, g, lo, hi, mu, lr);
}

void sgd_step(sgd_workspace *sw, real *theta, real *velocity, const sparse_batch *batch,
              const double *weight, double lr, double momentum)
{
    sw->batch = batch;
    sw->weight = weight;
    sw->theta = theta;
    sw->velocity = velocity;
    sw->lr = (real)lr;
    sw->momentum = (real)momentum;
    sw->n_active = 0;
    for (int s = 0; s < BATCH_BLOCKS; s++) {
        int first, count;
        batch_block_rows(batch->n, s, &first, &count);
        if (count > 0)
            sw->active[sw->n_active++] = sw->ws[s];
    }
    team_run(sw->team, BATCH_BLOCKS, sgd_grad_block, sw);
    team_run(sw->team, BATCH_BLOCKS, sgd_update_part, sw);
}

int sgd_job(const pareto_config *cfg, const census_data *data, int weight_index, real *theta,
            team *team, result_row *rows, job_progress progress, void *progress_ctx,
            pareto_error *err)
{
    mlp_shape shape = mlp_census_shape();
    size_t p = mlp_num_params(&shape);
    double weight[3];
    if (weight_vector(cfg, weight_index, weight, err) != 0)
        return -1;

    rng_state rng;
    rng_seed(&rng, cfg->seed, RNG_PURPOSE_SGD, (uint64_t)weight_index, 0);
    train_loader ld;
    if (train_loader_init(&ld, data, cfg->sgd_batch_size, rng, err) != 0)
        return -1;
    sgd_workspace sw;
    test_evaluator ev;
    memset(&sw, 0, sizeof sw);
    memset(&ev, 0, sizeof ev);
    real *velocity = pareto_calloc(p, sizeof(real), "momentum buffer", err);
    int status = -1;
    if (!velocity || sgd_workspace_init(&sw, &shape, cfg->sgd_batch_size, team, err) != 0 ||
        test_evaluator_init(&ev, data, &shape, team, err) != 0)
        goto done;

    /* Cosine annealing over every batch of every epoch, stepped after each batch. */
    long total_steps = (long)cfg->sgd_epochs * ld.batches_per_epoch, t = 0;
    for (int epoch = 1; epoch <= cfg->sgd_epochs; epoch++) {
        double start = wall_seconds();
        for (int b = 0; b < ld.batches_per_epoch; b++, t++)
            sgd_step(&sw, theta, velocity, train_loader_next(&ld), weight,
                     cosine_lr(cfg->sgd_lr, t, total_steps), cfg->sgd_momentum);

        result_row *row = &rows[epoch - 1];
        fill_row_identity(row, weight, weight_index, PHASE_SGD, 0, epoch);
        evaluate_test(&ev, theta, row->loss, row->acc);
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
    test_evaluator_free(&ev);
    sgd_workspace_free(&sw);
    free(velocity);
    train_loader_free(&ld);
    return status;
}

/* --- blocks of a batch ------------------------------------------------------------------ */

void batch_block_rows(int n, int s, int *first, int *count)
{
    int lo = (int)((long)n * s / BATCH_BLOCKS), hi = (int)((long)n * (s + 1) / BATCH_BLOCKS);
    *first = lo;
    *count = hi - lo;
}

/* Adds block sums to a total in block order, over the index range of one part:
 * total[i] = (total[i] + block[0][i]) + block[1][i] + ... */
typedef struct {
    real *total;
    const real *blocks; /* (count, n) */
    int count;
    size_t n;
} block_sum;

static void add_blocks_part(void *ctx, int part)
{
    block_sum *b = ctx;
    size_t lo = b->n * (size_t)part / BATCH_BLOCKS, hi = b->n * (size_t)(part + 1) / BATCH_BLOCKS;
    for (int s = 0; s < b->count; s++) {
        const real *block = b->blocks + (size_t)s * b->n;
        for (size_t i = lo; i < hi; i++)
            b->total[i] += block[i];
    }
}

/* --- the damped Hessian operator ------------------------------------------------------- */

int damped_hessian_init(damped_hessian *op, const mlp_shape *shape, int max_batch, team *team,
                        pareto_error *err)
{
    memset(op, 0, sizeof *op);
    op->team = team;
    op->tasks = shape->tasks;
    op->n = mlp_num_params(shape);
    op->max_batch = max_batch;
    int block_max = (max_batch + BATCH_BLOCKS - 1) / BATCH_BLOCKS;
    for (int s = 0; s < BATCH_BLOCKS; s++) {
        op->block[s] = mlp_hvp_new(shape, block_max > 0 ? block_max : 1);
        if (!op->block[s]) {
            damped_hessian_free(op);
            return pareto_fail(err, "out of memory for the Hessian-vector product buffers");
        }
        if (s > 0 && !(op->block_hv[s] = pareto_malloc(op->n * sizeof(real), "HVP block",
                                                       err))) {
            damped_hessian_free(op);
            return -1;
        }
    }
    return 0;
}

void damped_hessian_free(damped_hessian *op)
{
    for (int s = 0; s < BATCH_BLOCKS; s++) {
        mlp_hvp_free(op->block[s]);
        free(op->block_hv[s]);
    }
    memset(op, 0, sizeof *op);
}

typedef struct {
    damped_hessian *op;
    const real *theta;
    const sparse_batch *batch;
    const double *alpha;
} hessian_prepare_ctx;

static void prepare_block(void *ctx, int s)
{
    hessian_prepare_ctx *c = ctx;
    const sparse_batch *batch = c->batch;
    int first, count;
    batch_block_rows(batch->n, s, &first, &count);
    c->op->block_rows[s] = count;
    if (count == 0)
        return;
    /* block s carries n_s / n of the batch mean */
    double alpha[MLP_MAX_TASKS];
    for (int k = 0; k < c->op->tasks; k++)
        alpha[k] = c->alpha[k] * count / batch->n;
    sparse_batch rows = batch_rows_view(batch, first, count, c->op->tasks);
    mlp_hvp_prepare(c->op->block[s], c->theta, &rows, alpha);
}

void damped_hessian_prepare(damped_hessian *op, const real *theta, const sparse_batch *batch,
                            const double *alpha, real damping)
{
    op->damping = damping;
    hessian_prepare_ctx c = {op, theta, batch, alpha};
    team_run(op->team, BATCH_BLOCKS, prepare_block, &c);
}

static void apply_block(void *ctx, int s)
{
    damped_hessian *op = ctx;
    real *out = s == 0 ? op->y : op->block_hv[s];
    if (op->block_rows[s] == 0)
        memset(out, 0, op->n * sizeof(real)); /* a batch of fewer rows than blocks */
    else
        mlp_hvp_apply(op->block[s], op->x, out);
}

static void finish_apply_part(void *ctx, int part)
{
    damped_hessian *op = ctx;
    size_t lo = op->n * (size_t)part / BATCH_BLOCKS, hi = op->n * (size_t)(part + 1) / BATCH_BLOCKS;
    real *y = op->y;
    /* y <- ((H_0 x + H_1 x) + ...) + damping x */
    for (int s = 1; s < BATCH_BLOCKS; s++)
        for (size_t i = lo; i < hi; i++)
            y[i] += op->block_hv[s][i];
    for (size_t i = lo; i < hi; i++)
        y[i] += op->damping * op->x[i];
}

void damped_hessian_apply(void *ctx, const real *x, real *y)
{
    damped_hessian *op = ctx;
    op->x = x;
    op->y = y;
    team_run(op->team, BATCH_BLOCKS, apply_block, op);
    team_run(op->team, BATCH_BLOCKS, finish_apply_part, op);
}

/* --- continuous Pareto exploration ----------------------------------------------------- */

int explore_state_init(explore_state *st, const mlp_shape *shape, int max_batch,
                       int hvp_batch, team *team, pareto_error *err)
{
    memset(st, 0, sizeof *st);
    size_t p = mlp_num_params(shape);
    st->shape = *shape;
    st->n_params = p;
    st->team = team;
    for (int s = 0; s < BATCH_BLOCKS; s++) {
        st->ws[s] = mlp_workspace_new(shape, max_batch);
        if (!st->ws[s]) {
            explore_state_free(st);
            return pareto_fail(err, "out of memory for the network workspace");
        }
    }
    if (damped_hessian_init(&st->hessian, shape, hvp_batch, team, err) != 0) {
        explore_state_free(st);
        return -1;
    }
    st->jac_block = pareto_malloc((BATCH_BLOCKS - 1) * 3 * p * sizeof(real), "Jacobian blocks",
                                  err);
    st->jac = pareto_malloc(3 * p * sizeof(real), "Jacobian", err);
    st->jac_avg = pareto_malloc(3 * p * sizeof(real), "Jacobian average", err);
    st->rhs = pareto_malloc(p * sizeof(real), "MINRES right-hand side", err);
    st->x = pareto_malloc(p * sizeof(real), "MINRES solution", err);
    st->work = pareto_malloc(minres_work_size(p) * sizeof(real), "MINRES workspace", err);
    if (!st->jac_block || !st->jac || !st->jac_avg || !st->rhs || !st->x || !st->work) {
        explore_state_free(st);
        return -1;
    }
    return 0;
}

void explore_state_free(explore_state *st)
{
    for (int s = 0; s < BATCH_BLOCKS; s++)
        mlp_workspace_free(st->ws[s]);
    damped_hessian_free(&st->hessian);
    free(st->jac_block);
    free(st->jac);
    free(st->jac_avg);
    free(st->rhs);
    free(st->x);
    free(st->work);
    memset(st, 0, sizeof *st);
}

typedef struct {
    explore_state *st;
    const real *theta;
    const sparse_batch *batch;
    double scale;
    real *jac;
} task_grads_ctx;

static void task_grads_block(void *ctx, int s)
{
    task_grads_ctx *c = ctx;
    explore_state *st = c->st;
    int first, count;
    batch_block_rows(c->batch->n, s, &first, &count);
    if (count == 0)
        return;
    sparse_batch rows = batch_rows_view(c->batch, first, count, st->shape.tasks);
    real *out = s == 0 ? c->jac : st->jac_block + (size_t)(s - 1) * 3 * st->n_params;
    /* block s carries n_s / n of the batch mean */
    mlp_task_grads_add(&st->shape, c->theta, &rows, (real)(c->scale * count / c->batch->n),
                       st->ws[s], out);
}

/* Block s of every batch is summed into its own buffer; the blocks are added at the end. */
int jacobian_average(explore_state *st, const real *theta, batch_source src, void *ctx,
                            int n_batches, real *jac, pareto_error *err)
{
    size_t n = 3 * st->n_params;
    memset(jac, 0, n * sizeof(real));
    memset(st->jac_block, 0, (BATCH_BLOCKS - 1) * n * sizeof(real));
    task_grads_ctx c = {st, theta, NULL, 1.0 / n_batches, jac};
    for (int b = 0; b < n_batches; b++) {
        c.batch = src(ctx);
        team_run(st->team, BATCH_BLOCKS, task_grads_block, &c);
    }
    block_sum sum = {jac, st->jac_block, BATCH_BLOCKS - 1, n};
    team_run(st->team, BATCH_BLOCKS, add_blocks_part, &sum);
    if (!vector_finite(jac, n))
        return pareto_fail(err, "a task gradient is not finite");
    return 0;
}

int explore_begin(explore_state *st, const real *theta, batch_source src, void *ctx,
                  int n_batches, pareto_error *err)
{
    /* J_avg <- per-task gradients over n_batches; alpha_avg <- min-norm weights of J_avg */
    if (jacobian_average(st, theta, src, ctx, n_batches, st->jac_avg, err) != 0)
        return -1;
    min_norm_info info;
    if (min_norm_weights(3, st->n_params, st->jac_avg, st->alpha_avg, &info) != 0)
        return pareto_fail(err, "the min-norm weights of the initial Jacobian failed");
    return 0;
}

int explore_step(explore_state *st, const pareto_config *cfg, int direction, real *theta,
                 batch_source jac_src, void *jac_ctx, int n_jac_batches,
                 const sparse_batch *hvp_batch, minres_result *mr, pareto_error *err)
{
    size_t p = st->n_params;
    double mu = cfg->explore_momentum;
    char bits[4];
    direction_bits(direction, bits);

    /* 1. J <- per-task gradients over the next batches; J_avg <- mu J_avg + (1 - mu) J */
    if (jacobian_average(st, theta, jac_src, jac_ctx, n_jac_batches, st->jac, err) != 0)
        return -1;
    for (size_t i = 0; i < 3 * p; i++)
        st->jac_avg[i] = (real)(mu * st->jac_avg[i] + (1.0 - mu) * st->jac[i]);

    /* 2. alpha <- min-norm weights of J; alpha_avg <- mu alpha_avg + (1 - mu) alpha */
    min_norm_info info;
    if (min_norm_weights(3, p, st->jac, st->alpha, &info) != 0)
        return pareto_fail(err, "the min-norm weights failed");
    for (int k = 0; k < 3; k++)
        st->alpha_avg[k] = mu * st->alpha_avg[k] + (1.0 - mu) * st->alpha[k];

    /* 3. A = H + damping I, H the Hessian of sum_k alpha_avg_k L_k on the HVP batch */
    damped_hessian_prepare(&st->hessian, theta, hvp_batch, st->alpha_avg, (real)cfg->damping);

    /* 4. solve A x = sum_{k in d} J_avg_k from x0 = mean_k J_avg_k */
    memset(st->rhs, 0, p * sizeof(real));
    for (int k = 0; k < 3; k++)
        if (bits[k] == '1')
            REAL_AXPY((int)p, 1, st->jac_avg + (size_t)k * p, 1, st->rhs, 1);
    const real *j0 = st->jac_avg, *j1 = j0 + p, *j2 = j1 + p;
    for (size_t i = 0; i < p; i++)
        st->x[i] = (real)(((double)j0[i] + j1[i] + j2[i]) / 3.0);
    minres_options mopts = {cfg->minres_max_iter, cfg->minres_rtol};
    *mr = minres_solve(p, damped_hessian_apply, &st->hessian, st->rhs, st->x, 1, &mopts, st->work);
    double norm = 0;
    for (size_t i = 0; i < p; i++)
        norm += (double)st->x[i] * st->x[i];
    norm = sqrt(norm);
    if (mr->stop == MINRES_NONFINITE || !isfinite(norm) || norm == 0)
        return pareto_fail(err, "MINRES gave no usable direction (stop %s after %d "
                           "iterations, |x| = %g)", minres_stop_name(mr->stop), mr->iterations,
                           norm);

    /* 5. theta <- theta - lr x / |x| */
    REAL_AXPY((int)p, (real)(-cfg->explore_lr / norm), st->x, 1, theta, 1);
    return 0;
}

int explore_job(const pareto_config *cfg, const census_data *data, int weight_index,
                int direction, real *theta, team *team, result_row *rows, job_progress progress,
                void *progress_ctx, pareto_error *err)
{
    mlp_shape shape = mlp_census_shape();
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
    train_loader jac_loader, hvp_loader;
    if (train_loader_init(&jac_loader, data, cfg->sgd_batch_size, jac_rng, err) != 0)
        return -1;
    if (train_loader_init(&hvp_loader, data, cfg->hvp_batch, hvp_rng, err) != 0) {
        train_loader_free(&jac_loader);
        return -1;
    }
    int status = -1, step = 0;
    explore_state st;
    test_evaluator ev;
    memset(&ev, 0, sizeof ev);
    if (explore_state_init(&st, &shape, cfg->sgd_batch_size, cfg->hvp_batch, team, err) != 0) {
        train_loader_free(&jac_loader);
        train_loader_free(&hvp_loader);
        return -1;
    }
    if (test_evaluator_init(&ev, data, &shape, team, err) != 0)
        goto done;

    /* The momentum buffers start from one full pass of the Jacobian loader. */
    if (explore_begin(&st, theta, train_loader_next, &jac_loader, jac_loader.batches_per_epoch,
                      err) != 0)
        goto fail;
    int jac_batches = (int)(jac_loader.batches_per_epoch * cfg->jacobian_fraction);
    if (jac_batches < 1)
        jac_batches = 1;

    for (step = 1; step <= cfg->explore_steps; step++) {
        double start = wall_seconds();
        minres_result mr;
        if (explore_step(&st, cfg, direction, theta, train_loader_next, &jac_loader, jac_batches,
                         train_loader_next(&hvp_loader), &mr, err) != 0)
            goto fail;

        /* 6. evaluate */
        result_row *row = &rows[step - 1];
        fill_row_identity(row, weight, weight_index, PHASE_EXPLORE, direction, step);
        evaluate_test(&ev, theta, row->loss, row->acc);
        for (int k = 0; k < 3; k++)
            row->alpha[k] = st.alpha_avg[k];
        row->minres_iters = mr.iterations;
        row->minres_stop = (int)mr.stop;
        row->minres_rnorm = mr.rnorm;
        row->wall_s = wall_seconds() - start;
        if (!all_finite(row->loss, 3)) {
            pareto_fail(err, "test loss is not finite");
            goto fail;
        }
        if (progress)
            progress(progress_ctx, row, step, cfg->explore_steps);
    }
    status = 0;
    goto done;
fail:
    {
        pareto_error inner = *err;
        pareto_fail(err, "exploration job w%d/d%s %s %d: %s", weight_index, bits,
                    step ? "step" : "before step", step ? step : 1, inner.msg);
    }
done:
    test_evaluator_free(&ev);
    explore_state_free(&st);
    train_loader_free(&jac_loader);
    train_loader_free(&hvp_loader);
    return status;
}
