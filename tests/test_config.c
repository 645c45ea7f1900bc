/*
 * test_config.c - defaults, YAML loading, validation errors, weight vectors, canonical text.
 *
 * Each invalid configuration is written to a fresh temporary directory, loaded, and its error
 * checked for the file name, line and column, the key, and what was expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pareto/config.h"

#ifndef PARETO_SOURCE_DIR
#error "PARETO_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

static char tmp_dir[256];

static int make_tmp_dir(void **state)
{
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_config_XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state)
{
    DIR *dir = opendir(tmp_dir);
    if (dir) {
        struct dirent *e;
        char path[600];
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
            unlink(path);
        }
        closedir(dir);
    }
    rmdir(tmp_dir);
    return 0;
}

/* Writes text to <tmp_dir>/<name> and returns that path (valid until the next call). */
static const char *write_yaml(const char *name, const char *text)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void assert_contains(const char *msg, const char *part)
{
    if (!strstr(msg, part))
        fail_msg("expected the message to contain \"%s\", got: %s", part, msg);
}

/* Loads text as a configuration, expects failure, and returns the message. */
static const char *load_error(const char *name, const char *text, pareto_error *err)
{
    const char *path = write_yaml(name, text);
    pareto_config cfg;
    config_defaults(&cfg);
    err->msg[0] = '\0';
    assert_int_equal(config_load(path, &cfg, err), -1);
    assert_contains(err->msg, path);
    return err->msg;
}

/* ---- Defaults and valid files -------------------------------------------------------------- */

static void test_defaults_are_the_papers_values(void **state)
{
    pareto_config cfg;
    config_defaults(&cfg);
    assert_int_equal(cfg.seed, 42);
    assert_int_equal(cfg.grid, 5);
    assert_int_equal(cfg.n_weights_selected, 0);
    assert_int_equal(cfg.n_directions, 6);
    for (int d = 0; d < 6; d++)
        assert_int_equal(cfg.directions[d], d + 1);
    assert_int_equal(cfg.threads, 0);
    assert_string_equal(cfg.train_path, "data/census-income.data.gz");
    assert_string_equal(cfg.test_path, "data/census-income.test.gz");
    assert_true(cfg.max_bad_row_fraction == 0.001);
    assert_string_equal(cfg.out_dir, "results/fig5");
    assert_string_equal(cfg.csv_name, "fig5.csv");
    assert_int_equal(cfg.sgd_epochs, 30);
    assert_int_equal(cfg.sgd_batch_size, 256);
    assert_true(cfg.sgd_lr == 0.001);
    assert_true(cfg.sgd_momentum == 0.9);
    assert_int_equal(cfg.explore_steps, 20);
    assert_true(cfg.jacobian_fraction == 0.25);
    assert_int_equal(cfg.hvp_batch, 2048);
    assert_true(cfg.damping == 0.1);
    assert_true(cfg.explore_momentum == 0.9);
    assert_true(cfg.explore_lr == 0.01);
    assert_int_equal(cfg.minres_max_iter, 100);
    assert_true(cfg.minres_rtol == 1e-5);
}

