/*
 * mlp.c - forward pass, per-task and weighted gradients, and exact Hessian-vector products of
 * the multi-task MLP (see mlp.h for the parameter layout).
 *
 * Notation, batch of B rows, row-vector convention:
 *   Z1 = X W1 + b1,  A1 = relu(Z1)          X is sparse (B, in), A1 is (B, h1)
 *   Z2 = A1 W2 + b2, A2 = relu(Z2)          A2 is (B, h2)
 *   O  = A2 W3 + b3                         O is (B, 2*tasks), head k = columns 2k, 2k+1
 *   L  = sum_k w_k L_k,  L_k = mean_n CE(softmax(O_n,k), y_n,k)
 * Backward: G = dL/dO, D2 = dL/dZ2, D1 = dL/dZ1. relu'(0) is taken as 0, as PyTorch does.
 */
#include "pareto/mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mlp_shape mlp_census_shape(void)
{
    mlp_shape s = {487, 256, 128, 3};
    return s;
}

mlp_layout mlp_layout_of(const mlp_shape *s)
{
    mlp_layout l;
    int out = 2 * s->tasks;
    l.w1 = 0;
    l.b1 = l.w1 + (size_t)s->in * s->h1;
    l.w2 = l.b1 + (size_t)s->h1;
    l.b2 = l.w2 + (size_t)s->h1 * s->h2;
    l.w3 = l.b2 + (size_t)s->h2;
    l.b3 = l.w3 + (size_t)s->h2 * out;
    l.total = l.b3 + (size_t)out;
    return l;
}

size_t mlp_num_params(const mlp_shape *s) { return mlp_layout_of(s).total; }

static void init_uniform(real *p, size_t n, double bound, rng_state *rng)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (real)((2.0 * rng_uniform(rng) - 1.0) * bound);
}

void mlp_init(const mlp_shape *s, real *theta, rng_state *rng)
{
    mlp_layout l = mlp_layout_of(s);
    int out = 2 * s->tasks;
    double bound1 = 1.0 / sqrt((double)s->in);
    double bound2 = 1.0 / sqrt((double)s->h1);
    double bound3 = 1.0 / sqrt((double)s->h2);
    init_uniform(theta + l.w1, (size_t)s->in * s->h1, bound1, rng);
    init_uniform(theta + l.b1, (size_t)s->h1, bound1, rng);
    init_uniform(theta + l.w2, (size_t)s->h1 * s->h2, bound2, rng);
    init_uniform(theta + l.b2, (size_t)s->h2, bound2, rng);
    init_uniform(theta + l.w3, (size_t)s->h2 * out, bound3, rng);
    init_uniform(theta + l.b3, (size_t)out, bound3, rng);
}

struct mlp_workspace {
    mlp_shape shape;
    int max_batch;
    real *a1;  /* (B, h1) */
    real *a2;  /* (B, h2) */
    real *o;   /* (B, 2T) logits, then softmax probabilities */
    real *g;   /* (B, 2T) dL/dO */
    real *d2;  /* (T, B, h2): per task, or the first block for a weighted loss */
    real *d1;  /* (T, B, h1) */
    /* The batch's input by column (feature): the rows that use feature j are
     * csc_row[csc_start[j] .. csc_start[j+1]) with values csc_val[...]. */
    int *csc_start;   /* (in + 1) */
    int *csc_row;     /* (B * MLP_MAX_NNZ) */
    real *csc_val;    /* (B * MLP_MAX_NNZ) */
};

