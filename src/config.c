/*
 * config.c - the run's configuration: defaults, YAML loading with libyaml, validation.
 *
 * The file is loaded whole with libyaml's document API, then walked node by node. Every node
 * carries its start mark, so each error names the file, the 1-based line and column, the dotted
 * key (sgd.lr, directions[2]), what was expected and what was found.
 */
#include "pareto/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A configuration is a few hundred bytes; this only stops a wrong path (/dev/zero, a data
 * file) from being read into memory whole. */
#define CONFIG_FILE_MAX_BYTES (1 << 20)

/* How many characters of a found value an error message quotes. */
#define FOUND_MAX_CHARS 60

void config_defaults(pareto_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 42;
    cfg->grid = 5;
    cfg->n_weights_selected = 0;
    cfg->n_directions = CONFIG_NUM_DIRECTIONS;
    for (int d = 0; d < CONFIG_NUM_DIRECTIONS; d++)
        cfg->directions[d] = d + 1;
    cfg->threads = 0;

    snprintf(cfg->train_path, sizeof cfg->train_path, "%s", "data/census-income.data.gz");
    snprintf(cfg->test_path, sizeof cfg->test_path, "%s", "data/census-income.test.gz");
    cfg->max_bad_row_fraction = 0.001;

    snprintf(cfg->out_dir, sizeof cfg->out_dir, "%s", "results/fig5");
    snprintf(cfg->csv_name, sizeof cfg->csv_name, "%s", "fig5.csv");

    cfg->sgd_epochs = 30;
    cfg->sgd_batch_size = 256;
    cfg->sgd_lr = 0.001;
    cfg->sgd_momentum = 0.9;

    cfg->explore_steps = 20;
    cfg->jacobian_fraction = 0.25;
    cfg->hvp_batch = 2048;
    cfg->damping = 0.1;
    cfg->explore_momentum = 0.9;
    cfg->explore_lr = 0.01;
    cfg->minres_max_iter = 100;
    cfg->minres_rtol = 1e-5;
}

/* ---- Weight vectors ------------------------------------------------------------------------ */

int config_weight_vectors(int grid, double *w)
{
    /* (a,b,c)/(grid+1) with a+b+c = grid+1 and each of a,b,c >= 1: a outer, then b; c follows. */
    int count = 0;
    for (int a = 1; a <= grid; a++) {
        for (int b = 1; b <= grid; b++) {
            int c = grid + 1 - a - b;
            if (c < 1)
                break;
            if (w) {
                w[3 * count + 0] = (double)a / (grid + 1);
                w[3 * count + 1] = (double)b / (grid + 1);
                w[3 * count + 2] = (double)c / (grid + 1);
            }
            count++;
        }
    }
    return count;
}

static int compare_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

int config_selected_weights(const pareto_config *cfg, int *indices)
{
    if (cfg->n_weights_selected == 0) {
        int count = config_weight_vectors(cfg->grid, NULL);
        for (int i = 0; i < count; i++)
            indices[i] = i;
        return count;
    }
    memcpy(indices, cfg->weights_selected, (size_t)cfg->n_weights_selected * sizeof *indices);
    qsort(indices, (size_t)cfg->n_weights_selected, sizeof *indices, compare_int);
    return cfg->n_weights_selected;
}

