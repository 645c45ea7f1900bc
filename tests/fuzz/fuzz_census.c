/*
 * fuzz_census.c - libFuzzer target for the census loader and its row parser.
 *
 * An input that starts with the gzip magic bytes (1f 8b) is written as it is, which exercises
 * the gzip checks (truncation, bad CRC, garbage after a valid header); any other input is
 * taken as the decompressed text and gzip-compressed first, which exercises the line reader
 * and the row parser. The file is loaded as both the train and the test file. A load must
 * either fail with a message, or give rows whose one-hot indices lie inside
 * the feature count, with finite continuous values and 0/1 labels.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pareto/census.h"

static char input_path[64];

static void write_input(const uint8_t *data, size_t size)
{
    if (!input_path[0])
        snprintf(input_path, sizeof input_path, "%s/fuzz_census.%ld.gz",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        FILE *f = fopen(input_path, "wb");
        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
            abort();
        return;
    }
    gzFile gz = gzopen(input_path, "wb1");
    if (!gz || (size && gzwrite(gz, data, (unsigned)size) != (int)size) || gzclose(gz) != Z_OK)
        abort();
}

static void check_split(const census_data *data, const census_split *split)
{
    for (size_t i = 0; i < (size_t)split->n_rows; i++) {
        for (int c = 0; c < CENSUS_CATEGORICAL; c++)
            if (split->onehot[i * CENSUS_CATEGORICAL + c] >= data->n_features)
                abort();
        for (int c = 0; c < CENSUS_CONTINUOUS; c++)
            if (!isfinite(split->cont[i * CENSUS_CONTINUOUS + c]))
                abort();
        for (int k = 0; k < CENSUS_TASKS; k++)
            if (split->labels[i * CENSUS_TASKS + k] > 1)
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);
    census_options opts = {.max_bad_row_fraction = 0.5, .verbose = 0};
    census_data loaded;
    pareto_error err = {{0}};
    if (census_load(input_path, input_path, &opts, &loaded, &err) != 0) {
        if (!err.msg[0])
            abort(); /* a failure always says why */
        return 0;
    }
    if (loaded.train.n_rows < 1 || loaded.test.n_rows != loaded.train.n_rows)
        abort();
    check_split(&loaded, &loaded.train);
    check_split(&loaded, &loaded.test);
    census_free(&loaded);
    return 0;
}