mlp_workspace *mlp_workspace_new(const mlp_shape *s, int max_batch)
{
    mlp_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    size_t b = (size_t)max_batch;
    ws->shape = *s;
    ws->max_batch = max_batch;
    ws->a1 = malloc(b * s->h1 * sizeof(real));
    ws->a2 = malloc(b * s->h2 * sizeof(real));
    ws->o = malloc(b * 2 * s->tasks * sizeof(real));
    ws->g = malloc(b * 2 * s->tasks * sizeof(real));
    ws->d2 = malloc((size_t)s->tasks * b * s->h2 * sizeof(real));
    ws->d1 = malloc((size_t)s->tasks * b * s->h1 * sizeof(real));
    ws->csc_start = malloc(((size_t)s->in + 1) * sizeof(int));
    ws->csc_row = malloc(b * MLP_MAX_NNZ * sizeof(int));
    ws->csc_val = malloc(b * MLP_MAX_NNZ * sizeof(real));
    if (!ws->a1 || !ws->a2 || !ws->o || !ws->g || !ws->d2 || !ws->d1 || !ws->csc_start ||
        !ws->csc_row || !ws->csc_val) {
        mlp_workspace_free(ws);
        return NULL;
    }
    return ws;
}

void mlp_workspace_free(mlp_workspace *ws)
{
    if (!ws)
        return;
    free(ws->a1);
    free(ws->a2);
    free(ws->o);
    free(ws->g);
    free(ws->d2);
    free(ws->d1);
    free(ws->csc_start);
    free(ws->csc_row);
    free(ws->csc_val);
    free(ws);
}

/* --- building blocks ------------------------------------------------------------------- */

/* The sparse loops are written with GCC's vector extension: NVEC vectors of the target's
 * widest registers (TILE columns) stay in registers while the nonzeros of a row, or of a
 * feature, are summed into them, so each weight or delta row segment is read once. NVEC is
 * half the register file, which leaves room for the loads: with AVX-512, 16 vectors of 64
 * bytes cover a whole 256-wide float row; with AVX2, 8 of 32 bytes cover 64 columns (16
 * would spill to the stack). Each column's sum runs over the nonzeros in the same order
 * whatever the tile, so the results do not depend on it. vec allows unaligned access. */
#if defined(__AVX512F__)
#define VBYTES 64
#define NVEC 16
#elif defined(__AVX__)
#define VBYTES 32
#define NVEC 8
#else
#define VBYTES 16
#define NVEC 8
#endif
typedef real vec __attribute__((vector_size(VBYTES), aligned(sizeof(real))));
#define VLEN ((int)(VBYTES / sizeof(real)))
#define TILE (NVEC * VLEN)

/* out (n, h) = X W + b for the sparse X; W is (in, h). b may be NULL. */
static void sparse_affine(const sparse_batch *x, const real *restrict w,
                          const real *restrict b, int h, real *restrict out)
{
    int tiled = h - h % TILE;
    for (int n = 0; n < x->n; n++) {
        const uint16_t *idx = x->idx + (size_t)n * x->nnz;
        const float *val = x->val + (size_t)n * x->nnz;
        real *row = out + (size_t)n * h;
        for (int c0 = 0; c0 < tiled; c0 += TILE) {
            vec acc[NVEC] = {{0}};
            if (b)
                for (int i = 0; i < NVEC; i++)
                    acc[i] = *(const vec *)(b + c0 + i * VLEN);
            for (int j = 0; j < x->nnz; j++) {
                const vec *wrow = (const vec *)(w + (size_t)idx[j] * h + c0);
                real v = (real)val[j];
                for (int i = 0; i < NVEC; i++)
                    acc[i] += v * wrow[i];
            }
            for (int i = 0; i < NVEC; i++)
                *(vec *)(row + c0 + i * VLEN) = acc[i];
        }
        for (int c = tiled; c < h; c++) {
            real acc = b ? b[c] : 0;
            for (int j = 0; j < x->nnz; j++)
                acc += (real)val[j] * w[(size_t)idx[j] * h + c];
            row[c] = acc;
        }
    }
}

/* Sorts the batch's nonzeros by feature (a counting sort) into the workspace, so that each
 * weight row's gradient is summed in registers and written once, not updated per nonzero. */
