/*
 * jobs.h - the two kinds of job of a run, each a plain function call with its own inputs and
 * its own random stream:
 *
 *   SGD job (weight index i): weighted-sum SGD from the shared initial network, evaluating the
 *   test set after every epoch.
 *   Exploration job (i, d): continuous Pareto exploration from SGD job i's network along
 *   direction d (1..6), evaluating the test set after every step.
 *
 * Jobs print nothing; they report progress through an optional callback and fill result rows.
 */
#ifndef PARETO_JOBS_H
#define PARETO_JOBS_H

#include "pareto/census.h"
#include "pareto/config.h"
#include "pareto/error.h"
#include "pareto/minres.h"
#include "pareto/mlp.h"
#include "pareto/results.h"
#include "pareto/team.h"

/* --- the units the jobs are made of, public for tests and benchmarks ------------------ */

/*
 * Every SGD, Jacobian and HVP batch is cut into BATCH_BLOCKS blocks of consecutive rows.
 * Each block's contribution (its share of the batch mean) is computed on its own, and the
 * contributions are added in block order, so a team of 1 or BATCH_BLOCKS threads gives the
 * same bits: the number of threads never changes a result. Threads beyond BATCH_BLOCKS would
 * have no block to run; a process uses at most this many.
 */
#define BATCH_BLOCKS 2

/* Rows of block s of a batch of n rows: [first, first + count). */
void batch_block_rows(int n, int s, int *first, int *count);

/* Room for one batch of sparse rows, in the layout the network reads. */
typedef struct {
    int capacity;
    uint16_t *idx;   /* (capacity, CENSUS_NNZ) */
    float *val;      /* (capacity, CENSUS_NNZ) */
    uint8_t *labels; /* (capacity, CENSUS_TASKS) */
    sparse_batch view;
} batch_buffer;

int batch_buffer_init(batch_buffer *b, int capacity, pareto_error *err);
void batch_buffer_free(batch_buffer *b);
/* Copies rows[0..n) of split into b (b->view is the batch): the one-hot features with value 1,
 * then the six raw continuous values at their feature indices. rows == NULL means the rows
 * first..first+n-1. */
void batch_gather(const census_data *data, const census_split *split, const int32_t *rows,
                  int first, int n, batch_buffer *b);

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
} train_loader;

int train_loader_init(train_loader *ld, const census_data *data, int batch_size, rng_state rng,
                      pareto_error *err);
void train_loader_free(train_loader *ld);
/* The next batch (a batch_source: ctx is the train_loader). Valid until the next call. */
const sparse_batch *train_loader_next(void *ctx);

/*
 * The test pass: mean loss and top-1 accuracy of each task over the whole test split. The
 * split is read in chunks of TEST_CHUNK rows, thread w of the team taking chunks w, w + threads,
 * ...; every row's loss is kept, and the losses are summed in row order afterwards, so the
 * result is the same bits on any number of threads.
 */
#define TEST_CHUNK 1024
typedef struct {
    team *team;                       /* not owned; may be NULL */
    const census_data *data;
    mlp_shape shape;
    int workers;                      /* team_threads(team) */
    mlp_workspace *ws[BATCH_BLOCKS];   /* one per thread */
    batch_buffer buf[BATCH_BLOCKS];
    double *row_loss;                 /* (test rows, tasks) */
    uint8_t *row_correct;             /* (test rows, tasks) */
    const real *theta;                /* the network of the pass under way */
} test_evaluator;

int test_evaluator_init(test_evaluator *ev, const census_data *data, const mlp_shape *shape,
                        team *team, pareto_error *err);
void test_evaluator_free(test_evaluator *ev);
void evaluate_test(test_evaluator *ev, const real *theta, double *loss, double *acc);

/* lr0 (1 + cos(pi t / total)) / 2: PyTorch's CosineAnnealingLR, stepped once per batch. */
double cosine_lr(double lr0, long t, long total);

/*
 * One SGD step with momentum (PyTorch's convention): g = the gradient of sum_k weight_k L_k on
 * the batch; velocity <- momentum velocity + g; theta <- theta - lr velocity. The batch is cut
 * into BATCH_BLOCKS blocks: g is the sum, in block order, of each block's share (n_s / n) of
 * the batch mean. The blocks' backward passes, then ranges of the update (each row of dW1
 * summed over the blocks and applied at once), run on the team's threads.
 */
typedef struct {
    team *team;                       /* not owned; may be NULL */
    mlp_shape shape;
    size_t n;                         /* parameters */
    mlp_workspace *ws[BATCH_BLOCKS];
    real *grad[BATCH_BLOCKS];         /* (P) each block's share of g, but for dW1 */
    real *row_grad[BATCH_BLOCKS];     /* (h1) one row of dW1, per part of the update */
    mlp_workspace *active[BATCH_BLOCKS]; /* the workspaces of the nonempty blocks, in order */
    int n_active;
    /* the step under way */
    const sparse_batch *batch;
    const double *weight;
    real *theta, *velocity;
    real lr, momentum;
} sgd_workspace;

int sgd_workspace_init(sgd_workspace *sw, const mlp_shape *shape, int batch_size, team *team,
                       pareto_error *err);
