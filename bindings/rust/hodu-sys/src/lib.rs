//! Raw declarations of libhodu_rt, Hodu's runtime: `include/hodu_rt.h` and
//! the parts of `include/hodu_abi.h` it uses, written by hand.
//!
//! Everything here is `unsafe` to call and follows the C header's contract
//! word for word; the `hodu` crate is the safe API.  C enums (`hodu_status`,
//! `hodu_dtype`) are plain `c_int`s with their values as constants, so a
//! value the runtime adds later cannot make a Rust enum invalid.
//!
//! `tests/header.rs` checks every struct's size and field offsets and every
//! constant against the header with the C compiler, and that every function
//! the header declares is declared here.
//!
//! With the `compiler` feature (on by default), the crate also declares
//! `include/hodu.h`, the compiler as a library and its graph-building API,
//! and links the static `libhodu.a` (with protobuf-c) besides libhodu_rt.
//! Without it (`default-features = false`) only the runtime is linked.
#![allow(non_camel_case_types)]
#![no_std]
#![warn(clippy::undocumented_unsafe_blocks)]

use core::ffi::{c_char, c_int, c_long, c_void};

#[cfg(feature = "compiler")]
mod compiler;
#[cfg(feature = "compiler")]
pub use compiler::*;

// --- hodu_abi.h -------------------------------------------------------------

/// ABI version of the compiled models this runtime was written against.
pub const HODU_ABI_VERSION: u32 = 9;
/// Alignment of a workspace and of every tensor inside it.
pub const HODU_ABI_ALIGN: u32 = 64;
/// Largest tensor rank the ABI describes.
pub const HODU_MAX_RANK: usize = 8;
/// Name of the one symbol a compiled model exports.
pub const HODU_MODEL_ENTRY: &str = "hodu_model_get_desc";
/// `run` returns this plus k when `checks[k]` refused the run.
pub const HODU_RUN_INPUT_VALUES: c_int = 1;
/// Pixel format of `hodu_decode_image`: RGB.
pub const HODU_PIXEL_RGB: i32 = 0;
/// Pixel format of `hodu_decode_image`: BGR.
pub const HODU_PIXEL_BGR: i32 = 1;
/// Pixel format of `hodu_decode_image`: grayscale.
pub const HODU_PIXEL_GRAY: i32 = 2;
/// Most pixels `hodu_decode_image` accepts.
pub const HODU_IMAGE_MAX_PIXELS: u64 = 1 << 28;
/// `hodu_value_desc.kind`: a sequence of tensors.
pub const HODU_VALUE_SEQUENCE: i32 = 1;
/// `hodu_value_desc.kind`: an optional tensor.
pub const HODU_VALUE_OPTIONAL: i32 = 2;
/// `hodu_value_desc.kind`: an optional sequence.
pub const HODU_VALUE_OPTIONAL_SEQUENCE: i32 = 3;

/// Element type (`enum hodu_dtype`); ONNX's TensorProto.DataType numbers.
pub type hodu_dtype = c_int;
/// No type.
pub const HODU_DTYPE_UNDEFINED: hodu_dtype = 0;
/// float32.
pub const HODU_DTYPE_F32: hodu_dtype = 1;
/// uint8.
pub const HODU_DTYPE_U8: hodu_dtype = 2;
/// int8.
pub const HODU_DTYPE_I8: hodu_dtype = 3;
/// uint16.
pub const HODU_DTYPE_U16: hodu_dtype = 4;
/// int16.
pub const HODU_DTYPE_I16: hodu_dtype = 5;
/// int32.
pub const HODU_DTYPE_I32: hodu_dtype = 6;
/// int64.
pub const HODU_DTYPE_I64: hodu_dtype = 7;
/// Strings (`hodu_string` elements).
pub const HODU_DTYPE_STRING: hodu_dtype = 8;
/// bool, one byte, 0 or 1.
pub const HODU_DTYPE_BOOL: hodu_dtype = 9;
/// float16.
pub const HODU_DTYPE_F16: hodu_dtype = 10;
/// float64.
pub const HODU_DTYPE_F64: hodu_dtype = 11;
/// uint32.
pub const HODU_DTYPE_U32: hodu_dtype = 12;
/// uint64.
pub const HODU_DTYPE_U64: hodu_dtype = 13;
/// bfloat16.
pub const HODU_DTYPE_BF16: hodu_dtype = 16;
/// 8-bit float E4M3FN.
pub const HODU_DTYPE_F8E4M3FN: hodu_dtype = 17;
/// 8-bit float E4M3FNUZ.
pub const HODU_DTYPE_F8E4M3FNUZ: hodu_dtype = 18;
/// 8-bit float E5M2.
pub const HODU_DTYPE_F8E5M2: hodu_dtype = 19;
/// 8-bit float E5M2FNUZ.
pub const HODU_DTYPE_F8E5M2FNUZ: hodu_dtype = 20;
/// 4-bit unsigned integer (one byte per element).
pub const HODU_DTYPE_U4: hodu_dtype = 21;
/// 4-bit signed integer (one byte per element).
pub const HODU_DTYPE_I4: hodu_dtype = 22;
/// 4-bit float E2M1 (one byte per element).
pub const HODU_DTYPE_F4E2M1: hodu_dtype = 23;
/// 8-bit power of two.
pub const HODU_DTYPE_F8E8M0: hodu_dtype = 24;
/// 2-bit unsigned integer (one byte per element).
pub const HODU_DTYPE_U2: hodu_dtype = 25;
/// 2-bit signed integer (one byte per element).
pub const HODU_DTYPE_I2: hodu_dtype = 26;
/// One past the last dtype.
pub const HODU_DTYPE_COUNT_: hodu_dtype = 27;

