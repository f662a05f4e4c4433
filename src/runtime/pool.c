/*
 * pool.c - the thread pool an instance lends to its model (hodu_exec).
 *
 * One pool per instance: n - 1 worker threads plus the thread that calls
 * hodu_instance_run, which takes part as worker 0.  A model calls
 * parallel_for once per parallel node, often hundreds of times per run, so a
 * job hand-off must cost microseconds: workers spin for a short while on the
 * job counter before they sleep on a condition variable.
 *
 * Tasks are claimed from one atomic word holding the job's generation, its
 * task count and the next task, so a worker that wakes late (a busy
 * machine, more threads than cores) finds the job finished or replaced and
 * claims nothing; the caller waits only for tasks that were claimed, never
 * for a worker to show up.  Claiming one task at a time also balances
 * uneven tasks.
 *
 * A spinning thread yields its CPU every POOL_YIELD_EVERY polls.  With more
 * runnable threads than CPUs (a busy machine, or a woken worker placed on
 * the CPU of the thread that woke it, which Linux often does) a thread that
 * only spins can hold, for a whole spin, the CPU that the other needs to
 * publish the next job or to finish a claimed task: on a 2-CPU machine the
 * 99th percentile of 10-microsecond jobs was then 350 to 800 microseconds,
 * against 16 with the yields.  A yield costs a system call (about 0.3 us)
 * when the thread has its CPU to itself.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "platform.h"
#include "rt_impl.h"

/* Polls of a counter before a waiting thread sleeps.  Long enough to bridge
 * the gap between two nodes of one run, short enough that an idle instance
 * stops burning a core within a millisecond or so. */
#define POOL_SPIN 20000
/* Polls between two hodurt_yield calls while spinning (a power of two). */
#define POOL_YIELD_EVERY 64

/* The claim word: generation (24 bits) | task count (20) | next task (20). */
#define CLAIM_BITS     20
#define CLAIM_MASK     ((UINT64_C(1) << CLAIM_BITS) - 1)
#define GEN_MASK       ((UINT64_C(1) << 24) - 1)
#define POOL_MAX_TASKS CLAIM_MASK

struct hodurt_pool {
    uint32_t n_workers; /* including the caller */
    uint32_t n_started; /* worker threads actually running */
    hodurt_thread *threads;

    hodurt_mutex lock;
    hodurt_cond wake; /* a new job or stop */
    hodurt_cond idle; /* the last task of a job finished */

    /* The current job; written by the caller before `claim` is published. */
    hodu_task_fn fn;
    void *ctx;
    atomic_ullong claim;
    atomic_uint done; /* tasks of the current job finished */
    atomic_ulong job; /* bumped once per job; its low 24 bits are the generation */
    atomic_bool stop;
};

struct worker_arg {
    hodurt_pool *pool;
    uint32_t index;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* The pause after poll i of a spin: a CPU hint, or now and then the CPU
 * itself to any other runnable thread. */
static void spin_pause(int i)
{
    if (i % POOL_YIELD_EVERY == POOL_YIELD_EVERY - 1)
        hodurt_yield();
    else
        cpu_relax();
}

/* Claims and runs tasks of job `gen` until it has none left (or another
 * job replaced it). */
static void run_tasks(hodurt_pool *p, uint64_t gen, uint32_t worker)
{
    for (;;) {
        unsigned long long v = atomic_load_explicit(&p->claim, memory_order_acquire);
        uint64_t next = v & CLAIM_MASK, n = (v >> CLAIM_BITS) & CLAIM_MASK;
        if ((v >> (2 * CLAIM_BITS)) != gen || next >= n)
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel, memory_order_relaxed))
            continue;
        /* A claimed task keeps its job current: the caller waits for it
         * before it writes fn and ctx again. */
        p->fn(p->ctx, (uint32_t)next, worker);
        if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) + 1 == n) {
            hodurt_mutex_lock(&p->lock);
            hodurt_cond_signal(&p->idle);
            hodurt_mutex_unlock(&p->lock);
        }
    }
}

