/*
 * team.c - the threads behind team_run: a generation counter announces each run, a counter
 * of pending workers reports its end.
 */
#include "pareto/team.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* About 0.1-1 ms of polling, depending on the CPU's pause instruction, before sleeping. */
#define SPIN_ROUNDS 4096

struct team {
    int threads;
    pthread_t *workers;            /* threads - 1 of them */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    atomic_ulong generation;       /* bumped by every run and by team_free */
    atomic_int pending;            /* workers still busy with this run */
    atomic_int stopping;
    team_part fn;                  /* this run's parts */
    void *ctx;
    int parts;
};

typedef struct {
    team *t;
    int id;
} worker_arg;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_parts(team *t, int id)
{
    for (int part = id; part < t->parts; part += t->threads)
        t->fn(t->ctx, part);
}

static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    team *t = w->t;
    int id = w->id;
    free(w);
    unsigned long seen = 0;
    for (;;) {
        /* wait for the next generation: poll, then sleep */
        for (int i = 0; i < SPIN_ROUNDS && atomic_load(&t->generation) == seen; i++)
            cpu_relax();
        if (atomic_load(&t->generation) == seen) {
            pthread_mutex_lock(&t->lock);
            while (atomic_load(&t->generation) == seen)
                pthread_cond_wait(&t->wake, &t->lock);
            pthread_mutex_unlock(&t->lock);
        }
        seen = atomic_load(&t->generation);
        if (atomic_load(&t->stopping))
            return NULL;

        run_parts(t, id);

        if (atomic_fetch_sub(&t->pending, 1) == 1) {
            pthread_mutex_lock(&t->lock);
            pthread_cond_signal(&t->done);
            pthread_mutex_unlock(&t->lock);
        }
    }
}

team *team_new(int threads, pareto_error *err)
{
    if (threads < 1) {
        pareto_fail(err, "a team needs at least one thread, got %d", threads);
        return NULL;
    }
    team *t = pareto_calloc(1, sizeof *t, "thread team", err);
    if (!t)
        return NULL;
    t->threads = 1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    pthread_cond_init(&t->done, NULL);
    atomic_init(&t->generation, 0);
    atomic_init(&t->pending, 0);
    atomic_init(&t->stopping, 0);
    if (threads == 1)
        return t;
    t->workers = pareto_calloc((size_t)threads - 1, sizeof *t->workers, "thread team", err);
    if (!t->workers) {
        team_free(t);
        return NULL;
    }
    for (int id = 1; id < threads; id++) {
        worker_arg *w = malloc(sizeof *w);
        if (w)
            *w = (worker_arg){t, id};
        if (!w || pthread_create(&t->workers[id - 1], NULL, worker_main, w) != 0) {
            free(w);
            pareto_fail(err, "could not start thread %d of %d", id + 1, threads);
            team_free(t);
            return NULL;
        }
        t->threads = id + 1;
    }
    return t;
}

void team_free(team *t)
{
    if (!t)
        return;
    if (t->threads > 1) {
        pthread_mutex_lock(&t->lock);
        atomic_store(&t->stopping, 1);
        atomic_fetch_add(&t->generation, 1);
        pthread_cond_broadcast(&t->wake);
        pthread_mutex_unlock(&t->lock);
        for (int id = 1; id < t->threads; id++)
            pthread_join(t->workers[id - 1], NULL);
    }
    free(t->workers);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    pthread_cond_destroy(&t->done);
    free(t);
}

int team_threads(const team *t) { return t ? t->threads : 1; }

void team_run(team *t, int parts, team_part fn, void *ctx)
{
    if (!t || t->threads == 1 || parts <= 1) {
        for (int part = 0; part < parts; part++)
            fn(ctx, part);
        return;
    }
    t->fn = fn;
    t->ctx = ctx;
    t->parts = parts;
    atomic_store(&t->pending, t->threads - 1);
    pthread_mutex_lock(&t->lock);
    atomic_fetch_add(&t->generation, 1);
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->lock);

    run_parts(t, 0);

    for (int i = 0; i < SPIN_ROUNDS && atomic_load(&t->pending) > 0; i++)
        cpu_relax();
    if (atomic_load(&t->pending) > 0) {
        pthread_mutex_lock(&t->lock);
        while (atomic_load(&t->pending) > 0)
            pthread_cond_wait(&t->done, &t->lock);
        pthread_mutex_unlock(&t->lock);
    }
}
