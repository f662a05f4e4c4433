//! Compiled models, their description, instances and runs.

use std::cell::Cell;
use std::ffi::{c_char, CStr};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

use hodu_sys as sys;

use crate::error::{c_path, check, new_c_error, Error, ErrorKind, Result};
use crate::tensor::{c_view, DType, TensorRef, Value};

/// One dim of a model's input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A size fixed when the model was built.
    Fixed(usize),
    /// A size chosen by each run (an input's run-time dim, `--dim B=1..64`)
    /// or known only after it (an output whose size depends on the data),
    /// within `min..=max`; `name` is the dim's name when it has one: inputs
    /// and outputs that share a name share its size in a run.
    Range {
        /// Smallest size.
        min: usize,
        /// Largest size (what buffers are sized for).
        max: usize,
        /// The symbolic name, if any.
        name: Option<String>,
    },
    /// An output dim with no bound the build knows (the binding does not
    /// run such models yet).
    Unbounded,
}

impl Dim {
    /// The largest size, or None when unbounded.
    pub fn max(&self) -> Option<usize> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Range { max, .. } => Some(*max),
            Dim::Unbounded => None,
        }
    }
}

impl std::fmt::Display for Dim {
    /// `8`, `B=1..64` (a named run-time dim), `1..64`, or `?` (unbounded).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Range { min, max, name: Some(name) } => write!(f, "{name}={min}..{max}"),
            Dim::Range { min, max, name: None } => write!(f, "{min}..{max}"),
            Dim::Unbounded => f.write_str("?"),
        }
    }
}

/// Name, element type and dims of one input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The name.
    pub name: String,
    /// The element type.
    pub dtype: DType,
    /// The dims.
    pub dims: Vec<Dim>,
}

impl std::fmt::Display for TensorInfo {
    /// `x: float32[B=1..4, 3]`, as `hodu --inspect` shows it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.dims.iter().map(Dim::to_string).collect();
        write!(f, "{}: {}[{}]", self.name, self.dtype, dims.join(", "))
    }
}

impl TensorInfo {
    /// Whether every dim is fixed.
    pub fn is_static(&self) -> bool {
        self.dims.iter().all(|d| matches!(d, Dim::Fixed(_)))
    }

    /// The largest shape (the exact one when static), or None when a dim
    /// is unbounded.
    pub fn max_shape(&self) -> Option<Vec<usize>> {
        self.dims.iter().map(Dim::max).collect()
    }

    /// Reads a runtime descriptor.
    ///
    /// # Safety
    /// `d` must point to a valid `hodu_tensor_desc` whose arrays hold
    /// `rank` entries, alive for the call.
    pub(crate) unsafe fn from_c(d: *const sys::hodu_tensor_desc) -> TensorInfo {
        // SAFETY: the caller's contract.
        let d = unsafe { &*d };
        let rank = usize::try_from(d.rank).unwrap_or(0);
        let at = |p: *const i64, i: usize| -> Option<i64> {
            // SAFETY: p is NULL or has rank entries (the caller's contract).
            (!p.is_null()).then(|| unsafe { *p.add(i) })
        };
        let dims = (0..rank)
            .map(|i| {
                let max = at(d.dims, i).unwrap_or(0);
                let min = at(d.min_dims, i).unwrap_or(max);
                let name = if d.dim_names.is_null() {
                    None
                } else {
                    // SAFETY: dim_names has rank entries, each NULL or a
                    // NUL-terminated string (the caller's contract).
                    unsafe { opt_str(*d.dim_names.add(i)) }
                };
                if max < 0 {
                    Dim::Unbounded
                } else if min == max && name.is_none() {
                    Dim::Fixed(max as usize)
                } else {
                    Dim::Range { min: min.max(0) as usize, max: max as usize, name }
                }
            })
            .collect();
        TensorInfo {
            // SAFETY: the name is a NUL-terminated string (the contract).
            name: unsafe { opt_str(d.name) }.unwrap_or_default(),
            dtype: DType::from_raw(d.dtype),
            dims,
        }
    }
}

