//! Raw declarations of `include/hodu.h`: the compiler as a library
//! (`hodu_build` and its options) and the graph-building API.  Present
//! with the `compiler` feature, which links the static `libhodu.a`.

use core::ffi::{c_char, c_int, c_void};

use crate::{hodu_dtype, hodu_error, hodu_model, hodu_status};

/// The options of `hodu_build` and of a graph's compile (`hodu_build_options`).
/// Fill it with [`hodu_build_options_init`] first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_build_options {
    /// The model file (not read by the graph compiles).
    pub input_path: *const c_char,
    /// The shared library to write; NULL: build nothing.
    pub output_path: *const c_char,
    /// Keep the generated sources here; NULL: a temporary folder.
    pub emit_c_dir: *const c_char,
    /// Code generator; NULL: "native".
    pub backend: *const c_char,
    /// C compiler command; NULL: `$CC`, else "cc".
    pub cc: *const c_char,
    /// Extra compiler flags, space separated.
    pub cflags: *const c_char,
    /// -O level of the generated code (default 3).
    pub opt_level: c_int,
    /// Graph optimizations (default on).
    pub graph_opt: bool,
    /// -march of the generated code: NULL or "native", "generic", or a value.
    pub march: *const c_char,
    /// The target triple ("aarch64-linux-gnu"); NULL: the build machine.
    pub target: *const c_char,
    /// Keep subnormal floats while the model runs.
    pub keep_denormals: bool,
    /// "auto" (NULL), "blocked" or "nchw".
    pub conv_layout: *const c_char,
    /// A C header typing the model's inputs and outputs; NULL: none.
    pub header_path: *const c_char,
    /// The prefix of that header's names.
    pub header_prefix: *const c_char,
    /// "name=1x3x224x224" bindings.
    pub input_shapes: *const *const c_char,
    /// Their count.
    pub n_input_shapes: usize,
    /// "SYM=N" or "SYM=LO..HI" bindings.
    pub dims: *const *const c_char,
    /// Their count.
    pub n_dims: usize,
    /// "name=file.npy": inputs made build-time constants.
    pub const_inputs: *const *const c_char,
    /// Their count.
    pub n_const_inputs: usize,
    /// `--grad`.
    pub gradients: bool,
    /// Inputs the gradients are taken with respect to (none: every float one).
    pub wrt: *const *const c_char,
    /// Their count.
    pub n_wrt: usize,
    /// `--train`'s loss ("mse", "cross_entropy", ...); NULL: no training step.
    pub train_loss: *const c_char,
    /// `--train` with no loss: a HoduScript program's `train` declaration
    /// names the loss and the optimizer.
    pub train: bool,
    /// "sgd", "adam" or "adamw", optionally ":key=value,..."; NULL: "sgd".
    pub train_optimizer: *const c_char,
    /// > 0: clip the gradients' global norm.
    pub train_clip_norm: f64,
    /// The initializers that train (none: every f32 one a node reads).
    pub train_params: *const *const c_char,
    /// Their count.
    pub n_train_params: usize,
    /// "auto" or NULL: recompute cheap forward values where the workspace
    /// goes down; "none": never.
    pub train_recompute: *const c_char,
    /// `--train-eval`.
    pub train_eval: bool,
    /// A C `FILE *` the IR is printed to; NULL: none.
    pub dump_ir: *mut c_void,
    /// HoduScript weights (refused by the graph compiles).
    pub weights: *const c_char,
    /// Seed of HoduScript's initializers.
    pub seed: u64,
    /// Print the compiler command line.
    pub verbose: c_int,
    /// Receives each diagnostic line; NULL: stderr.
    pub message: Option<unsafe extern "C" fn(user: *mut c_void, line: *const c_char)>,
    /// Passed to `message`.
    pub user: *mut c_void,
}

/// A graph being built (opaque).
#[repr(C)]
pub struct hodu_graph {
    _private: [u8; 0],
}

/// A value of a graph: an index into it.
pub type hodu_value = i32;

/// An omitted optional operand.
pub const HODU_NO_VALUE: hodu_value = -1;

