/* store.c - finished jobs on disk, written atomically by rank 0 (see store.h). */
#include "pareto/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NET_MAGIC "PARETONET1"

static void job_path(const pareto_config *cfg, int w, int d, const char *ext, char *buf,
                     size_t len)
{
    if (d == 0)
        snprintf(buf, len, "%s/jobs/sgd_w%d.%s", cfg->out_dir, w, ext);
    else
        snprintf(buf, len, "%s/jobs/explore_w%d_d%d.%s", cfg->out_dir, w, d, ext);
}

static int make_dir(const char *path, pareto_error *err)
{
    char buf[CONFIG_PATH_MAX + 16];
    snprintf(buf, sizeof buf, "%s", path);
    /* mkdir -p: create each missing parent in turn. */
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return pareto_fail(err, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return pareto_fail(err, "%s: cannot create folder: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return pareto_fail(err, "%s: exists and is not a folder", buf);
    return 0;
}

/* Writes text to path through a temporary file and a rename. */
static int write_atomic(const char *path, const void *data, size_t len, pareto_error *err)
{
    char tmp[CONFIG_PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return pareto_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
    int ok = fwrite(data, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return pareto_fail(err, "%s: write failed: %s", path, strerror(saved));
    }
    return 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* Removes the files a previous run saved in jobs/ (only names this program writes). */
static int remove_saved_jobs(const char *jobs_dir, int dry_run, pareto_error *err)
{
    DIR *dir = opendir(jobs_dir);
    if (!dir)
        return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (strncmp(e->d_name, "sgd_w", 5) != 0 && strncmp(e->d_name, "explore_w", 9) != 0)
            continue;
        found++;
        if (!dry_run) {
            char path[CONFIG_PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", jobs_dir, e->d_name);
            if (unlink(path) != 0) {
                closedir(dir);
                return pareto_fail(err, "%s: cannot remove: %s", path, strerror(errno));
            }
        }
    }
    closedir(dir);
    return found;
}

/* Takes an exclusive lock on <out_dir>/.lock (fcntl, released when the process exits). */
static int lock_out_dir(const char *out_dir, pareto_error *err)
{
    char path[CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/.lock", out_dir);
    int fd = open(path, O_RDWR | O_CREAT, 0666);
    if (fd < 0)
        return pareto_fail(err, "%s: cannot open the lock file: %s", path, strerror(errno));
    struct flock lk;
    memset(&lk, 0, sizeof lk);
    lk.l_type = F_WRLCK;
    lk.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &lk) != 0) {
        int saved = errno;
        close(fd);
        if (saved == EACCES || saved == EAGAIN)
            return pareto_fail(err, "%s: another run is using this output folder; wait for it "
                               "or choose another output.dir", out_dir);
        return pareto_fail(err, "%s: cannot lock: %s", path, strerror(saved));
    }
    return 0; /* fd stays open: closing it would release the lock */
}

int store_prepare(const pareto_config *cfg, const char *csv_path, int resume, int force,
                  pareto_error *err)
{
    char jobs_dir[CONFIG_PATH_MAX + 16], probe[CONFIG_PATH_MAX + 64];
    char cfg_path[CONFIG_PATH_MAX + 16];
    snprintf(jobs_dir, sizeof jobs_dir, "%s/jobs", cfg->out_dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/run.config", cfg->out_dir);
    if (make_dir(cfg->out_dir, err) != 0 || make_dir(jobs_dir, err) != 0)
        return -1;

    /* One run per output folder: a second run would mix its jobs into the first's CSV. The
     * lock is held until this process exits. */
    if (lock_out_dir(cfg->out_dir, err) != 0)
        return -1;

    /* Writability is checked now, not after hours of training: the jobs folder, and the
     * folder the CSV goes to (which --out may put elsewhere). */
    snprintf(probe, sizeof probe, "%s/.write_test.%ld", jobs_dir, (long)getpid());
    FILE *f = fopen(probe, "w");
    if (!f)
        return pareto_fail(err, "%s: output folder is not writable: %s", cfg->out_dir,
                           strerror(errno));
    fclose(f);
    unlink(probe);
    struct stat st;
    int csv_exists = stat(csv_path, &st) == 0;
    if (csv_exists && S_ISDIR(st.st_mode))
        return pareto_fail(err, "%s: the CSV path is a folder; expected a file name", csv_path);
    snprintf(probe, sizeof probe, "%s.tmp.%ld", csv_path, (long)getpid());
    f = fopen(probe, "w");
    if (!f)
        return pareto_fail(err, "%s: cannot create the CSV there: %s", csv_path,
                           strerror(errno));
    fclose(f);
    unlink(probe);

    char canonical[8192];
    config_canonical(cfg, canonical, sizeof canonical);
    int saved = remove_saved_jobs(jobs_dir, 1, err);

    if (resume) {
        char *previous = read_text(cfg_path);
        if (!previous && saved > 0)
            return pareto_fail(err, "%s: missing, so the %d saved job files cannot be matched "
                               "to a configuration; --resume refuses them (use --force to "
                               "start over)", cfg_path, saved);
        if (previous && strcmp(previous, canonical) != 0) {
            free(previous);
            return pareto_fail(err, "%s: the saved jobs were computed with a different "
                               "configuration; --resume refuses to mix them (use --force to "
                               "start over, or another output dir)", cfg_path);
        }
        free(previous);
    } else if (force) {
        if (remove_saved_jobs(jobs_dir, 0, err) < 0)
            return -1;
        if (csv_exists && unlink(csv_path) != 0)
            return pareto_fail(err, "%s: cannot remove: %s", csv_path, strerror(errno));
    } else if (saved > 0) {
        return pareto_fail(err, "%s: holds %d saved job files from an earlier run; use "
                           "--resume to continue it or --force to start over", jobs_dir, saved);
    } else if (csv_exists) {
        return pareto_fail(err, "%s: already exists; use --force to overwrite it", csv_path);
    }
    return write_atomic(cfg_path, canonical, strlen(canonical), err);
}

int store_has_job(const pareto_config *cfg, int weight_index, int direction)
{
    char path[CONFIG_PATH_MAX + 64];
    struct stat st;
    job_path(cfg, weight_index, direction, "csv", path, sizeof path);
    if (stat(path, &st) != 0)
        return 0;
    if (direction == 0) {
        job_path(cfg, weight_index, direction, "net", path, sizeof path);
        if (stat(path, &st) != 0)
            return 0;
    }
    return 1;
}

int store_save_rows(const pareto_config *cfg, int weight_index, int direction,
                    const result_row *rows, size_t n, pareto_error *err)
{
    char path[CONFIG_PATH_MAX + 64];
    job_path(cfg, weight_index, direction, "csv", path, sizeof path);
    return results_write_csv(path, rows, n, err);
}

int store_load_rows(const pareto_config *cfg, int weight_index, int direction,
                    result_row **rows, size_t *n, pareto_error *err)
{
    char path[CONFIG_PATH_MAX + 64];
    job_path(cfg, weight_index, direction, "csv", path, sizeof path);
    return results_read_csv(path, rows, n, err);
}

/* Network file: magic, parameter count, sizeof(real), then the parameters. */
typedef struct {
    char magic[16];
    uint64_t count;
    uint64_t real_size;
} net_header;

int store_save_network(const pareto_config *cfg, int weight_index, const real *theta,
                       size_t p, pareto_error *err)
{
    char path[CONFIG_PATH_MAX + 64];
    job_path(cfg, weight_index, 0, "net", path, sizeof path);
    size_t len = sizeof(net_header) + p * sizeof(real);
    char *buf = pareto_malloc(len, "network file", err);
    if (!buf)
        return -1;
    net_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, NET_MAGIC, sizeof NET_MAGIC);
    h.count = p;
    h.real_size = sizeof(real);
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, theta, p * sizeof(real));
    int status = write_atomic(path, buf, len, err);
    free(buf);
    return status;
}

int store_load_network(const pareto_config *cfg, int weight_index, real *theta, size_t p,
                       pareto_error *err)
{
    char path[CONFIG_PATH_MAX + 64];
    job_path(cfg, weight_index, 0, "net", path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return pareto_fail(err, "%s: cannot open: %s", path, strerror(errno));
    net_header h;
    int ok = fread(&h, sizeof h, 1, f) == 1 && memcmp(h.magic, NET_MAGIC, sizeof NET_MAGIC) == 0
             && h.count == p && h.real_size == sizeof(real)
             && fread(theta, sizeof(real), p, f) == p;
    fclose(f);
    if (!ok)
        return pareto_fail(err, "%s: not a saved network of %zu parameters", path, p);
    return 0;
}
