/*
 * hodu_rt.h - libhodu_rt, the runtime for models compiled by Hodu.
 *
 * A compiled model is a shared library (see hodu_abi.h).  The runtime opens
 * it, checks its ABI version, lists its inputs and outputs, creates instances
 * (each owning its own workspace) and runs them with shape and dtype checks.
 *
 *     hodu_error err;
 *     hodu_model *m;
 *     if (hodu_model_open("model.so", &m, &err) != HODU_OK) {
 *         fprintf(stderr, "%s\n", err.message);
 *         return 1;
 *     }
 *     hodu_instance *inst;
 *     hodu_instance_create(m, &inst, &err);
 *     hodu_tensor in = ..., out = ...;      // caller-owned buffers
 *     hodu_instance_run(inst, &in, 1, &out, 1, &err);
 *     hodu_instance_destroy(inst);
 *     hodu_model_close(m);
 *
 * A model linked into the program (a static object, or bare metal's
 * `hodu --build --target arm-none-eabi --emit-header m.h`) needs no loader
 * and, with an arena, no heap:
 *
 *     hodu_model_from_desc(m_model_get_desc, &m, &err);
 *     static uint8_t arena[65536] __attribute__((aligned(HODU_ABI_ALIGN)));
 *     hodu_instance_options o = {.arena = arena, .arena_bytes = sizeof arena};
 *     hodu_instance_create_with(m, &o, &inst, &err);  // arena >= hodu_model_arena_bytes(m)
 *
 * The bare-metal flavour of this library (tools/bare_runtime.sh: a static
 * libhodu_rt.a for arm-none-eabi and riscv*-unknown-elf, docs/targets.md)
 * has no malloc, files, loader, clock or threads.  It has the names,
 * shapes and models part: hodu_model_from_desc and the model queries,
 * instances in an arena (required there) and hodu_instance_run with all
 * its checks.  It lacks hodu_model_open, images, profiling (which fails
 * with HODU_ERR_UNSUPPORTED), trainers, safetensors, packages, .npy files
 * and hodu_tensor_alloc/free; n_threads above 1 is HODU_ERR_UNSUPPORTED.
 *
 * Promises:
 * - Every function that can fail returns a hodu_status and, when `err` is not
 *   NULL, fills it with the same code and a one-line message naming the cause.
 * - Wrong input count, dtype, shape or buffer size is an error, never
 *   undefined behaviour; the model's code is not entered.
 * - Passing NULL to a destroy/close/free function is a harmless no-op.
 * - The runtime keeps no global mutable state and never aborts the process.
 * - Instances of one model may run concurrently in different threads; one
 *   instance must not be run by two threads at once.  An instance may run
 *   on several threads of its own (hodu_instance_options.n_threads); the
 *   results do not depend on the thread count.
 */
#ifndef HODU_RT_H
#define HODU_RT_H

#include <stddef.h>
#include <stdint.h>

#include "hodu_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hodu_status {
    HODU_OK = 0,
    HODU_ERR_INVALID_ARG, /* NULL where a value is needed, bad index, ... */
    HODU_ERR_IO,          /* a file could not be opened, read or written */
    HODU_ERR_FORMAT,      /* a file is not what it claims (npy, model) */
    HODU_ERR_ABI,         /* model built for another ABI version */
    HODU_ERR_COUNT,       /* wrong number of inputs or outputs */
    HODU_ERR_DTYPE,       /* tensor dtype differs from the model's */
    HODU_ERR_SHAPE,       /* tensor shape differs from the model's */
    HODU_ERR_NOMEM,       /* an allocation failed */
    HODU_ERR_UNSUPPORTED  /* valid, but not something this runtime handles */
} hodu_status;

typedef struct hodu_error {
    hodu_status code;
    char message[512];
} hodu_error;

/* A dense row-major tensor.  `data` holds `nbytes` bytes.  The runtime never
 * frees a tensor it did not allocate. */
typedef struct hodu_tensor {
    hodu_dtype dtype;
    int32_t rank;
    int64_t dims[HODU_MAX_RANK];
    void *data;
    size_t nbytes;
} hodu_tensor;

typedef struct hodu_model hodu_model;
typedef struct hodu_instance hodu_instance;

/* Name of a status code, e.g. "shape mismatch". Never NULL. */
const char *hodu_status_string(hodu_status status);

/* Name of a dtype as written in ONNX and numpy docs ("float32", "int64").
 * Returns "undefined" for values outside the enum. */
const char *hodu_dtype_name(hodu_dtype dtype);

/* Size of one element in bytes (a string's is sizeof(hodu_string)); 0 for
 * undefined. */
