/*
 * test_census.c - the census loader: one-hot layout, raw values, labels, skipped rows, errors,
 * and the real shipped files.
 *
 * Each fixture is built from a template row (the first row of census-income.data) with a few
 * fields changed, written as a real gzip file into a fresh temporary directory, and loaded.
 * With all other categorical columns constant, every one-hot index can be computed by hand.
 *
 * Run one test by name with: test_census <pattern>  (a cmocka test filter).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pareto/census.h"
#include "pareto/log.h"

#ifndef PARETO_SOURCE_DIR
#error "PARETO_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif

/* The first row of census-income.data, field by field. */
static const char *const template_row[CENSUS_FIELDS] = {
    "73", "Not in universe", "0", "0", "High school graduate", "0", "Not in universe",
    "Widowed", "Not in universe or children", "Not in universe", "White", "All other",
    "Female", "Not in universe", "Not in universe", "Not in labor force", "0", "0", "0",
    "Nonfiler", "Not in universe", "Not in universe",
    "Other Rel 18+ ever marr not in subfamily", "Other relative of householder", "1700.09",
    "?", "?", "?", "Not in universe under 1 year old", "?", "0", "Not in universe",
    "United-States", "United-States", "United-States", "Native- Born in the United States",
    "0", "Not in universe", "2", "0", "95", "- 50000",
};

/* Columns the tests change. */
enum {
    COL_AGE = 0,
    COL_CLASS_OF_WORKER = 1,
    COL_EDUCATION = 4,
    COL_WAGE_PER_HOUR = 5,
    COL_MARITAL_STAT = 7,
    COL_CAPITAL_GAINS = 16,
    COL_CAPITAL_LOSSES = 17,
    COL_DIVIDENDS = 18,
    COL_NUM_PERSONS = 30,
    COL_WEEKS_WORKED = 39,
};

static const census_options strict = {.max_bad_row_fraction = 0.0, .verbose = 0};

static char tmp_dir[256];

static int make_tmp_dir(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/test_census_XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp_dir(void **state)
{
    (void)state;
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

/* ---- building fixtures --------------------------------------------------------------------- */

typedef struct {
    const char *field[CENSUS_FIELDS];
} row;

static row template(void)
{
    row r;
    memcpy(r.field, template_row, sizeof r.field);
    return r;
}

/* Appends the row as a data line ("f0, f1, ..., f41.\n") to text. */
static void append_row(char *text, size_t size, const row *r)
{
    size_t used = strlen(text);
    for (int c = 0; c < CENSUS_FIELDS; c++)
        used += (size_t)snprintf(text + used, size - used, "%s%s", c ? ", " : "", r->field[c]);
    snprintf(text + used, size - used, ".\n");
    assert_true(strlen(text) < size - 1);
}

/* Returns <tmp_dir>/<name> in a buffer of the caller. */
static const char *tmp_path(char *path, size_t size, const char *name)
{
    snprintf(path, size, "%s/%s", tmp_dir, name);
    return path;
}

/* Writes text gzip-compressed to <tmp_dir>/<name>; path receives the file's path. */
static const char *write_gzip(char *path, size_t size, const char *name, const char *text)
{
    tmp_path(path, size, name);
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    size_t n = strlen(text);
    if (n)
        assert_int_equal(gzwrite(gz, text, (unsigned)n), (int)n);
    assert_int_equal(gzclose(gz), Z_OK);
    return path;
}

/* Writes a gzip file holding the given rows, one per line. */
static const char *write_rows(char *path, size_t size, const char *name, const row *rows,
                              int n_rows)
{
    static char text[1 << 16];
    text[0] = '\0';
    for (int i = 0; i < n_rows; i++)
        append_row(text, sizeof text, &rows[i]);
    return write_gzip(path, size, name, text);
}

static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole small file into buf; returns its size. */
static size_t read_bytes(const char *path, unsigned char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, size, f);
    assert_true(n < size);
    fclose(f);
    return n;
}

/* Loads and expects success. */
static void load_ok(const char *train, const char *test, const census_options *opts,
                    census_data *data)
{
    pareto_error err = {{0}};
    int rc = census_load(train, test, opts, data, &err);
    if (rc != 0)
        fail_msg("census_load failed: %s", err.msg);
}

/* Loads, expects failure with every given fragment in the message and *data left zeroed. */
static void load_fails(const char *train, const char *test, const census_options *opts,
                       const char *fragment1, const char *fragment2)
{
    census_data data;
    memset(&data, 0xab, sizeof data);
    pareto_error err = {{0}};
    assert_int_equal(census_load(train, test, opts, &data, &err), -1);
    if (fragment1 && !strstr(err.msg, fragment1))
        fail_msg("message '%s' lacks '%s'", err.msg, fragment1);
    if (fragment2 && !strstr(err.msg, fragment2))
        fail_msg("message '%s' lacks '%s'", err.msg, fragment2);
    census_data zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&data, &zero, sizeof data);
}