static void sparse_transpose(const sparse_batch *x, int in, mlp_workspace *ws)
{
    int *start = ws->csc_start;
    memset(start, 0, ((size_t)in + 1) * sizeof(int));
    size_t total = (size_t)x->n * x->nnz;
    for (size_t e = 0; e < total; e++)
        start[x->idx[e] + 1]++;
    for (int j = 0; j < in; j++)
        start[j + 1] += start[j];
    /* csc_row doubles as the fill cursor: place entries at start[j]++ then restore. */
    for (int n = 0; n < x->n; n++) {
        for (int k = 0; k < x->nnz; k++) {
            size_t e = (size_t)n * x->nnz + k;
            int at = start[x->idx[e]]++;
            ws->csc_row[at] = n;
            ws->csc_val[at] = (real)x->val[e];
        }
    }
    for (int j = in; j > 0; j--)
        start[j] = start[j - 1];
    start[0] = 0;
}

/* db (cols) += scale * sum over rows of d (n, cols). */
static void add_column_sums(int n, int cols, const real *d, real scale, real *db)
{
    for (int i = 0; i < n; i++)
        for (int c = 0; c < cols; c++)
            db[c] += scale * d[(size_t)i * cols + c];
}

/* acc (TILE columns from c0) += row j of X^T d, and the same for one column c, for d (n, h),
 * with X given by column through sparse_transpose. */
static inline void add_feature_tile(const mlp_workspace *ws, int j, const real *d, int h, int c0,
                                    vec *acc)
{
    for (int e = ws->csc_start[j]; e < ws->csc_start[j + 1]; e++) {
        const vec *drow = (const vec *)(d + (size_t)ws->csc_row[e] * h + c0);
        real v = ws->csc_val[e];
        for (int i = 0; i < NVEC; i++)
            acc[i] += v * drow[i];
    }
}

static inline real add_feature_column(const mlp_workspace *ws, int j, const real *d, int h,
                                      int c, real acc)
{
    for (int e = ws->csc_start[j]; e < ws->csc_start[j + 1]; e++)
        acc += ws->csc_val[e] * d[(size_t)ws->csc_row[e] * h + c];
    return acc;
}

/* dw (in, h) += scale * X^T d and db (h) += scale * sum_n d_n (db may be NULL), for d (n, h),
 * with X given by column through sparse_transpose. */
static void sparse_affine_grad(const mlp_workspace *ws, int in, int n, const real *restrict d,
                               int h, real scale, real *restrict dw, real *restrict db)
{
    int tiled = h - h % TILE;
    for (int j = 0; j < in; j++) {
        if (ws->csc_start[j] == ws->csc_start[j + 1])
            continue;
        real *wrow = dw + (size_t)j * h;
        for (int c0 = 0; c0 < tiled; c0 += TILE) {
            vec acc[NVEC] = {{0}};
            add_feature_tile(ws, j, d, h, c0, acc);
            for (int i = 0; i < NVEC; i++)
                *(vec *)(wrow + c0 + i * VLEN) += scale * acc[i];
        }
        for (int c = tiled; c < h; c++)
            wrow[c] += scale * add_feature_column(ws, j, d, h, c, 0);
    }
    if (db)
        add_column_sums(n, h, d, scale, db);
}

/* out (n, cols) = a (n, k) W (k, cols) + bias, bias broadcast over rows (NULL: none). */
static void dense_affine(int n, int k, int cols, const real *a, const real *w, const real *bias,
                         real *out)
{
    real beta = 0;
    if (bias) {
        for (int i = 0; i < n; i++)
            memcpy(out + (size_t)i * cols, bias, (size_t)cols * sizeof(real));
        beta = 1;
    }
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, cols, k, 1, a, k, w, cols, beta,
              out, cols);
}

static void relu_inplace(real *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0 ? x[i] : 0;
}

/* d *= (a > 0): the ReLU mask, read from the activation it produced. */
static void relu_mask(real *d, const real *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] > 0 ? d[i] : 0;
}

/* Computes A1, A2 and the logits O into the workspace. */
static void forward(const mlp_shape *s, const real *theta, const sparse_batch *x,
                    mlp_workspace *ws)
{
    mlp_layout l = mlp_layout_of(s);
    int out = 2 * s->tasks;
    sparse_affine(x, theta + l.w1, theta + l.b1, s->h1, ws->a1);
    relu_inplace(ws->a1, (size_t)x->n * s->h1);
    dense_affine(x->n, s->h1, s->h2, ws->a1, theta + l.w2, theta + l.b2, ws->a2);
    relu_inplace(ws->a2, (size_t)x->n * s->h2);
    dense_affine(x->n, s->h2, out, ws->a2, theta + l.w3, theta + l.b3, ws->o);
}

