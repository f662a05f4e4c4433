/*
 * model.c - opening compiled models, checking their descriptors, creating
 * instances and running them with dtype, shape and size checks.
 *
 * The bare-metal flavour (HODU_RT_BARE) has no heap, no loader and no
 * threads: models come from a linked-in get_desc (hodu_model_from_desc),
 * and an instance lives in the caller's arena (hodu_instance_options.arena).
 */
#include <string.h>

#ifndef HODU_RT_BARE
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "platform.h"
#endif
#include "rt_impl.h"

#ifdef HODU_RT_BARE
/* No heap: what would be allocated is refused ("out of memory"), so the
 * paths that need it (more than HODURT_STACK_TENSORS tensors, a string
 * arena beyond the caller's) fail cleanly. */
#define rt_malloc(n)    ((void)(n), (void *)NULL)
#define rt_calloc(n, s) ((void)(n), (void)(s), (void *)NULL)
#define rt_free(p)      ((void)(p))
#else
#define rt_malloc malloc
#define rt_calloc calloc
#define rt_free   free
#endif

/* A descriptor with more tensors (steps) than this is taken as garbage. */
#define HODURT_MAX_TENSORS 65536u
#define HODURT_MAX_STEPS   (1u << 24)

/* Runs with at most this many inputs (outputs) keep their pointer arrays on
 * the stack. */
#define HODURT_STACK_TENSORS 16

#ifndef HODU_RT_BARE
struct hodu_model {
    void *handle; /* NULL for a model linked into the program */
    const hodu_model_desc *desc;
};

static const hodu_model_desc *desc_of(const hodu_model *m) { return m->desc; }
#else
/* No record to allocate: a bare model is its checked descriptor. */
static const hodu_model_desc *desc_of(const hodu_model *m) { return (const hodu_model_desc *)(const void *)m; }
#endif

/* The instance's string arena: chunks the model's allocations come from
 * (hodu_exec.alloc), all freed but the first at the start of each run, so
 * what one run allocated stays valid until the next. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t size, used; /* bytes after the header */
} arena_chunk;

#define ARENA_MIN_CHUNK ((size_t)64 << 10)

struct hodu_instance {
    const hodu_model *model;
    void *workspace;
    bool owns_workspace;
    bool in_arena;       /* the record is in the caller's arena: not freed */
    unsigned char *rest; /* the arena after the workspace: run-scoped strings */
    size_t rest_size, rest_used;
    hodurt_pool *pool;     /* NULL with one thread or a host's exec */
    hodu_exec exec;        /* what the model's run receives */
    arena_chunk *chunks;   /* newest first */
    hodu_error decode_err; /* why this run's last image decoding failed (libhodu_rt's decoder) */
    /* Profiling (NULL: off): one entry per step, the step being timed
     * (-1: none) and when it started; the host's own profile hook, put
     * back when profiling stops. */
    hodu_profile_entry *profile;
    int64_t profile_open;
    uint64_t profile_since_ns;
    void *host_profile_ctx;
    void (*host_profile_step)(void *, uint32_t);
};

/* hodu_exec.alloc over the instance's chunks: 16-byte aligned pieces. */
static void *arena_alloc(void *ctx, uint64_t bytes)
{
    hodu_instance *inst = ctx;
    if (bytes > SIZE_MAX / 2)
        return NULL;
    size_t need = ((size_t)bytes + 15) & ~(size_t)15;
    if (inst->rest != NULL) { /* the caller's arena: nothing from the heap */
        if (inst->rest_size - inst->rest_used < need)
            return NULL;
        void *p = inst->rest + inst->rest_used;
        inst->rest_used += need;
        return p;
    }
    arena_chunk *c = inst->chunks;
    if (c == NULL || c->size - c->used < need) {
        size_t size = need > ARENA_MIN_CHUNK ? need : ARENA_MIN_CHUNK;
        if (c != NULL && size < c->size * 2 && c->size <= SIZE_MAX / 4)
            size = c->size * 2;
        arena_chunk *n = rt_malloc(sizeof(arena_chunk) + 16 + size);
        if (n == NULL)
            return NULL;
        n->next = c;
        n->size = size;
        n->used = 0;
        inst->chunks = c = n;
    }
    /* the header is 24 bytes: data starts 16-aligned after 32 */
    unsigned char *base = (unsigned char *)c + ((sizeof(arena_chunk) + 15) & ~(size_t)15);
    void *p = base + c->used;
    c->used += need;
    return p;
}

/* Frees every chunk but the newest (the largest), emptied. */
static void arena_reset(hodu_instance *inst)
{
    inst->rest_used = 0;
    arena_chunk *c = inst->chunks;
    if (c == NULL)
        return;
    for (arena_chunk *o = c->next; o != NULL;) {
        arena_chunk *next = o->next;
        rt_free(o);
        o = next;
    }
    c->next = NULL;
    c->used = 0;
}

static void arena_free(hodu_instance *inst)
{
    for (arena_chunk *o = inst->chunks; o != NULL;) {
        arena_chunk *next = o->next;
        rt_free(o);
        o = next;
    }
    inst->chunks = NULL;
}

/* --- opening ------------------------------------------------------------- */

/* Checks one input or output descriptor and gives its byte size (0 for an
 * unbounded output). */
