//! Building models from code: Rust over include/hodu.h's graph builder
//! (the `compiler` feature).
//!
//! A [`Graph`] owns the C graph; each [`Var`] is one of its values and
//! borrows it, so a value cannot outlive its graph (a compile error), and
//! a value used with another graph is an [`ErrorKind::InvalidArg`] error
//! before anything reaches C.  Every other misuse is the C builder's own
//! error, with its message: an op name it does not know or a wrong
//! attribute when the op is applied, a shape or dtype that does not fit or
//! an unbound dim when the graph is compiled.

use std::ffi::{c_char, CStr, CString};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Mutex, MutexGuard};

use hodu_sys as sys;

use crate::error::{c_path, c_string, new_c_error, Error, ErrorKind, Result};
use crate::model::Model;
use crate::tensor::{c_view, DType, TensorRef};

/// Held across every call into the compiler: it is not safe to call from
/// several threads at once (docs/builder.md: tables built on first use, the
/// registry of temporary files), even on separate graphs.
static COMPILER: Mutex<()> = Mutex::new(());

/// The compiler's lock (a panic while it was held poisons nothing the C
/// side keeps: each call leaves its graph as it was or complete).
fn compiler_lock() -> MutexGuard<'static, ()> {
    COMPILER.lock().unwrap_or_else(|e| e.into_inner())
}

/// One dim of a graph input: a size, or a symbol bound when the graph is
/// compiled ([`CompileOptions::dim`], [`CompileOptions::dim_range`]).
///
/// `64.into()` is a size and `"B".into()` a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Size {
    /// A fixed size.
    Fixed(usize),
    /// A named dim; inputs that share the name share its size.
    Sym(String),
}

impl Size {
    /// A symbolic dim called `name`.
    pub fn sym(name: &str) -> Size {
        Size::Sym(name.to_string())
    }
}

impl From<usize> for Size {
    fn from(n: usize) -> Size {
        Size::Fixed(n)
    }
}

impl From<&str> for Size {
    fn from(name: &str) -> Size {
        Size::sym(name)
    }
}

/// An ONNX attribute value for [`Graph::op`].
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    /// An int.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list of ints.
    Ints(Vec<i64>),
    /// A list of floats.
    Floats(Vec<f64>),
    /// A list of strings.
    Strs(Vec<String>),
}

impl From<i64> for Attr {
    fn from(v: i64) -> Attr {
        Attr::Int(v)
    }
}

impl From<f64> for Attr {
    fn from(v: f64) -> Attr {
        Attr::Float(v)
    }
}

impl From<&str> for Attr {
    fn from(v: &str) -> Attr {
        Attr::Str(v.to_string())
    }
}

impl From<&[i64]> for Attr {
    fn from(v: &[i64]) -> Attr {
        Attr::Ints(v.to_vec())
    }
}

impl From<&[f64]> for Attr {
    fn from(v: &[f64]) -> Attr {
        Attr::Floats(v.to_vec())
    }
}

/// A model being defined in code: inputs, parameters, ops and outputs,
/// compiled to a library file ([`Graph::compile`]) or straight to a loaded
/// [`Model`] ([`Graph::load`]).
///
/// ```no_run
/// use hodu::{CompileOptions, DType, Graph, Size, Tensor};
///
/// # fn main() -> hodu::Result<()> {
/// let g = Graph::new("mlp")?;
/// let x = g.input("x", DType::F32, &[Size::sym("B"), 4.into()])?;
/// let w = g.param("w", &Tensor::<f32>::zeros(&[4, 3])?)?;
/// let b = g.param("b", &Tensor::<f32>::zeros(&[3])?)?;
/// let y = (x.matmul(&w)? + b)?.relu()?;
/// g.output(&y, "y")?;
/// let model = g.load(&CompileOptions::new().dim_range("B", 1, 64))?;
/// # let _ = model;
/// # Ok(())
/// # }
/// ```
///
/// A value cannot outlive its graph:
///
/// ```compile_fail
/// let x = {
///     let g = hodu::Graph::new("g").unwrap();
///     g.input("x", hodu::DType::F32, &[2.into()]).unwrap()
/// };
/// ```
///
/// Every call into the compiler takes one process-wide lock (it is not
/// safe to call from several threads at once), so threads may each build
/// their own graphs.  A graph stays on the thread that made it: it is
/// neither `Send` nor `Sync`:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(hodu::Graph::new("g").unwrap());
/// ```
pub struct Graph {
    raw: NonNull<sys::hodu_graph>,
    name: String,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph").field("name", &self.name).finish()
    }
}

