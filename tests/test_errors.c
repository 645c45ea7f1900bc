/*
 * test_errors.c - the program's answer to bad input, end to end: each test runs the real
 * pareto_mpi binary (as a single process) in a fresh temporary folder and checks the exit
 * status, the key words of the message (file, line, key, what was expected) and that no result
 * CSV and no temporary file was left behind.
 *
 * The runs that get past the checks use the tiny data set in tests/tiny (600 training rows, 300
 * test rows), so a whole run takes about a second. The library-level details of each message
 * are tested in test_config.c and test_census.c; here the point is what a user sees.
 *
 * Run one test by name with: test_errors <pattern>  (a cmocka test filter).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#ifndef PARETO_SOURCE_DIR
#error "PARETO_SOURCE_DIR must name the source tree (tests/CMakeLists.txt defines it)"
#endif
#ifndef PARETO_BINARY
#error "PARETO_BINARY must name the pareto_mpi executable (tests/CMakeLists.txt defines it)"
#endif

#define TINY_TRAIN PARETO_SOURCE_DIR "/tests/tiny/train.gz"
#define TINY_TEST PARETO_SOURCE_DIR "/tests/tiny/test.gz"
#define TINY_TRAIN_ROWS 600

/* The tiny run's settings: one SGD job and one exploration job, a second or so in all. */
#define TINY_SECTIONS                                             \
    "weights: [5]\n"                                              \
    "directions: [3]\n"                                           \
    "sgd: {epochs: 1, batch_size: 64}\n"                          \
    "explore: {steps: 2, hvp_batch: 128, minres_max_iter: 10}\n"

/* Every test runs in its own folder under base_dir; the binary's cwd is case_dir. */
static char base_dir[256];
static char case_dir[512];
static char output[1 << 16]; /* the last run's stdout and stderr */

/* ---- files --------------------------------------------------------------------------------- */

static void case_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", case_dir, name);
}

static void write_bytes(const char *name, const void *bytes, size_t n)
{
    char path[1024];
    case_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *name, const char *text)
{
    write_bytes(name, text, strlen(text));
}

