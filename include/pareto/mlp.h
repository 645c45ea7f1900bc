/*
 * mlp.h - the multi-task MLP: in -> h1 -> ReLU -> h2 -> ReLU -> one 2-way head per task.
 *
 * All parameters live in one flat buffer theta of mlp_num_params() reals; a gradient, a
 * Hessian-vector product or a MINRES iterate is a second buffer of the same layout. Layers use
 * the row-vector convention (Z = X W + b), so every weight is stored input-major:
 *
 *   W1 (in, h1)   b1 (h1)   W2 (h1, h2)   b2 (h2)   W3 (h2, 2*tasks)   b3 (2*tasks)
 *
 * Head k owns columns 2k and 2k+1 of W3 and b3. The loss of task k is the mean softmax
 * cross-entropy of head k over the batch.
 */
#ifndef PARETO_MLP_H
#define PARETO_MLP_H

#include <stddef.h>
#include "pareto/real.h"
#include "pareto/rng.h"
#include "pareto/sparse.h"

#define MLP_MAX_TASKS 8
#define MLP_MAX_NNZ 64  /* nonzero inputs per row */

typedef struct {
    int in, h1, h2, tasks;
} mlp_shape;

typedef struct {
    size_t w1, b1, w2, b2, w3, b3; /* offsets into theta */
    size_t total;                  /* number of parameters */
} mlp_layout;

/* The network of the paper: 487 -> 256 -> 128 -> 3 x 2. */
mlp_shape mlp_census_shape(void);
mlp_layout mlp_layout_of(const mlp_shape *shape);
size_t mlp_num_params(const mlp_shape *shape);

/* PyTorch nn.Linear default: weights and biases uniform in +-1/sqrt(fan_in). */
void mlp_init(const mlp_shape *shape, real *theta, rng_state *rng);

/* Activations and scratch for batches of up to max_batch rows; reused by every call. */
typedef struct mlp_workspace mlp_workspace;
mlp_workspace *mlp_workspace_new(const mlp_shape *shape, int max_batch);
void mlp_workspace_free(mlp_workspace *ws);

/* Sums over the batch of each task's cross-entropy and count of correct top-1 predictions
 * (added to loss_sum[k] and correct[k]). */
void mlp_evaluate(const mlp_shape *shape, const real *theta, const sparse_batch *batch,
                  mlp_workspace *ws, double *loss_sum, long *correct);

/* Each row's cross-entropy of each task, loss (n, tasks), and whether its top-1 prediction is
 * right, correct (n, tasks): the terms mlp_evaluate sums, for a caller that sums them itself. */
void mlp_row_losses(const mlp_shape *shape, const real *theta, const sparse_batch *batch,
                    mlp_workspace *ws, double *loss, uint8_t *correct);

/* grad = d/dtheta of sum_k weight[k] * L_k on the batch (overwritten); loss[k] = L_k. */
void mlp_weighted_grad(const mlp_shape *shape, const real *theta, const sparse_batch *batch,
                       const double *weight, mlp_workspace *ws, real *grad, double *loss);

/* The pieces of mlp_weighted_grad, for a caller that sums the first layer of several blocks
 * of a batch itself: _upper sets every part of grad but the W1 block (left untouched) and
 * keeps the batch's first-layer deltas and its nonzeros by feature in ws; then
 * mlp_first_layer_grad_row sets out (h1) to row `feature` of dW1 = sum over the blocks, in
 * order, of X_b^T D1_b. */
void mlp_weighted_grad_upper(const mlp_shape *shape, const real *theta, const sparse_batch *batch,
                             const double *weight, mlp_workspace *ws, real *grad, double *loss);
void mlp_first_layer_grad_row(const mlp_shape *shape, mlp_workspace *const *blocks, int n_blocks,
                              int feature, real *out);

/* jac (tasks, P) += scale * the gradient of each L_k on the batch, one row per task; the
 * forward pass is shared by the tasks. */
void mlp_task_grads_add(const mlp_shape *shape, const real *theta, const sparse_batch *batch,
                        real scale, mlp_workspace *ws, real *jac);

/*
 * Exact Hessian-vector products of sum_k alpha[k] * L_k on one batch (Pearlmutter's
 * R-operator: forward-over-reverse, no finite differences, no Hessian formed). The forward and
 * first-order backward pass are done once by mlp_hvp_prepare and reused by every
 * mlp_hvp_apply until the next prepare. The batch's arrays must stay alive meanwhile.
 */
typedef struct mlp_hvp mlp_hvp;
mlp_hvp *mlp_hvp_new(const mlp_shape *shape, int max_batch);
void mlp_hvp_free(mlp_hvp *hvp);
void mlp_hvp_prepare(mlp_hvp *hvp, const real *theta, const sparse_batch *batch,
                     const double *alpha);
/* hv = H v. */
void mlp_hvp_apply(mlp_hvp *hvp, const real *v, real *hv);

#endif
