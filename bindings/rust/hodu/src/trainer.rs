//! Training through libhodu_rt's `hodu_trainer` (docs/training.md).

use std::cell::Cell;
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::NonNull;
use std::sync::Arc;

use hodu_sys as sys;

use crate::error::{c_path, c_string, check, new_c_error, Error, ErrorKind, Result};
use crate::model::{describe, instance_options, run_into_with, Model, Outputs, Scratch, TensorInfo};
use crate::tensor::{c_view, Element, Tensor, TensorRef, Value};

/// A training step (`hodu --build model.onnx --train ...`) and the state it
/// carries between steps: the parameters, starting from those the library
/// was built with, and the optimizer's tensors.  `Send`, not `Sync`.
pub struct Trainer {
    ptr: NonNull<sys::hodu_trainer>,
    inputs: Arc<[TensorInfo]>,
    state: Arc<[TensorInfo]>,
    // Both are kept open while the trainer lives (the C contract).
    _step: Model,
    eval: Option<Model>,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: a trainer is not tied to the thread that made it; the C contract
// only forbids concurrent calls on one trainer, which `&mut self` on every
// mutating call and the missing Sync rule out.
unsafe impl Send for Trainer {}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer").field("inputs", &self.inputs).field("eval", &self.eval.is_some()).finish()
    }
}

impl Trainer {
    /// A trainer over `step`, a model built with `--train`, on the default
    /// thread count.  Any other model is an [`ErrorKind::InvalidArg`]
    /// error.
    pub fn new(step: &Model) -> Result<Trainer> {
        Trainer::with_threads(step, 0)
    }

    /// A trainer running its steps on `n_threads` threads (0: the default).
    pub fn with_threads(step: &Model, n_threads: u32) -> Result<Trainer> {
        let options = instance_options(n_threads);
        let mut raw = std::ptr::null_mut();
        let mut err = new_c_error();
        // SAFETY: the model is open; options, raw and err are valid.
        let status = unsafe { sys::hodu_trainer_create(step.handle.as_ptr(), &options, &mut raw, &mut err) };
        check(status, &err)?;
        let ptr = NonNull::new(raw).ok_or_else(|| Error::new(ErrorKind::InvalidArg, "no trainer returned"))?;
        let t = ptr.as_ptr();
        // SAFETY: t is a live trainer; the counts are plain reads.
        let (n_in, n_state) = unsafe { (sys::hodu_trainer_num_inputs(t), sys::hodu_trainer_num_state(t)) };
        // SAFETY: t is live, and for i below the counts these return
        // descriptors valid while it is.
        let (inputs, state) =
            unsafe { (describe(t, n_in, sys::hodu_trainer_input), describe(t, n_state, sys::hodu_trainer_state)) };
        Ok(Trainer {
            ptr,
            inputs: inputs.into(),
            state: state.into(),
            _step: step.clone(),
            eval: None,
            _not_sync: PhantomData,
        })
    }

    /// The inputs a step takes, in order: the model's own, then `target`.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The state tensors: every parameter (under its initializer's name)
    /// and the optimizer's (`<param>.adam_m`, `adam.step`, ...).
    pub fn state(&self) -> &[TensorInfo] {
        &self.state
    }

    /// One optimizer step on a batch (in [`Trainer::inputs`] order) with
    /// learning rate `lr`; returns the batch's loss before the update.  A
    /// step that fails leaves the state as it was.
    pub fn step(&mut self, batch: &[&dyn TensorRef], lr: f32) -> Result<f32> {
        let views = batch.iter().map(|t| c_view(*t)).collect::<Result<Vec<_>>>()?;
        let mut loss = 0f32;
        let mut err = new_c_error();
        // SAFETY: the trainer is live and used by this call only (&mut
        // self); the views point at tensors borrowed for the call.
        let status =
            unsafe { sys::hodu_trainer_step(self.ptr.as_ptr(), views.as_ptr(), views.len(), lr, &mut loss, &mut err) };
        check(status, &err)?;
        Ok(loss)
    }

    /// The same with the batch given by name.
    pub fn step_named(&mut self, batch: &[(&str, &dyn TensorRef)], lr: f32) -> Result<f32> {
        let ordered = Model::order_inputs("the training step", &self.inputs, batch)?;
        self.step(&ordered, lr)
    }