/* The whole file at path into a malloc'd buffer; *n is its size. */
static unsigned char *read_whole(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, used = 0, got;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    while ((got = fread(buf + used, 1, cap - used, f)) > 0) {
        used += got;
        if (used == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *n = used;
    return buf;
}

static int file_exists(const char *name)
{
    char path[1024];
    struct stat st;
    case_path(path, sizeof path, name);
    return stat(path, &st) == 0;
}

/* The config a run of the tiny data uses, with the data paths given and `sections` after. */
static void write_config_for(const char *name, const char *train, const char *test,
                             const char *sections)
{
    char text[4096];
    snprintf(text, sizeof text,
             "data: {train: %s, test: %s}\n"
             "output: {dir: out, csv: run.csv}\n"
             "%s",
             train, test, sections);
    write_text(name, text);
}

static void write_tiny_config(const char *name)
{
    write_config_for(name, TINY_TRAIN, TINY_TEST, TINY_SECTIONS);
}

/*
 * Writes the tiny training file to case_dir/name as gzip, with lines first..last (1-based)
 * changed: field `column` set to `value`, or dropped when value is NULL.
 */
static void write_train_variant(const char *name, int first, int last, int column,
                                const char *value)
{
    gzFile in = gzopen(TINY_TRAIN, "rb");
    assert_non_null(in);
    char path[1024];
    case_path(path, sizeof path, name);
    gzFile out = gzopen(path, "wb");
    assert_non_null(out);
    char line[4096];
    for (int line_no = 1; gzgets(in, line, sizeof line); line_no++) {
        if (line_no < first || line_no > last) {
            gzputs(out, line);
            continue;
        }
        /* Fields are separated by ", " and the last one ends in ".\n". */
        line[strcspn(line, "\n")] = '\0';
        size_t len = strlen(line);
        assert_true(len > 0 && line[len - 1] == '.');
        line[len - 1] = '\0';
        char rebuilt[4096] = "";
        int c = 0;
        for (char *field = line, *sep; field; field = sep ? sep + 2 : NULL, c++) {
            sep = strstr(field, ", ");
            if (sep)
                *sep = '\0';
            const char *text = c == column ? value : field;
            if (!text)
                continue;
            if (rebuilt[0])
                strcat(rebuilt, ", ");
            strcat(rebuilt, text);
        }
        assert_int_equal(c, 42);
        strcat(rebuilt, ".\n");
        gzputs(out, rebuilt);
    }
    gzclose(in);
    assert_int_equal(gzclose(out), Z_OK);
}

/* Removes path and everything under it (making folders readable first). */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *dir = opendir(path);
        if (dir) {
            struct dirent *e;
            while ((e = readdir(dir)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[1024];
                snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                remove_tree(child);
            }
            closedir(dir);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* Counts files under path whose name ends in suffix or contains infix (either may be NULL). */
static int count_files(const char *path, const char *suffix, const char *infix)
{
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[1024];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            count += count_files(child, suffix, infix);
            continue;
        }
        size_t n = strlen(e->d_name);
        if (suffix && n >= strlen(suffix) && strcmp(e->d_name + n - strlen(suffix), suffix) == 0)
            count++;
        else if (infix && strstr(e->d_name, infix))
            count++;
    }
    closedir(dir);
    return count;
}

/* ---- running the binary -------------------------------------------------------------------- */

/* Runs pareto_mpi with the given arguments (NULL-terminated) in case_dir; its stdout and
 * stderr land in `output`. Returns the exit status, or 128 + the signal that killed it. */
static int run_args(const char *const *args)
{
    char log_path[1024];
    snprintf(log_path, sizeof log_path, "%s/run.log", base_dir);
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)PARETO_BINARY;
    for (int i = 0; args[i] && argc < 15; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || chdir(case_dir) != 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        close(fd);
        execv(argv[0], argv);
        _exit(127);
    }
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);

    FILE *f = fopen(log_path, "rb");
    size_t n = f ? fread(output, 1, sizeof output - 1, f) : 0;
    output[n] = '\0';
    if (f)
        fclose(f);
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    return 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

/* Runs `pareto_mpi config [option]`. */
static int run(const char *config, const char *option)
{
    const char *args[] = {config, "--quiet", option, NULL};
    return run_args(args);
}

static void assert_output_contains(const char *part)
{
    if (!strstr(output, part)) {
        print_error("expected the output to contain\n  %s\nfound:\n%s\n", part, output);
        fail();
    }
}

static void assert_exit(int status, int expected)
{
    /* Under the sanitizer build, a report on an error path must fail the test too. */
    if (strstr(output, "Sanitizer") || strstr(output, "runtime error:")) {
        print_error("a sanitizer reported a problem; output:\n%s\n", output);
        fail();
    }
    if (status != expected) {
        print_error("expected exit status %d, found %d; output:\n%s\n", expected, status, output);
        fail();
    }
}

/* No result CSV and no temporary file anywhere under the case folder. */
static void assert_no_results(void)
{
    int csvs = count_files(case_dir, ".csv", NULL);
    int temps = count_files(case_dir, NULL, ".tmp.");
    if (csvs || temps) {
        print_error("expected no CSV and no temporary file, found %d CSV and %d temporary "
                    "files; output:\n%s\n", csvs, temps, output);
        fail();
    }
}

/* A failed run: exit status 1, nothing written, and an "ERROR" line. */
static void assert_failed_cleanly(int status)
{
    assert_exit(status, 1);
    assert_output_contains("ERROR");
    assert_no_results();
}

/* A run of the tiny config with sections, expected to fail at the config. */
static void run_bad_config(const char *text)
{
    write_text("cfg.yaml", text);
    assert_failed_cleanly(run("cfg.yaml", NULL));
}

static int make_case_dir(void **state)
{
    (void)state;
    snprintf(case_dir, sizeof case_dir, "%s/case_XXXXXX", base_dir);
    return mkdtemp(case_dir) ? 0 : -1;
}

static int remove_case_dir(void **state)
{
    (void)state;
    remove_tree(case_dir);
    return 0;
}

/* ---- the command line ---------------------------------------------------------------------- */

static void test_unknown_option_exits_2_with_usage(void **state)
{
    (void)state;
    const char *args[] = {"cfg.yaml", "--frobnicate", NULL};
    assert_exit(run_args(args), 2);
    assert_output_contains("unknown option '--frobnicate'");
    assert_output_contains("usage: pareto_mpi CONFIG.yaml");
    assert_no_results();
}

static void test_tiny_config_runs_and_writes_the_csv(void **state)
{
    (void)state;
    write_tiny_config("cfg.yaml");
    assert_exit(run("cfg.yaml", NULL), 0);
    assert_true(file_exists("out/run.csv"));
    assert_int_equal(count_files(case_dir, NULL, ".tmp."), 0);
}

/* ---- config -------------------------------------------------------------------------------- */

static void test_config_unknown_key(void **state)
{
    (void)state;
    run_bad_config("seed: 1\nsgd:\n  epochs: 2\n  lrate: 0.1\n");
    assert_output_contains("cfg.yaml:4:3:");
    assert_output_contains("unknown key 'sgd.lrate'");
    assert_output_contains("expected one of the keys of 'sgd': epochs, batch_size, lr");
}

static void test_config_wrong_type(void **state)
{
    (void)state;
    run_bad_config("grid: five\n");
    assert_output_contains("cfg.yaml:1:7:");
    assert_output_contains("key 'grid'");
    assert_output_contains("expected an integer in 2..40");
    assert_output_contains("found 'five'");
}

static void test_config_negative_epochs(void **state)
{
    (void)state;
    run_bad_config("sgd:\n  epochs: -3\n");
    assert_output_contains("cfg.yaml:2:11:");
    assert_output_contains("key 'sgd.epochs'");
    assert_output_contains("expected an integer in 1..100000");
    assert_output_contains("found '-3'");
}

static void test_config_learning_rate_zero(void **state)
{
    (void)state;
    run_bad_config("sgd: {lr: 0}\n");
    assert_output_contains("cfg.yaml:1:11:");
    assert_output_contains("key 'sgd.lr'");
    assert_output_contains("expected a number > 0");
    assert_output_contains("found '0'");
}

static void test_config_negative_damping(void **state)
{
    (void)state;
    run_bad_config("explore:\n  damping: -0.1\n");
    assert_output_contains("cfg.yaml:2:12:");
    assert_output_contains("key 'explore.damping'");
    assert_output_contains("expected a number >= 0");
    assert_output_contains("found '-0.1'");
}

static void test_config_batch_size_larger_than_the_data(void **state)
{
    (void)state;
    write_config_for("cfg.yaml", TINY_TRAIN, TINY_TEST,
                     "sgd: {epochs: 1, batch_size: 1000}\n"
                     "explore: {steps: 2, hvp_batch: 128}\n");
    assert_failed_cleanly(run("cfg.yaml", NULL));
    assert_output_contains("cfg.yaml: sgd.batch_size 1000 is larger than the 600 training rows");
}

static void test_config_hvp_batch_larger_than_the_data(void **state)
{
    (void)state;
    write_config_for("cfg.yaml", TINY_TRAIN, TINY_TEST,
                     "sgd: {epochs: 1, batch_size: 64}\n"
                     "explore: {steps: 2, hvp_batch: 601}\n");
    assert_failed_cleanly(run("cfg.yaml", NULL));
    assert_output_contains("cfg.yaml: explore.hvp_batch 601 is larger than the 600 training "
                           "rows");
}

static void test_config_direction_seven(void **state)
{
    (void)state;
    run_bad_config("directions: [1, 7]\n");
    assert_output_contains("cfg.yaml:1:17:");
    assert_output_contains("key 'directions[1]'");
    assert_output_contains("expected an integer in 1..6");
    assert_output_contains("found '7'");
}

static void test_config_grid_below_two(void **state)
{
    (void)state;
    run_bad_config("seed: 3\ngrid: 1\n");
    assert_output_contains("cfg.yaml:2:7:");
    assert_output_contains("key 'grid'");
    assert_output_contains("expected an integer in 2..40");
    assert_output_contains("found '1'");
}

static void test_config_duplicate_key(void **state)
{
    (void)state;
    run_bad_config("seed: 1\ngrid: 3\nseed: 2\n");
    assert_output_contains("cfg.yaml:3:1:");
    assert_output_contains("duplicate key 'seed'");
    assert_output_contains("first at line 1");
}

static void test_config_tab_indentation(void **state)
{
    (void)state;
    run_bad_config("sgd:\n\tepochs: 3\n");
    assert_output_contains("cfg.yaml:2:1:");
    assert_output_contains("YAML syntax error");
    assert_output_contains("a tab: YAML indentation must use spaces");
}

static void test_config_empty_file(void **state)
{
    (void)state;
    run_bad_config("");
    assert_output_contains("cfg.yaml: expected a mapping of configuration keys");
    assert_output_contains("found an empty file");
}

static void test_config_yaml_syntax_error(void **state)
{
    (void)state;
    run_bad_config("seed: 1\ndirections: [1, 2\ngrid: 5\n");
    assert_output_contains("cfg.yaml:");
    assert_output_contains("YAML syntax error");
    assert_output_contains("flow sequence starting at line 2");
}

static void test_config_missing_file(void **state)
{
    (void)state;
    assert_failed_cleanly(run("no-such-config.yaml", NULL));
    assert_output_contains("no-such-config.yaml: cannot open the configuration file");
    assert_output_contains("No such file or directory");
}

/* ---- data ---------------------------------------------------------------------------------- */

/* Runs the tiny config with `train` as the training file; expects a clean failure. */
static void run_with_train(const char *train)
{
    write_config_for("cfg.yaml", train, TINY_TEST, TINY_SECTIONS);
    assert_failed_cleanly(run("cfg.yaml", NULL));
}

static void test_data_missing_file(void **state)
{
    (void)state;
    run_with_train("no-such-train.gz");
    assert_output_contains("no-such-train.gz: cannot open: No such file or directory");
}

static void test_data_unreadable_file(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        /* root reads a mode-000 file anyway; the folder case below still runs. */
        print_message("skipped: running as root, which can read a mode-000 file\n");
        skip();
    }
    size_t n;
    unsigned char *bytes = read_whole(TINY_TRAIN, &n);
    write_bytes("locked.gz", bytes, n);
    free(bytes);
    char path[1024];
    case_path(path, sizeof path, "locked.gz");
    assert_int_equal(chmod(path, 0), 0);
    run_with_train("locked.gz");
    assert_output_contains("locked.gz: cannot open: Permission denied");
}