/// Copies the `n` descriptors `get(owner, i)` returns.
///
/// # Safety
/// `owner` must be live and, for every `i < n`, `get(owner, i)` must return
/// a valid descriptor (see [`TensorInfo::from_c`]).
pub(crate) unsafe fn describe<O>(
    owner: *const O,
    n: usize,
    get: unsafe extern "C" fn(*const O, usize) -> *const sys::hodu_tensor_desc,
) -> Vec<TensorInfo> {
    (0..n)
        .map(|i| {
            // SAFETY: the caller's contract; from_c copies the descriptor.
            unsafe { TensorInfo::from_c(get(owner, i)) }
        })
        .collect()
}

/// A NUL-terminated C string, copied.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn opt_str(p: *const c_char) -> Option<String> {
    // SAFETY: the caller's contract.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// The open library; closed when the last [`Model`], [`Instance`] or
/// trainer that uses it is dropped.
pub(crate) struct ModelHandle(NonNull<sys::hodu_model>);

// SAFETY: libhodu_rt keeps no global mutable state and a model is read-only
// once open; the C contract lets instances of one model run concurrently
// in different threads, so the handle may be shared and sent.
unsafe impl Send for ModelHandle {}
// SAFETY: as above.
unsafe impl Sync for ModelHandle {}

impl ModelHandle {
    pub(crate) fn as_ptr(&self) -> *const sys::hodu_model {
        self.0.as_ptr()
    }
}

impl Drop for ModelHandle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from hodu_model_open, and every instance
        // or trainer holds an Arc to this handle, so none outlives it.
        unsafe { sys::hodu_model_close(self.0.as_ptr()) }
    }
}

/// A compiled model (`hodu --build ... -o model.so`), opened by libhodu_rt.
/// Cheap to clone (shared); `Send` and `Sync`.
#[derive(Clone)]
pub struct Model {
    pub(crate) handle: Arc<ModelHandle>,
    inputs: Arc<[TensorInfo]>,
    outputs: Arc<[TensorInfo]>,
    /// Each output's largest shape; None when one is unbounded.
    out_max: Option<Arc<[Vec<usize>]>>,
    name: String,
    producer: String,
    training_step: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

impl Model {
    /// Opens a compiled model and checks its ABI version.
    pub fn open(path: impl AsRef<Path>) -> Result<Model> {
        let cpath = c_path(path.as_ref())?;
        let mut raw = std::ptr::null_mut();
        let mut err = new_c_error();
        // SAFETY: cpath is NUL-terminated; raw and err are valid for writes.
        let status = unsafe { sys::hodu_model_open(cpath.as_ptr(), &mut raw, &mut err) };
        check(status, &err)?;
        let raw =
            NonNull::new(raw).ok_or_else(|| Error::new(ErrorKind::InvalidArg, "the runtime returned no model"))?;
        // SAFETY: raw was just opened and nothing else owns it.
        unsafe { Model::from_raw(raw) }
    }