/* ---- one-hot layout ------------------------------------------------------------------------ */

/* With class of worker taking 4 values and every other categorical column 1, the features are:
 * class of worker 0..3, detailed industry 4, detailed occupation 5, wage per hour 6, ...,
 * 41 in all. The values sort by byte order: "?" < "Not in universe" < "Private" < "aardvark". */
static void test_onehot_follows_byte_order_of_train_and_test_values(void **state)
{
    (void)state;
    row train[2] = {template(), template()}, test[2] = {template(), template()};
    train[0].field[COL_CLASS_OF_WORKER] = "Private";
    train[1].field[COL_CLASS_OF_WORKER] = "aardvark";
    test[0].field[COL_CLASS_OF_WORKER] = "?";
    test[1].field[COL_CLASS_OF_WORKER] = "Not in universe";
    char train_path[600], test_path[600];
    write_rows(train_path, sizeof train_path, "onehot_train.gz", train, 2);
    write_rows(test_path, sizeof test_path, "onehot_test.gz", test, 2);

    census_data data;
    load_ok(train_path, test_path, &strict, &data);
    assert_int_equal(data.n_features, 41);
    assert_int_equal(data.train.n_rows, 2);
    assert_int_equal(data.test.n_rows, 2);
    assert_int_equal(data.train.onehot[0 * CENSUS_CATEGORICAL + 0], 2); /* Private */
    assert_int_equal(data.train.onehot[1 * CENSUS_CATEGORICAL + 0], 3); /* aardvark */
    assert_int_equal(data.test.onehot[0 * CENSUS_CATEGORICAL + 0], 0);  /* ? */
    assert_int_equal(data.test.onehot[1 * CENSUS_CATEGORICAL + 0], 1);  /* Not in universe */

    /* The following columns come one feature each, after the 4-wide block. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(data.train.onehot[i * CENSUS_CATEGORICAL + 1], 4);
        assert_int_equal(data.train.onehot[i * CENSUS_CATEGORICAL + 2], 5);
        assert_int_equal(data.train.onehot[i * CENSUS_CATEGORICAL + 3], 7); /* after wage */
        assert_int_equal(data.train.onehot[i * CENSUS_CATEGORICAL + 31], 40);
    }
    const uint16_t cont_feature[CENSUS_CONTINUOUS] = {6, 16, 17, 18, 29, 38};
    assert_memory_equal(data.cont_feature, cont_feature, sizeof cont_feature);
    census_free(&data);
}