/* Replaces each head's two logits by softmax probabilities; adds each task's summed
 * cross-entropy to loss_sum and its count of correct predictions to correct, and/or stores
 * them per row in row_loss and row_correct (n, tasks) (any of the four may be NULL). */
static void softmax_heads(int n, int tasks, real *o, const uint8_t *labels, double *loss_sum,
                          long *correct, double *row_loss, uint8_t *row_correct)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < tasks; k++) {
            real *z = o + (size_t)i * 2 * tasks + 2 * k;
            int y = labels[(size_t)i * tasks + k];
            double z0 = z[0], z1 = z[1];
            double m = z0 > z1 ? z0 : z1;
            double lse = m + log(exp(z0 - m) + exp(z1 - m));
            double loss = lse - (y ? z1 : z0);
            int hit = ((z1 > z0) ? 1 : 0) == y;
            if (loss_sum)
                loss_sum[k] += loss;
            if (correct)
                correct[k] += hit;
            if (row_loss)
                row_loss[(size_t)i * tasks + k] = loss;
            if (row_correct)
                row_correct[(size_t)i * tasks + k] = (uint8_t)hit;
            z[0] = (real)exp(z0 - lse);
            z[1] = (real)exp(z1 - lse);
        }
    }
}

/* g = dL/dO = weight[k] * (p - onehot(y)) / n on head k. */
static void logit_grad(int n, int tasks, const real *p, const uint8_t *labels,
                       const double *weight, real *g)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < tasks; k++) {
            size_t at = (size_t)i * 2 * tasks + 2 * k;
            int y = labels[(size_t)i * tasks + k];
            real scale = (real)(weight[k] / n);
            g[at] = scale * (p[at] - (y == 0));
            g[at + 1] = scale * (p[at + 1] - (y == 1));
        }
    }
}

/* --- public entry points --------------------------------------------------------------- */

void mlp_evaluate(const mlp_shape *s, const real *theta, const sparse_batch *batch,
                  mlp_workspace *ws, double *loss_sum, long *correct)
{
    forward(s, theta, batch, ws);
    softmax_heads(batch->n, s->tasks, ws->o, batch->labels, loss_sum, correct, NULL, NULL);
}

void mlp_row_losses(const mlp_shape *s, const real *theta, const sparse_batch *batch,
                    mlp_workspace *ws, double *loss, uint8_t *correct)
{
    forward(s, theta, batch, ws);
    softmax_heads(batch->n, s->tasks, ws->o, batch->labels, NULL, NULL, loss, correct);
}

void mlp_weighted_grad_upper(const mlp_shape *s, const real *theta, const sparse_batch *batch,
                             const double *weight, mlp_workspace *ws, real *grad, double *loss)
{
    mlp_layout l = mlp_layout_of(s);
    int n = batch->n, out = 2 * s->tasks;
    double loss_sum[MLP_MAX_TASKS] = {0};

    forward(s, theta, batch, ws);
    softmax_heads(n, s->tasks, ws->o, batch->labels, loss_sum, NULL, NULL, NULL);
    if (loss)
        for (int k = 0; k < s->tasks; k++)
            loss[k] = loss_sum[k] / n;
    logit_grad(n, s->tasks, ws->o, batch->labels, weight, ws->g);
    memset(grad + l.b1, 0, (l.total - l.b1) * sizeof(real));

    /* dW3 = A2^T G, db3 = sum G */
    REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h2, out, n, 1, ws->a2, s->h2, ws->g,
              out, 0, grad + l.w3, out);
    add_column_sums(n, out, ws->g, 1, grad + l.b3);

    /* D2 = (G W3^T) * relu'(Z2) */
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h2, out, 1, ws->g, out,
              theta + l.w3, out, 0, ws->d2, s->h2);
    relu_mask(ws->d2, ws->a2, (size_t)n * s->h2);

    /* dW2 = A1^T D2, db2 = sum D2 */
    REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h1, s->h2, n, 1, ws->a1, s->h1,
              ws->d2, s->h2, 0, grad + l.w2, s->h2);
    add_column_sums(n, s->h2, ws->d2, 1, grad + l.b2);

    /* D1 = (D2 W2^T) * relu'(Z1), db1 = sum D1 */
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h1, s->h2, 1, ws->d2, s->h2,
              theta + l.w2, s->h2, 0, ws->d1, s->h1);
    relu_mask(ws->d1, ws->a1, (size_t)n * s->h1);
    add_column_sums(n, s->h1, ws->d1, 1, grad + l.b1);

    /* the batch's nonzeros by feature, for dW1 = X^T D1 */
    sparse_transpose(batch, s->in, ws);
}