/// One dim of an input: `size`, or (name not NULL) a symbol.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_dim {
    /// The size when `name` is NULL.
    pub size: i64,
    /// The symbol's name, or NULL.
    pub name: *const c_char,
}

/// Kind of a `hodu_attr` (`enum hodu_attr_kind`).
pub type hodu_attr_kind = c_int;
/// One int64.
pub const HODU_ATTR_INT: hodu_attr_kind = 0;
/// One float.
pub const HODU_ATTR_FLOAT: hodu_attr_kind = 1;
/// One string.
pub const HODU_ATTR_STRING: hodu_attr_kind = 2;
/// A list of int64s.
pub const HODU_ATTR_INTS: hodu_attr_kind = 3;
/// A list of floats.
pub const HODU_ATTR_FLOATS: hodu_attr_kind = 4;
/// A list of strings.
pub const HODU_ATTR_STRINGS: hodu_attr_kind = 5;

/// An ONNX attribute; the fields `kind` names are read.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct hodu_attr {
    /// Its name.
    pub name: *const c_char,
    /// Which fields hold the value.
    pub kind: hodu_attr_kind,
    /// `HODU_ATTR_INT`'s value.
    pub i: i64,
    /// `HODU_ATTR_FLOAT`'s value.
    pub f: f64,
    /// `HODU_ATTR_STRING`'s value.
    pub s: *const c_char,
    /// `HODU_ATTR_INTS`'s elements.
    pub ints: *const i64,
    /// `HODU_ATTR_FLOATS`'s elements.
    pub floats: *const f64,
    /// `HODU_ATTR_STRINGS`'s elements.
    pub strings: *const *const c_char,
    /// The element count of a list.
    pub n: usize,
}

