/*
 * sparse.h - a batch of rows with a fixed number of nonzero inputs each.
 *
 * The first layer of the network only ever sees its input through this: row n has nonzeros
 * at feature indices idx[n*nnz + j] with values val[n*nnz + j].
 */
#ifndef PARETO_SPARSE_H
#define PARETO_SPARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int n;                  /* rows */
    int nnz;                /* nonzeros per row */
    const uint16_t *idx;    /* (n, nnz) feature indices */
    const float *val;       /* (n, nnz) values */
    const uint8_t *labels;  /* (n, tasks) class of each task, 0 or 1 */
} sparse_batch;

/* Rows first..first+count-1 of b, without copying; tasks is the number of labels per row. */
static inline sparse_batch batch_rows_view(const sparse_batch *b, int first, int count, int tasks)
{
    sparse_batch rows = *b;
    rows.n = count;
    rows.idx += (size_t)first * b->nnz;
    rows.val += (size_t)first * b->nnz;
    rows.labels += (size_t)first * tasks;
    return rows;
}

#endif