void mlp_weighted_grad(const mlp_shape *s, const real *theta, const sparse_batch *batch,
                       const double *weight, mlp_workspace *ws, real *grad, double *loss)
{
    mlp_layout l = mlp_layout_of(s);
    mlp_weighted_grad_upper(s, theta, batch, weight, ws, grad, loss);
    /* dW1 = X^T D1 */
    memset(grad + l.w1, 0, (size_t)s->in * s->h1 * sizeof(real));
    sparse_affine_grad(ws, s->in, batch->n, ws->d1, s->h1, 1, grad + l.w1, NULL);
}

void mlp_first_layer_grad_row(const mlp_shape *s, mlp_workspace *const *blocks, int n_blocks,
                              int feature, real *restrict out)
{
    int h = s->h1, tiled = h - h % TILE;
    for (int c0 = 0; c0 < tiled; c0 += TILE) {
        vec acc[NVEC] = {{0}};
        for (int b = 0; b < n_blocks; b++)
            add_feature_tile(blocks[b], feature, blocks[b]->d1, h, c0, acc);
        for (int i = 0; i < NVEC; i++)
            *(vec *)(out + c0 + i * VLEN) = acc[i];
    }
    for (int c = tiled; c < h; c++) {
        real acc = 0;
        for (int b = 0; b < n_blocks; b++)
            acc = add_feature_column(blocks[b], feature, blocks[b]->d1, h, c, acc);
        out[c] = acc;
    }
}

void mlp_task_grads_add(const mlp_shape *s, const real *theta, const sparse_batch *batch,
                        real scale, mlp_workspace *ws, real *jac)
{
    mlp_layout l = mlp_layout_of(s);
    int n = batch->n, out = 2 * s->tasks, tasks = s->tasks;
    double ones[MLP_MAX_TASKS] = {0};
    for (int k = 0; k < tasks; k++)
        ones[k] = 1.0;

    forward(s, theta, batch, ws);
    softmax_heads(n, tasks, ws->o, batch->labels, NULL, NULL, NULL, NULL);
    /* G holds every task's unweighted dL_k/dO; task k only touches its own two columns. */
    logit_grad(n, tasks, ws->o, batch->labels, ones, ws->g);

    for (int k = 0; k < tasks; k++) {
        real *jk = jac + (size_t)k * l.total;
        real *d2k = ws->d2 + (size_t)k * n * s->h2;
        const real *gk = ws->g + 2 * k;

        /* dW3[:, 2k:2k+2] += A2^T G_k, db3[2k:2k+2] += sum G_k */
        REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h2, 2, n, scale, ws->a2, s->h2,
                  gk, out, 1, jk + l.w3 + 2 * k, out);
        for (int i = 0; i < n; i++) {
            jk[l.b3 + 2 * k] += scale * gk[(size_t)i * out];
            jk[l.b3 + 2 * k + 1] += scale * gk[(size_t)i * out + 1];
        }

        /* D2_k = (G_k W3[:, 2k:2k+2]^T) * relu'(Z2) */
        REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h2, 2, 1, gk, out,
                  theta + l.w3 + 2 * k, out, 0, d2k, s->h2);
        relu_mask(d2k, ws->a2, (size_t)n * s->h2);

        /* dW2 += A1^T D2_k, db2 += sum D2_k */
        REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h1, s->h2, n, scale, ws->a1,
                  s->h1, d2k, s->h2, 1, jk + l.w2, s->h2);
        add_column_sums(n, s->h2, d2k, scale, jk + l.b2);
    }

    /* D1 for all tasks at once: the D2_k are stacked as (T*n, h2). */
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, tasks * n, s->h1, s->h2, 1, ws->d2,
              s->h2, theta + l.w2, s->h2, 0, ws->d1, s->h1);
    sparse_transpose(batch, s->in, ws);
    for (int k = 0; k < tasks; k++) {
        real *d1k = ws->d1 + (size_t)k * n * s->h1;
        relu_mask(d1k, ws->a1, (size_t)n * s->h1);
        real *jk = jac + (size_t)k * l.total;
        sparse_affine_grad(ws, s->in, n, d1k, s->h1, scale, jk + l.w1, jk + l.b1);
    }
}