/// One element of a string tensor: `size` bytes of UTF-8, not terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_string {
    /// The bytes (NULL allowed when `size` is 0).
    pub data: *const c_char,
    /// Their count.
    pub size: u64,
}

/// One input or output of a compiled model.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_tensor_desc {
    /// Its name.
    pub name: *const c_char,
    /// A `hodu_dtype`.
    pub dtype: i32,
    /// Number of dims.
    pub rank: i32,
    /// `rank` largest sizes (NULL for rank 0); -1 is unbounded.
    pub dims: *const i64,
    /// NULL, or `rank` smallest sizes.
    pub min_dims: *const i64,
    /// NULL, or `rank` names of run-time dims (NULL entries for the others).
    pub dim_names: *const *const c_char,
}

/// A task of the host's parallel-for.
pub type hodu_task_fn = Option<unsafe extern "C" fn(ctx: *mut c_void, task: u32, worker: u32)>;

/// The host's image decoder (see `hodu_decode_image`).
pub type hodu_decode_image_fn = Option<
    unsafe extern "C" fn(
        decode_ctx: *mut c_void,
        bytes: *const u8,
        n_bytes: u64,
        pixel_format: i32,
        alloc: Option<unsafe extern "C" fn(alloc_ctx: *mut c_void, bytes: u64) -> *mut c_void>,
        alloc_ctx: *mut c_void,
        pixels: *mut *mut u8,
        dims: *mut i64,
    ) -> c_int,
>;

/// What a host lends a model: threads, memory, an image decoder, profiling.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_exec {
    /// Workers, at least 1.
    pub n_workers: u32,
    /// The host's handle for `parallel_for`.
    pub pool: *mut c_void,
    /// Runs every task once and returns when all have returned.
    pub parallel_for:
        Option<unsafe extern "C" fn(pool: *mut c_void, n_tasks: u32, fn_: hodu_task_fn, ctx: *mut c_void)>,
    /// The host's handle for `alloc`.
    pub alloc_ctx: *mut c_void,
    /// Memory for strings and unbounded outputs.
    pub alloc: Option<unsafe extern "C" fn(alloc_ctx: *mut c_void, bytes: u64) -> *mut c_void>,
    /// The host's handle for `decode_image`.
    pub decode_ctx: *mut c_void,
    /// The image decoder, or None.
    pub decode_image: hodu_decode_image_fn,
    /// The host's handle for `profile_step`.
    pub profile_ctx: *mut c_void,
    /// Called as each step starts.
    pub profile_step: Option<unsafe extern "C" fn(profile_ctx: *mut c_void, step: u32)>,
}

/// A compiled model's entry point.
pub type hodu_run_fn = Option<
    unsafe extern "C" fn(
        workspace: *mut c_void,
        inputs: *const *const c_void,
        input_dims: *const i64,
        outputs: *const *mut c_void,
        output_dims: *mut i64,
        exec: *const hodu_exec,
    ) -> c_int,