/* Waits until the job counter differs from `seen` (or stop); returns it. */
static unsigned long wait_for_job(hodurt_pool *p, unsigned long seen)
{
    for (int i = 0; i < POOL_SPIN; i++) {
        unsigned long j = atomic_load_explicit(&p->job, memory_order_acquire);
        if (j != seen || atomic_load_explicit(&p->stop, memory_order_acquire))
            return j;
        spin_pause(i);
    }
    hodurt_mutex_lock(&p->lock);
    unsigned long j;
    while ((j = atomic_load_explicit(&p->job, memory_order_acquire)) == seen &&
           !atomic_load_explicit(&p->stop, memory_order_acquire))
        hodurt_cond_wait(&p->wake, &p->lock);
    hodurt_mutex_unlock(&p->lock);
    return j;
}

static HODURT_THREAD_MAIN(worker_main, arg_)
{
    struct worker_arg *arg = arg_;
    hodurt_pool *p = arg->pool;
    uint32_t index = arg->index;
    free(arg);
    unsigned long seen = 0;
    for (;;) {
        seen = wait_for_job(p, seen);
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            break;
        run_tasks(p, seen & GEN_MASK, index);
    }
    HODURT_THREAD_END;
}

void hodurt_pool_parallel_for(void *pool, uint32_t n_tasks, hodu_task_fn fn, void *ctx)
{
    hodurt_pool *p = pool;
    if (p->n_started == 0 || n_tasks <= 1 || n_tasks > POOL_MAX_TASKS) {
        for (uint32_t t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    unsigned long job = atomic_load_explicit(&p->job, memory_order_relaxed) + 1;
    uint64_t gen = job & GEN_MASK;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->claim, gen << (2 * CLAIM_BITS) | (uint64_t)n_tasks << CLAIM_BITS, memory_order_release);
    hodurt_mutex_lock(&p->lock);
    atomic_store_explicit(&p->job, job, memory_order_release);
    hodurt_cond_broadcast(&p->wake);
    hodurt_mutex_unlock(&p->lock);

    run_tasks(p, gen, 0);

    /* Every claimed task must be finished before fn and ctx change. */
    for (int i = 0; i < POOL_SPIN; i++) {
        if (atomic_load_explicit(&p->done, memory_order_acquire) == n_tasks)
            return;
        spin_pause(i);
    }
    hodurt_mutex_lock(&p->lock);
    while (atomic_load_explicit(&p->done, memory_order_acquire) != n_tasks)
        hodurt_cond_wait(&p->idle, &p->lock);
    hodurt_mutex_unlock(&p->lock);
}

hodu_status hodurt_pool_create(uint32_t n_workers, hodurt_pool **out, hodu_error *err)
{
    *out = NULL;
    hodurt_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "thread pool: out of memory");
    p->n_workers = n_workers;
    hodurt_mutex_init(&p->lock);
    hodurt_cond_init(&p->wake);
    hodurt_cond_init(&p->idle);
    atomic_init(&p->claim, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->job, 0);
    atomic_init(&p->stop, false);
    if (n_workers > 1) {
        p->threads = calloc(n_workers - 1, sizeof *p->threads);
        if (p->threads == NULL) {
            hodurt_pool_destroy(p);
            return hodurt_fail(err, HODU_ERR_NOMEM, "thread pool: out of memory");
        }
    }
    for (uint32_t i = 1; i < n_workers; i++) {
        struct worker_arg *arg = malloc(sizeof *arg);
        int rc = arg == NULL ? -1 : 0;
        if (arg != NULL) {
            arg->pool = p;
            arg->index = i;
            rc = hodurt_thread_start(&p->threads[i - 1], worker_main, arg) ? 0 : -1;
            if (rc != 0)
                free(arg);
        }
        if (rc != 0) {
            hodurt_pool_destroy(p);
            return hodurt_fail(err, HODU_ERR_NOMEM, "thread pool: cannot start thread %u of %u", i + 1, n_workers);
        }
        p->n_started++;
    }
    *out = p;
    return HODU_OK;
}

void hodurt_pool_destroy(hodurt_pool *p)
{
    if (p == NULL)
        return;
    hodurt_mutex_lock(&p->lock);
    atomic_store_explicit(&p->stop, true, memory_order_release);
    hodurt_cond_broadcast(&p->wake);
    hodurt_mutex_unlock(&p->lock);
    for (uint32_t i = 0; i < p->n_started; i++)
        hodurt_thread_join(p->threads[i]);
    hodurt_cond_destroy(&p->idle);
    hodurt_cond_destroy(&p->wake);
    hodurt_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}