/* --- Hessian-vector products ----------------------------------------------------------- */

struct mlp_hvp {
    mlp_shape shape;
    mlp_layout layout;
    int max_batch;
    mlp_workspace *ws;  /* A1, A2, P (in o), G, D2, D1 of the prepared batch */
    sparse_batch batch;
    double alpha[MLP_MAX_TASKS];
    const real *theta;
    /* R{.} buffers: the directional derivatives along v */
    real *r_a1;  /* (B, h1) R{A1} */
    real *r_a2;  /* (B, h2) R{A2} */
    real *r_o;   /* (B, 2T) R{O}, then R{G} */
    real *r_d2;  /* (B, h2) R{D2} */
    real *r_d1;  /* (B, h1) R{D1} */
};

mlp_hvp *mlp_hvp_new(const mlp_shape *s, int max_batch)
{
    mlp_hvp *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    size_t b = (size_t)max_batch;
    h->shape = *s;
    h->layout = mlp_layout_of(s);
    h->max_batch = max_batch;
    h->ws = mlp_workspace_new(s, max_batch);
    h->r_a1 = malloc(b * s->h1 * sizeof(real));
    h->r_a2 = malloc(b * s->h2 * sizeof(real));
    h->r_o = malloc(b * 2 * s->tasks * sizeof(real));
    h->r_d2 = malloc(b * s->h2 * sizeof(real));
    h->r_d1 = malloc(b * s->h1 * sizeof(real));
    if (!h->ws || !h->r_a1 || !h->r_a2 || !h->r_o || !h->r_d2 || !h->r_d1) {
        mlp_hvp_free(h);
        return NULL;
    }
    return h;
}

void mlp_hvp_free(mlp_hvp *h)
{
    if (!h)
        return;
    mlp_workspace_free(h->ws);
    free(h->r_a1);
    free(h->r_a2);
    free(h->r_o);
    free(h->r_d2);
    free(h->r_d1);
    free(h);
}

void mlp_hvp_prepare(mlp_hvp *h, const real *theta, const sparse_batch *batch,
                     const double *alpha)
{
    const mlp_shape *s = &h->shape;
    mlp_layout l = h->layout;
    mlp_workspace *ws = h->ws;
    int n = batch->n, out = 2 * s->tasks;

    h->batch = *batch;
    h->theta = theta;
    for (int k = 0; k < s->tasks; k++)
        h->alpha[k] = alpha[k];

    /* The forward pass and the first-order backward pass of sum_k alpha_k L_k; every product
     * H v below is linear in these. */
    forward(s, theta, batch, ws);
    softmax_heads(n, s->tasks, ws->o, batch->labels, NULL, NULL, NULL, NULL);
    logit_grad(n, s->tasks, ws->o, batch->labels, alpha, ws->g);
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h2, out, 1, ws->g, out,
              theta + l.w3, out, 0, ws->d2, s->h2);
    relu_mask(ws->d2, ws->a2, (size_t)n * s->h2);
    sparse_transpose(batch, s->in, ws);
}