>;

/// A sequence or optional among a model's inputs or outputs: a run of
/// consecutive tensors.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_value_desc {
    /// The model's name for it.
    pub name: *const c_char,
    /// `HODU_VALUE_*`.
    pub kind: i32,
    /// 0: an optional the build made absent.
    pub present: i32,
    /// Its first tensor.
    pub first: u32,
    /// How many tensors it holds.
    pub count: u32,
}

/// One step of a run, for profiling.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_step_desc {
    /// The node's name ("" when none).
    pub node: *const c_char,
    /// Its op.
    pub op: *const c_char,
    /// The compiler's FLOPs estimate (0: none).
    pub flops: u64,
}

/// The descriptor a compiled model exports.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_model_desc {
    /// `HODU_ABI_VERSION` of the compiler that built it.
    pub abi_version: u32,
    /// `sizeof(hodu_model_desc)` at build time.
    pub desc_size: u32,
    /// The model's name.
    pub model_name: *const c_char,
    /// `"hodu <version>"`.
    pub producer: *const c_char,
    /// Number of inputs.
    pub n_inputs: u32,
    /// Number of outputs.
    pub n_outputs: u32,
    /// The inputs.
    pub inputs: *const hodu_tensor_desc,
    /// The outputs.
    pub outputs: *const hodu_tensor_desc,
    /// Workspace shared by a run's workers.
    pub workspace_bytes: u64,
    /// Scratch per worker.
    pub worker_bytes: u64,
    /// The entry point.
    pub run: hodu_run_fn,
    /// Number of run-time value checks.
    pub n_checks: u32,
    /// Their texts.
    pub checks: *const *const c_char,
    /// Number of steps.
    pub n_steps: u32,
    /// The steps.
    pub steps: *const hodu_step_desc,
    /// NULL, or per input the output that carries its next value (-1: none).
    pub state_next: *const i32,
    /// NULL, or per input its first value.
    pub initial: *const *const c_void,
    /// Number of sequence or optional inputs.
    pub n_input_values: u32,
    /// Number of sequence or optional outputs.
    pub n_output_values: u32,
    /// The sequence or optional inputs.
    pub input_values: *const hodu_value_desc,
    /// The sequence or optional outputs.
    pub output_values: *const hodu_value_desc,
}

/// The one function a compiled model exports.
pub type hodu_model_get_desc_fn = Option<unsafe extern "C" fn() -> *const hodu_model_desc>;

// --- hodu_rt.h ----------------------------------------------------------------

/// Result of every function that can fail (`enum hodu_status`).
pub type hodu_status = c_int;
/// Success.
pub const HODU_OK: hodu_status = 0;
/// NULL where a value is needed, bad index, ...
pub const HODU_ERR_INVALID_ARG: hodu_status = 1;
/// A file could not be opened, read or written.
pub const HODU_ERR_IO: hodu_status = 2;
/// A file is not what it claims.
pub const HODU_ERR_FORMAT: hodu_status = 3;
/// Model built for another ABI version.
pub const HODU_ERR_ABI: hodu_status = 4;
/// Wrong number of inputs or outputs.
pub const HODU_ERR_COUNT: hodu_status = 5;
/// Tensor dtype differs from the model's.
pub const HODU_ERR_DTYPE: hodu_status = 6;
/// Tensor shape differs from the model's.
pub const HODU_ERR_SHAPE: hodu_status = 7;
/// An allocation failed.
pub const HODU_ERR_NOMEM: hodu_status = 8;
/// Valid, but not something this runtime handles.
pub const HODU_ERR_UNSUPPORTED: hodu_status = 9;

/// A status and its one-line message (NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct hodu_error {
    /// The status.
    pub code: hodu_status,
    /// The message.
    pub message: [c_char; 512],
}

/// A dense row-major tensor; `data` holds `nbytes` bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_tensor {
    /// A `hodu_dtype`.
    pub dtype: hodu_dtype,
    /// Number of dims used.
    pub rank: i32,
    /// The dims.
    pub dims: [i64; HODU_MAX_RANK],
    /// The elements.
    pub data: *mut c_void,
    /// Bytes at `data`.
    pub nbytes: usize,
}

/// An open compiled model (opaque).
#[repr(C)]
pub struct hodu_model {
    _private: [u8; 0],
}