    fn state_info(&self, name: &str) -> Result<&TensorInfo> {
        self.state
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArg, format!("the trainer has no state tensor '{name}'")))
    }

    /// A copy of the state tensor `name` (a parameter or an optimizer
    /// tensor); an unknown name is an [`ErrorKind::InvalidArg`] error.
    pub fn get(&self, name: &str) -> Result<Value> {
        let info = self.state_info(name)?;
        let shape = info.max_shape().ok_or_else(|| Error::new(ErrorKind::Unsupported, "unbounded state"))?;
        let mut value = Value::out_buffer(info.dtype)?;
        let mut c = value.out_view(info.dtype, &shape)?;
        let cname = c_string("name", name)?;
        let mut err = new_c_error();
        // SAFETY: the trainer is live; c points at value's buffer of the
        // tensor's dtype and shape, which the call fills.
        let status = unsafe { sys::hodu_trainer_get(self.ptr.as_ptr(), cname.as_ptr(), &mut c, &mut err) };
        if let Err(e) = check(status, &err) {
            value.out_abandon(info.dtype);
            return Err(e);
        }
        value.out_finish(info.dtype, &c)?;
        Ok(value)
    }

    /// The state tensor `name` as `T`s; another type is an
    /// [`ErrorKind::DType`] error.
    pub fn get_as<T: Element>(&self, name: &str) -> Result<Tensor<T>> {
        self.get(name)?.into_tensor()
    }

    /// Replaces the state tensor `name`; the tensor must have its dtype and
    /// shape.
    pub fn set(&mut self, name: &str, value: &dyn TensorRef) -> Result<()> {
        self.state_info(name)?;
        let view = c_view(value)?;
        let cname = c_string("name", name)?;
        let mut err = new_c_error();
        // SAFETY: the trainer is live and used by this call only; view
        // points at a tensor borrowed for the call, which it copies.
        let status = unsafe { sys::hodu_trainer_set(self.ptr.as_ptr(), cname.as_ptr(), &view, &mut err) };
        check(status, &err)
    }

    /// Saves every state tensor to a safetensors file (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let cpath = c_path(path.as_ref())?;
        let mut err = new_c_error();
        // SAFETY: the trainer is live; cpath is NUL-terminated.
        let status = unsafe { sys::hodu_trainer_save(self.ptr.as_ptr(), cpath.as_ptr(), &mut err) };
        check(status, &err)
    }

    /// Loads a checkpoint: one that lacks a tensor, has one more, or has
    /// one of another dtype or shape is refused whole, naming it, and the
    /// state stays as it was.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let cpath = c_path(path.as_ref())?;
        let mut err = new_c_error();
        // SAFETY: the trainer is live and used by this call only; cpath is
        // NUL-terminated.
        let status = unsafe { sys::hodu_trainer_load(self.ptr.as_ptr(), cpath.as_ptr(), &mut err) };
        check(status, &err)
    }

    /// Attaches the forward pass (`hodu --build model.onnx --train-eval`)
    /// that [`Trainer::eval`] runs with the current parameters.
    pub fn attach_eval(&mut self, eval: &Model) -> Result<()> {
        let options = instance_options(0);
        let mut err = new_c_error();
        // SAFETY: both are live; the trainer keeps a clone of `eval` (so
        // the model outlives it, as the C contract asks).
        let status =
            unsafe { sys::hodu_trainer_attach_eval(self.ptr.as_ptr(), eval.handle.as_ptr(), &options, &mut err) };
        check(status, &err)?;
        self.eval = Some(eval.clone());
        Ok(())
    }

    /// Runs the attached forward pass on its non-parameter inputs, in
    /// order; an [`ErrorKind::InvalidArg`] error when none is attached.
    pub fn eval(&mut self, inputs: &[&dyn TensorRef]) -> Result<Outputs> {
        let eval = self
            .eval
            .as_ref()
            .ok_or_else(|| Error::new(ErrorKind::InvalidArg, "no forward pass attached (Trainer::attach_eval)"))?;
        let t = self.ptr.as_ptr();
        let mut outputs = eval.new_outputs()?;
        run_into_with(inputs, &mut outputs, &mut Scratch::default(), |i, ni, o, no, e| {
            // SAFETY: the trainer is live and used by this call only; the
            // views point at borrowed tensors, the outputs at buffers of
            // the forward pass's described sizes.
            unsafe { sys::hodu_trainer_eval(t, i, ni, o, no, e) }
        })?;
        Ok(outputs)
    }
}

impl Drop for Trainer {
    fn drop(&mut self) {
        // SAFETY: ptr came from hodu_trainer_create and is not used again;
        // the models it uses are dropped after this (fields drop later).
        unsafe { sys::hodu_trainer_destroy(self.ptr.as_ptr()) }
    }
}