static void test_data_path_is_a_folder(void **state)
{
    (void)state;
    char path[1024];
    case_path(path, sizeof path, "folder.gz");
    assert_int_equal(mkdir(path, 0700), 0);
    run_with_train("folder.gz");
    assert_output_contains("folder.gz: cannot");
    assert_output_contains("Is a directory");
}

static void test_data_not_gzip(void **state)
{
    (void)state;
    write_text("plain.gz", "73, Not in universe, 0, 0, High school graduate.\n");
    run_with_train("plain.gz");
    assert_output_contains("plain.gz: not a gzip file (expected magic bytes 1f 8b)");
}

static void test_data_truncated_gzip(void **state)
{
    (void)state;
    size_t n;
    unsigned char *bytes = read_whole(TINY_TRAIN, &n);
    write_bytes("truncated.gz", bytes, n / 2);
    free(bytes);
    run_with_train("truncated.gz");
    assert_output_contains("truncated.gz: corrupt or truncated gzip stream near line");
    assert_output_contains("unexpected end of file");
}

static void test_data_crc_error(void **state)
{
    (void)state;
    size_t n;
    unsigned char *bytes = read_whole(TINY_TRAIN, &n);
    bytes[n - 8] ^= 0xff; /* the first byte of the trailer's CRC-32 */
    write_bytes("bad_crc.gz", bytes, n);
    free(bytes);
    run_with_train("bad_crc.gz");
    assert_output_contains("bad_crc.gz: corrupt or truncated gzip stream near line");
    assert_output_contains("incorrect data check");
}