/// An instance of a model: its workspace and threads (opaque).
#[repr(C)]
pub struct hodu_instance {
    _private: [u8; 0],
}

/// A training step's state between steps (opaque).
#[repr(C)]
pub struct hodu_trainer {
    _private: [u8; 0],
}

/// An open safetensors file (opaque).
#[repr(C)]
pub struct hodu_safetensors {
    _private: [u8; 0],
}

/// An open .hodupkg package, verified (opaque).
#[repr(C)]
pub struct hodu_package {
    _private: [u8; 0],
}

/// Refuse a package whose signature is missing or does not verify.
pub const HODU_PACKAGE_REQUIRE_SIGNATURE: u32 = 1;
/// Bytes of a raw Ed25519 public key.
pub const HODU_PACKAGE_PUBLIC_KEY_BYTES: u32 = 32;

/// How a package is opened; zero it and set what is needed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_package_options {
    /// `HODU_PACKAGE_REQUIRE_SIGNATURE` or 0.
    pub flags: u32,
    /// A raw Ed25519 public key of `HODU_PACKAGE_PUBLIC_KEY_BYTES`, or NULL.
    pub public_key: *const u8,
}

/// Where a package stands with its signature (`enum hodu_package_signature`).
pub type hodu_package_signature = c_int;
/// No manifest.sig.
pub const HODU_PACKAGE_UNSIGNED: hodu_package_signature = 0;
/// A manifest.sig, but no key was given.
pub const HODU_PACKAGE_SIGNED_UNVERIFIED: hodu_package_signature = 1;
/// A manifest.sig that verifies with the given key.
pub const HODU_PACKAGE_SIGNED_VERIFIED: hodu_package_signature = 2;

/// How an instance is made; zero it and set what is needed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_instance_options {
    /// Threads, the caller's included (0: `HODU_NUM_THREADS`, else 1).
    pub n_threads: u32,
    /// The host's parallel-for, or NULL.
    pub exec: *const hodu_exec,
    /// Caller memory for the workspace, or NULL.
    pub workspace: *mut c_void,
    /// Its size.
    pub workspace_bytes: usize,
    /// Caller memory for the whole instance (record, workspace, run strings), or NULL.
    pub arena: *mut c_void,
    /// Its size (at least `hodu_model_arena_bytes`).
    pub arena_bytes: usize,
}

/// One profiled step and its time.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_profile_entry {
    /// The node's name.
    pub node: *const c_char,
    /// Its op.
    pub op: *const c_char,
    /// FLOPs estimate of one run.
    pub flops: u64,
    /// Runs since profiling was turned on.
    pub runs: u64,
    /// Their total wall time.
    pub total_ns: u64,
}