/* ---- Canonical text ------------------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t len;
    size_t used;
} text_buffer;

static void append(text_buffer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(text_buffer *t, const char *fmt, ...)
{
    if (t->used >= t->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->used += (size_t)n;
}

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void config_canonical(const pareto_config *cfg, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    text_buffer t = {buf, len, 0};

    append(&t, "seed=%llu\n", (unsigned long long)cfg->seed);
    append(&t, "grid=%d\n", cfg->grid);

    /* Weights as the sorted set that is trained, so [] (all) and an explicit full list agree.
     * Directions keep their written order: nothing here promises that order is irrelevant. */
    int indices[CONFIG_MAX_WEIGHTS];
    int n_weights = config_selected_weights(cfg, indices);
    append(&t, "weights=");
    for (int i = 0; i < n_weights; i++)
        append(&t, i ? ",%d" : "%d", indices[i]);
    append(&t, "\ndirections=");
    for (int i = 0; i < cfg->n_directions; i++)
        append(&t, i ? ",%d" : "%d", cfg->directions[i]);
    append(&t, "\n");

    /* The same data read from another directory gives the same results, hence basenames.
     * max_bad_row_fraction only decides whether a load fails, not what a successful run
     * computes, so it is left out. */
    append(&t, "data.train=%s\n", basename_of(cfg->train_path));
    append(&t, "data.test=%s\n", basename_of(cfg->test_path));

    append(&t, "sgd.epochs=%d\n", cfg->sgd_epochs);
    append(&t, "sgd.batch_size=%d\n", cfg->sgd_batch_size);
    append(&t, "sgd.lr=%.17g\n", cfg->sgd_lr);
    append(&t, "sgd.momentum=%.17g\n", cfg->sgd_momentum);

    append(&t, "explore.steps=%d\n", cfg->explore_steps);
    append(&t, "explore.jacobian_fraction=%.17g\n", cfg->jacobian_fraction);
    append(&t, "explore.hvp_batch=%d\n", cfg->hvp_batch);
    append(&t, "explore.damping=%.17g\n", cfg->damping);
    append(&t, "explore.momentum=%.17g\n", cfg->explore_momentum);
    append(&t, "explore.lr=%.17g\n", cfg->explore_lr);
    append(&t, "explore.minres_max_iter=%d\n", cfg->minres_max_iter);
    append(&t, "explore.minres_rtol=%.17g\n", cfg->minres_rtol);
}

/* ---- Loading: the walk over the document --------------------------------------------------- */

typedef struct {
    const char *path;
    yaml_document_t *doc;
    pareto_error *err;
} load_context;

