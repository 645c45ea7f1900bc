/*
 * census.c - loads the UCI Census-Income (KDD) files straight from gzip.
 *
 * Both files are read once. While reading, each categorical value is interned in its column's
 * vocabulary (ids in insertion order) and each row stores the ids, its six raw continuous
 * values and its three labels. After both files are read, every vocabulary is sorted by byte
 * order, the feature offsets are laid out (a one-hot block per categorical column, one raw
 * value per continuous column, in column order), and the stored ids are remapped to feature
 * indices. Only that sparse form survives; the vocabularies are freed.
 *
 * Parsing follows the reference notebook exactly: strip the line, skip it if empty, drop its
 * last character (the '.'), split on ", ", skip a row that does not give 42 fields, strip each
 * field.
 */
#include "pareto/census.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pareto/log.h"

/* ---- the column table ---------------------------------------------------------------------- */

typedef enum {
    ROLE_CATEGORICAL,
    ROLE_CONTINUOUS,
    ROLE_LABEL_AGE,       /* task 0: age >= 40 */
    ROLE_LABEL_EDUCATION, /* task 1: education starts with one of education_prefixes */
    ROLE_LABEL_MARITAL,   /* task 2: marital stat == "Never married" */
    ROLE_IGNORE,
} column_role;

/* The 42 columns in file order, with their roles (the reference's uci_info table). */
#define CENSUS_COLUMN_TABLE(X)                              \
    X("age", ROLE_LABEL_AGE)                                \
    X("class of worker", ROLE_CATEGORICAL)                  \
    X("detailed industry recode", ROLE_CATEGORICAL)         \
    X("detailed occupation recode", ROLE_CATEGORICAL)       \
    X("education", ROLE_LABEL_EDUCATION)                    \
    X("wage per hour", ROLE_CONTINUOUS)                     \
    X("enroll in edu inst last wk", ROLE_CATEGORICAL)       \
    X("marital stat", ROLE_LABEL_MARITAL)                   \
    X("major industry code", ROLE_CATEGORICAL)              \
    X("major occupation code", ROLE_CATEGORICAL)            \
    X("race", ROLE_CATEGORICAL)                             \
    X("hispanic origin", ROLE_CATEGORICAL)                  \
    X("sex", ROLE_CATEGORICAL)                              \
    X("member of a labor union", ROLE_CATEGORICAL)          \
    X("reason for unemployment", ROLE_CATEGORICAL)          \
    X("full or part time employment stat", ROLE_CATEGORICAL) \
    X("capital gains", ROLE_CONTINUOUS)                     \
    X("capital losses", ROLE_CONTINUOUS)                    \
    X("dividends from stocks", ROLE_CONTINUOUS)             \
    X("tax filer stat", ROLE_CATEGORICAL)                   \
    X("region of previous residence", ROLE_CATEGORICAL)     \
    X("state of previous residence", ROLE_CATEGORICAL)      \
    X("detailed household and family stat", ROLE_CATEGORICAL) \
    X("detailed household summary in household", ROLE_CATEGORICAL) \
    X("instance weight", ROLE_IGNORE)                       \
    X("migration code-change in msa", ROLE_CATEGORICAL)     \
    X("migration code-change in reg", ROLE_CATEGORICAL)     \
    X("migration code-move within reg", ROLE_CATEGORICAL)   \
    X("live in this house 1 year ago", ROLE_CATEGORICAL)    \
    X("migration prev res in sunbelt", ROLE_CATEGORICAL)    \
    X("num persons worked for employer", ROLE_CONTINUOUS)   \
    X("family members under 18", ROLE_CATEGORICAL)          \
    X("country of birth father", ROLE_CATEGORICAL)          \
    X("country of birth mother", ROLE_CATEGORICAL)          \
    X("country of birth self", ROLE_CATEGORICAL)            \
    X("citizenship", ROLE_CATEGORICAL)                      \
    X("own business or self employed", ROLE_CATEGORICAL)    \
    X("fill inc questionnaire for veteran's admin", ROLE_CATEGORICAL) \
    X("veterans benefits", ROLE_CATEGORICAL)                \
    X("weeks worked in year", ROLE_CONTINUOUS)              \
    X("year", ROLE_CATEGORICAL)                             \
    X("income", ROLE_CATEGORICAL)

typedef struct {
    const char *name;
    column_role role;
} census_column;