impl Drop for Graph {
    fn drop(&mut self) {
        let _lock = compiler_lock();
        // SAFETY: raw came from hodu_graph_new and is freed only here; no
        // Var outlives the graph (they borrow it).
        unsafe { sys::hodu_graph_free(self.raw.as_ptr()) }
    }
}

/// One value of a [`Graph`]: an input, a parameter or an op's result.
/// Cheap to copy; borrows its graph.
///
/// The arithmetic operators apply the op and return a `Result`, as every
/// other method does: `(a + b)?`, `(a * b)?` (a `Var` is `Copy`; the
/// operators take references too).
#[derive(Clone, Copy)]
pub struct Var<'g> {
    graph: &'g Graph,
    id: sys::hodu_value,
}

impl std::fmt::Debug for Var<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var({}#{})", self.graph.name, self.id)
    }
}

/// Owns the C strings and pointer arrays one call reads.
#[derive(Default)]
struct CStrings {
    held: Vec<CString>,
}

impl CStrings {
    fn add(&mut self, what: &str, s: &str) -> Result<*const c_char> {
        let c = c_string(what, s)?;
        // the CString's heap buffer does not move when the Vec grows
        let p = c.as_ptr();
        self.held.push(c);
        Ok(p)
    }

    fn list(&mut self, what: &str, items: &[String]) -> Result<Vec<*const c_char>> {
        items.iter().map(|s| self.add(what, s)).collect()
    }
}

impl Graph {
    /// A new, empty graph at the newest opset Hodu knows.  `name` starts
    /// every message about it and names the compiled model.
    pub fn new(name: &str) -> Result<Graph> {
        Graph::with_opset(name, 0)
    }

    /// A new, empty graph whose default ONNX domain is at `opset` (0: the
    /// newest), which decides each op's version.
    pub fn with_opset(name: &str, opset: i64) -> Result<Graph> {
        let cname = c_string("graph name", name)?;
        let mut raw = std::ptr::null_mut();
        let mut err = new_c_error();
        let status = {
            let _lock = compiler_lock();
            // SAFETY: cname is NUL-terminated; raw and err are valid for writes.
            unsafe { sys::hodu_graph_new(cname.as_ptr(), opset, &mut raw, &mut err) }
        };
        crate::error::check(status, &err)?;
        let raw = NonNull::new(raw).ok_or_else(|| Error::new(ErrorKind::InvalidArg, "hodu_graph_new made no graph"))?;
        Ok(Graph { raw, name: name.to_string() })
    }