static void test_data_empty_file(void **state)
{
    (void)state;
    write_text("empty.gz", "");
    run_with_train("empty.gz");
    assert_output_contains("empty.gz: empty file (expected gzip-compressed census rows)");
}

static void test_data_too_many_rows_with_wrong_field_count(void **state)
{
    (void)state;
    /* 3 of 600 rows is above the default allowance of 0.1%. */
    write_train_variant("short_rows.gz", 10, 12, 24, NULL);
    run_with_train("short_rows.gz");
    assert_output_contains("short_rows.gz: 3 of 600 non-empty lines do not have 42 fields");
    assert_output_contains("allowed fraction 0.001");
    assert_output_contains("first at lines 10, 11, 12");
}

static void test_data_non_numeric_continuous_value(void **state)
{
    (void)state;
    write_train_variant("text_wage.gz", 7, 7, 5, "twelve");
    run_with_train("text_wage.gz");
    assert_output_contains("text_wage.gz:7: column 'wage per hour': expected a number, "
                           "found 'twelve'");
}

static void test_data_continuous_value_beyond_float_range(void **state)
{
    (void)state;
    write_train_variant("huge_wage.gz", 9, 9, 5, "1e39");
    run_with_train("huge_wage.gz");
    assert_output_contains("huge_wage.gz:9: column 'wage per hour': expected a number of "
                           "magnitude at most");
    assert_output_contains("found '1e39'");
}

