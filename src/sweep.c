/*
 * sweep.c - the jobs of a run spread over MPI ranks.
 *
 * Rank 0 reads and checks the config, reads the data and prepares the output folder; a failure
 * there is reported once and every rank exits non-zero before any work starts. Rank 0 then
 * broadcasts the config and the data, and the ranks work through two phases: the SGD jobs,
 * then the exploration jobs (which need the SGD networks, broadcast from rank 0 in between).
 * The pending jobs of a phase are dealt round-robin, so no rank holds two jobs of a phase while
 * another holds none. Every job draws from its own random streams, so the rows do not depend on
 * the rank count. Finished jobs travel to rank 0, which saves them as they arrive (polling
 * between its own epochs and steps) and, at the end, builds the CSV from the saved jobs.
 */
#include "pareto/sweep.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pareto/census.h"
#include "pareto/config.h"
#include "pareto/jobs.h"
#include "pareto/log.h"
#include "pareto/mlp.h"
#include "pareto/store.h"
#include "pareto/summary.h"
#include "pareto/team.h"

/* OpenBLAS's own control; declared in its cblas.h, repeated here to not depend on it. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

#define TAG_JOB 1

typedef struct {
    int weight_index;
    int direction; /* 0: SGD job */
} job_id;

/* Header of a finished job's message to rank 0; rows and the network follow. */
typedef struct {
    int32_t weight_index, direction, n_rows, has_net;
    double job_seconds;
} job_message;

typedef struct {
    int rank, size;
    const sweep_options *opts;
    pareto_config cfg;
    census_data data;
    mlp_shape shape;
    size_t n_params;
    int n_weights;      /* selected weight vectors */
    int *weights;       /* their indices */
    real *networks;     /* (n_weights, P): the SGD result of each selected weight */
    /* rank 0's bookkeeping */
    int jobs_total, jobs_done, remote_expected, remote_received;
    int jobs_resumed;   /* saved by an earlier run: not part of this run's rate */
    /* other ranks: the last finished job, on its way to rank 0 */
    char *send_buf;
    MPI_Request send_req;
    double phase_seconds[2];
    double start_time;
    team *team;         /* this rank's threads for the blocks of each batch */
} sweep;

static void job_name(job_id job, char *buf, size_t len)
{
    if (job.direction == 0) {
        snprintf(buf, len, "sgd w%d", job.weight_index);
    } else {
        char bits[4];
        direction_bits(job.direction, bits);
        snprintf(buf, len, "explore w%d d%s", job.weight_index, bits);
    }
}

static int weight_slot(const sweep *s, int weight_index)
{
    for (int i = 0; i < s->n_weights; i++)
        if (s->weights[i] == weight_index)
            return i;
    return -1;
}

static _Noreturn void fail_job(const sweep *s, job_id job, const char *msg)
{
    char name[64];
    job_name(job, name, sizeof name);
    if (job.weight_index < 0)
        log_error("rank %d: %s", s->rank, msg);
    else
        log_error("rank %d: job %s failed: %s", s->rank, name, msg);
    log_error("stopping the run: no CSV is written; finished jobs are saved for --resume");
    if (s->size > 1)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Finalize();
    exit(1);
}

/* --- rank 0: saving finished jobs ------------------------------------------------------ */

static void log_progress(sweep *s, const char *name, int rank, double seconds)
{
    double elapsed = wall_seconds() - s->start_time;
    int left = s->jobs_total - s->jobs_done;
    int done_here = s->jobs_done - s->jobs_resumed;
    double eta = done_here ? elapsed / done_here * left : 0;
    log_info("done %s on rank %d in %.1f s; %d/%d jobs, elapsed %.0f s, ETA %.0f s", name, rank,
             seconds, s->jobs_done, s->jobs_total, elapsed, eta);
    if (s->opts->machine_progress)
        printf("PROGRESS jobs_done=%d jobs_total=%d elapsed_s=%.1f eta_s=%.1f job=\"%s\" "
               "job_s=%.2f rank=%d\n", s->jobs_done, s->jobs_total, elapsed, eta, name,
               seconds, rank);
    fflush(stdout);
}