static void test_full_file_parses_to_its_values(void **state)
{
    const char *path = write_yaml("full.yaml",
        "seed: 7\n"
        "grid: 6\n"
        "weights: [14, 2, 9]\n"
        "directions: [6, 1]\n"
        "threads: 4\n"
        "data: {train: /srv/a/train.csv, test: test.csv, max_bad_row_fraction: 0}\n"
        "output:\n"
        "  dir: out/x\n"
        "  csv: x.csv\n"
        "sgd:\n"
        "  epochs: 2\n"
        "  batch_size: 64\n"
        "  lr: 2.5e-3\n"
        "  momentum: 0\n"
        "explore:\n"
        "  steps: 5\n"
        "  jacobian_fraction: 1\n"
        "  hvp_batch: 128\n"
        "  damping: 0\n"
        "  momentum: 0.5\n"
        "  lr: 0.02\n"
        "  minres_max_iter: 50\n"
        "  minres_rtol: 1e-8\n");
    pareto_config cfg;
    pareto_error err = {{0}};
    config_defaults(&cfg);
    assert_int_equal(config_load(path, &cfg, &err), 0);

    assert_int_equal(cfg.seed, 7);
    assert_int_equal(cfg.grid, 6);
    assert_int_equal(cfg.n_weights_selected, 3);
    assert_int_equal(cfg.weights_selected[0], 14);
    assert_int_equal(cfg.weights_selected[1], 2);
    assert_int_equal(cfg.weights_selected[2], 9);
    assert_int_equal(cfg.n_directions, 2);
    assert_int_equal(cfg.directions[0], 6);
    assert_int_equal(cfg.directions[1], 1);
    assert_int_equal(cfg.threads, 4);
    assert_string_equal(cfg.train_path, "/srv/a/train.csv");
    assert_string_equal(cfg.test_path, "test.csv");
    assert_true(cfg.max_bad_row_fraction == 0.0);
    assert_string_equal(cfg.out_dir, "out/x");
    assert_string_equal(cfg.csv_name, "x.csv");
    assert_int_equal(cfg.sgd_epochs, 2);
    assert_int_equal(cfg.sgd_batch_size, 64);
    assert_true(cfg.sgd_lr == 2.5e-3);
    assert_true(cfg.sgd_momentum == 0.0);
    assert_int_equal(cfg.explore_steps, 5);
    assert_true(cfg.jacobian_fraction == 1.0);
    assert_int_equal(cfg.hvp_batch, 128);
    assert_true(cfg.damping == 0.0);
    assert_true(cfg.explore_momentum == 0.5);
    assert_true(cfg.explore_lr == 0.02);
    assert_int_equal(cfg.minres_max_iter, 50);
    assert_true(cfg.minres_rtol == 1e-8);
}

static void test_absent_keys_keep_defaults(void **state)
{
    const char *path = write_yaml("partial.yaml", "sgd: {epochs: 3}\ndirections: []\n");
    pareto_config cfg, defaults;
    pareto_error err = {{0}};
    config_defaults(&cfg);
    config_defaults(&defaults);
    assert_int_equal(config_load(path, &cfg, &err), 0);

    assert_int_equal(cfg.sgd_epochs, 3);
    assert_int_equal(cfg.n_directions, 0);
    assert_int_equal(cfg.sgd_batch_size, defaults.sgd_batch_size);
    assert_true(cfg.sgd_lr == defaults.sgd_lr);
    assert_int_equal(cfg.seed, defaults.seed);
    assert_string_equal(cfg.out_dir, defaults.out_dir);
}

static void test_fig5_yaml_is_the_default_run(void **state)
{
    pareto_config cfg, defaults;
    pareto_error err = {{0}};
    config_defaults(&defaults);
    config_defaults(&cfg);
    int rc = config_load(PARETO_SOURCE_DIR "/configs/fig5.yaml", &cfg, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);

    /* Every value equals its default; the explicit weight list selects all ten. */
    assert_int_equal(cfg.n_weights_selected, 10);
    char loaded_text[4096], default_text[4096];
    config_canonical(&cfg, loaded_text, sizeof loaded_text);
    config_canonical(&defaults, default_text, sizeof default_text);
    assert_string_equal(loaded_text, default_text);
    assert_string_equal(cfg.train_path, defaults.train_path);
    assert_string_equal(cfg.test_path, defaults.test_path);
    assert_true(cfg.max_bad_row_fraction == defaults.max_bad_row_fraction);
    assert_string_equal(cfg.out_dir, "results/fig5");
    assert_string_equal(cfg.csv_name, "fig5.csv");
    assert_int_equal(cfg.threads, 0);
}

static void test_smoke_yaml_is_a_small_run(void **state)
{
    pareto_config cfg;
    pareto_error err = {{0}};
    config_defaults(&cfg);
    int rc = config_load(PARETO_SOURCE_DIR "/configs/smoke.yaml", &cfg, &err);
    if (rc != 0)
        fail_msg("%s", err.msg);

    assert_int_equal(cfg.n_weights_selected, 2);
    assert_int_equal(cfg.weights_selected[0], 0);
    assert_int_equal(cfg.weights_selected[1], 5);
    assert_int_equal(cfg.n_directions, 2);
    assert_int_equal(cfg.directions[0], 3);
    assert_int_equal(cfg.directions[1], 6);
    assert_int_equal(cfg.sgd_epochs, 3);
    assert_int_equal(cfg.explore_steps, 3);
    assert_true(cfg.jacobian_fraction == 0.25);
    assert_string_equal(cfg.out_dir, "results/smoke");
    assert_string_equal(cfg.csv_name, "smoke.csv");
    assert_int_equal(cfg.grid, 5);
    assert_int_equal(cfg.sgd_batch_size, 256);
    assert_int_equal(cfg.hvp_batch, 2048);
}