size_t hodu_dtype_size(hodu_dtype dtype);

/* Number of elements of `rank` dims (1 for rank 0). */
int64_t hodu_shape_numel(int32_t rank, const int64_t *dims);

/* --- images ------------------------------------------------------------ */

/* libhodu_rt's image decoder, a hodu_decode_image_fn (hodu_abi.h): JPEG
 * (libjpeg-turbo), PNG (libpng), WebP (libwebp), TIFF (libtiff), JPEG 2000
 * (OpenJPEG), BMP and binary PNM (stb_image), told apart by their first
 * bytes, decoded as Pillow does (the ONNX reference), then converted to
 * RGB, BGR or Grayscale (ITU-R 601-2 luma, Pillow's convert("L")).  The
 * bytes are untrusted: every failure (unknown format, corrupt or truncated
 * data, more than HODU_IMAGE_MAX_PIXELS pixels, alloc returning NULL)
 * returns non-zero, never crashes; decode_ctx is NULL or a hodu_error that
 * receives the reason ("the image could not be decoded: JPEG: ...").
 * Reentrant. */
#define HODU_IMAGE_MAX_PIXELS (UINT64_C(1) << 28)
int hodu_decode_image(void *decode_ctx, const uint8_t *bytes, uint64_t n_bytes, int32_t pixel_format,
                      void *(*alloc)(void *alloc_ctx, uint64_t bytes), void *alloc_ctx, uint8_t **pixels,
                      int64_t dims[3]);

/* --- models ------------------------------------------------------------ */

hodu_status hodu_model_open(const char *path, hodu_model **out, hodu_error *err);
/* A model linked into the program: get_desc is its entry point
 * (hodu_model_get_desc, or a bare-metal object's PREFIX_model_get_desc).
 * The descriptor is checked as hodu_model_open checks a library's.  Close
 * it with hodu_model_close as any other (it unloads nothing). */
hodu_status hodu_model_from_desc(hodu_model_get_desc_fn get_desc, hodu_model **out, hodu_error *err);
void hodu_model_close(hodu_model *model);

/* Descriptor of the compiled model (names, dtypes, shapes, workspace size). */
const hodu_model_desc *hodu_model_desc_of(const hodu_model *model);

size_t hodu_model_num_inputs(const hodu_model *model);
size_t hodu_model_num_outputs(const hodu_model *model);
const hodu_tensor_desc *hodu_model_input(const hodu_model *model, size_t index);
const hodu_tensor_desc *hodu_model_output(const hodu_model *model, size_t index);
/* Index of the input called `name`, or -1. */
long hodu_model_find_input(const hodu_model *model, const char *name);

/* --- instances --------------------------------------------------------- */

/* How an instance is made; zero-initialise and set what you need. */
typedef struct hodu_instance_options {
    /* Threads the instance runs on, the caller's included.  0 means the
     * HODU_NUM_THREADS environment variable when it is set, else 1.  With
     * more than 1 the instance owns a pool of n_threads - 1 threads that
     * live as long as it does; one instance is still run by one caller at
     * a time. */
    uint32_t n_threads;
    /* A parallel-for of the host's own (see hodu_abi.h); when set, the
     * instance creates no threads and uses exec->n_workers workers.  Its
     * alloc may be NULL (the instance's arena is used); its decode_image
     * is used as it is: NULL lends no image decoder (a host that does not
     * want images decoded in its process), hodu_decode_image lends this
     * library's.  Without exec the instance lends hodu_decode_image. */
    const hodu_exec *exec;
    /* Caller memory for the workspace, aligned to HODU_ABI_ALIGN, of at
     * least hodu_model_workspace_bytes(model, workers) bytes; NULL to
     * allocate it with malloc. */
    void *workspace;
    size_t workspace_bytes;
    /* Caller memory that holds the whole instance, aligned to
     * HODU_ABI_ALIGN, of at least hodu_model_arena_bytes(model) bytes (one
     * thread): its record, then the workspace (unless `workspace` is
     * given), then, in what is left, the strings and unbounded outputs of
     * a run.  With one thread the instance then takes nothing from the
     * heap (more threads: their pool does); destroying it leaves the
     * memory to the caller.  NULL: malloc (the bare-metal
     * flavour requires an arena). */
    void *arena;
    size_t arena_bytes;
} hodu_instance_options;

/* Workspace bytes one instance needs to run with n_workers workers (the
 * shared part plus each worker's scratch); 0 when the model is NULL or the
 * size cannot be addressed. */
size_t hodu_model_workspace_bytes(const hodu_model *model, uint32_t n_workers);