static void test_data_unparsable_age_label(void **state)
{
    (void)state;
    write_train_variant("text_age.gz", 3, 3, 0, "abc");
    run_with_train("text_age.gz");
    assert_output_contains("text_age.gz:3: column 'age': expected a number, found 'abc'");
}

static void test_data_more_categorical_values_than_network_inputs(void **state)
{
    (void)state;
    /* A distinct industry code on every row: about 1000 features for 487 inputs. */
    gzFile in = gzopen(TINY_TRAIN, "rb");
    assert_non_null(in);
    char path[1024];
    case_path(path, sizeof path, "wide.gz");
    gzFile out = gzopen(path, "wb");
    assert_non_null(out);
    char line[4096];
    for (int line_no = 1; gzgets(in, line, sizeof line); line_no++) {
        char *rest = strstr(strstr(line, ", ") + 2, ", "); /* after field 1 */
        assert_non_null(rest);
        *rest = '\0';
        gzprintf(out, "%s, code%d%s", line, line_no, strstr(rest + 2, ", "));
    }
    gzclose(in);
    assert_int_equal(gzclose(out), Z_OK);
    run_with_train("wide.gz");
    assert_output_contains("wide.gz, " TINY_TEST ": the files give");
    assert_output_contains("expected at most the network's 487 inputs");
}

/* ---- output -------------------------------------------------------------------------------- */

static void test_output_folder_under_a_regular_file(void **state)
{
    (void)state;
    write_text("blocker", "a file where a folder should be\n");
    write_text("cfg.yaml", "data: {train: " TINY_TRAIN ", test: " TINY_TEST "}\n"
                           "output: {dir: blocker/out}\n" TINY_SECTIONS);
    assert_failed_cleanly(run("cfg.yaml", NULL));
    assert_output_contains("blocker/out: cannot create folder: Not a directory");
}