static hodu_status check_tensor_desc(const char *path, const char *kind, uint32_t index, const hodu_tensor_desc *td,
                                     size_t *nbytes, hodu_error *err)
{
    if (td->name == NULL) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': %s %lu has no name", path, kind, (unsigned long)index);
    }
    if (td->rank < 0 || td->rank > HODU_MAX_RANK) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': %s '%s' has rank %ld, outside 0..%d", path, kind,
                           td->name, (long)td->rank, HODU_MAX_RANK);
    }
    if (td->rank > 0 && td->dims == NULL) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': %s '%s' has rank %ld but no dims", path, kind, td->name,
                           (long)td->rank);
    }
    bool unbounded = false; /* an output dim of -1 with min_dims 0 (hodu_abi.h) */
    for (int32_t d = 0; d < td->rank; d++) {
        if (td->dims[d] == -1 && strcmp(kind, "output") == 0 && td->min_dims != NULL && td->min_dims[d] == 0) {
            unbounded = true;
            continue;
        }
        if (td->dims[d] < 0) {
            return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': %s '%s' has negative dim %lld", path, kind, td->name,
                               (long long)td->dims[d]);
        }
    }
    for (int32_t d = 0; td->min_dims != NULL && d < td->rank; d++) {
        if (td->dims[d] == -1 && unbounded)
            continue;
        if (td->min_dims[d] < 0 || td->min_dims[d] > td->dims[d]) {
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "model '%s': %s '%s' says dim %ld lies in %lld..%lld, which is no range", path, kind,
                               td->name, (long)d, (long long)td->min_dims[d], (long long)td->dims[d]);
        }
    }
    if (td->dtype <= HODU_DTYPE_UNDEFINED || td->dtype >= HODU_DTYPE_COUNT_ ||
        hodu_dtype_size((hodu_dtype)td->dtype) == 0) {
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "model '%s': %s '%s' has dtype %ld (%s), which a compiled model cannot use", path, kind,
                           td->name, (long)td->dtype, hodu_dtype_name((hodu_dtype)td->dtype));
    }
    if (unbounded) { /* no caller buffer: run hands back its own */
        *nbytes = 0;
        return HODU_OK;
    }
    if (!hodurt_nbytes((hodu_dtype)td->dtype, td->rank, td->dims, nbytes)) {
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': %s '%s' is too large to address", path, kind, td->name);
    }
    return HODU_OK;
}

/* Checks a descriptor's sequences and optionals among its `n` inputs or
 * outputs: each names a run of tensors inside the list, in order, without
 * overlapping the one before. */
static hodu_status check_value_descs(const char *path, const char *kind, const hodu_value_desc *v, uint32_t n_values,
                                     uint32_t n, hodu_error *err)
{
    if (n_values > 0 && v == NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': descriptor claims %lu sequence or optional %ss it lacks",
                           path, (unsigned long)n_values, kind);
    uint32_t next = 0; /* the first tensor the next entry may hold */
    for (uint32_t k = 0; k < n_values; k++) {
        const hodu_value_desc *e = &v[k];
        bool bad_kind =
            e->kind != HODU_VALUE_SEQUENCE && e->kind != HODU_VALUE_OPTIONAL && e->kind != HODU_VALUE_OPTIONAL_SEQUENCE;
        if (e->name == NULL || bad_kind || (e->present != 0 && e->present != 1) ||
            (!e->present && (e->count != 0 || e->kind == HODU_VALUE_SEQUENCE)) ||
            (e->kind == HODU_VALUE_OPTIONAL && e->count != (uint32_t)e->present) ||
            (e->count > 0 && (e->first < next || e->first > n || e->count > n - e->first)))
            return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': sequence or optional %s %lu is malformed", path, kind,
                               (unsigned long)k);
        if (e->count > 0)
            next = e->first + e->count;
    }
    return HODU_OK;
}

/* Checks the descriptor a model returned. */
static hodu_status check_desc(const char *path, const hodu_model_desc *desc, hodu_error *err)
{
    if (desc == NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': %s returned NULL", path, HODU_MODEL_ENTRY);
    if (desc->abi_version != HODU_ABI_VERSION)
        return hodurt_fail(err, HODU_ERR_ABI,
                           "model '%s' was built for Hodu ABI version %lu, but this runtime implements version %lu",
                           path, (unsigned long)desc->abi_version, (unsigned long)HODU_ABI_VERSION);
    if (desc->desc_size < sizeof(hodu_model_desc))
        return hodurt_fail(err, HODU_ERR_ABI, "model '%s': descriptor is %lu bytes, this runtime needs at least %zu",
                           path, (unsigned long)desc->desc_size, sizeof(hodu_model_desc));
    if (desc->model_name == NULL || desc->producer == NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': descriptor lacks its %s", path,
                           desc->model_name == NULL ? "model_name" : "producer");
    if (desc->n_inputs > HODURT_MAX_TENSORS || desc->n_outputs > HODURT_MAX_TENSORS)
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': descriptor claims %lu inputs and %lu outputs", path,
                           (unsigned long)desc->n_inputs, (unsigned long)desc->n_outputs);
    if ((desc->n_inputs > 0 && desc->inputs == NULL) || (desc->n_outputs > 0 && desc->outputs == NULL))
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': descriptor has NULL %s", path,
                           desc->n_inputs > 0 && desc->inputs == NULL ? "inputs" : "outputs");
    if (desc->run == NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': descriptor has no run function", path);
    if (desc->n_checks > (uint32_t)(INT32_MAX - HODU_RUN_INPUT_VALUES) || (desc->n_checks > 0 && desc->checks == NULL))
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': descriptor claims %lu node checks it does not name", path,
                           (unsigned long)desc->n_checks);
    for (uint32_t k = 0; k < desc->n_checks; k++)
        if (desc->checks[k] == NULL)
            return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': node check %lu has no name", path, (unsigned long)k);
    if (desc->n_steps > HODURT_MAX_STEPS || (desc->n_steps > 0 && desc->steps == NULL))
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': descriptor claims %lu steps it does not name", path,
                           (unsigned long)desc->n_steps);
    for (uint32_t k = 0; k < desc->n_steps; k++)
        if (desc->steps[k].node == NULL || desc->steps[k].op == NULL)
            return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': step %lu lacks its node or op name", path,
                               (unsigned long)k);
    if (desc->workspace_bytes > (uint64_t)(SIZE_MAX - (HODU_ABI_ALIGN - 1)))
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': workspace of %llu bytes cannot be addressed", path,
                           (unsigned long long)desc->workspace_bytes);
    if (desc->workspace_bytes % HODU_ABI_ALIGN != 0 || desc->worker_bytes % HODU_ABI_ALIGN != 0)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "model '%s': workspace sizes %llu + %llu per worker are not "
                           "multiples of %u",
                           path, (unsigned long long)desc->workspace_bytes, (unsigned long long)desc->worker_bytes,
                           HODU_ABI_ALIGN);

    for (uint32_t i = 0; i < desc->n_inputs + desc->n_outputs; i++) {
        const bool in = i < desc->n_inputs;
        const uint32_t k = in ? i : i - desc->n_inputs;
        size_t nbytes;
        hodu_status st = check_tensor_desc(path, in ? "input" : "output", k, in ? &desc->inputs[k] : &desc->outputs[k],
                                           &nbytes, err);
        if (st != HODU_OK)
            return st;
    }
    hodu_status st = check_value_descs(path, "input", desc->input_values, desc->n_input_values, desc->n_inputs, err);
    if (st == HODU_OK)
        st = check_value_descs(path, "output", desc->output_values, desc->n_output_values, desc->n_outputs, err);
    return st;
}