/* Arena bytes (hodu_instance_options.arena) for a one-thread instance of
 * the model: its record and workspace; more leaves room for strings.  0
 * when the model is NULL or the size cannot be addressed. */
size_t hodu_model_arena_bytes(const hodu_model *model);

/* Creates an instance as `options` say (NULL: all defaults). */
hodu_status hodu_instance_create_with(const hodu_model *model, const hodu_instance_options *options,
                                      hodu_instance **out, hodu_error *err);

/* hodu_instance_create_with(model, NULL, ...): malloc'ed workspace, thread
 * count from HODU_NUM_THREADS (1 when unset). */
hodu_status hodu_instance_create(const hodu_model *model, hodu_instance **out, hodu_error *err);

/* One thread, caller memory of at least hodu_model_workspace_bytes(model, 1)
 * bytes aligned to HODU_ABI_ALIGN as the workspace: no heap allocation
 * besides the small instance record (a model that makes strings also takes
 * them from the instance's arena, which mallocs; a host without malloc
 * lends its own allocator through hodu_instance_options.exec). */
hodu_status hodu_instance_create_in(const hodu_model *model, void *workspace, size_t workspace_bytes,
                                    hodu_instance **out, hodu_error *err);
void hodu_instance_destroy(hodu_instance *inst);

/* Threads (workers) the instance runs on. */
uint32_t hodu_instance_num_threads(const hodu_instance *inst);

/* Runs the model.  inputs[i] and outputs[i] follow descriptor order; each
 * must match the descriptor's dtype and shape and carry enough bytes.  An
 * input with run-time dims (hodu_tensor_desc.min_dims) takes any size in
 * [min_dims, dims] along them, and inputs whose dims share a name
 * (dim_names) must agree on it.  An output with variable dims needs only
 * the dtype, the rank and room for the largest shape (its dims are not
 * read).
 * After a successful run every output's `dims` hold its actual shape, the
 * data dense row-major for it at the start of `data`; `nbytes` stays the
 * buffer's capacity (use hodu_shape_numel for the bytes that count).
 * Strings (HODU_DTYPE_STRING, hodu_string elements): the bytes of input
 * strings must stay valid for the run; output strings point into the
 * inputs, the model's constants or the instance's own memory, valid until
 * the instance's next run or its destruction.  An output with an unbounded
 * dim (-1 in the descriptor) needs only its dtype and rank (data and
 * nbytes are not read): the run sets `data` and `nbytes` to a buffer the
 * instance owns, valid as long as its strings. */
hodu_status hodu_instance_run(hodu_instance *inst, const hodu_tensor *inputs, size_t n_inputs, hodu_tensor *outputs,
                              size_t n_outputs, hodu_error *err);

/* --- profiling ----------------------------------------------------------- */

/* One step of a run (a node of the compiled model, its fused consumers
 * included) and the wall time spent in it. */
typedef struct hodu_profile_entry {
    const char *node; /* the node's name in the model ("" when it has none) */
    const char *op;   /* its op: "Conv", or "hodu.ConvBlocked" for one the compiler made */
    uint64_t flops;   /* the compiler's estimate for one run of the step; 0: none */
    uint64_t runs;    /* runs that started the step since profiling was turned on */
    uint64_t total_ns;
} hodu_profile_entry;

/* Turns per-step timing of the instance's runs on (on != 0; the totals
 * start from zero) or off.  It costs two clock readings per step. */
hodu_status hodu_instance_set_profiling(hodu_instance *inst, int on, hodu_error *err);

/* The totals since profiling was turned on, one entry per step in the
 * order runs take them; *n_entries receives their count.  NULL (and 0)
 * when profiling is off.  Valid until the next call to
 * hodu_instance_set_profiling or the instance's destruction. */
const hodu_profile_entry *hodu_instance_profile(const hodu_instance *inst, size_t *n_entries);

/* --- training ------------------------------------------------------------
 *
 * A training step (`hodu --build model.onnx --train --loss ... -o step.so`,
 * docs/training.md) computes the loss of a batch and the next parameters
 * and optimizer state.  A trainer holds that state between steps, starting
 * from the parameters the library was built with:
 *
 *     hodu_trainer *tr;
 *     hodu_trainer_create(model, NULL, &tr, &err);
 *     float loss;
 *     hodu_tensor batch[2] = {x, target};   // hodu_trainer_input order
 *     hodu_trainer_step(tr, batch, 2, 0.01f, &loss, &err);
 *     hodu_trainer_save(tr, "ckpt.safetensors", &err);
 *
 * A step that fails (a wrong input, a refused value) leaves the state as
 * it was. */