/* ---- Weight vectors, selection, canonical text --------------------------------------------- */

static void test_weight_vectors_grid5_are_ten_in_lexicographic_order(void **state)
{
    double w[3 * 16];
    assert_int_equal(config_weight_vectors(5, NULL), 10);
    assert_int_equal(config_weight_vectors(5, w), 10);

    /* Expected list by brute force: every (a,b,c) in {1..5}^3 with a+b+c = 6, a then b then c
     * ascending - what itertools.product over the grid gives after filtering. */
    int k = 0;
    for (int a = 1; a <= 5; a++)
        for (int b = 1; b <= 5; b++)
            for (int c = 1; c <= 5; c++) {
                if (a + b + c != 6)
                    continue;
                assert_true(k < 10);
                assert_true(fabs(w[3 * k + 0] - a / 6.0) < 1e-15);
                assert_true(fabs(w[3 * k + 1] - b / 6.0) < 1e-15);
                assert_true(fabs(w[3 * k + 2] - c / 6.0) < 1e-15);
                k++;
            }
    assert_int_equal(k, 10);

    for (int i = 0; i < 10; i++) {
        assert_true(fabs(w[3 * i] + w[3 * i + 1] + w[3 * i + 2] - 1.0) < 1e-12);
        for (int j = 0; j < 3; j++)
            assert_true(w[3 * i + j] > 0.0 && w[3 * i + j] < 1.0);
    }
    assert_true(fabs(w[0] - 1.0 / 6) < 1e-15 && fabs(w[2] - 4.0 / 6) < 1e-15);
    for (int j = 0; j < 3; j++)
        assert_true(fabs(w[3 * 5 + j] - 1.0 / 3) < 1e-15);
}

static void test_weight_vector_count_is_grid_choose_2(void **state)
{
    assert_int_equal(config_weight_vectors(1, NULL), 0);
    for (int g = 2; g <= 40; g++)
        assert_int_equal(config_weight_vectors(g, NULL), g * (g - 1) / 2);
    assert_true(config_weight_vectors(40, NULL) <= CONFIG_MAX_WEIGHTS);
}