static void test_value_only_in_test_file_shifts_train_indices(void **state)
{
    (void)state;
    row train = template(), test = template();
    train.field[COL_CLASS_OF_WORKER] = "Private";
    test.field[COL_CLASS_OF_WORKER] = "Federal government";
    char train_path[600], test_path[600];
    write_rows(train_path, sizeof train_path, "shift_train.gz", &train, 1);
    write_rows(test_path, sizeof test_path, "shift_test.gz", &test, 1);

    /* Train against itself: "Private" is the column's only value. */
    census_data alone;
    load_ok(train_path, train_path, &strict, &alone);
    assert_int_equal(alone.n_features, 38);
    assert_int_equal(alone.train.onehot[0], 0);
    assert_int_equal(alone.train.onehot[1], 1);
    census_free(&alone);

    /* With the test file, "Federal government" sorts first and moves everything after it. */
    census_data both;
    load_ok(train_path, test_path, &strict, &both);
    assert_int_equal(both.n_features, 39);
    assert_int_equal(both.train.onehot[0], 1);
    assert_int_equal(both.test.onehot[0], 0);
    assert_int_equal(both.train.onehot[1], 2);
    census_free(&both);
}

/* ---- continuous values and labels ---------------------------------------------------------- */

static void test_continuous_columns_keep_raw_values(void **state)
{
    (void)state;
    row r = template();
    r.field[COL_WAGE_PER_HOUR] = "1234";
    r.field[COL_CAPITAL_GAINS] = "0.5";
    r.field[COL_CAPITAL_LOSSES] = "1e3";
    r.field[COL_DIVIDENDS] = "-7.25";
    r.field[COL_NUM_PERSONS] = "3";
    r.field[COL_WEEKS_WORKED] = "52";
    char path[600];
    write_rows(path, sizeof path, "cont.gz", &r, 1);

    census_data data;
    load_ok(path, path, &strict, &data);
    const float expected[CENSUS_CONTINUOUS] = {1234.0f, 0.5f, 1000.0f, -7.25f, 3.0f, 52.0f};
    for (int j = 0; j < CENSUS_CONTINUOUS; j++) {
        assert_true(data.train.cont[j] == expected[j]);
        assert_true(data.test.cont[j] == expected[j]);
    }
    census_free(&data);
}

static void test_age_label_is_age_at_least_40(void **state)
{
    (void)state;
    row rows[3] = {template(), template(), template()};
    rows[0].field[COL_AGE] = "39";
    rows[1].field[COL_AGE] = "40";
    rows[2].field[COL_AGE] = "39.5";
    char path[600];
    write_rows(path, sizeof path, "age.gz", rows, 3);

    census_data data;
    load_ok(path, path, &strict, &data);
    assert_int_equal(data.train.labels[0 * CENSUS_TASKS + 0], 0);
    assert_int_equal(data.train.labels[1 * CENSUS_TASKS + 0], 1);
    assert_int_equal(data.train.labels[2 * CENSUS_TASKS + 0], 0);
    census_free(&data);
}