typedef struct hodu_trainer hodu_trainer;

/* Fails with HODU_ERR_INVALID_ARG for a model that is not a training step. */
hodu_status hodu_trainer_create(const hodu_model *model, const hodu_instance_options *options, hodu_trainer **out,
                                hodu_error *err);
void hodu_trainer_destroy(hodu_trainer *trainer);

/* The inputs a step takes, in order: the model's own, then "target" (and
 * any other the step has that is neither state nor "lr"). */
size_t hodu_trainer_num_inputs(const hodu_trainer *trainer);
const hodu_tensor_desc *hodu_trainer_input(const hodu_trainer *trainer, size_t index);

/* One optimizer step on a batch with learning rate `lr`; *loss (when not
 * NULL) receives the batch's loss, computed with the parameters before the
 * update. */
hodu_status hodu_trainer_step(hodu_trainer *trainer, const hodu_tensor *inputs, size_t n_inputs, float lr, float *loss,
                              hodu_error *err);

/* The state: every parameter (under its initializer's name) and the
 * optimizer's tensors ("<param>.adam_m", "adam.step", ...). */
size_t hodu_trainer_num_state(const hodu_trainer *trainer);
const hodu_tensor_desc *hodu_trainer_state(const hodu_trainer *trainer, size_t index);
/* Copies the state tensor `name` into / from a tensor of its dtype and
 * shape. */
hodu_status hodu_trainer_get(const hodu_trainer *trainer, const char *name, hodu_tensor *out, hodu_error *err);
hodu_status hodu_trainer_set(hodu_trainer *trainer, const char *name, const hodu_tensor *in, hodu_error *err);

/* Evaluation with the current parameters: `eval` is the model's forward
 * pass built with `hodu --build model.onnx --train-eval`, which reads the
 * parameters as inputs under their names.  Attach it once (the trainer
 * keeps an instance of it; the model must outlive the trainer); then
 * hodu_trainer_eval takes the forward pass's other inputs in order and
 * fills its outputs, as hodu_instance_run does. */
hodu_status hodu_trainer_attach_eval(hodu_trainer *trainer, const hodu_model *eval,
                                     const hodu_instance_options *options, hodu_error *err);
hodu_status hodu_trainer_eval(hodu_trainer *trainer, const hodu_tensor *inputs, size_t n_inputs, hodu_tensor *outputs,
                              size_t n_outputs, hodu_error *err);

/* Saves every state tensor to a safetensors file (atomically), or loads
 * one: a checkpoint that lacks a tensor, has one more, or has one of
 * another dtype or shape is refused whole, naming it. */
hodu_status hodu_trainer_save(const hodu_trainer *trainer, const char *path, hodu_error *err);
hodu_status hodu_trainer_load(hodu_trainer *trainer, const char *path, hodu_error *err);

/* --- safetensors files ----------------------------------------------------
 * Read: every header field is checked against the file (dtype names,
 * shapes, offsets inside the data, sizes that match, no overlaps).  The
 * tensors view the file's bytes: read-only, valid until
 * hodu_safetensors_close, and not necessarily aligned (copy them). */
typedef struct hodu_safetensors hodu_safetensors;
hodu_status hodu_safetensors_read(const char *path, hodu_safetensors **out, hodu_error *err);
/* The same over bytes the caller keeps alive as long as the result;
 * messages start with `what` (a file name). */
hodu_status hodu_safetensors_parse(const void *bytes, size_t size, const char *what, hodu_safetensors **out,
                                   hodu_error *err);
size_t hodu_safetensors_count(const hodu_safetensors *st);
const char *hodu_safetensors_name(const hodu_safetensors *st, size_t index);
const hodu_tensor *hodu_safetensors_tensor(const hodu_safetensors *st, size_t index);
/* Index of the tensor called `name`, or -1. */
long hodu_safetensors_find(const hodu_safetensors *st, const char *name);
void hodu_safetensors_close(hodu_safetensors *st);
/* Writes n tensors (F32, F64, F16, BF16, I8-I64, U8, BOOL) under the given
 * names, through a temporary file renamed over `path`. */
hodu_status hodu_safetensors_write(const char *path, const char *const *names, const hodu_tensor *tensors, size_t n,
                                   hodu_error *err);