#define COLUMN_ENTRY(name, role) {name, role},
static const census_column columns[] = {CENSUS_COLUMN_TABLE(COLUMN_ENTRY)};

/* The table must agree with the header's counts: checked at compile time. */
#define COUNT_ONE(name, role) +1
#define COUNT_CATEGORICAL(name, role) +((role) == ROLE_CATEGORICAL)
#define COUNT_CONTINUOUS(name, role) +((role) == ROLE_CONTINUOUS)
#define COUNT_LABEL(name, role) \
    +((role) == ROLE_LABEL_AGE || (role) == ROLE_LABEL_EDUCATION || (role) == ROLE_LABEL_MARITAL)
#define COUNT_IGNORE(name, role) +((role) == ROLE_IGNORE)
_Static_assert(0 CENSUS_COLUMN_TABLE(COUNT_ONE) == CENSUS_FIELDS, "42 columns");
_Static_assert(0 CENSUS_COLUMN_TABLE(COUNT_CATEGORICAL) == CENSUS_CATEGORICAL, "32 categorical");
_Static_assert(0 CENSUS_COLUMN_TABLE(COUNT_CONTINUOUS) == CENSUS_CONTINUOUS, "6 continuous");
_Static_assert(0 CENSUS_COLUMN_TABLE(COUNT_LABEL) == CENSUS_TASKS, "3 label columns");
_Static_assert(0 CENSUS_COLUMN_TABLE(COUNT_IGNORE) == 1, "1 ignored column");
_Static_assert(sizeof columns / sizeof columns[0] == CENSUS_FIELDS, "column table size");

/* Task 1's prefixes, as in the reference. "Maters" (sic) matches no value in the data, so
 * Masters degrees get label 0; the typo defines the task and is kept on purpose. */
static const char *const education_prefixes[] = {"Bachelors", "Some", "Maters",
                                                 "Asso", "Doctorate", "Prof"};

/* Bytes asked of zlib per read. */
#define READ_CHUNK ((size_t)1 << 16)

/* How many line numbers of skipped rows a report lists. */
#define REPORTED_BAD_LINES 5

/* ---- per-column vocabulary (temporary) ----------------------------------------------------- */

/* The distinct values of one categorical column, ids in insertion order, with an
 * open-addressing hash index (slots hold id + 1, 0 = empty). */