static void test_education_label_keeps_the_maters_typo(void **state)
{
    (void)state;
    row rows[5] = {template(), template(), template(), template(), template()};
    rows[0].field[COL_EDUCATION] = "Masters degree(MA MS MEng MEd MSW MBA)";
    rows[1].field[COL_EDUCATION] = "Bachelors degree(BA AB BS)";
    rows[2].field[COL_EDUCATION] = "Some college but no degree";
    rows[3].field[COL_EDUCATION] = "High school graduate";
    rows[4].field[COL_EDUCATION] = "Prof school degree (MD DDS DVM LLB JD)";
    char path[600];
    write_rows(path, sizeof path, "education.gz", rows, 5);

    census_data data;
    load_ok(path, path, &strict, &data);
    const uint8_t expected[5] = {0, 1, 1, 0, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(data.train.labels[i * CENSUS_TASKS + 1], expected[i]);
    census_free(&data);
}

static void test_marital_label_is_never_married(void **state)
{
    (void)state;
    row rows[2] = {template(), template()};
    rows[0].field[COL_MARITAL_STAT] = "Never married";
    rows[1].field[COL_MARITAL_STAT] = "Married-civilian spouse present";
    char path[600];
    write_rows(path, sizeof path, "marital.gz", rows, 2);

    census_data data;
    load_ok(path, path, &strict, &data);
    assert_int_equal(data.train.labels[0 * CENSUS_TASKS + 2], 1);
    assert_int_equal(data.train.labels[1 * CENSUS_TASKS + 2], 0);
    assert_true(census_positive_rate(&data.train, 2) == 0.5);
    census_free(&data);
}

/* ---- line handling ------------------------------------------------------------------------- */

/* Lines 1 and 4 are good, line 2 is blank (ignored), line 3 lacks a field: 1 bad row of 3. */
static const char *write_one_short_row(char *path, size_t size)
{
    static char text[8192];
    text[0] = '\0';
    row good = template(), short_row = template();
    append_row(text, sizeof text, &good);
    strcat(text, "   \n");
    /* Joining the first two fields with "," leaves 41 fields. */
    char joined[64];
    snprintf(joined, sizeof joined, "%s,%s", short_row.field[0], short_row.field[1]);
    short_row.field[0] = joined;
    for (int c = 1; c < CENSUS_FIELDS - 1; c++)
        short_row.field[c] = short_row.field[c + 1];
    short_row.field[CENSUS_FIELDS - 1] = NULL;
    size_t used = strlen(text);
    for (int c = 0; c < CENSUS_FIELDS - 1; c++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s%s", c ? ", " : "",
                                 short_row.field[c]);
    snprintf(text + used, sizeof text - used, ".\n");
    append_row(text, sizeof text, &good);
    return write_gzip(path, size, "short_row.gz", text);
}

static void test_row_with_wrong_field_count_is_skipped_and_counted(void **state)
{
    (void)state;
    char path[600];
    write_one_short_row(path, sizeof path);

    /* 1 bad of 3 non-empty lines: allowed at 0.34, refused at 0.33. */
    census_options lenient = {.max_bad_row_fraction = 0.34, .verbose = 1};
    census_data data;
    load_ok(path, path, &lenient, &data);
    assert_int_equal(data.train.n_rows, 2);
    assert_int_equal(data.test.n_rows, 2);
    census_free(&data);

    census_options tighter = {.max_bad_row_fraction = 0.33, .verbose = 0};
    load_fails(path, path, &tighter, "1 of 3 non-empty lines", "first at lines 3");
}

static void test_row_with_wrong_field_count_fails_when_none_allowed(void **state)
{
    (void)state;
    char path[600];
    write_one_short_row(path, sizeof path);
    load_fails(path, path, &strict, "short_row.gz: 1 of 3", "first at lines 3");
}

static void test_fields_and_lines_are_stripped(void **state)
{
    (void)state;
    row r = template();
    r.field[COL_CLASS_OF_WORKER] = "Private  ";  /* stray spaces before the separator */
    r.field[COL_WAGE_PER_HOUR] = "12\t";
    static char text[8192];
    text[0] = '\0';
    strcat(text, "  \t");
    append_row(text, sizeof text, &r);
    /* A CRLF line ending and no newline at the very end. */
    text[strlen(text) - 1] = '\0';
    strcat(text, " \r\n");
    append_row(text, sizeof text, &r);
    text[strlen(text) - 1] = '\0';
    row plain = template();
    plain.field[COL_CLASS_OF_WORKER] = "Private";
    char path[600], plain_path[600];
    write_gzip(path, sizeof path, "stripped.gz", text);
    write_rows(plain_path, sizeof plain_path, "plain.gz", &plain, 1);

    census_data data;
    load_ok(path, plain_path, &strict, &data);
    assert_int_equal(data.train.n_rows, 2);
    assert_int_equal(data.n_features, 38); /* "Private  " and "Private" are one value */
    assert_true(data.train.cont[0] == 12.0f);
    census_free(&data);
}

/* A 3 MB categorical value: longer than the loader's first line buffer. */
static void test_line_longer_than_the_read_buffer_is_read_whole(void **state)
{
    (void)state;
    size_t long_len = 3u << 20;
    char *long_value = malloc(long_len + 1);
    assert_non_null(long_value);
    memset(long_value, 'x', long_len);
    long_value[long_len] = '\0';
    row rows[2] = {template(), template()};
    rows[0].field[COL_CLASS_OF_WORKER] = long_value;
    size_t size = long_len + 8192;
    char *text = calloc(1, size);
    assert_non_null(text);
    append_row(text, size, &rows[0]);
    append_row(text, size, &rows[1]);
    char path[600];
    write_gzip(path, sizeof path, "long_line.gz", text);
    free(text);
    free(long_value);

    census_data data;
    load_ok(path, path, &strict, &data);
    assert_int_equal(data.train.n_rows, 2);
    /* "Not in universe" < "xxx...". */
    assert_int_equal(data.train.onehot[0 * CENSUS_CATEGORICAL], 1);
    assert_int_equal(data.train.onehot[1 * CENSUS_CATEGORICAL], 0);
    census_free(&data);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void test_missing_file_names_the_file_and_reason(void **state)
{
    (void)state;
    char good[600], missing[600];
    row r = template();
    write_rows(good, sizeof good, "good.gz", &r, 1);
    tmp_path(missing, sizeof missing, "no_such_file.gz");
    load_fails(missing, good, &strict, "no_such_file.gz: cannot open", "No such file");
    load_fails(good, missing, &strict, "no_such_file.gz: cannot open", "No such file");
}

static void test_plain_text_file_is_not_gzip(void **state)
{
    (void)state;
    char plain[600], good[600];
    static char text[8192];
    text[0] = '\0';
    row r = template();
    append_row(text, sizeof text, &r);
    tmp_path(plain, sizeof plain, "plain.txt");
    write_bytes(plain, text, strlen(text));
    write_rows(good, sizeof good, "good.gz", &r, 1);
    load_fails(plain, good, &strict, "plain.txt: not a gzip file", NULL);
}

/* Writes 50 template rows as gzip and returns its compressed bytes in buf. */
static size_t gzip_of_50_rows(unsigned char *buf, size_t size)
{
    row rows[50];
    for (int i = 0; i < 50; i++) {
        rows[i] = template();
        rows[i].field[COL_WAGE_PER_HOUR] = i % 2 ? "17" : "0";
    }
    char path[600];
    write_rows(path, sizeof path, "fifty.gz", rows, 50);
    return read_bytes(path, buf, size);
}

static void test_truncated_gzip_is_reported(void **state)
{
    (void)state;
    static unsigned char buf[1 << 16];
    size_t n = gzip_of_50_rows(buf, sizeof buf);
    assert_true(n > 40);
    char cut[600];
    tmp_path(cut, sizeof cut, "truncated.gz");
    write_bytes(cut, buf, n - 20); /* the 8-byte trailer and some deflate data */
    load_fails(cut, cut, &strict, "truncated.gz: corrupt or truncated gzip stream near line",
               ": unexpected end of file");
}

static void test_crc_mismatch_is_reported(void **state)
{
    (void)state;
    static unsigned char buf[1 << 16];
    size_t n = gzip_of_50_rows(buf, sizeof buf);
    buf[n - 8] ^= 0xff; /* the first byte of the trailer's CRC-32 */
    char bad[600];
    tmp_path(bad, sizeof bad, "bad_crc.gz");
    write_bytes(bad, buf, n);
    load_fails(bad, bad, &strict, "bad_crc.gz: corrupt or truncated gzip stream near line",
               "stream near line 1: incorrect data check");
}

static void test_empty_file_is_refused(void **state)
{
    (void)state;
    char empty[600];
    tmp_path(empty, sizeof empty, "empty.gz");
    write_bytes(empty, "", 0);
    load_fails(empty, empty, &strict, "empty.gz: empty file", NULL);
}

static void test_gzip_of_nothing_has_no_rows(void **state)
{
    (void)state;
    char path[600];
    write_gzip(path, sizeof path, "nothing.gz", "\n\n  \n");
    load_fails(path, path, &strict, "nothing.gz: no rows", NULL);
}

static void test_file_of_only_bad_rows_has_no_valid_rows(void **state)
{
    (void)state;
    char path[600];
    write_gzip(path, sizeof path, "only_bad.gz", "a, b, c.\n");
    census_options anything = {.max_bad_row_fraction = 1.0, .verbose = 0};
    load_fails(path, path, &anything, "only_bad.gz: no valid rows", NULL);
}

static void test_non_numeric_continuous_value_names_file_line_and_column(void **state)
{
    (void)state;
    row rows[2] = {template(), template()};
    rows[1].field[COL_WAGE_PER_HOUR] = "abc";
    char path[600];
    write_rows(path, sizeof path, "non_numeric.gz", rows, 2);
    load_fails(path, path, &strict,
               "non_numeric.gz:2: column 'wage per hour': expected a number, found 'abc'", NULL);
}

static void test_partly_numeric_or_infinite_values_are_refused(void **state)
{
    (void)state;
    row rows[1] = {template()};
    char path[600];
    rows[0].field[COL_WEEKS_WORKED] = "52x";
    write_rows(path, sizeof path, "partly.gz", rows, 1);
    load_fails(path, path, &strict, "partly.gz:1: column 'weeks worked in year'", "'52x'");

    rows[0] = template();
    rows[0].field[COL_CAPITAL_GAINS] = "inf";
    write_rows(path, sizeof path, "infinite.gz", rows, 1);
    load_fails(path, path, &strict, "infinite.gz:1: column 'capital gains'", "'inf'");
}

static void test_non_numeric_age_is_refused(void **state)
{
    (void)state;
    row r = template();
    r.field[COL_AGE] = "old";
    char path[600];
    write_rows(path, sizeof path, "age_text.gz", &r, 1);
    load_fails(path, path, &strict, "age_text.gz:1: column 'age': expected a number", "'old'");
}

static void test_free_zeroes_and_tolerates_a_zeroed_struct(void **state)
{
    (void)state;
    census_data data;
    memset(&data, 0, sizeof data);
    census_free(&data);
    row r = template();
    char path[600];
    write_rows(path, sizeof path, "free.gz", &r, 1);
    load_ok(path, path, &strict, &data);
    census_free(&data);
    assert_null(data.train.onehot);
    assert_int_equal(data.train.n_rows, 0);
    assert_int_equal(data.n_features, 0);
}

/* ---- the real files ------------------------------------------------------------------------ */

/* Checks one split: indices strictly increasing, none on a continuous feature, and widens each
 * categorical column's observed range [lo, hi]. */
static void check_onehot_rows(const census_split *split, const census_data *data, int *lo,
                              int *hi)
{
    for (int i = 0; i < split->n_rows; i++) {
        const uint16_t *f = split->onehot + (size_t)i * CENSUS_CATEGORICAL;
        for (int j = 0; j < CENSUS_CATEGORICAL; j++) {
            if (j > 0 && f[j] <= f[j - 1])
                fail_msg("row %d: one-hot index %d (%d) not above the previous (%d)", i, j, f[j],
                         f[j - 1]);
            assert_true(f[j] < data->n_features);
            for (int k = 0; k < CENSUS_CONTINUOUS; k++)
                assert_int_not_equal(f[j], data->cont_feature[k]);
            if (f[j] < lo[j])
                lo[j] = f[j];
            if (f[j] > hi[j])
                hi[j] = f[j];
        }
        for (int k = 0; k < CENSUS_TASKS; k++)
            assert_true(split->labels[(size_t)i * CENSUS_TASKS + k] <= 1);
    }
}

static void test_real_files_load_with_487_features(void **state)
{
    (void)state;
    const char *train = PARETO_SOURCE_DIR "/data/census-income.data.gz";
    const char *test = PARETO_SOURCE_DIR "/data/census-income.test.gz";
    census_options opts = {.max_bad_row_fraction = 0.0, .verbose = 1}; /* 0 skipped rows */
    census_data data;
    double t0 = wall_seconds();
    load_ok(train, test, &opts, &data);
    double seconds = wall_seconds() - t0;

    assert_int_equal(data.train.n_rows, 199523);
    assert_int_equal(data.test.n_rows, 99762);
    assert_int_equal(data.n_features, CENSUS_FEATURES);

    /* Every value of a column occurs in train or test, so the observed ranges of the columns,
     * with the continuous features, must tile [0, 487) exactly: each row's index lies inside its
     * column's block. */
    int lo[CENSUS_CATEGORICAL], hi[CENSUS_CATEGORICAL];
    for (int j = 0; j < CENSUS_CATEGORICAL; j++) {
        lo[j] = CENSUS_FEATURES;
        hi[j] = -1;
    }
    check_onehot_rows(&data.train, &data, lo, hi);
    check_onehot_rows(&data.test, &data, lo, hi);
    int next = 0, j = 0, k = 0;
    while (next < CENSUS_FEATURES) {
        if (k < CENSUS_CONTINUOUS && data.cont_feature[k] == next) {
            next++;
            k++;
        } else {
            assert_true(j < CENSUS_CATEGORICAL);
            assert_int_equal(lo[j], next);
            next = hi[j] + 1;
            j++;
        }
    }
    assert_int_equal(j, CENSUS_CATEGORICAL);
    assert_int_equal(k, CENSUS_CONTINUOUS);

    printf("real data loaded in %.2f s; positive rates (train / test):\n", seconds);
    static const char *const tasks[CENSUS_TASKS] = {"age >= 40", "education", "never married"};
    for (int t = 0; t < CENSUS_TASKS; t++) {
        double rate_train = census_positive_rate(&data.train, t);
        double rate_test = census_positive_rate(&data.test, t);
        printf("  task %d (%s): %.4f / %.4f\n", t, tasks[t], rate_train, rate_test);
        assert_true(rate_train > 0.0 && rate_train < 1.0);
        assert_true(rate_test > 0.0 && rate_test < 1.0);
    }
    census_free(&data);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onehot_follows_byte_order_of_train_and_test_values),
        cmocka_unit_test(test_value_only_in_test_file_shifts_train_indices),
        cmocka_unit_test(test_continuous_columns_keep_raw_values),
        cmocka_unit_test(test_age_label_is_age_at_least_40),
        cmocka_unit_test(test_education_label_keeps_the_maters_typo),
        cmocka_unit_test(test_marital_label_is_never_married),
        cmocka_unit_test(test_row_with_wrong_field_count_is_skipped_and_counted),
        cmocka_unit_test(test_row_with_wrong_field_count_fails_when_none_allowed),
        cmocka_unit_test(test_fields_and_lines_are_stripped),
        cmocka_unit_test(test_line_longer_than_the_read_buffer_is_read_whole),
        cmocka_unit_test(test_missing_file_names_the_file_and_reason),
        cmocka_unit_test(test_plain_text_file_is_not_gzip),
        cmocka_unit_test(test_truncated_gzip_is_reported),
        cmocka_unit_test(test_crc_mismatch_is_reported),
        cmocka_unit_test(test_empty_file_is_refused),
        cmocka_unit_test(test_gzip_of_nothing_has_no_rows),
        cmocka_unit_test(test_file_of_only_bad_rows_has_no_valid_rows),
        cmocka_unit_test(test_non_numeric_continuous_value_names_file_line_and_column),
        cmocka_unit_test(test_partly_numeric_or_infinite_values_are_refused),
        cmocka_unit_test(test_non_numeric_age_is_refused),
        cmocka_unit_test(test_free_zeroes_and_tolerates_a_zeroed_struct),
        cmocka_unit_test(test_real_files_load_with_487_features),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