    /// The graph's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn ptr(&self) -> *mut sys::hodu_graph {
        self.raw.as_ptr()
    }

    /// The error of the call that just returned `status` on this graph.
    fn check(&self, status: sys::hodu_status) -> Result<()> {
        if status == sys::HODU_OK {
            return Ok(());
        }
        // SAFETY: the graph is live; the message is NUL-terminated and
        // valid until the next call on it, and is copied out here.
        let text = unsafe { CStr::from_ptr(sys::hodu_graph_error(self.ptr())) }.to_string_lossy().into_owned();
        let lines: Vec<&str> = text.lines().map(|l| l.strip_prefix("hodu: error: ").unwrap_or(l)).collect();
        Err(Error::new(ErrorKind::from_status(status), lines.join("\n")))
    }

    /// The handle of `v`, which must be a value of this graph.
    fn own(&self, v: &Var<'_>, what: &str) -> Result<sys::hodu_value> {
        if std::ptr::eq(v.graph, self) {
            Ok(v.id)
        } else {
            Err(Error::new(
                ErrorKind::InvalidArg,
                format!("{}: {what}: a value of graph '{}' used in graph '{}'", self.name, v.graph.name, self.name),
            ))
        }
    }

    fn var(&self, id: sys::hodu_value) -> Var<'_> {
        Var { graph: self, id }
    }

    /// One result of a C call that writes it to `out`.
    fn make(&self, call: impl FnOnce(*mut sys::hodu_value) -> sys::hodu_status) -> Result<Var<'_>> {
        let mut out = sys::HODU_NO_VALUE;
        let status = {
            let _lock = compiler_lock();
            call(&mut out)
        };
        self.check(status)?;
        Ok(self.var(out))
    }

    /// A run-time input `name` of `dtype` with dims `dims` (sizes or
    /// symbols).
    pub fn input(&self, name: &str, dtype: DType, dims: &[Size]) -> Result<Var<'_>> {
        let cname = c_string("input name", name)?;
        let mut names = CStrings::default();
        let cdims = dims
            .iter()
            .map(|d| {
                Ok(match d {
                    Size::Fixed(n) => sys::hodu_dim { size: dim_i64(*n)?, name: std::ptr::null() },
                    Size::Sym(s) => sys::hodu_dim { size: 0, name: names.add("dim name", s)? },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rank = rank_i32(cdims.len())?;
        self.make(|out| {
            // SAFETY: the graph is live; cname, the dims and the names they
            // point to outlive the call, which copies them.
            unsafe { sys::hodu_graph_input(self.ptr(), cname.as_ptr(), dtype.to_raw(), rank, cdims.as_ptr(), out) }
        })
    }

    /// A parameter (an ONNX initializer) `name` holding a copy of `value`:
    /// any numeric or bool tensor ([`crate::Tensor`] or [`crate::Value`]).
    pub fn param(&self, name: &str, value: &dyn TensorRef) -> Result<Var<'_>> {
        let cname = c_string("parameter name", name)?;
        let view = c_view(value)?;
        self.make(|out| {
            // SAFETY: the graph is live; the view describes `value`'s own
            // buffer (nbytes of it), which the call copies before returning.
            unsafe {
                sys::hodu_graph_param(
                    self.ptr(),
                    cname.as_ptr(),
                    view.dtype,
                    view.rank,
                    view.dims.as_ptr(),
                    view.data,
                    view.nbytes,
                    out,
                )
            }
        })
    }

    /// Applies the ONNX op `op_type` (the default domain) to `inputs` with
    /// `attrs`; its first result.
    ///
    /// ```no_run
    /// # use hodu::{Attr, DType, Graph};
    /// # fn main() -> hodu::Result<()> {
    /// let g = Graph::new("g")?;
    /// let x = g.input("x", DType::F32, &[2.into(), 8.into()])?;
    /// let y = g.op("Softmax", &[&x], &[("axis", Attr::Int(-1))])?;
    /// # let _ = y; Ok(())
    /// # }
    /// ```
    pub fn op(&self, op_type: &str, inputs: &[&Var<'_>], attrs: &[(&str, Attr)]) -> Result<Var<'_>> {
        let ins: Vec<Option<&Var<'_>>> = inputs.iter().map(|v| Some(*v)).collect();
        Ok(self.op_full(op_type, None, &ins, attrs, 1)?[0])
    }

    /// Any op in full: `domain` (None: the default ONNX one), operands
    /// where None omits an optional one, and the first `n_outputs` results.
    pub fn op_full(
        &self,
        op_type: &str,
        domain: Option<&str>,
        inputs: &[Option<&Var<'_>>],
        attrs: &[(&str, Attr)],
        n_outputs: usize,
    ) -> Result<Vec<Var<'_>>> {
        let cop = c_string("op name", op_type)?;
        let cdomain = domain.map(|d| c_string("domain", d)).transpose()?;
        let ins = inputs
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Some(v) => self.own(v, &format!("{op_type}: input {i}")),
                None => Ok(sys::HODU_NO_VALUE),
            })
            .collect::<Result<Vec<_>>>()?;
        let mut strings = CStrings::default();
        let mut lists: Vec<Vec<*const c_char>> = Vec::new();
        let mut cattrs = Vec::with_capacity(attrs.len());
        for (name, value) in attrs {
            let mut a = sys::hodu_attr {
                name: strings.add("attribute name", name)?,
                kind: sys::HODU_ATTR_INT,
                i: 0,
                f: 0.0,
                s: std::ptr::null(),
                ints: std::ptr::null(),
                floats: std::ptr::null(),
                strings: std::ptr::null(),
                n: 0,
            };
            match value {
                Attr::Int(v) => a.i = *v,
                Attr::Float(v) => {
                    a.kind = sys::HODU_ATTR_FLOAT;
                    a.f = *v;
                }
                Attr::Str(v) => {
                    a.kind = sys::HODU_ATTR_STRING;
                    a.s = strings.add("attribute value", v)?;
                }
                Attr::Ints(v) => {
                    a.kind = sys::HODU_ATTR_INTS;
                    a.ints = v.as_ptr();
                    a.n = v.len();
                }
                Attr::Floats(v) => {
                    a.kind = sys::HODU_ATTR_FLOATS;
                    a.floats = v.as_ptr();
                    a.n = v.len();
                }
                Attr::Strs(v) => {
                    let list = strings.list("attribute value", v)?;
                    a.kind = sys::HODU_ATTR_STRINGS;
                    a.strings = list.as_ptr(); // the list's buffer does not move below
                    a.n = list.len();
                    lists.push(list);
                }
            }
            cattrs.push(a);
        }
        let mut outs = vec![sys::HODU_NO_VALUE; n_outputs];
        let _lock = compiler_lock();
        // SAFETY: the graph is live; every pointer (op name, domain,
        // operands, attributes and the strings and lists they point to,
        // held by cop, cdomain, ins, attrs, strings and lists) is valid for
        // the call, which copies what it keeps; outs has n_outputs slots.
        let status = unsafe {
            sys::hodu_graph_op(
                self.ptr(),
                cop.as_ptr(),
                cdomain.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
                ins.as_ptr(),
                ins.len(),
                cattrs.as_ptr(),
                cattrs.len(),
                outs.as_mut_ptr(),
                outs.len(),
            )
        };
        drop(_lock);
        self.check(status)?;
        Ok(outs.into_iter().map(|id| self.var(id)).collect())
    }

    /// Makes `v` an output of the graph called `name`.  A value may be an
    /// output several times under different names.
    pub fn output(&self, v: &Var<'_>, name: &str) -> Result<()> {
        let id = self.own(v, "output")?;
        let cname = c_string("output name", name)?;
        let _lock = compiler_lock();
        // SAFETY: the graph is live; cname is NUL-terminated and copied.
        self.check(unsafe { sys::hodu_graph_output(self.ptr(), id, cname.as_ptr()) })
    }

    /// `alpha * A' B' + beta * C` (ONNX Gemm), A' = A transposed when
    /// `trans_a`; `c` may be None.
    #[allow(clippy::too_many_arguments)]
    pub fn gemm(
        &self,
        a: &Var<'_>,
        b: &Var<'_>,
        c: Option<&Var<'_>>,
        alpha: f64,
        beta: f64,
        trans_a: bool,
        trans_b: bool,
    ) -> Result<Var<'_>> {
        let (a, b) = (self.own(a, "Gemm: input 0")?, self.own(b, "Gemm: input 1")?);
        let c = c.map(|c| self.own(c, "Gemm: input 2")).transpose()?.unwrap_or(sys::HODU_NO_VALUE);
        // SAFETY: the graph is live; out is valid for writes.
        self.make(|out| unsafe { sys::hodu_graph_gemm(self.ptr(), a, b, c, alpha, beta, trans_a, trans_b, out) })
    }

    /// Concat of `xs` along `axis`.
    pub fn concat(&self, xs: &[&Var<'_>], axis: i64) -> Result<Var<'_>> {
        let ids = xs
            .iter()
            .enumerate()
            .map(|(i, v)| self.own(v, &format!("Concat: input {i}")))
            .collect::<Result<Vec<_>>>()?;
        // SAFETY: the graph is live; ids holds ids.len() handles; out is
        // valid for writes.
        self.make(|out| unsafe { sys::hodu_graph_concat(self.ptr(), ids.as_ptr(), ids.len(), axis, out) })
    }

    /// NCHW convolution of `x` by weights `w` (`[M, C/group, kH, kW]`) plus
    /// `b`; `strides`, `pads` (top, left, bottom, right) and `dilations`
    /// take the op's defaults when None.
    #[allow(clippy::too_many_arguments)]
    pub fn conv2d(
        &self,
        x: &Var<'_>,
        w: &Var<'_>,
        b: Option<&Var<'_>>,
        strides: Option<[i64; 2]>,
        pads: Option<[i64; 4]>,
        dilations: Option<[i64; 2]>,
        group: i64,
    ) -> Result<Var<'_>> {
        let (x, w) = (self.own(x, "Conv: input 0")?, self.own(w, "Conv: input 1")?);
        let b = b.map(|b| self.own(b, "Conv: input 2")).transpose()?.unwrap_or(sys::HODU_NO_VALUE);
        let (s, p, d) = (opt_ptr(&strides), opt_ptr(&pads), opt_ptr(&dilations));
        // SAFETY: the graph is live; each array is NULL or has the length
        // the header asks for; out is valid for writes.
        self.make(|out| unsafe { sys::hodu_graph_conv2d(self.ptr(), x, w, b, s, p, d, group, out) })
    }

    /// MaxPool of `x` over `kernel`; `strides` and `pads` (top, left,
    /// bottom, right) default when None.
    pub fn max_pool2d(
        &self,
        x: &Var<'_>,
        kernel: [i64; 2],
        strides: Option<[i64; 2]>,
        pads: Option<[i64; 4]>,
    ) -> Result<Var<'_>> {
        self.pool2d(sys::hodu_graph_max_pool2d, "MaxPool", x, kernel, strides, pads)
    }

    /// AveragePool of `x` over `kernel`; as [`Graph::max_pool2d`].
    pub fn avg_pool2d(
        &self,
        x: &Var<'_>,
        kernel: [i64; 2],
        strides: Option<[i64; 2]>,
        pads: Option<[i64; 4]>,
    ) -> Result<Var<'_>> {
        self.pool2d(sys::hodu_graph_avg_pool2d, "AveragePool", x, kernel, strides, pads)
    }

    fn pool2d(
        &self,
        pool: PoolFn,
        op: &str,
        x: &Var<'_>,
        kernel: [i64; 2],
        strides: Option<[i64; 2]>,
        pads: Option<[i64; 4]>,
    ) -> Result<Var<'_>> {
        let x = self.own(x, &format!("{op}: input 0"))?;
        let (s, p) = (opt_ptr(&strides), opt_ptr(&pads));
        // SAFETY: the graph is live; kernel has 2 elements, strides and
        // pads are NULL or of the lengths the header asks; out is valid
        // for writes.
        self.make(|out| unsafe { pool(self.ptr(), x, kernel.as_ptr(), s, p, out) })
    }

    /// LayerNormalization of `x` over the dims from `axis` on.
    pub fn layer_norm(
        &self,
        x: &Var<'_>,
        scale: &Var<'_>,
        bias: Option<&Var<'_>>,
        axis: i64,
        epsilon: f64,
    ) -> Result<Var<'_>> {
        let (x, s) = (self.own(x, "LayerNormalization: input 0")?, self.own(scale, "LayerNormalization: input 1")?);
        let b = bias.map(|b| self.own(b, "LayerNormalization: input 2")).transpose()?.unwrap_or(sys::HODU_NO_VALUE);
        // SAFETY: the graph is live; out is valid for writes.
        self.make(|out| unsafe { sys::hodu_graph_layer_norm(self.ptr(), x, s, b, axis, epsilon, out) })
    }

    /// Compiles the graph to the shared library `path` (the graph is not
    /// consumed: it may be compiled again, with other options).
    pub fn compile(&self, path: impl AsRef<Path>, options: &CompileOptions) -> Result<()> {
        let cpath = c_path(path.as_ref())?;
        let mut held = CStrings::default();
        let mut lists = Vec::new();
        let mut o = options.to_c(&mut held, &mut lists)?;
        o.output_path = cpath.as_ptr();
        let _lock = compiler_lock();
        // SAFETY: the graph is live; o and every string and list it points
        // to (cpath, held, lists) outlive the call.
        self.check(unsafe { sys::hodu_graph_compile(self.ptr(), &o) })
    }

    /// Compiles the graph to a temporary library and opens it: the loaded
    /// [`Model`] (a training step with [`CompileOptions::train`], for
    /// [`crate::Trainer`]).  The model keeps nothing of the graph.
    pub fn load(&self, options: &CompileOptions) -> Result<Model> {
        let mut held = CStrings::default();
        let mut lists = Vec::new();
        let o = options.to_c(&mut held, &mut lists)?;
        let mut raw = std::ptr::null_mut();
        let status = {
            let _lock = compiler_lock();
            // SAFETY: as compile; raw is valid for writes.
            unsafe { sys::hodu_graph_load(self.ptr(), &o, &mut raw) }
        };
        self.check(status)?;
        let raw =
            NonNull::new(raw).ok_or_else(|| Error::new(ErrorKind::InvalidArg, "hodu_graph_load made no model"))?;
        // SAFETY: raw is an open model that nothing else owns.
        unsafe { Model::from_raw(raw) }
    }
}