/* --- packages (.hodupkg) ---------------------------------------------------
 * One file holding a model compiled for several targets (`hodu --package`,
 * docs/packages.md): a stored zip whose manifest.json names the model, its
 * inputs and outputs and, for every library entry, its target, CPU
 * features, size and SHA-256; manifest.sig, when present, is an Ed25519
 * signature of manifest.json.  Opening reads the file once into memory and
 * checks everything there: the zip structure (names, sizes, offsets,
 * overlaps, CRC-32), the manifest against the entries, every entry's hash
 * and, when asked, the signature.  Loading writes the host's library from
 * those same checked bytes into a sealed anonymous file and loads that, so
 * nothing can change between the check and the use.
 *
 *     hodu_package_options po = {HODU_PACKAGE_REQUIRE_SIGNATURE, key32};
 *     hodu_package *pkg;
 *     hodu_package_open("model.hodupkg", &po, &pkg, &err);
 *     hodu_package_load(pkg, &model, &err);   // the host's entry
 *     hodu_package_close(pkg);                // the model stays usable
 */
typedef struct hodu_package hodu_package;

/* Refuse a package whose manifest.sig is missing or does not verify. */
#define HODU_PACKAGE_REQUIRE_SIGNATURE 1u
#define HODU_PACKAGE_PUBLIC_KEY_BYTES  32u /* a raw Ed25519 public key */

/* Zero-initialise and set what you need (NULL options: all zero). */
typedef struct hodu_package_options {
    uint32_t flags;
    /* HODU_PACKAGE_PUBLIC_KEY_BYTES bytes, or NULL.  When set, a present
     * signature must verify against it; HODU_PACKAGE_REQUIRE_SIGNATURE
     * needs it. */
    const uint8_t *public_key;
} hodu_package_options;

/* Where a package stands with its signature. */
typedef enum hodu_package_signature {
    HODU_PACKAGE_UNSIGNED = 0,
    HODU_PACKAGE_SIGNED_UNVERIFIED, /* manifest.sig present, no key given */
    HODU_PACKAGE_SIGNED_VERIFIED
} hodu_package_signature;

hodu_status hodu_package_open(const char *path, const hodu_package_options *options, hodu_package **out,
                              hodu_error *err);
/* The same over bytes the caller keeps alive as long as the package;
 * messages start with `what` (a file name). */
hodu_status hodu_package_parse(const void *bytes, size_t size, const char *what, const hodu_package_options *options,
                               hodu_package **out, hodu_error *err);
void hodu_package_close(hodu_package *pkg);
/* manifest.json's text (NUL-terminated; *size, when not NULL, receives its
 * length), valid until hodu_package_close. */
const char *hodu_package_manifest(const hodu_package *pkg, size_t *size);
hodu_package_signature hodu_package_signature_state(const hodu_package *pkg);
/* Library entries, in manifest order: name ("lib/x86_64-linux-gnu.so") and
 * target triple; NULL for an index out of range. */
size_t hodu_package_num_libraries(const hodu_package *pkg);
const char *hodu_package_library_name(const hodu_package *pkg, size_t index);
const char *hodu_package_library_target(const hodu_package *pkg, size_t index);
/* Index of the first library this machine can run (its architecture, and
 * every CPU feature the entry lists present here), or -1. */
long hodu_package_host_library(const hodu_package *pkg);
/* Loads the host's library as a model (HODU_ERR_UNSUPPORTED when no entry
 * fits this machine).  The model does not depend on the package. */
hodu_status hodu_package_load(const hodu_package *pkg, hodu_model **out, hodu_error *err);

/* --- tensors and .npy files -------------------------------------------- */

/* Allocates a zeroed tensor of the given dtype and shape. */
hodu_status hodu_tensor_alloc(hodu_tensor *t, hodu_dtype dtype, int32_t rank, const int64_t *dims, hodu_error *err);
/* Frees data allocated by hodu_tensor_alloc or hodu_npy_read; NULL-safe. */
void hodu_tensor_free(hodu_tensor *t);

/* Reads a .npy file (format 1.0-3.0, little-endian or byte-order-free,
 * C order).  Sizes are checked against the file length before allocating. */
hodu_status hodu_npy_read(const char *path, hodu_tensor *out, hodu_error *err);
/* The same, for a tensor expected to be of type `expect`: numpy has no
 * bfloat16, 8-bit float or 4- and 2-bit types and writes those (through
 * ml_dtypes) as raw bytes ('V2', 'V1'), which this reads as `expect` when
 * the width agrees.  The file's own type, when it has one, still wins:
 * the caller checks it against `expect`.  hodu_npy_write writes those
 * types the same way. */
hodu_status hodu_npy_read_as(const char *path, hodu_dtype expect, hodu_tensor *out, hodu_error *err);
/* Writes a .npy file (format 1.0).  Writes to a temporary file and renames,
 * so a failure leaves no partial file behind. */
hodu_status hodu_npy_write(const char *path, const hodu_tensor *t, hodu_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HODU_RT_H */