static void test_output_folder_not_writable(void **state)
{
    (void)state;
    if (geteuid() == 0) {
        print_message("skipped: running as root, which can write a mode-555 folder\n");
        skip();
    }
    char path[1024];
    case_path(path, sizeof path, "out");
    assert_int_equal(mkdir(path, 0700), 0);
    case_path(path, sizeof path, "out/jobs");
    assert_int_equal(mkdir(path, 0555), 0);
    write_tiny_config("cfg.yaml");
    assert_failed_cleanly(run("cfg.yaml", NULL));
    assert_output_contains("out: output folder is not writable: Permission denied");
}

static void test_output_existing_csv_is_kept_without_force(void **state)
{
    (void)state;
    char path[1024];
    case_path(path, sizeof path, "out");
    assert_int_equal(mkdir(path, 0700), 0);
    write_text("out/run.csv", "an earlier result\n");
    write_tiny_config("cfg.yaml");

    assert_exit(run("cfg.yaml", NULL), 1);
    assert_output_contains("out/run.csv: already exists; use --force to overwrite it");
    size_t n;
    case_path(path, sizeof path, "out/run.csv");
    char *kept = (char *)read_whole(path, &n);
    assert_true(n == strlen("an earlier result\n") && memcmp(kept, "an earlier result\n", n) == 0);
    free(kept);
    assert_int_equal(count_files(case_dir, ".csv", NULL), 1);
}

static void test_output_existing_csv_is_replaced_with_force(void **state)
{
    (void)state;
    char path[1024];
    case_path(path, sizeof path, "out");
    assert_int_equal(mkdir(path, 0700), 0);
    write_text("out/run.csv", "an earlier result\n");
    write_tiny_config("cfg.yaml");

    assert_exit(run("cfg.yaml", "--force"), 0);
    size_t n;
    case_path(path, sizeof path, "out/run.csv");
    char *csv = (char *)read_whole(path, &n);
    assert_true(n > 6 && memcmp(csv, "phase,", 6) == 0);
    free(csv);
}

/* A finished tiny run whose final CSV is then removed: only the saved jobs remain. */
static void finished_run_without_csv(void)
{
    write_tiny_config("cfg.yaml");
    assert_exit(run("cfg.yaml", NULL), 0);
    char path[1024];
    case_path(path, sizeof path, "out/run.csv");
    assert_int_equal(unlink(path), 0);
}

static void test_output_saved_jobs_refuse_a_plain_rerun(void **state)
{
    (void)state;
    finished_run_without_csv();
    assert_exit(run("cfg.yaml", NULL), 1);
    assert_output_contains("out/jobs: holds 3 saved job files from an earlier run");
    assert_output_contains("use --resume to continue it or --force to start over");
    assert_false(file_exists("out/run.csv"));
}

static void test_output_resume_with_a_changed_config_is_refused(void **state)
{
    (void)state;
    finished_run_without_csv();
    write_text("cfg.yaml", "seed: 7\ndata: {train: " TINY_TRAIN ", test: " TINY_TEST "}\n"
                           "output: {dir: out, csv: run.csv}\n" TINY_SECTIONS);
    assert_exit(run("cfg.yaml", "--resume"), 1);
    assert_output_contains("out/run.config: the saved jobs were computed with a different "
                           "configuration");
    assert_false(file_exists("out/run.csv"));
}

static void test_output_resume_with_the_same_config_writes_the_csv(void **state)
{
    (void)state;
    finished_run_without_csv();
    assert_exit(run("cfg.yaml", "--resume"), 0);
    assert_true(file_exists("out/run.csv"));
}