static int fail_at(const load_context *ctx, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(const load_context *ctx, yaml_mark_t mark, const char *fmt, ...)
{
    char what[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return pareto_fail(ctx->err, "%s:%zu:%zu: %s", ctx->path, mark.line + 1, mark.column + 1,
                       what);
}

static yaml_node_t *node_at(const load_context *ctx, int index)
{
    return yaml_document_get_node(ctx->doc, index);
}

static const char *scalar_text(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

static bool scalar_is_quoted(const yaml_node_t *node)
{
    return node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
           node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

/* What a node is, for "found ...": the scalar in quotes (shortened), or its kind. */
static void describe_node(const yaml_node_t *node, char *buf, size_t len)
{
    switch (node->type) {
    case YAML_MAPPING_NODE:
        if (node->data.mapping.pairs.start == node->data.mapping.pairs.top)
            snprintf(buf, len, "an empty mapping");
        else
            snprintf(buf, len, "a mapping");
        return;
    case YAML_SEQUENCE_NODE:
        if (node->data.sequence.items.start == node->data.sequence.items.top)
            snprintf(buf, len, "an empty sequence");
        else
            snprintf(buf, len, "a sequence");
        return;
    case YAML_SCALAR_NODE:
        break;
    default:
        snprintf(buf, len, "an empty node");
        return;
    }
    const char *text = scalar_text(node);
    size_t n = node->data.scalar.length;
    if (n == 0 && !scalar_is_quoted(node)) {
        snprintf(buf, len, "an empty value");
        return;
    }
    const char *kind = scalar_is_quoted(node) ? "the quoted string " : "";
    if (n > FOUND_MAX_CHARS)
        snprintf(buf, len, "%s'%.*s...'", kind, FOUND_MAX_CHARS, text);
    else
        snprintf(buf, len, "%s'%s'", kind, text);
}

static int fail_value(const load_context *ctx, const yaml_node_t *node, const char *key,
                      const char *expected)
{
    char found[FOUND_MAX_CHARS + 32];
    describe_node(node, found, sizeof found);
    return fail_at(ctx, node->start_mark, "key '%s': expected %s, found %s", key, expected,
                   found);
}

/* An integer scalar, written in full (strtoll must consume all of it), as a long long. */
static bool parse_integer(const yaml_node_t *node, long long *value)
{
    if (node->type != YAML_SCALAR_NODE || scalar_is_quoted(node))
        return false;
    const char *text = scalar_text(node);
    if (text[0] == '\0' || text[0] == ' ')
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *value = v;
    return true;
}

/* A finite number scalar (integers included), written in full, as a double. */
static bool parse_number(const yaml_node_t *node, double *value)
{
    if (node->type != YAML_SCALAR_NODE || scalar_is_quoted(node))
        return false;
    const char *text = scalar_text(node);
    if (text[0] == '\0' || text[0] == ' ')
        return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno == ERANGE || *end != '\0' || !isfinite(v))
        return false;
    *value = v;
    return true;
}

/* ---- The keys: one table per mapping ------------------------------------------------------- */

typedef enum {
    FIELD_SEED,      /* uint64_t, >= 0 */
    FIELD_INT,       /* int within [min, max] */
    FIELD_NUMBER,    /* double within min/max, each bound open or closed */
    FIELD_PATH,      /* non-empty string, fits CONFIG_PATH_MAX */
    FIELD_FILE_NAME, /* non-empty string without '/', fits csv_name */
    FIELD_SECTION,   /* a nested mapping, described by its own table */
    FIELD_INT_LIST,  /* weights or directions: handled by their own functions */
} field_kind;

typedef struct field_spec {
    const char *name;
    field_kind kind;
    size_t offset;          /* into pareto_config; unused for sections and lists */
    double min, max;        /* FIELD_INT / FIELD_NUMBER bounds */
    bool min_open, max_open;
    const char *expected;   /* the text after "expected" in errors */
    const struct field_spec *section; /* FIELD_SECTION: its keys, ended by a NULL name */
} field_spec;

#define OFF(member) offsetof(pareto_config, member)

static const field_spec data_fields[] = {
    {"train", FIELD_PATH, OFF(train_path), 0, 0, false, false, "a non-empty path", NULL},
    {"test", FIELD_PATH, OFF(test_path), 0, 0, false, false, "a non-empty path", NULL},
    {"max_bad_row_fraction", FIELD_NUMBER, OFF(max_bad_row_fraction), 0, 1, false, false,
     "a number in [0, 1]", NULL},
    {NULL, 0, 0, 0, 0, false, false, NULL, NULL},
};

static const field_spec output_fields[] = {
    {"dir", FIELD_PATH, OFF(out_dir), 0, 0, false, false, "a non-empty path", NULL},
    {"csv", FIELD_FILE_NAME, OFF(csv_name), 0, 0, false, false,
     "a non-empty file name without '/'", NULL},
    {NULL, 0, 0, 0, 0, false, false, NULL, NULL},
};

static const field_spec sgd_fields[] = {
    {"epochs", FIELD_INT, OFF(sgd_epochs), 1, 100000, false, false, "an integer in 1..100000",
     NULL},
    {"batch_size", FIELD_INT, OFF(sgd_batch_size), 1, INT_MAX, false, false, "an integer >= 1",
     NULL},
    {"lr", FIELD_NUMBER, OFF(sgd_lr), 0, INFINITY, true, true, "a number > 0", NULL},
    {"momentum", FIELD_NUMBER, OFF(sgd_momentum), 0, 1, false, true, "a number in [0, 1)",
     NULL},
    {NULL, 0, 0, 0, 0, false, false, NULL, NULL},
};

static const field_spec explore_fields[] = {
    {"steps", FIELD_INT, OFF(explore_steps), 1, 100000, false, false, "an integer in 1..100000",
     NULL},
    {"jacobian_fraction", FIELD_NUMBER, OFF(jacobian_fraction), 0, 1, true, false,
     "a number in (0, 1]", NULL},
    {"hvp_batch", FIELD_INT, OFF(hvp_batch), 1, 10000000, false, false,
     "an integer in 1..10000000", NULL},
    {"damping", FIELD_NUMBER, OFF(damping), 0, INFINITY, false, true, "a number >= 0", NULL},
    {"momentum", FIELD_NUMBER, OFF(explore_momentum), 0, 1, false, true, "a number in [0, 1)",
     NULL},
    {"lr", FIELD_NUMBER, OFF(explore_lr), 0, INFINITY, true, true, "a number > 0", NULL},
    {"minres_max_iter", FIELD_INT, OFF(minres_max_iter), 1, 1000000, false, false,
     "an integer in 1..1000000", NULL},
    {"minres_rtol", FIELD_NUMBER, OFF(minres_rtol), 0, 1, true, true, "a number in (0, 1)",
     NULL},
    {NULL, 0, 0, 0, 0, false, false, NULL, NULL},
};

/* grid <= 40 keeps C(grid, 2) weight vectors within CONFIG_MAX_WEIGHTS. */
static const field_spec top_fields[] = {
    {"seed", FIELD_SEED, OFF(seed), 0, 0, false, false, "an integer >= 0", NULL},
    {"grid", FIELD_INT, OFF(grid), 2, 40, false, false, "an integer in 2..40", NULL},
    {"weights", FIELD_INT_LIST, 0, 0, 0, false, false, NULL, NULL},
    {"directions", FIELD_INT_LIST, 0, 0, 0, false, false, NULL, NULL},
    {"threads", FIELD_INT, OFF(threads), 0, 1024, false, false, "an integer in 0..1024", NULL},
    {"data", FIELD_SECTION, 0, 0, 0, false, false, "a mapping", data_fields},
    {"output", FIELD_SECTION, 0, 0, 0, false, false, "a mapping", output_fields},
    {"sgd", FIELD_SECTION, 0, 0, 0, false, false, "a mapping", sgd_fields},
    {"explore", FIELD_SECTION, 0, 0, 0, false, false, "a mapping", explore_fields},
    {NULL, 0, 0, 0, 0, false, false, NULL, NULL},
};

static bool within_bounds(const field_spec *f, double v)
{
    bool above_min = f->min_open ? v > f->min : v >= f->min;
    bool below_max = f->max_open ? v < f->max : v <= f->max;
    return above_min && below_max;
}

static int load_string(const load_context *ctx, const yaml_node_t *node, const char *key,
                       const field_spec *f, char *dst, size_t cap)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.length == 0)
        return fail_value(ctx, node, key, f->expected);
    if (node->data.scalar.length >= cap) {
        char expected[128];
        snprintf(expected, sizeof expected, "%s shorter than %zu bytes", f->expected, cap);
        return fail_value(ctx, node, key, expected);
    }
    if (f->kind == FIELD_FILE_NAME && strchr(scalar_text(node), '/'))
        return fail_value(ctx, node, key, f->expected);
    memcpy(dst, scalar_text(node), node->data.scalar.length + 1);
    return 0;
}

static int load_field(const load_context *ctx, const yaml_node_t *node, const char *key,
                      const field_spec *f, pareto_config *cfg)
{
    char *field = (char *)cfg + f->offset;
    long long i;
    double x;
    switch (f->kind) {
    case FIELD_SEED:
        if (!parse_integer(node, &i) || i < 0)
            return fail_value(ctx, node, key, f->expected);
        *(uint64_t *)(void *)field = (uint64_t)i;
        return 0;
    case FIELD_INT:
        if (!parse_integer(node, &i) || !within_bounds(f, (double)i))
            return fail_value(ctx, node, key, f->expected);
        *(int *)(void *)field = (int)i;
        return 0;
    case FIELD_NUMBER:
        if (!parse_number(node, &x) || !within_bounds(f, x))
            return fail_value(ctx, node, key, f->expected);
        *(double *)(void *)field = x;
        return 0;
    case FIELD_PATH:
        return load_string(ctx, node, key, f, field, CONFIG_PATH_MAX);
    case FIELD_FILE_NAME:
        return load_string(ctx, node, key, f, field, sizeof cfg->csv_name);
    default:
        return fail_at(ctx, node->start_mark, "key '%s': internal error, unhandled field kind",
                       key);
    }
}

/* "a, b, c" of a table's key names, for unknown-key errors. */
static void list_keys(const field_spec *fields, char *buf, size_t len)
{
    text_buffer t = {buf, len, 0};
    buf[0] = '\0';
    for (int k = 0; fields[k].name; k++)
        append(&t, k ? ", %s" : "%s", fields[k].name);
}

/* Keys are plain scalars, and each appears once. prefix is "" at the top or "sgd." etc. */
static int check_keys(const load_context *ctx, const yaml_node_t *mapping, const char *prefix)
{
    yaml_node_pair_t *start = mapping->data.mapping.pairs.start;
    yaml_node_pair_t *top = mapping->data.mapping.pairs.top;
    for (yaml_node_pair_t *p = start; p < top; p++) {
        const yaml_node_t *key = node_at(ctx, p->key);
        if (key->type != YAML_SCALAR_NODE) {
            char found[FOUND_MAX_CHARS + 32];
            describe_node(key, found, sizeof found);
            return fail_at(ctx, key->start_mark, "in '%s': expected a key name, found %s",
                           prefix[0] ? prefix : "the top-level mapping", found);
        }
        for (yaml_node_pair_t *q = start; q < p; q++) {
            const yaml_node_t *earlier = node_at(ctx, q->key);
            if (earlier->type == YAML_SCALAR_NODE &&
                strcmp(scalar_text(earlier), scalar_text(key)) == 0)
                return fail_at(ctx, key->start_mark,
                               "duplicate key '%s%s' (first at line %zu); expected each key "
                               "once", prefix, scalar_text(key), earlier->start_mark.line + 1);
        }
    }
    return 0;
}

static const field_spec *find_field(const field_spec *fields, const char *name)
{
    for (int k = 0; fields[k].name; k++)
        if (strcmp(fields[k].name, name) == 0)
            return &fields[k];
    return NULL;
}

static int fail_unknown_key(const load_context *ctx, const yaml_node_t *key, const char *prefix,
                            const char *section, const field_spec *fields)
{
    char valid[512];
    list_keys(fields, valid, sizeof valid);
    return fail_at(ctx, key->start_mark, "unknown key '%s%s'; expected one of the keys of %s: %s",
                   prefix, scalar_text(key), section, valid);
}

/* A nested mapping such as sgd: {epochs: 3}. */
static int load_section(const load_context *ctx, const yaml_node_t *mapping, const char *name,
                        const field_spec *fields, pareto_config *cfg)
{
    if (mapping->type != YAML_MAPPING_NODE) {
        char expected[600], valid[512];
        list_keys(fields, valid, sizeof valid);
        snprintf(expected, sizeof expected, "a mapping with keys %s", valid);
        return fail_value(ctx, mapping, name, expected);
    }
    char prefix[64], section[80];
    snprintf(prefix, sizeof prefix, "%s.", name);
    snprintf(section, sizeof section, "'%s'", name);
    if (check_keys(ctx, mapping, prefix) != 0)
        return -1;

    for (yaml_node_pair_t *p = mapping->data.mapping.pairs.start;
         p < mapping->data.mapping.pairs.top; p++) {
        const yaml_node_t *key = node_at(ctx, p->key);
        const field_spec *f = find_field(fields, scalar_text(key));
        if (!f)
            return fail_unknown_key(ctx, key, prefix, section, fields);
        char dotted[128];
        snprintf(dotted, sizeof dotted, "%s%s", prefix, f->name);
        if (load_field(ctx, node_at(ctx, p->value), dotted, f, cfg) != 0)
            return -1;
    }
    return 0;
}

/* One element of weights or directions: an integer in [min, max], not seen before. */
static int load_list_item(const load_context *ctx, const yaml_node_t *item, const char *key,
                          int position, int min, int max, const int *seen, int n_seen,
                          int *value)
{
    char dotted[64], expected[128];
    snprintf(dotted, sizeof dotted, "%s[%d]", key, position);
    snprintf(expected, sizeof expected, "an integer in %d..%d", min, max);
    long long v;
    if (!parse_integer(item, &v) || v < min || v > max)
        return fail_value(ctx, item, dotted, expected);
    for (int k = 0; k < n_seen; k++)
        if (seen[k] == (int)v)
            return fail_at(ctx, item->start_mark,
                           "key '%s': expected each value once, found %lld again (at %s[%d])",
                           dotted, v, key, k);
    *value = (int)v;
    return 0;
}

static int load_directions(const load_context *ctx, const yaml_node_t *seq, pareto_config *cfg)
{
    if (seq->type != YAML_SEQUENCE_NODE)
        return fail_value(ctx, seq, "directions",
                          "a sequence of integers in 1..6, such as [1, 2, 3] or []");
    int n = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++) {
        /* Duplicates are refused, so a seventh item is always a duplicate or out of range. */
        if (load_list_item(ctx, node_at(ctx, *it), "directions", n, 1, CONFIG_NUM_DIRECTIONS,
                           cfg->directions, n, &cfg->directions[n]) != 0)
            return -1;
        n++;
    }
    cfg->n_directions = n;
    return 0;
}

