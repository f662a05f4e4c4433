/*
 * hodu_abi.h - the binary interface between a compiled Hodu model and its host.
 *
 * Every shared library that `hodu --build` produces exports exactly one
 * symbol, `hodu_model_get_desc`, returning a constant descriptor.  The
 * descriptor names each input and output (name, dtype, rank, dims), says how
 * many bytes of scratch memory (the workspace) one instance needs, and carries
 * the entry point.  libhodu_rt checks `abi_version` and `desc_size` before it
 * touches anything else, so an old runtime refuses a newer model cleanly.
 *
 * The generated code keeps no global mutable state: everything a run writes
 * lives in the caller's workspace or output buffers, so many instances of one
 * model may run at once in different threads, and a host without malloc can
 * hand in a static arena.
 *
 * This header is included by generated code; it depends on <stdint.h> only.
 */
#ifndef HODU_ABI_H
#define HODU_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever hodu_model_desc or the run contract changes.
 * 3: run may return HODU_RUN_INPUT_VALUES.
 * 4: shapes travel through run: hodu_tensor_desc.min_dims says which dims
 *    may vary, run takes every input's dims and reports every output's
 *    actual dims (ops whose output size depends on data: NonZero, Unique,
 *    Compress, NonMaxSuppression); a refused run names the node that
 *    refused its input's values (hodu_model_desc.checks).
 * 5: run-time dims: an input's dims may vary within [min_dims, dims],
 *    hodu_tensor_desc.dim_names names each such dim (inputs and outputs
 *    that share a name share its size in a run), and check 0 refuses a
 *    run whose input dims break that.
 * 6: string tensors (hodu_string elements), the host's allocator in
 *    hodu_exec (alloc_ctx, alloc), outputs of unbounded size (a described
 *    dim of -1), checks whose text carries their own reason, and the
 *    host's image decoder in hodu_exec (decode_ctx, decode_image).
 * 7: profiling: hodu_model_desc lists the run's steps (n_steps, steps)
 *    and run reports each step's start to hodu_exec.profile_step.
 * 8: training steps: hodu_model_desc.state_next and .initial say which
 *    inputs are state a host carries from one run to the next.
 * 9: sequences and optionals at the model's inputs and outputs:
 *    hodu_model_desc.input_values and .output_values say which runs of
 *    tensors form one (hodu_value_desc). */
#define HODU_ABI_VERSION 9u

/* Workspace and every tensor offset inside it are aligned to this. */
#define HODU_ABI_ALIGN 64u

/* Maximum tensor rank the compiler accepts and the ABI describes. */
#define HODU_MAX_RANK 8

/* Element types.  The numbers are ONNX's TensorProto.DataType values, so the
 * loader and the .npy reader map onto them without tables.
 * The 8-bit floats and the 4- and 2-bit types take one byte per element,
 * the code in the low bits and the rest zero (as numpy's ml_dtypes lays
 * them out); a reader ignores the bits above the code. */
typedef enum hodu_dtype {
    HODU_DTYPE_UNDEFINED = 0,
    HODU_DTYPE_F32 = 1,
    HODU_DTYPE_U8 = 2,
    HODU_DTYPE_I8 = 3,
    HODU_DTYPE_U16 = 4,
    HODU_DTYPE_I16 = 5,
    HODU_DTYPE_I32 = 6,
    HODU_DTYPE_I64 = 7,
    HODU_DTYPE_STRING = 8, /* hodu_string elements (below) */
    HODU_DTYPE_BOOL = 9,
    HODU_DTYPE_F16 = 10,
    HODU_DTYPE_F64 = 11,
    HODU_DTYPE_U32 = 12,
    HODU_DTYPE_U64 = 13,
    HODU_DTYPE_BF16 = 16,
    HODU_DTYPE_F8E4M3FN = 17,   /* 8-bit float, 4 exponent bits, no infinity */
    HODU_DTYPE_F8E4M3FNUZ = 18, /* the same, no negative zero, NaN 0x80 */
    HODU_DTYPE_F8E5M2 = 19,     /* 8-bit float, 5 exponent bits, IEEE-like */
    HODU_DTYPE_F8E5M2FNUZ = 20, /* no infinity, no negative zero, NaN 0x80 */
    HODU_DTYPE_U4 = 21,
    HODU_DTYPE_I4 = 22,
    HODU_DTYPE_F4E2M1 = 23, /* 4-bit float: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and negatives */
    HODU_DTYPE_F8E8M0 = 24, /* 8-bit power of two 2^(e-127); 0xFF is NaN */
    HODU_DTYPE_U2 = 25,
    HODU_DTYPE_I2 = 26,
    HODU_DTYPE_COUNT_ = 27
} hodu_dtype;