static void test_output_folder_in_use_refuses_a_second_run(void **state)
{
    (void)state;
    /* Stand in for a run in progress: hold the folder's lock from this process. */
    char path[1024];
    case_path(path, sizeof path, "out");
    assert_int_equal(mkdir(path, 0700), 0);
    case_path(path, sizeof path, "out/.lock");
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    assert_int_equal(fcntl(fd, F_SETLK, &lk), 0);
    write_tiny_config("cfg.yaml");
    assert_failed_cleanly(run("cfg.yaml", NULL));
    assert_output_contains("out: another run is using this output folder");
    close(fd);
    assert_exit(run("cfg.yaml", NULL), 0);
}

static void test_output_unwritable_csv_path_fails_before_training(void **state)
{
    (void)state;
    write_tiny_config("cfg.yaml");
    const char *args[] = {"cfg.yaml", "--quiet", "--out", "no_such_folder/x.csv", NULL};
    assert_failed_cleanly(run_args(args));
    assert_output_contains("no_such_folder/x.csv: cannot create the CSV there");
    assert_int_equal(count_files(case_dir, NULL, "sgd_w"), 0);
}

static void test_output_resume_with_a_cut_job_file_is_refused(void **state)
{
    (void)state;
    finished_run_without_csv();
    /* Drop the last row of the exploration job's saved rows. */
    char path[1024];
    case_path(path, sizeof path, "out/jobs/explore_w5_d3.csv");
    size_t n;
    char *text = (char *)read_whole(path, &n);
    assert_true(n > 2);
    char *last = text + n - 2;
    while (last > text && *last != '\n')
        last--;
    write_bytes("out/jobs/explore_w5_d3.csv", text, (size_t)(last - text) + 1);
    free(text);
    assert_exit(run("cfg.yaml", "--resume"), 1);
    assert_output_contains("the saved job explore w5 d011 does not hold rows 1..2");
    assert_false(file_exists("out/run.csv"));
}

static void test_output_resume_without_the_run_config_is_refused(void **state)
{
    (void)state;
    finished_run_without_csv();
    char path[1024];
    case_path(path, sizeof path, "out/run.config");
    assert_int_equal(unlink(path), 0);
    assert_exit(run("cfg.yaml", "--resume"), 1);
    assert_output_contains("out/run.config: missing, so the 3 saved job files cannot be "
                           "matched to a configuration");
    assert_false(file_exists("out/run.csv"));
}

static void test_summary_of_a_csv_with_a_bad_number_names_line_and_column(void **state)
{
    (void)state;
    finished_run_without_csv();
    char path[1024];
    case_path(path, sizeof path, "out/jobs/sgd_w5.csv");
    size_t n;
    char *text = (char *)read_whole(path, &n);
    /* Replace the first row's acc1 (column 11) with a word. */
    char *row = strchr(text, '\n') + 1, *field = row;
    for (int c = 0; c < 10; c++)
        field = strchr(field, ',') + 1;
    char *end = strchr(field, ',');
    char edited[8192];
    snprintf(edited, sizeof edited, "%.*sabc%s", (int)(field - text), text, end);
    free(text);
    write_text("bad.csv", edited);
    const char *args[] = {"summary", "bad.csv", NULL};
    assert_exit(run_args(args), 1);
    assert_output_contains("bad.csv:2: column 11 (acc1): expected a number in [0, 1], "
                           "found 'abc'");
}

/* ---- numerics ------------------------------------------------------------------------------ */

static void test_numerics_overflowing_input_stops_the_sgd_job(void **state)
{
    (void)state;
    /* 1e38 fits a float, but times the first layer's weights and summed it overflows. */
    write_train_variant("huge.gz", 1, TINY_TRAIN_ROWS, 5, "1e38");
    run_with_train("huge.gz");
    assert_output_contains("job sgd w5 failed");
    assert_output_contains("not finite after epoch 1");
    assert_output_contains("no CSV is written");
}