/* The bytes a caller's tensor needs for descriptor entry td, checked when
 * the model was opened. */
static size_t desc_bytes(const char *kind, const hodu_tensor_desc *td)
{
    size_t nbytes = 0;
    (void)check_tensor_desc("", kind, 0, td, &nbytes, NULL);
    return nbytes;
}

HODU_RT_API hodu_status hodu_model_from_desc(hodu_model_get_desc_fn get_desc, hodu_model **out, hodu_error *err)
{
    if (out == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_model_from_desc: out is NULL");
    *out = NULL;
    if (get_desc == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_model_from_desc: get_desc is NULL");
    const hodu_model_desc *desc = get_desc();
    const char *name = desc != NULL && desc->abi_version == HODU_ABI_VERSION && desc->model_name != NULL
                           ? desc->model_name
                           : "(linked in)";
    hodu_status st = check_desc(name, desc, err);
    if (st != HODU_OK)
        return st;
#ifdef HODU_RT_BARE
    *out = (hodu_model *)(void *)(uintptr_t)desc;
#else
    hodu_model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "model '%s': out of memory", name);
    m->desc = desc;
    *out = m;
#endif
    return hodurt_ok(err);
}

#ifndef HODU_RT_BARE /* loading libraries: none on bare metal */
HODU_RT_API hodu_status hodu_model_open(const char *path, hodu_model **out, hodu_error *err)
{
    if (out == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_model_open: out is NULL");
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_model_open: path is %s", path == NULL ? "NULL" : "empty");

    /* Say plainly when the file is missing, rather than through dlerror. */
    struct stat st;
    if (stat(path, &st) != 0)
        return hodurt_fail(err, HODU_ERR_IO, "cannot open model '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return hodurt_fail(err, HODU_ERR_IO, "cannot open model '%s': not a regular file", path);

    return hodurt_model_load(path, path, out, err);
}

hodu_status hodurt_model_load(const char *path, const char *load_path, hodu_model **out, hodu_error *err)
{
    *out = NULL;
    char why[512];
    void *handle = hodurt_lib_open(load_path, why, sizeof why);
    if (handle == NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "cannot load model '%s': %s", path, why);

    void *sym = hodurt_lib_symbol(handle, HODU_MODEL_ENTRY, why, sizeof why);
    if (sym == NULL) {
        hodu_status st_code = hodurt_fail(err, HODU_ERR_FORMAT, "'%s' is not a Hodu model: no symbol %s (%s)", path,
                                          HODU_MODEL_ENTRY, why);
        hodurt_lib_close(handle);
        return st_code;
    }
    hodu_model_get_desc_fn get_desc;
    memcpy(&get_desc, &sym, sizeof get_desc); /* object to function pointer, as POSIX allows */

    hodu_model *m = calloc(1, sizeof *m);
    if (m == NULL) {
        hodurt_lib_close(handle);
        return hodurt_fail(err, HODU_ERR_NOMEM, "cannot open model '%s': out of memory", path);
    }
    m->handle = handle;
    m->desc = get_desc();
    hodu_status status = check_desc(path, m->desc, err);
    if (status != HODU_OK) {
        hodu_model_close(m);
        return status;
    }
    *out = m;
    return hodurt_ok(err);
}

HODU_RT_API void hodu_model_close(hodu_model *model)
{
    if (model == NULL)
        return;
    if (model->handle != NULL)
        hodurt_lib_close(model->handle);
    free(model);
}
#else
HODU_RT_API void hodu_model_close(hodu_model *model) { (void)model; }
#endif

/* --- queries ------------------------------------------------------------- */

HODU_RT_API const hodu_model_desc *hodu_model_desc_of(const hodu_model *model)
{
    return model != NULL ? desc_of(model) : NULL;
}

HODU_RT_API size_t hodu_model_num_inputs(const hodu_model *model)
{
    return model != NULL ? desc_of(model)->n_inputs : 0;
}

HODU_RT_API size_t hodu_model_num_outputs(const hodu_model *model)
{
    return model != NULL ? desc_of(model)->n_outputs : 0;
}

HODU_RT_API const hodu_tensor_desc *hodu_model_input(const hodu_model *model, size_t index)
{
    if (model == NULL || index >= desc_of(model)->n_inputs)
        return NULL;
    return &desc_of(model)->inputs[index];
}

HODU_RT_API const hodu_tensor_desc *hodu_model_output(const hodu_model *model, size_t index)
{
    if (model == NULL || index >= desc_of(model)->n_outputs)
        return NULL;
    return &desc_of(model)->outputs[index];
}

HODU_RT_API long hodu_model_find_input(const hodu_model *model, const char *name)
{
    if (model == NULL || name == NULL)
        return -1;
    for (uint32_t i = 0; i < desc_of(model)->n_inputs; i++)
        if (strcmp(desc_of(model)->inputs[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* --- instances ----------------------------------------------------------- */

/* Workspace bytes for n workers, or false when that cannot be addressed. */
static bool workspace_need(const hodu_model_desc *desc, uint32_t n_workers, uint64_t *need)
{
    uint64_t per = desc->worker_bytes;
    if (per != 0 && n_workers > (SIZE_MAX - HODU_ABI_ALIGN - desc->workspace_bytes) / per)
        return false;
    *need = desc->workspace_bytes + (uint64_t)n_workers * per;
    return true;
}

/* The instance record's share of a caller's arena: aligned, so the
 * workspace after it is too. */
#define RECORD_BYTES ((sizeof(hodu_instance) + HODU_ABI_ALIGN - 1) / HODU_ABI_ALIGN * HODU_ABI_ALIGN)

HODU_RT_API size_t hodu_model_arena_bytes(const hodu_model *model)
{
    uint64_t need;
    if (model == NULL || !workspace_need(desc_of(model), 1, &need) || need > SIZE_MAX - RECORD_BYTES)
        return 0;
    return RECORD_BYTES + (size_t)need;
}

HODU_RT_API size_t hodu_model_workspace_bytes(const hodu_model *model, uint32_t n_workers)
{
    uint64_t need;
    if (model == NULL || !workspace_need(desc_of(model), n_workers ? n_workers : 1, &need))
        return 0;
    return (size_t)need;
}

/* The thread count an instance asks for: options, then HODU_NUM_THREADS. */
static hodu_status thread_count(const hodu_instance_options *o, uint32_t *n, hodu_error *err)
{
    *n = o != NULL ? o->n_threads : 0;
#ifdef HODU_RT_BARE
    if (*n > 1)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "%lu threads asked for; bare-metal libhodu_rt runs on one",
                           (unsigned long)*n);
    *n = 1;
#else
    if (*n == 0) {
        const char *env = getenv("HODU_NUM_THREADS");
        *n = 1;
        if (env != NULL && env[0] != '\0') {
            char *end;
            errno = 0;
            unsigned long v = strtoul(env, &end, 10);
            if (errno != 0 || *end != '\0' || env[0] == '-' || v < 1 || v > HODURT_MAX_THREADS)
                return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                                   "HODU_NUM_THREADS='%.40s' is not a thread count "
                                   "from 1 to %u",
                                   env, HODURT_MAX_THREADS);
            *n = (uint32_t)v;
        }
    }
#endif
    if (*n > HODURT_MAX_THREADS)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "%lu threads asked for; at most %u", (unsigned long)*n,
                           HODURT_MAX_THREADS);
    return HODU_OK;
}

HODU_RT_API hodu_status hodu_instance_create_with(const hodu_model *model, const hodu_instance_options *options,
                                                  hodu_instance **out, hodu_error *err)
{
    if (out == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_create: out is NULL");
    *out = NULL;
    if (model == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_create: model is NULL");
    const hodu_model_desc *desc = desc_of(model);
    const hodu_exec *host = options != NULL ? options->exec : NULL;
    uint32_t workers;
    if (host != NULL) {
        if (host->n_workers < 1 || host->n_workers > HODURT_MAX_THREADS || host->parallel_for == NULL)
            return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                               "hodu_instance_create: exec needs a parallel_for and "
                               "1 to %u workers (has %lu)",
                               HODURT_MAX_THREADS, (unsigned long)host->n_workers);
        workers = host->n_workers;
    } else {
        hodu_status st = thread_count(options, &workers, err);
        if (st != HODU_OK)
            return st;
    }
    uint64_t need;
    if (!workspace_need(desc, workers, &need))
        return hodurt_fail(err, HODU_ERR_NOMEM, "model '%s': the workspace for %lu workers cannot be addressed",
                           desc->model_name, (unsigned long)workers);
    void *caller_ws = options != NULL ? options->workspace : NULL;
    unsigned char *arena = options != NULL ? options->arena : NULL;
    const size_t arena_bytes = options != NULL ? options->arena_bytes : 0;
    if (arena != NULL) {
        /* the record, then the workspace (unless the caller gave one), then
         * the strings of a run */
        const uint64_t want = RECORD_BYTES + (caller_ws != NULL ? 0 : need);
        if ((uintptr_t)arena % HODU_ABI_ALIGN != 0)
            return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': arena %p is not aligned to %u bytes",
                               desc->model_name, (void *)arena, HODU_ABI_ALIGN);
        if ((uint64_t)arena_bytes < want)
            return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': arena has %zu bytes but %llu are needed",
                               desc->model_name, arena_bytes, (unsigned long long)want);
    } else if (arena_bytes != 0) {
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': arena is NULL but %zu bytes are given",
                           desc->model_name, arena_bytes);
    }
#ifdef HODU_RT_BARE
    if (arena == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                           "model '%s': bare-metal libhodu_rt has no heap: lend hodu_instance_options.arena "
                           "(hodu_model_arena_bytes)",
                           desc->model_name);
#endif
    if (caller_ws != NULL) {
        if ((uintptr_t)caller_ws % HODU_ABI_ALIGN != 0)
            return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': workspace %p is not aligned to %u bytes",
                               desc->model_name, caller_ws, HODU_ABI_ALIGN);
        if ((uint64_t)options->workspace_bytes < need)
            return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': workspace has %zu bytes but %llu are needed",
                               desc->model_name, options->workspace_bytes, (unsigned long long)need);
    } else if (options != NULL && options->workspace_bytes != 0) {
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': workspace is NULL but %zu bytes are given",
                           desc->model_name, options->workspace_bytes);
    }

    hodu_instance *inst = arena != NULL ? (hodu_instance *)(void *)arena : rt_calloc(1, sizeof *inst);
    if (inst == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_instance_create: out of memory");
    if (arena != NULL) {
        memset(inst, 0, sizeof *inst);
        inst->in_arena = true;
        unsigned char *at = arena + RECORD_BYTES;
        if (caller_ws == NULL) {
            inst->workspace = need > 0 ? at : NULL;
            at += need;
        }
        inst->rest = at;
        inst->rest_size = arena_bytes - (size_t)(at - arena);
    }
    inst->model = model;
    if (caller_ws != NULL) {
        inst->workspace = caller_ws;
    } else if (need > 0 && arena == NULL) {
#ifdef HODU_RT_BARE
        inst->workspace = NULL; /* not reached: bare instances need an arena */
#else
        inst->workspace = hodurt_alloc_aligned((size_t)need);
        if (inst->workspace == NULL) {
            free(inst);
            return hodurt_fail(err, HODU_ERR_NOMEM, "model '%s': cannot allocate a workspace of %llu bytes",
                               desc->model_name, (unsigned long long)need);
        }
        inst->owns_workspace = true;
#endif
    }
    if (host != NULL) {
        inst->exec = *host;
        if (inst->exec.alloc == NULL) { /* strings then come from the instance */
            inst->exec.alloc = arena_alloc;
            inst->exec.alloc_ctx = inst;
        }
    } else {
        inst->exec.alloc = arena_alloc;
        inst->exec.alloc_ctx = inst;
#ifndef HODU_RT_BARE /* no image decoder, no threads */
        inst->exec.decode_image = hodu_decode_image;
        inst->exec.decode_ctx = &inst->decode_err;
#endif
        inst->exec.n_workers = 1;
#ifndef HODU_RT_BARE
        if (workers > 1) {
            hodu_status st = hodurt_pool_create(workers, &inst->pool, err);
            if (st != HODU_OK) {
                hodu_instance_destroy(inst);
                return st;
            }
            inst->exec.n_workers = workers;
            inst->exec.pool = inst->pool;
            inst->exec.parallel_for = hodurt_pool_parallel_for;
        }
#endif
    }
    *out = inst;
    return hodurt_ok(err);
}

