//! Safe Rust API over libhodu_rt, the runtime of models compiled by Hodu
//! (`hodu --build model.onnx -o model.so`).
//!
//! ```no_run
//! use hodu::{Model, Tensor};
//!
//! # fn main() -> hodu::Result<()> {
//! let model = Model::open("model.so")?;
//! let mut inst = model.instance()?;
//! let x = Tensor::<f32>::read_npy("x.npy")?;
//! let out = inst.run(&[&x])?;
//! let y = out[0].as_slice::<f32>()?;
//! println!("{:?} {:?}", out[0].shape(), &y[..4]);
//! # Ok(())
//! # }
//! ```
//!
//! The pieces:
//! - [`Model`]: an open compiled model and its description ([`TensorInfo`],
//!   [`Dim`]): names, element types, fixed and run-time dims.
//! - [`Instance`]: the workspace and threads one run uses; `Send`, not
//!   `Sync` (one run at a time, as the C contract says).
//! - [`Tensor<T>`]: a typed tensor; the element type is checked at compile
//!   time through the sealed [`Element`] trait.  [`Value`]: a tensor whose
//!   type is known only at run time (outputs, state, any .npy file).
//! - [`Trainer`]: a training step built with `--train`, its parameters and
//!   optimizer state, safetensors checkpoints and evaluation;
//!   [`read_safetensors`] and [`write_safetensors`] for the files.
//! - With the `compiler` feature (on by default): `Graph`, a model defined
//!   in code (`Var` values, `Graph::op` for any ONNX op with `Attr`
//!   attributes, inputs with `Size` dims), compiled by the linked compiler
//!   to a file or a loaded [`Model`] with `CompileOptions` (dims, `--grad`,
//!   `--train`).  (Plain names here: without the feature they do not
//!   exist.)
//!
//! A wrong element type is a compile-time error where the type is known:
//!
//! ```compile_fail
//! // a Tensor<f32> cannot hold i64s
//! let t: hodu::Tensor<f32> = hodu::Tensor::new(&[2], vec![1i64, 2]).unwrap();
//! ```
//!
//! ```compile_fail
//! // char is no element type the runtime knows (Element is sealed)
//! let t = hodu::Tensor::new(&[1], vec!['a']);
//! ```
//!
//! and a [`ErrorKind::DType`] error where it comes from the model (an
//! output read as another type, an input the model declares otherwise).
//! A wrong shape is always an [`ErrorKind::Shape`] error.
//!
//! Every failure is an [`Error`] with an [`ErrorKind`] and, when it comes
//! from libhodu_rt, the runtime's own message.  See docs/rust.md for how to
//! build and link, and for the safety contract.
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod error;
#[cfg(feature = "compiler")]
mod graph;
mod model;
mod tensor;
mod trainer;

pub use error::{Error, ErrorKind, Result};
#[cfg(feature = "compiler")]
pub use graph::{Attr, CompileOptions, Graph, Size, Var};
pub use model::{Dim, Instance, Model, Outputs, ProfileEntry, TensorInfo};
pub use tensor::{read_safetensors, write_safetensors, DType, Element, Tensor, TensorRef, Value};
pub use trainer::Trainer;

/// The raw declarations this crate is built on.
pub use hodu_sys as sys;