/*
 * One element of a HODU_DTYPE_STRING tensor: `size` bytes of UTF-8 at
 * `data`, not NUL-terminated (data may be NULL when size is 0).  16 bytes,
 * aligned to 8.  The bytes belong to someone else: the input they came from
 * (StringSplit's tokens point into its input's bytes), the model's own
 * constants (LabelEncoder's values), or memory the model took from the
 * host's allocator (hodu_exec.alloc) in this run (StringConcat's results,
 * case changes).  A host that gives strings keeps their bytes alive and
 * unchanged for the run; libhodu_rt keeps the bytes a run allocates until
 * the next run of the same instance or its destruction.
 */
typedef struct hodu_string {
    const char *data;
    uint64_t size;
} hodu_string;

/*
 * One input or output of a compiled model.  `dims` are the largest sizes,
 * the ones buffers are sized for.  `min_dims` is NULL when every dim is
 * exact; otherwise it has rank entries and dim d may take any size in
 * [min_dims[d], dims[d]] (equal entries: exact).  For an input that is a
 * run-time dim: the caller chooses its size in each run (input_dims).  For
 * an output, the actual size is reported after each run (a run-time dim,
 * or an op whose output size depends on data: NonZero, Unique, ...).
 * `dim_names` is NULL, or rank entries naming each run-time dim (NULL for
 * the others): every dim with one name has one size in a run, so the dims
 * of the inputs that share a name must agree.
 * An output dim of -1 (with min_dims 0) is unbounded: its size depends on
 * data and has no bound the build knows (StringSplit's token dim).  Such
 * an output does not go to caller memory: run's outputs[k] points to a
 * `void *` that run sets to a buffer it took from hodu_exec.alloc (NULL
 * when the output is empty), holding the data dense row-major for the
 * dims reported in output_dims.
 */
typedef struct hodu_tensor_desc {
    const char *name;
    int32_t dtype; /* hodu_dtype */
    int32_t rank;
    const int64_t *dims;          /* rank entries; NULL when rank == 0 */
    const int64_t *min_dims;      /* NULL, or rank entries, 0 <= min_dims[d] <= dims[d] */
    const char *const *dim_names; /* NULL, or rank entries (NULL or a run-time dim's name) */
} hodu_tensor_desc;

/*
 * A sequence or an optional among the model's inputs or outputs.  Run
 * takes and gives tensors only: a sequence of n tensors is n consecutive
 * entries of the tensor list, inputs[first .. first + count) (or
 * outputs[...]), named "NAME[0]", "NAME[1]", ...; an optional is its one
 * tensor, or its sequence's tensors, or nothing when it is absent.  The
 * number of tensors and whether an optional is there are fixed when the
 * model is built (`hodu --build --input-shape NAME=[DIMS,DIMS] or
 * NAME=none`); each tensor's own dims follow hodu_tensor_desc as any
 * other's.  Tensors that belong to no entry are plain tensors.
 */
#define HODU_VALUE_SEQUENCE          1
#define HODU_VALUE_OPTIONAL          2 /* an optional tensor */
#define HODU_VALUE_OPTIONAL_SEQUENCE 3
typedef struct hodu_value_desc {
    const char *name;
    int32_t kind;    /* HODU_VALUE_* */
    int32_t present; /* 0: an optional the build made absent (count 0) */
    uint32_t first;  /* its first tensor (meaningless when count is 0) */
    uint32_t count;  /* how many tensors it holds */
} hodu_value_desc;

/*
 * Threads.  The library never creates threads: the host lends it a
 * parallel-for through hodu_exec, and the generated code splits a node's
 * work into tasks.  `parallel_for(pool, n, fn, ctx)` must call fn(ctx, t, w)
 * exactly once for every task t in [0, n), where w is the index of the
 * worker running it (w < n_workers, and no two tasks run at once with the
 * same w), and return only after every call has returned.  The model keeps
 * per-worker scratch indexed by w.  It never calls parallel_for from inside
 * a task.  A host without threads passes NULL (or n_workers == 1) and the
 * model runs its tasks itself, in order, as worker 0.
 */