extern "C" {
    /// Name of a status code.
    pub fn hodu_status_string(status: hodu_status) -> *const c_char;
    /// Name of a dtype ("float32").
    pub fn hodu_dtype_name(dtype: hodu_dtype) -> *const c_char;
    /// Bytes of one element.
    pub fn hodu_dtype_size(dtype: hodu_dtype) -> usize;
    /// Elements of a shape.
    pub fn hodu_shape_numel(rank: i32, dims: *const i64) -> i64;

    /// libhodu_rt's image decoder.
    pub fn hodu_decode_image(
        decode_ctx: *mut c_void,
        bytes: *const u8,
        n_bytes: u64,
        pixel_format: i32,
        alloc: Option<unsafe extern "C" fn(alloc_ctx: *mut c_void, bytes: u64) -> *mut c_void>,
        alloc_ctx: *mut c_void,
        pixels: *mut *mut u8,
        dims: *mut i64,
    ) -> c_int;

    /// Opens a compiled model.
    pub fn hodu_model_open(path: *const c_char, out: *mut *mut hodu_model, err: *mut hodu_error) -> hodu_status;
    /// A model linked into the program, from its get_desc entry point.
    pub fn hodu_model_from_desc(
        get_desc: hodu_model_get_desc_fn,
        out: *mut *mut hodu_model,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Closes it (NULL is a no-op).
    pub fn hodu_model_close(model: *mut hodu_model);
    /// Its descriptor.
    pub fn hodu_model_desc_of(model: *const hodu_model) -> *const hodu_model_desc;
    /// Number of inputs.
    pub fn hodu_model_num_inputs(model: *const hodu_model) -> usize;
    /// Number of outputs.
    pub fn hodu_model_num_outputs(model: *const hodu_model) -> usize;
    /// Input `index`'s descriptor.
    pub fn hodu_model_input(model: *const hodu_model, index: usize) -> *const hodu_tensor_desc;
    /// Output `index`'s descriptor.
    pub fn hodu_model_output(model: *const hodu_model, index: usize) -> *const hodu_tensor_desc;
    /// Index of the input called `name`, or -1.
    pub fn hodu_model_find_input(model: *const hodu_model, name: *const c_char) -> c_long;

    /// Arena bytes of a one-thread instance (`hodu_instance_options.arena`).
    pub fn hodu_model_arena_bytes(model: *const hodu_model) -> usize;
    /// Workspace bytes of an instance with `n_workers` workers.
    pub fn hodu_model_workspace_bytes(model: *const hodu_model, n_workers: u32) -> usize;
    /// Creates an instance as `options` say (NULL: defaults).
    pub fn hodu_instance_create_with(
        model: *const hodu_model,
        options: *const hodu_instance_options,
        out: *mut *mut hodu_instance,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Creates an instance with defaults.
    pub fn hodu_instance_create(
        model: *const hodu_model,
        out: *mut *mut hodu_instance,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Creates a one-thread instance over caller memory.
    pub fn hodu_instance_create_in(
        model: *const hodu_model,
        workspace: *mut c_void,
        workspace_bytes: usize,
        out: *mut *mut hodu_instance,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Destroys an instance (NULL is a no-op).
    pub fn hodu_instance_destroy(inst: *mut hodu_instance);
    /// Threads the instance runs on.
    pub fn hodu_instance_num_threads(inst: *const hodu_instance) -> u32;
    /// Runs the model.
    pub fn hodu_instance_run(
        inst: *mut hodu_instance,
        inputs: *const hodu_tensor,
        n_inputs: usize,
        outputs: *mut hodu_tensor,
        n_outputs: usize,
        err: *mut hodu_error,
    ) -> hodu_status;

    /// Turns per-step timing on or off.
    pub fn hodu_instance_set_profiling(inst: *mut hodu_instance, on: c_int, err: *mut hodu_error) -> hodu_status;
    /// The per-step totals, or NULL when profiling is off.
    pub fn hodu_instance_profile(inst: *const hodu_instance, n_entries: *mut usize) -> *const hodu_profile_entry;

    /// Creates a trainer over a training step.
    pub fn hodu_trainer_create(
        model: *const hodu_model,
        options: *const hodu_instance_options,
        out: *mut *mut hodu_trainer,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Destroys a trainer (NULL is a no-op).
    pub fn hodu_trainer_destroy(trainer: *mut hodu_trainer);
    /// Number of inputs a step takes.
    pub fn hodu_trainer_num_inputs(trainer: *const hodu_trainer) -> usize;
    /// A step's input `index`.
    pub fn hodu_trainer_input(trainer: *const hodu_trainer, index: usize) -> *const hodu_tensor_desc;
    /// One optimizer step.
    pub fn hodu_trainer_step(
        trainer: *mut hodu_trainer,
        inputs: *const hodu_tensor,
        n_inputs: usize,
        lr: f32,
        loss: *mut f32,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Number of state tensors.
    pub fn hodu_trainer_num_state(trainer: *const hodu_trainer) -> usize;
    /// State tensor `index`.
    pub fn hodu_trainer_state(trainer: *const hodu_trainer, index: usize) -> *const hodu_tensor_desc;
    /// Copies state tensor `name` out.
    pub fn hodu_trainer_get(
        trainer: *const hodu_trainer,
        name: *const c_char,
        out: *mut hodu_tensor,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Copies state tensor `name` in.
    pub fn hodu_trainer_set(
        trainer: *mut hodu_trainer,
        name: *const c_char,
        in_: *const hodu_tensor,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Attaches the forward pass built with `--train-eval`.
    pub fn hodu_trainer_attach_eval(
        trainer: *mut hodu_trainer,
        eval: *const hodu_model,
        options: *const hodu_instance_options,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Runs the attached forward pass with the current parameters.
    pub fn hodu_trainer_eval(
        trainer: *mut hodu_trainer,
        inputs: *const hodu_tensor,
        n_inputs: usize,
        outputs: *mut hodu_tensor,
        n_outputs: usize,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Saves the state to a safetensors file.
    pub fn hodu_trainer_save(trainer: *const hodu_trainer, path: *const c_char, err: *mut hodu_error) -> hodu_status;
    /// Loads the state from a safetensors file.
    pub fn hodu_trainer_load(trainer: *mut hodu_trainer, path: *const c_char, err: *mut hodu_error) -> hodu_status;

    /// Reads a safetensors file.
    pub fn hodu_safetensors_read(
        path: *const c_char,
        out: *mut *mut hodu_safetensors,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Parses safetensors bytes the caller keeps alive.
    pub fn hodu_safetensors_parse(
        bytes: *const c_void,
        size: usize,
        what: *const c_char,
        out: *mut *mut hodu_safetensors,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Number of tensors.
    pub fn hodu_safetensors_count(st: *const hodu_safetensors) -> usize;
    /// Name of tensor `index`.
    pub fn hodu_safetensors_name(st: *const hodu_safetensors, index: usize) -> *const c_char;
    /// Tensor `index` (a view of the file's bytes).
    pub fn hodu_safetensors_tensor(st: *const hodu_safetensors, index: usize) -> *const hodu_tensor;
    /// Index of the tensor called `name`, or -1.
    pub fn hodu_safetensors_find(st: *const hodu_safetensors, name: *const c_char) -> c_long;
    /// Closes it (NULL is a no-op).
    pub fn hodu_safetensors_close(st: *mut hodu_safetensors);
    /// Writes `n` named tensors.
    pub fn hodu_safetensors_write(
        path: *const c_char,
        names: *const *const c_char,
        tensors: *const hodu_tensor,
        n: usize,
        err: *mut hodu_error,
    ) -> hodu_status;

    /// Opens and verifies a package (structure, manifest, hashes, signature).
    pub fn hodu_package_open(
        path: *const c_char,
        options: *const hodu_package_options,
        out: *mut *mut hodu_package,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// The same over bytes the caller keeps alive.
    pub fn hodu_package_parse(
        bytes: *const c_void,
        size: usize,
        what: *const c_char,
        options: *const hodu_package_options,
        out: *mut *mut hodu_package,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Closes it (NULL is a no-op); models loaded from it stay usable.
    pub fn hodu_package_close(pkg: *mut hodu_package);
    /// manifest.json's text; `size` (when not NULL) receives its length.
    pub fn hodu_package_manifest(pkg: *const hodu_package, size: *mut usize) -> *const c_char;
    /// Its signature state.
    pub fn hodu_package_signature_state(pkg: *const hodu_package) -> hodu_package_signature;
    /// Number of library entries.
    pub fn hodu_package_num_libraries(pkg: *const hodu_package) -> usize;
    /// Entry name of library `index`.
    pub fn hodu_package_library_name(pkg: *const hodu_package, index: usize) -> *const c_char;
    /// Target triple of library `index`.
    pub fn hodu_package_library_target(pkg: *const hodu_package, index: usize) -> *const c_char;
    /// Index of the first library this machine can run, or -1.
    pub fn hodu_package_host_library(pkg: *const hodu_package) -> c_long;
    /// Loads the host's library as a model.
    pub fn hodu_package_load(pkg: *const hodu_package, out: *mut *mut hodu_model, err: *mut hodu_error) -> hodu_status;

    /// Allocates a zeroed tensor.
    pub fn hodu_tensor_alloc(
        t: *mut hodu_tensor,
        dtype: hodu_dtype,
        rank: i32,
        dims: *const i64,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Frees what hodu_tensor_alloc or hodu_npy_read allocated.
    pub fn hodu_tensor_free(t: *mut hodu_tensor);
    /// Reads a .npy file.
    pub fn hodu_npy_read(path: *const c_char, out: *mut hodu_tensor, err: *mut hodu_error) -> hodu_status;
    /// Reads a .npy file expected to hold `expect`.
    pub fn hodu_npy_read_as(
        path: *const c_char,
        expect: hodu_dtype,
        out: *mut hodu_tensor,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Writes a .npy file (atomically).
    pub fn hodu_npy_write(path: *const c_char, t: *const hodu_tensor, err: *mut hodu_error) -> hodu_status;
}