/* Runs after the rest of the file, since the valid indices depend on grid wherever it is. */
static int load_weights(const load_context *ctx, const yaml_node_t *seq, pareto_config *cfg)
{
    int count = config_weight_vectors(cfg->grid, NULL);
    char expected[160];
    snprintf(expected, sizeof expected,
             "a non-empty sequence of weight indices in 0..%d (grid %d); omit the key to "
             "train all", count - 1, cfg->grid);
    if (seq->type != YAML_SEQUENCE_NODE ||
        seq->data.sequence.items.start == seq->data.sequence.items.top)
        return fail_value(ctx, seq, "weights", expected);
    int n = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top; it++) {
        /* In range and distinct, so n never exceeds count <= CONFIG_MAX_WEIGHTS. */
        if (load_list_item(ctx, node_at(ctx, *it), "weights", n, 0, count - 1,
                           cfg->weights_selected, n, &cfg->weights_selected[n]) != 0)
            return -1;
        n++;
    }
    cfg->n_weights_selected = n;
    return 0;
}

static int load_root(const load_context *ctx, const yaml_node_t *root, pareto_config *cfg)
{
    if (root->type != YAML_MAPPING_NODE) {
        char found[FOUND_MAX_CHARS + 32];
        describe_node(root, found, sizeof found);
        return fail_at(ctx, root->start_mark,
                       "expected a mapping of configuration keys (seed, grid, sgd, ...) at the "
                       "top level, found %s", found);
    }
    if (check_keys(ctx, root, "") != 0)
        return -1;

    const yaml_node_t *weights = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *key = node_at(ctx, p->key);
        const yaml_node_t *value = node_at(ctx, p->value);
        const field_spec *f = find_field(top_fields, scalar_text(key));
        if (!f)
            return fail_unknown_key(ctx, key, "", "the top level", top_fields);
        int rc = 0;
        if (f->kind == FIELD_SECTION)
            rc = load_section(ctx, value, f->name, f->section, cfg);
        else if (strcmp(f->name, "directions") == 0)
            rc = load_directions(ctx, value, cfg);
        else if (strcmp(f->name, "weights") == 0)
            weights = value;
        else
            rc = load_field(ctx, value, f->name, f, cfg);
        if (rc != 0)
            return -1;
    }
    return weights ? load_weights(ctx, weights, cfg) : 0;
}