typedef void (*hodu_task_fn)(void *ctx, uint32_t task, uint32_t worker);

/*
 * Images.  The model never parses an image format itself: ImageDecoder
 * asks the host.  decode_image(decode_ctx, bytes, n_bytes, pixel_format,
 * alloc, alloc_ctx, &pixels, dims) decodes the encoded image at bytes
 * (n_bytes of them, any format the host knows) into a buffer it takes from
 * alloc(alloc_ctx, size) (the allocator below, handed over by the model),
 * dense [height, width, channels] uint8, channels 3 for pixel_format
 * HODU_PIXEL_RGB and HODU_PIXEL_BGR, 1 for HODU_PIXEL_GRAY; it sets
 * *pixels (NULL allowed when height or width is 0) and dims, and returns
 * 0, or non-zero when it cannot (the bytes are no image it knows, or a
 * corrupt one, or too large, or alloc returned NULL): the model then
 * returns its node's check.  A host that lends no decoder (decode_image
 * NULL) makes every ImageDecoder fail the same way.  Models without
 * ImageDecoder never call it; it is called only from the thread that
 * called run.  libhodu_rt lends its own (hodu_decode_image in hodu_rt.h).
 */
#define HODU_PIXEL_RGB  0
#define HODU_PIXEL_BGR  1
#define HODU_PIXEL_GRAY 2
typedef int (*hodu_decode_image_fn)(void *decode_ctx, const uint8_t *bytes, uint64_t n_bytes, int32_t pixel_format,
                                    void *(*alloc)(void *alloc_ctx, uint64_t bytes), void *alloc_ctx, uint8_t **pixels,
                                    int64_t dims[3]);

/*
 * Memory.  A model that makes strings (or has an unbounded output) asks
 * the host for their bytes: alloc(alloc_ctx, n) returns n bytes aligned to
 * at least 8, or NULL.  The model never frees them: the host reclaims
 * them when it likes after the run (libhodu_rt: at the start of the
 * instance's next run, or when the instance is destroyed).  alloc is
 * called only from the thread that called run.  A model that needs memory
 * and finds no allocator (exec NULL, alloc NULL) or gets NULL returns the
 * check of the node that asked (its text says so).  Models without
 * strings, unbounded outputs or images never call it.
 *
 * Profiling.  When profile_step is set, run calls profile_step(profile_ctx,
 * k) on the calling thread as step k of hodu_model_desc.steps starts, and
 * profile_step(profile_ctx, n_steps) when the last one has finished (a run
 * that returns non-zero may stop calling it at any point).  The host times
 * the gaps; a step is one node of the model, its fused consumers included.
 */
typedef struct hodu_exec {
    uint32_t n_workers; /* >= 1 */
    void *pool;         /* the host's handle, passed back to parallel_for */
    void (*parallel_for)(void *pool, uint32_t n_tasks, hodu_task_fn fn, void *ctx);
    void *alloc_ctx; /* the host's handle, passed back to alloc */
    void *(*alloc)(void *alloc_ctx, uint64_t bytes);
    void *decode_ctx; /* the host's handle, passed back to decode_image */
    hodu_decode_image_fn decode_image;
    void *profile_ctx; /* the host's handle, passed back to profile_step */
    void (*profile_step)(void *profile_ctx, uint32_t step);
} hodu_exec;