static void test_numerics_non_finite_network_stops_the_exploration_job(void **state)
{
    (void)state;
    /* A saved SGD network full of NaN (a damaged file), picked up by --resume. */
    finished_run_without_csv();
    char path[1024];
    case_path(path, sizeof path, "out/jobs/sgd_w5.net");
    size_t n;
    unsigned char *net = read_whole(path, &n);
    const size_t header = 32; /* magic[16], count, sizeof(real) */
    assert_true(n > header && (n - header) % sizeof(float) == 0);
    float nan_value = NAN;
    for (size_t at = header; at < n; at += sizeof nan_value)
        memcpy(net + at, &nan_value, sizeof nan_value);
    write_bytes("out/jobs/sgd_w5.net", net, n);
    free(net);
    case_path(path, sizeof path, "out/jobs/explore_w5_d3.csv");
    assert_int_equal(unlink(path), 0);

    assert_exit(run("cfg.yaml", "--resume"), 1);
    assert_output_contains("job explore w5 d011 failed");
    assert_output_contains("exploration job w5/d011 before step 1");
    assert_output_contains("not finite");
    assert_false(file_exists("out/run.csv"));
    assert_false(file_exists("out/jobs/explore_w5_d3.csv"));
    assert_int_equal(count_files(case_dir, NULL, ".tmp."), 0);
}

#define CASE(f) cmocka_unit_test_setup_teardown(f, make_case_dir, remove_case_dir)

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const char *tmp = getenv("TMPDIR");
    snprintf(base_dir, sizeof base_dir, "%s/test_errors_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base_dir)) {
        perror(base_dir);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        CASE(test_unknown_option_exits_2_with_usage),
        CASE(test_tiny_config_runs_and_writes_the_csv),

        CASE(test_config_unknown_key),
        CASE(test_config_wrong_type),
        CASE(test_config_negative_epochs),
        CASE(test_config_learning_rate_zero),
        CASE(test_config_negative_damping),
        CASE(test_config_batch_size_larger_than_the_data),
        CASE(test_config_hvp_batch_larger_than_the_data),
        CASE(test_config_direction_seven),
        CASE(test_config_grid_below_two),
        CASE(test_config_duplicate_key),
        CASE(test_config_tab_indentation),
        CASE(test_config_empty_file),
        CASE(test_config_yaml_syntax_error),
        CASE(test_config_missing_file),

        CASE(test_data_missing_file),
        CASE(test_data_unreadable_file),
        CASE(test_data_path_is_a_folder),
        CASE(test_data_not_gzip),
        CASE(test_data_truncated_gzip),
        CASE(test_data_crc_error),
        CASE(test_data_empty_file),
        CASE(test_data_too_many_rows_with_wrong_field_count),
        CASE(test_data_non_numeric_continuous_value),
        CASE(test_data_continuous_value_beyond_float_range),
        CASE(test_data_unparsable_age_label),
        CASE(test_data_more_categorical_values_than_network_inputs),

        CASE(test_output_folder_under_a_regular_file),
        CASE(test_output_folder_not_writable),
        CASE(test_output_existing_csv_is_kept_without_force),
        CASE(test_output_existing_csv_is_replaced_with_force),
        CASE(test_output_saved_jobs_refuse_a_plain_rerun),
        CASE(test_output_resume_with_a_changed_config_is_refused),
        CASE(test_output_resume_with_the_same_config_writes_the_csv),
        CASE(test_output_folder_in_use_refuses_a_second_run),
        CASE(test_output_unwritable_csv_path_fails_before_training),
        CASE(test_output_resume_with_a_cut_job_file_is_refused),
        CASE(test_output_resume_without_the_run_config_is_refused),
        CASE(test_summary_of_a_csv_with_a_bad_number_names_line_and_column),

        CASE(test_numerics_overflowing_input_stops_the_sgd_job),
        CASE(test_numerics_non_finite_network_stops_the_exploration_job),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    remove_tree(base_dir);
    return failed;
}