static void save_job(sweep *s, job_id job, const result_row *rows, int n_rows, const real *net,
                     double seconds, int from_rank)
{
    pareto_error err;
    if (store_save_rows(&s->cfg, job.weight_index, job.direction, rows, (size_t)n_rows, &err)
        || (net && store_save_network(&s->cfg, job.weight_index, net, s->n_params, &err)))
        fail_job(s, job, err.msg);
    if (net)
        memcpy(s->networks + (size_t)weight_slot(s, job.weight_index) * s->n_params, net,
               s->n_params * sizeof(real));
    s->jobs_done++;
    s->phase_seconds[job.direction == 0 ? 0 : 1] += seconds;
    char name[64];
    job_name(job, name, sizeof name);
    log_progress(s, name, from_rank, seconds);
}

/* Receives one finished job from another rank (waiting for it if block), and saves it. */
static int receive_job(sweep *s, int block)
{
    MPI_Status st;
    int ready = 1;
    if (block)
        MPI_Probe(MPI_ANY_SOURCE, TAG_JOB, MPI_COMM_WORLD, &st);
    else
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_JOB, MPI_COMM_WORLD, &ready, &st);
    if (!ready)
        return 0;
    int bytes;
    MPI_Get_count(&st, MPI_BYTE, &bytes);
    char *buf = malloc((size_t)bytes);
    if (!buf) {
        log_error("rank 0: out of memory receiving %d bytes from rank %d", bytes,
                  st.MPI_SOURCE);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Recv(buf, bytes, MPI_BYTE, st.MPI_SOURCE, TAG_JOB, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    job_message h;
    memcpy(&h, buf, sizeof h);
    const result_row *rows = (const result_row *)(buf + sizeof h);
    const real *net = h.has_net ? (const real *)(rows + h.n_rows) : NULL;
    job_id job = {h.weight_index, h.direction};
    save_job(s, job, rows, h.n_rows, net, h.job_seconds, st.MPI_SOURCE);
    free(buf);
    s->remote_received++;
    return 1;
}

/* --- running a rank's share of a phase ------------------------------------------------- */

typedef struct {
    sweep *s;
    job_id job;
} progress_ctx;

static void on_progress(void *ctx, const result_row *row, int done, int total)
{
    progress_ctx *pc = ctx;
    char name[64];
    job_name(pc->job, name, sizeof name);
    log_info("%s %s %d/%d: acc %.4f %.4f %.4f, loss %.4f %.4f %.4f (%.2f s)", name,
             row->phase == PHASE_SGD ? "epoch" : "step", done, total, row->acc[0], row->acc[1],
             row->acc[2], row->loss[0], row->loss[1], row->loss[2], row->wall_s);
    /* Rank 0 saves other ranks' jobs between its own epochs and steps. */
    if (pc->s->rank == 0)
        while (receive_job(pc->s, 0))
            ;
}

/* Waits until the last job sent to rank 0 has left, and frees its buffer. */
static void finish_send(sweep *s)
{
    if (!s->send_buf)
        return;
    MPI_Wait(&s->send_req, MPI_STATUS_IGNORE);
    free(s->send_buf);
    s->send_buf = NULL;
}

/* Sends a finished job to rank 0 without waiting for rank 0 to take it: rank 0 only looks
 * between its own epochs and steps, and this rank can start its next job meanwhile. */
static void send_job(sweep *s, job_id job, const result_row *rows, int n_rows,
                     const real *net, double seconds)
{
    finish_send(s);
    size_t bytes = sizeof(job_message) + (size_t)n_rows * sizeof(result_row)
                   + (net ? s->n_params * sizeof(real) : 0);
    char *buf = malloc(bytes);
    if (!buf)
        fail_job(s, job, "out of memory packing the result for rank 0");
    job_message h = {job.weight_index, job.direction, n_rows, net != NULL, seconds};
    memcpy(buf, &h, sizeof h);
    memcpy(buf + sizeof h, rows, (size_t)n_rows * sizeof(result_row));
    if (net)
        memcpy(buf + sizeof h + (size_t)n_rows * sizeof(result_row), net,
               s->n_params * sizeof(real));
    MPI_Isend(buf, (int)bytes, MPI_BYTE, 0, TAG_JOB, MPI_COMM_WORLD, &s->send_req);
    s->send_buf = buf;
}

/* Runs the pending jobs dealt to this rank; rank 0 also collects everyone else's. */
static void run_phase(sweep *s, const job_id *pending, int n_pending, const real *theta0)
{
    int steps = pending && n_pending && pending[0].direction ? s->cfg.explore_steps
                                                              : s->cfg.sgd_epochs;
    result_row *rows = calloc((size_t)steps, sizeof *rows);
    real *theta = malloc(s->n_params * sizeof(real));
    if (!rows || !theta) {
        job_id none = {-1, 0};
        fail_job(s, none, "out of memory for the rows and network of this phase's jobs");
    }
    s->remote_expected = 0;
    s->remote_received = 0;
    if (s->rank == 0)
        for (int j = 0; j < n_pending; j++)
            s->remote_expected += j % s->size != 0;

    for (int j = s->rank; j < n_pending; j += s->size) {
        job_id job = pending[j];
        char name[64];
        job_name(job, name, sizeof name);
        log_info("start %s", name);
        double start = wall_seconds();
        pareto_error err;
        progress_ctx pc = {s, job};
        int status;
        if (job.direction == 0) {
            memcpy(theta, theta0, s->n_params * sizeof(real));
            status = sgd_job(&s->cfg, &s->data, job.weight_index, theta, s->team, rows,
                             on_progress, &pc, &err);
        } else {
            int slot = weight_slot(s, job.weight_index);
            memcpy(theta, s->networks + (size_t)slot * s->n_params, s->n_params * sizeof(real));
            status = explore_job(&s->cfg, &s->data, job.weight_index, job.direction, theta,
                                 s->team, rows, on_progress, &pc, &err);
        }
        if (status != 0)
            fail_job(s, job, err.msg);
        double seconds = wall_seconds() - start;
        log_info("end %s in %.1f s", name, seconds);
        const real *net = job.direction == 0 ? theta : NULL;
        if (s->rank == 0)
            save_job(s, job, rows, steps, net, seconds, 0);
        else
            send_job(s, job, rows, steps, net, seconds);
    }
    if (s->rank == 0)
        while (s->remote_received < s->remote_expected)
            receive_job(s, 1);
    finish_send(s);
    free(rows);
    free(theta);
}

/* --- setup ----------------------------------------------------------------------------- */

/* The threads of a rank split each Jacobian and HVP batch into blocks (see jobs.h); OpenBLAS
 * itself stays on one thread, since threads inside products this small cost more than they
 * give. Without a 'threads' key a rank under MPI uses one thread (the ranks share the cores)
 * and a process on its own uses the cores, up to BATCH_BLOCKS. */
static void choose_threads(sweep *s)
{
    openblas_set_num_threads(1);
    int threads = s->cfg.threads;
    const char *why = "from the config";
    if (threads == 0 && (s->size > 1 || s->opts->under_launcher)) {
        threads = 1;
        why = "one per MPI rank";
    } else if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 1 ? (int)(cores < BATCH_BLOCKS ? cores : BATCH_BLOCKS) : 1;
        why = "the cores of this machine";
    }
    if (threads > BATCH_BLOCKS) {
        if (s->rank == 0)
            log_info("threads: %d asked for, %d used: a batch is cut into %d blocks", threads,
                     BATCH_BLOCKS, BATCH_BLOCKS);
        threads = BATCH_BLOCKS;
    }
    pareto_error err;
    s->team = team_new(threads, &err);
    if (!s->team) {
        log_warn("rank %d: %s; going on with one thread", s->rank, err.msg);
        s->team = team_new(1, &err);
        threads = 1;
    }
    if (s->rank == 0)
        log_info("threads per rank: %d (%s; OpenBLAS 1)", threads, why);
}