void mlp_hvp_apply(mlp_hvp *h, const real *v, real *hv)
{
    const mlp_shape *s = &h->shape;
    mlp_layout l = h->layout;
    mlp_workspace *ws = h->ws;
    const sparse_batch *x = &h->batch;
    const real *theta = h->theta;
    int n = x->n, out = 2 * s->tasks;

    /* R{A1} = (X V1 + c1) * relu'(Z1) */
    sparse_affine(x, v + l.w1, v + l.b1, s->h1, h->r_a1);
    relu_mask(h->r_a1, ws->a1, (size_t)n * s->h1);

    /* R{A2} = (R{A1} W2 + A1 V2 + c2) * relu'(Z2) */
    dense_affine(n, s->h1, s->h2, h->r_a1, theta + l.w2, v + l.b2, h->r_a2);
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, s->h2, s->h1, 1, ws->a1, s->h1,
              v + l.w2, s->h2, 1, h->r_a2, s->h2);
    relu_mask(h->r_a2, ws->a2, (size_t)n * s->h2);

    /* R{O} = R{A2} W3 + A2 V3 + c3 */
    dense_affine(n, s->h2, out, h->r_a2, theta + l.w3, v + l.b3, h->r_o);
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, out, s->h2, 1, ws->a2, s->h2,
              v + l.w3, out, 1, h->r_o, out);

    /* R{G} = alpha_k / n * (diag(p) - p p^T) R{O}, head by head */
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < s->tasks; k++) {
            size_t at = (size_t)i * out + 2 * k;
            const real *p = ws->o + at;
            real *r = h->r_o + at;
            real scale = (real)(h->alpha[k] / n);
            real mean = p[0] * r[0] + p[1] * r[1];
            r[0] = scale * p[0] * (r[0] - mean);
            r[1] = scale * p[1] * (r[1] - mean);
        }
    }

    /* H v for W3, b3: R{A2}^T G + A2^T R{G}, sum R{G} */
    memset(hv + l.b3, 0, (size_t)out * sizeof(real));
    REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h2, out, n, 1, h->r_a2, s->h2, ws->g,
              out, 0, hv + l.w3, out);
    REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h2, out, n, 1, ws->a2, s->h2, h->r_o,
              out, 1, hv + l.w3, out);
    add_column_sums(n, out, h->r_o, 1, hv + l.b3);

    /* R{D2} = (R{G} W3^T + G V3^T) * relu'(Z2) */
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h2, out, 1, h->r_o, out,
              theta + l.w3, out, 0, h->r_d2, s->h2);
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h2, out, 1, ws->g, out, v + l.w3,
              out, 1, h->r_d2, s->h2);
    relu_mask(h->r_d2, ws->a2, (size_t)n * s->h2);

    /* H v for W2, b2: R{A1}^T D2 + A1^T R{D2}, sum R{D2} */
    memset(hv + l.b2, 0, (size_t)s->h2 * sizeof(real));
    REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h1, s->h2, n, 1, h->r_a1, s->h1,
              ws->d2, s->h2, 0, hv + l.w2, s->h2);
    REAL_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, s->h1, s->h2, n, 1, ws->a1, s->h1,
              h->r_d2, s->h2, 1, hv + l.w2, s->h2);
    add_column_sums(n, s->h2, h->r_d2, 1, hv + l.b2);

    /* R{D1} = (R{D2} W2^T + D2 V2^T) * relu'(Z1) */
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h1, s->h2, 1, h->r_d2, s->h2,
              theta + l.w2, s->h2, 0, h->r_d1, s->h1);
    REAL_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, n, s->h1, s->h2, 1, ws->d2, s->h2,
              v + l.w2, s->h2, 1, h->r_d1, s->h1);
    relu_mask(h->r_d1, ws->a1, (size_t)n * s->h1);

    /* H v for W1, b1: X^T R{D1}, sum R{D1} */
    memset(hv + l.w1, 0, ((size_t)s->in * s->h1 + s->h1) * sizeof(real));
    sparse_affine_grad(ws, s->in, n, h->r_d1, s->h1, 1, hv + l.w1, hv + l.b1);
}