/// hodu_graph_max_pool2d's and hodu_graph_avg_pool2d's type.
type PoolFn = unsafe extern "C" fn(
    *mut sys::hodu_graph,
    sys::hodu_value,
    *const i64,
    *const i64,
    *const i64,
    *mut sys::hodu_value,
) -> sys::hodu_status;

/// The pointer to an optional fixed-size array, NULL when None.
fn opt_ptr<const N: usize>(a: &Option<[i64; N]>) -> *const i64 {
    a.as_ref().map_or(std::ptr::null(), |a| a.as_ptr())
}

fn dim_i64(n: usize) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::new(ErrorKind::Shape, format!("dim {n} is too large")))
}

fn rank_i32(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::new(ErrorKind::Shape, format!("rank {n} is too large")))
}

macro_rules! binary {
    ($($(#[$doc:meta])* $method:ident $c:ident $name:literal;)*) => {$(
        $(#[$doc])*
        pub fn $method(&self, other: &Var<'g>) -> Result<Var<'g>> {
            let g = self.graph;
            let b = g.own(other, concat!($name, ": input 1"))?;
            let a = self.id;
            // SAFETY: the graph is live; out is valid for writes.
            g.make(|out| unsafe { sys::$c(g.ptr(), a, b, out) })
        }
    )*};
}

macro_rules! unary {
    ($($(#[$doc:meta])* $method:ident $c:ident;)*) => {$(
        $(#[$doc])*
        pub fn $method(&self) -> Result<Var<'g>> {
            let (g, x) = (self.graph, self.id);
            // SAFETY: the graph is live; out is valid for writes.
            g.make(|out| unsafe { sys::$c(g.ptr(), x, out) })
        }
    )*};
}

impl<'g> Var<'g> {
    /// The graph this value belongs to.
    pub fn graph(&self) -> &'g Graph {
        self.graph
    }

    binary! {
        /// `self + other` (ONNX Add, broadcasting).
        add hodu_graph_add "Add";
        /// `self - other` (ONNX Sub).
        sub hodu_graph_sub "Sub";
        /// `self * other`, elementwise (ONNX Mul).
        mul hodu_graph_mul "Mul";
        /// `self / other` (ONNX Div).
        div hodu_graph_div "Div";
        /// The matrix product (ONNX MatMul).
        matmul hodu_graph_matmul "MatMul";
    }

    unary! {
        /// max(x, 0).
        relu hodu_graph_relu;
        /// The logistic function.
        sigmoid hodu_graph_sigmoid;
        /// tanh.
        tanh hodu_graph_tanh;
    }

    /// Softmax over `axis`.
    pub fn softmax(&self, axis: i64) -> Result<Var<'g>> {
        let (g, x) = (self.graph, self.id);
        // SAFETY: the graph is live; out is valid for writes.
        g.make(|out| unsafe { sys::hodu_graph_softmax(g.ptr(), x, axis, out) })
    }

    /// Reshape to `shape` (0 copies a dim, -1 infers one).
    pub fn reshape(&self, shape: &[i64]) -> Result<Var<'g>> {
        let (g, x) = (self.graph, self.id);
        // SAFETY: the graph is live; shape has shape.len() elements, read
        // during the call; out is valid for writes.
        g.make(|out| unsafe { sys::hodu_graph_reshape(g.ptr(), x, shape.len(), shape.as_ptr(), out) })
    }

    /// Transpose by `perm` (None: the dims reversed).
    pub fn transpose(&self, perm: Option<&[i64]>) -> Result<Var<'g>> {
        let (g, x) = (self.graph, self.id);
        let (n, p) = perm.map_or((0, std::ptr::null()), |p| (p.len(), p.as_ptr()));
        // SAFETY: the graph is live; p is NULL or has n elements; out is
        // valid for writes.
        g.make(|out| unsafe { sys::hodu_graph_transpose(g.ptr(), x, n, p, out) })
    }

    /// The mean over `axes` (empty: every axis).
    pub fn reduce_mean(&self, axes: &[i64], keepdims: bool) -> Result<Var<'g>> {
        let (g, x) = (self.graph, self.id);
        // SAFETY: the graph is live; axes has axes.len() elements; out is
        // valid for writes.
        g.make(|out| unsafe { sys::hodu_graph_reduce_mean(g.ptr(), x, axes.len(), axes.as_ptr(), keepdims, out) })
    }

    /// The sum over `axes` (empty: every axis).
    pub fn reduce_sum(&self, axes: &[i64], keepdims: bool) -> Result<Var<'g>> {
        let (g, x) = (self.graph, self.id);
        // SAFETY: as reduce_mean.
        g.make(|out| unsafe { sys::hodu_graph_reduce_sum(g.ptr(), x, axes.len(), axes.as_ptr(), keepdims, out) })
    }
}