static void bcast_split(census_split *split, int rank)
{
    MPI_Bcast(&split->n_rows, 1, MPI_INT, 0, MPI_COMM_WORLD);
    size_t n = (size_t)split->n_rows;
    if (rank != 0) {
        split->onehot = malloc(n * CENSUS_CATEGORICAL * sizeof *split->onehot);
        split->cont = malloc(n * CENSUS_CONTINUOUS * sizeof *split->cont);
        split->labels = malloc(n * CENSUS_TASKS);
        if (!split->onehot || !split->cont || !split->labels) {
            log_error("rank %d: out of memory for the %zu-row data", rank, n);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    MPI_Bcast(split->onehot, (int)(n * CENSUS_CATEGORICAL), MPI_UINT16_T, 0, MPI_COMM_WORLD);
    MPI_Bcast(split->cont, (int)(n * CENSUS_CONTINUOUS), MPI_FLOAT, 0, MPI_COMM_WORLD);
    MPI_Bcast(split->labels, (int)(n * CENSUS_TASKS), MPI_UINT8_T, 0, MPI_COMM_WORLD);
}

/* Rank 0's checks before any work: config, data, output folder. */
static int prepare_root(sweep *s, char *csv_path, size_t csv_len, pareto_error *err)
{
    if (config_load(s->opts->config_path, &s->cfg, err) != 0)
        return -1;
    if (s->opts->csv_path)
        snprintf(csv_path, csv_len, "%s", s->opts->csv_path);
    else
        snprintf(csv_path, csv_len, "%s/%s", s->cfg.out_dir, s->cfg.csv_name);
    census_options copts = {s->cfg.max_bad_row_fraction, 1};
    if (census_load(s->cfg.train_path, s->cfg.test_path, &copts, &s->data, err) != 0)
        return -1;
    /* More categorical values than the real files have (a damaged or foreign file) would give
     * feature indices past the network's inputs. Fewer is fine: those inputs stay zero. */
    int n_inputs = mlp_census_shape().in;
    if (s->data.n_features > n_inputs)
        return pareto_fail(err, "%s, %s: the files give %d one-hot and continuous features; "
                           "expected at most the network's %d inputs (is a categorical column "
                           "damaged?)", s->cfg.train_path, s->cfg.test_path,
                           s->data.n_features, n_inputs);
    int n = s->data.train.n_rows;
    if (s->cfg.sgd_batch_size > n)
        return pareto_fail(err, "%s: sgd.batch_size %d is larger than the %d training rows",
                           s->opts->config_path, s->cfg.sgd_batch_size, n);
    if (s->cfg.hvp_batch > n)
        return pareto_fail(err, "%s: explore.hvp_batch %d is larger than the %d training rows",
                           s->opts->config_path, s->cfg.hvp_batch, n);
    /* The output folder last: a run refused for its config or its data leaves nothing. */
    return store_prepare(&s->cfg, csv_path, s->opts->resume, s->opts->force, err);
}

static void print_plan(const sweep *s, const job_id *pending, int n_pending, const char *phase)
{
    log_info("plan: %d %s jobs over %d ranks", n_pending, phase, s->size);
    for (int r = 0; r < s->size && r < n_pending; r++) {
        char line[512];
        int at = snprintf(line, sizeof line, "plan: rank %d:", r);
        for (int j = r; j < n_pending && at < (int)sizeof line - 32; j += s->size) {
            char name[64];
            job_name(pending[j], name, sizeof name);
            at += snprintf(line + at, sizeof line - (size_t)at, " [%s]", name);
        }
        log_info("%s", line);
    }
}

/* A saved job about to be skipped by --resume must hold one row per epoch or step: a file cut
 * short or edited would otherwise leave rows out of the CSV. */
static int check_saved_job(const sweep *s, job_id job, pareto_error *err)
{
    result_row *rows;
    size_t n;
    if (store_load_rows(&s->cfg, job.weight_index, job.direction, &rows, &n, err) != 0)
        return -1;
    size_t expected = (size_t)(job.direction ? s->cfg.explore_steps : s->cfg.sgd_epochs);
    int ok = n == expected;
    for (size_t i = 0; ok && i < n; i++)
        ok = rows[i].weight_index == job.weight_index && rows[i].direction == job.direction &&
             rows[i].step == (int)i + 1;
    free(rows);
    if (!ok) {
        char name[64];
        job_name(job, name, sizeof name);
        return pareto_fail(err, "%s/jobs: the saved job %s does not hold rows 1..%zu of that "
                           "job (found %zu rows); delete its files to recompute it, or use "
                           "--force", s->cfg.out_dir, name, expected, n);
    }
    return 0;
}

/* Rank 0: every job's rows, from the saved jobs, sorted; written as the CSV. */
static int write_final_csv(sweep *s, const char *csv_path, pareto_error *err)
{
    size_t total = 0, cap = 0;
    result_row *all = NULL;
    for (int i = 0; i < s->n_weights; i++) {
        for (int d = -1; d < s->cfg.n_directions; d++) {
            int direction = d < 0 ? 0 : s->cfg.directions[d];
            result_row *rows;
            size_t n;
            if (store_load_rows(&s->cfg, s->weights[i], direction, &rows, &n, err) != 0) {
                free(all);
                return -1;
            }
            if (total + n > cap) {
                cap = 2 * (total + n);
                result_row *grown = realloc(all, cap * sizeof *all);
                if (!grown) {
                    free(rows);
                    free(all);
                    return pareto_fail(err, "out of memory collecting the results");
                }
                all = grown;
            }
            memcpy(all + total, rows, n * sizeof *rows);
            total += n;
            free(rows);
        }
    }
    results_sort(all, total);
    int status = results_write_csv(csv_path, all, total, err);
    if (status == 0) {
        log_info("wrote %s: %zu rows", csv_path, total);
        pareto_error summary_err;
        if (summary_report(stdout, csv_path, all, total, NULL, &summary_err) != 0)
            log_warn("no Pareto summary of %s: %s", csv_path, summary_err.msg);
    }
    free(all);
    return status;
}

int sweep_run(const sweep_options *opts)
{
    sweep s;
    memset(&s, 0, sizeof s);
    s.opts = opts;
    MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &s.size);
    if (s.size > 1)
        log_set_rank(s.rank);

    char csv_path[CONFIG_PATH_MAX + 300] = "";
    pareto_error err;
    int status = 0;
    if (s.rank == 0) {
        status = prepare_root(&s, csv_path, sizeof csv_path, &err);
        if (status != 0)
            log_error("%s", err.msg);
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (status != 0) {
        census_free(&s.data);
        return 1;
    }
    MPI_Bcast(&s.cfg, (int)sizeof s.cfg, MPI_BYTE, 0, MPI_COMM_WORLD);
    choose_threads(&s);
    MPI_Bcast(&s.data.n_features, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Bcast(s.data.cont_feature, CENSUS_CONTINUOUS, MPI_UINT16_T, 0, MPI_COMM_WORLD);
    bcast_split(&s.data.train, s.rank);
    bcast_split(&s.data.test, s.rank);

    s.shape = mlp_census_shape();
    s.n_params = mlp_num_params(&s.shape);
    s.weights = malloc(CONFIG_MAX_WEIGHTS * sizeof *s.weights);
    s.n_weights = s.weights ? config_selected_weights(&s.cfg, s.weights) : 0;
    int n_dirs = s.cfg.n_directions;
    int n_jobs = s.n_weights * (1 + n_dirs);
    s.networks = malloc((size_t)s.n_weights * s.n_params * sizeof(real));
    job_id *pending = malloc((size_t)(n_jobs > 0 ? n_jobs : 1) * sizeof *pending);
    int *done = calloc((size_t)(n_jobs > 0 ? n_jobs : 1), sizeof *done);
    real *theta0 = malloc(s.n_params * sizeof(real));
    if (!s.weights || !s.networks || !pending || !done || !theta0) {
        log_error("rank %d: out of memory for the plan of %d jobs", s.rank, n_jobs);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    /* Jobs saved by an earlier run (--resume); job j = weight slot * (1 + n_dirs) + dir. */
    if (s.rank == 0 && opts->resume) {
        for (int i = 0; i < s.n_weights && status == 0; i++)
            for (int d = 0; d <= n_dirs && status == 0; d++) {
                job_id job = {s.weights[i], d ? s.cfg.directions[d - 1] : 0};
                int *flag = &done[i * (1 + n_dirs) + d];
                *flag = store_has_job(&s.cfg, job.weight_index, job.direction);
                if (*flag && (status = check_saved_job(&s, job, &err) != 0))
                    log_error("%s", err.msg);
            }
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (status != 0)
        goto finish;
    MPI_Bcast(done, n_jobs, MPI_INT, 0, MPI_COMM_WORLD);
    s.jobs_total = n_jobs;
    for (int j = 0; j < n_jobs; j++)
        s.jobs_done += done[j];
    s.jobs_resumed = s.jobs_done;
    if (s.rank == 0 && opts->resume)
        log_info("resume: %d of %d jobs already saved", s.jobs_done, n_jobs);
    if (s.rank == 0 && opts->machine_progress) {
        printf("PROGRESS jobs_done=%d jobs_total=%d elapsed_s=0.0 eta_s=0.0 ranks=%d\n",
               s.jobs_done, n_jobs, s.size);
        fflush(stdout);
    }

    jobs_initial_params(&s.cfg, &s.shape, theta0);
    s.start_time = wall_seconds();

    /* Phase 1: the SGD jobs. */
    int n_pending = 0;
    for (int i = 0; i < s.n_weights; i++)
        if (!done[i * (1 + n_dirs)])
            pending[n_pending++] = (job_id){s.weights[i], 0};
    if (s.rank == 0)
        print_plan(&s, pending, n_pending, "SGD");
    run_phase(&s, pending, n_pending, theta0);

    /* Every rank gets every SGD network; rank 0 reads the resumed ones from disk. */
    if (s.rank == 0) {
        for (int i = 0; i < s.n_weights; i++) {
            if (done[i * (1 + n_dirs)] && n_dirs > 0 &&
                store_load_network(&s.cfg, s.weights[i],
                                   s.networks + (size_t)i * s.n_params, s.n_params, &err)) {
                log_error("%s", err.msg);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
        }
    }
    if (n_dirs > 0)
        MPI_Bcast(s.networks, (int)((size_t)s.n_weights * s.n_params), sizeof(real) == 4 ?
                  MPI_FLOAT : MPI_DOUBLE, 0, MPI_COMM_WORLD);

    /* Phase 2: the exploration jobs. */
    n_pending = 0;
    for (int i = 0; i < s.n_weights; i++)
        for (int d = 1; d <= n_dirs; d++)
            if (!done[i * (1 + n_dirs) + d])
                pending[n_pending++] = (job_id){s.weights[i], s.cfg.directions[d - 1]};
    if (s.rank == 0 && n_dirs > 0)
        print_plan(&s, pending, n_pending, "exploration");
    run_phase(&s, pending, n_pending, theta0);

    if (s.rank == 0) {
        double makespan = wall_seconds() - s.start_time;
        double busy = s.phase_seconds[0] + s.phase_seconds[1];
        log_info("timing: SGD jobs %.1f s, exploration jobs %.1f s (sums of job times)",
                 s.phase_seconds[0], s.phase_seconds[1]);
        log_info("timing: makespan %.1f s on %d ranks, parallel efficiency %.2f", makespan,
                 s.size, makespan > 0 ? busy / (s.size * makespan) : 0.0);
        status = write_final_csv(&s, csv_path, &err) != 0;
        if (status)
            log_error("%s", err.msg);
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);

finish:
    free(pending);
    free(done);
    free(theta0);
    free(s.networks);
    free(s.weights);
    team_free(s.team);
    census_free(&s.data);
    return status;
}