/*
 * run: executes the model once.
 *   workspace   - workspace_bytes + W * worker_bytes of memory aligned to
 *                 HODU_ABI_ALIGN, where W is exec's n_workers (1 without
 *                 exec), owned by the caller, not shared with a concurrent
 *                 run;
 *   inputs      - n_inputs pointers, in descriptor order, to dense row-major
 *                 tensors of the described dtype, each of the dims given in
 *                 input_dims;
 *   input_dims  - every input's dims, concatenated in descriptor order (the
 *                 sum of the input ranks entries), each within the
 *                 descriptor's [min_dims, dims]; NULL means the described
 *                 dims (allowed while every input's min_dims is NULL);
 *   outputs     - n_outputs pointers to caller memory of the described
 *                 (largest) size (for an unbounded output: to a void *,
 *                 see hodu_tensor_desc);
 *   output_dims - NULL, or room for the sum of the output ranks entries:
 *                 run fills it, in descriptor order, with every output's
 *                 actual dims (exact ones too).  An output's data is dense
 *                 row-major for its actual dims, at the start of its buffer;
 *                 the bytes after it are unspecified;
 *   exec        - the host's parallel-for, or NULL to run on the caller's
 *                 thread only.
 * Returns 0, or HODU_RUN_INPUT_VALUES + k when desc->checks[k] (k <
 * n_checks) refused the run.  With run-time dims, check 0 is the inputs'
 * dims: outside their [min_dims, dims] or disagreeing where dim_names are
 * equal (input_dims NULL counts as wrong).  Every other check is a node
 * that refused the values of one of its inputs: values that
 * decide a shape or an axis (a Reshape's target shape given at run time, a
 * CumSum axis, ...) and ask for shapes other than those the model was
 * built for (the ones it declares) or name no axis, or values outside the
 * range the op allows (a Dropout ratio of 1, random dropout asked for,
 * NonMaxSuppression's iou_threshold outside [0, 1]); the outputs and
 * output_dims are then unspecified.  Run-time values that
 * decide only where data goes (NonZero's input, NonMaxSuppression's boxes
 * and counts) never make run write outside the buffers.  The generated
 * code does no I/O and no allocation; shape and dtype checks of the inputs
 * themselves are the host's job (libhodu_rt does them).
 */
#define HODU_RUN_INPUT_VALUES 1
typedef int (*hodu_run_fn)(void *workspace, const void *const *inputs, const int64_t *input_dims, void *const *outputs,
                           int64_t *output_dims, const hodu_exec *exec);

/* One step of a run: a node of the compiled graph, named as the model
 * names it ("" when it has no name), its op, such as "Conv" or
 * "hodu.ConvBlocked" for an op the compiler made ("Conv+Relu" for a node
 * that stands for several), and the compiler's estimate of the
 * floating-point operations one run of it does (0: none made, as for
 * sizes chosen at run time). */
typedef struct hodu_step_desc {
    const char *node;
    const char *op;
    uint64_t flops;
} hodu_step_desc;

typedef struct hodu_model_desc {
    uint32_t abi_version; /* HODU_ABI_VERSION of the compiler that built it */
    uint32_t desc_size;   /* sizeof(hodu_model_desc) at build time */
    const char *model_name;
    const char *producer; /* "hodu <version>" */
    uint32_t n_inputs;
    uint32_t n_outputs;
    const hodu_tensor_desc *inputs;
    const hodu_tensor_desc *outputs;
    uint64_t workspace_bytes; /* shared by all workers of one run */
    uint64_t worker_bytes;    /* per worker, after the shared part; a multiple of HODU_ABI_ALIGN */
    hodu_run_fn run;
    /* The nodes that check run-time values, as "node 'NAME' (OP)": run
     * returning HODU_RUN_INPUT_VALUES + k means checks[k] refused them.
     * A check whose text goes on after "(OP)" with ": " states its own
     * reason (string nodes: no memory from the host's allocator). */
    uint32_t n_checks;
    const char *const *checks;
    /* The steps run takes, in order (see hodu_exec.profile_step). */
    uint32_t n_steps;
    const hodu_step_desc *steps;
    /* State (a training step, `hodu --build --train`): NULL, or n_inputs
     * entries, where state_next[i] >= 0 says input i is state: output
     * state_next[i] holds its value for the next run, and the host feeds
     * that back as input i (the parameters and the optimizer's state).
     * initial[i] (when `initial` is not NULL) points to input i's first
     * value, dense, of its described size, inside the library; NULL means
     * zeros. */
    const int32_t *state_next;
    const void *const *initial;
    /* The sequences and optionals among the inputs and the outputs (see
     * hodu_value_desc), in model order; none when every one is a tensor. */
    uint32_t n_input_values;
    uint32_t n_output_values;
    const hodu_value_desc *input_values;
    const hodu_value_desc *output_values;
} hodu_model_desc;

/* The one exported symbol of a compiled model. */
#define HODU_MODEL_ENTRY "hodu_model_get_desc"
typedef const hodu_model_desc *(*hodu_model_get_desc_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* HODU_ABI_H */
