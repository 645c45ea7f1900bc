/*
 * hypervolume.c - exact 3-D hypervolume by slicing, and non-dominated filtering.
 *
 * The slicing follows the classic "hypervolume by slicing objectives" idea (While, Hingston,
 * Barone and Huband, IEEE TEC 2006) specialised to three objectives: sort the points by the
 * third objective; between two consecutive values z_i < z_{i+1} of it, the cross-section of
 * the dominated region is the 2-D region dominated by the points with z <= z_i, whose area a
 * staircase of 2-D non-dominated points gives. The volume is the sum of area * slab height.
 */
#include "pareto/hypervolume.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double c[HV_DIM];
} point3;

typedef struct {
    double x, y;
} point2;

static int compare_by_z(const void *a, const void *b)
{
    const point3 *p = a, *q = b;
    for (int k = HV_DIM - 1; k >= 0; k--)
        if (p->c[k] != q->c[k])
            return p->c[k] < q->c[k] ? -1 : 1;
    return 0;
}

/* stair holds the 2-D non-dominated points so far: x strictly increasing, y strictly
 * decreasing. Adds (x, y) unless a stair point dominates or equals it, and drops the stair
 * points it dominates. */
static void stair_insert(point2 *stair, size_t *n, double x, double y)
{
    /* pos = number of stair points with x' <= x (binary search) */
    size_t lo = 0, hi = *n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (stair[mid].x <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t pos = lo;

    /* Of the points with x' <= x, the last has the smallest y'; if y' <= y it covers (x, y). */
    if (pos > 0 && stair[pos - 1].y <= y)
        return;

    /* The points (x' >= x, y' >= y) that (x, y) dominates form one run starting at the first
     * x' >= x. */
    size_t start = pos > 0 && stair[pos - 1].x == x ? pos - 1 : pos;
    size_t end = start;
    while (end < *n && stair[end].y >= y)
        end++;

    /* stair[start, end) <- (x, y) */
    memmove(stair + start + 1, stair + end, (*n - end) * sizeof *stair);
    stair[start] = (point2){x, y};
    *n = *n - (end - start) + 1;
}

/* Area dominated by the stair inside the box below (ref_x, ref_y). */
static double stair_area(const point2 *stair, size_t n, double ref_x, double ref_y)
{
    double area = 0.0;
    for (size_t j = 0; j < n; j++) {
        double next_x = j + 1 < n ? stair[j + 1].x : ref_x;
        area += (next_x - stair[j].x) * (ref_y - stair[j].y);
    }
    return area;
}

int hypervolume_3d(const double *points, size_t n, const double ref[HV_DIM], double *volume,
                   pareto_error *err)
{
    *volume = 0.0;
    for (int k = 0; k < HV_DIM; k++)
        if (!isfinite(ref[k]))
            return pareto_fail(err, "hypervolume: reference coordinate %d is %g, expected a "
                               "finite number", k + 1, ref[k]);

    /* Keep the points that strictly dominate the reference point. */
    size_t inside = 0;
    for (size_t i = 0; i < n; i++) {
        int in = 1;
        for (int k = 0; k < HV_DIM; k++) {
            double v = points[i * HV_DIM + k];
            if (!isfinite(v))
                return pareto_fail(err, "hypervolume: point %zu, coordinate %d is %g, expected "
                                   "a finite number", i, k + 1, v);
            in = in && v < ref[k];
        }
        inside += (size_t)in;
    }
    if (inside == 0)
        return 0;

    point3 *sorted = pareto_malloc(inside * sizeof *sorted, "the hypervolume's points", err);
    point2 *stair = pareto_malloc(inside * sizeof *stair, "the hypervolume's staircase", err);
    if (!sorted || !stair) {
        free(sorted);
        free(stair);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const double *p = points + i * HV_DIM;
        if (p[0] < ref[0] && p[1] < ref[1] && p[2] < ref[2])
            memcpy(sorted[m++].c, p, sizeof sorted->c);
    }
    qsort(sorted, m, sizeof *sorted, compare_by_z);

    size_t n_stair = 0;
    double total = 0.0;
    for (size_t i = 0; i < m;) {
        double z = sorted[i].c[2];

        /* The slice above z: every point with z' <= z, in 2-D. */
        for (; i < m && sorted[i].c[2] == z; i++)
            stair_insert(stair, &n_stair, sorted[i].c[0], sorted[i].c[1]);

        /* volume += area of the slice * its height, up to the next z or the reference */
        double z_next = i < m ? sorted[i].c[2] : ref[2];
        total += stair_area(stair, n_stair, ref[0], ref[1]) * (z_next - z);
    }
    free(sorted);
    free(stair);
    *volume = total;
    return 0;
}

/* 1 when p dominates q: p <= q in every coordinate and p != q. */
static int dominates(const double *p, const double *q)
{
    int strictly = 0;
    for (int k = 0; k < HV_DIM; k++) {
        if (p[k] > q[k])
            return 0;
        strictly = strictly || p[k] < q[k];
    }
    return strictly;
}

static int same_point(const double *p, const double *q)
{
    return p[0] == q[0] && p[1] == q[1] && p[2] == q[2];
}

size_t pareto_nondominated(const double *points, size_t n, unsigned char *nondominated)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const double *q = points + i * HV_DIM;
        int keep = 1;
        for (size_t j = 0; j < n && keep; j++) {
            const double *p = points + j * HV_DIM;
            keep = !dominates(p, q) && !(j < i && same_point(p, q));
        }
        nondominated[i] = (unsigned char)keep;
        count += (size_t)keep;
    }
    return count;
}