static void test_selected_weights_are_sorted_or_all(void **state)
{
    pareto_config cfg;
    config_defaults(&cfg);
    int indices[CONFIG_MAX_WEIGHTS];
    assert_int_equal(config_selected_weights(&cfg, indices), 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(indices[i], i);

    cfg.n_weights_selected = 3;
    cfg.weights_selected[0] = 7;
    cfg.weights_selected[1] = 0;
    cfg.weights_selected[2] = 4;
    assert_int_equal(config_selected_weights(&cfg, indices), 3);
    assert_int_equal(indices[0], 0);
    assert_int_equal(indices[1], 4);
    assert_int_equal(indices[2], 7);
}

static void test_canonical_has_result_values_only(void **state)
{
    pareto_config cfg;
    config_defaults(&cfg);
    char base[4096], text[4096];
    config_canonical(&cfg, base, sizeof base);
    assert_contains(base, "seed=42\n");
    assert_contains(base, "grid=5\n");
    assert_contains(base, "weights=0,1,2,3,4,5,6,7,8,9\n");
    assert_contains(base, "directions=1,2,3,4,5,6\n");
    assert_contains(base, "data.train=census-income.data.gz\n");
    assert_contains(base, "sgd.lr=0.001\n");
    assert_contains(base, "explore.minres_rtol=1.0000000000000001e-05\n");
    assert_null(strstr(base, "results"));
    assert_null(strstr(base, "fig5.csv"));

    /* Output location, thread count and data directory do not change the text... */
    snprintf(cfg.out_dir, sizeof cfg.out_dir, "elsewhere");
    snprintf(cfg.csv_name, sizeof cfg.csv_name, "other.csv");
    snprintf(cfg.train_path, sizeof cfg.train_path, "/mnt/census-income.data.gz");
    cfg.threads = 8;
    config_canonical(&cfg, text, sizeof text);
    assert_string_equal(text, base);

    /* ...a learning rate does. */
    cfg.sgd_lr = 0.002;
    config_canonical(&cfg, text, sizeof text);
    assert_string_not_equal(text, base);
}

/* ---- One test per error class -------------------------------------------------------------- */

static void test_unknown_key_lists_valid_keys(void **state)
{
    pareto_error err;
    const char *msg = load_error("unknown.yaml", "seed: 1\nsgd:\n  epochs: 2\n  lrate: 0.1\n",
                                 &err);
    assert_contains(msg, "unknown.yaml:4:3:");
    assert_contains(msg, "'sgd.lrate'");
    assert_contains(msg, "epochs, batch_size, lr, momentum");
}

static void test_mapping_where_a_number_is_expected(void **state)
{
    pareto_error err;
    const char *msg = load_error("mapping.yaml", "seed: 1\ngrid: {a: 1}\n", &err);
    assert_contains(msg, "mapping.yaml:2:7:");
    assert_contains(msg, "key 'grid'");
    assert_contains(msg, "expected an integer in 2..40");
    assert_contains(msg, "found a mapping");
}

static void test_string_where_an_integer_is_expected(void **state)
{
    pareto_error err;
    const char *msg = load_error("string.yaml", "sgd: {batch_size: 12abc}\n", &err);
    assert_contains(msg, "string.yaml:1:19:");
    assert_contains(msg, "key 'sgd.batch_size'");
    assert_contains(msg, "expected an integer >= 1");
    assert_contains(msg, "found '12abc'");
}

static void test_negative_epochs(void **state)
{
    pareto_error err;
    const char *msg = load_error("epochs.yaml", "sgd:\n  epochs: -3\n", &err);
    assert_contains(msg, "epochs.yaml:2:11:");
    assert_contains(msg, "key 'sgd.epochs'");
    assert_contains(msg, "expected an integer in 1..100000");
    assert_contains(msg, "found '-3'");
}

static void test_learning_rate_not_positive(void **state)
{
    pareto_error err;
    const char *msg = load_error("lr.yaml", "explore:\n  steps: 2\n  lr: 0\n", &err);
    assert_contains(msg, "lr.yaml:3:7:");
    assert_contains(msg, "key 'explore.lr'");
    assert_contains(msg, "expected a number > 0");
    assert_contains(msg, "found '0'");
}

static void test_negative_damping(void **state)
{
    pareto_error err;
    const char *msg = load_error("damping.yaml", "explore: {damping: -0.5}\n", &err);
    assert_contains(msg, "damping.yaml:1:20:");
    assert_contains(msg, "key 'explore.damping'");
    assert_contains(msg, "expected a number >= 0");
    assert_contains(msg, "found '-0.5'");
}

static void test_direction_above_six(void **state)
{
    pareto_error err;
    const char *msg = load_error("dir7.yaml", "directions: [1, 7]\n", &err);
    assert_contains(msg, "dir7.yaml:1:17:");
    assert_contains(msg, "key 'directions[1]'");
    assert_contains(msg, "expected an integer in 1..6");
    assert_contains(msg, "found '7'");
}

static void test_direction_zero(void **state)
{
    pareto_error err;
    const char *msg = load_error("dir0.yaml", "directions:\n  - 0\n", &err);
    assert_contains(msg, "dir0.yaml:2:5:");
    assert_contains(msg, "key 'directions[0]'");
    assert_contains(msg, "expected an integer in 1..6");
    assert_contains(msg, "found '0'");
}

static void test_duplicate_direction(void **state)
{
    pareto_error err;
    const char *msg = load_error("dirdup.yaml", "directions: [2, 4, 2]\n", &err);
    assert_contains(msg, "dirdup.yaml:1:20:");
    assert_contains(msg, "key 'directions[2]'");
    assert_contains(msg, "expected each value once");
    assert_contains(msg, "found 2 again");
}

static void test_grid_below_two(void **state)
{
    pareto_error err;
    const char *msg = load_error("grid.yaml", "grid: 1\n", &err);
    assert_contains(msg, "grid.yaml:1:7:");
    assert_contains(msg, "key 'grid'");
    assert_contains(msg, "expected an integer in 2..40");
    assert_contains(msg, "found '1'");
}

static void test_weight_index_out_of_range_for_the_grid(void **state)
{
    /* grid comes after weights in the file, and still decides the range: 0..5 for grid 4. */
    pareto_error err;
    const char *msg = load_error("weights.yaml", "weights: [0, 6]\ngrid: 4\n", &err);
    assert_contains(msg, "weights.yaml:1:14:");
    assert_contains(msg, "key 'weights[1]'");
    assert_contains(msg, "expected an integer in 0..5");
    assert_contains(msg, "found '6'");
}

static void test_duplicate_key(void **state)
{
    pareto_error err;
    const char *msg = load_error("dupkey.yaml", "seed: 1\ngrid: 3\nseed: 2\n", &err);
    assert_contains(msg, "dupkey.yaml:3:1:");
    assert_contains(msg, "duplicate key 'seed'");
    assert_contains(msg, "first at line 1");
}

static void test_tab_indentation(void **state)
{
    pareto_error err;
    const char *msg = load_error("tab.yaml", "sgd:\n\tepochs: 3\n", &err);
    assert_contains(msg, "tab.yaml:2:1:");
    assert_contains(msg, "YAML syntax error");
    assert_contains(msg, "tab");
}

static void test_syntax_error(void **state)
{
    pareto_error err;
    const char *msg = load_error("syntax.yaml", "seed: 1\ndirections: [1, 2\ngrid: 5\n", &err);
    assert_contains(msg, "syntax.yaml:");
    assert_contains(msg, "YAML syntax error");
    assert_contains(msg, "flow sequence");
    assert_contains(msg, "line 2");
}

static void test_empty_file(void **state)
{
    pareto_error err;
    const char *msg = load_error("empty.yaml", "", &err);
    assert_contains(msg, "empty.yaml:");
    assert_contains(msg, "expected a mapping");
    assert_contains(msg, "empty file");
}

static void test_top_level_not_a_mapping(void **state)
{
    pareto_error err;
    const char *msg = load_error("list.yaml", "- seed\n- grid\n", &err);
    assert_contains(msg, "list.yaml:1:1:");
    assert_contains(msg, "expected a mapping");
    assert_contains(msg, "found a sequence");
}

static void test_missing_file(void **state)
{
    char path[600];
    snprintf(path, sizeof path, "%s/no-such-config.yaml", tmp_dir);
    pareto_config cfg;
    pareto_error err = {{0}};
    config_defaults(&cfg);
    assert_int_equal(config_load(path, &cfg, &err), -1);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_the_papers_values),
        cmocka_unit_test(test_full_file_parses_to_its_values),
        cmocka_unit_test(test_absent_keys_keep_defaults),
        cmocka_unit_test(test_fig5_yaml_is_the_default_run),
        cmocka_unit_test(test_smoke_yaml_is_a_small_run),
        cmocka_unit_test(test_weight_vectors_grid5_are_ten_in_lexicographic_order),
        cmocka_unit_test(test_weight_vector_count_is_grid_choose_2),
        cmocka_unit_test(test_selected_weights_are_sorted_or_all),
        cmocka_unit_test(test_canonical_has_result_values_only),
        cmocka_unit_test(test_unknown_key_lists_valid_keys),
        cmocka_unit_test(test_mapping_where_a_number_is_expected),
        cmocka_unit_test(test_string_where_an_integer_is_expected),
        cmocka_unit_test(test_negative_epochs),
        cmocka_unit_test(test_learning_rate_not_positive),
        cmocka_unit_test(test_negative_damping),
        cmocka_unit_test(test_direction_above_six),
        cmocka_unit_test(test_direction_zero),
        cmocka_unit_test(test_duplicate_direction),
        cmocka_unit_test(test_grid_below_two),
        cmocka_unit_test(test_weight_index_out_of_range_for_the_grid),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_tab_indentation),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_top_level_not_a_mapping),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
