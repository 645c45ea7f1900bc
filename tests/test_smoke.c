/*
 * test_smoke.c - the smoke config end to end, as a single process on the shipped data.
 *
 * Runs the real binary on configs/smoke.yaml (2 weight vectors, 3 epochs, directions 011 and
 * 110, 3 steps) and checks the CSV: its header, one row per epoch and per step in sorted order,
 * every field filled, and, once trained, every accuracy above the majority-class rate of its
 * task on the test set (the accuracy of always predicting the more common class).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pareto/census.h"
#include "pareto/results.h"

static char work_dir[256];
static char csv_path[512];

static int run_smoke(void **state)
{
    (void)state;
    snprintf(work_dir, sizeof work_dir, "/tmp/pareto_smoke_XXXXXX");
    if (!mkdtemp(work_dir))
        return -1;
    /* The smoke config, with its output folder moved into the temporary folder. */
    char config[512], cmd[4096];
    snprintf(config, sizeof config, "%s/smoke.yaml", work_dir);
    snprintf(cmd, sizeof cmd, "sed 's|dir: results/smoke|dir: %s/out|' %s/configs/smoke.yaml > %s",
             work_dir, PARETO_SOURCE_DIR, config);
    if (system(cmd) != 0)
        return -1;
    snprintf(csv_path, sizeof csv_path, "%s/out/smoke.csv", work_dir);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s --quiet", PARETO_SOURCE_DIR, PARETO_BINARY,
             config);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_work(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_csv_has_header_and_twenty_columns(void **state)
{
    (void)state;
    FILE *f = fopen(csv_path, "r");
    assert_non_null(f);
    char line[2048];
    assert_non_null(fgets(line, sizeof line, f));
    line[strcspn(line, "\n")] = '\0';
    assert_string_equal(line, results_csv_header());
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        int commas = 0;
        for (char *p = line; *p; p++)
            commas += *p == ',';
        assert_int_equal(commas, 19);
        lines++;
    }
    fclose(f);
    assert_int_equal(lines, 2 * 3 + 2 * 2 * 3);
}

static void test_rows_cover_every_epoch_and_step_in_order(void **state)
{
    (void)state;
    result_row *rows;
    size_t n;
    pareto_error err;
    assert_int_equal(results_read_csv(csv_path, &rows, &n, &err), 0);
    assert_int_equal(n, 18);
    /* Sorted by weight, phase, direction, step: w0 sgd 1..3, w0 011 1..3, w0 110 1..3, w5 ... */
    size_t at = 0;
    int weights[2] = {0, 5}, directions[2] = {3, 6};
    for (int w = 0; w < 2; w++) {
        for (int e = 1; e <= 3; e++, at++) {
            assert_int_equal(rows[at].phase, PHASE_SGD);
            assert_int_equal(rows[at].weight_index, weights[w]);
            assert_int_equal(rows[at].step, e);
        }
        for (int d = 0; d < 2; d++) {
            for (int s = 1; s <= 3; s++, at++) {
                assert_int_equal(rows[at].phase, PHASE_EXPLORE);
                assert_int_equal(rows[at].weight_index, weights[w]);
                assert_int_equal(rows[at].direction, directions[d]);
                assert_int_equal(rows[at].step, s);
                assert_true(rows[at].minres_iters >= 1 && rows[at].minres_iters <= 100);
                double alpha_sum = rows[at].alpha[0] + rows[at].alpha[1] + rows[at].alpha[2];
                assert_true(alpha_sum > 0.999 && alpha_sum < 1.001);
            }
        }
    }
    /* Weight vector 5 of grid 5 is (1/3, 1/3, 1/3). */
    assert_true(rows[9].weight[0] > 0.3333 && rows[9].weight[0] < 0.3334);
    free(rows);
}

static void test_trained_accuracies_beat_the_majority_class(void **state)
{
    (void)state;
    census_data data;
    census_options opts = {0.001, 0};
    pareto_error err;
    char train[512], test[512];
    snprintf(train, sizeof train, "%s/data/census-income.data.gz", PARETO_SOURCE_DIR);
    snprintf(test, sizeof test, "%s/data/census-income.test.gz", PARETO_SOURCE_DIR);
    assert_int_equal(census_load(train, test, &opts, &data, &err), 0);
    double majority[3];
    for (int k = 0; k < 3; k++) {
        double rate = census_positive_rate(&data.test, k);
        majority[k] = rate > 0.5 ? rate : 1 - rate;
    }
    census_free(&data);

    result_row *rows;
    size_t n;
    assert_int_equal(results_read_csv(csv_path, &rows, &n, &err), 0);
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        int trained = rows[i].phase == PHASE_EXPLORE || rows[i].step == 3;
        if (!trained)
            continue;
        for (int k = 0; k < 3; k++) {
            if (rows[i].acc[k] <= majority[k])
                print_error("row %zu task %d: accuracy %.4f <= majority rate %.4f\n", i, k + 1,
                            rows[i].acc[k], majority[k]);
            assert_true(rows[i].acc[k] > majority[k]);
        }
        checked++;
    }
    assert_int_equal(checked, 2 + 12);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_has_header_and_twenty_columns),
        cmocka_unit_test(test_rows_cover_every_epoch_and_step_in_order),
        cmocka_unit_test(test_trained_accuracies_beat_the_majority_class),
    };
    return cmocka_run_group_tests(tests, run_smoke, remove_work);
}
