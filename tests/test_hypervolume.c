/*
 * test_hypervolume.c - the exact 3-D hypervolume against hand-computed boxes and a brute-force
 * count of unit cells, non-dominated filtering, and the Pareto summary of a few rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pareto/hypervolume.h"
#include "pareto/summary.h"

#define GRID 6         /* brute force: integer coordinates in [0, GRID), reference (GRID)^3 */
#define MAX_POINTS 64

static const double unit_ref[3] = {2.0, 2.0, 2.0};

static double uniform(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (double)((*state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static double hv(const double *points, size_t n, const double *ref)
{
    double volume = -1.0;
    pareto_error err;
    assert_int_equal(hypervolume_3d(points, n, ref, &volume, &err), 0);
    return volume;
}

/* --- hand-computed cases --------------------------------------------------------------- */

static void test_empty_set_has_zero_volume(void **state)
{
    assert_true(hv(NULL, 0, unit_ref) == 0.0);
}

static void test_one_box(void **state)
{
    const double p[] = {1.0, 2.0, 3.0};
    const double ref[] = {4.0, 4.0, 4.0};
    assert_true(hv(p, 1, ref) == 3.0 * 2.0 * 1.0);
}

/* [0,2]x[0,2]x[1,2] (4) and [1,2]x[1,2]x[0,2] (2) share [1,2]^3 (1): 4 + 2 - 1. */
static void test_two_overlapping_boxes(void **state)
{
    const double p[] = {0, 0, 1, 1, 1, 0};
    assert_true(hv(p, 2, unit_ref) == 5.0);
}

/* Three boxes of volume 2 whose pairwise and triple intersections are all [1,2]^3:
 * 3 * 2 - 3 * 1 + 1. */
static const double three_boxes[] = {0, 1, 1, 1, 0, 1, 1, 1, 0};

static void test_three_boxes(void **state)
{
    assert_true(hv(three_boxes, 3, unit_ref) == 4.0);
}

static void test_dominated_point_changes_nothing(void **state)
{
    double p[12];
    memcpy(p, three_boxes, sizeof three_boxes);
    const double dominated[] = {1.0, 1.0, 1.5}; /* by (1, 1, 0) */
    memcpy(p + 9, dominated, sizeof dominated);
    assert_true(hv(p, 4, unit_ref) == 4.0);
    /* the same point first, so that the sweep meets it before the point dominating it */
    memmove(p + 3, p, 9 * sizeof *p);
    memcpy(p, dominated, sizeof dominated);
    assert_true(hv(p, 4, unit_ref) == 4.0);
}

static void test_duplicated_points_change_nothing(void **state)
{
    const double p[] = {0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0};
    assert_true(hv(p, 5, unit_ref) == 5.0);
}

static void test_points_outside_the_reference_box_are_ignored(void **state)
{
    const double p[] = {
        0.0, 0.0, 1.0,  /* inside: 2 x 2 x 1 */
        3.0, 0.0, 0.0,  /* beyond the reference in x */
        0.0, 0.0, 2.0,  /* on the reference plane z = 2: not strictly inside */
        -1.0, 5.0, -1.0 /* beyond it in y */
    };
    assert_true(hv(p, 4, unit_ref) == 4.0);
    assert_true(hv(p + 3, 3, unit_ref) == 0.0);
}

static void test_ties_in_every_coordinate(void **state)
{
    /* Three boxes of volume 4; only [0,1)^3 is left uncovered: 8 - 1. */
    const double p[] = {0, 1, 0, 1, 0, 0, 0, 0, 1};
    assert_true(hv(p, 3, unit_ref) == 7.0);
    /* Equal z for all, equal x for two: (0,1.5,0) is dominated by (0,1,0); 4 + 4 - 2. */
    const double q[] = {0, 1.5, 0, 0, 1, 0, 1, 0, 0};
    assert_true(hv(q, 3, unit_ref) == 6.0);
}

static void test_non_finite_coordinates_are_refused(void **state)
{
    const double p[] = {0.0, NAN, 1.0};
    double volume = 1.0;
    pareto_error err;
    assert_int_equal(hypervolume_3d(p, 1, unit_ref, &volume, &err), -1);
    assert_non_null(strstr(err.msg, "point 0, coordinate 2"));
    const double ref[] = {2.0, INFINITY, 2.0};
    assert_int_equal(hypervolume_3d(p, 0, ref, &volume, &err), -1);
    assert_non_null(strstr(err.msg, "reference coordinate 2"));
}

/* --- non-dominated filtering ----------------------------------------------------------- */

static void test_nondominated_marks_the_front(void **state)
{
    const double p[] = {
        0, 1, 1,   /* front */
        1, 0, 1,   /* front */
        1, 1, 1.5, /* dominated by the next */
        1, 1, 0,   /* front */
        0, 1, 1,   /* copy of the first: counts once */
        2, 2, 2    /* dominated */
    };
    unsigned char flags[6];
    assert_int_equal(pareto_nondominated(p, 6, flags), 3);
    const unsigned char expected[] = {1, 1, 0, 1, 0, 0};
    assert_memory_equal(flags, expected, sizeof expected);
}

/* --- brute force and properties -------------------------------------------------------- */

/* Unit cells [c, c+1) of [0, GRID)^3 covered by some point p <= c. */
static double grid_count(const double *p, size_t n)
{
    int cells = 0;
    for (int a = 0; a < GRID; a++)
        for (int b = 0; b < GRID; b++)
            for (int c = 0; c < GRID; c++) {
                int covered = 0;
                for (size_t i = 0; i < n && !covered; i++)
                    covered = p[3 * i] <= a && p[3 * i + 1] <= b && p[3 * i + 2] <= c;
                cells += covered;
            }
    return cells;
}

static void test_matches_a_grid_count_on_integer_points(void **state)
{
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    const double ref[] = {GRID, GRID, GRID};
    double p[3 * MAX_POINTS];
    for (int trial = 0; trial < 300; trial++) {
        size_t n = 1 + (size_t)(uniform(&rng) * 25);
        /* coordinates in [0, GRID]: those equal to GRID lie on the reference plane */
        for (size_t i = 0; i < 3 * n; i++)
            p[i] = floor(uniform(&rng) * (GRID + 1));
        assert_true(hv(p, n, ref) == grid_count(p, n));
    }
}

static void test_adding_a_non_dominated_point_never_lowers_it(void **state)
{
    uint64_t rng = 12345;
    const double ref[] = {1.0, 1.0, 1.0};
    for (int trial = 0; trial < 50; trial++) {
        double p[3 * MAX_POINTS];
        size_t n = 0;
        double before = 0.0;
        while (n < MAX_POINTS) {
            double *q = p + 3 * n;
            for (int k = 0; k < 3; k++)
                q[k] = uniform(&rng);
            int dominated = 0;
            for (size_t i = 0; i < n && !dominated; i++)
                dominated = p[3 * i] <= q[0] && p[3 * i + 1] <= q[1] && p[3 * i + 2] <= q[2];
            if (dominated)
                continue;
            double after = hv(p, n + 1, ref);
            /* a point no other point weakly dominates adds the cells just above it */
            assert_true(after > before);
            before = after;
            n++;
        }
        assert_true(before <= 1.0);
    }
}

static void test_order_of_the_points_does_not_matter(void **state)
{
    uint64_t rng = 777;
    const double ref[] = {1.0, 1.0, 1.0};
    double p[3 * MAX_POINTS];
    for (size_t i = 0; i < 3 * MAX_POINTS; i++)
        p[i] = uniform(&rng);
    double forward = hv(p, MAX_POINTS, ref);
    for (size_t i = 0; i < MAX_POINTS / 2; i++)
        for (int k = 0; k < 3; k++) {
            double t = p[3 * i + k];
            p[3 * i + k] = p[3 * (MAX_POINTS - 1 - i) + k];
            p[3 * (MAX_POINTS - 1 - i) + k] = t;
        }
    assert_true(fabs(hv(p, MAX_POINTS, ref) - forward) <= 1e-12);
}

/* --- the summary ----------------------------------------------------------------------- */

static result_row make_row(int phase, int weight_index, int step, double a1, double a2,
                           double a3)
{
    result_row r;
    memset(&r, 0, sizeof r);
    r.phase = phase;
    r.weight_index = weight_index;
    r.weight[0] = r.weight[1] = r.weight[2] = 1.0 / 3.0;
    r.direction = phase == PHASE_EXPLORE ? 3 : 0;
    r.step = step;
    r.acc[0] = a1;
    r.acc[1] = a2;
    r.acc[2] = a3;
    return r;
}

/* Errors (%): w0's SGD end (25, 37.5, 50), its exploration point (12.5, 37.5, 50) dominates
 * it; w1's SGD end (37.5, 25, 50). Default reference (38.5, 38.5, 51). */
static void fill_summary_rows(result_row *rows)
{
    rows[0] = make_row(PHASE_SGD, 0, 1, 0.5, 0.5, 0.5);
    rows[1] = make_row(PHASE_SGD, 0, 2, 0.75, 0.625, 0.5);
    rows[2] = make_row(PHASE_EXPLORE, 0, 1, 0.875, 0.625, 0.5);
    rows[3] = make_row(PHASE_SGD, 1, 2, 0.625, 0.75, 0.5);
    rows[4] = make_row(PHASE_SGD, 1, 1, 0.25, 0.25, 0.25);
}

static void test_summary_counts_and_gains(void **state)
{
    result_row rows[6];
    fill_summary_rows(rows);
    pareto_summary s;
    pareto_error err;
    assert_int_equal(summary_compute(rows, 5, NULL, &s, &err), 0);
    assert_int_equal(s.n_sgd_end, 2);
    assert_int_equal(s.n_explore, 1);
    assert_int_equal(s.n_points, 3);
    assert_int_equal(s.n_nondominated, 2);
    assert_int_equal(s.n_figure_dropped, 0);
    assert_true(s.ref_is_default);
    assert_true(s.ref[0] == 38.5 && s.ref[1] == 38.5 && s.ref[2] == 51.0);
    /* slab z in [50, 51]: 26 x 1 and 1 x 13.5 overlapping in 1 x 1 */
    assert_true(fabs(s.hypervolume - 38.5) <= 1e-12);
    assert_int_equal(s.n_weights, 2);
    assert_int_equal(s.weights[0].sgd_end_epoch, 2);
    assert_true(fabs(s.weights[0].hv_sgd_end - 13.5) <= 1e-12);
    assert_true(fabs(s.weights[0].hv_with_explore - 26.0) <= 1e-12);
    assert_true(fabs(s.weights[1].hv_sgd_end - 13.5) <= 1e-12);
    assert_true(s.weights[1].hv_with_explore == s.weights[1].hv_sgd_end);
    assert_int_equal(s.weights[1].n_explore, 0);
    summary_free(&s);
}

static void test_summary_counts_what_the_figure_leaves_out(void **state)
{
    result_row rows[6];
    fill_summary_rows(rows);
    /* acc1 0.5 < 0.99 x 0.625, the lowest SGD end accuracy of task 1; error (50, 25, 50) */
    rows[5] = make_row(PHASE_EXPLORE, 1, 1, 0.5, 0.75, 0.5);
    const double ref[] = {40.0, 40.0, 52.0};
    pareto_summary s;
    pareto_error err;
    assert_int_equal(summary_compute(rows, 6, ref, &s, &err), 0);
    assert_int_equal(s.n_points, 4);
    assert_int_equal(s.n_figure_dropped, 1);
    assert_int_equal(s.n_nondominated, 2);
    assert_false(s.ref_is_default);
    /* (50, 25, 50) lies beyond the given reference in task 1: w1 gains nothing */
    assert_true(s.weights[1].hv_with_explore == s.weights[1].hv_sgd_end);
    assert_true(fabs(s.weights[1].hv_sgd_end - 2.5 * 15.0 * 2.0) <= 1e-12);
    summary_free(&s);
}

static void test_summary_refuses_an_accuracy_outside_0_1(void **state)
{
    result_row rows[6];
    fill_summary_rows(rows);
    rows[2].acc[1] = 1.5;
    pareto_summary s;
    pareto_error err;
    assert_int_equal(summary_compute(rows, 5, NULL, &s, &err), -1);
    assert_non_null(strstr(err.msg, "explore w0 d011 step 1: acc2 is 1.5"));
    assert_int_equal(summary_compute(rows, 0, NULL, &s, &err), -1);
    assert_non_null(strstr(err.msg, "no points"));
}

static void test_summary_command_line_errors(void **state)
{
    char *missing[] = {"summary", "/nonexistent/results.csv", NULL};
    assert_int_equal(summary_main(2, missing), 1);
    char *bad_ref[] = {"summary", "x.csv", "--ref", "1,2", NULL};
    assert_int_equal(summary_main(4, bad_ref), 2);
    char *no_file[] = {"summary", NULL};
    assert_int_equal(summary_main(1, no_file), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_set_has_zero_volume),
        cmocka_unit_test(test_one_box),
        cmocka_unit_test(test_two_overlapping_boxes),
        cmocka_unit_test(test_three_boxes),
        cmocka_unit_test(test_dominated_point_changes_nothing),
        cmocka_unit_test(test_duplicated_points_change_nothing),
        cmocka_unit_test(test_points_outside_the_reference_box_are_ignored),
        cmocka_unit_test(test_ties_in_every_coordinate),
        cmocka_unit_test(test_non_finite_coordinates_are_refused),
        cmocka_unit_test(test_nondominated_marks_the_front),
        cmocka_unit_test(test_matches_a_grid_count_on_integer_points),
        cmocka_unit_test(test_adding_a_non_dominated_point_never_lowers_it),
        cmocka_unit_test(test_order_of_the_points_does_not_matter),
        cmocka_unit_test(test_summary_counts_and_gains),
        cmocka_unit_test(test_summary_counts_what_the_figure_leaves_out),
        cmocka_unit_test(test_summary_refuses_an_accuracy_outside_0_1),
        cmocka_unit_test(test_summary_command_line_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