void sgd_workspace_free(sgd_workspace *sw);
void sgd_step(sgd_workspace *sw, real *theta, real *velocity, const sparse_batch *batch,
              const double *weight, double lr, double momentum);

/* Supplies the next batch of a stream of batches. */
typedef const sparse_batch *(*batch_source)(void *ctx);

/*
 * The operator of the exploration's linear system, y = (H + damping I) x, with H the Hessian
 * of sum_k alpha_k L_k on one batch; a minres_matvec with ctx a damped_hessian. The batch is
 * cut into BATCH_BLOCKS blocks (see above): block s holds n_s of the n rows, contributes
 * H_s x with H_s the Hessian of (n_s / n) sum_k alpha_k L_k on its rows, and the blocks run on
 * the team's threads.
 */
typedef struct {
    team *team;                       /* not owned; NULL runs the blocks in order */
    size_t n;                         /* parameters */
    int tasks;
    real damping;
    int max_batch;
    int block_rows[BATCH_BLOCKS];      /* rows of each block of the prepared batch */
    mlp_hvp *block[BATCH_BLOCKS];
    real *block_hv[BATCH_BLOCKS];      /* H_s x; block 0 writes straight into y */
    const real *x;                    /* the vectors of the product under way */
    real *y;
} damped_hessian;

int damped_hessian_init(damped_hessian *op, const mlp_shape *shape, int max_batch, team *team,
                        pareto_error *err);
void damped_hessian_free(damped_hessian *op);
/* Forward and first-order backward pass of the batch, once for every product that follows;
 * the batch's arrays and theta must stay alive meanwhile. batch->n <= max_batch. */
void damped_hessian_prepare(damped_hessian *op, const real *theta, const sparse_batch *batch,
                            const double *alpha, real damping);
void damped_hessian_apply(void *ctx, const real *x, real *y);

/* What an exploration carries from step to step, and its scratch. */
typedef struct {
    mlp_shape shape;
    size_t n_params;
    team *team;              /* not owned; may be NULL */
    mlp_workspace *ws[BATCH_BLOCKS]; /* one per block of a Jacobian batch */
    real *jac_block;         /* (BATCH_BLOCKS - 1, 3, P) the sums of blocks 1.. */
    damped_hessian hessian;
    real *jac;               /* (3, P) this step's per-task gradients J */
    real *jac_avg;           /* (3, P) their running average J_avg */
    real *rhs, *x, *work;    /* MINRES right-hand side, solution, scratch */
    double alpha[3];         /* this step's min-norm weights */
    double alpha_avg[3];     /* their running average */
} explore_state;

int explore_state_init(explore_state *st, const mlp_shape *shape, int max_batch,
                       int hvp_batch, team *team, pareto_error *err);
void explore_state_free(explore_state *st);

/* jac (3, P) = per-task gradients averaged over the next n_batches batches of src, the blocks
 * of each batch on the state's team. */
int jacobian_average(explore_state *st, const real *theta, batch_source src, void *ctx,
                     int n_batches, real *jac, pareto_error *err);

/* J_avg <- per-task gradients averaged over n_batches batches of src; alpha_avg <- the
 * min-norm weights of J_avg. */
int explore_begin(explore_state *st, const real *theta, batch_source src, void *ctx,
                  int n_batches, pareto_error *err);

/* One exploration step along direction (1..6; character k of its 3 bits selects task k+1):
 *   J from n_jac_batches batches of jac_src; J_avg <- m J_avg + (1-m) J;
 *   alpha <- min-norm(J); alpha_avg <- m alpha_avg + (1-m) alpha;
 *   solve (H + damping I) x = sum_{k in d} J_avg_k by MINRES from x0 = mean_k J_avg_k, where H
 *   is the Hessian of sum_k alpha_avg_k L_k on hvp_batch;  theta <- theta - lr x / |x|.
 * m, damping, lr and the MINRES limits come from cfg. */
int explore_step(explore_state *st, const pareto_config *cfg, int direction, real *theta,
                 batch_source jac_src, void *jac_ctx, int n_jac_batches,
                 const sparse_batch *hvp_batch, minres_result *mr, pareto_error *err);

/* --- the jobs -------------------------------------------------------------------------- */

/* Called after each epoch or step with the row just filled; may be NULL. */
typedef void (*job_progress)(void *ctx, const result_row *row, int done, int total);

/* The network every SGD job starts from: drawn from the run's seed. */
void jobs_initial_params(const pareto_config *cfg, const mlp_shape *shape, real *theta);

/* rows has cfg->sgd_epochs entries. theta holds the start on entry and the result on exit.
 * team (may be NULL) runs the blocks of each batch and the test passes. */
int sgd_job(const pareto_config *cfg, const census_data *data, int weight_index, real *theta,
            team *team, result_row *rows, job_progress progress, void *progress_ctx,
            pareto_error *err);

/* rows has cfg->explore_steps entries. theta holds SGD job i's network on entry and the last
 * step's network on exit. team (may be NULL) runs the blocks of each batch. */
int explore_job(const pareto_config *cfg, const census_data *data, int weight_index,
                int direction, real *theta, team *team, result_row *rows, job_progress progress,
                void *progress_ctx, pareto_error *err);

#endif
