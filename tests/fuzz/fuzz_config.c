/*
 * fuzz_config.c - libFuzzer target for the YAML configuration loader.
 *
 * Each input is written to a temporary file and loaded with config_load. The loader must
 * either accept it, giving values that pass its own validation, or refuse it with a message
 * that names the file; it must never crash, read out of bounds or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pareto/config.h"

static char input_path[64];

static void write_input(const uint8_t *data, size_t size)
{
    if (!input_path[0])
        snprintf(input_path, sizeof input_path, "%s/fuzz_config.%ld.yaml",
                 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    FILE *f = fopen(input_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_input(data, size);
    pareto_config cfg;
    pareto_error err = {{0}};
    config_defaults(&cfg);
    if (config_load(input_path, &cfg, &err) != 0) {
        /* Every refusal names the file it refused. */
        if (strncmp(err.msg, input_path, strlen(input_path)) != 0)
            abort();
        return 0;
    }

    /* An accepted file gives values inside the ranges config.h documents. */
    if (cfg.grid < 2 || cfg.sgd_epochs < 1 || cfg.sgd_batch_size < 1 || !(cfg.sgd_lr > 0) ||
        cfg.explore_steps < 1 || cfg.hvp_batch < 1 || !(cfg.damping >= 0) ||
        cfg.n_directions < 0 || cfg.n_directions > CONFIG_NUM_DIRECTIONS)
        abort();
    for (int d = 0; d < cfg.n_directions; d++)
        if (cfg.directions[d] < 1 || cfg.directions[d] > CONFIG_NUM_DIRECTIONS)
            abort();
    int indices[CONFIG_MAX_WEIGHTS];
    int n = config_selected_weights(&cfg, indices);
    int count = config_weight_vectors(cfg.grid, NULL);
    for (int i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= count)
            abort();
    char canonical[8192];
    config_canonical(&cfg, canonical, sizeof canonical);
    return 0;
}