typedef struct {
    char *bytes;          /* the values' bytes, back to back */
    size_t bytes_len, bytes_cap;
    size_t *start;        /* (n_values) offset of each value in bytes */
    uint32_t *len;        /* (n_values) length of each value */
    uint32_t *hash;       /* (n_values) hash of each value */
    int n_values, cap_values;
    uint32_t *slots;      /* (n_slots) */
    int n_slots;
} vocab;

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void vocab_free(vocab *v)
{
    free(v->bytes);
    free(v->start);
    free(v->len);
    free(v->hash);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static int vocab_rehash(vocab *v, int n_slots, pareto_error *err)
{
    uint32_t *slots = pareto_calloc((size_t)n_slots, sizeof *slots, "vocabulary index", err);
    if (!slots)
        return -1;
    for (int id = 0; id < v->n_values; id++) {
        uint32_t s = v->hash[id] & (uint32_t)(n_slots - 1);
        while (slots[s])
            s = (s + 1) & (uint32_t)(n_slots - 1);
        slots[s] = (uint32_t)id + 1;
    }
    free(v->slots);
    v->slots = slots;
    v->n_slots = n_slots;
    return 0;
}

/* Returns the id of value s[0..n) in v, adding it if new; -1 (err filled) on failure. */
static int vocab_intern(vocab *v, const char *s, size_t n, pareto_error *err)
{
    uint32_t h = hash_bytes(s, n);
    if (v->n_slots) {
        uint32_t mask = (uint32_t)(v->n_slots - 1);
        for (uint32_t i = h & mask; v->slots[i]; i = (i + 1) & mask) {
            int id = (int)v->slots[i] - 1;
            if (v->hash[id] == h && v->len[id] == n && memcmp(v->bytes + v->start[id], s, n) == 0)
                return id;
        }
    }

    /* A new value. Ids are stored as uint16 until the remap. */
    if (v->n_values >= UINT16_MAX)
        return pareto_fail(err, "more than %d distinct values", UINT16_MAX);
    if (v->n_values == v->cap_values) {
        int cap = v->cap_values ? 2 * v->cap_values : 64;
        size_t *start = realloc(v->start, (size_t)cap * sizeof *start);
        if (start)
            v->start = start;
        uint32_t *len = realloc(v->len, (size_t)cap * sizeof *len);
        if (len)
            v->len = len;
        uint32_t *hash = realloc(v->hash, (size_t)cap * sizeof *hash);
        if (hash)
            v->hash = hash;
        if (!start || !len || !hash)
            return pareto_fail(err, "out of memory growing a vocabulary to %d values", cap);
        v->cap_values = cap;
    }
    /* Allocated even for an empty first value, so v->bytes + start is never NULL + 0. */
    if (!v->bytes || v->bytes_len + n > v->bytes_cap) {
        size_t cap = v->bytes_cap ? v->bytes_cap : 1024;
        while (cap < v->bytes_len + n)
            cap *= 2;
        char *bytes = realloc(v->bytes, cap);
        if (!bytes)
            return pareto_fail(err, "out of memory growing a vocabulary to %zu bytes", cap);
        v->bytes = bytes;
        v->bytes_cap = cap;
    }
    int id = v->n_values++;
    if (n)
        memcpy(v->bytes + v->bytes_len, s, n);
    v->start[id] = v->bytes_len;
    v->len[id] = (uint32_t)n;
    v->hash[id] = h;
    v->bytes_len += n;

    /* Keep the index at most half full. */
    if (2 * v->n_values > v->n_slots) {
        if (vocab_rehash(v, v->n_slots ? 2 * v->n_slots : 128, err) < 0)
            return -1;
    } else {
        uint32_t mask = (uint32_t)(v->n_slots - 1);
        uint32_t i = h & mask;
        while (v->slots[i])
            i = (i + 1) & mask;
        v->slots[i] = (uint32_t)id + 1;
    }
    return id;
}

/* One value of a vocabulary being sorted. */
typedef struct {
    const char *bytes;
    uint32_t len;
    int id;
} value_ref;

/* Byte order, a prefix first: the order of Python's sorted() on these (ASCII) strings. */
static int compare_values(const void *a, const void *b)
{
    const value_ref *va = a, *vb = b;
    int c = memcmp(va->bytes, vb->bytes, va->len < vb->len ? va->len : vb->len);
    if (c)
        return c;
    return (va->len > vb->len) - (va->len < vb->len);
}

/* ---- reading lines from a gzip file -------------------------------------------------------- */

typedef struct {
    const char *path;
    gzFile gz;
    char *buf;      /* decompressed bytes; buf[pos..len) are not yet returned */
    size_t cap, len, pos;
    int at_end;     /* the stream ended cleanly */
    long line_no;   /* number of the line last returned, from 1 */
} line_reader;

/* Checks the magic bytes (gzopen would read a plain file transparently) and opens path. */
static int reader_open(line_reader *r, const char *path, pareto_error *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    FILE *f = fopen(path, "rb");
    if (!f)
        return pareto_fail(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[2];
    size_t got = fread(magic, 1, 2, f);
    int read_failed = ferror(f);
    fclose(f);
    if (read_failed)
        return pareto_fail(err, "%s: cannot read: %s", path, strerror(errno));
    if (got == 0)
        return pareto_fail(err, "%s: empty file (expected gzip-compressed census rows)", path);
    if (got < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
        return pareto_fail(err, "%s: not a gzip file (expected magic bytes 1f 8b)", path);

    r->gz = gzopen(path, "rb");
    if (!r->gz)
        return pareto_fail(err, "%s: cannot open: %s", path, errno ? strerror(errno) : "gzopen");
    gzbuffer(r->gz, 1u << 17);
    r->cap = 2 * READ_CHUNK;
    r->buf = pareto_malloc(r->cap, "gzip line buffer", err);
    if (!r->buf) {
        gzclose(r->gz);
        r->gz = NULL;
        return -1;
    }
    return 0;
}

static void reader_close(line_reader *r)
{
    if (r->gz)
        gzclose(r->gz);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Sets *line to the next line, NUL-terminated in place without its '\n', and *n to its length.
 * Returns 1 for a line, 0 at the clean end of the stream, -1 (err filled) on failure. */
static int reader_next(line_reader *r, char **line, size_t *n, pareto_error *err)
{
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl || (r->at_end && r->pos < r->len)) {
            /* At the end, the last line may lack its '\n'; buf always has a spare byte. */
            char *end = nl ? nl : r->buf + r->len;
            *end = '\0';
            *line = r->buf + r->pos;
            *n = (size_t)(end - *line);
            r->pos = nl ? (size_t)(nl - r->buf) + 1 : r->len;
            r->line_no++;
            return 1;
        }
        if (r->at_end)
            return 0;

        /* Move the partial line to the front, grow the buffer if the line fills it, refill. */
        if (r->pos) {
            memmove(r->buf, r->buf + r->pos, r->len - r->pos);
            r->len -= r->pos;
            r->pos = 0;
        }
        if (r->cap - r->len < 2) {
            char *grown = realloc(r->buf, 2 * r->cap);
            if (!grown)
                return pareto_fail(err, "%s: out of memory for a line longer than %zu bytes",
                                   r->path, r->len);
            r->buf = grown;
            r->cap *= 2;
        }
        /* Modest reads: zlib drops a whole read's output when it finds a bad CRC, so the
         * line number reported for it is at most one read's worth of lines early. */
        size_t room = r->cap - r->len - 1;
        if (room > READ_CHUNK)
            room = READ_CHUNK;
        int got = gzread(r->gz, r->buf + r->len, (unsigned)room);
        if (got > 0) {
            r->len += (size_t)got;
            continue;
        }
        /* zlib reports truncated input as Z_BUF_ERROR and a bad CRC or length as a data error;
         * only Z_OK with nothing read is a clean end. */
        int errnum = Z_OK;
        const char *zmsg = gzerror(r->gz, &errnum);
        if (got < 0 || errnum != Z_OK) {
            /* zlib prefixes its message with the path, which ours already names. */
            size_t path_len = strlen(r->path);
            if (strncmp(zmsg, r->path, path_len) == 0 && strncmp(zmsg + path_len, ": ", 2) == 0)
                zmsg += path_len + 2;
            return pareto_fail(err, "%s: corrupt or truncated gzip stream near line %ld: %s",
                               r->path, r->line_no + 1,
                               errnum == Z_ERRNO ? strerror(errno) : zmsg);
        }
        r->at_end = 1;
    }
}

/* ---- parsing rows -------------------------------------------------------------------------- */

/* Python's str.isspace() on ASCII: what the reference's strip() removes. */
static int is_strip_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Strips s[0..*n) in place at both ends; returns the new start and updates *n. */
static char *strip(char *s, size_t *n)
{
    size_t b = 0, e = *n;
    while (b < e && is_strip_space((unsigned char)s[b]))
        b++;
    while (e > b && is_strip_space((unsigned char)s[e - 1]))
        e--;
    *n = e - b;
    return s + b;
}

/* Parses a NUL-terminated field as a finite number using all of it. */
static int parse_number(const char *s, double *out)
{
    if (!*s)
        return -1;
    char *end;
    double x = strtod(s, &end);
    if (*end != '\0' || !isfinite(x))
        return -1;
    *out = x;
    return 0;
}

/* Where a column's parsed value goes: its categorical or continuous slot, or -1. */
typedef struct {
    int slot[CENSUS_FIELDS];
} column_slots;

static void column_slots_init(column_slots *cs)
{
    int n_cat = 0, n_cont = 0;
    for (int c = 0; c < CENSUS_FIELDS; c++) {
        if (columns[c].role == ROLE_CATEGORICAL)
            cs->slot[c] = n_cat++;
        else if (columns[c].role == ROLE_CONTINUOUS)
            cs->slot[c] = n_cont++;
        else
            cs->slot[c] = -1;
    }
}

/* Makes room for one more row in split, growing its arrays geometrically. */
static int split_reserve(census_split *split, int *cap, pareto_error *err)
{
    if (split->n_rows < *cap)
        return 0;
    if (*cap > (1 << 28))
        return pareto_fail(err, "too many rows (more than %d)", *cap);
    int grown = *cap ? 2 * *cap : 1 << 14;
    uint16_t *onehot = realloc(split->onehot, (size_t)grown * CENSUS_CATEGORICAL * sizeof *onehot);
    if (onehot)
        split->onehot = onehot;
    float *cont = realloc(split->cont, (size_t)grown * CENSUS_CONTINUOUS * sizeof *cont);
    if (cont)
        split->cont = cont;
    uint8_t *labels = realloc(split->labels, (size_t)grown * CENSUS_TASKS * sizeof *labels);
    if (labels)
        split->labels = labels;
    if (!onehot || !cont || !labels)
        return pareto_fail(err, "out of memory growing the rows to %d", grown);
    *cap = grown;
    return 0;
}

/* What reading one file found, for the report and the bad-row check. */
typedef struct {
    long nonempty_lines;
    long empty_lines;
    long bad_rows;
    long bad_lines[REPORTED_BAD_LINES];
} file_stats;

/* Formats the first reported bad line numbers as "3, 7, 9" into out. */
static void format_bad_lines(const file_stats *st, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    long shown = st->bad_rows < REPORTED_BAD_LINES ? st->bad_rows : REPORTED_BAD_LINES;
    for (long i = 0; i < shown && used < size; i++) {
        int w = snprintf(out + used, size - used, "%s%ld", i ? ", " : "", st->bad_lines[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (st->bad_rows > shown && used < size)
        snprintf(out + used, size - used, ", ...");
}

/* Parses one stripped, non-empty line into row `split->n_rows` (ids, raw values, labels).
 * Returns 1 if stored, 0 if the field count is wrong, -1 (err filled) on a bad value. */
static int parse_row(char *line, size_t n, const line_reader *r, const column_slots *cs,
                     vocab *vocabs, census_split *split, pareto_error *err)
{
    /* Drop the last character (the '.'), then split on ", " (left to right, no overlap). */
    n--;
    line[n] = '\0';
    char *field[CENSUS_FIELDS];
    size_t field_len[CENSUS_FIELDS];
    int n_fields = 0;
    char *p = line, *end = line + n;
    for (;;) {
        char *sep = p;
        while ((sep = memchr(sep, ',', (size_t)(end - sep))) && sep + 1 < end && sep[1] != ' ')
            sep++;
        if (sep && sep + 1 >= end)
            sep = NULL; /* a ',' as the very last character is no separator */
        if (n_fields == CENSUS_FIELDS)
            return 0; /* a 43rd field */
        char *stop = sep ? sep : end;
        *stop = '\0';
        field_len[n_fields] = (size_t)(stop - p);
        field[n_fields] = strip(p, &field_len[n_fields]);
        field[n_fields][field_len[n_fields]] = '\0';
        n_fields++;
        if (!sep)
            break;
        p = sep + 2;
    }
    if (n_fields != CENSUS_FIELDS)
        return 0;

    int row = split->n_rows;
    uint16_t *onehot = split->onehot + (size_t)row * CENSUS_CATEGORICAL;
    float *cont = split->cont + (size_t)row * CENSUS_CONTINUOUS;
    uint8_t *labels = split->labels + (size_t)row * CENSUS_TASKS;
    for (int c = 0; c < CENSUS_FIELDS; c++) {
        const char *s = field[c];
        double x;
        switch (columns[c].role) {
        case ROLE_CATEGORICAL: {
            pareto_error why = {{0}};
            int id = vocab_intern(&vocabs[cs->slot[c]], s, field_len[c], &why);
            if (id < 0)
                return pareto_fail(err, "%s:%ld: column '%s': %s", r->path, r->line_no,
                                   columns[c].name, why.msg);
            onehot[cs->slot[c]] = (uint16_t)id;
            break;
        }
        case ROLE_CONTINUOUS:
        case ROLE_LABEL_AGE:
            if (parse_number(s, &x) < 0)
                return pareto_fail(err, "%s:%ld: column '%s': expected a number, found '%.64s'",
                                   r->path, r->line_no, columns[c].name, s);
            /* Stored as float: a larger value would become Inf and poison the training. */
            if (columns[c].role == ROLE_CONTINUOUS && !(fabs(x) <= FLT_MAX))
                return pareto_fail(err, "%s:%ld: column '%s': expected a number of magnitude "
                                   "at most %g (a float), found '%.64s'", r->path, r->line_no,
                                   columns[c].name, (double)FLT_MAX, s);
            if (columns[c].role == ROLE_CONTINUOUS)
                cont[cs->slot[c]] = (float)x;
            else
                labels[0] = x >= 40.0;
            break;
        case ROLE_LABEL_EDUCATION:
            labels[1] = 0;
            for (size_t k = 0; k < sizeof education_prefixes / sizeof *education_prefixes; k++)
                if (strncmp(s, education_prefixes[k], strlen(education_prefixes[k])) == 0)
                    labels[1] = 1;
            break;
        case ROLE_LABEL_MARITAL:
            labels[2] = strcmp(s, "Never married") == 0;
            break;
        case ROLE_IGNORE:
            break;
        }
    }
    return 1;
}

/* Reads every row of one file into split, interning categorical values in vocabs. */
static int load_file(const char *path, const census_options *opts, vocab *vocabs,
                     census_split *split, pareto_error *err)
{
    line_reader r;
    if (reader_open(&r, path, err) < 0)
        return -1;
    column_slots cs;
    column_slots_init(&cs);
    file_stats st = {0};
    int cap = 0;
    int status = 0;

    char *line = NULL;
    size_t n = 0;
    int got;
    while ((got = reader_next(&r, &line, &n, err)) > 0) {
        line = strip(line, &n);
        if (n == 0) {
            st.empty_lines++;
            continue;
        }
        st.nonempty_lines++;
        if (split_reserve(split, &cap, err) < 0) {
            status = -1;
            break;
        }
        int stored = parse_row(line, n, &r, &cs, vocabs, split, err);
        if (stored < 0) {
            status = -1;
            break;
        }
        if (stored) {
            split->n_rows++;
        } else {
            if (st.bad_rows < REPORTED_BAD_LINES)
                st.bad_lines[st.bad_rows] = r.line_no;
            st.bad_rows++;
        }
    }
    if (got < 0)
        status = -1;
    reader_close(&r);
    if (status < 0)
        return -1;

    char bad_lines[128];
    format_bad_lines(&st, bad_lines, sizeof bad_lines);
    double max_fraction = opts ? opts->max_bad_row_fraction : 0.0;
    if (st.nonempty_lines == 0)
        return pareto_fail(err, "%s: no rows (the decompressed file is empty or blank)", path);
    if ((double)st.bad_rows > max_fraction * (double)st.nonempty_lines)
        return pareto_fail(err,
                           "%s: %ld of %ld non-empty lines do not have %d fields separated by "
                           "', ' (allowed fraction %g); first at lines %s",
                           path, st.bad_rows, st.nonempty_lines, CENSUS_FIELDS, max_fraction,
                           bad_lines);
    if (split->n_rows == 0)
        return pareto_fail(err, "%s: no valid rows (%ld lines, none with %d fields)", path,
                           st.nonempty_lines, CENSUS_FIELDS);

    if (opts && opts->verbose) {
        log_info("census: %s: %d rows read, %ld blank lines skipped", path, split->n_rows,
                 st.empty_lines);
        if (st.bad_rows)
            log_info("census: %s: %ld rows skipped for not having %d fields; first at lines %s",
                     path, st.bad_rows, CENSUS_FIELDS, bad_lines);
    }
    return 0;
}

/* ---- the feature layout -------------------------------------------------------------------- */

/* Sorts each vocabulary, lays out the features and remaps the stored ids to feature indices. */
static int build_features(vocab *vocabs, census_data *data, pareto_error *err)
{
    uint16_t *feature_of_id[CENSUS_CATEGORICAL] = {0};
    value_ref *order = NULL;
    int status = 0;

    int n_features = 0, n_cat = 0, n_cont = 0;
    for (int c = 0; c < CENSUS_FIELDS && status == 0; c++) {
        if (columns[c].role == ROLE_CONTINUOUS) {
            if (n_features > UINT16_MAX) {
                status = pareto_fail(err, "census: more than %d features", UINT16_MAX);
                break;
            }
            data->cont_feature[n_cont++] = (uint16_t)n_features++;
            continue;
        }
        if (columns[c].role != ROLE_CATEGORICAL)
            continue;

        /* The column's block: its values in byte order, starting at n_features. */
        vocab *v = &vocabs[n_cat];
        if (n_features + v->n_values > UINT16_MAX + 1) {
            status = pareto_fail(err, "census: more than %d features (column '%s')",
                                 UINT16_MAX + 1, columns[c].name);
            break;
        }
        free(order);
        order = pareto_malloc((size_t)v->n_values * sizeof *order, "vocabulary order", err);
        feature_of_id[n_cat] = pareto_malloc((size_t)v->n_values * sizeof(uint16_t),
                                             "feature index map", err);
        if (!order || !feature_of_id[n_cat]) {
            status = -1;
            break;
        }
        for (int id = 0; id < v->n_values; id++)
            order[id] = (value_ref){v->bytes + v->start[id], v->len[id], id};
        qsort(order, (size_t)v->n_values, sizeof *order, compare_values);
        for (int rank = 0; rank < v->n_values; rank++)
            feature_of_id[n_cat][order[rank].id] = (uint16_t)(n_features + rank);
        n_features += v->n_values;
        n_cat++;
    }
    free(order);

    if (status == 0) {
        data->n_features = n_features;
        census_split *splits[2] = {&data->train, &data->test};
        for (int s = 0; s < 2; s++) {
            uint16_t *onehot = splits[s]->onehot;
            for (size_t i = 0; i < (size_t)splits[s]->n_rows; i++)
                for (int j = 0; j < CENSUS_CATEGORICAL; j++)
                    onehot[i * CENSUS_CATEGORICAL + j] =
                        feature_of_id[j][onehot[i * CENSUS_CATEGORICAL + j]];
        }
    }
    for (int j = 0; j < CENSUS_CATEGORICAL; j++)
        free(feature_of_id[j]);
    return status;
}

/* Gives back the unused tail of a split's arrays (they grew geometrically). */
static void split_shrink(census_split *split)
{
    size_t n = split->n_rows ? (size_t)split->n_rows : 1;
    uint16_t *onehot = realloc(split->onehot, n * CENSUS_CATEGORICAL * sizeof *onehot);
    if (onehot)
        split->onehot = onehot;
    float *cont = realloc(split->cont, n * CENSUS_CONTINUOUS * sizeof *cont);
    if (cont)
        split->cont = cont;
    uint8_t *labels = realloc(split->labels, n * CENSUS_TASKS * sizeof *labels);
    if (labels)
        split->labels = labels;
}

/* ---- public functions ---------------------------------------------------------------------- */

/* opts may be NULL: then no bad row is allowed and nothing is printed. */
int census_load(const char *train_path, const char *test_path, const census_options *opts,
                census_data *data, pareto_error *err)
{
    if (!data)
        return pareto_fail(err, "census_load: no output given");
    memset(data, 0, sizeof *data);
    if (!train_path || !test_path)
        return pareto_fail(err, "census_load: the train and test paths are required");

    double t0 = wall_seconds();
    vocab vocabs[CENSUS_CATEGORICAL];
    memset(vocabs, 0, sizeof vocabs);
    int status = load_file(train_path, opts, vocabs, &data->train, err);
    if (status == 0)
        status = load_file(test_path, opts, vocabs, &data->test, err);
    if (status == 0)
        status = build_features(vocabs, data, err);
    for (int j = 0; j < CENSUS_CATEGORICAL; j++)
        vocab_free(&vocabs[j]);
    if (status < 0) {
        census_free(data);
        return -1;
    }
    split_shrink(&data->train);
    split_shrink(&data->test);

    if (opts && opts->verbose) {
        log_info("census: %d features (%d one-hot, %d continuous), loaded in %.2f s",
                 data->n_features, data->n_features - CENSUS_CONTINUOUS, CENSUS_CONTINUOUS,
                 wall_seconds() - t0);
        static const char *const task_names[CENSUS_TASKS] = {"age >= 40", "education",
                                                             "never married"};
        for (int k = 0; k < CENSUS_TASKS; k++)
            log_info("census: task %d (%s): positive rate train %.4f, test %.4f", k,
                     task_names[k], census_positive_rate(&data->train, k),
                     census_positive_rate(&data->test, k));
    }
    return 0;
}

void census_free(census_data *data)
{
    if (!data)
        return;
    census_split *splits[2] = {&data->train, &data->test};
    for (int s = 0; s < 2; s++) {
        free(splits[s]->onehot);
        free(splits[s]->cont);
        free(splits[s]->labels);
    }
    memset(data, 0, sizeof *data);
}

double census_positive_rate(const census_split *split, int task)
{
    if (!split || split->n_rows <= 0 || task < 0 || task >= CENSUS_TASKS)
        return 0.0;
    long positives = 0;
    for (size_t i = 0; i < (size_t)split->n_rows; i++)
        positives += split->labels[i * CENSUS_TASKS + task];
    return (double)positives / (double)split->n_rows;
}