    /// Takes ownership of an open model (closed when the last user drops).
    ///
    /// # Safety
    /// `raw` must be an open `hodu_model` that nothing else closes or uses
    /// after this call.
    pub(crate) unsafe fn from_raw(raw: NonNull<sys::hodu_model>) -> Result<Model> {
        let handle = Arc::new(ModelHandle(raw));
        let m = handle.as_ptr();
        // SAFETY: m is an open model; the counts are plain reads.
        let (n_in, n_out) = unsafe { (sys::hodu_model_num_inputs(m), sys::hodu_model_num_outputs(m)) };
        // SAFETY: m is open, and for i below the counts these return
        // descriptors valid while it is.
        let (inputs, outputs) =
            unsafe { (describe(m, n_in, sys::hodu_model_input), describe(m, n_out, sys::hodu_model_output)) };
        // SAFETY: an open model's descriptor is valid (never NULL) while it
        // is open, and the handle keeps it open as long as `desc` is used.
        let desc = unsafe { &*sys::hodu_model_desc_of(m) };
        // SAFETY: the descriptor's strings are NUL-terminated or NULL and
        // live as long as the model.
        let (name, producer) = unsafe { (opt_str(desc.model_name), opt_str(desc.producer)) };
        let out_max = outputs.iter().map(TensorInfo::max_shape).collect::<Option<Vec<_>>>().map(Arc::from);
        Ok(Model {
            handle,
            inputs: inputs.into(),
            outputs: outputs.into(),
            out_max,
            name: name.unwrap_or_default(),
            producer: producer.unwrap_or_default(),
            training_step: !desc.state_next.is_null(),
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compiler that built it (`"hodu <version>"`).
    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// The inputs, in the order positional runs take them.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The outputs, in the order runs return them.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Empty outputs to run into.
    pub(crate) fn new_outputs(&self) -> Result<Outputs> {
        Outputs::new(&self.outputs, self.out_max.as_ref())
    }

    /// Index of the input called `name`.
    pub fn input_index(&self, name: &str) -> Option<usize> {
        self.inputs.iter().position(|t| t.name == name)
    }

    /// Index of the output called `name`.
    pub fn output_index(&self, name: &str) -> Option<usize> {
        self.outputs.iter().position(|t| t.name == name)
    }

    /// Whether it is a training step (`hodu --build --train`), for
    /// [`crate::Trainer`].
    pub fn is_training_step(&self) -> bool {
        self.training_step
    }

    /// Workspace bytes an instance with `n_workers` workers needs.
    pub fn workspace_bytes(&self, n_workers: u32) -> usize {
        // SAFETY: the handle is an open model.
        unsafe { sys::hodu_model_workspace_bytes(self.handle.as_ptr(), n_workers) }
    }

    /// An instance with the runtime's default thread count
    /// (`HODU_NUM_THREADS`, else 1).
    pub fn instance(&self) -> Result<Instance> {
        self.instance_with_threads(0)
    }

    /// An instance running on `n_threads` threads, the caller's included
    /// (0: the default).  Results do not depend on the count.
    pub fn instance_with_threads(&self, n_threads: u32) -> Result<Instance> {
        let options = instance_options(n_threads);
        let mut raw = std::ptr::null_mut();
        let mut err = new_c_error();
        // SAFETY: the model is open; options, raw and err are valid.
        let status = unsafe { sys::hodu_instance_create_with(self.handle.as_ptr(), &options, &mut raw, &mut err) };
        check(status, &err)?;
        let ptr = NonNull::new(raw).ok_or_else(|| Error::new(ErrorKind::InvalidArg, "no instance returned"))?;
        Ok(Instance { model: self.clone(), ptr, scratch: Scratch::default(), _not_sync: PhantomData })
    }

    /// Maps `(name, tensor)` pairs onto this model's input order; an
    /// unknown, repeated or missing name is an [`ErrorKind::InvalidArg`]
    /// error.
    pub(crate) fn order_inputs<'a>(
        what: &str,
        infos: &[TensorInfo],
        named: &[(&str, &'a dyn TensorRef)],
    ) -> Result<Vec<&'a dyn TensorRef>> {
        let mut slots: Vec<Option<&dyn TensorRef>> = vec![None; infos.len()];
        for (name, t) in named {
            let i = infos.iter().position(|info| info.name == *name).ok_or_else(|| {
                let names: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
                Error::new(
                    ErrorKind::InvalidArg,
                    format!("{what} has no input '{name}' (its inputs: {})", names.join(", ")),
                )
            })?;
            if slots[i].replace(*t).is_some() {
                return Err(Error::new(ErrorKind::InvalidArg, format!("input '{name}' is given twice")));
            }
        }
        slots
            .into_iter()
            .zip(infos)
            .map(|(s, info)| {
                s.ok_or_else(|| Error::new(ErrorKind::InvalidArg, format!("input '{}' is missing", info.name)))
            })
            .collect()
    }
}

pub(crate) fn instance_options(n_threads: u32) -> sys::hodu_instance_options {
    sys::hodu_instance_options {
        n_threads,
        exec: std::ptr::null(),
        workspace: std::ptr::null_mut(),
        workspace_bytes: 0,
        arena: std::ptr::null_mut(),
        arena_bytes: 0,
    }
}

/// A model's outputs after a run, in descriptor order, each with its
/// actual shape.  [`Instance::run_into`] reuses their buffers.
#[derive(Debug, Clone)]
pub struct Outputs {
    infos: Arc<[TensorInfo]>,
    /// Each output's largest shape, what its buffer is sized for.
    max: Arc<[Vec<usize>]>,
    values: Vec<Value>,
}

impl Outputs {
    fn new(infos: &Arc<[TensorInfo]>, max: Option<&Arc<[Vec<usize>]>>) -> Result<Outputs> {
        let max = max.ok_or_else(|| {
            let name = infos.iter().find(|i| i.max_shape().is_none()).map_or("", |i| i.name.as_str());
            Error::new(ErrorKind::Unsupported, format!("output '{name}' has an unbounded dim"))
        })?;
        let values = infos
            .iter()
            .map(|i| {
                Value::out_buffer(i.dtype)
                    .map_err(|e| Error::new(e.kind(), format!("output '{}': {}", i.name, e.message())))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Outputs { infos: infos.clone(), max: max.clone(), values })
    }

    fn abandon(&mut self) {
        for (info, value) in self.infos.iter().zip(self.values.iter_mut()) {
            value.out_abandon(info.dtype);
        }
    }

    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The output called `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.infos.iter().position(|i| i.name == name).map(|i| &self.values[i])
    }

    /// The output called `name`, or an [`ErrorKind::InvalidArg`] error
    /// naming the outputs there are.
    pub fn by_name(&self, name: &str) -> Result<&Value> {
        self.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.infos.iter().map(|i| i.name.as_str()).collect();
            Error::new(ErrorKind::InvalidArg, format!("no output '{name}' (the outputs: {})", names.join(", ")))
        })
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.infos.iter().map(|i| i.name.as_str()).zip(&self.values)
    }

    /// The values in order.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

impl std::ops::Index<usize> for Outputs {
    type Output = Value;
    fn index(&self, i: usize) -> &Value {
        &self.values[i]
    }
}

/// Runs `call(inputs, n_inputs, outputs, n_outputs, err)` with C views of
/// `inputs` and of `outputs`' buffers, grown to their largest shapes; then
/// keeps the shapes the runtime reported.
pub(crate) fn run_into_with(
    inputs: &[&dyn TensorRef],
    outputs: &mut Outputs,
    scratch: &mut Scratch,
    call: impl FnOnce(*const sys::hodu_tensor, usize, *mut sys::hodu_tensor, usize, *mut sys::hodu_error) -> i32,
) -> Result<()> {
    let result = run_views(inputs, outputs, scratch, call);
    // the views point into tensors that are not ours to keep
    scratch.c_in.clear();
    scratch.c_out.clear();
    result
}

fn run_views(
    inputs: &[&dyn TensorRef],
    outputs: &mut Outputs,
    scratch: &mut Scratch,
    call: impl FnOnce(*const sys::hodu_tensor, usize, *mut sys::hodu_tensor, usize, *mut sys::hodu_error) -> i32,
) -> Result<()> {
    for t in inputs {
        scratch.c_in.push(c_view(*t)?);
    }
    let mut failed = None;
    for ((info, shape), value) in outputs.infos.iter().zip(outputs.max.iter()).zip(outputs.values.iter_mut()) {
        match value.out_view(info.dtype, shape) {
            Ok(c) => scratch.c_out.push(c),
            Err(e) => {
                failed = Some(Error::new(e.kind(), format!("output '{}': {}", info.name, e.message())));
                break;
            }
        }
    }
    if let Some(e) = failed {
        outputs.abandon();
        return Err(e);
    }
    let mut err = new_c_error();
    let (c_in, c_out) = (&scratch.c_in, &mut scratch.c_out);
    let status = call(c_in.as_ptr(), c_in.len(), c_out.as_mut_ptr(), c_out.len(), &mut err);
    if let Err(e) = check(status, &err) {
        outputs.abandon();
        return Err(e);
    }
    let mut result = Ok(());
    for ((info, value), c) in outputs.infos.iter().zip(outputs.values.iter_mut()).zip(c_out.iter()) {
        let done = value.out_finish(info.dtype, c);
        result = result.and(done);
    }
    result
}

/// The C views of a run's tensors, kept between runs so a run allocates
/// nothing for them.  Empty between calls.
#[derive(Default)]
pub(crate) struct Scratch {
    c_in: Vec<sys::hodu_tensor>,
    c_out: Vec<sys::hodu_tensor>,
}

/// One step of a run (a node of the compiled model, its fused consumers
/// included) and the time spent in it, from [`Instance::profile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEntry {
    /// The node's name in the model ("" when it has none).
    pub node: String,
    /// Its op: "Conv", or "hodu.ConvBlocked" for one the compiler made.
    pub op: String,
    /// The compiler's FLOPs estimate for one run of the step (0: none).
    pub flops: u64,
    /// Runs that started the step since profiling was turned on.
    pub runs: u64,
    /// Their total wall time in nanoseconds.
    pub total_ns: u64,
}

/// An instance of a model: its workspace and threads.  Runs take `&mut
/// self`: one instance runs one call at a time, as the C contract says.
/// `Send` (it may move to another thread) but not `Sync`; make one
/// instance per thread to run in parallel.
pub struct Instance {
    model: Model,
    ptr: NonNull<sys::hodu_instance>,
    scratch: Scratch,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: an instance is not tied to the thread that made it; the C
// contract only forbids two threads running it at once, which `&mut self`
// on run (and the missing Sync) rules out.
unsafe impl Send for Instance {}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("model", &self.model.name).finish()
    }
}

impl Instance {
    /// The model it runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Threads it runs on.
    pub fn num_threads(&self) -> u32 {
        // SAFETY: ptr is a live instance.
        unsafe { sys::hodu_instance_num_threads(self.ptr.as_ptr()) }
    }

    /// Runs the model on inputs in [`Model::inputs`] order.  The runtime
    /// checks their count, dtypes and shapes (an input with run-time dims
    /// takes any size in its range) and the error names the cause.
    pub fn run(&mut self, inputs: &[&dyn TensorRef]) -> Result<Outputs> {
        let mut outputs = self.model.new_outputs()?;
        self.run_into(inputs, &mut outputs)?;
        Ok(outputs)
    }

    /// The same as [`Instance::run`], into the buffers of `outputs` from an
    /// earlier run of this model (no allocation when the element types
    /// allow it; bool outputs are converted each run).  After an error the
    /// outputs hold their largest shapes and unspecified elements.  Outputs
    /// of another model are an [`ErrorKind::InvalidArg`] error.
    pub fn run_into(&mut self, inputs: &[&dyn TensorRef], outputs: &mut Outputs) -> Result<()> {
        if !Arc::ptr_eq(&outputs.infos, &self.model.outputs) {
            return Err(Error::new(ErrorKind::InvalidArg, "these outputs come from another model"));
        }
        let inst = self.ptr.as_ptr();
        run_into_with(inputs, outputs, &mut self.scratch, |i, ni, o, no, e| {
            // SAFETY: inst is live and used by this call only (&mut self);
            // the input views point at tensors borrowed for the call, the
            // outputs at buffers of their described (largest) size.
            unsafe { sys::hodu_instance_run(inst, i, ni, o, no, e) }
        })
    }

    /// Turns per-step timing of this instance's runs on (the totals start
    /// from zero) or off; it costs two clock readings per step.
    pub fn set_profiling(&mut self, on: bool) -> Result<()> {
        let mut err = new_c_error();
        // SAFETY: ptr is a live instance used by this call only (&mut self).
        let status = unsafe { sys::hodu_instance_set_profiling(self.ptr.as_ptr(), i32::from(on), &mut err) };
        check(status, &err)
    }

    /// The per-step totals since profiling was turned on, in run order;
    /// empty when it is off.
    pub fn profile(&self) -> Vec<ProfileEntry> {
        let mut n = 0usize;
        // SAFETY: ptr is a live instance; the entries stay valid until the
        // next set_profiling (which takes &mut self) and are copied here.
        let entries = unsafe { sys::hodu_instance_profile(self.ptr.as_ptr(), &mut n) };
        if entries.is_null() {
            return Vec::new();
        }
        // SAFETY: the runtime returned n entries at `entries` (see above).
        let entries = unsafe { std::slice::from_raw_parts(entries, n) };
        entries
            .iter()
            .map(|e| ProfileEntry {
                // SAFETY: node and op are NUL-terminated strings of the model.
                node: unsafe { opt_str(e.node) }.unwrap_or_default(),
                // SAFETY: as above.
                op: unsafe { opt_str(e.op) }.unwrap_or_default(),
                flops: e.flops,
                runs: e.runs,
                total_ns: e.total_ns,
            })
            .collect()
    }

    /// Runs the model on inputs given by name, in any order.
    pub fn run_named(&mut self, inputs: &[(&str, &dyn TensorRef)]) -> Result<Outputs> {
        let ordered = Model::order_inputs("the model", &self.model.inputs, inputs)?;
        self.run(&ordered)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: ptr came from hodu_instance_create_with and is not used
        // again; the model it refers to is kept open by self.model.
        unsafe { sys::hodu_instance_destroy(self.ptr.as_ptr()) }
    }
}