/* ---- Loading: file and parser -------------------------------------------------------------- */

/* The whole file, NUL-terminated; NULL with err set when it cannot be read. */
static char *read_file(const char *path, size_t *size, pareto_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pareto_fail(err, "%s: cannot open the configuration file: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, used = 0;
    char *buf = pareto_malloc(cap, "the configuration file", err);
    while (buf) {
        if (used + 1 >= cap) {
            if (cap >= CONFIG_FILE_MAX_BYTES) {
                pareto_fail(err, "%s: expected a configuration file under %d bytes, found a "
                            "larger one", path, CONFIG_FILE_MAX_BYTES);
                free(buf);
                buf = NULL;
                break;
            }
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                pareto_fail(err, "%s: out of memory reading the configuration file", path);
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        size_t n = fread(buf + used, 1, cap - 1 - used, f);
        used += n;
        if (n == 0) {
            if (ferror(f)) {
                pareto_fail(err, "%s: cannot read the configuration file: %s", path,
                            strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    fclose(f);
    if (buf) {
        buf[used] = '\0';
        *size = used;
    }
    return buf;
}

/* libyaml's own description of a syntax or encoding error, with its position. */
static int fail_parser(const char *path, const yaml_parser_t *parser, const char *text,
                       size_t size, pareto_error *err)
{
    if (parser->error == YAML_MEMORY_ERROR)
        return pareto_fail(err, "%s: out of memory while parsing YAML", path);
    if (parser->error == YAML_READER_ERROR) {
        /* The reader knows only a byte offset; count lines up to it. */
        size_t line = 1, column = 1;
        for (size_t i = 0; i < parser->problem_offset && i < size; i++) {
            column = text[i] == '\n' ? 1 : column + 1;
            line += text[i] == '\n';
        }
        return pareto_fail(err, "%s:%zu:%zu: invalid YAML input: %s (byte offset %zu)", path,
                           line, column, parser->problem ? parser->problem : "unknown problem",
                           parser->problem_offset);
    }

    yaml_mark_t at = parser->problem_mark;
    const char *hint = "";
    if (at.index < size && text[at.index] == '\t')
        hint = " (a tab: YAML indentation must use spaces)";
    const char *problem = parser->problem ? parser->problem : "unknown problem";
    if (parser->context)
        return pareto_fail(err, "%s:%zu:%zu: YAML syntax error: %s%s, %s starting at line %zu "
                           "column %zu", path, at.line + 1, at.column + 1, problem, hint,
                           parser->context, parser->context_mark.line + 1,
                           parser->context_mark.column + 1);
    return pareto_fail(err, "%s:%zu:%zu: YAML syntax error: %s%s", path, at.line + 1,
                       at.column + 1, problem, hint);
}

int config_load(const char *path, pareto_config *cfg, pareto_error *err)
{
    size_t size = 0;
    char *text = read_file(path, &size, err);
    if (!text)
        return -1;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return pareto_fail(err, "%s: cannot initialise the YAML parser", path);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, size);

    /* Work on a copy, so cfg is untouched unless the whole file is valid. */
    pareto_config loaded;
    config_defaults(&loaded);

    int rc = -1;
    yaml_document_t doc;
    if (!yaml_parser_load(&parser, &doc)) {
        fail_parser(path, &parser, text, size, err);
        goto done_parser;
    }
    load_context ctx = {path, &doc, err};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        pareto_fail(err, "%s: expected a mapping of configuration keys, found an empty file "
                    "(no YAML document)", path);
        goto done_document;
    }
    if (load_root(&ctx, root, &loaded) != 0)
        goto done_document;

    /* A second document would be silently ignored; refuse it instead. */
    yaml_document_t extra;
    if (!yaml_parser_load(&parser, &extra)) {
        fail_parser(path, &parser, text, size, err);
        goto done_document;
    }
    yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
    if (extra_root) {
        fail_at(&ctx, extra_root->start_mark, "expected one YAML document, found a second one");
        yaml_document_delete(&extra);
        goto done_document;
    }
    yaml_document_delete(&extra);

    *cfg = loaded;
    rc = 0;
done_document:
    yaml_document_delete(&doc);
done_parser:
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}