extern "C" {
    /// Fills `o` with the defaults.
    pub fn hodu_build_options_init(o: *mut hodu_build_options);
    /// Builds `o.input_path`: 0, or 1 after reporting errors.
    pub fn hodu_build(o: *const hodu_build_options) -> c_int;
    /// `hodu --check`: 0, or 1 after reporting errors.
    pub fn hodu_check_model(o: *const hodu_build_options) -> c_int;
    /// `hodu --fmt`: 0, or 1 after reporting errors.
    pub fn hodu_format_model(o: *const hodu_build_options, in_place: bool) -> c_int;
    /// `hodu --export-onnx`: 0, or 1 after reporting errors.
    pub fn hodu_export_model(o: *const hodu_build_options) -> c_int;
    /// `hodu --inspect` to the C `FILE *` `out`: 0 or 1.
    pub fn hodu_inspect_model(o: *const hodu_build_options, out: *mut c_void) -> c_int;
    /// The compiler's version string.
    pub fn hodu_version() -> *const c_char;

    /// A new, empty graph (`opset` 0: the newest); on failure `*out` is NULL.
    pub fn hodu_graph_new(
        name: *const c_char,
        opset: i64,
        out: *mut *mut hodu_graph,
        err: *mut hodu_error,
    ) -> hodu_status;
    /// Frees a graph (NULL: no-op).
    pub fn hodu_graph_free(g: *mut hodu_graph);
    /// The message of the last failed call on `g`; valid until the next call.
    pub fn hodu_graph_error(g: *const hodu_graph) -> *const c_char;
    /// A run-time input.
    pub fn hodu_graph_input(
        g: *mut hodu_graph,
        name: *const c_char,
        dtype: hodu_dtype,
        rank: i32,
        dims: *const hodu_dim,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// A parameter; `nbytes` of `data` copied in.
    pub fn hodu_graph_param(
        g: *mut hodu_graph,
        name: *const c_char,
        dtype: hodu_dtype,
        rank: i32,
        dims: *const i64,
        data: *const c_void,
        nbytes: usize,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// Any ONNX op by name.
    pub fn hodu_graph_op(
        g: *mut hodu_graph,
        op_type: *const c_char,
        domain: *const c_char,
        inputs: *const hodu_value,
        n_inputs: usize,
        attrs: *const hodu_attr,
        n_attrs: usize,
        outputs: *mut hodu_value,
        n_outputs: usize,
    ) -> hodu_status;
    /// Makes `v` an output called `name` (NULL: the value's own name).
    pub fn hodu_graph_output(g: *mut hodu_graph, v: hodu_value, name: *const c_char) -> hodu_status;
    /// Add.
    pub fn hodu_graph_add(g: *mut hodu_graph, a: hodu_value, b: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// Sub.
    pub fn hodu_graph_sub(g: *mut hodu_graph, a: hodu_value, b: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// Mul.
    pub fn hodu_graph_mul(g: *mut hodu_graph, a: hodu_value, b: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// Div.
    pub fn hodu_graph_div(g: *mut hodu_graph, a: hodu_value, b: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// MatMul.
    pub fn hodu_graph_matmul(g: *mut hodu_graph, a: hodu_value, b: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// Gemm; `c` may be `HODU_NO_VALUE`.
    pub fn hodu_graph_gemm(
        g: *mut hodu_graph,
        a: hodu_value,
        b: hodu_value,
        c: hodu_value,
        alpha: f64,
        beta: f64,
        trans_a: bool,
        trans_b: bool,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// Relu.
    pub fn hodu_graph_relu(g: *mut hodu_graph, x: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// Sigmoid.
    pub fn hodu_graph_sigmoid(g: *mut hodu_graph, x: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// Tanh.
    pub fn hodu_graph_tanh(g: *mut hodu_graph, x: hodu_value, out: *mut hodu_value) -> hodu_status;
    /// Softmax over `axis`.
    pub fn hodu_graph_softmax(g: *mut hodu_graph, x: hodu_value, axis: i64, out: *mut hodu_value) -> hodu_status;
    /// Reshape to `shape[rank]`.
    pub fn hodu_graph_reshape(
        g: *mut hodu_graph,
        x: hodu_value,
        rank: usize,
        shape: *const i64,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// Transpose by `perm[rank]` (NULL: reversed).
    pub fn hodu_graph_transpose(
        g: *mut hodu_graph,
        x: hodu_value,
        rank: usize,
        perm: *const i64,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// Concat of `xs[n]` along `axis`.
    pub fn hodu_graph_concat(
        g: *mut hodu_graph,
        xs: *const hodu_value,
        n: usize,
        axis: i64,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// NCHW Conv; arrays NULL: defaults.
    pub fn hodu_graph_conv2d(
        g: *mut hodu_graph,
        x: hodu_value,
        w: hodu_value,
        b: hodu_value,
        strides: *const i64,
        pads: *const i64,
        dilations: *const i64,
        group: i64,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// MaxPool over `kernel[2]`.
    pub fn hodu_graph_max_pool2d(
        g: *mut hodu_graph,
        x: hodu_value,
        kernel: *const i64,
        strides: *const i64,
        pads: *const i64,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// AveragePool over `kernel[2]`.
    pub fn hodu_graph_avg_pool2d(
        g: *mut hodu_graph,
        x: hodu_value,
        kernel: *const i64,
        strides: *const i64,
        pads: *const i64,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// ReduceMean over `axes[n_axes]` (none: all).
    pub fn hodu_graph_reduce_mean(
        g: *mut hodu_graph,
        x: hodu_value,
        n_axes: usize,
        axes: *const i64,
        keepdims: bool,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// ReduceSum over `axes[n_axes]` (none: all).
    pub fn hodu_graph_reduce_sum(
        g: *mut hodu_graph,
        x: hodu_value,
        n_axes: usize,
        axes: *const i64,
        keepdims: bool,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// LayerNormalization from `axis` on; `bias` may be `HODU_NO_VALUE`.
    pub fn hodu_graph_layer_norm(
        g: *mut hodu_graph,
        x: hodu_value,
        scale: hodu_value,
        bias: hodu_value,
        axis: i64,
        epsilon: f64,
        out: *mut hodu_value,
    ) -> hodu_status;
    /// Compiles the graph to `o.output_path`.
    pub fn hodu_graph_compile(g: *mut hodu_graph, o: *const hodu_build_options) -> hodu_status;
    /// Compiles to a temporary file and opens it (`o` NULL: defaults).
    pub fn hodu_graph_load(g: *mut hodu_graph, o: *const hodu_build_options, out: *mut *mut hodu_model) -> hodu_status;
}