HODU_RT_API hodu_status hodu_instance_create(const hodu_model *model, hodu_instance **out, hodu_error *err)
{
    return hodu_instance_create_with(model, NULL, out, err);
}

HODU_RT_API hodu_status hodu_instance_create_in(const hodu_model *model, void *workspace, size_t workspace_bytes,
                                                hodu_instance **out, hodu_error *err)
{
    if (out == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_create_in: out is NULL");
    *out = NULL;
    if (model == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_create_in: model is NULL");
    uint64_t need;
    if (!workspace_need(desc_of(model), 1, &need))
        return hodurt_fail(err, HODU_ERR_NOMEM, "model '%s': the workspace cannot be addressed",
                           desc_of(model)->model_name);
    if (workspace == NULL && need > 0)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': workspace is NULL but %llu bytes are needed",
                           desc_of(model)->model_name, (unsigned long long)need);
    hodu_instance_options o = {
        .n_threads = 1, .workspace = workspace, .workspace_bytes = workspace != NULL ? workspace_bytes : 0};
    return hodu_instance_create_with(model, &o, out, err);
}

HODU_RT_API void hodu_instance_destroy(hodu_instance *inst)
{
    if (inst == NULL)
        return;
#ifndef HODU_RT_BARE
    hodurt_pool_destroy(inst->pool);
    free(inst->profile);
    if (inst->owns_workspace)
        hodurt_aligned_free(inst->workspace);
#endif
    arena_free(inst);
    if (!inst->in_arena)
        rt_free(inst);
}

HODU_RT_API uint32_t hodu_instance_num_threads(const hodu_instance *inst)
{
    return inst != NULL ? inst->exec.n_workers : 0;
}

/* --- profiling ----------------------------------------------------------- */

#ifndef HODU_RT_BARE /* no clock on bare metal */
/* hodu_exec.profile_step: closes the step being timed, opens `step`. */
static void profile_step(void *ctx, uint32_t step)
{
    hodu_instance *inst = ctx;
    uint64_t now = hodurt_now_ns();
    if (inst->profile_open >= 0)
        inst->profile[inst->profile_open].total_ns += now - inst->profile_since_ns;
    inst->profile_open = -1;
    if (step < desc_of(inst->model)->n_steps) {
        inst->profile[step].runs++;
        inst->profile_open = step;
    }
    inst->profile_since_ns = now;
}

HODU_RT_API hodu_status hodu_instance_set_profiling(hodu_instance *inst, int on, hodu_error *err)
{
    if (inst == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_set_profiling: instance is NULL");
    const hodu_model_desc *desc = desc_of(inst->model);
    if (inst->profile != NULL) { /* off first: the host's hook back */
        free(inst->profile);
        inst->profile = NULL;
        inst->exec.profile_ctx = inst->host_profile_ctx;
        inst->exec.profile_step = inst->host_profile_step;
    }
    if (!on)
        return hodurt_ok(err);
    inst->profile = calloc(desc->n_steps > 0 ? desc->n_steps : 1, sizeof *inst->profile);
    if (inst->profile == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_instance_set_profiling: out of memory");
    for (uint32_t k = 0; k < desc->n_steps; k++) {
        inst->profile[k].node = desc->steps[k].node;
        inst->profile[k].op = desc->steps[k].op;
        inst->profile[k].flops = desc->steps[k].flops;
    }
    inst->host_profile_ctx = inst->exec.profile_ctx;
    inst->host_profile_step = inst->exec.profile_step;
    inst->exec.profile_ctx = inst;
    inst->exec.profile_step = profile_step;
    inst->profile_open = -1;
    return hodurt_ok(err);
}
#else
HODU_RT_API hodu_status hodu_instance_set_profiling(hodu_instance *inst, int on, hodu_error *err)
{
    if (inst == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_set_profiling: instance is NULL");
    if (!on)
        return hodurt_ok(err);
    return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "bare-metal libhodu_rt has no clock to profile with");
}
#endif

HODU_RT_API const hodu_profile_entry *hodu_instance_profile(const hodu_instance *inst, size_t *n_entries)
{
    bool on = inst != NULL && inst->profile != NULL;
    if (n_entries != NULL)
        *n_entries = on ? desc_of(inst->model)->n_steps : 0;
    return on ? inst->profile : NULL;
}

/* --- running ------------------------------------------------------------- */

/* True when some dim of the tensor may take more than one size. */
static bool has_variable_dims(const hodu_tensor_desc *td)
{
    for (int32_t d = 0; td->min_dims != NULL && d < td->rank; d++)
        if (td->min_dims[d] != td->dims[d])
            return true;
    return false;
}

/* Frees the run's pointer and dims arrays that did not fit on the stack. */
static void free_run_arrays(const void **in, const void **in_stack, void **out, void **out_stack, int64_t *dims,
                            int64_t *dims_stack)
{
    if (in != in_stack)
        rt_free(in);
    if (out != out_stack)
        rt_free(out);
    if (dims != dims_stack)
        rt_free(dims);
}

/* An output whose size has no bound: run hands back its own buffer. */
static bool is_unbounded(const hodu_tensor_desc *td)
{
    for (int32_t d = 0; d < td->rank; d++)
        if (td->dims[d] == -1)
            return true;
    return false;
}

/* Checks a caller tensor against its descriptor entry.  An output whose
 * size depends on data needs only its dtype, rank and the bytes of the
 * largest shape: run overwrites its dims, so one tensor serves many runs. */
static hodu_status check_tensor(const char *kind, const hodu_tensor_desc *td, size_t need, const hodu_tensor *t,
                                hodu_error *err)
{
    if ((int)t->dtype != (int)td->dtype)
        return hodurt_fail(err, HODU_ERR_DTYPE, "%s '%s': dtype %s but the model expects %s", kind, td->name,
                           hodu_dtype_name(t->dtype), hodu_dtype_name((hodu_dtype)td->dtype));
    bool input = strcmp(kind, "input") == 0, variable = has_variable_dims(td);
    bool any_dims = !input && variable;
    int32_t bad = t->rank == td->rank ? -1 : 0; /* the first dim out of its range */
    for (int32_t d = 0; bad < 0 && !any_dims && d < td->rank; d++) {
        int64_t lo = input && td->min_dims != NULL ? td->min_dims[d] : td->dims[d];
        if (t->dims[d] < lo || t->dims[d] > td->dims[d])
            bad = d;
    }
    if (bad >= 0 && t->rank == td->rank && input && variable) {
        const char *name = td->dim_names ? td->dim_names[bad] : NULL;
        return hodurt_fail(err, HODU_ERR_SHAPE, "%s '%s': dim %ld is %lld but the model takes %lld..%lld%s%s%s", kind,
                           td->name, (long)bad, (long long)t->dims[bad], (long long)td->min_dims[bad],
                           (long long)td->dims[bad], name ? " (run-time dim '" : "", name ? name : "",
                           name ? "')" : "");
    }
    if (bad >= 0) {
        char got[HODURT_SHAPE_STR_MAX], want[HODURT_SHAPE_STR_MAX];
        hodurt_format_shape(got, sizeof got, t->rank, t->dims);
        hodurt_format_shape(want, sizeof want, td->rank, td->dims);
        return hodurt_fail(err, HODU_ERR_SHAPE, "%s '%s': shape %s but the model expects %s", kind, td->name, got,
                           want);
    }
    if (input && variable && !hodurt_nbytes(t->dtype, t->rank, t->dims, &need))
        return hodurt_fail(err, HODU_ERR_SHAPE, "%s '%s': too large to address", kind, td->name);
    if (t->nbytes < need) {
        char want[HODURT_SHAPE_STR_MAX];
        hodurt_format_shape(want, sizeof want, td->rank, td->dims);
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "%s '%s': buffer holds %zu bytes but %s%s needs %zu", kind,
                           td->name, t->nbytes, hodu_dtype_name(t->dtype), want, need);
    }
    if (need > 0 && t->data == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "%s '%s': data is NULL", kind, td->name);
    size_t item = hodu_dtype_size(t->dtype);
    if (need > 0 && (uintptr_t)t->data % item != 0)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "%s '%s': data %p is not aligned to its %zu-byte elements", kind,
                           td->name, t->data, item);
    return HODU_OK;
}

/* Input dims that share a run-time dim's name must have one size. */
static hodu_status check_dim_names(const hodu_model_desc *desc, const hodu_tensor *inputs, hodu_error *err)
{
    for (uint32_t i = 0; i < desc->n_inputs; i++) {
        const hodu_tensor_desc *a = &desc->inputs[i];
        for (int32_t d = 0; a->dim_names != NULL && d < a->rank; d++) {
            if (a->dim_names[d] == NULL)
                continue;
            for (uint32_t j = 0; j <= i; j++) {
                const hodu_tensor_desc *b = &desc->inputs[j];
                for (int32_t e = 0; b->dim_names != NULL && e < (j == i ? d : b->rank); e++)
                    if (b->dim_names[e] != NULL && strcmp(a->dim_names[d], b->dim_names[e]) == 0 &&
                        inputs[i].dims[d] != inputs[j].dims[e])
                        return hodurt_fail(err, HODU_ERR_SHAPE,
                                           "input '%s': dim %ld is %lld but input '%s' dim %ld, the same run-time dim "
                                           "'%s', is %lld",
                                           a->name, (long)d, (long long)inputs[i].dims[d], b->name, (long)e,
                                           a->dim_names[d], (long long)inputs[j].dims[e]);
            }
        }
    }
    return HODU_OK;
}

HODU_RT_API hodu_status hodu_instance_run(hodu_instance *inst, const hodu_tensor *inputs, size_t n_inputs,
                                          hodu_tensor *outputs, size_t n_outputs, hodu_error *err)
{
    if (inst == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_run: instance is NULL");
    const hodu_model *m = inst->model;
    const hodu_model_desc *desc = desc_of(m);
    if (n_inputs != desc->n_inputs)
        return hodurt_fail(err, HODU_ERR_COUNT, "model '%s' takes %lu input%s but %zu %s given", desc->model_name,
                           (unsigned long)desc->n_inputs, desc->n_inputs == 1 ? "" : "s", n_inputs,
                           n_inputs == 1 ? "was" : "were");
    if (n_outputs != desc->n_outputs)
        return hodurt_fail(err, HODU_ERR_COUNT, "model '%s' produces %lu output%s but %zu %s given", desc->model_name,
                           (unsigned long)desc->n_outputs, desc->n_outputs == 1 ? "" : "s", n_outputs,
                           n_outputs == 1 ? "was" : "were");
    if (n_inputs > 0 && inputs == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_run: inputs is NULL");
    if (n_outputs > 0 && outputs == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_instance_run: outputs is NULL");

    for (size_t i = 0; i < n_inputs; i++) {
        hodu_status st =
            check_tensor("input", &desc->inputs[i], desc_bytes("input", &desc->inputs[i]), &inputs[i], err);
        if (st != HODU_OK)
            return st;
    }
    for (size_t i = 0; i < n_outputs; i++) {
        hodu_status st =
            check_tensor("output", &desc->outputs[i], desc_bytes("output", &desc->outputs[i]), &outputs[i], err);
        if (st != HODU_OK)
            return st;
    }
    hodu_status st = check_dim_names(desc, inputs, err);
    if (st != HODU_OK)
        return st;

    const void *in_stack[HODURT_STACK_TENSORS] = {NULL};
    void *out_stack[HODURT_STACK_TENSORS] = {NULL};
    const void **in_ptrs = in_stack;
    void **out_ptrs = out_stack;
    if (n_inputs > HODURT_STACK_TENSORS) {
        in_ptrs = rt_malloc(n_inputs * sizeof *in_ptrs);
        if (in_ptrs == NULL)
            return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_instance_run: out of memory");
    }
    if (n_outputs > HODURT_STACK_TENSORS) {
        out_ptrs = rt_malloc(n_outputs * sizeof *out_ptrs);
        if (out_ptrs == NULL) {
            if (in_ptrs != in_stack)
                rt_free(in_ptrs);
            return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_instance_run: out of memory");
        }
    }
    /* Every input's dims and every output's, each list in descriptor order. */
    size_t n_dims = 0;
    for (size_t i = 0; i < n_inputs; i++)
        n_dims += (size_t)desc->inputs[i].rank;
    size_t out_dims_at = n_dims;
    for (size_t i = 0; i < n_outputs; i++)
        n_dims += (size_t)desc->outputs[i].rank;
    int64_t dims_stack[2 * HODURT_STACK_TENSORS * HODU_MAX_RANK];
    int64_t *dims = n_dims <= sizeof dims_stack / sizeof dims_stack[0] ? dims_stack : rt_malloc(n_dims * sizeof *dims);
    if (dims == NULL) {
        free_run_arrays(in_ptrs, in_stack, out_ptrs, out_stack, dims, dims_stack);
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_instance_run: out of memory");
    }
    /* An unbounded output's pointer points to a void * run sets. */
    bool any_unbounded = false;
    for (size_t i = 0; i < n_outputs; i++)
        any_unbounded |= is_unbounded(&desc->outputs[i]);
    void *ubuf_stack[HODURT_STACK_TENSORS] = {NULL};
    void **ubuf = !any_unbounded                      ? NULL
                  : n_outputs <= HODURT_STACK_TENSORS ? ubuf_stack
                                                      : rt_calloc(n_outputs, sizeof(void *));
    if (any_unbounded && ubuf == NULL) {
        free_run_arrays(in_ptrs, in_stack, out_ptrs, out_stack, dims, dims_stack);
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_instance_run: out of memory");
    }
    size_t at = 0;
    for (size_t i = 0; i < n_inputs; i++) {
        in_ptrs[i] = inputs[i].data;
        for (int32_t d = 0; d < desc->inputs[i].rank; d++)
            dims[at++] = inputs[i].dims[d];
    }
    for (size_t i = 0; i < n_outputs; i++) {
        out_ptrs[i] = is_unbounded(&desc->outputs[i]) ? (void *)&ubuf[i] : outputs[i].data;
        for (int32_t d = 0; d < desc->outputs[i].rank; d++)
            dims[at++] = -1; /* run fills every entry */
    }

    arena_reset(inst); /* the strings of the previous run go */
    inst->decode_err.message[0] = '\0';
    inst->profile_open = -1; /* a failed run may have left its last step open */
    int rc = desc->run(inst->workspace, in_ptrs, dims, out_ptrs, dims + out_dims_at, &inst->exec);

    /* The dims run reports must lie within what the descriptor allows, or
     * the caller would read past its buffer. */
    size_t bad = n_outputs;
    const int64_t *got = dims + out_dims_at;
    for (size_t i = 0; rc == 0 && i < n_outputs && bad == n_outputs; i++) {
        const hodu_tensor_desc *td = &desc->outputs[i];
        for (int32_t d = 0; d < td->rank; d++)
            if (got[d] < (td->min_dims != NULL ? td->min_dims[d] : td->dims[d]) ||
                (td->dims[d] != -1 && got[d] > td->dims[d]))
                bad = i;
        size_t nb = 0;
        if (bad == n_outputs && is_unbounded(td) &&
            (!hodurt_nbytes((hodu_dtype)td->dtype, td->rank, got, &nb) || (nb > 0 && ubuf[i] == NULL)))
            bad = i;
        got += td->rank;
    }
    got = dims + out_dims_at;
    for (size_t i = 0; rc == 0 && bad == n_outputs && i < n_outputs; i++) {
        for (int32_t d = 0; d < desc->outputs[i].rank; d++)
            outputs[i].dims[d] = got[d];
        if (is_unbounded(&desc->outputs[i])) { /* the instance's memory, valid until its next run */
            outputs[i].data = ubuf[i];
            hodurt_nbytes(outputs[i].dtype, outputs[i].rank, outputs[i].dims, &outputs[i].nbytes);
        }
        got += desc->outputs[i].rank;
    }
    if (ubuf != ubuf_stack)
        rt_free(ubuf);
    free_run_arrays(in_ptrs, in_stack, out_ptrs, out_stack, dims, dims_stack);
    if (rc == 0 && bad < n_outputs)
        return hodurt_fail(err, HODU_ERR_FORMAT, "model '%s': run reported dims for output '%s' outside its descriptor",
                           desc->model_name, desc->outputs[bad].name);
    if (rc == HODU_RUN_INPUT_VALUES && desc->n_checks > 0 && strcmp(desc->checks[0], "the inputs' run-time dims") == 0)
        return hodurt_fail(err, HODU_ERR_SHAPE,
                           "model '%s': the inputs' run-time dims lie outside their ranges or disagree",
                           desc->model_name);
    if (rc >= HODU_RUN_INPUT_VALUES && (uint32_t)(rc - HODU_RUN_INPUT_VALUES) < desc->n_checks &&
        strstr(desc->checks[rc - HODU_RUN_INPUT_VALUES], "): ") != NULL) { /* a check that says why */
        const char *check = desc->checks[rc - HODU_RUN_INPUT_VALUES];
        const int node_len = (int)(strstr(check, "): ") - check) + 1; /* "node 'N' (OP)" */
        /* An ImageDecoder's check covers two reasons; say which one. */
        if (strstr(check, " (ImageDecoder): ") != NULL && inst->exec.decode_image == NULL)
            return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                               "model '%s': %.*s: the host lent no image decoder (hodu_exec.decode_image is NULL)",
                               desc->model_name, node_len, check);
        if (strstr(check, " (ImageDecoder): ") != NULL && inst->decode_err.message[0] != '\0')
            return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': %.*s: %s", desc->model_name, node_len, check,
                               inst->decode_err.message);
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "model '%s': %s", desc->model_name, check);
    }
    if (rc >= HODU_RUN_INPUT_VALUES && (uint32_t)(rc - HODU_RUN_INPUT_VALUES) < desc->n_checks)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                           "model '%s': %s: the values of an input that decides a shape or an axis (such as a "
                           "Reshape's target shape) ask for other shapes than the model was built for, or for no "
                           "axis, or lie outside the range the op allows (such as NonMaxSuppression's "
                           "iou_threshold), or ask for random dropout in training mode, which a compiled model "
                           "does not do",
                           desc->model_name, desc->checks[rc - HODU_RUN_INPUT_VALUES]);
    if (rc != 0)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "model '%s': run returned %d; the Hodu ABI allows 0 and %d to %lu (one per node check)",
                           desc->model_name, rc, HODU_RUN_INPUT_VALUES, (unsigned long)desc->n_checks);
    return hodurt_ok(err);
}