macro_rules! operator {
    ($($trait:ident $method:ident;)*) => {$(
        impl<'g> std::ops::$trait<&Var<'g>> for &Var<'g> {
            type Output = Result<Var<'g>>;
            /// Applies the op; an error as the method of the same name.
            fn $method(self, rhs: &Var<'g>) -> Result<Var<'g>> {
                Var::$method(self, rhs)
            }
        }
        impl<'g> std::ops::$trait<Var<'g>> for Var<'g> {
            type Output = Result<Var<'g>>;
            /// Applies the op; an error as the method of the same name.
            fn $method(self, rhs: Var<'g>) -> Result<Var<'g>> {
                Var::$method(&self, &rhs)
            }
        }
    )*};
}

operator! {
    Add add;
    Sub sub;
    Mul mul;
    Div div;
}

macro_rules! string_options {
    ($($(#[$doc:meta])* $method:ident $field:ident;)*) => {$(
        $(#[$doc])*
        pub fn $method(mut self, value: &str) -> CompileOptions {
            self.$field = Some(value.to_string());
            self
        }
    )*};
}

/// How [`Graph::compile`] and [`Graph::load`] build: the `hodu --build`
/// options that apply to a graph, set by chained calls.
///
/// ```
/// let o = hodu::CompileOptions::new()
///     .dim("B", 30)
///     .train("cross_entropy", "adamw")
///     .march("generic");
/// # let _ = o;
/// ```
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    dims: Vec<String>,
    input_shapes: Vec<String>,
    gradients: bool,
    wrt: Vec<String>,
    train_loss: Option<String>,
    train_optimizer: Option<String>,
    train_params: Vec<String>,
    clip_norm: f64,
    train_eval: bool,
    march: Option<String>,
    target: Option<String>,
    opt_level: Option<i32>,
    graph_opt: Option<bool>,
    backend: Option<String>,
    cc: Option<String>,
    cflags: Option<String>,
    emit_c_dir: Option<String>,
    header: Option<String>,
}

impl CompileOptions {
    /// The defaults (`hodu --build` with no options).
    pub fn new() -> CompileOptions {
        CompileOptions::default()
    }

    /// Binds every dim called `name` to `size` (`--dim NAME=SIZE`).
    pub fn dim(mut self, name: &str, size: usize) -> CompileOptions {
        self.dims.push(format!("{name}={size}"));
        self
    }

    /// Leaves the dim `name` a run-time dim: each run chooses its size in
    /// `min..=max` (`--dim NAME=MIN..MAX`).
    pub fn dim_range(mut self, name: &str, min: usize, max: usize) -> CompileOptions {
        self.dims.push(format!("{name}={min}..{max}"));
        self
    }

    /// Binds the dims of the input `input` (`--input-shape input=2x3`).
    pub fn input_shape(mut self, input: &str, shape: &[usize]) -> CompileOptions {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        self.input_shapes.push(format!("{input}={}", dims.join("x")));
        self
    }

    /// `--grad`: every float output Y gets an input "Y.grad", and each
    /// input in `wrt` (empty: every float input) an output "X.grad".
    pub fn grad(mut self, wrt: &[&str]) -> CompileOptions {
        self.gradients = true;
        self.wrt = wrt.iter().map(|s| s.to_string()).collect();
        self
    }

    /// `--train`: the library is one training step with `loss` ("mse",
    /// "l1", "cross_entropy", "soft_cross_entropy", "bce_logits") and
    /// `optimizer` ("sgd", "adam" or "adamw", optionally followed by
    /// ":key=value,...").  See docs/training.md.
    pub fn train(mut self, loss: &str, optimizer: &str) -> CompileOptions {
        self.train_loss = Some(loss.to_string());
        self.train_optimizer = Some(optimizer.to_string());
        self
    }

    /// The parameters that train (none named: every f32 one a node reads);
    /// applies to [`CompileOptions::train`] and
    /// [`CompileOptions::train_eval`].
    pub fn train_params(mut self, names: &[&str]) -> CompileOptions {
        self.train_params = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Clips the gradients' global norm to `norm` in a training step.
    pub fn clip_norm(mut self, norm: f64) -> CompileOptions {
        self.clip_norm = norm;
        self
    }

    /// `--train-eval`: the forward pass with the trained parameters read as
    /// inputs, for [`crate::Trainer::attach_eval`].
    pub fn train_eval(mut self) -> CompileOptions {
        self.train_eval = true;
        self
    }

    string_options! {
        /// `-march` of the generated code ("native", the default; "generic";
        /// or any value the C compiler accepts).
        march march;
        /// Cross-compiles for this target triple (`hodu --target`, e.g.
        /// "aarch64-linux-gnu"; docs/targets.md); unset: the build machine.
        /// An unknown triple is an error listing the known ones.
        target target;
        /// The code generator (default "native").
        backend backend;
        /// The C compiler command (default `$CC`, else "cc").
        cc cc;
        /// Extra C compiler flags, space separated.
        cflags cflags;
        /// Keeps the generated C sources in this folder.
        emit_c_dir emit_c_dir;
        /// Also writes a C header typing the model's inputs and outputs here.
        header header;
    }

    /// The C compiler's -O level (default 3).
    pub fn opt_level(mut self, level: i32) -> CompileOptions {
        self.opt_level = Some(level);
        self
    }

    /// Graph optimizations on (the default) or off.
    pub fn graph_opt(mut self, on: bool) -> CompileOptions {
        self.graph_opt = Some(on);
        self
    }

    /// The C options, pointing into `held` and `lists`, which must outlive
    /// every use of them.
    fn to_c(&self, held: &mut CStrings, lists: &mut Vec<Vec<*const c_char>>) -> Result<sys::hodu_build_options> {
        // SAFETY: hodu_build_options is plain data (pointers, numbers,
        // bools, an Option of a function pointer), for which all zeros is a
        // valid value; hodu_build_options_init then fills it.
        let mut o: sys::hodu_build_options = unsafe { std::mem::zeroed() };
        // SAFETY: o is valid for writes.
        unsafe { sys::hodu_build_options_init(&mut o) };
        let strings = [
            (&mut o.march, &self.march),
            (&mut o.target, &self.target),
            (&mut o.backend, &self.backend),
            (&mut o.cc, &self.cc),
            (&mut o.cflags, &self.cflags),
            (&mut o.emit_c_dir, &self.emit_c_dir),
            (&mut o.header_path, &self.header),
            (&mut o.train_loss, &self.train_loss),
            (&mut o.train_optimizer, &self.train_optimizer),
        ];
        for (slot, value) in strings {
            if let Some(v) = value {
                *slot = held.add("option", v)?;
            }
        }
        if let Some(level) = self.opt_level {
            o.opt_level = level;
        }
        if let Some(on) = self.graph_opt {
            o.graph_opt = on;
        }
        o.gradients = self.gradients;
        o.train_eval = self.train_eval;
        o.train_clip_norm = self.clip_norm;
        // each list's buffer stays where it is when `lists` grows
        let mut list = |what: &str, items: &[String]| -> Result<(*const *const c_char, usize)> {
            let l = held.list(what, items)?;
            let p = (l.as_ptr(), l.len());
            lists.push(l);
            Ok(p)
        };
        (o.dims, o.n_dims) = list("dim", &self.dims)?;
        (o.input_shapes, o.n_input_shapes) = list("input shape", &self.input_shapes)?;
        (o.wrt, o.n_wrt) = list("wrt", &self.wrt)?;
        (o.train_params, o.n_train_params) = list("train param", &self.train_params)?;
        Ok(o)
    }
}
